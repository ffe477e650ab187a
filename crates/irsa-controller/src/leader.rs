//! Leader election with a `coordination.k8s.io/v1` Lease, as client-go's leader
//! election does it (k8s.io/client-go/tools/leaderelection): the holder renews the
//! Lease every few seconds; another replica takes it over only after it has seen the
//! same record unchanged for the whole lease duration, measured on its own clock
//! (so clock skew between nodes does not matter); every write is a replace with the
//! resourceVersion read (two candidates cannot both win). Only the leader reads AWS
//! and writes Events and PolicyReports, so two replicas never report twice.

use crate::metrics::{status_code, Metrics};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Timing (client-go's defaults: 15 s lease, 10 s renew deadline, 2 s retry).
#[derive(Debug, Clone)]
pub struct Timing {
    /// How long a Lease not renewed stays held.
    pub lease: Duration,
    /// The holder gives up when it could not renew for this long.
    pub renew_deadline: Duration,
    /// How often candidates try and the holder renews.
    pub retry: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            lease: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry: Duration::from_secs(2),
        }
    }
}

/// A candidate.
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    timing: Timing,
    metrics: Arc<Metrics>,
    /// The record last seen and when it was first seen as it is.
    observed: Option<(Option<String>, Option<MicroTime>, Instant)>,
}

/// The election failed for good.
#[derive(Debug, thiserror::Error)]
pub enum LostLease {
    /// The holder could not renew in time.
    #[error("lost the leader Lease {namespace}/{name}: it could not be renewed within {seconds} s ({why})")]
    NotRenewed {
        /// Lease namespace.
        namespace: String,
        /// Lease name.
        name: String,
        /// The renew deadline.
        seconds: u64,
        /// The last failure.
        why: String,
    },
    /// Another replica holds it now.
    #[error("another replica ({holder}) took the leader Lease {namespace}/{name}")]
    TakenOver {
        /// Lease namespace.
        namespace: String,
        /// Lease name.
        name: String,
        /// The new holder.
        holder: String,
    },
}

fn now() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

impl Elector {
    /// A candidate for Lease `namespace/name` as `identity`.
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: &str,
        timing: Timing,
        metrics: Arc<Metrics>,
    ) -> Elector {
        Elector {
            api: Api::namespaced(client, namespace),
            name: name.to_string(),
            identity: identity.to_string(),
            timing,
            metrics,
            observed: None,
        }
    }

    fn count(&self, verb: &str, code: u16) {
        self.metrics.kube_request(verb, "leases", code);
    }

    fn spec(&self, acquired: Option<MicroTime>, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.timing.lease.as_secs() as i32),
            acquire_time: acquired.or_else(|| Some(now())),
            renew_time: Some(now()),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// One attempt to acquire or renew: `Ok(true)` when this replica holds the Lease,
    /// `Ok(false)` when another does.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let current = match self.api.get_opt(&self.name).await {
            Ok(l) => {
                self.count("get", if l.is_some() { 200 } else { 404 });
                l
            }
            Err(e) => {
                self.count("get", status_code(&e));
                return Err(e);
            }
        };
        let Some(lease) = current else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(None, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => {
                    self.count("create", 201);
                    Ok(true)
                }
                Err(e) if status_code(&e) == 409 => {
                    self.count("create", 409);
                    Ok(false)
                }
                Err(e) => {
                    self.count("create", status_code(&e));
                    Err(e)
                }
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let record = (holder.clone(), spec.renew_time.clone());
        let held_by_me = holder.as_deref() == Some(self.identity.as_str());
        if !held_by_me && holder.is_some() {
            // Expired only when the same record has been seen unchanged for the whole
            // lease duration, on this replica's clock.
            let first_seen = match &self.observed {
                Some((h, r, at)) if (h, r) == (&record.0, &record.1) => *at,
                _ => {
                    let at = Instant::now();
                    self.observed = Some((record.0.clone(), record.1.clone(), at));
                    at
                }
            };
            let duration = spec
                .lease_duration_seconds
                .map(|s| Duration::from_secs(s.max(1) as u64))
                .unwrap_or(self.timing.lease);
            if first_seen.elapsed() < duration {
                return Ok(false);
            }
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!held_by_me);
        let acquired = if held_by_me {
            spec.acquire_time.clone()
        } else {
            None
        };
        let mut next = lease.clone();
        next.spec = Some(self.spec(acquired, transitions));
        match self
            .api
            .replace(&self.name, &PostParams::default(), &next)
            .await
        {
            Ok(_) => {
                self.count("update", 200);
                Ok(true)
            }
            Err(e) if status_code(&e) == 409 => {
                self.count("update", 409);
                Ok(false)
            }
            Err(e) => {
                self.count("update", status_code(&e));
                Err(e)
            }
        }
    }

    /// Waits until this replica holds the Lease; `standing_by` is called each time
    /// another replica is seen holding it.
    pub async fn acquire(&mut self, standing_by: impl Fn()) {
        let mut said = false;
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    self.metrics.leader.set(1);
                    tracing::info!(lease = %self.name, identity = %self.identity, "became the leader");
                    return;
                }
                Ok(false) => {
                    self.metrics.leader.set(0);
                    standing_by();
                    if !said {
                        tracing::info!(lease = %self.name, "another replica leads; standing by");
                        said = true;
                    }
                }
                Err(e) => {
                    tracing::warn!(lease = %self.name, error = %e, "cannot read or write the leader Lease; retrying")
                }
            }
            tokio::time::sleep(self.timing.retry).await;
        }
    }

    /// Renews until the Lease is lost; then says why.
    pub async fn hold(&mut self) -> LostLease {
        let namespace = self.api.namespace().unwrap_or("default").to_string();
        let mut last_renewed = Instant::now();
        let mut why = String::new();
        loop {
            tokio::time::sleep(self.timing.retry).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewed = Instant::now(),
                Ok(false) => {
                    self.metrics.leader.set(0);
                    let holder = self
                        .api
                        .get_opt(&self.name)
                        .await
                        .ok()
                        .flatten()
                        .and_then(|l| l.spec?.holder_identity)
                        .unwrap_or_default();
                    return LostLease::TakenOver {
                        namespace,
                        name: self.name.clone(),
                        holder,
                    };
                }
                Err(e) => why = e.to_string(),
            }
            if last_renewed.elapsed() > self.timing.renew_deadline {
                self.metrics.leader.set(0);
                return LostLease::NotRenewed {
                    namespace,
                    name: self.name.clone(),
                    seconds: self.timing.renew_deadline.as_secs(),
                    why,
                };
            }
        }
    }

    /// Gives the Lease up (on shutdown), so a standby takes over at once.
    pub async fn release(&mut self) {
        if let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await {
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if spec.holder_identity.as_deref() == Some(self.identity.as_str()) {
                spec.holder_identity = None;
                spec.renew_time = None;
                spec.acquire_time = None;
                let _ = self
                    .api
                    .replace(&self.name, &PostParams::default(), &lease)
                    .await;
                self.metrics.leader.set(0);
            }
        }
    }
}
