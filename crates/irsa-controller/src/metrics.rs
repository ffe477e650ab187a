//! The Prometheus metrics (prometheus-client; OpenMetrics text on `/metrics`).
//!
//! Diagnosis: `irsa_doctor_findings` (current findings by severity, cause and
//! namespace; `namespace=""` for cluster-scoped subjects: roles, OIDC providers, the
//! cluster, the webhook), `irsa_doctor_chain_ok` (one series per ServiceAccount that
//! names a role: 1 when its pods would get the role's credentials, 0 when the chain is
//! broken), `irsa_doctor_chain_not_checked` (chains with a link that could not be
//! evaluated: never counted as working), `irsa_doctor_collection_gaps`.
//! Operation: AWS calls, Kubernetes writes and watch events, refresh and evaluation
//! times, write refusals, leadership.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Findings series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct FindingLabels {
    /// `error`, `warning`, `info`.
    pub severity: String,
    /// Cause id.
    pub cause: String,
    /// Namespace (`""` for cluster-scoped subjects).
    pub namespace: String,
}

/// One chain.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct ChainLabels {
    /// Namespace.
    pub namespace: String,
    /// ServiceAccount.
    pub serviceaccount: String,
    /// The role ARN as annotated.
    pub role: String,
}

/// A namespace.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct NamespaceLabels {
    /// Namespace (`""` for cluster-scoped subjects).
    pub namespace: String,
}

/// An AWS service.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServiceLabels {
    /// `iam`, `eks`, `sts`.
    pub service: String,
}

/// A Kubernetes request the controller made.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `create`, `patch`, `update`, `get`, `list`.
    pub verb: String,
    /// `events`, `policyreports`, `clusterpolicyreports`, `leases`.
    pub resource: String,
    /// HTTP status (`201`, `403`, ...; `0` when no answer came).
    pub code: String,
}

/// A watched resource.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WatchLabels {
    /// `pods`, `serviceaccounts`, ...
    pub resource: String,
    /// `apply`, `delete`, `relist`, `error`.
    pub event: String,
}

/// A refused write.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// `events`, `policyreports`, `clusterpolicyreports`.
    pub resource: String,
    /// `forbidden` (RBAC) or `not-installed` (no PolicyReport CRD).
    pub reason: String,
}

/// An evaluation scope.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScopeLabels {
    /// `namespace` or `cluster`.
    pub scope: String,
}

/// An Event reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// The Event's reason (the cause, in PascalCase).
    pub reason: String,
}

fn duration_buckets() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    ])
}

/// Every metric, registered once.
pub struct Metrics {
    /// The registry `/metrics` encodes.
    pub registry: Registry,
    /// Current findings.
    pub findings: Family<FindingLabels, Gauge>,
    /// Per chain: 1 works, 0 broken.
    pub chain_ok: Family<ChainLabels, Gauge>,
    /// Per chain: 1 when it could not be evaluated.
    pub chain_not_checked: Family<ChainLabels, Gauge>,
    /// Collection gaps per namespace.
    pub collection_gaps: Family<NamespaceLabels, Gauge>,
    /// AWS API calls.
    pub aws_calls: Family<ServiceLabels, Counter>,
    /// AWS calls that waited for the per-minute cap.
    pub aws_calls_delayed: Counter,
    /// Kubernetes requests (writes, leases, the startup reads).
    pub kube_requests: Family<RequestLabels, Counter>,
    /// Watch events received.
    pub watch_events: Family<WatchLabels, Counter>,
    /// Unix time of the last complete AWS refresh.
    pub last_refresh: Gauge<f64, AtomicU64>,
    /// Duration of AWS refreshes.
    pub refresh_duration: Histogram,
    /// Duration of evaluations.
    pub evaluation_duration: Family<ScopeLabels, Histogram>,
    /// Reconciles that failed (retried by the error policy).
    pub reconcile_errors: Counter,
    /// Writes refused (RBAC, missing CRD).
    pub write_refusals: Family<RefusalLabels, Counter>,
    /// Events published.
    pub events_published: Family<ReasonLabels, Counter>,
    /// PolicyReport writes.
    pub report_writes: Counter,
    /// 1 on the replica holding the Lease.
    pub leader: Gauge,
    /// Distinct roles whose AWS side is tracked.
    pub roles: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The HTTP status of a Kubernetes API error (0: no answer from the server).
pub fn status_code(e: &kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        _ => 0,
    }
}

impl Metrics {
    /// Counts one Kubernetes request by verb, resource and answer.
    pub fn kube_request(&self, verb: &str, resource: &str, code: u16) {
        self.kube_requests
            .get_or_create(&RequestLabels {
                verb: verb.into(),
                resource: resource.into(),
                code: code.to_string(),
            })
            .inc();
    }

    /// Registers everything.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("irsa_doctor");
        let m = Metrics {
            findings: Family::default(),
            chain_ok: Family::default(),
            chain_not_checked: Family::default(),
            collection_gaps: Family::default(),
            aws_calls: Family::default(),
            aws_calls_delayed: Counter::default(),
            kube_requests: Family::default(),
            watch_events: Family::default(),
            last_refresh: Gauge::default(),
            refresh_duration: duration_buckets(),
            evaluation_duration: Family::new_with_constructor(duration_buckets),
            reconcile_errors: Counter::default(),
            write_refusals: Family::default(),
            events_published: Family::default(),
            report_writes: Counter::default(),
            leader: Gauge::default(),
            roles: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "findings",
            "Current findings by severity, cause and namespace (namespace=\"\" for roles, OIDC providers, the cluster and the webhook)",
            m.findings.clone(),
        );
        registry.register(
            "chain_ok",
            "1 when the ServiceAccount's pods would get the role's credentials as intended, 0 when the chain is broken",
            m.chain_ok.clone(),
        );
        registry.register(
            "chain_not_checked",
            "1 for a ServiceAccount whose chain has a link that could not be evaluated (no verdict; never counted as working)",
            m.chain_not_checked.clone(),
        );
        registry.register(
            "collection_gaps",
            "Facts that could not be collected, by namespace (namespace=\"\" for the AWS side and cluster-scoped reads)",
            m.collection_gaps.clone(),
        );
        registry.register(
            "aws_calls",
            "AWS API calls, by service",
            m.aws_calls.clone(),
        );
        registry.register(
            "aws_calls_delayed",
            "AWS calls that waited for the per-minute cap",
            m.aws_calls_delayed.clone(),
        );
        registry.register(
            "kubernetes_requests",
            "Kubernetes requests besides watches: Event, PolicyReport and Lease writes, by verb, resource and HTTP status",
            m.kube_requests.clone(),
        );
        registry.register(
            "watch_events",
            "Watch events received, by resource and event (apply, delete, relist, error)",
            m.watch_events.clone(),
        );
        registry.register(
            "last_refresh_timestamp_seconds",
            "Unix time of the last complete AWS refresh",
            m.last_refresh.clone(),
        );
        registry.register(
            "refresh_duration_seconds",
            "Duration of AWS refreshes",
            m.refresh_duration.clone(),
        );
        registry.register(
            "evaluation_duration_seconds",
            "Duration of evaluations, by scope (namespace, cluster)",
            m.evaluation_duration.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Reconciles that failed and were retried",
            m.reconcile_errors.clone(),
        );
        registry.register(
            "write_refusals",
            "Event and PolicyReport writes refused (reason: forbidden by RBAC, or the PolicyReport CRD not installed)",
            m.write_refusals.clone(),
        );
        registry.register(
            "events",
            "Kubernetes Events published, by reason",
            m.events_published.clone(),
        );
        registry.register(
            "policy_report_writes",
            "PolicyReport and ClusterPolicyReport writes (only when their content changed)",
            m.report_writes.clone(),
        );
        registry.register(
            "leader",
            "1 on the replica that holds the leader Lease (it alone reads AWS and writes Events and PolicyReports)",
            m.leader.clone(),
        );
        registry.register(
            "roles",
            "Distinct roles whose AWS side is tracked",
            m.roles.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
