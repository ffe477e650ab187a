//! Human report. The answer first: one verdict line per ServiceAccount, from its
//! end-to-end verdict (✘ fails, ? not checked, ! at risk, - no pod, ✔ works; failing
//! ones first, with the finding that decided it), then the details grouped as the data flows (cluster & OIDC provider →
//! roles → ServiceAccounts → workloads & pods → inputs): findings with ✘ ! ? i, the
//! predicted STS error and the fix. Passes are counted per section unless `-v` lists
//! them; `-q` keeps errors only. Text wraps to the width with a hanging indent; fix
//! commands are never wrapped and start at column 0, so they paste as they are; a fix
//! with placeholders is a template, printed commented out. Last, what was checked and
//! the counts.

use irsa_model::InputReport;
use irsa_policy::StsPrediction;
use irsa_rules::messages::plurals;
use irsa_rules::{Cause, Chain, Finding, Fix, Report, Severity, Status, Subject};
use std::collections::HashSet;
use std::fmt::Write;

/// How to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// ANSI colours.
    pub color: bool,
    /// Wrap to this many columns (None: no wrapping).
    pub width: Option<usize>,
    /// `-v`: list passes and notes.
    pub verbose: bool,
    /// `-q`: errors only.
    pub errors_only: bool,
}

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        super::paint(self.color, code, s)
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

/// The note IAM's thumbprint handling needs once, not per provider (shown with -v).
const THUMBPRINT_NOTE: &str = "provider-thumbprint-note";

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

/// `text` wrapped to the width: the first line after `first`, the others after
/// `rest` (a hanging indent). Never splits words such as URLs or ARNs.
fn wrap(o: &Options, first: &str, rest: &str, text: &str) -> String {
    match o.width {
        Some(w) if w > rest.len() + 20 => {
            let opts = textwrap::Options::new(w)
                .initial_indent(first)
                .subsequent_indent(rest)
                .break_words(false)
                .word_splitter(textwrap::WordSplitter::NoHyphenation);
            textwrap::fill(text, opts)
        }
        _ => format!("{first}{text}"),
    }
}

fn who(s: &Subject) -> String {
    match &s.namespace {
        Some(ns) => format!("{ns}/{}", s.name),
        None => s.name.to_string(),
    }
}

/// Where a verdict sorts: failing ServiceAccounts first, then the unknown, the ones at
/// risk, the unused, and those that work.
fn rank(status: Status) -> u8 {
    match status {
        Status::Fails => 0,
        Status::NotChecked => 1,
        Status::AtRisk => 2,
        Status::NoPods => 3,
        Status::Works => 4,
    }
}

/// One verdict line per ServiceAccount, from its end-to-end verdict (STS's answer, then
/// what the SDK in its pods does), and where it sorts. The reason is the finding that
/// decided the verdict, so the line and the details below never disagree.
fn verdict(c: &Chain, st: &Style) -> (u8, String) {
    let who = who(&c.subject);
    let role = match &c.prediction {
        StsPrediction::Success { role } => role.clone(),
        _ => c.role_arn.to_string(),
    };
    // Pod Identity chains: the agent (EKS Auth) issues the credentials, not STS.
    let (role, issuer) = match c.mechanism {
        irsa_rules::Mechanism::PodIdentity => {
            (format!("{role} (EKS Pod Identity)"), "EKS Pod Identity")
        }
        irsa_rules::Mechanism::Irsa => (role, "STS"),
    };
    let v = &c.verdict;
    let tag = v
        .rule
        .map(|rule| st.dim(&format!(" [{rule}]")))
        .unwrap_or_default();
    // The deciding finding's message, when a finding decides.
    let because = if v.rule.is_some() {
        format!(" — {}{tag}", v.reason)
    } else {
        String::new()
    };
    let line = match v.status {
        Status::Fails => match &c.prediction {
            StsPrediction::Error(e) if v.rule.is_some() => format!(
                "{} {who}: {}{because}",
                st.paint("31;1", "✘"),
                st.paint("31", e.code)
            ),
            StsPrediction::Error(e) => format!(
                "{} {who}: {}: {}",
                st.paint("31;1", "✘"),
                st.paint("31", e.code),
                e.message
            ),
            _ => format!(
                "{} {who}: {issuer} issues credentials, but the SDK in its pods {}{because}",
                st.paint("31;1", "✘"),
                st.paint("31", &v.sdk)
            ),
        },
        Status::NotChecked => format!(
            "{} {who}: not checked: {} (role {role})",
            st.paint("36", "?"),
            v.reason
        ),
        Status::AtRisk => format!(
            "{} {who}: credentials issued ({role}), but at risk{because}",
            st.paint("33;1", "!")
        ),
        Status::NoPods => format!(
            "{} {who}: no pod runs as it; {issuer} would issue credentials for {role}{because}",
            st.paint("36", "-")
        ),
        Status::Works if v.sdk.contains("not checked") => format!(
            "{} {who}: credentials issued ({role}); its {} pod(s) use them if their SDK supports web identity (which SDK: not checked, IRSA408)",
            st.paint("32", "✔"),
            c.pods
        ),
        Status::Works => format!(
            "{} {who}: credentials issued ({role}); the SDK in its {} pod(s) uses them",
            st.paint("32", "✔"),
            c.pods
        ),
    };
    (rank(v.status), line)
}

/// The fix: its summary (a template says which placeholders to replace), then the
/// command flush left and unwrapped (a template's lines commented out).
fn write_fix(out: &mut String, fix: &Fix, pad: &str, o: &Options, st: &Style) {
    let label = if fix.template {
        st.paint(
            "33",
            &format!(
                "fix (template: replace {} first):",
                fix.placeholders.join(", ")
            ),
        )
    } else {
        st.paint("32", "fix:")
    };
    let first = format!("{pad}    ");
    let _ = writeln!(
        out,
        "{}",
        wrap(
            o,
            &first,
            &format!("{pad}         "),
            &format!("{label} {}", fix.summary)
        )
    );
    if let Some(cmd) = &fix.command {
        if fix.template {
            for line in cmd.lines() {
                let _ = writeln!(out, "{}", st.paint("36", &format!("# {line}")));
            }
        } else {
            // Flush left: a pasted heredoc only ends at an unindented `EOF`. The guards
            // (account, cluster) dimmed, so the command stands out on a terminal.
            for line in cmd.lines() {
                let code = if irsa_rules::fix_target::is_guard(line) {
                    "2;36"
                } else {
                    "36"
                };
                let _ = writeln!(out, "{}", st.paint(code, line));
            }
        }
    }
}

/// Renders the report.
pub fn report(r: &Report, inputs: &InputReport, sources: &str, o: &Options) -> String {
    let st = Style { color: o.color };
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
    // The answer first.
    let mut verdicts: Vec<(u8, String)> = r.chains.iter().map(|c| verdict(c, &st)).collect();
    verdicts.sort_by_key(|(rank, _)| *rank);
    let shown: Vec<&(u8, String)> = verdicts
        .iter()
        .filter(|(rank, _)| !o.errors_only || *rank == 0)
        .collect();
    if !shown.is_empty() {
        out.push('\n');
        for (_, line) in shown {
            let _ = writeln!(out, "{}", wrap(o, "", "  ", &plurals(line)));
        }
    }
    // A run that checked nothing says so first: that is the answer.
    if let Some(why) = &r.nothing_checked {
        let line = format!("{} {}", st.paint("36;1", "?"), st.bold(why));
        let _ = writeln!(out, "\n{}", wrap(o, "", "  ", &line));
    }
    let visible = |f: &&Finding| {
        if o.errors_only {
            return f.severity == Severity::Error;
        }
        o.verbose || f.message.id != THUMBPRINT_NOTE
    };
    let hidden_notes = r.findings.iter().filter(|f| !visible(f)).count();
    let mut printed_fixes: HashSet<String> = HashSet::new();
    let mut thumbprint_note_shown = false;
    let mut hidden_passes = 0;
    // Sections holding an error first (the broken link and its fix on the first
    // screen, whatever else is reported), the usual order otherwise.
    let has_error = |kinds: &[&str]| {
        r.findings
            .iter()
            .any(|f| f.severity == Severity::Error && kinds.contains(&&*f.subject.kind))
    };
    let mut sections = SECTIONS.to_vec();
    sections.sort_by_key(|(_, kinds)| !has_error(kinds));
    for (title, kinds) in sections {
        let passes: Vec<_> = r
            .passes
            .iter()
            .filter(|p| kinds.contains(&&*p.subject.kind))
            .collect();
        let findings: Vec<_> = r
            .findings
            .iter()
            .filter(|f| kinds.contains(&&*f.subject.kind))
            .filter(visible)
            .collect();
        if findings.is_empty() && (passes.is_empty() || o.errors_only) {
            continue;
        }
        let list_passes = o.verbose && !o.errors_only;
        if !list_passes {
            hidden_passes += passes.len();
        }
        // The header leads with what is wrong in the section (never a bare "passed"
        // above an error), then the checks that passed.
        let mut counts: Vec<String> = Vec::new();
        let count = |pred: &dyn Fn(&Finding) -> bool| findings.iter().filter(|f| pred(f)).count();
        let gap = |f: &Finding| f.cause == Cause::CollectionGap;
        for (n, code, text) in [
            (
                count(&|f| !gap(f) && f.severity == Severity::Error),
                "31;1",
                "✘ {} error(s)",
            ),
            (
                count(&|f| !gap(f) && f.severity == Severity::Warning),
                "33;1",
                "! {} warning(s)",
            ),
            (count(&gap), "36", "? {} not checked"),
            (
                count(&|f| !gap(f) && f.severity == Severity::Info),
                "34",
                "i {} note(s)",
            ),
        ] {
            if n > 0 {
                counts.push(st.paint(code, &text.replace("{}", &n.to_string())));
            }
        }
        if !list_passes && !passes.is_empty() {
            counts.push(st.paint("32", &format!("✔ {} check(s) passed", passes.len())));
        }
        let header = if counts.is_empty() {
            String::new()
        } else {
            format!(" {}", counts.join(" · "))
        };
        let _ = writeln!(out, "\n{}{}", st.bold(title), plurals(&header));
        // One block per subject, in order of first appearance.
        let mut subjects: Vec<&Subject> = Vec::new();
        let listed = passes
            .iter()
            .filter(|_| list_passes)
            .map(|p| &p.subject)
            .chain(findings.iter().map(|f| &f.subject));
        for s in listed {
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
            if list_passes {
                for p in passes.iter().filter(|p| &p.subject == subject) {
                    let line = format!("{} {}", st.paint("32", "✔"), p.message.render());
                    let _ = writeln!(
                        out,
                        "{}",
                        wrap(o, pad, &format!("{pad}  "), &plurals(&line))
                    );
                }
            }
            for f in findings.iter().filter(|f| &f.subject == subject) {
                let mut message = f.message.render();
                if f.message.id == THUMBPRINT_NOTE {
                    // The explanation once; later providers list their thumbprints only.
                    if thumbprint_note_shown {
                        message = message
                            .split(": IAM verifies")
                            .next()
                            .unwrap_or(&message)
                            .to_string()
                            + " (see the note above)";
                    }
                    thumbprint_note_shown = true;
                }
                let line = format!(
                    "{} {} {}",
                    mark(f, &st),
                    plurals(&message),
                    st.dim(&format!("[{} {}]", f.rule, f.cause.id()))
                );
                let _ = writeln!(out, "{}", wrap(o, pad, &format!("{pad}  "), &line));
                if let Some(e) = &f.predicted_error {
                    // Who says it: the agent (through the SDK) for Pod Identity, STS
                    // for the credential exchange, the service for a later call, the
                    // SDK for its own failures.
                    let who = if irsa_rules::pod_identity::RULE_CODES.contains(&f.rule) {
                        "the SDK reports:"
                    } else {
                        match f.cause {
                            Cause::RolePermissions => "AWS answers:",
                            Cause::SdkTooOld => "the SDK says:",
                            _ => "STS answers:",
                        }
                    };
                    let line = format!("{} {}", st.dim(who), st.paint("31", e));
                    let _ = writeln!(
                        out,
                        "{}",
                        wrap(o, &format!("{pad}    "), &format!("{pad}      "), &line)
                    );
                }
                for fix in &f.fix {
                    let key = format!(
                        "{}\n{}",
                        fix.summary,
                        fix.command.clone().unwrap_or_default()
                    );
                    if !printed_fixes.insert(key) {
                        let line = format!(
                            "{} {}",
                            st.dim("fix:"),
                            st.dim(&format!("{} (as above)", fix.summary))
                        );
                        let _ = writeln!(
                            out,
                            "{}",
                            wrap(o, &format!("{pad}    "), &format!("{pad}         "), &line)
                        );
                        continue;
                    }
                    write_fix(&mut out, fix, pad, o, &st);
                }
            }
        }
    }
    let s = r.summary;
    let c = s.checked;
    let not_checked = if s.not_checked > 0 {
        format!(" · {} link(s) not checked (?)", s.not_checked)
    } else {
        String::new()
    };
    let checked = format!(
        "checked: {} ServiceAccount(s), {} role(s), {} pod(s), {} workload(s); {} of {} role chain(s) decided end to end{not_checked}",
        c.serviceaccounts,
        c.roles,
        c.pods,
        c.workloads,
        c.chains,
        r.chains.len(),
    );
    let _ = writeln!(out, "\n{}", wrap(o, "", "  ", &plurals(&checked)));
    let hint = match (hidden_passes > 0 || hidden_notes > 0, o.errors_only) {
        (_, true) => " (-q: errors only)",
        (true, false) if hidden_notes > 0 => " (-v shows them and the notes)",
        (true, false) => " (-v lists them)",
        (false, false) => "",
    };
    let summary = format!(
        "{} error(s), {} warning(s), {} info · {} check(s) passed{hint}",
        s.error,
        s.warning,
        s.info,
        r.passes.len()
    );
    let summary = plurals(&summary);
    let summary = if s.error > 0 {
        st.paint("31;1", &summary)
    } else {
        summary
    };
    let _ = writeln!(out, "{summary}");
    out
}
