//! IRSA207: No explicit Deny matches the request.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Severity;
use crate::registry::Rule;
use crate::rules::trust_report::report_trust;
use irsa_policy::NearMiss;

declare_rule!(TrustDenyRule, code: "IRSA207", name: "trust-deny", cause: TrustDeny, severity: Error,
    summary: "No explicit Deny matches the request.",
    doc: include_str!("trust_deny.md"));

fn pick(miss: &NearMiss) -> Option<Severity> {
    match miss {
        NearMiss::DenyApplies { .. } | NearMiss::DenyMayApply { .. } => Some(Severity::Error),
        _ => None,
    }
}

impl Rule for TrustDenyRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        report_trust(cx, out, &Self::META, pick);
    }
}
