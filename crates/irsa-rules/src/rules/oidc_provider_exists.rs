//! IRSA002: an IAM OIDC provider for the cluster's issuer exists in the role's account.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Cause, Severity, Subject};
use crate::fixes::create_provider;
use crate::messages::Message;
use crate::registry::Rule;
use crate::rules::trust_report::describe_differences;
use irsa_policy::issuer::issuer_differences;
use irsa_policy::StsError;
use std::collections::BTreeSet;

declare_rule!(OidcProviderExists, code: "IRSA002", name: "oidc-provider-exists", cause: OidcProviderMissing, severity: Error,
    summary: "An IAM OIDC provider for the cluster's issuer exists in the account of each annotated role.",
    doc: include_str!("oidc_provider_exists.md"));

impl Rule for OidcProviderExists {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let Some(issuer) = &cx.cluster.issuer else {
            return;
        };
        // Borrowed: a large cluster has a hundred thousand ServiceAccounts in a few accounts.
        let accounts: BTreeSet<&str> = cx
            .irsa
            .iter()
            .filter_map(|i| i.role_arn.as_ref().ok().map(|r| r.account.as_str()))
            .collect();
        for account in accounts {
            // Named only in the finding of a missing provider.
            let users = || -> Vec<String> {
                cx.irsa
                    .iter()
                    .filter(|i| i.role_arn.as_ref().is_ok_and(|r| r.account == account))
                    .map(|i| format!("{}/{}", i.sa.namespace, i.sa.name))
                    .collect()
            };
            let found = cx
                .snap
                .providers_in(account)
                .find(|p| p.url == issuer.host_path);
            // Named by the ARN it has (or must have), as the other provider rules name it.
            let partition = cx
                .irsa
                .iter()
                .find_map(|i| {
                    i.role_arn
                        .as_ref()
                        .ok()
                        .filter(|r| r.account == account)
                        .map(|r| r.partition)
                })
                .unwrap_or(irsa_policy::Partition::Aws);
            let subject = Subject::global(
                "OidcProvider",
                irsa_policy::OidcProviderArn::for_issuer(partition, account, &issuer.host_path)
                    .to_string(),
            );
            if let Some(p) = found {
                out.pass(
                    &Self::META,
                    subject,
                    Message::new("provider-ok")
                        .arg("url", &p.url)
                        .arg("account", account),
                );
                continue;
            }
            if !cx.snap.providers_listed_in(account) {
                let f = out.report(
                    &Self::META,
                    subject,
                    Message::new("gap-providers").arg("account", account).arg(
                        "what",
                        format!("a provider for {} exists", issuer.host_path),
                    ),
                );
                f.cause = Cause::CollectionGap;
                f.severity(Severity::Warning);
                continue;
            }
            let near: Vec<String> = cx
                .snap
                .providers_in(account)
                .filter_map(|p| {
                    let d = issuer_differences(&p.url, &issuer.host_path);
                    let close = !d.is_empty()
                        && !d
                            .iter()
                            .any(|x| matches!(x, irsa_policy::IssuerDifference::Other { .. }));
                    close.then(|| format!("{} ({})", p.url, describe_differences(&d)))
                })
                .collect();
            let near = if near.is_empty() {
                String::new()
            } else {
                format!(
                    "; the account has {}, which does not match",
                    near.join(", ")
                )
            };
            let f = out.report(
                &Self::META,
                subject,
                Message::new("provider-missing")
                    .arg("url", &issuer.host_path)
                    .arg("account", account)
                    .arg("near", format!("{near}; used by {}", users().join(", "))),
            );
            f.predicts(StsError::no_provider(&issuer.url).text());
            for fix in create_provider(cx, account) {
                f.fix(fix);
            }
        }
    }
}
