//! Kubernetes Events (kube-rs' event recorder, `events.k8s.io/v1`): a `Warning` on the
//! ServiceAccount or workload, the cause as reason, published when a problem appears,
//! never again while it lasts (no storms), again if it comes back. A restart does not
//! repeat them: the Events this controller already published are read back first.
//!
//! When RBAC refuses writing Events, that is said once, counted in
//! `irsa_doctor_write_refusals`, retried five minutes later; diagnosis, metrics and
//! PolicyReports go on.

use crate::metrics::{status_code, Metrics, ReasonLabels, RefusalLabels};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Client};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `reportingController` of our Events.
pub const CONTROLLER: &str = "irsa-doctor";

/// How long a refusal pauses writing.
pub const REFUSAL_PAUSE: Duration = Duration::from_secs(300);

/// One Event to publish.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Announcement {
    /// `(kind, namespace, name)` of the object it is about.
    pub about: (String, Option<String>, String),
    /// The cause in PascalCase (`TrustSub`).
    pub reason: String,
    /// `IRSA203 trust-sub: <message>`.
    pub note: String,
}

/// `trust-sub` → `TrustSub`.
pub fn reason_of(cause: irsa_rules::Cause) -> String {
    cause
        .id()
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// At most 1 kB, as the Events API requires, cut at a character boundary.
pub fn note(text: &str) -> String {
    const MAX: usize = 1024;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX - 3;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

type Key = Announcement;

/// Publishes Events.
pub struct Announcer {
    recorder: Recorder,
    client: Client,
    announced: Mutex<BTreeMap<String, BTreeSet<Key>>>,
    refused_until: Mutex<Option<Instant>>,
    said: std::sync::atomic::AtomicBool,
    metrics: Arc<Metrics>,
}

impl Announcer {
    /// A publisher as `instance` (the pod's name).
    pub fn new(client: Client, instance: String, metrics: Arc<Metrics>) -> Announcer {
        let reporter = Reporter {
            controller: CONTROLLER.into(),
            instance: Some(instance),
        };
        Announcer {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            announced: Mutex::new(BTreeMap::new()),
            refused_until: Mutex::new(None),
            said: std::sync::atomic::AtomicBool::new(false),
            metrics,
        }
    }

    fn request(&self, verb: &str, code: u16) {
        self.metrics.kube_request(verb, "events", code);
    }

    /// Reads back the Events this controller published (in `namespace`, or all), so
    /// a restart does not publish them again. Returns how many.
    pub async fn seed(&self, namespace: Option<&str>) -> Result<usize, kube::Error> {
        use k8s_openapi::api::events::v1::Event as K8sEvent;
        let api: Api<K8sEvent> = match namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        };
        let mut params = kube::api::ListParams::default().limit(500);
        let mut found = 0;
        loop {
            let page = match api.list(&params).await {
                Ok(p) => {
                    self.request("list", 200);
                    p
                }
                Err(e) => {
                    self.request("list", status_code(&e));
                    return Err(e);
                }
            };
            let mut announced = self.announced.lock().expect("announced");
            for e in &page.items {
                if e.reporting_controller.as_deref() != Some(CONTROLLER) {
                    continue;
                }
                let Some(r) = &e.regarding else { continue };
                let key = Announcement {
                    about: (
                        r.kind.clone().unwrap_or_default(),
                        r.namespace.clone(),
                        r.name.clone().unwrap_or_default(),
                    ),
                    reason: e.reason.clone().unwrap_or_default(),
                    note: e.note.clone().unwrap_or_default(),
                };
                announced
                    .entry(r.namespace.clone().unwrap_or_default())
                    .or_default()
                    .insert(key);
                found += 1;
            }
            drop(announced);
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(c) => params = params.continue_token(&c),
                None => return Ok(found),
            }
        }
    }

    /// Publishes what is new in `scope` (a namespace, or `""` for cluster-scoped
    /// objects); forgets what no longer holds. `reference` gives the object's
    /// reference. Returns whether some were left for later (refused, or failed).
    pub async fn announce(
        &self,
        scope: &str,
        wanted: BTreeSet<Announcement>,
        reference: impl Fn(&Announcement) -> Option<ObjectReference>,
    ) -> Result<bool, kube::Error> {
        let before = self
            .announced
            .lock()
            .expect("announced")
            .get(scope)
            .cloned()
            .unwrap_or_default();
        let mut now: BTreeSet<Key> = wanted.intersection(&before).cloned().collect();
        let mut deferred = false;
        let mut failure = None;
        for a in wanted.difference(&before) {
            if self
                .refused_until
                .lock()
                .expect("refused")
                .is_some_and(|t| Instant::now() < t)
            {
                deferred = true;
                break;
            }
            let Some(regarding) = reference(a) else {
                continue;
            };
            let ev = Event {
                type_: EventType::Warning,
                reason: a.reason.clone(),
                note: Some(a.note.clone()),
                action: "Diagnose".into(),
                secondary: None,
            };
            match self.recorder.publish(&ev, &regarding).await {
                Ok(()) => {
                    self.request("create", 201);
                    self.metrics
                        .events_published
                        .get_or_create(&ReasonLabels {
                            reason: a.reason.clone(),
                        })
                        .inc();
                    now.insert(a.clone());
                }
                Err(e) if status_code(&e) == 403 => {
                    self.request("create", 403);
                    self.metrics
                        .write_refusals
                        .get_or_create(&RefusalLabels {
                            resource: "events".into(),
                            reason: "forbidden".into(),
                        })
                        .inc();
                    if !self.said.swap(true, std::sync::atomic::Ordering::Relaxed) {
                        tracing::warn!(error = %e, "RBAC refuses creating Events: they are paused (retried every 5 minutes); diagnosis, metrics and PolicyReports go on. Grant create and patch on events.events.k8s.io (deploy/ does)");
                    }
                    *self.refused_until.lock().expect("refused") =
                        Some(Instant::now() + REFUSAL_PAUSE);
                    deferred = true;
                    break;
                }
                Err(e) => {
                    self.request("create", status_code(&e));
                    failure = Some(e);
                    break;
                }
            }
        }
        self.announced
            .lock()
            .expect("announced")
            .insert(scope.to_string(), now);
        match failure {
            Some(e) => Err(e),
            None => Ok(deferred),
        }
    }

    /// Forgets a namespace that is gone.
    pub fn forget(&self, scope: &str) {
        self.announced.lock().expect("announced").remove(scope);
    }
}
