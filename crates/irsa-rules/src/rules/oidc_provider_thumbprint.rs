//! IRSA004: the provider's thumbprints are well-formed, with the trusted-CA context.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Fix, Severity, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::registry::Rule;

declare_rule!(OidcProviderThumbprint, code: "IRSA004", name: "oidc-provider-thumbprint", cause: OidcProviderThumbprint, severity: Warning,
    summary: "The OIDC provider's thumbprints are SHA-1 fingerprints; explains that IAM trusts EKS issuers' CAs.",
    doc: include_str!("oidc_provider_thumbprint.md"));

fn is_fingerprint(t: &str) -> bool {
    t.len() == 40 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Rule for OidcProviderThumbprint {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let Some(issuer) = &cx.cluster.issuer else {
            return;
        };
        let eks = issuer.eks.is_some();
        for p in cx
            .snap
            .providers
            .iter()
            .filter(|p| p.url == issuer.host_path)
        {
            let Some(thumbs) = &p.thumbprints else {
                continue;
            };
            let subject = Subject::global("OidcProvider", p.arn.as_deref().unwrap_or(&p.url));
            match thumbs.iter().find(|t| !is_fingerprint(t)) {
                Some(bad) => {
                    let arn = p.arn.clone().unwrap_or_default();
                    let host = issuer
                        .host_path
                        .split('/')
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let f = out.report(
                        &Self::META,
                        subject,
                        Message::new("provider-thumbprint-malformed")
                            .arg("url", &p.url)
                            .arg("thumbprint", bad),
                    );
                    if !eks {
                        f.predicts("InvalidIdentityToken: OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint");
                    } else {
                        f.severity(Severity::Warning);
                    }
                    f.fix(Fix::command(
                        "compute the top CA thumbprint of the issuer and set it",
                        format!(
                            "THUMB=$(echo | openssl s_client -servername {h} -showcerts -connect {h}:443 2>/dev/null | awk '/-----BEGIN CERTIFICATE-----/{{c=\"\"}} {{c=c $0 \"\\n\"}} /-----END CERTIFICATE-----/{{last=c}} END{{printf \"%s\", last}}' | openssl x509 -fingerprint -sha1 -noout | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')\naws iam update-open-id-connect-provider-thumbprint --open-id-connect-provider-arn {} --thumbprint-list \"$THUMB\"",
                            sh(&arn),
                            h = host
                        ),
                    ));
                }
                None if eks => {
                    let f = out.report(
                        &Self::META,
                        subject,
                        Message::new("provider-thumbprint-note")
                            .arg("url", &p.url)
                            .arg("thumbprints", format!("{thumbs:?}")),
                    );
                    f.severity(Severity::Info);
                }
                None => {}
            }
        }
    }
}
