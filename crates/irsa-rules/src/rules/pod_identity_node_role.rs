//! IRSA608: the IAM role of the node under every pod that uses EKS Pod Identity allows
//! `eks-auth:AssumeRoleForPodIdentity`, the call the eks-pod-identity-agent makes with it.
//! Decided with the policy engine (three-valued: undetermined is "not checked", never a
//! pass); each distinct node role once, whatever the number of pods or nodes.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Cause, Fix, Severity, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::node_role::{node_links, with_commands, RoleCheck, RoleOrigin};
use crate::pod_identity::{association_of, pod_injected};
use crate::registry::Rule;
use irsa_model::Pod;
use std::collections::BTreeMap;

declare_rule!(PodIdentityNodeRole, code: "IRSA608", name: "pod-identity-node-role", cause: PodIdentityAgent, severity: Error,
    summary: "The IAM role of the node under every pod that uses EKS Pod Identity allows eks-auth:AssumeRoleForPodIdentity (the agent's call).",
    doc: include_str!("pod_identity_node_role.md"));

/// What the SDK in the pod prints when EKS Auth refuses the agent: the agent answers
/// with `[request-id]: (Code): message, fault: client` (aws/eks-pod-identity-agent
/// `pkg/errors/errors.go`, `HandleCredentialFetchingError`), the code being EKS Auth's
/// `AccessDeniedException` (API reference, AssumeRoleForPodIdentity, Errors). EKS Auth's
/// own message for a node role without the permission is not verified [UNV: IAM's usual
/// wording is "… is not authorized to perform: eks-auth:AssumeRoleForPodIdentity on
/// resource: <cluster ARN> …"], so the prediction names it without quoting it.
pub const NODE_ROLE_DENIED: &str =
    "(AccessDeniedException): <EKS Auth's message: the node role may not call eks-auth:AssumeRoleForPodIdentity>, fault: client";

/// The statement AWS documents for the node role (pod-id-agent-setup, Agent prerequisites).
const INLINE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["eks-auth:AssumeRoleForPodIdentity"],"Resource":"*"}]}"#;

/// The pods that use (or should use) EKS Pod Identity: an association for their
/// ServiceAccount, or the webhook's variables.
pub fn pod_identity_pods<'a>(cx: &Context<'a>) -> Vec<&'a Pod> {
    cx.pods_in_scope()
        .filter(|p| {
            pod_injected(p)
                || association_of(cx, &p.namespace, p.spec.effective_service_account()).is_some()
        })
        .collect()
}

/// The pods on one node (of one namespace) whose node role is unknown, why, and the
/// commands that tell.
type NodeGap<'p, 's> = (Vec<&'p Pod>, &'s str, &'s [String]);

fn pods_text(pods: &[&Pod]) -> String {
    let mut names: Vec<String> = pods
        .iter()
        .map(|p| format!("{}/{}", p.namespace, p.name))
        .collect();
    names.sort();
    names.dedup();
    let n = names.len();
    if n > 3 {
        format!("{} and {} more", names[..3].join(", "), n - 3)
    } else {
        names.join(", ")
    }
}

impl Rule for PodIdentityNodeRole {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let pods = pod_identity_pods(cx);
        if pods.is_empty() {
            return;
        }
        let links = node_links(cx, &pods);
        for (arn, (origins, check, on)) in &links.roles {
            let subject = Subject::global("Role", arn);
            let from = origins
                .iter()
                .map(RoleOrigin::text)
                .collect::<Vec<_>>()
                .join(", ");
            let name = arn.rsplit('/').next().unwrap_or(arn);
            let partition = arn.split(':').nth(1).unwrap_or("aws");
            let account = arn.split(':').nth(4).unwrap_or("");
            match check {
                RoleCheck::Allowed { by, documented } => out.pass(
                    &Self::META,
                    subject,
                    Message::new("pi-node-role-ok")
                        .arg("role", arn)
                        .arg("origin", &from)
                        .arg("by", by)
                        .arg(
                            "documented",
                            documented
                                .as_ref()
                                .map(|s| format!(" (its document was not collected: the version AWS documents was used, {s})"))
                                .unwrap_or_default(),
                        ),
                ),
                RoleCheck::Denied { why } => {
                    // Auto Mode's node role is documented with the minimal policy; node
                    // groups with AmazonEKSWorkerNodePolicy (create-node-role.html).
                    let policy = if origins.contains(&RoleOrigin::AutoMode) {
                        "AmazonEKSWorkerNodeMinimalPolicy"
                    } else {
                        "AmazonEKSWorkerNodePolicy"
                    };
                    out.report(
                        &Self::META,
                        subject,
                        Message::new("pi-node-role-denied")
                            .arg("role", arn)
                            .arg("origin", &from)
                            .arg("why", why)
                            .arg("count", on.len().to_string())
                            .arg("pods", pods_text(on)),
                    )
                    .role(arn)
                    .predicts(NODE_ROLE_DENIED)
                    .fix(Fix::command(
                        format!("attach the AWS managed policy {policy} to node role {name} (with credentials of account {account})"),
                        format!(
                            "aws iam attach-role-policy --role-name {} --policy-arn arn:{partition}:iam::aws:policy/{policy}",
                            sh(name)
                        ),
                    ))
                    .fix(Fix::command(
                        format!("or add the statement AWS documents as an inline policy of {name} (account {account})"),
                        format!(
                            "aws iam put-role-policy --role-name {} --policy-name eks-pod-identity-agent --policy-document {}",
                            sh(name),
                            sh(INLINE)
                        ),
                    ));
                }
                RoleCheck::Unknown { why, add } => {
                    let f = out.report(
                        &Self::META,
                        subject,
                        Message::new("gap-pi-node-role")
                            .arg("role", arn)
                            .arg("origin", &from)
                            .arg("why", with_commands(why, add)),
                    );
                    f.cause = Cause::CollectionGap;
                    f.severity(Severity::Warning).role(arn);
                }
            }
        }
        // Unknown node roles: what tells is per node; one gap per node and namespace, on
        // the first of its pods there (the report's subjects are pods, not nodes; per
        // namespace, so the controller's per-namespace evaluations say the same).
        let mut by_node: BTreeMap<(&str, &str), NodeGap<'_, '_>> = BTreeMap::new();
        for (p, why, add) in &links.unknown {
            let node = p.spec.node_name.as_deref().unwrap_or_default();
            by_node
                .entry((node, p.namespace.as_str()))
                .or_insert_with(|| (Vec::new(), why.as_str(), add.as_slice()))
                .0
                .push(p);
        }
        for ((node, _), (on, why, add)) in by_node {
            let first = on[0];
            let f = out.report(
                &Self::META,
                Subject::namespaced("Pod", &first.namespace, &first.name),
                Message::new("gap-pi-node")
                    .arg("node", node)
                    .arg("pods", pods_text(&on))
                    .arg("why", with_commands(why, add)),
            );
            f.cause = Cause::CollectionGap;
            f.severity(Severity::Warning);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_statement_parses_and_allows_the_action() {
        let doc = irsa_policy::PolicyDocument::parse(super::INLINE).unwrap();
        let named = [irsa_policy::NamedPolicy {
            name: "inline",
            document: &doc,
        }];
        let set = irsa_policy::IdentityPolicies {
            policies: named.to_vec(),
            not_collected: vec![],
            boundary: irsa_policy::Boundary::None,
        };
        let d =
            irsa_policy::IdentityEvaluator::new(&set).evaluate(&irsa_policy::IdentityRequest::new(
                crate::node_role::ACTION,
                "arn:aws:eks:us-east-1:111122223333:cluster/c",
            ));
        assert!(d.is_allowed(), "{d:?}");
    }
}
