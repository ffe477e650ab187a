//! IRSA205: Condition keys name this cluster's issuer and the `sub`/`aud` claims.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Severity;
use crate::registry::Rule;
use crate::rules::trust_report::report_trust;
use irsa_policy::NearMiss;

declare_rule!(TrustConditionKeyRule, code: "IRSA205", name: "trust-condition-key", cause: TrustConditionKey, severity: Error,
    summary: "Condition keys name this cluster's issuer and the `sub`/`aud` claims.",
    doc: include_str!("trust_condition_key.md"));

fn pick(miss: &NearMiss) -> Option<Severity> {
    match miss {
        NearMiss::KeyHasScheme { .. }
        | NearMiss::KeyIsArn { .. }
        | NearMiss::KeyForeignIssuer { .. }
        | NearMiss::KeyMisspelledClaim { .. }
        | NearMiss::KeyAbsent { .. }
        | NearMiss::ConditionFalse { .. } => Some(Severity::Error),
        NearMiss::NegatedOnAbsentKey { .. } => Some(Severity::Warning),
        _ => None,
    }
}

impl Rule for TrustConditionKeyRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        report_trust(cx, out, &Self::META, pick);
    }
}
