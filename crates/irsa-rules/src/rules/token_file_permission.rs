//! IRSA407: non-root containers can read the token on old Kubernetes versions.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Cause, Fix, Severity, Subject};
use crate::fixes::patch_template;
use crate::messages::Message;
use crate::registry::Rule;
use irsa_model::{ExecEvidence, PodSpec};
use serde_json::json;

declare_rule!(TokenFilePermission, code: "IRSA407", name: "token-file-permission", cause: TokenFilePermission, severity: Error,
    summary: "On Kubernetes <= 1.18, non-root containers have an fsGroup to read the token.",
    doc: include_str!("token_file_permission.md"));

fn non_root_uid(spec: &PodSpec, container: &irsa_model::Container) -> Option<i64> {
    container
        .run_as_user
        .or(spec.run_as_user)
        .filter(|u| *u != 0)
}

impl Rule for TokenFilePermission {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let annotated = |ns: &str, sa: &str| cx.role_annotation(ns, sa).is_some();
        let version = cx.cluster.version;
        if version.is_some_and(|v| v >= (1, 19)) {
            return;
        }
        for w in cx
            .workloads_in_scope()
            .filter(|w| w.owner.is_none() && w.template.fs_group.is_none())
        {
            if !annotated(&w.namespace, w.template.effective_service_account()) {
                continue;
            }
            for c in w.template.all_containers() {
                let uid = non_root_uid(&w.template, c).or_else(|| {
                    cx.snap.exec.iter().find_map(|e| match e.evidence {
                        ExecEvidence::Id { uid, .. }
                            if uid != 0
                                && e.namespace == w.namespace
                                && e.pod.starts_with(&*w.name) =>
                        {
                            Some(uid)
                        }
                        _ => None,
                    })
                });
                let Some(uid) = uid else { continue };
                let subject = Subject::namespaced(w.kind.name(), &w.namespace, &w.name);
                match version {
                    Some((maj, min)) => {
                        out.report(
                            &Self::META,
                            subject,
                            Message::new("token-permission")
                                .arg("container", &c.name)
                                .arg("kind", w.kind.name())
                                .arg("namespace", &w.namespace)
                                .arg("name", &w.name)
                                .arg("uid", uid.to_string())
                                .arg("version", format!("{maj}.{min}")),
                        )
                        .fix(Fix::command(
                            "give the pod an fsGroup so the token is group-readable",
                            patch_template(w, json!({"securityContext": {"fsGroup": 65534}})),
                        ));
                    }
                    None => {
                        let f = out.report(
                            &Self::META,
                            subject,
                            Message::new("token-permission-unknown")
                                .arg("container", &c.name)
                                .arg("kind", w.kind.name())
                                .arg("namespace", &w.namespace)
                                .arg("name", &w.name),
                        );
                        f.cause = Cause::CollectionGap;
                        f.severity(Severity::Info);
                    }
                }
                break;
            }
        }
    }
}
