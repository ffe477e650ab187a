//! IRSA102: the role has permission policies (and the usual one for known controllers).

use crate::context::{Context, Out, RoleState};
use crate::declare_rule;
use crate::finding::{Cause, Fix, Severity, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::registry::Rule;
use std::collections::BTreeSet;

declare_rule!(RolePermissionsRule, code: "IRSA102", name: "role-permissions", cause: RolePermissions, severity: Warning,
    summary: "The role has permission policies; known controllers have their usual one.",
    doc: include_str!("role_permissions.md"));

const CONTROLLERS: [(&str, &str, &str); 6] = [
    (
        "aws-load-balancer-controller",
        "AWS Load Balancer Controller",
        "AWSLoadBalancerControllerIAMPolicy",
    ),
    (
        "ebs-csi-controller-sa",
        "the EBS CSI driver",
        "AmazonEBSCSIDriverPolicy",
    ),
    (
        "efs-csi-controller-sa",
        "the EFS CSI driver",
        "AmazonEFSCSIDriverPolicy",
    ),
    ("aws-node", "the VPC CNI", "AmazonEKS_CNI_Policy"),
    ("external-dns", "external-dns", "Route53"),
    ("cluster-autoscaler", "cluster-autoscaler", "Autoscaling"),
];

/// AWS-managed policies of well-known controllers, in the role's partition.
fn managed_policy(service_account: &str, role_arn: &str) -> Option<String> {
    let partition = role_arn.split(':').nth(1).unwrap_or("aws");
    let path = match service_account {
        "ebs-csi-controller-sa" => "service-role/AmazonEBSCSIDriverPolicy",
        "efs-csi-controller-sa" => "service-role/AmazonEFSCSIDriverPolicy",
        "aws-node" => "AmazonEKS_CNI_Policy",
        _ => return None,
    };
    Some(format!("arn:{partition}:iam::aws:policy/{path}"))
}

impl Rule for RolePermissionsRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let mut seen = BTreeSet::new();
        for i in &cx.irsa {
            let RoleState::Found(r) = &i.role else {
                continue;
            };
            let subject = Subject::global("Role", &r.arn);
            let (Some(attached), Some(inline)) = (&r.attached_policies, &r.inline_policies) else {
                if seen.insert(r.arn.clone()) {
                    let f = out.report(
                        &Self::META,
                        subject,
                        Message::new("gap-role-policies")
                            .arg("role", &r.arn)
                            .arg("name", sh(&r.name)),
                    );
                    f.cause = Cause::CollectionGap;
                    f.severity(Severity::Info).role(&r.arn);
                }
                continue;
            };
            let names: Vec<String> = attached
                .iter()
                .map(|p| p.name.clone())
                .chain(inline.iter().cloned())
                .collect();
            if names.is_empty() {
                if seen.insert(r.arn.clone()) {
                    out.report(
                        &Self::META,
                        subject,
                        Message::new("role-no-policies").arg("role", &r.arn),
                    )
                    .role(&r.arn)
                    .fix(match managed_policy(&i.sa.name, &r.arn) {
                        Some(policy) => Fix::command(
                            format!("attach {policy}, the AWS-managed policy this controller uses"),
                            format!("aws iam attach-role-policy --role-name {} --policy-arn {policy}", sh(&r.name)),
                        ),
                        None => Fix::advice(format!(
                            "attach the policy the workload needs: aws iam attach-role-policy --role-name {} --policy-arn <its ARN>",
                            sh(&r.name)
                        )),
                    });
                }
                continue;
            }
            if let Some((_, controller, expected)) =
                CONTROLLERS.iter().find(|(sa, ..)| *sa == i.sa.name)
            {
                let lower = expected.to_lowercase();
                if !names.iter().any(|n| n.to_lowercase().contains(&lower)) {
                    out.report(
                        &Self::META,
                        i.subject(),
                        Message::new("role-controller-policy")
                            .arg("role", &r.arn)
                            .arg("controller", *controller)
                            .arg("expected", *expected)
                            .arg("policies", names.join(", ")),
                    )
                    .severity(Severity::Info)
                    .role(&r.arn);
                    continue;
                }
            }
            if seen.insert(r.arn.clone()) {
                out.pass(
                    &Self::META,
                    subject,
                    Message::new("role-policies-ok")
                        .arg("role", &r.arn)
                        .arg("policies", names.join(", ")),
                );
            }
        }
    }
}
