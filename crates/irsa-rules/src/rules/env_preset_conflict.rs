//! IRSA405: containers do not preset the variables the webhook injects.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Fix, Severity, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::registry::Rule;
use crate::rules::pod_helpers::{ROLE_ENV, TOKEN_ENV};
use irsa_model::{Container, PodSpec};

declare_rule!(EnvPresetConflict, code: "IRSA405", name: "env-preset-conflict", cause: EnvPresetConflict, severity: Error,
    summary: "Containers do not set AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE themselves.",
    doc: include_str!("env_preset_conflict.md"));

fn check_spec(
    cx: &Context<'_>,
    out: &mut Out,
    kind: &str,
    ns: &str,
    name: &str,
    spec: &PodSpec,
    is_template: bool,
) {
    // Asked only for a container with a preset (a hash lookup per pod otherwise).
    let annotated = || cx.role_annotation(ns, spec.effective_service_account());
    for c in spec.all_containers() {
        let role = c.env(ROLE_ENV);
        let token = c.env(TOKEN_ENV);
        let unset = |c: &Container, var: &str| -> String {
            if is_template {
                format!(
                    "kubectl set env {}/{} -n {} -c {} {var}-",
                    kind.to_lowercase(),
                    sh(name),
                    sh(ns),
                    sh(&c.name)
                )
            } else {
                format!("remove {var} from container {} in the pod's manifest, then delete and re-apply the pod", c.name)
            }
        };
        match (role, token) {
            (Some(_), None) | (None, Some(_)) => {
                let (set, var, consequence) = if role.is_some() {
                    (ROLE_ENV, ROLE_ENV, "there is no token file, so the SDK skips web identity and uses the node role")
                } else {
                    (TOKEN_ENV, TOKEN_ENV, "there is no role ARN, so the SDK fails (botocore: InvalidConfigError, Go: WebIdentityErr: role ARN is not set)")
                };
                let f = out.report(
                    &EnvPresetConflict::META,
                    Subject::namespaced(kind, ns, name),
                    Message::new("env-preset-half")
                        .arg("container", &c.name)
                        .arg("kind", kind)
                        .arg("namespace", ns)
                        .arg("workload", name)
                        .arg("set", set)
                        .arg("consequence", consequence),
                );
                if annotated().is_none() {
                    f.severity(Severity::Warning);
                }
                let cmd = unset(c, var);
                if is_template {
                    f.fix(Fix::command(
                        format!("remove the preset {var} (the webhook then injects both)"),
                        cmd,
                    ));
                } else {
                    f.fix(Fix::advice(cmd));
                }
            }
            (Some(r), Some(_)) if is_template => {
                if let (Some(v), Some(a)) = (&r.value, annotated()) {
                    if v != a {
                        out.report(
                            &EnvPresetConflict::META,
                            Subject::namespaced(kind, ns, name),
                            Message::new("env-preset-role")
                                .arg("container", &c.name)
                                .arg("kind", kind)
                                .arg("namespace", ns)
                                .arg("workload", name)
                                .arg("value", v)
                                .arg("annotated", a),
                        )
                        .severity(Severity::Warning)
                        .role(v.clone())
                        .fix(Fix::command(
                            "remove the preset pair and let the webhook inject the annotated role",
                            format!("{}\n{}", unset(c, ROLE_ENV), unset(c, TOKEN_ENV)),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

impl Rule for EnvPresetConflict {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        for w in cx.workloads_in_scope().filter(|w| w.owner.is_none()) {
            check_spec(
                cx,
                out,
                w.kind.name(),
                &w.namespace,
                &w.name,
                &w.template,
                true,
            );
        }
        for p in cx.pods_in_scope().filter(|p| p.owner.is_none()) {
            check_spec(cx, out, "Pod", &p.namespace, &p.name, &p.spec, false);
        }
        // Pods of workloads not in the snapshot: a half pair in the pod is still a preset.
        for p in cx.pods_in_scope().filter(|p| {
            p.owner.is_some()
                && cx
                    .snap
                    .controller_of(p)
                    .and_then(|(k, n)| cx.snap.workload(k, &p.namespace, n))
                    .is_none()
        }) {
            check_spec(cx, out, "Pod", &p.namespace, &p.name, &p.spec, false);
        }
    }
}
