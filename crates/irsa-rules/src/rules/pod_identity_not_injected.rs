//! IRSA605: every pod of a ServiceAccount with an EKS Pod Identity association got the
//! Pod Identity variables, and runs on compute where Pod Identity works.

use crate::context::{Context, Out, SKIP_LABEL};
use crate::declare_rule;
use crate::finding::{Fix, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::pod_identity::{association_of, pod_compute, pod_injected};
use crate::registry::Rule;
use irsa_model::pod_identity::{epoch_seconds, Compute};
use irsa_model::{Pod, WorkloadKind};
use std::collections::BTreeSet;

declare_rule!(PodIdentityNotInjected, code: "IRSA605", name: "pod-identity-not-injected", cause: PodIdentityNotInjected, severity: Error,
    summary: "Pods of a ServiceAccount with an EKS Pod Identity association carry AWS_CONTAINER_CREDENTIALS_FULL_URI and run on Linux EC2 nodes.",
    doc: include_str!("pod_identity_not_injected.md"));

/// The command that re-creates a pod so the webhook sees it again.
pub fn recreate(cx: &Context<'_>, p: &Pod) -> Fix {
    match cx.snap.controller_of(p) {
        Some((k @ (WorkloadKind::Deployment | WorkloadKind::StatefulSet | WorkloadKind::DaemonSet), n)) => {
            Fix::command(
                "re-create the pods so the webhook injects the Pod Identity variables (it mutates pods only when they are created)",
                format!(
                    "kubectl rollout restart {}/{} -n {}",
                    k.name().to_lowercase(),
                    sh(n),
                    sh(&p.namespace)
                ),
            )
        }
        _ => Fix::command(
            "re-create the pod so the webhook injects the Pod Identity variables (it mutates pods only when they are created)",
            format!("kubectl delete pod {} -n {}", sh(&p.name), sh(&p.namespace)),
        ),
    }
}

impl Rule for PodIdentityNotInjected {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let mut ok: BTreeSet<(String, String)> = BTreeSet::new();
        let mut broken: BTreeSet<(String, String)> = BTreeSet::new();
        for p in cx.pods_in_scope() {
            let sa = p.spec.effective_service_account();
            let Some(a) = association_of(cx, &p.namespace, sa) else {
                continue;
            };
            let key = (p.namespace.to_string(), sa.to_string());
            // EKS Pod Identity runs on Linux EC2 nodes only: not on Fargate, not on
            // Windows (https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html#pod-id-considerations).
            let unsupported = match pod_compute(cx, p) {
                Some(Compute::Fargate) => Some("AWS Fargate"),
                Some(Compute::Windows) => Some("a Windows node"),
                _ => None,
            };
            if let Some(compute) = unsupported {
                broken.insert(key);
                out.report(
                    &Self::META,
                    Subject::namespaced("Pod", &p.namespace, &p.name),
                    Message::new("pi-unsupported-compute")
                        .arg("namespace", &p.namespace)
                        .arg("pod", &p.name)
                        .arg("sa", sa)
                        .arg("compute", compute),
                )
                .role(a.effective_role().unwrap_or_default())
                .fix(Fix::command(
                    "use IRSA for pods on this compute: annotate the ServiceAccount with the role (its trust policy then needs a web identity statement for this cluster's OIDC provider)",
                    format!(
                        "kubectl annotate serviceaccount {} -n {} eks.amazonaws.com/role-arn={}",
                        sh(sa),
                        sh(&p.namespace),
                        sh(a.effective_role().unwrap_or("<role-arn>"))
                    ),
                ));
                continue;
            }
            if pod_injected(p) {
                ok.insert(key);
                continue;
            }
            broken.insert(key);
            let created_before = match (
                p.created.as_deref().and_then(epoch_seconds),
                a.created_at.as_deref().and_then(epoch_seconds),
            ) {
                (Some(pc), Some(ac)) => Some(pc < ac),
                _ => None,
            };
            let irsa_role = p
                .spec
                .all_containers()
                .find_map(|c| c.env("AWS_ROLE_ARN").and_then(|e| e.value.clone()));
            let why = if p.labels.contains_key(SKIP_LABEL) {
                format!(": it carries label `{SKIP_LABEL}`, so the webhook never sees it")
            } else if created_before == Some(true) {
                format!(
                    ": it was created ({}) before the association ({}), and the webhook injects only when a pod is created{}",
                    p.created.clone().unwrap_or_default(),
                    a.created_at.clone().unwrap_or_default(),
                    irsa_role
                        .as_deref()
                        .map(|r| format!("; it still runs with IRSA ({r})"))
                        .unwrap_or_else(|| "; it falls back to the node's role".into())
                )
            } else {
                format!(
                    ": the webhook did not inject it (created before the association, or while it was being propagated, or the webhook was unavailable: its failurePolicy is Ignore){}",
                    irsa_role
                        .as_deref()
                        .map(|r| format!("; it still runs with IRSA ({r})"))
                        .unwrap_or_else(|| "; it falls back to the node's role".into())
                )
            };
            let f = out.report(
                &Self::META,
                Subject::namespaced("Pod", &p.namespace, &p.name),
                Message::new("pi-not-injected")
                    .arg("namespace", &p.namespace)
                    .arg("pod", &p.name)
                    .arg("sa", sa)
                    .arg("why", why),
            );
            f.role(a.effective_role().unwrap_or_default());
            if p.labels.contains_key(SKIP_LABEL) {
                f.fix(Fix::advice(format!(
                    "remove label {SKIP_LABEL} from the pod template, then re-create the pods"
                )));
            } else {
                f.fix(recreate(cx, p));
            }
        }
        for (ns, name) in ok.difference(&broken) {
            out.pass(
                &Self::META,
                Subject::namespaced("ServiceAccount", ns, name),
                Message::new("pi-injected-ok")
                    .arg("namespace", ns)
                    .arg("name", name),
            );
        }
    }
}
