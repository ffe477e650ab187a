//! IRSA601: each EKS Pod Identity association in scope names a ServiceAccount that
//! exists and a role that exists, in the cluster's account (or uses a target role).

use crate::context::{Context, Out, RoleState};
use crate::declare_rule;
use crate::finding::{Cause, Fix, Severity, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::pod_identity::{Hop, PiChain, ACCESS_DENIED};
use crate::registry::Rule;

declare_rule!(PodIdentityAssociationRule, code: "IRSA601", name: "pod-identity-association", cause: PodIdentityAssociation, severity: Error,
    summary: "Each EKS Pod Identity association names an existing ServiceAccount and an existing role of the cluster's account.",
    doc: include_str!("pod_identity_association.md"));

fn check_hop(cx: &Context<'_>, out: &mut Out, c: &PiChain<'_>, h: &Hop<'_>) {
    let a = c.assoc;
    let base = |id: &'static str| {
        Message::new(id)
            .arg("id", c.id())
            .arg("namespace", &a.namespace)
            .arg("name", &a.service_account)
            .arg("role", &h.arn)
    };
    let parsed = match &h.parsed {
        Ok(p) => p,
        Err(e) => {
            out.report(
                &PodIdentityAssociationRule::META,
                c.subject(),
                base("pi-role-arn-invalid").arg("error", e),
            )
            .role(&h.arn)
            .fix(Fix::command(
                "point the association at an existing role",
                format!(
                    "aws eks update-pod-identity-association {} --association-id {} --role-arn arn:aws:iam::<account>:role/<role>",
                    c.cluster_args(cx),
                    sh(&c.id())
                ),
            ));
            return;
        }
    };
    match &h.role {
        RoleState::Found(_) => {}
        RoleState::NotFound(why) => {
            out.report(
                &PodIdentityAssociationRule::META,
                c.subject(),
                base("pi-role-not-found").arg("evidence", format!(" ({why})")),
            )
            .role(&h.arn)
            .predicts(ACCESS_DENIED)
            .fix(Fix::command(
                "create the role with the trust policy EKS Pod Identity needs (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html), or point the association at an existing role",
                crate::rules::pod_identity_trust::policy_file_command(
                    "create-role",
                    "assume-role-policy-document",
                    &parsed.name,
                    &crate::rules::pod_identity_trust::documented_trust(&a.namespace, &a.service_account),
                ),
            ));
        }
        RoleState::NotCollected => {
            let f = out.report(
                &PodIdentityAssociationRule::META,
                Subject::global("Role", &h.arn),
                base("gap-pi-role").arg("name_arg", sh(&parsed.name)),
            );
            f.cause = Cause::CollectionGap;
            f.severity(Severity::Warning).role(&h.arn);
        }
    }
}

impl Rule for PodIdentityAssociationRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        for c in cx.pod_identity_chains() {
            let a = c.assoc;
            // The ServiceAccount: absent only when its namespace's ServiceAccounts were listed.
            let sa_exists = cx
                .snap
                .service_account(&a.namespace, &a.service_account)
                .is_some()
                || cx
                    .inferred_service_accounts()
                    .iter()
                    .any(|s| s.namespace == a.namespace && s.name == a.service_account)
                || cx
                    .pods_of_sa(&a.namespace, &a.service_account)
                    .next()
                    .is_some();
            if !sa_exists && cx.snap.coverage.service_accounts.covers(&a.namespace) {
                out.report(
                    &Self::META,
                    c.subject(),
                    Message::new("pi-sa-absent")
                        .arg("id", c.id())
                        .arg("namespace", &a.namespace)
                        .arg("name", &a.service_account)
                        .arg("role", c.role_text()),
                )
                .severity(Severity::Warning)
                .role(c.role_text())
                .fix(Fix::command(
                    "create the ServiceAccount the association names (then run the workload as it), or delete the stale association",
                    format!(
                        "kubectl create serviceaccount {} -n {}\n# or: aws eks delete-pod-identity-association {} --association-id {}",
                        sh(&a.service_account),
                        sh(&a.namespace),
                        c.cluster_args(cx),
                        sh(&c.id())
                    ),
                ));
            }
            let Some(first) = &c.first else {
                let f = out.report(
                    &Self::META,
                    c.subject(),
                    Message::new("gap-pi-described")
                        .arg("id", c.id())
                        .arg("namespace", &a.namespace)
                        .arg("name", &a.service_account)
                        .arg("cluster_args", c.cluster_args(cx)),
                );
                f.cause = Cause::CollectionGap;
                f.severity(Severity::Warning);
                continue;
            };
            check_hop(cx, out, c, first);
            if let Some(t) = &c.target {
                check_hop(cx, out, c, t);
            }
            // A role of another account needs a target role: the association role must be
            // in the cluster's account (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-assign-target-role.html;
            // facts §1.6 "The role must be in the same account as the cluster").
            if let (Ok(r), Some(account), None) =
                (&first.parsed, cx.cluster.account.as_deref(), &c.target)
            {
                if r.account != account {
                    out.report(
                        &Self::META,
                        c.subject(),
                        Message::new("pi-cross-account")
                            .arg("id", c.id())
                            .arg("namespace", &a.namespace)
                            .arg("name", &a.service_account)
                            .arg("role", &first.arn)
                            .arg("role_account", &r.account)
                            .arg("account", account),
                    )
                    .role(&first.arn)
                    .predicts(ACCESS_DENIED)
                    .fix(Fix::command(
                        "use a role of the cluster's account as the association role and the other account's role as the target role (its trust must allow the association role)",
                        format!(
                            "aws eks update-pod-identity-association {} --association-id {} --role-arn arn:aws:iam::{account}:role/<role-in-cluster-account> --target-role-arn {}",
                            c.cluster_args(cx),
                            sh(&c.id()),
                            sh(&first.arn)
                        ),
                    ));
                }
            }
            if matches!(first.role, RoleState::Found(_)) {
                out.pass(
                    &Self::META,
                    c.subject(),
                    Message::new("pi-association-ok")
                        .arg("id", c.id())
                        .arg("namespace", &a.namespace)
                        .arg("name", &a.service_account)
                        .arg("role", c.role_text()),
                );
            }
        }
    }
}
