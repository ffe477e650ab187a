//! IRSA201: Allow statement covers `sts:AssumeRoleWithWebIdentity`.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Severity;
use crate::registry::Rule;
use crate::rules::trust_report::report_trust;
use irsa_policy::NearMiss;

declare_rule!(TrustActionRule, code: "IRSA201", name: "trust-action", cause: TrustAction, severity: Error,
    summary: "Allow statement covers `sts:AssumeRoleWithWebIdentity`.",
    doc: include_str!("trust_action.md"));

fn pick(miss: &NearMiss) -> Option<Severity> {
    match miss {
        NearMiss::NoAllowStatement => Some(Severity::Error),
        NearMiss::ActionIsAssumeRole { .. } => Some(Severity::Error),
        NearMiss::ActionMissing { .. } => Some(Severity::Error),
        _ => None,
    }
}

impl Rule for TrustActionRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        report_trust(cx, out, &Self::META, pick);
    }
}
