//! `lint` output: compiler-style text (`path:line:column: level[CODE]: message`) and
//! the report/v1 JSON with a `location` per finding.

use irsa_lint::LintReport;
use irsa_rules::Severity;
use serde_json::{json, Value};
use std::fmt::Write;

fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// What the text report shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shown {
    /// `-q`: errors only.
    pub errors_only: bool,
    /// `-v`: notes too (else counted only).
    pub verbose: bool,
}

/// `1 error`, `2 errors`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The human report: errors and warnings (notes with -v; errors only with -q), then a
/// summary line.
pub fn human(r: &LintReport, color: bool, shown: Shown) -> String {
    let mut out = String::new();
    for (i, f) in r.report.findings.iter().enumerate() {
        let hidden = match f.severity {
            Severity::Error => false,
            Severity::Warning => shown.errors_only,
            Severity::Info => shown.errors_only || !shown.verbose,
        };
        if hidden {
            continue;
        }
        let (word, code) = match f.severity {
            Severity::Error => ("error", "31;1"),
            Severity::Warning => ("warning", "33;1"),
            Severity::Info => ("note", "36"),
        };
        let at = r.locations[i]
            .as_ref()
            .map(|l| l.display())
            .unwrap_or_else(|| "(no file)".into());
        let _ = writeln!(
            out,
            "{}: {}: {} [{}]",
            paint(color, "1", &at),
            paint(color, code, &format!("{word}[{}]", f.rule)),
            f.message.render(),
            f.cause.id()
        );
        if let Some(e) = &f.predicted_error {
            let _ = writeln!(out, "    = STS answers: {e}");
        }
        for l in &r.related[i] {
            let _ = writeln!(
                out,
                "    = about: {} ({})",
                l.display(),
                f.subject.display()
            );
        }
        for fix in &f.fix {
            let _ = writeln!(out, "    = fix: {}", fix.summary);
        }
    }
    let c = r.checked;
    let s = r.report.summary;
    let hidden_notes = if s.info > 0 && (shown.errors_only || !shown.verbose) {
        " (-v shows them)"
    } else {
        ""
    };
    let hidden_warnings = if s.warning > 0 && shown.errors_only {
        " (not shown: -q)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "{}, {}{hidden_warnings}, {}{hidden_notes}; checked {}{}, {}, {}, {} in {}{}",
        count(s.error, "error", "errors"),
        count(s.warning, "warning", "warnings"),
        count(s.info, "note", "notes"),
        count(c.serviceaccounts, "ServiceAccount", "ServiceAccounts"),
        if c.implied_serviceaccounts > 0 {
            format!(
                " (+{} named only by trust policies)",
                c.implied_serviceaccounts
            )
        } else {
            String::new()
        },
        count(c.roles, "role trust policy", "role trust policies"),
        count(
            c.chains,
            "ServiceAccount→role link",
            "ServiceAccount→role links"
        ),
        count(c.workloads, "workload", "workloads"),
        count(r.inputs.files, "file", "files"),
        if r.suppressed > 0 {
            format!("; {} suppressed by comments", r.suppressed)
        } else {
            String::new()
        }
    );
    out
}

/// The JSON report: `irsa-doctor/report/v1` (as `check --output json`), each finding
/// with its `location` and `related_locations`, and a `lint` section.
pub fn json(r: &LintReport) -> Value {
    let mut v =
        serde_json::to_value(super::json::report(&r.report, &r.inputs)).unwrap_or(Value::Null);
    if let Some(findings) = v.get_mut("findings").and_then(Value::as_array_mut) {
        for (i, f) in findings.iter_mut().enumerate() {
            if let Some(o) = f.as_object_mut() {
                o.insert("location".into(), json!(r.locations[i]));
                if !r.related[i].is_empty() {
                    o.insert("related_locations".into(), json!(r.related[i]));
                }
            }
        }
    }
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "lint".into(),
            json!({"recognised": r.recognised, "checked": r.checked, "suppressed": r.suppressed}),
        );
    }
    v
}
