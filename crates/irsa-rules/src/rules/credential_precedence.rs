//! IRSA406: nothing earlier in the SDK credential chain shadows IRSA.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Fix, Severity, Subject};
use crate::fixes::{recreate_pod, sh};
use crate::messages::Message;
use crate::registry::Rule;
use irsa_model::{ExecEvidence, PodSpec, REDACTED};

declare_rule!(CredentialPrecedenceRule, code: "IRSA406", name: "credential-precedence", cause: CredentialPrecedence, severity: Error,
    summary: "No static keys, credentials file or Pod Identity association shadows IRSA.",
    doc: include_str!("credential_precedence.md"));

/// The static-key variables (AWS SDKs' environment credential provider, first in every
/// default chain: see `credential_precedence.md`).
const KEY_VARS: [&str; 3] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// What a pod's spec has that the pod template it was created from does not: a pod
/// judged from its own spec is reported only for these (the rest is reported once, on
/// the workload). `None`: no template to compare with (a bare pod, or a workload not
/// in the snapshot): everything counts.
struct Beyond<'t> {
    template: Option<&'t PodSpec>,
    /// Recreating the pod, when it has a template (the fix for what it adds).
    recreate: Option<Fix>,
}

impl Beyond<'_> {
    fn template_container(&self, name: &str) -> Option<&irsa_model::Container> {
        self.template?.all_containers().find(|t| t.name == name)
    }
    fn env(&self, container: &str, var: &str) -> bool {
        match self.template {
            None => true,
            Some(_) => self
                .template_container(container)
                .is_none_or(|t| t.env(var).is_none()),
        }
    }
    fn env_from(&self, container: &str, secret: &str) -> bool {
        match self.template {
            None => true,
            Some(_) => self.template_container(container).is_none_or(|t| {
                !t.env_from
                    .iter()
                    .any(|e| e.kind == "secret" && e.name == secret && e.prefix.is_none())
            }),
        }
    }
}

fn check_spec(
    out: &mut Out,
    kind: &str,
    ns: &str,
    name: &str,
    spec: &PodSpec,
    role: &str,
    beyond: &Beyond<'_>,
) {
    for c in spec.all_containers() {
        let keys: Vec<&str> = KEY_VARS
            .into_iter()
            .filter(|v| c.env(v).is_some())
            .collect();
        // Reported on the workload when its template has the same keys.
        let keys = if keys.iter().any(|k| beyond.env(&c.name, k)) {
            keys
        } else {
            Vec::new()
        };
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
            if let Some(recreate) = &beyond.recreate {
                // A pod of a workload whose template lacks the keys: they come from an
                // older or edited ReplicaSet/Job template, or another mutating webhook.
                f.fix(Fix::advice(format!(
                    "the pod template of its workload does not set {}: find what put them into container {} (an edited or older ReplicaSet/Job template, a mutating webhook), remove them there, then recreate the pods",
                    keys.join(", "),
                    c.name
                )));
                f.fix(recreate.clone());
            } else if kind == "Pod" {
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
            if let Some(e) = c.env(var).filter(|_| beyond.env(&c.name, var)) {
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
            .filter(|e| beyond.env_from(&c.name, &e.name))
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
        let role_of = |ns: &str, sa: &str| cx.role_annotation(ns, sa);
        let everything = Beyond {
            template: None,
            recreate: None,
        };
        for w in cx.workloads_in_scope().filter(|w| w.owner.is_none()) {
            if let Some(role) = role_of(&w.namespace, w.template.effective_service_account()) {
                check_spec(
                    out,
                    w.kind.name(),
                    &w.namespace,
                    &w.name,
                    &w.template,
                    role,
                    &everything,
                );
            }
        }
        // Pods are what run: each is judged from its own spec (containers and init
        // containers, env and envFrom). A pod whose top-level workload is in the
        // snapshot is reported only for what that workload's template lacks (a
        // ReplicaSet of another revision or edited by hand, a Job a CronJob no longer
        // describes, something a mutating webhook added); bare pods and pods whose
        // workload was not read, for everything.
        for p in cx.pods_in_scope() {
            let Some(role) = cx.pod_role_annotation(p) else {
                continue;
            };
            // With `--pod`, the workload is not judged: the pod is, for everything.
            let template = cx
                .snap
                .controller_of(p)
                .and_then(|(k, n)| cx.snap.workload(k, &p.namespace, n))
                .filter(|_| cx.scope.pod.is_none())
                .map(|w| &w.template);
            let beyond = Beyond {
                template,
                recreate: template.map(|_| recreate_pod(cx, p)),
            };
            check_spec(out, "Pod", &p.namespace, &p.name, &p.spec, role, &beyond);
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
