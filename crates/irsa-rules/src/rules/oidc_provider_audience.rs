//! IRSA003: the provider's audiences (ClientIDList) include the token audience.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Cause, Severity, Subject};
use crate::fixes::add_audience;
use crate::messages::Message;
use crate::registry::Rule;
use irsa_policy::StsError;
use std::collections::BTreeMap;

declare_rule!(OidcProviderAudience, code: "IRSA003", name: "oidc-provider-audience", cause: OidcProviderAudience, severity: Error,
    summary: "The OIDC provider's ClientIDList contains the audience the pods' tokens carry.",
    doc: include_str!("oidc_provider_audience.md"));

impl Rule for OidcProviderAudience {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let Some(issuer) = &cx.cluster.issuer else {
            return;
        };
        // (account, audience) → users, borrowed (named only in a finding: a large cluster
        // has one pair and a hundred thousand users).
        let mut wanted: BTreeMap<(&str, &str), Vec<&crate::context::SaIrsa<'_>>> = BTreeMap::new();
        for i in &cx.irsa {
            if let Ok(r) = &i.role_arn {
                wanted
                    .entry((r.account.as_str(), i.audience.as_str()))
                    .or_default()
                    .push(i);
            }
        }
        for ((account, audience), users) in wanted {
            let Some(p) = cx
                .snap
                .providers_in(account)
                .find(|p| p.url == issuer.host_path)
            else {
                continue;
            };
            let arn = p.arn.clone().unwrap_or_default();
            let subject = Subject::global("OidcProvider", &arn);
            match &p.client_ids {
                None => {
                    let f = out.report(
                        &Self::META,
                        subject,
                        Message::new("gap-provider-read")
                            .arg("url", &p.url)
                            .arg("arn", &arn),
                    );
                    f.cause = Cause::CollectionGap;
                    f.severity(Severity::Warning);
                }
                Some(ids) if ids.iter().any(|id| id == audience) => out.pass(
                    &Self::META,
                    subject,
                    Message::new("provider-audience-ok")
                        .arg("url", &p.url)
                        .arg("audience", audience),
                ),
                Some(ids) => {
                    out.report(
                        &Self::META,
                        subject,
                        Message::new("provider-audience-missing")
                            .arg("url", &p.url)
                            .arg("client_ids", format!("{ids:?}"))
                            .arg("audience", audience)
                            .arg(
                                "users",
                                users
                                    .iter()
                                    .map(|i| format!("{}/{}", i.sa.namespace, i.sa.name))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            ),
                    )
                    .predicts(StsError::incorrect_audience().text())
                    .fix(add_audience(&arn, audience));
                }
            }
        }
    }
}
