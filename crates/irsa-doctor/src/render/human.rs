//! Human report: grouped as the data flows (cluster & OIDC provider → roles →
//! ServiceAccounts → workloads & pods), one line per link with ✔ ✘ ! ? i, the
//! predicted STS error, then the fix as copy-pasteable commands.

use irsa_model::InputReport;
use irsa_policy::StsPrediction;
use irsa_rules::{Cause, Chain, Finding, Report, Severity, Status, Subject};
use std::collections::HashSet;
use std::fmt::Write;

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

const SECTIONS: [(&str, &[&str]); 5] = [
    (
        "Cluster & OIDC provider",
        &["Cluster", "OidcProvider", "Webhook"],
    ),
    ("Roles", &["Role"]),
    ("ServiceAccounts", &["ServiceAccount"]),
    (
        "Workloads & pods",
        &[
            "Pod",
            "Deployment",
            "DaemonSet",
            "StatefulSet",
            "Job",
            "CronJob",
            "ReplicaSet",
        ],
    ),
    ("Inputs", &["Input"]),
];

fn mark(f: &Finding, st: &Style) -> String {
    if f.cause == Cause::CollectionGap {
        return st.paint("36", "?");
    }
    match f.severity {
        Severity::Error => st.paint("31;1", "✘"),
        Severity::Warning => st.paint("33;1", "!"),
        Severity::Info => st.paint("34", "i"),
    }
}

/// One verdict line: the outcome, STS's answer, what the SDK does, and why.
fn verdict_line(c: &Chain, st: &Style) -> String {
    let who = format!(
        "{}/{}",
        c.subject.namespace.clone().unwrap_or_default(),
        c.subject.name
    );
    let role = match &c.prediction {
        StsPrediction::Success { role } => role.clone(),
        _ => c.role_arn.clone(),
    };
    let v = &c.verdict;
    let tag = v
        .cause
        .map(|cause| st.dim(&format!(" [{} {}]", v.rule.unwrap_or_default(), cause.id())))
        .unwrap_or_default();
    match v.status {
        Status::Works if v.sdk.contains("not checked") => format!(
            "{} {who} → {role}: credentials issued; its {} pod(s) use them if their SDK supports web identity (which SDK: not checked, IRSA408)",
            st.paint("32", "✔"),
            c.pods
        ),
        Status::Works => format!(
            "{} {who} → {role}: credentials issued; the SDK in its {} pod(s) uses them",
            st.paint("32", "✔"),
            c.pods
        ),
        Status::AtRisk => format!(
            "{} {who} → {role}: credentials issued, but at risk{tag}",
            st.paint("33;1", "!")
        ),
        Status::Fails if matches!(c.prediction, StsPrediction::Error(_)) => format!(
            "{} {who} → {role}: {}{tag}",
            st.paint("31;1", "✘"),
            st.paint("31", &v.sts)
        ),
        Status::Fails => format!(
            "{} {who} → {role}: STS would issue credentials, but the SDK {}{tag}",
            st.paint("31;1", "✘"),
            st.paint("31", &v.sdk)
        ),
        Status::NotChecked => format!(
            "{} {who} → {role}: not checked: {}",
            st.paint("36", "?"),
            v.reason
        ),
        Status::NoPods => format!(
            "{} {who} → {role}: STS would issue credentials, but no pod runs as it{tag}",
            st.paint("36", "-")
        ),
    }
}

/// Renders the report.
pub fn report(r: &Report, inputs: &InputReport, sources: &str, color: bool) -> String {
    let st = Style { color };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}",
        st.bold("irsa-doctor"),
        st.dim(&format!(
            "· {sources} ({} files, {} objects read)",
            inputs.files, inputs.objects
        ))
    );
    let mut printed_fixes: HashSet<String> = HashSet::new();
    for (title, kinds) in SECTIONS {
        let passes: Vec<_> = r
            .passes
            .iter()
            .filter(|p| kinds.contains(&p.subject.kind.as_str()))
            .collect();
        let findings: Vec<_> = r
            .findings
            .iter()
            .filter(|f| kinds.contains(&f.subject.kind.as_str()))
            .collect();
        if passes.is_empty() && findings.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{}", st.bold(title));
        // One block per subject, in order of first appearance.
        let mut subjects: Vec<&Subject> = Vec::new();
        for s in passes
            .iter()
            .map(|p| &p.subject)
            .chain(findings.iter().map(|f| &f.subject))
        {
            if !subjects.contains(&s) {
                subjects.push(s);
            }
        }
        let grouped =
            subjects.len() > 1 || title == "ServiceAccounts" || title == "Workloads & pods";
        let pad = if grouped { "    " } else { "  " };
        for subject in subjects {
            if grouped {
                let _ = writeln!(out, "  {}", st.paint("1;34", &subject.display()));
            }
            for p in passes.iter().filter(|p| &p.subject == subject) {
                let _ = writeln!(out, "{pad}{} {}", st.paint("32", "✔"), p.message.render());
            }
            for f in findings.iter().filter(|f| &f.subject == subject) {
                let _ = writeln!(
                    out,
                    "{pad}{} {} {}",
                    mark(f, &st),
                    f.message.render(),
                    st.dim(&format!("[{} {}]", f.rule, f.cause.id()))
                );
                if let Some(e) = &f.predicted_error {
                    // Who says it: STS for the credential exchange, the service for
                    // a later call, the SDK for its own failures.
                    let who = match f.cause {
                        Cause::RolePermissions => "AWS answers:",
                        Cause::SdkTooOld => "the SDK says:",
                        _ => "STS answers:",
                    };
                    let _ = writeln!(out, "{pad}    {} {}", st.dim(who), st.paint("31", e));
                }
                for fix in &f.fix {
                    let key = format!(
                        "{}\n{}",
                        fix.summary,
                        fix.command.clone().unwrap_or_default()
                    );
                    if !printed_fixes.insert(key) {
                        let _ = writeln!(
                            out,
                            "{pad}    {} {}",
                            st.dim("fix:"),
                            st.dim(&format!("{} (as above)", fix.summary))
                        );
                        continue;
                    }
                    let _ = writeln!(out, "{pad}    {} {}", st.paint("32", "fix:"), fix.summary);
                    if let Some(cmd) = &fix.command {
                        // Flush left: a pasted heredoc only ends at an unindented `EOF`.
                        let _ = writeln!(out, "{}", st.paint("36", cmd));
                    }
                }
            }
        }
    }
    if !r.chains.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            st.bold("Verdict: what each ServiceAccount's pods get (STS's answer, then the SDK in the pod)")
        );
        for c in &r.chains {
            let _ = writeln!(out, "  {}", verdict_line(c, &st));
        }
    }
    if let Some(why) = &r.nothing_checked {
        let _ = writeln!(out, "\n{} {}", st.paint("36;1", "?"), st.bold(why));
    }
    let s = r.summary;
    let c = s.checked;
    let _ = writeln!(
        out,
        "\nchecked: {} ServiceAccount(s), {} role(s), {} pod(s), {} workload(s); {} of {} role chain(s) decided end to end{}",
        c.serviceaccounts,
        c.roles,
        c.pods,
        c.workloads,
        c.chains,
        r.chains.len(),
        if s.not_checked > 0 {
            format!(" · {} link(s) not checked (?)", s.not_checked)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        out,
        "{} error(s), {} warning(s), {} info · {} check(s) passed",
        if s.error > 0 {
            st.paint("31;1", &s.error.to_string())
        } else {
            s.error.to_string()
        },
        s.warning,
        s.info,
        r.passes.len()
    );
    out
}
