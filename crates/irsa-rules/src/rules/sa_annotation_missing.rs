//! IRSA302: a ServiceAccount meant for IRSA has the role annotation, spelled right.

use crate::context::{Context, Out, ROLE_ANNOTATION};
use crate::declare_rule;
use crate::finding::{Fix, Severity, Subject};
use crate::fixes::{annotate, recreate_pod};
use crate::messages::Message;
use crate::registry::Rule;

declare_rule!(SaAnnotationMissing, code: "IRSA302", name: "sa-annotation-missing", cause: SaAnnotationMissing, severity: Error,
    summary: "ServiceAccounts meant for IRSA carry `eks.amazonaws.com/role-arn` (not a near-miss key or a label).",
    doc: include_str!("sa_annotation_missing.md"));

const CONTROLLER_SAS: [(&str, &str); 7] = [
    (
        "aws-load-balancer-controller",
        "the AWS Load Balancer Controller",
    ),
    ("ebs-csi-controller-sa", "the EBS CSI driver"),
    ("efs-csi-controller-sa", "the EFS CSI driver"),
    ("external-dns", "external-dns"),
    ("cluster-autoscaler", "cluster-autoscaler"),
    ("karpenter", "Karpenter"),
    ("adot-collector", "the ADOT collector"),
];

fn near_miss_key(key: &str) -> bool {
    if key == ROLE_ANNOTATION {
        return false;
    }
    let k = key.to_lowercase().replace([' ', '_'], "-");
    k == ROLE_ANNOTATION
        || k.ends_with("/role-arn")
        || k.ends_with("/rolearn")
        || k.ends_with("role-arn") && k.contains("eks")
        || strsim::levenshtein(&k, ROLE_ANNOTATION) <= 3
}

impl Rule for SaAnnotationMissing {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let selected = cx.selected_service_account();
        for sa in cx.snap.service_accounts.values() {
            if !cx.sa_in_scope(&sa.namespace, &sa.name)
                || sa.annotations.contains_key(ROLE_ANNOTATION)
            {
                continue;
            }
            let subject = Subject::namespaced("ServiceAccount", &sa.namespace, &sa.name);
            let near = sa
                .annotations
                .iter()
                .map(|(k, v)| ("annotation", k, v))
                .chain(sa.labels.iter().map(|(k, v)| ("label", k, v)))
                .find(|(place, k, _)| {
                    near_miss_key(k) || (*place == "label" && *k == ROLE_ANNOTATION)
                });
            let has_pod_identity = cx.associations_of(&sa.namespace, &sa.name).next().is_some();
            let named_by = cx.roles_naming(&sa.namespace, &sa.name);
            let trusted_by = cx.roles_trusting(&sa.namespace, &sa.name);
            let (message, role) = if let Some((place, key, value)) = near {
                (
                    Message::new("sa-annotation-near-miss")
                        .arg("namespace", &sa.namespace)
                        .arg("name", &sa.name)
                        .arg("place", place)
                        .arg("key", key),
                    Some(value.trim().to_string()),
                )
            } else if has_pod_identity {
                continue;
            } else if let Some(role) = named_by.first() {
                (
                    Message::new("sa-annotation-trusted-by")
                        .arg("namespace", &sa.namespace)
                        .arg("name", &sa.name)
                        .arg("role", *role),
                    Some(role.to_string()),
                )
            } else if let (Some(role), Some(evidence)) = (
                trusted_by.first(),
                evidently_calls_aws(cx, &sa.namespace, &sa.name),
            ) {
                // A wildcard trust alone asks nothing of this ServiceAccount; a workload
                // that evidently calls AWS while running as it may have meant to use it.
                let f = out.report(
                    &Self::META,
                    subject,
                    Message::new("sa-annotation-wildcard-used")
                        .arg("namespace", &sa.namespace)
                        .arg("name", &sa.name)
                        .arg("role", *role)
                        .arg("evidence", evidence),
                );
                f.severity(Severity::Warning).role(*role).fix(annotate(
                    &sa.namespace,
                    &sa.name,
                    role,
                ));
                continue;
            } else if selected
                .as_ref()
                .is_some_and(|(ns, n)| ns == &sa.namespace && n == &sa.name)
            {
                (
                    Message::new("sa-annotation-requested")
                        .arg("namespace", &sa.namespace)
                        .arg("name", &sa.name),
                    None,
                )
            } else if let Some((_, controller)) = CONTROLLER_SAS.iter().find(|(n, _)| *n == sa.name)
            {
                let f = out.report(
                    &Self::META,
                    subject,
                    Message::new("sa-annotation-controller")
                        .arg("namespace", &sa.namespace)
                        .arg("name", &sa.name)
                        .arg("controller", *controller),
                );
                f.severity(Severity::Warning).fix(Fix::advice(format!(
                    "create a role for {controller} and annotate: kubectl annotate serviceaccount -n {} {} eks.amazonaws.com/role-arn=<role ARN>",
                    sa.namespace, sa.name
                )));
                continue;
            } else {
                continue;
            };
            let f = out.report(&Self::META, subject, message);
            match &role {
                Some(r) if r.starts_with("arn:") => {
                    f.role(r.clone());
                    f.fix(annotate(&sa.namespace, &sa.name, r));
                }
                _ => {
                    f.fix(Fix::advice(format!(
                        "annotate it with the role's ARN: kubectl annotate serviceaccount -n {} {} eks.amazonaws.com/role-arn=<role ARN> --overwrite",
                        sa.namespace, sa.name
                    )));
                }
            }
            if let Some(pod) = cx.snap.pods_of(&sa.namespace, &sa.name).next() {
                f.fix(recreate_pod(cx, pod));
            }
        }
    }
}

/// Evidence that a workload running as this ServiceAccount calls AWS: a container that
/// sets an `AWS_*` configuration variable (region, STS endpoint, SDK config).
fn evidently_calls_aws(cx: &Context<'_>, namespace: &str, name: &str) -> Option<String> {
    const AWS_CONFIG: [&str; 5] = [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_STS_REGIONAL_ENDPOINTS",
        "AWS_SDK_LOAD_CONFIG",
        "AWS_ENDPOINT_URL",
    ];
    let in_spec = |kind: &str, wname: &str, spec: &irsa_model::PodSpec| {
        spec.all_containers().find_map(|c| {
            AWS_CONFIG.iter().find(|v| c.env(v).is_some()).map(|v| {
                format!(
                    "container `{}` of {kind} {namespace}/{wname} sets {v}",
                    c.name
                )
            })
        })
    };
    cx.workloads_of_sa(namespace, name)
        .filter(|w| w.owner.is_none())
        .find_map(|w| in_spec(w.kind.name(), &w.name, &w.template))
        .or_else(|| {
            cx.pods_of_sa(namespace, name)
                .find_map(|p| in_spec("Pod", &p.name, &p.spec))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_miss_keys() {
        assert!(near_miss_key("eks.amazonaws.com/role_arn"));
        assert!(near_miss_key("eks.amazonaws.com/rolearn"));
        assert!(near_miss_key("eks.amazon.com/role-arn"));
        assert!(near_miss_key("EKS.amazonaws.com/role-arn"));
        assert!(near_miss_key("eks.amazonaws.com/role-arn "));
        assert!(!near_miss_key("eks.amazonaws.com/role-arn"));
        assert!(!near_miss_key("eks.amazonaws.com/audience"));
        assert!(!near_miss_key(
            "kubectl.kubernetes.io/last-applied-configuration"
        ));
    }
}
