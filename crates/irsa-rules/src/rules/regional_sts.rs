//! IRSA410: pods use the regional STS endpoint where the global one fails.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::Fix;
use crate::fixes::sh;
use crate::messages::Message;
use crate::registry::Rule;

declare_rule!(RegionalStsRule, code: "IRSA410", name: "regional-sts", cause: RegionalSts, severity: Warning,
    summary: "Pods use the regional STS endpoint in opt-in regions and private clusters.",
    doc: include_str!("regional_sts.md"));

const OPT_IN: [&str; 16] = [
    "af-south-1",
    "ap-east-1",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-west-1",
    "eu-south-1",
    "eu-south-2",
    "eu-central-2",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "ap-east-2",
];

impl Rule for RegionalStsRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let region = cx.cluster.region.clone().unwrap_or_default();
        let private = cx
            .snap
            .cluster()
            .is_some_and(|c| c.endpoint_public == Some(false));
        let why = if OPT_IN.contains(&region.as_str()) {
            format!("{region} is an opt-in region, where global-endpoint credentials are invalid (InvalidClientTokenId)")
        } else if private {
            "the cluster's API endpoint is private only, so nodes often reach only the regional STS endpoint".to_string()
        } else {
            return;
        };
        for i in &cx.irsa {
            let pods: Vec<_> = cx
                .pods_of_irsa(i)
                .filter(|p| {
                    p.spec.containers.iter().any(|c| {
                        c.env("AWS_STS_REGIONAL_ENDPOINTS")
                            .and_then(|e| e.value.as_deref())
                            != Some("regional")
                    })
                })
                .collect();
            if let Some(p) = pods.first() {
                out.report(
                    &Self::META,
                    i.subject(),
                    Message::new("regional-sts").arg("kind", "ServiceAccount").arg("namespace", &i.sa.namespace).arg("name", &i.sa.name).arg("why", &why),
                )
                .role(i.role_text())
                .fix(Fix::command(
                    "ask the webhook for the regional endpoint",
                    format!("kubectl annotate serviceaccount -n {} {} eks.amazonaws.com/sts-regional-endpoints=true --overwrite", sh(&i.sa.namespace), sh(&i.sa.name)),
                ))
                .fix(crate::fixes::recreate_pod(cx, p));
            }
        }
    }
}
