//! The watched objects: one kube-rs watcher + reflector per kind `collect` lists,
//! trimmed as they are read and stored as text ([`crate::slim`]), and a notice per change that
//! matters (an update that changes nothing the diagnosis reads, a status heartbeat,
//! is not one).
//!
//! A kind that never listed (RBAC refuses it, the API is missing) is not presented
//! as empty: its evaluations get the failure, and the rules say "not checked".

use crate::evaluate::{Objects, Watched};
use crate::metrics::{Metrics, WatchLabels};
use crate::slim::Slim;
use futures::StreamExt;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, ServiceAccount};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedSender;

/// What changed, for the scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Objects of a namespace.
    Namespace(String),
    /// Something every namespace reads (the webhook configuration, a re-list).
    Everything,
    /// Something the cluster-level evaluation reads (ServiceAccounts).
    Cluster,
    /// A namespace is gone.
    NamespaceGone(String),
    /// A ServiceAccount names this role (read it if it is new).
    Role(String),
}

/// Whether a kind has listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// Not yet.
    Pending,
    /// Listed and watched.
    Synced,
    /// Never listed: why (the last error).
    Failed(String),
}

type Status = Arc<Mutex<Listing>>;

/// The stores.
#[derive(Clone)]
pub struct Stores {
    /// ServiceAccounts.
    pub service_accounts: Store<Slim<ServiceAccount>>,
    /// Pods.
    pub pods: Store<Slim<Pod>>,
    /// Deployments.
    pub deployments: Store<Slim<Deployment>>,
    /// DaemonSets.
    pub daemon_sets: Store<Slim<DaemonSet>>,
    /// StatefulSets.
    pub stateful_sets: Store<Slim<StatefulSet>>,
    /// ReplicaSets.
    pub replica_sets: Store<Slim<ReplicaSet>>,
    /// Jobs.
    pub jobs: Store<Slim<Job>>,
    /// CronJobs.
    pub cron_jobs: Store<Slim<CronJob>>,
    /// MutatingWebhookConfigurations.
    pub webhooks: Store<Slim<MutatingWebhookConfiguration>>,
    /// Nodes (where EKS Pod Identity works: their OS and compute type).
    pub nodes: Store<Slim<Node>>,
    /// Namespaces (the applier's root objects).
    pub namespaces: Store<Namespace>,
    status: Arc<BTreeMap<&'static str, Status>>,
    /// The one namespace watched, if not all.
    scope: Option<String>,
    /// The root store's writer when it is not fed by a watch (kept with the store).
    _root_writer: Option<Arc<Mutex<reflector::store::Writer<Namespace>>>>,
}

fn describe(e: &watcher::Error) -> String {
    let api = match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(s),
        _ => None,
    };
    match api {
        Some(s) => format!("{} ({}): {}", s.reason, s.code, s.message),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                let t = s.to_string();
                if !text.contains(&t) {
                    text = format!("{text}: {t}");
                }
                source = s.source();
            }
            text
        }
    }
}

/// Whether an object is the EKS Pod Identity agent's DaemonSet or one of its pods
/// (the loader's own test, `irsa_model::pod_identity::is_agent_named`; its pods carry
/// the chart's label, or are owned by the DaemonSet of that name).
fn is_agent(m: &kube::api::ObjectMeta) -> bool {
    irsa_model::pod_identity::is_agent_named(
        m.name.as_deref(),
        m.labels
            .as_ref()
            .and_then(|l| l.get(irsa_model::pod_identity::NAME_LABEL))
            .map(String::as_str),
    ) || m
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "DaemonSet" && o.name == irsa_model::pod_identity::AGENT_NAME)
}

/// Whether two versions differ in anything but their resourceVersion.
fn differs<K: Resource + Clone + PartialEq>(old: &K, new: &K) -> bool {
    let mut n = new.clone();
    n.meta_mut().resource_version = old.meta().resource_version.clone();
    *old != n
}

/// What a notice handler sees.
pub enum Notice<'a, K> {
    /// Added, or changed in something that matters.
    Applied(&'a K),
    /// Deleted.
    Deleted(&'a K),
    /// Re-listed after a desync (not the first listing).
    Relisted,
}

struct Watch<K: Resource + 'static> {
    api: Api<K>,
    resource: &'static str,
    /// Trims what the deserializer did not (the slim kinds are trimmed as they are read).
    trim: fn(&mut K),
}

fn trimmed_on_read<K>(_: &mut K) {}

fn spawn<K>(
    w: Watch<K>,
    status: Status,
    metrics: Arc<Metrics>,
    on: impl Fn(Notice<'_, K>) + Send + 'static,
) -> Store<K>
where
    K: Resource + Clone + PartialEq + serde::de::DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    let (reader, writer) = reflector::store();
    let seen = reader.clone();
    let resource = w.resource;
    let count = move |m: &Metrics, event: &str| {
        m.watch_events
            .get_or_create(&WatchLabels {
                resource: resource.to_string(),
                event: event.to_string(),
            })
            .inc();
    };
    let stream = watcher(w.api, watcher::Config::default())
        .default_backoff()
        .modify(w.trim)
        .map(move |ev| {
            match &ev {
                Ok(watcher::Event::Apply(o)) => {
                    count(&metrics, "apply");
                    let changed = seen
                        .get(&ObjectRef::from_obj(o))
                        .is_none_or(|old| differs(&*old, o));
                    if changed {
                        on(Notice::Applied(o));
                    }
                }
                Ok(watcher::Event::Delete(o)) => {
                    count(&metrics, "delete");
                    on(Notice::Deleted(o));
                }
                Ok(watcher::Event::InitDone) => {
                    let mut s = status.lock().expect("status");
                    if *s == Listing::Synced {
                        count(&metrics, "relist");
                        drop(s);
                        on(Notice::Relisted);
                    } else {
                        *s = Listing::Synced;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    count(&metrics, "error");
                    let text = describe(e);
                    let mut s = status.lock().expect("status");
                    if *s != Listing::Synced {
                        if !matches!(&*s, Listing::Failed(t) if *t == text) {
                            tracing::warn!(resource, error = %text, "cannot list {resource}: its evaluations say \"not checked\" until it can");
                        }
                        *s = Listing::Failed(text);
                    } else {
                        tracing::debug!(resource, error = %text, "watch interrupted; resuming");
                    }
                }
            }
            ev
        })
        .reflect(writer);
    tokio::spawn(stream.for_each(|_| futures::future::ready(())));
    reader
}

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

impl Stores {
    /// Starts every watch (in namespace `scope`, or cluster-wide); changes go to `tx`.
    pub fn start(
        client: &Client,
        scope: Option<&str>,
        metrics: Arc<Metrics>,
        tx: UnboundedSender<Change>,
    ) -> Stores {
        let mut status: BTreeMap<&'static str, Status> = BTreeMap::new();
        let mut st = |r: &'static str| -> Status {
            let s: Status = Arc::new(Mutex::new(Listing::Pending));
            status.insert(r, s.clone());
            s
        };
        fn namespaced<K: Resource>(
            tx: &UnboundedSender<Change>,
        ) -> impl Fn(Notice<'_, K>) + Send + 'static {
            let tx = tx.clone();
            move |n| {
                let _ = match n {
                    // The EKS Pod Identity agent's DaemonSet and pods: every evaluation
                    // reads them (as `check` reads them with the chains they serve).
                    Notice::Applied(o) | Notice::Deleted(o) if is_agent(o.meta()) => {
                        let _ = tx.send(Change::Cluster);
                        tx.send(Change::Everything)
                    }
                    Notice::Applied(o) | Notice::Deleted(o) => tx.send(Change::Namespace(
                        o.meta().namespace.clone().unwrap_or_default(),
                    )),
                    Notice::Relisted => tx.send(Change::Everything),
                };
            }
        }
        let sa_tx = tx.clone();
        let service_accounts = spawn(
            Watch {
                api: api(client, scope),
                resource: "serviceaccounts",
                trim: trimmed_on_read,
            },
            st("serviceaccounts"),
            metrics.clone(),
            move |n: Notice<'_, Slim<ServiceAccount>>| {
                match n {
                    Notice::Applied(o) => {
                        if let Some(r) =
                            crate::evaluate::annotated_role(o.metadata.annotations.as_ref())
                        {
                            let _ = sa_tx.send(Change::Role(r));
                        }
                        let _ = sa_tx.send(Change::Namespace(o.namespace().unwrap_or_default()));
                    }
                    Notice::Deleted(o) => {
                        let _ = sa_tx.send(Change::Namespace(o.namespace().unwrap_or_default()));
                    }
                    Notice::Relisted => {
                        let _ = sa_tx.send(Change::Everything);
                    }
                }
                let _ = sa_tx.send(Change::Cluster);
            },
        );
        let pods = spawn(
            Watch {
                api: api(client, scope),
                resource: "pods",
                trim: trimmed_on_read,
            },
            st("pods"),
            metrics.clone(),
            namespaced::<Slim<Pod>>(&tx),
        );
        let deployments = spawn(
            Watch {
                api: api(client, scope),
                resource: "deployments",
                trim: trimmed_on_read,
            },
            st("deployments"),
            metrics.clone(),
            namespaced::<Slim<Deployment>>(&tx),
        );
        let daemon_sets = spawn(
            Watch {
                api: api(client, scope),
                resource: "daemonsets",
                trim: trimmed_on_read,
            },
            st("daemonsets"),
            metrics.clone(),
            namespaced::<Slim<DaemonSet>>(&tx),
        );
        let stateful_sets = spawn(
            Watch {
                api: api(client, scope),
                resource: "statefulsets",
                trim: trimmed_on_read,
            },
            st("statefulsets"),
            metrics.clone(),
            namespaced::<Slim<StatefulSet>>(&tx),
        );
        let replica_sets = spawn(
            Watch {
                api: api(client, scope),
                resource: "replicasets",
                trim: trimmed_on_read,
            },
            st("replicasets"),
            metrics.clone(),
            namespaced::<Slim<ReplicaSet>>(&tx),
        );
        let jobs = spawn(
            Watch {
                api: api(client, scope),
                resource: "jobs",
                trim: trimmed_on_read,
            },
            st("jobs"),
            metrics.clone(),
            namespaced::<Slim<Job>>(&tx),
        );
        let cron_jobs = spawn(
            Watch {
                api: api(client, scope),
                resource: "cronjobs",
                trim: trimmed_on_read,
            },
            st("cronjobs"),
            metrics.clone(),
            namespaced::<Slim<CronJob>>(&tx),
        );
        let wh_tx = tx.clone();
        let webhooks = spawn(
            Watch {
                api: Api::all(client.clone()),
                resource: "mutatingwebhookconfigurations",
                trim: trimmed_on_read,
            },
            st("mutatingwebhookconfigurations"),
            metrics.clone(),
            move |_n: Notice<'_, Slim<MutatingWebhookConfiguration>>| {
                let _ = wh_tx.send(Change::Everything);
                let _ = wh_tx.send(Change::Cluster);
            },
        );
        let node_tx = tx.clone();
        let nodes = spawn(
            Watch {
                api: Api::all(client.clone()),
                resource: "nodes",
                trim: trimmed_on_read,
            },
            st("nodes"),
            metrics.clone(),
            move |_n: Notice<'_, Slim<Node>>| {
                let _ = node_tx.send(Change::Everything);
                let _ = node_tx.send(Change::Cluster);
            },
        );
        let mut root_writer = None;
        let namespaces = match scope {
            // Cluster-wide: the namespaces are watched (their deletion drops their state).
            None => {
                let ns_tx = tx.clone();
                spawn(
                    Watch {
                        api: Api::all(client.clone()),
                        resource: "namespaces",
                        trim: crate::trim::namespace,
                    },
                    st("namespaces"),
                    metrics.clone(),
                    move |n: Notice<'_, Namespace>| {
                        let _ = match n {
                            Notice::Applied(o) => ns_tx.send(Change::Namespace(o.name_any())),
                            Notice::Deleted(o) => ns_tx.send(Change::NamespaceGone(o.name_any())),
                            Notice::Relisted => ns_tx.send(Change::Everything),
                        };
                    },
                )
            }
            // One namespace: no cluster-wide permission needed; the root store holds it alone.
            Some(ns) => {
                let (reader, mut writer) = reflector::store::<Namespace>();
                let mut one = Namespace::default();
                one.metadata.name = Some(ns.to_string());
                writer.apply_watcher_event(&watcher::Event::Init);
                writer.apply_watcher_event(&watcher::Event::InitApply(one));
                writer.apply_watcher_event(&watcher::Event::InitDone);
                root_writer = Some(Arc::new(Mutex::new(writer)));
                reader
            }
        };
        Stores {
            service_accounts,
            pods,
            deployments,
            daemon_sets,
            stateful_sets,
            replica_sets,
            jobs,
            cron_jobs,
            webhooks,
            nodes,
            namespaces,
            status: Arc::new(status),
            scope: scope.map(String::from),
            _root_writer: root_writer,
        }
    }

    /// Waits until every kind has listed, or failed to (what failed is named).
    pub async fn wait_listed(&self) -> Vec<(String, String)> {
        loop {
            let pending = self
                .status
                .values()
                .any(|s| *s.lock().expect("status") == Listing::Pending);
            if !pending {
                return self.failures();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Kinds that never listed, with why.
    pub fn failures(&self) -> Vec<(String, String)> {
        self.status
            .iter()
            .filter_map(|(r, s)| match &*s.lock().expect("status") {
                Listing::Failed(e) => Some((r.to_string(), e.clone())),
                _ => None,
            })
            .collect()
    }

    fn listing(&self, resource: &str) -> Result<(), String> {
        match self
            .status
            .get(resource)
            .map(|s| s.lock().expect("status").clone())
        {
            Some(Listing::Failed(e)) => Err(e),
            Some(Listing::Pending) => Err("not listed yet".into()),
            _ => Ok(()),
        }
    }

    fn json_of<K: Resource<DynamicType = ()>>(
        &self,
        store: &Store<Slim<K>>,
        resource: &str,
        namespace: Option<&str>,
    ) -> Result<Vec<String>, String> {
        self.listing(resource)?;
        Ok(store
            .state_filter(|o| {
                namespace.is_none_or(|ns| o.metadata.namespace.as_deref() == Some(ns))
            })
            .iter()
            .map(|o| o.json.to_string())
            .collect())
    }

    /// A namespace's objects, as the API's JSON.
    pub fn objects_of(&self, ns: &str) -> Objects {
        let ns = Some(ns);
        let mut out = Objects::new();
        out.insert(
            Watched::ServiceAccount,
            self.json_of(&self.service_accounts, "serviceaccounts", ns),
        );
        out.insert(Watched::Pod, self.json_of(&self.pods, "pods", ns));
        out.insert(
            Watched::Deployment,
            self.json_of(&self.deployments, "deployments", ns),
        );
        out.insert(
            Watched::DaemonSet,
            self.json_of(&self.daemon_sets, "daemonsets", ns),
        );
        out.insert(
            Watched::StatefulSet,
            self.json_of(&self.stateful_sets, "statefulsets", ns),
        );
        out.insert(
            Watched::ReplicaSet,
            self.json_of(&self.replica_sets, "replicasets", ns),
        );
        out.insert(Watched::Job, self.json_of(&self.jobs, "jobs", ns));
        out.insert(
            Watched::CronJob,
            self.json_of(&self.cron_jobs, "cronjobs", ns),
        );
        out
    }

    /// Every node, as the API's JSON (or why they could not be listed).
    pub fn nodes_json(&self) -> Result<Vec<String>, String> {
        self.listing("nodes")?;
        Ok(self
            .nodes
            .state()
            .iter()
            .map(|o| o.json.to_string())
            .collect())
    }

    /// The EKS Pod Identity agent's DaemonSets and pods, by kind and namespace (each
    /// kind listed in full where the agent runs, as `check -n` reads `kube-system`).
    /// `kube-system` always (the add-on's namespace: an agent missing there is a
    /// finding). Watching one namespace, the others are not watched: none is given,
    /// and the rules say what that leaves unchecked.
    pub fn agent_objects(&self) -> Vec<(Watched, String, Result<Vec<String>, String>)> {
        let mut out = Vec::new();
        if self.scope.is_some() {
            return out;
        }
        let daemon_sets = self.daemon_sets.state_filter(|o| is_agent(&o.metadata));
        let namespaces: BTreeSet<String> = daemon_sets
            .iter()
            .filter_map(|d| d.metadata.namespace.clone())
            .chain(["kube-system".to_string()])
            .chain(
                self.pods
                    .state_filter(|o| is_agent(&o.metadata))
                    .iter()
                    .filter_map(|p| p.metadata.namespace.clone()),
            )
            .collect();
        for ns in namespaces {
            for kind in [Watched::DaemonSet, Watched::Pod] {
                let listed = match kind {
                    Watched::DaemonSet => self.json_of(&self.daemon_sets, "daemonsets", Some(&ns)),
                    _ => self.json_of(&self.pods, "pods", Some(&ns)),
                };
                out.push((kind, ns.clone(), listed));
            }
        }
        out
    }

    /// Every ServiceAccount, as the API's JSON.
    pub fn service_accounts_json(&self) -> Result<Vec<String>, String> {
        self.json_of(&self.service_accounts, "serviceaccounts", None)
    }

    /// The webhook configurations as `kubectl get mutatingwebhookconfigurations -o json`
    /// (or its failure).
    pub fn webhooks_file(&self) -> (String, Value) {
        let command = "kubectl get mutatingwebhookconfigurations -o json";
        let file = "kubectl-get-mutatingwebhookconfigurations.json".to_string();
        match self.json_of(&self.webhooks, "mutatingwebhookconfigurations", None) {
            Ok(items) => {
                let items: Vec<Value> = items
                    .iter()
                    .filter_map(|i| serde_json::from_str(i).ok())
                    .collect();
                (
                    file,
                    irsa_collect::envelope(
                        command,
                        serde_json::json!({"apiVersion": "v1", "kind": "MutatingWebhookConfigurationList",
                            "metadata": {"resourceVersion": ""}, "items": items}),
                    ),
                )
            }
            Err(e) => (file, irsa_collect::envelope_error(command, &e)),
        }
    }

    /// The roles a namespace's ServiceAccounts name.
    pub fn annotated_roles_in(&self, ns: &str) -> BTreeSet<String> {
        self.service_accounts
            .state_filter(|sa| sa.metadata.namespace.as_deref() == Some(ns))
            .iter()
            .filter_map(|sa| crate::evaluate::annotated_role(sa.metadata.annotations.as_ref()))
            .collect()
    }

    /// Every role a ServiceAccount names, with the namespaces naming it.
    pub fn annotated_roles(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for sa in self.service_accounts.state() {
            if let Some(r) = crate::evaluate::annotated_role(sa.metadata.annotations.as_ref()) {
                out.entry(r)
                    .or_default()
                    .insert(sa.metadata.namespace.clone().unwrap_or_default());
            }
        }
        out
    }

    /// The namespaces in scope.
    pub fn namespace_names(&self) -> Vec<String> {
        self.namespaces
            .state()
            .iter()
            .map(|n| n.name_any())
            .collect()
    }

    /// A reference to a watched object, for Events and PolicyReports (with its uid
    /// when the store has it).
    pub fn reference(
        &self,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<k8s_openapi::api::core::v1::ObjectReference> {
        fn of<K: Resource<DynamicType = ()> + Clone>(
            store: &Store<K>,
            namespace: Option<&str>,
            name: &str,
        ) -> k8s_openapi::api::core::v1::ObjectReference {
            let mut key = ObjectRef::<K>::new(name);
            if let Some(ns) = namespace {
                key = key.within(ns);
            }
            let uid = store.get(&key).and_then(|o| o.meta().uid.clone());
            k8s_openapi::api::core::v1::ObjectReference {
                api_version: Some(K::api_version(&()).to_string()),
                kind: Some(K::kind(&()).to_string()),
                namespace: namespace.map(String::from),
                name: Some(name.to_string()),
                uid,
                ..Default::default()
            }
        }
        Some(match kind {
            "ServiceAccount" => of(&self.service_accounts, namespace, name),
            "Pod" => of(&self.pods, namespace, name),
            "Deployment" => of(&self.deployments, namespace, name),
            "DaemonSet" => of(&self.daemon_sets, namespace, name),
            "StatefulSet" => of(&self.stateful_sets, namespace, name),
            "ReplicaSet" => of(&self.replica_sets, namespace, name),
            "Job" => of(&self.jobs, namespace, name),
            "CronJob" => of(&self.cron_jobs, namespace, name),
            "Webhook" => of(&self.webhooks, None, name),
            _ => return None,
        })
    }
}
