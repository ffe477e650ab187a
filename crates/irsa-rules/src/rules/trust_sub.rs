//! IRSA203: The `:sub` condition matches `system:serviceaccount:<namespace>:<name>`.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Severity;
use crate::registry::Rule;
use crate::rules::trust_report::report_trust;
use irsa_policy::NearMiss;

declare_rule!(TrustSubRule, code: "IRSA203", name: "trust-sub", cause: TrustSub, severity: Error,
    summary: "The `:sub` condition matches `system:serviceaccount:<namespace>:<name>`.",
    doc: include_str!("trust_sub.md"));

fn pick(miss: &NearMiss) -> Option<Severity> {
    match miss {
        NearMiss::SubMismatch { .. } => Some(Severity::Error),
        NearMiss::SubExcluded { .. } => Some(Severity::Error),
        _ => None,
    }
}

impl Rule for TrustSubRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        report_trust(cx, out, &Self::META, pick);
        for i in &cx.irsa {
            if let Some((request, d)) = i.diagnosis() {
                if let irsa_policy::Decision::Allow { statement } = d.evaluation.decision {
                    out.pass(
                        &Self::META,
                        i.subject(),
                        crate::messages::Message::new("trust-allows")
                            .arg("role", &i.role_shown)
                            .arg("sub", &request.sub)
                            .arg("statement", statement.to_string()),
                    );
                }
            }
        }
    }
}
