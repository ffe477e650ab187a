//! IRSA401: workloads run as the ServiceAccount that carries the role.

use crate::context::{Context, Out, ROLE_ANNOTATION};
use crate::declare_rule;
use crate::finding::{Fix, Severity, Subject};
use crate::fixes::{patch_template, sh};
use crate::messages::Message;
use crate::registry::Rule;
use serde_json::json;
use std::collections::BTreeSet;

declare_rule!(PodServiceAccountRule, code: "IRSA401", name: "pod-service-account", cause: PodServiceAccount, severity: Warning,
    summary: "Workloads run as the annotated ServiceAccount meant for them, not `default` or another.",
    doc: include_str!("pod_service_account.md"));

/// Annotated ServiceAccounts of a namespace that nothing runs as.
fn unused_annotated<'a>(
    snap: &'a irsa_model::Snapshot,
    namespace: &str,
    used: &BTreeSet<(String, String)>,
) -> Vec<&'a irsa_model::ServiceAccount> {
    snap.service_accounts_in(namespace)
        .filter(|sa| sa.annotations.contains_key(ROLE_ANNOTATION))
        .filter(|sa| !used.contains(&(sa.namespace.clone(), sa.name.clone())))
        .collect()
}

impl Rule for PodServiceAccountRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let snap = cx.snap;
        // Used = run by a top-level workload or by a pod (an old ReplicaSet left by a
        // Deployment change still names the previous ServiceAccount: it does not count).
        let used: BTreeSet<(String, String)> = snap
            .workloads
            .iter()
            .filter(|w| w.owner.is_none())
            .map(|w| {
                (
                    w.namespace.clone(),
                    w.template.effective_service_account().to_string(),
                )
            })
            .chain(snap.pods.iter().map(|p| {
                (
                    p.namespace.clone(),
                    p.spec.effective_service_account().to_string(),
                )
            }))
            .collect();
        for w in cx.workloads_in_scope().filter(|w| w.owner.is_none()) {
            let actual = w.template.effective_service_account();
            if snap
                .service_account(&w.namespace, actual)
                .is_some_and(|sa| sa.annotations.contains_key(ROLE_ANNOTATION))
            {
                continue;
            }
            let unused = unused_annotated(snap, &w.namespace, &used);
            let Some(target) = unused
                .iter()
                .find(|sa| {
                    sa.name == w.name
                        || w.name.starts_with(&sa.name)
                        || sa.name.starts_with(&w.name)
                })
                .or(if unused.len() == 1 {
                    unused.first()
                } else {
                    None
                })
            else {
                continue;
            };
            let strong = target.name == w.name
                || w.name.starts_with(&target.name)
                || target.name.starts_with(&w.name);
            let role = target
                .annotations
                .get(ROLE_ANNOTATION)
                .cloned()
                .unwrap_or_default();
            out.report(
                &Self::META,
                Subject::namespaced(w.kind.name(), &w.namespace, &w.name),
                Message::new("pod-sa-unannotated-sibling")
                    .arg("kind", w.kind.name())
                    .arg("namespace", &w.namespace)
                    .arg("workload", &w.name)
                    .arg("actual", actual)
                    .arg("annotated", &target.name)
                    .arg("role", &role),
            )
            .severity(if strong {
                Severity::Error
            } else {
                Severity::Warning
            })
            .role(role)
            .fix(Fix::command(
                format!(
                    "run {} {} as ServiceAccount {}",
                    w.kind.name(),
                    w.name,
                    target.name
                ),
                patch_template(w, json!({"serviceAccountName": target.name})),
            ));
        }
        for p in cx.pods_in_scope().filter(|p| p.owner.is_none()) {
            let actual = p.spec.effective_service_account();
            if snap
                .service_account(&p.namespace, actual)
                .is_some_and(|sa| sa.annotations.contains_key(ROLE_ANNOTATION))
            {
                continue;
            }
            let unused = unused_annotated(snap, &p.namespace, &used);
            if unused.len() == 1 {
                let target = unused[0];
                out.report(
                    &Self::META,
                    Subject::namespaced("Pod", &p.namespace, &p.name),
                    Message::new("pod-sa-unannotated-sibling")
                        .arg("kind", "Pod")
                        .arg("namespace", &p.namespace)
                        .arg("workload", &p.name)
                        .arg("actual", actual)
                        .arg("annotated", &target.name)
                        .arg("role", target.annotations.get(ROLE_ANNOTATION).cloned().unwrap_or_default()),
                )
                .fix(Fix::advice(format!(
                    "set `serviceAccountName: {}` in the pod's manifest, then: kubectl delete pod {} -n {} && kubectl apply -f <manifest>",
                    target.name,
                    sh(&p.name),
                    sh(&p.namespace)
                )));
            }
        }
    }
}
