//! IRSA202: A statement's `Federated` principal is this cluster's OIDC provider in the role's account.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Severity;
use crate::registry::Rule;
use crate::rules::trust_report::report_trust;
use irsa_policy::NearMiss;

declare_rule!(TrustPrincipalRule, code: "IRSA202", name: "trust-principal", cause: TrustPrincipal, severity: Error,
    summary: "A statement's `Federated` principal is this cluster's OIDC provider in the role's account.",
    doc: include_str!("trust_principal.md"));

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
