//! IRSA203: The `:sub` condition matches `system:serviceaccount:<namespace>:<name>`.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Severity;
use crate::registry::Rule;
use crate::rules::trust_report::report_trust;
use irsa_policy::NearMiss;

declare_rule!(TrustSubRule, code: "IRSA203", name: "trust-sub", cause: TrustSub, severity: Error,
    summary: "The `:sub` condition matches `system:serviceaccount:<namespace>:<name>`.",
    doc: "## What it checks\nEvery value of the `<issuer>:sub` condition is compared with the ServiceAccount's subject under the condition's operator. Near misses are named: stray white space (seed 000's multi-cluster example), swapped namespace and name, typos (edit distance), letter case, a missing `system:serviceaccount:` prefix, a negated operator excluding it.\n\n## Why it matters\nA `sub` that cannot match means `AccessDenied` for every pod of the ServiceAccount.\n\n## Example\n`\"system:serviceaccount: kube-system:aws-load-balancer-controller\"`.\n\n## Fix\nThe corrected trust policy with only the wrong value replaced, verified, and `aws iam update-assume-role-policy`.\n\n## Seed steps\nChecklist row 8 (seeds 000, 001, 002).");

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
                            .arg("role", i.role_text())
                            .arg("sub", &request.sub)
                            .arg("statement", statement.to_string()),
                    );
                }
            }
        }
    }
}
