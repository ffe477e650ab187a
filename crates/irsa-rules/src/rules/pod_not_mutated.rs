//! IRSA402: pods of annotated ServiceAccounts carry what the webhook injects.

use crate::context::{Context, Out, SKIP_LABEL};
use crate::declare_rule;
use crate::finding::Subject;
use crate::fixes::recreate_pod;
use crate::messages::Message;
use crate::registry::Rule;
use crate::rules::pod_helpers::*;
use irsa_model::ExecEvidence;

declare_rule!(PodNotMutated, code: "IRSA402", name: "pod-not-mutated", cause: PodNotMutated, severity: Error,
    summary: "Pods of annotated ServiceAccounts have AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and the aws-iam-token volume.",
    doc: include_str!("pod_not_mutated.md"));

impl Rule for PodNotMutated {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        for i in &cx.irsa {
            let mut ok = 0usize;
            for p in cx.pods_of_irsa(i) {
                if p.labels.contains_key(SKIP_LABEL) {
                    continue; // the webhook rule names the label
                }
                let skipped = skipped_containers(p);
                let containers: Vec<_> = mutated_containers(p, &skipped).collect();
                if containers.iter().any(|c| has_pod_identity_env(c)) {
                    continue; // Pod Identity took precedence: credential-precedence names it
                }
                // Exactly one of the pair means a preset variable: env-preset-conflict names it.
                if containers
                    .iter()
                    .any(|c| c.env(ROLE_ENV).is_some() != c.env(TOKEN_ENV).is_some())
                {
                    continue;
                }
                let exec_lacks = cx.snap.exec.iter().any(|e| {
                    e.namespace == p.namespace
                        && e.pod == p.name
                        && matches!(&e.evidence, ExecEvidence::Env(m) if !m.contains_key(ROLE_ENV))
                });
                let missing_containers: Vec<&str> = containers
                    .iter()
                    .filter(|c| !has_pair(c))
                    .map(|c| c.name.as_str())
                    .collect();
                let volume = has_token_volume(&p.spec);
                if missing_containers.is_empty() && volume && !exec_lacks {
                    ok += 1;
                    continue;
                }
                let mut missing = Vec::new();
                if !missing_containers.is_empty() {
                    missing.push(format!(
                        "AWS_ROLE_ARN/AWS_WEB_IDENTITY_TOKEN_FILE in container(s) {}",
                        missing_containers.join(", ")
                    ));
                }
                if !volume {
                    missing.push("aws-iam-token volume".to_string());
                }
                if exec_lacks && missing.is_empty() {
                    missing.push("AWS_ROLE_ARN in `kubectl exec … env` output".to_string());
                }
                let reason = match (&p.created, &i.sa.created) {
                    (Some(pc), Some(sc)) if pc < sc => format!(" (created at {pc}, before the ServiceAccount existed at {sc})"),
                    _ if containers.len() > missing_containers.len() && !missing_containers.is_empty() => {
                        " (other containers were mutated: these were added after the webhook ran or are listed in skip-containers)".to_string()
                    }
                    _ => " (created before the annotation was added, or the webhook did not see it)".to_string(),
                };
                out.report(
                    &Self::META,
                    Subject::namespaced("Pod", &p.namespace, &p.name),
                    Message::new("pod-not-mutated")
                        .arg("namespace", &p.namespace)
                        .arg("pod", &p.name)
                        .arg("sa", &i.sa.name)
                        .arg("missing", missing.join(" and "))
                        .arg("reason", reason),
                )
                .role(i.role_text())
                .fix(recreate_pod(cx, p));
            }
            if ok > 0 {
                out.pass(
                    &Self::META,
                    i.subject(),
                    Message::new("pod-mutated-ok")
                        .arg("count", ok.to_string())
                        .arg("sa", format!("{}/{}", i.sa.namespace, i.sa.name)),
                );
            }
        }
    }
}
