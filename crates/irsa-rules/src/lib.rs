//! IRSA diagnosis rules. Every step of the troubleshooting articles is a rule
//! (one per file under `rules/`), reporting typed findings with a stable cause,
//! AWS's exact error where STS is involved, and a copy-pasteable fix.
//!
//! Pure: reads a [`irsa_model::Snapshot`], does no I/O.

#![warn(missing_docs)]

pub mod context;
pub mod explain;
pub mod finding;
pub mod fix_target;
pub mod fixes;
pub mod messages;
pub mod registry;
pub mod rules;

pub use context::{Context, Options, Scope};
pub use finding::{Cause, Finding, Fix, Pass, Severity, Subject};
pub use messages::Message;
pub use registry::{all_rules, rule_by_code, Rule, RuleMeta};

use irsa_model::Snapshot;
use irsa_policy::StsPrediction;
use serde::Serialize;

/// The end-to-end verdict for one ServiceAccount: what STS would answer its pods.
#[derive(Debug, Clone, Serialize)]
pub struct Chain {
    /// The ServiceAccount.
    pub subject: Subject,
    /// The annotated role (as written).
    pub role_arn: String,
    /// Pods running as it.
    pub pods: usize,
    /// Predicted STS answer.
    pub prediction: StsPrediction,
}

/// Severity counts.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Errors.
    pub error: usize,
    /// Warnings.
    pub warning: usize,
    /// Infos.
    pub info: usize,
}

/// The result of a check.
#[derive(Debug, Clone)]
pub struct Report {
    /// Findings, in data-flow order (cluster → role → ServiceAccount → pods).
    pub findings: Vec<Finding>,
    /// Checks that passed.
    pub passes: Vec<Pass>,
    /// Per-ServiceAccount verdicts.
    pub chains: Vec<Chain>,
    /// Counts.
    pub summary: Summary,
}

impl Report {
    /// Whether any finding is at least as severe as `level`.
    pub fn fails_at(&self, level: Severity) -> bool {
        self.findings.iter().any(|f| f.severity <= level)
    }
}

/// Runs every rule.
pub fn check(snap: &Snapshot, scope: &Scope, options: &Options) -> Report {
    let cx = Context::new(snap, scope, options);
    let mut out = context::Out::default();
    for rule in all_rules() {
        rule.check(&cx, &mut out);
    }
    let mut seen = std::collections::HashSet::new();
    out.findings
        .retain(|f| seen.insert((f.rule, f.subject.clone(), f.message.render())));
    fix_target::finish(&mut out.findings, snap);
    let mut summary = Summary::default();
    for f in &out.findings {
        match f.severity {
            Severity::Error => summary.error += 1,
            Severity::Warning => summary.warning += 1,
            Severity::Info => summary.info += 1,
        }
    }
    let chains = cx
        .irsa
        .iter()
        .map(|i| Chain {
            subject: i.subject(),
            role_arn: i.annotation.to_string(),
            pods: snap.pods_of(&i.sa.namespace, &i.sa.name).count(),
            prediction: i.prediction.clone(),
        })
        .collect();
    Report {
        findings: out.findings,
        passes: out.passes,
        chains,
        summary,
    }
}
