//! IRSA900: what could not be read or collected, and what to add.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Fix, Severity, Subject};
use crate::messages::Message;
use crate::registry::Rule;

declare_rule!(Inputs, code: "IRSA900", name: "inputs", cause: CollectionGap, severity: Warning,
    summary: "Every input was read; what was skipped or failed is reported with what to add.",
    doc: include_str!("inputs.md"));

impl Rule for Inputs {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let inputs = &cx.snap.inputs;
        for r in &inputs.rejected {
            out.report(
                &Self::META,
                Subject::global("Input", &r.path),
                Message::new("gap-rejected")
                    .arg("path", r.to_string().split(": ").next().unwrap_or(&r.path))
                    .arg("error", &r.error),
            )
            .fix(Fix::advice(if r.error.starts_with("invalid YAML") {
                // The file was YAML: the advice keeps its format.
                "re-create the file with the command's `-o yaml`/`--output yaml` output, unedited"
            } else {
                "re-create the file with the command's `-o json`/`--output json` output, unedited"
            }));
        }
        // One line per distinct failure (an unreachable endpoint or missing
        // credentials fail every read the same way), naming up to three commands.
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for f in &inputs.collection_failures {
            if irsa_model::recorded::is_not_found(&f.error) {
                // A recorded answer ("it does not exist"), used as evidence by the rule
                // that reads that object; that rule names a gap if it cannot use it.
                out.report(
                    &Self::META,
                    Subject::global("Input", &f.command),
                    Message::new("recorded-not-found")
                        .arg("command", &f.command)
                        .arg("error", &f.error),
                )
                .severity(Severity::Info);
                continue;
            }
            match groups.iter_mut().find(|(e, _)| *e == f.error) {
                Some((_, commands)) => commands.push(&f.command),
                None => groups.push((&f.error, vec![&f.command])),
            }
        }
        for (error, commands) in groups {
            let first = commands[0];
            let advice = match irsa_model::recorded::permission_named(error) {
                Some(p) => format!(
                    "grant {p} to the identity that collects (see README: least privilege), then re-run `{first}`"
                ),
                None if error.contains("AccessDenied")
                    || error.contains("Forbidden")
                    || error.contains("forbidden") =>
                {
                    "grant the read permission named in the error (see README: least privilege)"
                        .to_string()
                }
                None => format!("re-run `{first}`"),
            };
            let message = match commands.len() {
                1 => Message::new("gap-collection")
                    .arg("command", first)
                    .arg("error", error),
                // Up to four named: an EKS endpoint that refuses fails the cluster
                // side's four reads together (describe-cluster, the associations, the
                // agent's add-on, the node groups), and each names a check it skips.
                n @ 2..=4 => Message::new("gap-collection-few")
                    .arg(
                        "commands",
                        commands[..n - 1]
                            .iter()
                            .map(|c| format!("`{c}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                    .arg("last", commands[n - 1])
                    .arg("error", error),
                n => Message::new("gap-collection-many")
                    .arg("command", first)
                    .arg("others", (n - 1).to_string())
                    .arg("error", error),
            };
            out.report(&Self::META, Subject::global("Input", first), message)
                .fix(Fix::advice(advice));
        }
        for s in &inputs.skipped_files {
            let count = if s.count > 1 {
                format!(" ({} documents)", s.count)
            } else {
                String::new()
            };
            let f = out
                .report(
                    &Self::META,
                    Subject::global("Input", &s.path),
                    Message::new("gap-skipped")
                        .arg("path", &s.path)
                        .arg("what", &s.why)
                        .arg("count", count),
                )
                .severity(Severity::Info);
            if let Some(kind) = s.role_unknown {
                // Not checked until the role is named: a warning, with both ways to name it.
                let (flag, one_liner) = kind.hints(&s.path);
                f.severity(Severity::Warning)
                    .fix(Fix::advice(format!(
                        "name its role on the command line: {flag} (in place of the folder's copy)"
                    )))
                    .fix(Fix::command(
                        "or re-run the command into an envelope that names the role",
                        one_liner,
                    ));
            }
        }
        let meant_for_irsa =
            !cx.irsa.is_empty() || !crate::pod_identity::associations(cx).is_empty();
        if !meant_for_irsa && !cx.snap.service_accounts.is_empty() {
            out.report(
                &Self::META,
                Subject::global("Input", "snapshot"),
                Message::new("gap-no-irsa"),
            )
            .severity(Severity::Info);
        }
    }
}
