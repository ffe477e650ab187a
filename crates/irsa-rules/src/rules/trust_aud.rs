//! IRSA204: The `:aud` condition demands the token's audience (and exists).

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Severity;
use crate::registry::Rule;
use crate::rules::trust_report::report_trust;
use irsa_policy::NearMiss;

declare_rule!(TrustAudRule, code: "IRSA204", name: "trust-aud", cause: TrustAud, severity: Error,
    summary: "The `:aud` condition demands the token's audience (and exists).",
    doc: "## What it checks\nAn `<issuer>:aud` condition must accept the token audience (`sts.amazonaws.com` unless the ServiceAccount sets `eks.amazonaws.com/audience`). No `:aud` condition at all is a warning: it works, but the documented policy pins it.\n\n## Why it matters\nA wrong `aud` means `AccessDenied`.\n\n## Example\n`\":aud\": \"sts.amazonaws.com.cn\"`, or the `sub` value pasted under `:aud`.\n\n## Fix\nThe corrected trust policy and `aws iam update-assume-role-policy`.\n\n## Seed steps\nChecklist row 9 (seeds 000, 002).");

fn pick(miss: &NearMiss) -> Option<Severity> {
    match miss {
        NearMiss::AudMismatch { .. } => Some(Severity::Error),
        NearMiss::AudCarriesSub { .. } => Some(Severity::Error),
        NearMiss::NoAudCondition => Some(Severity::Warning),
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
