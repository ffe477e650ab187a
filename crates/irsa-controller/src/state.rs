//! What the last evaluations said, and how it is published: metrics (always), Events
//! and PolicyReports (on the leader). The verdict of a chain is the core's.

use crate::events::{note, reason_of, Announcement};
use crate::metrics::{ChainLabels, FindingLabels, Metrics, NamespaceLabels};
use irsa_rules::verdict::Status;
use irsa_rules::{Cause, Chain, Finding, Pass, Report, Severity};
use std::collections::{BTreeMap, BTreeSet};

/// What a chain's pods get, as the metrics and Events say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainState {
    /// The role's credentials, as intended (today; a warning may say it is at risk,
    /// or no pod runs as it yet).
    Works,
    /// No credentials, or not the role's: the deciding finding (rule, cause, message).
    Broken(Option<(&'static str, Cause, String)>),
    /// A link could not be evaluated: no verdict.
    NotChecked,
}

/// A reading of the core's verdict (`irsa_rules::Chain::verdict`, the one `check`
/// prints): no second implementation. The verdict is computed inside the namespace's
/// evaluation, which holds every cluster-scoped fact its chains read (the webhook, the
/// cluster, the providers, their roles); `tests/partition.rs` proves it equals the
/// verdict of one whole-cluster `check`.
pub fn chain_state(chain: &Chain) -> ChainState {
    let v = &chain.verdict;
    match v.status {
        Status::Works | Status::AtRisk | Status::NoPods => ChainState::Works,
        Status::Fails => ChainState::Broken(match (v.rule, v.cause) {
            (Some(rule), Some(cause)) => Some((rule, cause, v.reason.clone())),
            _ => None,
        }),
        Status::NotChecked => ChainState::NotChecked,
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
        if !EVENT_KINDS.contains(&&*f.subject.kind) {
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
                    sa.namespace.as_deref().map(str::to_string),
                    sa.name.to_string(),
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
    /// Chains, with the core's verdicts.
    pub chains: Vec<Chain>,
}

impl From<Report> for Evaluated {
    fn from(r: Report) -> Evaluated {
        Evaluated {
            findings: r.findings,
            passes: r.passes,
            chains: r.chains,
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
            namespace: chain
                .subject
                .namespace
                .as_deref()
                .unwrap_or_default()
                .to_string(),
            serviceaccount: chain.subject.name.to_string(),
            role: chain.role_arn.to_string(),
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
