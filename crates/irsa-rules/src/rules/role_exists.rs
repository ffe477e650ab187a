//! IRSA101: the annotated role exists.

use crate::context::{Context, Out, RoleState};
use crate::declare_rule;
use crate::finding::{Cause, Fix, Severity, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::registry::Rule;
use crate::rules::trust_report::ACCESS_DENIED;

declare_rule!(RoleExists, code: "IRSA101", name: "role-exists", cause: RoleNotFound, severity: Error,
    summary: "The role named by the ServiceAccount annotation exists.",
    doc: include_str!("role_exists.md"));

impl Rule for RoleExists {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        for i in &cx.irsa {
            let Ok(arn) = &i.role_arn else { continue };
            // `role_shown` is this ARN's text: shared by the pass, not copied into it.
            let subject = Subject::global("Role", i.role_shown.clone());
            match &i.role {
                RoleState::Found(r) => out.pass(
                    &Self::META,
                    subject,
                    if r.arn == *i.role_shown {
                        Message::new("role-found").arg("role", &i.role_shown)
                    } else {
                        Message::new("role-found").arg("role", &r.arn)
                    },
                ),
                RoleState::NotFound(why) => {
                    out.report(
                        &Self::META,
                        i.subject(),
                        Message::new("role-not-found").arg("role", arn.to_string()).arg("account", &arn.account).arg("evidence", format!(" ({why})")),
                    )
                    .role(arn.to_string())
                    .predicts(ACCESS_DENIED)
                    .fix(Fix::advice(format!(
                        "create role {} with a trust policy for this cluster, or annotate {}/{} with an existing role",
                        arn.name, i.sa.namespace, i.sa.name
                    )));
                }
                RoleState::NotCollected => {
                    // A recorded failure of the read says why (AccessDenied names the permission).
                    let failed = cx.snap.inputs.collection_failures.iter().find(|f| {
                        f.command.contains("get-role")
                            && f.command.split_whitespace().any(|w| w == arn.name)
                    });
                    let message = match failed {
                        // NoSuchEntity from credentials of an unknown account proves nothing.
                        Some(fl)
                            if cx.snap.caller_account.is_none()
                                && fl.error.contains("NoSuchEntity") =>
                        {
                            Message::new("gap-role-account-unknown")
                                .arg("role", arn.to_string())
                                .arg("account", &arn.account)
                                .arg("name", sh(&arn.name))
                        }
                        Some(fl) => Message::new("gap-role-failed")
                            .arg("role", arn.to_string())
                            .arg("command", &fl.command)
                            .arg("error", &fl.error),
                        None => Message::new("gap-role")
                            .arg("role", arn.to_string())
                            .arg("name", sh(&arn.name)),
                    };
                    let f = out.report(&Self::META, i.subject(), message);
                    f.cause = Cause::CollectionGap;
                    f.severity(Severity::Warning).role(arn.to_string());
                    if let Some(p) =
                        failed.and_then(|fl| irsa_model::recorded::permission_named(&fl.error))
                    {
                        f.fix(Fix::advice(format!(
                            "grant {p} to the identity that reads the account (docs/iam-policy.json), or read the role with credentials of account {}",
                            arn.account
                        )));
                    }
                }
            }
        }
    }
}
