//! The controller: kube-rs' applier over the namespaces (`reconcile -> Result<Action>`
//! with an `error_policy`), fed by the watches; the cluster-level evaluation; the AWS
//! refresh; leader election.

use crate::aws::{AwsState, Changed, Refresher};
use crate::evaluate::{self, Shared};
use crate::events::Announcer;
use crate::http::Health;
use crate::leader::{Elector, Timing};
use crate::metrics::{Metrics, ScopeLabels};
use crate::reports::Reports;
use crate::state::{self, Evaluated, Series};
use crate::watch::{Change, Stores};
use futures::StreamExt;
use irsa_collect::aws::AwsOptions;
use irsa_collect::kubernetes::KubeOptions;
use irsa_model::ContextFlags;
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::controller::{applier, Action, Config as ApplierConfig};
use kube::runtime::reflector::ObjectRef;
use kube::ResourceExt;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// Leader election settings.
#[derive(Debug, Clone)]
pub struct LeaderElection {
    /// The Lease's namespace.
    pub namespace: String,
    /// The Lease's name.
    pub name: String,
    /// Timing.
    pub timing: Timing,
}

/// What `irsa-doctor controller` was asked to do.
#[derive(Debug, Clone)]
pub struct Config {
    /// The cluster connection.
    pub kube: KubeOptions,
    /// The AWS connection.
    pub aws: AwsOptions,
    /// `--issuer`, `--region`, ... as `check` takes them.
    pub flags: ContextFlags,
    /// Watch one namespace only.
    pub namespace: Option<String>,
    /// `--metrics-bind-address`.
    pub metrics_bind_address: SocketAddr,
    /// `--refresh-interval`.
    pub refresh_interval: Duration,
    /// Publish Events.
    pub events: bool,
    /// Write PolicyReports.
    pub policy_reports: bool,
    /// Cap on AWS calls per minute.
    pub aws_calls_per_minute: u32,
    /// Deadline of each AWS refresh (what is unfinished by then is "not finished").
    pub refresh_deadline: Duration,
    /// Leader election (`None`: this replica always leads).
    pub leader_election: Option<LeaderElection>,
    /// This replica's name (the pod's).
    pub identity: String,
    /// How long changes settle before a namespace is evaluated.
    pub debounce: Duration,
    /// Timeout of each write.
    pub timeout: Duration,
}

/// Why the controller stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kubeconfig or in-cluster config cannot be used.
    #[error(transparent)]
    Collect(#[from] irsa_collect::CollectError),
    /// `--metrics-bind-address` cannot be bound.
    #[error("--metrics-bind-address {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The leader Lease was lost (a restart stands by again).
    #[error(transparent)]
    Lost(#[from] crate::leader::LostLease),
}

/// Why one reconcile failed (retried by the error policy).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Writing an Event or a PolicyReport failed (not a refusal: those are paused).
    #[error("writing to the Kubernetes API failed: {0}")]
    Write(#[from] kube::Error),
    /// The evaluation task failed.
    #[error("the evaluation failed: {0}")]
    Evaluation(String),
}

/// Everything a reconcile reads and writes.
pub struct Ctx {
    config: Config,
    stores: Stores,
    aws: Arc<AwsState>,
    version: Option<(String, Value)>,
    metrics: Arc<Metrics>,
    announcer: Option<Announcer>,
    reports: Option<Reports>,
    evaluated: Mutex<BTreeMap<String, Evaluated>>,
    series: Mutex<BTreeMap<String, Series>>,
    cluster: Mutex<Evaluated>,
    /// Each namespace's findings about cluster-scoped subjects
    /// ([`evaluate::NAMESPACE_FED`]), published with the cluster's.
    cluster_fed: Mutex<BTreeMap<String, Vec<irsa_rules::Finding>>>,
    /// Every namespace evaluated once (until then the cluster scope is published
    /// once, after the first pass).
    ready: std::sync::atomic::AtomicBool,
    demand: UnboundedSender<String>,
}

impl Ctx {
    fn shared(&self) -> Shared {
        Shared {
            webhooks: Some(self.stores.webhooks_file()),
            version: self.version.clone(),
            aws: self.aws.files(),
            flags: self.config.flags.clone(),
            nodes: Some(self.stores.nodes_json()),
            agent: self.stores.agent_objects(),
        }
    }

    /// Publishes a scope (`""`: cluster-scoped subjects) from its last evaluation.
    async fn publish(&self, scope: &str) -> Result<bool, ReconcileError> {
        let own = if scope.is_empty() {
            let mut own = self.cluster.lock().expect("cluster").clone();
            for f in self
                .cluster_fed
                .lock()
                .expect("cluster_fed")
                .values()
                .flatten()
            {
                if !own.findings.contains(f) {
                    own.findings.push(f.clone());
                }
            }
            own
        } else {
            match self.evaluated.lock().expect("evaluated").get(scope) {
                Some(e) => e.clone(),
                None => return Ok(false),
            }
        };
        let chains: Vec<_> = own
            .chains
            .iter()
            .map(|c| {
                let s = state::chain_state(c);
                (c.clone(), s)
            })
            .collect();
        {
            let mut series = self.series.lock().expect("series");
            let before = series.remove(scope).unwrap_or_default();
            let now = state::publish_metrics(&self.metrics, scope, &own.findings, &chains, &before);
            series.insert(scope.to_string(), now);
        }
        let mut deferred = false;
        if let Some(a) = &self.announcer {
            let wanted = state::announcements(&own.findings, &chains);
            let reference = |x: &crate::events::Announcement| {
                self.stores
                    .reference(&x.about.0, x.about.1.as_deref(), &x.about.2)
            };
            deferred |= a.announce(scope, wanted, reference).await?;
        }
        if let Some(r) = &self.reports {
            let mut keys = BTreeSet::new();
            let report = crate::reports::build(
                (!scope.is_empty()).then_some(scope),
                &own.findings,
                &own.passes,
                &|s| {
                    self.stores
                        .reference(&s.kind, s.namespace.as_deref(), &s.name)
                },
                &mut |key| {
                    keys.insert(key.to_string());
                    r.first_seen(scope, key)
                },
            );
            r.retain_seen(scope, &keys);
            deferred |= r.apply(report, self.config.timeout).await?;
        }
        Ok(deferred)
    }

    /// Keeps a namespace's findings about cluster-scoped subjects; whether they changed.
    fn feed_cluster(&self, ns: &str, findings: Vec<irsa_rules::Finding>) -> bool {
        let mut fed = self.cluster_fed.lock().expect("cluster_fed");
        let before = fed.get(ns).map(Vec::as_slice).unwrap_or_default();
        if before == findings.as_slice() {
            return false;
        }
        if findings.is_empty() {
            fed.remove(ns);
        } else {
            fed.insert(ns.to_string(), findings);
        }
        true
    }

    fn forget(&self, ns: &str) {
        self.feed_cluster(ns, Vec::new());
        self.evaluated.lock().expect("evaluated").remove(ns);
        if let Some(before) = self.series.lock().expect("series").remove(ns) {
            state::unpublish(&self.metrics, ns, &before);
        }
        if let Some(a) = &self.announcer {
            a.forget(ns);
        }
        if let Some(r) = &self.reports {
            r.forget(ns);
        }
    }
}

/// Evaluates one namespace through the pure core and publishes what changed.
pub async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let name = ns.name_any();
    let started = Instant::now();
    let objects = ctx.stores.objects_of(&name);
    let annotated = ctx.stores.annotated_roles_in(&name);
    for r in annotated.iter().filter(|r| !ctx.aws.knows(r)) {
        let _ = ctx.demand.send(r.clone());
    }
    let shared = ctx.shared();
    let n = name.clone();
    let report =
        tokio::task::spawn_blocking(move || evaluate::namespace(&n, &objects, &annotated, &shared))
            .await
            .map_err(|e| ReconcileError::Evaluation(e.to_string()))?;
    ctx.metrics
        .evaluation_duration
        .get_or_create(&ScopeLabels {
            scope: "namespace".into(),
        })
        .observe(started.elapsed().as_secs_f64());
    let mut report = report;
    let (fed, own): (Vec<_>, Vec<_>) = std::mem::take(&mut report.findings)
        .into_iter()
        .partition(|f| f.subject.namespace.is_none());
    report.findings = own;
    let cluster_changed = ctx.feed_cluster(&name, fed);
    ctx.evaluated
        .lock()
        .expect("evaluated")
        .insert(name.clone(), Evaluated::from(report));
    let mut deferred = ctx.publish(&name).await?;
    if cluster_changed && ctx.ready.load(Ordering::Relaxed) {
        deferred |= ctx.publish("").await?;
    }
    tracing::debug!(namespace = %name, ms = started.elapsed().as_millis() as u64, "evaluated");
    Ok(if deferred {
        Action::requeue(Duration::from_secs(30))
    } else {
        Action::await_change()
    })
}

/// Retries a failed reconcile after a pause, counting it.
pub fn error_policy(ns: Arc<Namespace>, error: &ReconcileError, ctx: Arc<Ctx>) -> Action {
    ctx.metrics.reconcile_errors.inc();
    tracing::warn!(namespace = %ns.name_any(), error = %error, "reconcile failed; retrying in 10 s");
    Action::requeue(Duration::from_secs(10))
}

/// The cluster-level evaluation: the findings about cluster-scoped subjects (roles,
/// OIDC providers, the cluster, the webhook), published as the ClusterPolicyReport and
/// the `namespace=""` series. Chains' verdicts do not read it: each namespace's own
/// evaluation holds every cluster-scoped fact its chains need.
async fn reconcile_cluster(ctx: &Arc<Ctx>) -> Result<(), ReconcileError> {
    let started = Instant::now();
    let sas = ctx.stores.service_accounts_json();
    let shared = ctx.shared();
    let report = tokio::task::spawn_blocking(move || evaluate::cluster(&sas, &shared))
        .await
        .map_err(|e| ReconcileError::Evaluation(e.to_string()))?;
    ctx.metrics
        .evaluation_duration
        .get_or_create(&ScopeLabels {
            scope: "cluster".into(),
        })
        .observe(started.elapsed().as_secs_f64());
    *ctx.cluster.lock().expect("cluster") = Evaluated::from(report);
    ctx.publish("").await?;
    Ok(())
}

fn identity() -> String {
    std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| format!("irsa-doctor-{}", std::process::id()))
}

/// This replica's default name: `$POD_NAME`, else `$HOSTNAME`.
pub fn default_identity() -> String {
    identity()
}

/// Runs until the process is stopped, or the leader Lease is lost.
pub async fn run(config: Config) -> Result<(), Error> {
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::default());
    let addr = config.metrics_bind_address;
    let bound = crate::http::serve(addr, metrics.clone(), health.clone())
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    tracing::info!(address = %bound, "serving /metrics, /healthz, /readyz");
    let kube = irsa_collect::kubernetes::connect(
        &config.kube,
        irsa_collect::Deadline::after(config.timeout.max(Duration::from_secs(30))),
    )
    .await?;
    let client = kube.client();
    let (changes_tx, changes_rx) = unbounded_channel();
    let stores = Stores::start(
        &client,
        config.namespace.as_deref(),
        metrics.clone(),
        changes_tx,
    );
    let version = match client.apiserver_version().await {
        Ok(v) => Some((
            "kubectl-version.json".to_string(),
            irsa_collect::envelope(
                "kubectl version -o json",
                serde_json::json!({"serverVersion": v}),
            ),
        )),
        Err(e) => Some((
            "kubectl-version.json".to_string(),
            irsa_collect::envelope_error("kubectl version -o json", &e.to_string()),
        )),
    };
    let failures = stores.wait_listed().await;
    for (resource, why) in &failures {
        tracing::warn!(resource = %resource, error = %why, "{resource} cannot be listed: the diagnosis says \"not checked\" where it needs them");
    }
    health.listed.store(true, Ordering::Relaxed);
    tracing::info!(
        namespaces = stores.namespace_names().len(),
        pods = stores.pods.state().len(),
        serviceaccounts = stores.service_accounts.state().len(),
        "watches listed"
    );

    let mut elector = config.leader_election.as_ref().map(|le| {
        Elector::new(
            client.clone(),
            &le.namespace,
            &le.name,
            &config.identity,
            le.timing.clone(),
            metrics.clone(),
        )
    });
    // A follower keeps its watches warm and drains the changes it will not act on.
    let leading = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (queue_tx, queue_rx) = unbounded_channel::<ObjectRef<Namespace>>();
    let (cluster_tx, cluster_rx) = unbounded_channel::<()>();
    let (demand_tx, demand_rx) = unbounded_channel::<String>();
    let aws_state = Arc::new(AwsState::default());
    let ctx = Arc::new(Ctx {
        config: config.clone(),
        stores: stores.clone(),
        aws: aws_state.clone(),
        version,
        metrics: metrics.clone(),
        announcer: config
            .events
            .then(|| Announcer::new(client.clone(), config.identity.clone(), metrics.clone())),
        reports: config
            .policy_reports
            .then(|| Reports::new(client.clone(), metrics.clone())),
        evaluated: Mutex::new(BTreeMap::new()),
        series: Mutex::new(BTreeMap::new()),
        cluster: Mutex::new(Evaluated::default()),
        cluster_fed: Mutex::new(BTreeMap::new()),
        ready: std::sync::atomic::AtomicBool::new(false),
        demand: demand_tx.clone(),
    });
    tokio::spawn(dispatch(
        changes_rx,
        ctx.clone(),
        leading.clone(),
        queue_tx.clone(),
        cluster_tx.clone(),
        demand_tx,
    ));

    if let Some(e) = elector.as_mut() {
        let h = health.clone();
        e.acquire(move || h.standing_by.store(true, Ordering::Relaxed))
            .await;
    } else {
        metrics.leader.set(1);
    }
    leading.store(true, Ordering::Relaxed);
    health.leading.store(true, Ordering::Relaxed);

    // The AWS side first: an evaluation without it would say "not checked" everywhere.
    let (first_tx, first_rx) = tokio::sync::oneshot::channel();
    start_aws(
        &config,
        kube.server.clone(),
        aws_state.clone(),
        ctx.clone(),
        (demand_rx, queue_tx.clone(), cluster_tx.clone()),
        first_tx,
    );
    let _ = first_rx.await;
    if let Some(a) = &ctx.announcer {
        match a.seed(config.namespace.as_deref()).await {
            Ok(n) => tracing::info!(
                events = n,
                "read back the Events published before (none is published twice)"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the Events published before: after this restart, current problems may be announced again")
            }
        }
    }
    if let Err(e) = reconcile_cluster(&ctx).await {
        tracing::warn!(error = %e, "cluster-level evaluation failed; retried on the next change");
    }
    // Every namespace once, then changes as they come.
    let started = Instant::now();
    let namespaces = stores.namespaces.state();
    futures::stream::iter(namespaces.into_iter().map(|ns| {
        let ctx = ctx.clone();
        async move {
            if let Err(e) = reconcile(ns.clone(), ctx.clone()).await {
                let _ = error_policy(ns, &e, ctx);
            }
        }
    }))
    .buffer_unordered(2)
    .collect::<Vec<()>>()
    .await;
    // The cluster scope with what the namespaces said about cluster-scoped subjects.
    ctx.ready.store(true, Ordering::Relaxed);
    if let Err(e) = ctx.publish("").await {
        tracing::warn!(error = %e, "publishing the cluster-level findings failed; retried on the next change");
    }
    health.evaluated.store(true, Ordering::Relaxed);
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "first evaluation of every namespace done"
    );

    tokio::spawn(cluster_loop(ctx.clone(), cluster_rx));
    drop((queue_tx, cluster_tx));
    let queue = futures::stream::poll_fn({
        let mut rx = queue_rx;
        move |cx| rx.poll_recv(cx)
    })
    .map(Ok::<_, std::convert::Infallible>);
    let applier_config = ApplierConfig::default()
        .debounce(config.debounce)
        .concurrency(2);
    let controller = applier(
        |ns, ctx| Box::pin(reconcile(ns, ctx)),
        error_policy,
        ctx.clone(),
        stores.namespaces.clone(),
        queue,
        applier_config,
    )
    .for_each(|r| {
        if let Err(e) = r {
            tracing::debug!(error = %e, "scheduler");
        }
        futures::future::ready(())
    });
    match elector.as_mut() {
        Some(e) => {
            tokio::select! {
                _ = controller => Ok(()),
                lost = e.hold() => Err(Error::Lost(lost)),
                _ = shutdown() => { e.release().await; Ok(()) }
            }
        }
        None => {
            tokio::select! {
                _ = controller => Ok(()),
                _ = shutdown() => Ok(()),
            }
        }
    }
}

async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("stopping");
}

/// Routes changes: namespaces to the applier's queue, ServiceAccount changes to the
/// cluster-level evaluation, new roles to the AWS reader.
async fn dispatch(
    mut rx: UnboundedReceiver<Change>,
    ctx: Arc<Ctx>,
    leading: Arc<std::sync::atomic::AtomicBool>,
    queue: UnboundedSender<ObjectRef<Namespace>>,
    cluster: UnboundedSender<()>,
    demand: UnboundedSender<String>,
) {
    while let Some(change) = rx.recv().await {
        if !leading.load(Ordering::Relaxed) {
            continue;
        }
        match change {
            Change::Namespace(ns) => {
                let _ = queue.send(ObjectRef::new(&ns));
            }
            Change::Everything => {
                for ns in ctx.stores.namespace_names() {
                    let _ = queue.send(ObjectRef::new(&ns));
                }
            }
            Change::Cluster => {
                let _ = cluster.send(());
            }
            Change::NamespaceGone(ns) => {
                ctx.forget(&ns);
                // What it said about cluster-scoped subjects goes too.
                let _ = cluster.send(());
            }
            Change::Role(r) => {
                if !ctx.aws.knows(&r) {
                    let _ = demand.send(r);
                }
            }
        }
    }
}

/// Debounced cluster-level evaluations.
async fn cluster_loop(ctx: Arc<Ctx>, mut rx: UnboundedReceiver<()>) {
    while rx.recv().await.is_some() {
        // Settle: a Helm release changes many ServiceAccounts at once.
        tokio::time::sleep(Duration::from_millis(500)).await;
        while rx.try_recv().is_ok() {}
        if let Err(e) = reconcile_cluster(&ctx).await {
            ctx.metrics.reconcile_errors.inc();
            tracing::warn!(error = %e, "cluster-level evaluation failed; retrying in 10 s");
            tokio::time::sleep(Duration::from_secs(10)).await;
            let _ = reconcile_cluster(&ctx).await;
        }
    }
}

fn affected(ctx: &Ctx, changed: &Changed) -> BTreeSet<String> {
    let all = || {
        ctx.stores
            .namespace_names()
            .into_iter()
            .collect::<BTreeSet<String>>()
    };
    if changed.cluster || changed.namespaces.contains("*") {
        return all();
    }
    let by_role = ctx.stores.annotated_roles();
    let mut out: BTreeSet<String> = changed.namespaces.clone();
    for r in &changed.roles {
        if let Some(ns) = by_role.get(r) {
            out.extend(ns.iter().cloned());
        }
    }
    out
}

type Outlets = (
    UnboundedReceiver<String>,
    UnboundedSender<ObjectRef<Namespace>>,
    UnboundedSender<()>,
);

/// Starts the AWS thread: connect, a first complete refresh (then `first` is told),
/// then refreshes on the interval and reads on demand.
fn start_aws(
    config: &Config,
    server: String,
    state: Arc<AwsState>,
    ctx: Arc<Ctx>,
    (demand, queue, cluster): Outlets,
    first: tokio::sync::oneshot::Sender<()>,
) {
    let config = config.clone();
    let spawned = std::thread::Builder::new()
        .name("irsa-doctor-aws".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the AWS reader");
                    return;
                }
            };
            rt.block_on(async move {
                let refresher = Refresher::connect(
                    config.aws.clone(),
                    Some(server),
                    config.flags.clone(),
                    config.aws_calls_per_minute,
                    config.refresh_interval,
                    config.refresh_deadline,
                    state,
                    ctx.metrics.clone(),
                )
                .await;
                let roles: BTreeSet<String> = ctx.stores.annotated_roles().into_keys().collect();
                refresher.refresh(&roles).await;
                let _ = first.send(());
                aws_loop(refresher, ctx, demand, queue, cluster).await;
            });
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the AWS reader thread");
    }
}

/// The AWS refresh on its interval, and reads on demand.
async fn aws_loop(
    refresher: Refresher,
    ctx: Arc<Ctx>,
    mut demand: UnboundedReceiver<String>,
    queue: UnboundedSender<ObjectRef<Namespace>>,
    cluster: UnboundedSender<()>,
) {
    let mut next = tokio::time::Instant::now() + refresher.next_delay();
    loop {
        let changed = tokio::select! {
            _ = tokio::time::sleep_until(next) => {
                next = tokio::time::Instant::now() + refresher.next_delay();
                let roles: BTreeSet<String> = ctx.stores.annotated_roles().into_keys().collect();
                refresher.refresh(&roles).await
            }
            Some(first) = demand.recv() => {
                let mut roles = BTreeSet::from([first]);
                // Gather what else is asked meanwhile (one read, one re-index).
                tokio::time::sleep(Duration::from_millis(50)).await;
                while let Ok(r) = demand.try_recv() {
                    roles.insert(r);
                }
                refresher.read_new(&roles).await
            }
        };
        if changed.cluster || !changed.roles.is_empty() || !changed.namespaces.is_empty() {
            for ns in affected(&ctx, &changed) {
                let _ = queue.send(ObjectRef::new(&ns));
            }
            let _ = cluster.send(());
        }
    }
}
