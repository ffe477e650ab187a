//! IRSA208: The allowing statement names one ServiceAccount, not every one.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Severity;
use crate::registry::Rule;
use crate::rules::trust_report::report_trust;
use irsa_policy::NearMiss;

declare_rule!(TrustTooBroadRule, code: "IRSA208", name: "trust-too-broad", cause: TrustTooBroad, severity: Warning,
    summary: "The allowing statement names one ServiceAccount, not every one.",
    doc: include_str!("trust_too_broad.md"));

fn pick(miss: &NearMiss) -> Option<Severity> {
    match miss {
        NearMiss::NoSubCondition => Some(Severity::Warning),
        NearMiss::SubWildcardAll { .. } => Some(Severity::Warning),
        NearMiss::SubWildcardNamespace { .. } => Some(Severity::Info),
        NearMiss::PrincipalWildcard => Some(Severity::Warning),
        _ => None,
    }
}

impl Rule for TrustTooBroadRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        report_trust(cx, out, &Self::META, pick);
    }
}
