//! IRSA205: Condition keys name this cluster's issuer and the `sub`/`aud` claims.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Severity;
use crate::registry::Rule;
use crate::rules::trust_report::report_trust;
use irsa_policy::NearMiss;

declare_rule!(TrustConditionKeyRule, code: "IRSA205", name: "trust-condition-key", cause: TrustConditionKey, severity: Error,
    summary: "Condition keys name this cluster's issuer and the `sub`/`aud` claims.",
    doc: "## What it checks\nKeys are `<issuer without https://>:sub` or `:aud`, case-insensitive. A key with `https://`, a full provider ARN, another cluster's id or region, or a misspelled claim never exists in the request: under `StringEquals`/`StringLike` the statement never applies; under a negated operator the condition is always true (a warning, and a security problem in a Deny). A false condition on a global key (`aws:SecureTransport`, `aws:RequestedRegion`) is reported here too.\n\n## Why it matters\n`AccessDenied`, or a condition that silently allows everything.\n\n## Example\nA statement copied from cluster blue keeps blue's keys after its principal was changed to green's provider.\n\n## Fix\nThe corrected trust policy with the keys renamed, verified.\n\n## Seed steps\nChecklist row 11 (seed 000).");

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
