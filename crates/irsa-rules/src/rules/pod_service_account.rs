//! IRSA401: workloads run as the ServiceAccount that carries the role.
//!
//! A pod template that omits `serviceAccountName` runs as `default` (the API server's
//! ServiceAccount admission fills it in). When an annotated ServiceAccount of the same
//! namespace is used by nothing and matches the workload (same name, the same Helm
//! release/chart labels, or it is the only annotated one), that is the cause.

use crate::context::{Context, Out, ROLE_ANNOTATION};
use crate::declare_rule;
use crate::finding::{Fix, Severity, Subject};
use crate::fixes::{patch_template, sh};
use crate::messages::Message;
use crate::registry::Rule;
use irsa_model::keys::{FastMap, FastSet};
use irsa_model::{PodSpec, ServiceAccount, Workload, WorkloadKind};
use serde_json::json;

declare_rule!(PodServiceAccountRule, code: "IRSA401", name: "pod-service-account", cause: PodServiceAccount, severity: Warning,
    summary: "Workloads run as the annotated ServiceAccount meant for them, not `default` or another.",
    doc: include_str!("pod_service_account.md"));

/// Labels that tie a ServiceAccount to a workload: Helm charts put the release and chart
/// names on both (`app.kubernetes.io/instance`, `app.kubernetes.io/name`, recommended
/// labels of the Kubernetes docs), older manifests `app`.
const TIE_LABELS: [&str; 3] = [
    "app.kubernetes.io/instance",
    "app.kubernetes.io/name",
    "app",
];

/// How an unused annotated ServiceAccount matches a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// Same name, or one is the other plus a `-suffix`.
    Name,
    /// The same release/chart labels.
    Labels,
    /// The only annotated ServiceAccount of the namespace that nothing uses.
    Only,
}

fn name_match(sa: &str, workload: &str) -> bool {
    sa == workload
        || workload
            .strip_prefix(sa)
            .is_some_and(|rest| rest.starts_with('-'))
        || sa
            .strip_prefix(workload)
            .is_some_and(|rest| rest.starts_with('-'))
}

fn label_match(sa: &ServiceAccount, labels: &irsa_model::StringMap) -> bool {
    let shared: Vec<&str> = TIE_LABELS
        .iter()
        .copied()
        .filter(|k| sa.labels.contains_key(*k) && labels.contains_key(*k))
        .collect();
    !shared.is_empty() && shared.iter().all(|k| sa.labels.get(*k) == labels.get(*k))
}

fn best_match<'s>(
    unused: &[&'s ServiceAccount],
    name: &str,
    labels: &irsa_model::StringMap,
) -> Option<(&'s ServiceAccount, Match)> {
    unused
        .iter()
        .find(|sa| name_match(&sa.name, name))
        .map(|sa| (*sa, Match::Name))
        .or_else(|| {
            let by_labels: Vec<_> = unused.iter().filter(|sa| label_match(sa, labels)).collect();
            (by_labels.len() == 1).then(|| (*by_labels[0], Match::Labels))
        })
        .or_else(|| (unused.len() == 1).then(|| (unused[0], Match::Only)))
}

/// Who runs pods: a top-level workload, or pods whose workload is not in the snapshot.
struct Runner<'a> {
    kind: &'static str,
    namespace: &'a str,
    name: &'a str,
    spec: &'a PodSpec,
    labels: &'a irsa_model::StringMap,
    workload: Option<&'a Workload>,
    pod: Option<&'a irsa_model::Pod>,
}

impl Rule for PodServiceAccountRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let snap = cx.snap;
        // Every runner of the namespaces in scope: with `--service-account`, the one that
        // should run as it (but runs as another) is the finding about it.
        let scope = cx.scope;
        let selected = cx.selected_service_account();
        let mut runners: Vec<Runner<'_>> = snap
            .workloads
            .iter()
            .filter(|w| scope.pod.is_none() && scope.namespace_in(&w.namespace))
            .filter(|w| w.owner.is_none())
            .map(|w| Runner {
                kind: w.kind.name(),
                namespace: &w.namespace,
                name: &w.name,
                spec: &w.template,
                labels: &w.template_labels,
                workload: Some(w),
                pod: None,
            })
            .collect();
        let mut seen: FastSet<(&str, &str, &str)> = FastSet::default();
        for p in snap.pods.iter().filter(|p| {
            scope.namespace_in(&p.namespace) && scope.pod.as_ref().is_none_or(|n| n == &p.name)
        }) {
            let controller = snap.controller_of(p);
            if controller
                .as_ref()
                .is_some_and(|(k, n)| snap.workload(*k, &p.namespace, n).is_some())
            {
                continue; // judged on its workload
            }
            let (kind, name): (&str, &str) = match controller {
                // A Deployment's ReplicaSet is named `<deployment>-<hash>`.
                Some((WorkloadKind::ReplicaSet, rs)) => match rs.rsplit_once('-') {
                    Some((d, _)) if p.labels.contains_key("pod-template-hash") => ("Deployment", d),
                    _ => ("ReplicaSet", rs),
                },
                Some((k, n)) => (k.name(), n),
                None => ("Pod", &p.name),
            };
            if !seen.insert((&p.namespace, kind, name)) {
                continue;
            }
            runners.push(Runner {
                kind,
                namespace: &p.namespace,
                name,
                spec: &p.spec,
                labels: &p.labels,
                workload: None,
                pod: Some(p),
            });
        }
        // The ServiceAccount object decides; one that was not read is not taken as
        // annotated (an unused annotated sibling that matches is the stronger fact).
        let annotated_object = |ns: &str, sa: &str| {
            cx.snapshot_service_account(ns, sa)
                .is_some_and(|sa| sa.annotations.contains_key(ROLE_ANNOTATION))
        };
        // Runners of an annotated ServiceAccount are done with: what follows (every
        // ServiceAccount something runs as, by namespace) is worked out only when one is
        // left, as in a cluster where every workload runs as its annotated one it is
        // not needed.
        runners.retain(|r| match r.pod {
            // The pod's role annotation is worked out once per pod; it is the object's
            // unless the ServiceAccount is known only from its pods.
            Some(p) if cx.inferred_service_accounts().is_empty() => {
                cx.pod_role_annotation(p).is_none()
            }
            _ => !annotated_object(r.namespace, r.spec.effective_service_account()),
        });
        if runners.is_empty() {
            return;
        }
        // Used = run by a top-level workload or by a pod (an old ReplicaSet left by a
        // Deployment change still names the previous ServiceAccount: it does not count).
        let used: FastSet<(&str, &str)> = snap
            .workloads
            .iter()
            .filter(|w| w.owner.is_none())
            .map(|w| (w.namespace.as_str(), w.template.effective_service_account()))
            .chain(
                snap.pods
                    .iter()
                    .map(|p| (p.namespace.as_str(), p.spec.effective_service_account())),
            )
            .collect();
        // The annotated ServiceAccounts nothing runs as, by namespace, in the snapshot's
        // order: worked out once (a namespace has many runners, most of which find none).
        let mut unused_by_namespace: FastMap<&str, Vec<&ServiceAccount>> = FastMap::default();
        for sa in snap.service_accounts.values() {
            if sa.annotations.contains_key(ROLE_ANNOTATION)
                && !used.contains(&(sa.namespace.as_str(), sa.name.as_str()))
            {
                unused_by_namespace
                    .entry(&sa.namespace)
                    .or_default()
                    .push(sa);
            }
        }
        for r in runners {
            let actual = r.spec.effective_service_account();
            let unused = unused_by_namespace
                .get(r.namespace)
                .map_or(&[][..], Vec::as_slice);
            let Some((target, how)) = best_match(unused, r.name, r.labels) else {
                continue;
            };
            if selected
                .as_ref()
                .is_some_and(|(ns, n)| ns != r.namespace || (n != actual && *n != target.name))
            {
                continue;
            }
            let role = target
                .annotations
                .get(ROLE_ANNOTATION)
                .cloned()
                .unwrap_or_default();
            let implicit = if r.spec.service_account_name.is_none() {
                " (its pod template sets no serviceAccountName)"
            } else {
                ""
            };
            let why = match how {
                Match::Name => "its name matches the workload's",
                Match::Labels => "it carries the workload's release labels",
                Match::Only => "it is the only annotated ServiceAccount of the namespace",
            };
            let f = out.report(
                &Self::META,
                Subject::namespaced(r.kind, r.namespace, r.name),
                Message::new("pod-sa-unannotated-sibling")
                    .arg("kind", r.kind)
                    .arg("namespace", r.namespace)
                    .arg("workload", r.name)
                    .arg("actual", actual)
                    .arg("implicit", implicit)
                    .arg("annotated", &target.name)
                    .arg("role", &role)
                    .arg("why", why),
            );
            f.severity(if how == Match::Only {
                Severity::Warning
            } else {
                Severity::Error
            })
            .role(role);
            match (r.workload, r.pod) {
                (Some(w), _) => {
                    f.fix(Fix::command(
                        format!(
                            "run {} {} as ServiceAccount {}",
                            w.kind.name(),
                            w.name,
                            target.name
                        ),
                        patch_template(w, json!({"serviceAccountName": target.name})),
                    ));
                }
                (None, Some(p)) if r.kind != "Pod" && r.kind != "ReplicaSet" => {
                    let patch = json!({"spec": {"template": {"spec": {"serviceAccountName": target.name}}}});
                    f.fix(Fix::command(
                        format!(
                            "run {} {} as ServiceAccount {}",
                            r.kind, r.name, target.name
                        ),
                        format!(
                            "kubectl patch {}/{} -n {} --type merge -p {}",
                            r.kind.to_lowercase(),
                            sh(r.name),
                            sh(&p.namespace),
                            sh(&patch.to_string())
                        ),
                    ));
                }
                (_, p) => {
                    f.fix(Fix::advice(format!(
                        "set `serviceAccountName: {}` in the manifest of {} {}, then re-create its pods: kubectl delete pod {} -n {} && kubectl apply -f <manifest>",
                        target.name,
                        r.kind,
                        r.name,
                        sh(p.map(|p| p.name.as_str()).unwrap_or(r.name)),
                        sh(r.namespace)
                    )));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::name_match;

    #[test]
    fn names() {
        assert!(name_match("spark", "spark"));
        assert!(name_match("external-dns", "external-dns-sa"));
        assert!(name_match("web-sa", "web"));
        assert!(!name_match("api", "apiary"));
        assert!(!name_match("web", "frontend"));
    }
}
