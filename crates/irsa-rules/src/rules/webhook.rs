//! IRSA404: the pod identity webhook exists, covers pod CREATE, and sees the pods.

use crate::context::{Context, Out, SKIP_LABEL};
use crate::declare_rule;
use crate::finding::{Cause, Fix, Severity, Subject};
use crate::fixes::{sh, webhook_manifest};
use crate::messages::Message;
use crate::registry::Rule;

declare_rule!(WebhookRule, code: "IRSA404", name: "webhook", cause: WebhookMissing, severity: Error,
    summary: "The `pod-identity-webhook` MutatingWebhookConfiguration exists, covers pod CREATE, and selects the IRSA pods.",
    doc: include_str!("webhook.md"));

fn webhook_not_found(cx: &Context<'_>) -> bool {
    cx.snap.inputs.collection_failures.iter().any(|f| {
        f.command.contains("mutatingwebhookconfiguration")
            && f.command.contains("pod-identity-webhook")
            // The read's own answer (`Error from server (NotFound): …`), not a
            // "not found" quoted in another failure's text.
            && irsa_model::recorded::is_not_found(&f.error)
    })
}

impl Rule for WebhookRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        if cx.irsa.is_empty() {
            return;
        }
        let subject = Subject::global("Webhook", "pod-identity-webhook");
        match cx.snap.pod_identity_webhook() {
            // Absent when the configurations were listed, or when getting it answered NotFound.
            None if cx.snap.coverage.webhooks_listed || webhook_not_found(cx) => {
                out.report(&Self::META, subject, Message::new("webhook-absent"))
                    .fix(webhook_manifest(cx));
            }
            None => {
                let f = out.report(&Self::META, subject, Message::new("gap-webhook"));
                f.cause = Cause::CollectionGap;
                f.severity(Severity::Info);
            }
            Some(w) => {
                if !w.webhooks.iter().any(|h| h.covers_pod_create) {
                    out.report(
                        &Self::META,
                        subject.clone(),
                        Message::new("webhook-no-create"),
                    )
                    .fix(webhook_manifest(cx));
                } else {
                    out.pass(&Self::META, subject.clone(), Message::new("webhook-ok"));
                }
                for h in w
                    .webhooks
                    .iter()
                    .filter(|h| h.name == "iam-for-pods.amazonaws.com")
                {
                    if !h.admission_review_versions.is_empty()
                        && !h.admission_review_versions.iter().any(|v| v == "v1beta1")
                    {
                        out.report(
                            &Self::META,
                            subject.clone(),
                            Message::new("webhook-review-version")
                                .arg("webhook", &h.name)
                                .arg("versions", format!("{:?}", h.admission_review_versions)),
                        )
                        .severity(Severity::Warning)
                        .fix(webhook_manifest(cx));
                    }
                }
                // Pods and templates the selector excludes.
                for i in &cx.irsa {
                    for p in cx.pods_of_irsa(i) {
                        if p.labels.contains_key(SKIP_LABEL) {
                            continue; // reported on the workload or below
                        }
                        for h in w.webhooks.iter().filter(|h| h.covers_pod_create) {
                            if let Some(sel) = &h.object_selector {
                                if !sel.matches(&p.labels) {
                                    out.report(
                                        &Self::META,
                                        Subject::namespaced("Pod", &p.namespace, &p.name),
                                        Message::new("webhook-selector")
                                            .arg("selector", "objectSelector")
                                            .arg("kind", "Pod")
                                            .arg("namespace", &p.namespace)
                                            .arg("name", &p.name),
                                    )
                                    .role(i.role_text());
                                }
                            }
                        }
                    }
                }
            }
        }
        // The skip label, on templates and bare pods of annotated ServiceAccounts.
        for i in &cx.irsa {
            for wl in cx.workloads_of_sa(&i.sa.namespace, &i.sa.name) {
                if wl.template_labels.contains_key(SKIP_LABEL) && wl.owner.is_none() {
                    out.report(
                        &Self::META,
                        Subject::namespaced(wl.kind.name(), &wl.namespace, &wl.name),
                        Message::new("webhook-skip-label").arg("kind", wl.kind.name()).arg("namespace", &wl.namespace).arg("name", &wl.name),
                    )
                    .role(i.role_text())
                    .fix(Fix::command(
                        "remove the skip label from the pod template (this also recreates the pods)",
                        format!(
                            "kubectl patch {}/{} -n {} --type json -p '[{{\"op\":\"remove\",\"path\":\"{}/metadata/labels/eks.amazonaws.com~1skip-pod-identity-webhook\"}}]'",
                            wl.kind.name().to_lowercase(),
                            sh(&wl.name),
                            sh(&wl.namespace),
                            if wl.kind == irsa_model::WorkloadKind::CronJob { "/spec/jobTemplate/spec/template" } else { "/spec/template" }
                        ),
                    ));
                }
            }
            for p in cx.pods_of_irsa(i).filter(|p| p.owner.is_none()) {
                if p.labels.contains_key(SKIP_LABEL) {
                    out.report(
                        &Self::META,
                        Subject::namespaced("Pod", &p.namespace, &p.name),
                        Message::new("webhook-skip-label").arg("kind", "Pod").arg("namespace", &p.namespace).arg("name", &p.name),
                    )
                    .role(i.role_text())
                    .fix(Fix::advice(format!(
                        "remove the label `{SKIP_LABEL}` from the pod's manifest, then: kubectl delete pod {} -n {} && kubectl apply -f <manifest>",
                        sh(&p.name),
                        sh(&p.namespace)
                    )));
                }
            }
        }
    }
}
