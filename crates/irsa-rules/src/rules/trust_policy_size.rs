//! IRSA209: the trust policy is not at or near its size quota.

use crate::context::{Context, Out, RoleState};
use crate::declare_rule;
use crate::finding::{Fix, Severity, Subject};
use crate::messages::Message;
use crate::registry::Rule;
use irsa_policy::size::{PolicySize, DEFAULT_QUOTA, MAX_QUOTA};
use std::collections::BTreeSet;

declare_rule!(TrustPolicySizeRule, code: "IRSA209", name: "trust-policy-size", cause: TrustPolicySize, severity: Warning,
    summary: "The trust policy has room for another cluster under the 2,048-character quota.",
    doc: include_str!("trust_policy_size.md"));

impl Rule for TrustPolicySizeRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let mut seen = BTreeSet::new();
        let host = cx
            .cluster
            .issuer
            .as_ref()
            .map(|i| i.host_path.clone())
            .unwrap_or_default();
        for i in &cx.irsa {
            let RoleState::Found(r) = &i.role else {
                continue;
            };
            let Some(Ok(doc)) = &r.trust else { continue };
            if !seen.insert(r.arn.clone()) {
                continue;
            }
            let size = PolicySize::of_text(&doc.raw);
            let next = PolicySize::typical_statement_cost(&host);
            let (severity, extra) = if size.compact > MAX_QUOTA {
                (
                    Severity::Error,
                    format!(": over the maximum quota of {MAX_QUOTA}"),
                )
            } else if size.compact >= DEFAULT_QUOTA {
                (Severity::Warning, ": at the default quota, so the account must have the raised quota; adding a cluster needs more".to_string())
            } else if size.headroom(DEFAULT_QUOTA) < next as i64
                || size.compact * 10 >= DEFAULT_QUOTA * 9
            {
                (
                    Severity::Warning,
                    format!(
                        ": another cluster's statement (about {next} characters) would not fit"
                    ),
                )
            } else {
                continue;
            };
            out.report(
                &Self::META,
                Subject::global("Role", &r.arn),
                Message::new("trust-size")
                    .arg("role", &r.arn)
                    .arg("size", size.compact.to_string())
                    .arg("quota", DEFAULT_QUOTA.to_string())
                    .arg("extra", extra),
            )
            .severity(severity)
            .role(&r.arn)
            .fix(Fix::advice("request the raised trust-policy quota (Service Quotas: IAM \"Role trust policy length\", up to 4,096), or split clusters across roles"));
        }
    }
}
