//! IRSA304: the webhook's optional annotations have values it understands.

use crate::context::{Context, Out, AUDIENCE_ANNOTATION};
use crate::declare_rule;
use crate::finding::{Fix, Severity, Subject};
use crate::messages::Message;
use crate::registry::Rule;

declare_rule!(SaAnnotationOptions, code: "IRSA304", name: "sa-annotation-options", cause: SaAnnotationOptions, severity: Warning,
    summary: "`audience`, `sts-regional-endpoints` and `token-expiration` annotations have valid values.",
    doc: include_str!("sa_annotation_options.md"));

const BOOLS: [&str; 12] = [
    "1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False",
];

fn problem(key: &str, value: &str) -> Option<(String, Severity)> {
    match key {
        "eks.amazonaws.com/sts-regional-endpoints" if !BOOLS.contains(&value) => Some((
            "not a boolean the webhook accepts (true/false/1/0/t/f); it is ignored and the default applies".into(),
            Severity::Warning,
        )),
        "eks.amazonaws.com/token-expiration" => match value.parse::<i64>() {
            Err(_) => Some(("not a whole number of seconds; the default 86400 applies".into(), Severity::Warning)),
            Ok(v) if v < 600 => Some((format!("{v}s is below the 600s minimum; the webhook raises it to 600"), Severity::Info)),
            Ok(_) => None,
        },
        AUDIENCE_ANNOTATION if value.trim().is_empty() => Some(("empty; the default audience sts.amazonaws.com applies".into(), Severity::Warning)),
        AUDIENCE_ANNOTATION if value.trim() != value => Some((
            "padded with white space; the token audience then differs from what the provider lists".into(),
            Severity::Warning,
        )),
        _ => None,
    }
}

impl Rule for SaAnnotationOptions {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        for sa in cx
            .snap
            .service_accounts
            .values()
            .filter(|s| cx.sa_in_scope(&s.namespace, &s.name))
        {
            for (k, v) in &sa.annotations {
                if let Some((why, sev)) = problem(k, v) {
                    out.report(
                        &Self::META,
                        Subject::namespaced("ServiceAccount", &sa.namespace, &sa.name),
                        Message::new("sa-option-invalid")
                            .arg("key", k)
                            .arg("namespace", &sa.namespace)
                            .arg("name", &sa.name)
                            .arg("value", v)
                            .arg("why", why),
                    )
                    .severity(sev)
                    .fix(Fix::advice(format!(
                        "kubectl annotate serviceaccount -n {} {} {k}=<valid value> --overwrite",
                        sa.namespace, sa.name
                    )));
                }
            }
        }
        for p in cx.pods_in_scope() {
            if let Some(v) = p.annotations.get("eks.amazonaws.com/token-expiration") {
                if let Some((why, sev)) = problem("eks.amazonaws.com/token-expiration", v) {
                    out.report(
                        &Self::META,
                        Subject::namespaced("Pod", &p.namespace, &p.name),
                        Message::new("sa-option-invalid")
                            .arg("key", "eks.amazonaws.com/token-expiration")
                            .arg("namespace", &p.namespace)
                            .arg("name", &p.name)
                            .arg("value", v)
                            .arg("why", why),
                    )
                    .severity(sev);
                }
            }
        }
    }
}
