//! IRSA602: the association role's trust policy allows `sts:AssumeRole` and
//! `sts:TagSession` for the service principal `pods.eks.amazonaws.com` with the session
//! tags EKS sends, and a target role's trust allows the association role (with the
//! association's external id), decided by the policy engine.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Cause, Fix, Severity, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::pod_identity::{chains, Hop, HopTrust, PiChain, ACCESS_DENIED};
use crate::registry::Rule;
use irsa_policy::condition::Tri;
use irsa_policy::evaluate::Evaluation;
use irsa_policy::{Decision, Effect};

declare_rule!(PodIdentityTrustRule, code: "IRSA602", name: "pod-identity-trust", cause: PodIdentityTrust, severity: Error,
    summary: "The association role trusts pods.eks.amazonaws.com (sts:AssumeRole, sts:TagSession) for this ServiceAccount; a target role trusts the association role.",
    doc: include_str!("pod_identity_trust.md"));

/// The trust policy EKS documents for Pod Identity
/// (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html), scoped to one
/// namespace/ServiceAccount with the session tags the same page shows.
pub fn documented_trust(namespace: &str, sa: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowEksAuthToAssumeRoleForPodIdentity",
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {
                "aws:RequestTag/kubernetes-namespace": namespace,
                "aws:RequestTag/kubernetes-service-account": sa
            }}
        }]
    })
    .to_string()
    .replace('\'', "'\\''")
}

/// The trust a target role needs (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-assign-target-role.html).
pub fn target_trust(source_role: &str, external_id: Option<&str>) -> String {
    let mut st = serde_json::json!({
        "Effect": "Allow",
        "Principal": {"AWS": source_role},
        "Action": ["sts:AssumeRole", "sts:TagSession"]
    });
    if let Some(e) = external_id {
        st["Condition"] = serde_json::json!({"StringEquals": {"sts:ExternalId": e}});
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": [st]})
        .to_string()
        .replace('\'', "'\\''")
}

/// Why an evaluation denies, in words.
fn why(e: &Evaluation) -> String {
    if let Decision::ExplicitDeny { statement } = e.decision {
        return format!("Deny statement {statement} applies");
    }
    let allows: Vec<_> = e
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Allow)
        .collect();
    if allows.is_empty() {
        return "no Allow statement".into();
    }
    if !allows.iter().any(|s| s.principal != Tri::False) {
        return "no Allow statement names the service principal pods.eks.amazonaws.com".into();
    }
    if !allows
        .iter()
        .any(|s| s.principal != Tri::False && s.action != Tri::False)
    {
        return "the statements for this principal do not list the action".into();
    }
    let failing: Vec<String> = allows
        .iter()
        .filter(|s| s.principal != Tri::False && s.action != Tri::False)
        .flat_map(|s| {
            s.conditions
                .iter()
                .filter(|c| c.result == Tri::False)
                .map(move |c| format!("statement {} condition {}", s.index, c.index))
        })
        .collect();
    format!(
        "its conditions fail for this request ({})",
        failing.join(", ")
    )
}

fn check_hop(out: &mut Out, c: &PiChain<'_>, h: &Hop<'_>, target: bool) {
    let a = c.assoc;
    match &h.trust {
        HopTrust::Evaluated {
            evaluation,
            tags_would_allow,
        } => {
            if *tags_would_allow {
                return; // pod-identity-session-tags says why
            }
            if evaluation.allows() {
                out.pass(
                    &PodIdentityTrustRule::META,
                    Subject::global("Role", &h.arn),
                    Message::new("pi-trust-ok")
                        .arg("role", &h.arn)
                        .arg(
                            "actions",
                            if evaluation.tag_session.is_some() {
                                "sts:AssumeRole, sts:TagSession"
                            } else {
                                "sts:AssumeRole"
                            },
                        )
                        .arg("namespace", &a.namespace)
                        .arg("name", &a.service_account),
                );
                return;
            }
            let Some(action) = evaluation.denied_action() else {
                let f = out.report(
                    &PodIdentityTrustRule::META,
                    c.subject(),
                    Message::new("gap-pi-trust")
                        .arg("role", &h.arn)
                        .arg("namespace", &a.namespace)
                        .arg("name", &a.service_account)
                        .arg("why", "a condition depends on values not known offline (pod name or uid, aws:SourceArn, or a key not modelled)"),
                );
                f.cause = Cause::CollectionGap;
                f.severity(Severity::Warning).role(&h.arn);
                return;
            };
            let e = if action == "sts:AssumeRole" {
                &evaluation.assume_role
            } else {
                evaluation
                    .tag_session
                    .as_ref()
                    .expect("denied action evaluated")
            };
            let msg = if target {
                Message::new("pi-target-trust-denied")
                    .arg("source", a.role_arn.clone().unwrap_or_default())
            } else {
                Message::new("pi-trust-denied")
            };
            let fix = if target {
                Fix::command(
                    "let the association role assume the target role (add this statement to the target role's trust policy if it holds others)",
                    format!(
                        "aws iam update-assume-role-policy --role-name {} --policy-document '{}'",
                        sh(&h.name()),
                        target_trust(a.role_arn.as_deref().unwrap_or_default(), a.external_id.as_deref())
                    ),
                )
            } else {
                Fix::command(
                    "trust EKS Pod Identity for this ServiceAccount (add the statement to the existing trust policy if it holds others, e.g. an IRSA statement)",
                    format!(
                        "aws iam update-assume-role-policy --role-name {} --policy-document '{}'",
                        sh(&h.name()),
                        documented_trust(&a.namespace, &a.service_account)
                    ),
                )
            };
            out.report(
                &PodIdentityTrustRule::META,
                c.subject(),
                msg.arg("role", &h.arn)
                    .arg("action", action)
                    .arg("namespace", &a.namespace)
                    .arg("name", &a.service_account)
                    .arg("why", why(e)),
            )
            .role(&h.arn)
            .predicts(ACCESS_DENIED)
            .fix(fix);
        }
        HopTrust::Unparsable(e) => {
            let f = out.report(
                &PodIdentityTrustRule::META,
                c.subject(),
                Message::new("gap-pi-trust")
                    .arg("role", &h.arn)
                    .arg("namespace", &a.namespace)
                    .arg("name", &a.service_account)
                    .arg("why", format!("it does not parse: {e}")),
            );
            f.cause = Cause::CollectionGap;
            f.severity(Severity::Warning).role(&h.arn);
        }
        // Role missing or not collected: pod-identity-association reports it.
        HopTrust::NotEvaluable(_) => {}
    }
}

impl Rule for PodIdentityTrustRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        for c in chains(cx) {
            if let Some(first) = &c.first {
                check_hop(out, &c, first, false);
            }
            if let Some(t) = &c.target {
                check_hop(out, &c, t, true);
            }
        }
    }
}
