//! IRSA206: Condition operators are used as IAM means them.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Severity;
use crate::registry::Rule;
use crate::rules::trust_report::report_trust;
use irsa_policy::NearMiss;

declare_rule!(TrustOperatorRule, code: "IRSA206", name: "trust-operator", cause: TrustOperator, severity: Error,
    summary: "Condition operators are used as IAM means them.",
    doc: include_str!("trust_operator.md"));

fn pick(miss: &NearMiss) -> Option<Severity> {
    match miss {
        NearMiss::WildcardUnderStringEquals { .. } => Some(Severity::Error),
        NearMiss::UnknownOperator { .. } => Some(Severity::Error),
        NearMiss::ForAllValuesWithAllow { .. } => Some(Severity::Warning),
        NearMiss::ResourceInTrustPolicy => Some(Severity::Warning),
        NearMiss::NotPrincipalInTrustPolicy | NearMiss::MalformedAction { .. } => {
            Some(Severity::Error)
        }
        _ => None,
    }
}

impl Rule for TrustOperatorRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        report_trust(cx, out, &Self::META, pick);
    }
}
