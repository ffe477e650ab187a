//! IRSA208: The allowing statement names one ServiceAccount, not every one.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Severity;
use crate::registry::Rule;
use crate::rules::trust_report::report_trust;
use irsa_policy::NearMiss;

declare_rule!(TrustTooBroadRule, code: "IRSA208", name: "trust-too-broad", cause: TrustTooBroad, severity: Warning,
    summary: "The allowing statement names one ServiceAccount, not every one.",
    doc: "## What it checks\nWarns when the statement that allows the request has no `:sub` condition, a `sub` wildcard for every ServiceAccount, or `Principal: \"*\"`; a namespace-wide wildcard (`system:serviceaccount:team-a:*`) is reported as info.\n\n## Why it matters\nAny pod that sets `AWS_ROLE_ARN` to this role can assume it: it works, too well.\n\n## Example\nSeed 001's policy pins `sub` only; one without `sub` lets every ServiceAccount in.\n\n## Fix\nAdd `StringEquals` on `<issuer>:sub` = `system:serviceaccount:<ns>:<name>`.\n\n## Seed steps\nSecurity complement to rows 8-10.");

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
