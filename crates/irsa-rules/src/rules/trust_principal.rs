//! IRSA202: A statement's `Federated` principal is this cluster's OIDC provider in the role's account.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Severity;
use crate::registry::Rule;
use crate::rules::trust_report::report_trust;
use irsa_policy::NearMiss;

declare_rule!(TrustPrincipalRule, code: "IRSA202", name: "trust-principal", cause: TrustPrincipal, severity: Error,
    summary: "A statement's `Federated` principal is this cluster's OIDC provider in the role's account.",
    doc: "## What it checks\nThe `Federated` principal must be `arn:<partition>:iam::<role account>:oidc-provider/<issuer without https://>` exactly (no wildcards in principals). The report names what differs: account, region, cluster id, partition, case.\n\n## Why it matters\nA statement for another provider never applies: `AccessDenied`.\n\n## Example\nA role shared by clusters blue and green trusts only blue's provider id.\n\n## Fix\nAdd a statement for this cluster (never replace another cluster's) and `aws iam update-assume-role-policy`.\n\n## Seed steps\nChecklist rows 7, 10, 11 (seeds 000, 001, 002).");

fn pick(miss: &NearMiss) -> Option<Severity> {
    match miss {
        NearMiss::ServicePrincipal { .. } => Some(Severity::Error),
        NearMiss::AwsPrincipal { .. } => Some(Severity::Error),
        NearMiss::FederatedOtherProvider { .. } => Some(Severity::Error),
        NearMiss::FederatedMalformed { .. } => Some(Severity::Error),
        NearMiss::NoPrincipal => Some(Severity::Error),
        _ => None,
    }
}

impl Rule for TrustPrincipalRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        report_trust(cx, out, &Self::META, pick);
    }
}
