//! IRSA204: The `:aud` condition demands the token's audience (and exists).

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Severity;
use crate::registry::Rule;
use crate::rules::trust_report::report_trust;
use irsa_policy::NearMiss;

declare_rule!(TrustAudRule, code: "IRSA204", name: "trust-aud", cause: TrustAud, severity: Error,
    summary: "The `:aud` condition demands the token's audience (and exists).",
    doc: include_str!("trust_aud.md"));

fn pick(miss: &NearMiss) -> Option<Severity> {
    match miss {
        NearMiss::AudMismatch { .. } => Some(Severity::Error),
        NearMiss::AudCarriesSub { .. } => Some(Severity::Error),
        // Advice: STS issues credentials without it (causes.md, "Severity").
        NearMiss::NoAudCondition => Some(Severity::Info),
        _ => None,
    }
}

impl Rule for TrustAudRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        report_trust(cx, out, &Self::META, pick);
    }
}
