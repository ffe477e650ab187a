//! IRSA301: the ServiceAccount a workload or pod names exists.
//!
//! Absence is proven by a listing of the namespace, or by Kubernetes itself (a
//! `FailedCreate` condition or Event: [`k8s_evidence`]). Without either it is not
//! checked, and the gap names what is missing and which rejected input may hold it.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Cause, Fix, Severity, Subject};
use crate::fixes::{annotate, sh};
use crate::messages::Message;
use crate::registry::Rule;
use crate::rules::k8s_evidence::{sa_not_found, SaNotFound};
use irsa_model::keys::FastSet;

declare_rule!(SaExists, code: "IRSA301", name: "sa-exists", cause: SaMissing, severity: Error,
    summary: "The ServiceAccount each workload (or bare pod) runs as exists.",
    doc: include_str!("sa_exists.md"));

/// Why ServiceAccounts of a namespace are unknown: failed reads and rejected inputs.
fn unread_because(cx: &Context<'_>, namespace: &str) -> String {
    let mut why = Vec::new();
    for f in cx.snap.inputs.collection_failures.iter().filter(|f| {
        let c = f.command.to_lowercase();
        (c.contains("serviceaccount") || c.contains(" sa "))
            && (c.contains(" -a")
                || c.contains("--all-namespaces")
                || c.contains(&format!("-n {namespace}"))
                || c.contains(&format!("--namespace {namespace}"))
                || c.contains(&format!("--namespace={namespace}")))
    }) {
        why.push(format!("`{}` failed: {}", f.command, f.error));
    }
    let rejected: Vec<String> = cx
        .snap
        .inputs
        .rejected
        .iter()
        .map(|r| r.path.clone())
        .collect();
    if !rejected.is_empty() {
        why.push(format!(
            "rejected input(s) that may hold them: {}",
            rejected.join(", ")
        ));
    }
    if why.is_empty() {
        String::new()
    } else {
        format!(" ({})", why.join("; "))
    }
}

fn report_missing(
    cx: &Context<'_>,
    out: &mut Out,
    subject: Subject,
    message: Message,
    ns: &str,
    sa: &str,
) {
    let f = out.report(&SaExists::META, subject, message);
    f.fix(Fix::command(
        format!("create ServiceAccount {ns}/{sa}"),
        format!("kubectl create serviceaccount -n {} {}", sh(ns), sh(sa)),
    ));
    match cx.roles_trusting(ns, sa).first() {
        Some(role) => {
            f.role(*role);
            f.fix(annotate(ns, sa, role));
        }
        None => {
            f.fix(Fix::advice(format!(
                "then annotate it: kubectl annotate serviceaccount -n {ns} {sa} eks.amazonaws.com/role-arn=<the role's ARN> (no role in the snapshot trusts it yet)"
            )));
        }
    }
}

fn reported(e: &SaNotFound) -> Message {
    if e.who.is_empty() {
        // A recorded `kubectl get serviceaccount` that answered NotFound.
        return Message::new("sa-missing-recorded")
            .arg("namespace", &e.namespace)
            .arg("name", &e.name)
            .arg("said", &e.said);
    }
    Message::new("sa-missing-reported")
        .arg("who", &e.who)
        .arg("namespace", &e.namespace)
        .arg("name", &e.name)
        .arg("said", &e.said)
        .arg(
            "seen",
            e.count
                .filter(|c| *c > 1)
                .map(|c| format!(" ({c} times)"))
                .unwrap_or_default(),
        )
}

impl Rule for SaExists {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        // (kind, namespace, workload, ServiceAccount), borrowed: one per workload and
        // bare pod of a large cluster.
        let mut users: Vec<(&str, &str, &str, &str)> = cx
            .workloads_in_scope()
            .filter(|w| w.owner.is_none())
            .map(|w| {
                (
                    w.kind.name(),
                    w.namespace.as_str(),
                    w.name.as_str(),
                    w.template.effective_service_account(),
                )
            })
            .collect();
        // Bare pods, and pods whose workload is not in the snapshot (the pod is the evidence).
        users.extend(
            cx.pods_in_scope()
                .filter(|p| {
                    cx.snap
                        .controller_of(p)
                        .and_then(|(k, n)| cx.snap.workload(k, &p.namespace, n))
                        .is_none()
                })
                .map(|p| {
                    (
                        "Pod",
                        p.namespace.as_str(),
                        p.name.as_str(),
                        p.spec.effective_service_account(),
                    )
                }),
        );
        let selected = cx.selected_service_account();
        if let Some((ns, name)) = &selected {
            users.push(("ServiceAccount", ns, name, name));
        }
        let evidence: Vec<SaNotFound> = sa_not_found(cx)
            .into_iter()
            .filter(|e| cx.sa_in_scope(&e.namespace, &e.name))
            // The ServiceAccount exists now: the report predates its creation.
            .filter(|e| cx.snapshot_service_account(&e.namespace, &e.name).is_none())
            .collect();
        let inferred: FastSet<(&str, &str)> = cx
            .inferred_service_accounts()
            .iter()
            .map(|s| (s.namespace.as_str(), s.name.as_str()))
            .collect();
        // Membership only (findings come in the order of `users`).
        let mut gaps: FastSet<(&str, &str)> = FastSet::default();
        let mut done: FastSet<(&str, &str, &str)> =
            FastSet::with_capacity_and_hasher(users.len(), Default::default());
        let mut proven: FastSet<(&str, &str)> = FastSet::default();
        for (kind, ns, workload, sa) in users {
            if sa == "default" || !done.insert((kind, ns, workload)) {
                continue;
            }
            if cx.snapshot_service_account(ns, sa).is_some() {
                continue;
            }
            let subject = if kind == "ServiceAccount" {
                Subject::namespaced("ServiceAccount", ns, sa)
            } else {
                Subject::namespaced(kind, ns, workload)
            };
            if !cx.snap.coverage.service_accounts.covers(ns) {
                if let Some(e) = evidence.iter().find(|e| e.namespace == ns && e.name == sa) {
                    if proven.insert((ns, sa)) {
                        // The workload the user edits; a recorded NotFound names no workload.
                        let subject = if e.who.is_empty() {
                            subject
                        } else {
                            e.reporter.clone()
                        };
                        report_missing(cx, out, subject, reported(e), ns, sa);
                    }
                    continue;
                }
                if inferred.contains(&(ns, sa)) {
                    continue; // named below, with the role its pods carry
                }
                if gaps.insert((ns, sa)) {
                    // Whether these pods should use IRSA at all is unknown: a chain in
                    // scope that cannot be evaluated (warning).
                    let f = out.report(
                        &Self::META,
                        Subject::namespaced("ServiceAccount", ns, sa),
                        Message::new("gap-sa")
                            .arg("namespace", ns)
                            .arg("name", sa)
                            .arg("why", unread_because(cx, ns)),
                    );
                    f.cause = Cause::CollectionGap;
                    f.severity(Severity::Warning);
                }
                continue;
            }
            proven.insert((ns, sa));
            report_missing(
                cx,
                out,
                subject,
                Message::new("sa-missing")
                    .arg("kind", kind)
                    .arg("namespace", ns)
                    .arg("workload", workload)
                    .arg("name", sa),
                ns,
                sa,
            );
        }
        // Reported by Kubernetes for workloads whose pods never came to exist.
        for e in &evidence {
            if proven.insert((&e.namespace, &e.name)) {
                report_missing(
                    cx,
                    out,
                    e.reporter.clone(),
                    reported(e),
                    &e.namespace,
                    &e.name,
                );
            }
        }
        // ServiceAccounts known only from their pods: the rest of the chain is checked
        // with the role the pods carry; the object itself is not.
        for i in cx.irsa.iter().filter(|i| i.inferred) {
            let f = out.report(
                &Self::META,
                i.subject(),
                Message::new("gap-sa-from-pods")
                    .arg("namespace", &i.sa.namespace)
                    .arg("name", &i.sa.name)
                    .arg("role", i.annotation)
                    .arg("why", unread_because(cx, &i.sa.namespace)),
            );
            f.cause = Cause::CollectionGap;
            f.severity(Severity::Warning).role(i.role_text());
            f.fix(Fix::advice(format!(
                "add the output of `kubectl get serviceaccount -n {} {} -o yaml`",
                sh(&i.sa.namespace),
                sh(&i.sa.name)
            )));
        }
    }
}
