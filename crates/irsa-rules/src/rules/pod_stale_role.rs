//! IRSA403: pods were injected with the role the ServiceAccount names now.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Subject;
use crate::fixes::recreate_pod;
use crate::messages::Message;
use crate::registry::Rule;
use crate::rules::pod_helpers::ROLE_ENV;
use irsa_model::ExecEvidence;

declare_rule!(PodStaleRole, code: "IRSA403", name: "pod-stale-role", cause: PodStaleRole, severity: Error,
    summary: "The AWS_ROLE_ARN injected into pods equals the ServiceAccount's current annotation.",
    doc: include_str!("pod_stale_role.md"));

impl Rule for PodStaleRole {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        for i in &cx.irsa {
            let current = i.annotation;
            for p in cx.pods_of_irsa(i) {
                let preset_in_template = cx
                    .snap
                    .controller_of(p)
                    .and_then(|(k, n)| cx.snap.workload(k, &p.namespace, n))
                    .is_some_and(|w| {
                        w.template
                            .all_containers()
                            .any(|c| c.env(ROLE_ENV).is_some())
                    });
                if preset_in_template {
                    continue;
                }
                let from_spec = p
                    .spec
                    .all_containers()
                    .filter_map(|c| c.env(ROLE_ENV))
                    .find_map(|e| e.value.as_ref().map(|v| v.to_string()));
                let from_exec = cx.snap.exec.iter().find_map(|e| match &e.evidence {
                    ExecEvidence::Env(m) if e.namespace == p.namespace && e.pod == p.name => {
                        m.get(ROLE_ENV).cloned()
                    }
                    _ => None,
                });
                let Some(injected) = from_spec.or(from_exec) else {
                    continue;
                };
                if injected.as_str() == current.as_str() {
                    continue;
                }
                out.report(
                    &Self::META,
                    Subject::namespaced("Pod", &p.namespace, &p.name),
                    Message::new("pod-stale-role")
                        .arg("namespace", &p.namespace)
                        .arg("pod", &p.name)
                        .arg("injected", &injected)
                        .arg("sa", format!("{}/{}", i.sa.namespace, i.sa.name))
                        .arg("current", current),
                )
                .role(i.role_text())
                .fix(recreate_pod(cx, p));
            }
        }
    }
}
