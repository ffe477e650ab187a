//! IRSA406: nothing earlier in the SDK credential chain shadows IRSA.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Fix, Severity, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::registry::Rule;
use irsa_model::{ExecEvidence, PodSpec, REDACTED};

declare_rule!(CredentialPrecedenceRule, code: "IRSA406", name: "credential-precedence", cause: CredentialPrecedence, severity: Error,
    summary: "No static keys, credentials file or Pod Identity association shadows IRSA.",
    doc: include_str!("credential_precedence.md"));

fn check_spec(out: &mut Out, kind: &str, ns: &str, name: &str, spec: &PodSpec, role: &str) {
    for c in spec.all_containers() {
        let keys: Vec<&str> = [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ]
        .into_iter()
        .filter(|v| c.env(v).is_some())
        .collect();
        if !keys.is_empty() {
            let unset = keys
                .iter()
                .map(|k| format!("{k}-"))
                .collect::<Vec<_>>()
                .join(" ");
            let f = out.report(
                &CredentialPrecedenceRule::META,
                Subject::namespaced(kind, ns, name),
                Message::new("credential-static-keys")
                    .arg("container", &c.name)
                    .arg("kind", kind)
                    .arg("namespace", ns)
                    .arg("name", name)
                    .arg("vars", keys.join(", ")),
            );
            f.role(role);
            if kind == "Pod" {
                f.fix(Fix::advice(format!(
                    "remove {} from container {} in the pod's manifest and re-create it",
                    keys.join(", "),
                    c.name
                )));
            } else {
                f.fix(Fix::command(
                    "remove the static keys so the SDK reaches web identity",
                    format!(
                        "kubectl set env {}/{} -n {} -c {} {unset}",
                        kind.to_lowercase(),
                        sh(name),
                        sh(ns),
                        sh(&c.name)
                    ),
                ));
            }
        }
        for var in [
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_CONFIG_FILE",
            "AWS_PROFILE",
        ] {
            if let Some(e) = c.env(var) {
                out.report(
                    &CredentialPrecedenceRule::META,
                    Subject::namespaced(kind, ns, name),
                    Message::new("credential-file")
                        .arg("container", &c.name)
                        .arg("kind", kind)
                        .arg("namespace", ns)
                        .arg("name", name)
                        .arg("var", var)
                        .arg(
                            "value",
                            e.value
                                .clone()
                                .unwrap_or_else(|| "(from a reference)".into()),
                        ),
                )
                .severity(Severity::Warning)
                .role(role)
                .fix(Fix::advice(format!(
                    "make sure the file or profile holds no static keys, or unset {var}"
                )));
            }
        }
        for ef in c
            .env_from
            .iter()
            .filter(|e| e.kind == "secret" && e.prefix.is_none())
        {
            out.report(
                &CredentialPrecedenceRule::META,
                Subject::namespaced(kind, ns, name),
                Message::new("credential-env-from-secret")
                    .arg("container", &c.name)
                    .arg("kind", kind)
                    .arg("namespace", ns)
                    .arg("name", name)
                    .arg("secret", &ef.name),
            )
            .severity(Severity::Info)
            .role(role);
        }
    }
}

impl Rule for CredentialPrecedenceRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let role_of = |ns: &str, sa: &str| cx.role_annotation(ns, sa).map(str::to_string);
        for w in cx.workloads_in_scope().filter(|w| w.owner.is_none()) {
            if let Some(role) = role_of(&w.namespace, w.template.effective_service_account()) {
                check_spec(
                    out,
                    w.kind.name(),
                    &w.namespace,
                    &w.name,
                    &w.template,
                    &role,
                );
            }
        }
        // Bare pods, and pods whose workload is not in the snapshot: the pod is the evidence.
        for p in cx.pods_in_scope().filter(|p| {
            p.owner.is_none()
                || cx
                    .snap
                    .controller_of(p)
                    .and_then(|(k, n)| cx.snap.workload(k, &p.namespace, &n))
                    .is_none()
        }) {
            if let Some(role) = role_of(&p.namespace, p.spec.effective_service_account()) {
                check_spec(out, "Pod", &p.namespace, &p.name, &p.spec, &role);
            }
        }
        for e in &cx.snap.exec {
            let ExecEvidence::Env(m) = &e.evidence else {
                continue;
            };
            let keys: Vec<&str> = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
                .into_iter()
                .filter(|k| m.contains_key(*k))
                .collect();
            if keys.is_empty() || !cx.scope.namespace_in(&e.namespace) {
                continue;
            }
            debug_assert!(keys
                .iter()
                .all(|k| m.get(*k).map(String::as_str) == Some(REDACTED)));
            out.report(
                &Self::META,
                Subject::namespaced("Pod", &e.namespace, &e.pod),
                Message::new("credential-exec-keys")
                    .arg("namespace", &e.namespace)
                    .arg("pod", &e.pod)
                    .arg("vars", keys.join(", ")),
            )
            .fix(Fix::advice(
                "find where the keys come from (env, envFrom secret, image) and remove them",
            ));
        }
        // An EKS Pod Identity association on the same ServiceAccount: mechanism-conflict.
    }
}
