//! Human report. The answer first: one verdict line per ServiceAccount (✘ ✔ ? and the
//! broken link), then the details grouped as the data flows (cluster & OIDC provider →
//! roles → ServiceAccounts → workloads & pods → inputs): findings with ✘ ! ? i, the
//! predicted STS error and the fix. Passes are counted per section unless `-v` lists
//! them; `-q` keeps errors only. Text wraps to the width with a hanging indent; fix
//! commands are never wrapped and start at column 0, so they paste as they are; a fix
//! with placeholders is a template, printed commented out.

use irsa_model::InputReport;
use irsa_policy::StsPrediction;
use irsa_rules::messages::plurals;
use irsa_rules::{Cause, Chain, Finding, Fix, Report, Severity, Subject};
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
        None => s.name.clone(),
    }
}

/// The finding that explains a chain's verdict: an error about its ServiceAccount, or
/// about its role, preferring one whose predicted error is the chain's.
fn deciding_finding<'r>(r: &'r Report, c: &Chain) -> Option<&'r Finding> {
    let predicted = match &c.prediction {
        StsPrediction::Error(e) => Some(e.text()),
        _ => None,
    };
    let about = |f: &&Finding| {
        f.severity == Severity::Error
            && f.cause != Cause::CollectionGap
            && (f.subject == c.subject || f.role_arn.as_deref() == Some(c.role_arn.as_str()))
    };
    r.findings
        .iter()
        .filter(about)
        .find(|f| predicted.is_some() && f.predicted_error == predicted)
        .or_else(|| r.findings.iter().find(about))
}

/// One verdict line per ServiceAccount, and whether it fails.
fn verdict(r: &Report, c: &Chain, st: &Style) -> (u8, String) {
    let who = who(&c.subject);
    let tag = |f: &Finding| st.dim(&format!(" [{}]", f.rule));
    match &c.prediction {
        StsPrediction::Error(e) => {
            let why = deciding_finding(r, c)
                .map(|f| format!(" — {}{}", f.message.render(), tag(f)))
                .unwrap_or_else(|| format!(": {}", e.message));
            (
                0,
                format!(
                    "{} {who}: {}{why}",
                    st.paint("31;1", "✘"),
                    st.paint("31", e.code)
                ),
            )
        }
        StsPrediction::Success { role } => match deciding_finding(r, c) {
            Some(f) => (
                0,
                format!(
                    "{} {who}: STS issues credentials for {role}, but {}{}",
                    st.paint("31;1", "✘"),
                    f.message.render(),
                    tag(f)
                ),
            ),
            None => (
                2,
                format!("{} {who}: credentials issued ({role})", st.paint("32", "✔")),
            ),
        },
        StsPrediction::Undetermined { why, .. } => (
            1,
            format!(
                "{} {who}: not checked: {why} (role {})",
                st.paint("36", "?"),
                c.role_arn
            ),
        ),
    }
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
            // Flush left: a pasted heredoc only ends at an unindented `EOF`.
            let _ = writeln!(out, "{}", st.paint("36", cmd));
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
    let mut verdicts: Vec<(u8, String)> = r.chains.iter().map(|c| verdict(r, c, &st)).collect();
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
            .filter(visible)
            .collect();
        if findings.is_empty() && (passes.is_empty() || o.errors_only) {
            continue;
        }
        let list_passes = o.verbose && !o.errors_only;
        if !list_passes {
            hidden_passes += passes.len();
        }
        let passed = if !list_passes && !passes.is_empty() {
            format!(
                " {}",
                st.paint("32", &format!("✔ {} check(s) passed", passes.len()))
            )
        } else {
            String::new()
        };
        let _ = writeln!(out, "\n{}{}", st.bold(title), plurals(&passed));
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
                    let line = format!("{} {}", st.dim("STS answers:"), st.paint("31", e));
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
    let _ = writeln!(out, "\n{summary}");
    out
}
