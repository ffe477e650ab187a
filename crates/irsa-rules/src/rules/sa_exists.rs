//! IRSA301: the ServiceAccount a workload or pod names exists.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Cause, Fix, Severity, Subject};
use crate::fixes::{annotate, sh};
use crate::messages::Message;
use crate::registry::Rule;
use std::collections::BTreeSet;

declare_rule!(SaExists, code: "IRSA301", name: "sa-exists", cause: SaMissing, severity: Error,
    summary: "The ServiceAccount each workload (or bare pod) runs as exists.",
    doc: include_str!("sa_exists.md"));

impl Rule for SaExists {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let mut users: Vec<(String, String, String, String)> = cx
            .pod_specs()
            .map(|(kind, ns, name, spec)| {
                (
                    kind.to_string(),
                    ns.to_string(),
                    name.to_string(),
                    spec.effective_service_account().to_string(),
                )
            })
            .collect();
        if let Some((ns, name)) = cx.selected_service_account() {
            users.push(("ServiceAccount".into(), ns.clone(), name.clone(), name));
        }
        let mut gaps = BTreeSet::new();
        let mut done = BTreeSet::new();
        for (kind, ns, workload, sa) in users {
            if sa == "default" || !done.insert((kind.clone(), ns.clone(), workload.clone())) {
                continue;
            }
            if cx.snap.service_account(&ns, &sa).is_some() {
                continue;
            }
            if !cx.snap.coverage.service_accounts.covers(&ns) {
                if gaps.insert((ns.clone(), sa.clone())) {
                    let f = out.report(
                        &Self::META,
                        Subject::namespaced("ServiceAccount", &ns, &sa),
                        Message::new("gap-sa")
                            .arg("namespace", &ns)
                            .arg("name", &sa),
                    );
                    f.cause = Cause::CollectionGap;
                    f.severity(Severity::Info);
                }
                continue;
            }
            let subject = if kind == "ServiceAccount" {
                Subject::namespaced("ServiceAccount", &ns, &sa)
            } else {
                Subject::namespaced(&kind, &ns, &workload)
            };
            let f = out.report(
                &Self::META,
                subject,
                Message::new("sa-missing")
                    .arg("kind", &kind)
                    .arg("namespace", &ns)
                    .arg("workload", &workload)
                    .arg("name", &sa),
            );
            f.fix(Fix::command(
                format!("create ServiceAccount {ns}/{sa}"),
                format!("kubectl create serviceaccount -n {} {}", sh(&ns), sh(&sa)),
            ));
            match cx.roles_trusting(&ns, &sa).first() {
                Some(role) => {
                    f.role(*role);
                    f.fix(annotate(&ns, &sa, role));
                }
                None => {
                    f.fix(Fix::advice(format!(
                        "then annotate it: kubectl annotate serviceaccount -n {ns} {sa} eks.amazonaws.com/role-arn=<the role's ARN> (no role in the snapshot trusts it yet)"
                    )));
                }
            }
        }
    }
}
