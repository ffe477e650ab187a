//! IRSA201: Allow statement covers `sts:AssumeRoleWithWebIdentity`.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Severity;
use crate::registry::Rule;
use crate::rules::trust_report::report_trust;
use irsa_policy::NearMiss;

declare_rule!(TrustActionRule, code: "IRSA201", name: "trust-action", cause: TrustAction, severity: Error,
    summary: "Allow statement covers `sts:AssumeRoleWithWebIdentity`.",
    doc: "## What it checks\nThe trust policy needs an Allow for `sts:AssumeRoleWithWebIdentity` (case-insensitive; wildcards such as `sts:*` count).\n\n## Why it matters\nWeb identity tokens are exchanged only through that action; a statement for `sts:AssumeRole` (for services or AWS principals) never applies, and STS answers `AccessDenied`.\n\n## Example\nSeed 000: `\"Principal\": {\"Service\": \"xxxxx.amazonaws.com\"}, \"Action\": \"sts:AssumeRole\"`.\n\n## Fix\nThe corrected trust policy (kept statements + a verified one for this ServiceAccount) and `aws iam update-assume-role-policy`.\n\n## Seed steps\nChecklist row 6 (seeds 000, 003).");

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
