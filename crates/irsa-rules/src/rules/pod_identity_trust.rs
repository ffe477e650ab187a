//! IRSA602: the association role's trust policy allows `sts:AssumeRole` and
//! `sts:TagSession` for the service principal `pods.eks.amazonaws.com` with the session
//! tags EKS sends, and a target role's trust allows the association role (with the
//! association's external id), decided by the policy engine.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Cause, Fix, Severity, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::pod_identity::{Hop, HopTrust, PiChain, ACCESS_DENIED};
use crate::registry::Rule;
use irsa_policy::condition::Tri;
use irsa_policy::evaluate::Evaluation;
use irsa_policy::pod_identity::{evaluate_pod_identity, Caller, PodIdentityRequest};
use irsa_policy::{Decision, Effect, PolicyDocument};
use serde_json::{json, Value};

declare_rule!(PodIdentityTrustRule, code: "IRSA602", name: "pod-identity-trust", cause: PodIdentityTrust, severity: Error,
    summary: "The association role trusts pods.eks.amazonaws.com (sts:AssumeRole, sts:TagSession) for this ServiceAccount; a target role trusts the association role.",
    doc: include_str!("pod_identity_trust.md"));

/// The statement EKS documents for Pod Identity
/// (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html), scoped to one
/// namespace/ServiceAccount with the session tags the same page shows.
pub fn documented_statement(namespace: &str, sa: &str) -> Value {
    json!({
        "Sid": "AllowEksAuthToAssumeRoleForPodIdentity",
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {
            "aws:RequestTag/kubernetes-namespace": namespace,
            "aws:RequestTag/kubernetes-service-account": sa
        }}
    })
}

/// A whole trust policy holding only the documented statement (a role to create).
pub fn documented_trust(namespace: &str, sa: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [documented_statement(namespace, sa)]})
}

/// The statement a target role needs (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-assign-target-role.html).
pub fn target_statement(source_role: &str, external_id: Option<&str>) -> Value {
    let mut st = json!({
        "Effect": "Allow",
        "Principal": {"AWS": source_role},
        "Action": ["sts:AssumeRole", "sts:TagSession"]
    });
    if let Some(e) = external_id {
        st["Condition"] = json!({"StringEquals": {"sts:ExternalId": e}});
    }
    st
}

/// `cat > FILE <<'EOF' … EOF` then `aws iam VERB --role-name NAME --FLAG file://FILE`:
/// the document stays out of the command line (no quoting, and the account guard sees
/// the command's own target, not an ARN inside the policy).
pub fn policy_file_command(verb: &str, flag: &str, role_name: &str, doc: &Value) -> String {
    let file = format!("trust-{role_name}.json");
    let pretty = serde_json::to_string_pretty(doc).unwrap_or_default();
    format!(
        "cat > {file} <<'EOF'\n{pretty}\nEOF\naws iam {verb} --role-name {} --{flag} file://{file}",
        sh(role_name)
    )
}

/// The role's trust policy with `statement` added (every other statement kept: an IRSA
/// statement for other clusters keeps working), if the policy engine then allows the
/// request; `None` when an explicit Deny applies (adding cannot help) or it still denies.
fn corrected(
    doc: &PolicyDocument,
    request: &PodIdentityRequest,
    statement: Value,
) -> Option<Value> {
    let mut fixed = doc.raw_value();
    match fixed.get_mut("Statement") {
        Some(Value::Array(a)) => a.push(statement),
        Some(single @ Value::Object(_)) => {
            let first = single.take();
            *single = Value::Array(vec![first, statement]);
        }
        _ => fixed["Statement"] = Value::Array(vec![statement]),
    }
    let verified = PolicyDocument::from_value(fixed.clone())
        .map(|d| evaluate_pod_identity(&d, request).allows())
        .unwrap_or(false);
    verified.then_some(fixed)
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

/// The request of one hop, as [`crate::pod_identity`] decides it.
fn request_of(cx: &Context<'_>, c: &PiChain<'_>, target: bool) -> PodIdentityRequest {
    let a = c.assoc;
    let caller = if target {
        Caller::Role(a.role_arn.clone().unwrap_or_default())
    } else {
        Caller::PodIdentityService
    };
    crate::pod_identity::request(cx, a, caller, a.session_tags())
}

fn check_hop(cx: &Context<'_>, out: &mut Out, c: &PiChain<'_>, h: &Hop<'_>, target: bool) {
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
            let statement = if target {
                target_statement(
                    a.role_arn.as_deref().unwrap_or_default(),
                    a.external_id.as_deref(),
                )
            } else {
                documented_statement(&a.namespace, &a.service_account)
            };
            let request = request_of(cx, c, target);
            let fixed = match (&h.role, &e.decision) {
                (_, Decision::ExplicitDeny { .. }) => None,
                (crate::context::RoleState::Found(r), _) => match &r.trust {
                    Some(Ok(doc)) => corrected(doc, &request, statement),
                    _ => None,
                },
                _ => None,
            };
            let fix = match (fixed, &e.decision) {
                (Some(doc), _) => Fix::command(
                    format!(
                        "add a statement for EKS Pod Identity ({}) to the trust policy of {} (other statements kept); verified: the corrected policy allows it",
                        if target { "the association role, with its external id" } else { "this namespace and ServiceAccount" },
                        h.name()
                    ),
                    policy_file_command("update-assume-role-policy", "policy-document", &h.name(), &doc),
                ),
                (None, Decision::ExplicitDeny { statement }) => Fix::advice(format!(
                    "remove or narrow statement {statement} (Deny) of the trust policy of {}: no Allow can override an explicit Deny",
                    h.name()
                )),
                (None, _) => Fix::advice(format!(
                    "allow {} for the service principal pods.eks.amazonaws.com in the trust policy of {} (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html)",
                    action,
                    h.name()
                )),
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
        for c in cx.pod_identity_chains() {
            if let Some(first) = &c.first {
                check_hop(cx, out, c, first, false);
            }
            if let Some(t) = &c.target {
                check_hop(cx, out, c, t, true);
            }
        }
    }
}
