//! IRSA607: a ServiceAccount with both the IRSA annotation and an EKS Pod Identity
//! association: which one its pods actually use, and which is ignored.
//!
//! Which wins, from upstream:
//! - the webhook: when the ServiceAccount has an association, "Container credentials
//!   method takes precedence": it injects `AWS_CONTAINER_CREDENTIALS_FULL_URI` and the
//!   Pod Identity token, and neither `AWS_ROLE_ARN` nor the web identity token
//!   (aws/amazon-eks-pod-identity-webhook `pkg/handler/handler.go`,
//!   `buildPodPatchConfig`, https://github.com/aws/amazon-eks-pod-identity-webhook/blob/master/pkg/handler/handler.go);
//! - the SDKs, when a pod carries both sets of variables anyway (set in the manifest):
//!   web identity comes before container credentials in every default chain except the
//!   JavaScript v2 SDK's (facts §2: botocore `create_credential_resolver`, aws-sdk-go-v2
//!   `config/resolve_credentials.go`, Java v2 `DefaultCredentialsProvider`,
//!   aws-sdk-js `lib/node_loader.js`; EKS user guide, pod-id-minimum-sdk.html: "If
//!   your workloads currently use credentials that are earlier in the chain of
//!   credentials, those credentials will continue to be used").

use crate::context::{Context, Out, ROLE_ANNOTATION};
use crate::declare_rule;
use crate::finding::{Fix, Severity, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::pod_identity::{associations, has_env};
use crate::registry::Rule;

declare_rule!(MechanismConflict, code: "IRSA607", name: "mechanism-conflict", cause: MechanismConflict, severity: Warning,
    summary: "A ServiceAccount uses one mechanism: says which one wins when both the IRSA annotation and an EKS Pod Identity association exist.",
    doc: include_str!("mechanism_conflict.md"));

impl Rule for MechanismConflict {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        for a in associations(cx) {
            let (ns, sa) = (&a.namespace, &a.service_account);
            let pi_role = a.effective_role().unwrap_or("(association not described)");
            if let Some(annotation) = cx.role_annotation(ns, sa) {
                let same = a.effective_role().is_some_and(|r| r == annotation.trim());
                let subject = Subject::namespaced("ServiceAccount", ns, sa);
                let remove = Fix::command(
                    "keep one mechanism: remove the ignored IRSA annotation (or delete the association to go back to IRSA)",
                    format!(
                        "kubectl annotate serviceaccount {} -n {} {ROLE_ANNOTATION}-\n# or: aws eks delete-pod-identity-association {} --association-id {}",
                        sh(sa),
                        sh(ns),
                        crate::pod_identity::cluster_args(cx, a.cluster.as_deref()),
                        sh(a.association_id.as_deref().unwrap_or("<association-id>"))
                    ),
                );
                if same {
                    out.report(
                        &Self::META,
                        subject,
                        Message::new("pi-conflict-same")
                            .arg("namespace", ns)
                            .arg("name", sa)
                            .arg("role", annotation),
                    )
                    .severity(Severity::Info)
                    .role(pi_role)
                    .fix(remove);
                } else {
                    out.report(
                        &Self::META,
                        subject,
                        Message::new("pi-conflict")
                            .arg("namespace", ns)
                            .arg("name", sa)
                            .arg("pi_role", pi_role)
                            .arg("role", annotation),
                    )
                    .role(pi_role)
                    .fix(remove);
                }
            }
            // Pods that carry both sets of variables: the SDK decides.
            for p in cx.pods_of_sa(ns, sa) {
                let irsa = p.spec.all_containers().find_map(|c| {
                    c.env("AWS_ROLE_ARN")
                        .filter(|_| c.env("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() && has_env(c))
                        .and_then(|e| e.value.clone())
                });
                let Some(irsa_role) = irsa else { continue };
                let differs = a.effective_role().is_none_or(|r| r != irsa_role);
                out.report(
                    &Self::META,
                    Subject::namespaced("Pod", ns, &p.name),
                    Message::new("pi-conflict-both-env")
                        .arg("namespace", ns)
                        .arg("pod", &p.name)
                        .arg("role", &irsa_role)
                        .arg("pi_role", pi_role),
                )
                .severity(if differs { Severity::Error } else { Severity::Warning })
                .role(pi_role)
                .fix(Fix::advice(
                    "remove AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE from the pod template (they are set in the manifest: the webhook never adds them next to Pod Identity), then re-create the pods",
                ));
            }
        }
    }
}
