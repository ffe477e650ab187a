//! IRSA001: the cluster has an OIDC issuer.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Fix, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::registry::Rule;

declare_rule!(ClusterIssuer, code: "IRSA001", name: "cluster-issuer", cause: ClusterNoOidcIssuer, severity: Error,
    summary: "The cluster reports an OIDC issuer URL.",
    doc: include_str!("cluster_issuer.md"));

impl Rule for ClusterIssuer {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        match (cx.snap.cluster(), &cx.cluster.issuer) {
            (Some(c), Some(i)) => out.pass(
                &Self::META,
                Subject::global("Cluster", &c.name),
                Message::new("cluster-issuer-ok")
                    .arg("cluster", &c.name)
                    .arg("issuer", &i.url),
            ),
            (Some(c), None) if c.issuer.is_none() => {
                out.report(
                    &Self::META,
                    Subject::global("Cluster", &c.name),
                    Message::new("cluster-no-issuer").arg("cluster", &c.name),
                )
                .fix(Fix::command(
                    "check the issuer of the cluster",
                    format!("aws eks describe-cluster --name {} --query cluster.identity.oidc.issuer --output text", sh(&c.name)),
                ));
            }
            (_, Some(_)) => {}
            (_, None) if cx.irsa.is_empty() => {}
            (c, None) => {
                let f = out.report(
                    &Self::META,
                    Subject::global("Cluster", c.map(|c| c.name.as_str()).unwrap_or("(unknown)")),
                    Message::new("gap-no-cluster").arg(
                        "what",
                        "the OIDC provider, the trust policy and the predicted STS answer",
                    ),
                );
                f.cause = crate::finding::Cause::CollectionGap;
                f.severity(crate::finding::Severity::Warning);
            }
        }
    }
}
