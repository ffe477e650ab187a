//! IRSA603: session tags and the session policy of each EKS Pod Identity association
//! fit the roles' trust policies.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Fix, Severity};
use crate::fixes::sh;
use crate::messages::Message;
use crate::pod_identity::{HopTrust, ACCESS_DENIED};
use crate::registry::Rule;

declare_rule!(PodIdentitySessionTags, code: "IRSA603", name: "pod-identity-session-tags", cause: PodIdentitySessionTags, severity: Error,
    summary: "An association that disables session tags is not used with a role whose trust requires them; a session policy is noted.",
    doc: include_str!("pod_identity_session_tags.md"));

impl Rule for PodIdentitySessionTags {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        for c in cx.pod_identity_chains() {
            let a = c.assoc;
            for h in c.first.iter().chain(c.target.iter()) {
                let HopTrust::Evaluated {
                    tags_would_allow: true,
                    ..
                } = &h.trust
                else {
                    continue;
                };
                // Decided twice by the policy engine: denied as the association is (no
                // `aws:RequestTag/*`, no `sts:TagSession`), allowed with the tags on.
                out.report(
                    &Self::META,
                    c.subject(),
                    Message::new("pi-tags-disabled")
                        .arg("id", c.id())
                        .arg("namespace", &a.namespace)
                        .arg("name", &a.service_account)
                        .arg("role", &h.arn),
                )
                .role(&h.arn)
                .predicts(ACCESS_DENIED)
                .fix(Fix::command(
                    "turn the session tags back on (or drop the tag conditions from the trust policy)",
                    format!(
                        "aws eks update-pod-identity-association {} --association-id {} --no-disable-session-tags",
                        c.cluster_args(cx),
                        sh(&c.id())
                    ),
                ));
            }
            // A session policy narrows what the role allows (API_PodIdentityAssociation.html,
            // `policy`): worth knowing when a call is denied although the role allows it.
            if let Some(p) = &a.policy {
                out.report(
                    &Self::META,
                    c.subject(),
                    Message::new("pi-session-policy")
                        .arg("id", c.id())
                        .arg("namespace", &a.namespace)
                        .arg("name", &a.service_account)
                        .arg("size", p.chars().count().to_string()),
                )
                .severity(Severity::Info)
                .role(c.role_text());
            }
        }
    }
}
