//! Human rendering of a probe: each check as a link, then the prediction next to
//! STS's answer, the disagreement if any, and the test pod.

use irsa_collect::probe::{ProbeReport, Status, StsAnswer};
use irsa_rules::explain::Explanation;
use std::fmt::Write;

use super::paint;

/// Renders the report.
pub fn report(r: &ProbeReport, color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} → {}",
        paint(color, "1", "irsa-doctor probe"),
        r.service_account,
        r.role_arn.clone().unwrap_or_else(|| "(no role)".into())
    );
    for c in &r.checks {
        let mark = match c.status {
            Status::Pass => paint(color, "32", "✔"),
            Status::Fail => paint(color, "31;1", "✘"),
            Status::Warn => paint(color, "33;1", "!"),
            Status::NotChecked => paint(color, "36", "?"),
        };
        let _ = writeln!(out, "  {mark} {:<15} {}", c.name, c.message);
    }
    if let Some(p) = &r.predicted {
        let _ = writeln!(out, "\n  predicted (offline): {p}");
    }
    let service = if r.mechanism == Some("pod-identity") {
        "EKS Auth answered:  "
    } else {
        "STS answered:       "
    };
    if let Some(tags) = &r.session_tags {
        let _ = writeln!(
            out,
            "  session tags:        {}",
            if tags.is_empty() {
                "none (the association disables them)".to_string()
            } else {
                tags.join(", ")
            }
        );
    }
    match &r.sts {
        Some(StsAnswer::Success {
            assumed_role,
            caller,
        }) => {
            let _ = writeln!(
                out,
                "  {service} success, {}",
                caller.clone().unwrap_or_else(|| assumed_role.clone())
            );
        }
        Some(StsAnswer::Error { error }) => {
            let _ = writeln!(out, "  {service} {}", paint(color, "31", error));
        }
        None => {}
    }
    match r.agreement {
        Some(true) => {
            let _ = writeln!(
                out,
                "  {} the offline prediction matches {}",
                paint(color, "32", "✔"),
                if r.mechanism == Some("pod-identity") {
                    "EKS Auth"
                } else {
                    "STS"
                }
            );
        }
        Some(false) => {
            let _ = writeln!(
                out,
                "  {} {}",
                paint(color, "31;1", "✘"),
                r.disagreement.clone().unwrap_or_default()
            );
        }
        None => {}
    }
    if let Some(t) = &r.test_pod {
        let _ = writeln!(
            out,
            "\n  test pod {} (phase {}, deleted: {})",
            t.pod,
            t.phase.clone().unwrap_or_else(|| "unknown".into()),
            t.deleted
        );
        for e in &t.env {
            let _ = writeln!(out, "    {e}");
        }
        if let Some(c) = &t.caller {
            let _ = writeln!(out, "    aws sts get-caller-identity: {c}");
        }
        if let Some(e) = &t.error {
            let _ = writeln!(out, "    {} {e}", paint(color, "31", "error:"));
        }
    }
    out
}

/// EKS Auth's error as `explain` knows it: the family, its ranked causes, and what the
/// collected state confirms.
pub fn explained(ex: &Explanation, color: bool) -> String {
    let mut out = String::new();
    if let Some(f) = &ex.family {
        let _ = writeln!(out, "\n  {} {}", paint(color, "1", "error:"), f.title);
    }
    for c in &ex.causes {
        let _ = writeln!(
            out,
            "    {:>3.0}%  {}: {}",
            c.likelihood * 100.0,
            c.cause.id(),
            c.why
        );
    }
    for c in &ex.confirmed {
        let _ = writeln!(
            out,
            "  {} {} ({}): {}",
            paint(color, "31;1", "confirmed"),
            c.cause.id(),
            c.rule,
            c.message
        );
        if let Some(fix) = &c.fix {
            let _ = writeln!(out, "    fix: {fix}");
        }
    }
    out
}
