//! IRSA210: the trust policy could be evaluated offline (else: say why, never pass).

use crate::context::{Context, Out, TrustState};
use crate::declare_rule;
use crate::finding::{Fix, Severity};
use crate::messages::Message;
use crate::registry::Rule;
use crate::rules::trust_report::describe;
use irsa_policy::{Decision, NearMiss};

declare_rule!(TrustUndetermined, code: "IRSA210", name: "trust-not-checked", cause: CollectionGap, severity: Warning,
    summary: "The trust policy parses and its answer does not hinge on values unknown offline.",
    doc: include_str!("trust_undetermined.md"));

impl Rule for TrustUndetermined {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        for i in &cx.irsa {
            match i.trust() {
                TrustState::Unparsable(e) => {
                    out.report(&Self::META, i.subject(), Message::new("trust-unparsable").arg("role", i.role_text()).arg("error", e.to_string()))
                        .role(i.role_text())
                        .fix(Fix::advice("re-collect the trust policy with `aws iam get-role --role-name <name> --output json`"));
                }
                TrustState::Diagnosed { request, diagnosis } => {
                    if let Decision::Undetermined { .. } = diagnosis.evaluation.decision {
                        for l in diagnosis
                            .findings
                            .iter()
                            .filter(|l| matches!(l.miss, NearMiss::Undetermined { .. }))
                        {
                            out.report(
                                &Self::META,
                                i.subject(),
                                describe(&l.miss, l.statement, i, request),
                            )
                            .severity(Severity::Warning)
                            .role(i.role_text())
                            .fix(Fix::command(
                                "ask STS for the real answer",
                                format!(
                                    "irsa-doctor probe -n {} --service-account {}",
                                    i.sa.namespace, i.sa.name
                                ),
                            ));
                        }
                    }
                }
                TrustState::NotEvaluable(_) | TrustState::Released => {}
            }
        }
    }
}
