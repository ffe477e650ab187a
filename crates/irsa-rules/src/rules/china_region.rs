//! IRSA409: China-region specifics (AWS_DEFAULT_REGION, audience).

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Fix, Severity, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::registry::Rule;
use irsa_policy::Partition;

declare_rule!(ChinaRegion, code: "IRSA409", name: "china-region", cause: ChinaRegion, severity: Error,
    summary: "In China regions, IRSA pods have AWS_DEFAULT_REGION and the audience stays sts.amazonaws.com.",
    doc: include_str!("china_region.md"));

impl Rule for ChinaRegion {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let china = cx.cluster.partition == Some(Partition::AwsCn);
        for i in &cx.irsa {
            if i.audience.ends_with(".cn") {
                out.report(
                    &Self::META,
                    i.subject(),
                    Message::new("china-audience")
                        .arg("namespace", &i.sa.namespace)
                        .arg("name", &i.sa.name)
                        .arg("audience", &i.audience),
                )
                .severity(Severity::Warning)
                .role(i.role_text())
                .fix(Fix::command(
                    "use the standard audience",
                    format!(
                        "kubectl annotate serviceaccount -n {} {} eks.amazonaws.com/audience-",
                        sh(&i.sa.namespace),
                        sh(&i.sa.name)
                    ),
                ));
            }
            if !china {
                continue;
            }
            let region = cx.cluster.region.clone().unwrap_or_default();
            let mut reported = std::collections::BTreeSet::new();
            for p in cx.pods_of_irsa(i) {
                let Some(c) = p.spec.containers.iter().find(|c| {
                    c.env("AWS_DEFAULT_REGION").is_none() && c.env("AWS_REGION").is_none()
                }) else {
                    continue;
                };
                let (kind, name, cmd) = match cx.snap.controller_of(p) {
                    Some((k, n)) => (
                        k.name().to_string(),
                        n.to_string(),
                        Some(format!(
                            "kubectl set env {}/{} -n {} AWS_DEFAULT_REGION={}",
                            k.name().to_lowercase(),
                            sh(n),
                            sh(&p.namespace),
                            sh(&region)
                        )),
                    ),
                    None => ("Pod".to_string(), p.name.to_string(), None),
                };
                if !reported.insert((kind.clone(), name.clone())) {
                    continue;
                }
                let f = out.report(
                    &Self::META,
                    Subject::namespaced(&kind, &p.namespace, &name),
                    Message::new("china-no-region")
                        .arg("container", &c.name)
                        .arg("kind", &kind)
                        .arg("namespace", &p.namespace)
                        .arg("name", &name)
                        .arg("region", &region),
                );
                f.role(i.role_text()).predicts(
                    "InvalidClientTokenId: The security token included in the request is invalid",
                );
                match cmd {
                    Some(cmd) => f.fix(Fix::command("set the region in the pod template", cmd)),
                    None => f.fix(Fix::advice(format!("add env AWS_DEFAULT_REGION={region} to the pod's manifest and re-create it"))),
                };
            }
        }
    }
}
