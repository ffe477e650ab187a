//! What the last evaluations said, and how it is published: metrics (always), Events
//! and PolicyReports (on the leader). The verdict of a chain is decided here from the
//! evaluation's own findings and chains.

use crate::events::{note, reason_of, Announcement};
use crate::metrics::{ChainLabels, FindingLabels, Metrics, NamespaceLabels};
use irsa_policy::StsPrediction;
use irsa_rules::{Cause, Chain, Finding, Pass, Report, Severity};
use std::collections::{BTreeMap, BTreeSet};

/// What a chain's pods get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainState {
    /// The role's credentials, as intended.
    Works,
    /// No credentials, or not the role's: the deciding finding (rule, cause, message).
    Broken(Option<(&'static str, Cause, String)>),
    /// A link could not be evaluated: no verdict.
    NotChecked,
}

/// Pods and workloads of a namespace, by the ServiceAccount they run as.
pub type Links = BTreeMap<(String, String), String>;

fn normalized(role: &str) -> String {
    irsa_policy::RoleArn::parse(role.trim())
        .map(|r| r.to_string())
        .unwrap_or_else(|_| role.to_string())
}

/// The verdict of one chain.
///
/// STS's predicted answer first (an error breaks it, an unknown leaves it unchecked);
/// then any error finding about the ServiceAccount, its pods or its workloads (the pods
/// may never use the role: not mutated, other credentials first, no token); then an
/// error about its role. The deciding finding is the one whose predicted STS error is
/// STS's answer, else the first error about the chain.
// The falsegood branch (issue 11) makes this verdict end to end in irsa-rules
// (`Chain::verdict`); once it lands, this function becomes a reading of it.
pub fn chain_state(
    chain: &Chain,
    findings: &[Finding],
    cluster: &[Finding],
    links: &Links,
) -> ChainState {
    let ns = chain.subject.namespace.as_deref().unwrap_or_default();
    let sa = chain.subject.name.as_str();
    let role = normalized(&chain.role_arn);
    let about_chain = |f: &&Finding| match f.subject.kind.as_str() {
        // A workload that should run as this ServiceAccount but runs as another is
        // tied to the chain by its role: the pods meant for the role never use it.
        _ if f.cause == Cause::PodServiceAccount => {
            f.subject.namespace.as_deref() == Some(ns)
                && f.role_arn.as_deref().map(normalized).as_deref() == Some(role.as_str())
        }
        "ServiceAccount" => f.subject.namespace.as_deref() == Some(ns) && f.subject.name == sa,
        "Role" => normalized(&f.subject.name) == role,
        "OidcProvider" | "Cluster" => true,
        "Input" | "Webhook" => false,
        kind => {
            f.subject.namespace.as_deref() == Some(ns)
                && links
                    .get(&(kind.to_string(), f.subject.name.clone()))
                    .map(String::as_str)
                    == Some(sa)
        }
    };
    let errors: Vec<&Finding> = findings
        .iter()
        .chain(cluster.iter())
        .filter(|f| f.severity == Severity::Error && f.cause != Cause::CollectionGap)
        .filter(about_chain)
        .collect();
    let decide = |f: &Finding| Some((f.rule, f.cause, f.message.render()));
    match &chain.prediction {
        StsPrediction::Undetermined { .. } => ChainState::NotChecked,
        StsPrediction::Error(e) => {
            let text = e.text();
            let deciding = errors
                .iter()
                .find(|f| f.predicted_error.as_deref() == Some(text.as_str()))
                .or(errors.first());
            ChainState::Broken(deciding.and_then(|f| decide(f)))
        }
        StsPrediction::Success { .. } => {
            // Provider and cluster errors are STS's business: the prediction already
            // weighed them. What remains: the pods, the ServiceAccount, the role.
            match errors
                .iter()
                .find(|f| !matches!(f.subject.kind.as_str(), "OidcProvider" | "Cluster"))
            {
                Some(f) => ChainState::Broken(decide(f)),
                None => ChainState::Works,
            }
        }
    }
}

/// Kinds an Event can be about.
pub const EVENT_KINDS: [&str; 8] = [
    "ServiceAccount",
    "Pod",
    "Deployment",
    "DaemonSet",
    "StatefulSet",
    "ReplicaSet",
    "Job",
    "CronJob",
];

fn announcement(
    kind: &str,
    ns: Option<&str>,
    name: &str,
    rule: &str,
    cause: Cause,
    message: &str,
) -> Announcement {
    Announcement {
        about: (kind.to_string(), ns.map(String::from), name.to_string()),
        reason: reason_of(cause),
        note: note(&format!("{rule} {}: {message}", cause.id())),
    }
}

/// The Events a namespace's state calls for: each error or warning about a
/// ServiceAccount, pod or workload; and for a broken chain decided by a finding about
/// its role, provider or cluster, one on the ServiceAccount.
pub fn announcements(
    findings: &[Finding],
    chains: &[(Chain, ChainState)],
) -> BTreeSet<Announcement> {
    let mut out = BTreeSet::new();
    for f in findings {
        if f.severity > Severity::Warning || f.cause == Cause::CollectionGap {
            continue;
        }
        if !EVENT_KINDS.contains(&f.subject.kind.as_str()) {
            continue;
        }
        out.insert(announcement(
            &f.subject.kind,
            f.subject.namespace.as_deref(),
            &f.subject.name,
            f.rule,
            f.cause,
            &f.message.render(),
        ));
    }
    for (chain, state) in chains {
        let ChainState::Broken(Some((rule, cause, message))) = state else {
            continue;
        };
        let sa = &chain.subject;
        let already = out.iter().any(|a| {
            a.about
                == (
                    "ServiceAccount".to_string(),
                    sa.namespace.clone(),
                    sa.name.clone(),
                )
                && a.reason == reason_of(*cause)
        });
        if !already {
            out.insert(announcement(
                "ServiceAccount",
                sa.namespace.as_deref(),
                &sa.name,
                rule,
                *cause,
                message,
            ));
        }
    }
    out
}

/// The last evaluation of a scope.
#[derive(Debug, Clone, Default)]
pub struct Evaluated {
    /// Findings.
    pub findings: Vec<Finding>,
    /// Passed checks.
    pub passes: Vec<Pass>,
    /// Chains.
    pub chains: Vec<Chain>,
    /// Pods and workloads by ServiceAccount.
    pub links: Links,
}

impl From<(Report, Links)> for Evaluated {
    fn from((r, links): (Report, Links)) -> Evaluated {
        Evaluated {
            findings: r.findings,
            passes: r.passes,
            chains: r.chains,
            links,
        }
    }
}

/// The series published for a scope (to remove those that no longer hold).
#[derive(Debug, Default, Clone)]
pub struct Series {
    findings: BTreeSet<FindingLabels>,
    chains: BTreeSet<ChainLabels>,
    not_checked: BTreeSet<ChainLabels>,
}

/// Publishes a scope's metrics; returns the series now published.
pub fn publish_metrics(
    metrics: &Metrics,
    scope: &str,
    findings: &[Finding],
    chains: &[(Chain, ChainState)],
    before: &Series,
) -> Series {
    let mut counts: BTreeMap<FindingLabels, i64> = BTreeMap::new();
    let mut gaps = 0;
    for f in findings {
        if f.cause == Cause::CollectionGap {
            gaps += 1;
        }
        *counts
            .entry(FindingLabels {
                severity: f.severity.name().into(),
                cause: f.cause.id().into(),
                namespace: scope.into(),
            })
            .or_default() += 1;
    }
    let mut now = Series::default();
    for (labels, n) in counts {
        metrics.findings.get_or_create(&labels).set(n);
        now.findings.insert(labels);
    }
    for (chain, state) in chains {
        let labels = ChainLabels {
            namespace: chain.subject.namespace.clone().unwrap_or_default(),
            serviceaccount: chain.subject.name.clone(),
            role: chain.role_arn.clone(),
        };
        match state {
            ChainState::Works => {
                metrics.chain_ok.get_or_create(&labels).set(1);
                now.chains.insert(labels);
            }
            ChainState::Broken(_) => {
                metrics.chain_ok.get_or_create(&labels).set(0);
                now.chains.insert(labels);
            }
            ChainState::NotChecked => {
                metrics.chain_not_checked.get_or_create(&labels).set(1);
                now.not_checked.insert(labels);
            }
        }
    }
    for gone in before.findings.difference(&now.findings) {
        metrics.findings.remove(gone);
    }
    for gone in before.chains.difference(&now.chains) {
        metrics.chain_ok.remove(gone);
    }
    for gone in before.not_checked.difference(&now.not_checked) {
        metrics.chain_not_checked.remove(gone);
    }
    let ns = NamespaceLabels {
        namespace: scope.into(),
    };
    if gaps > 0 {
        metrics.collection_gaps.get_or_create(&ns).set(gaps);
    } else {
        metrics.collection_gaps.remove(&ns);
    }
    now
}

/// Removes every series of a scope.
pub fn unpublish(metrics: &Metrics, scope: &str, before: &Series) {
    publish_metrics(metrics, scope, &[], &[], before);
}
