//! The human rendering of an [`Explanation`]: the error as recognised, ranked
//! causes, each evidence command once, what the snapshot confirms with the whole
//! fix flush left (heredocs must end at line start), and the next command.

use super::{Explanation, NextStep, RankedCause};

fn pct(l: f64) -> String {
    format!("{:>3.0}%", l * 100.0)
}

/// Human rendering.
pub fn render_text(ex: &Explanation) -> String {
    let mut s = String::new();
    if let Some(n) = &ex.input {
        let mut parts = vec![format!(
            "read as {} ({})",
            n.encoding,
            match n.detected_by {
                "bom" => "byte-order mark",
                "nul-pattern" => "no byte-order mark, recognised by its NUL bytes",
                _ => "default",
            }
        )];
        if n.replaced > 0 {
            parts.push(format!(
                "{} invalid byte sequence{} replaced",
                n.replaced,
                plural(n.replaced)
            ));
        }
        if n.ignored_bytes > 0 {
            parts.push(format!(
                "the last {} bytes were not read (limit 8 MiB)",
                n.ignored_bytes
            ));
        }
        s.push_str(&format!("Input: {}\n\n", parts.join("; ")));
    }
    if !ex.recognised {
        s.push_str(
            "Not recognised: this text matches none of the error families irsa-doctor knows\n",
        );
        s.push_str(
            "(IRSA and EKS Pod Identity errors of STS, IAM, EKS Auth, the AWS SDKs' credential\n",
        );
        s.push_str("providers, kubectl and the pod identity webhook).\n");
        if !ex.nearest.is_empty() {
            s.push_str("\nNearest known errors:\n");
            for n in &ex.nearest {
                s.push_str(&format!("  - {n}\n"));
            }
        }
        next(
            &mut s,
            ex,
            "\nThe two commands that would tell (read-only):\n",
        );
        return s;
    }
    if ex.errors.len() > 1 {
        let primary = ex.primary.unwrap_or(1);
        s.push_str(&format!(
            "{} errors in this paste; #{} comes first, #{} is the most specific and is explained below:\n",
            ex.errors.len(),
            ex.first.unwrap_or(1),
            primary
        ));
        for e in &ex.errors {
            let title = e.families.first().map(|f| f.title.as_str()).unwrap_or("");
            let top = e
                .causes
                .first()
                .map(|c| format!(" → {} {}", c.cause.id(), pct(c.likelihood).trim()))
                .unwrap_or_default();
            let rep = if e.repeated > 1 {
                format!(" (×{})", e.repeated)
            } else {
                String::new()
            };
            s.push_str(&format!(
                "  {}#{} line {}: {}{}{}\n",
                if e.index == primary { "▶ " } else { "  " },
                e.index,
                e.line,
                title,
                rep,
                top
            ));
        }
        s.push('\n');
    }
    let e = &ex.extracted;
    let confidence = match ex.confidence {
        Some("high") => "",
        Some("medium") => " (partly matched: the text looks cut or reworded)",
        _ => " (low confidence: matched by keywords only, not by an SDK's or service's wording)",
    };
    if let Some(f) = &ex.family {
        s.push_str(&format!("Recognised: {}{}\n", f.title, confidence));
    }
    let mut facts = Vec::new();
    if let Some(c) = &e.code {
        facts.push(if e.code_inferred {
            format!("code {c} (from the message)")
        } else {
            format!("code {c}")
        });
    }
    if let Some(o) = &e.operation {
        facts.push(format!("operation {o}"));
    }
    if let Some(st) = e.status {
        facts.push(format!("HTTP {st}"));
    }
    if let Some(sdk) = &e.sdk {
        facts.push(format!(
            "printed by {}",
            super::catalog::catalog().sdk_name(sdk)
        ));
    }
    if !facts.is_empty() {
        s.push_str(&format!("  {}\n", facts.join(" · ")));
    }
    if let Some(m) = &e.message {
        s.push_str(&format!("  message: {m}\n"));
    }
    for (label, v) in [
        ("issuer", &e.issuer),
        ("role", &e.role_arn),
        ("assumed role", &e.assumed_role),
        ("token file", &e.token_path),
        ("endpoint", &e.endpoint),
        ("region", &e.region),
        ("service account", &e.service_account),
    ] {
        if let Some(v) = v {
            s.push_str(&format!("  {label}: {v}\n"));
        }
    }
    if let Some(d) = &e.denied {
        s.push_str(&format!("  denied: {} to {}", d.action, d.principal));
        if let Some(r) = &d.resource {
            s.push_str(&format!(" on {r}"));
        }
        s.push('\n');
        if let Some(r) = &d.reason {
            s.push_str(&format!("  reason: {r}\n"));
        }
    }
    s.push_str("\nLikely causes:\n");
    let width = ex
        .causes
        .iter()
        .map(|c| c.cause.id().len())
        .max()
        .unwrap_or(10);
    for c in &ex.causes {
        let rules = if c.rules.is_empty() {
            String::new()
        } else {
            format!(" [{}]", c.rules.join(", "))
        };
        s.push_str(&format!(
            "  {}  {:<width$}  {}{}\n",
            pct(c.likelihood),
            c.cause.id(),
            c.why,
            rules
        ));
    }
    let unexplained: f64 = 1.0 - ex.causes.iter().map(|c| c.likelihood).sum::<f64>();
    if unexplained > 0.04 {
        s.push_str(&format!(
            "  {}  {:<width$}  the match is not certain enough to rule out a cause not listed\n",
            pct(unexplained),
            "(unknown)"
        ));
    }
    if !ex.confirmed.is_empty() {
        s.push_str("\nConfirmed by the snapshot:\n");
        for c in &ex.confirmed {
            let who = c
                .service_account
                .as_ref()
                .map(|sa| format!("ServiceAccount {sa}"))
                .unwrap_or_else(|| c.subject.clone());
            s.push_str(&format!("  ✘ {who}: {} [{}]\n", c.cause.id(), c.rule));
            s.push_str(&format!("    {}\n", c.message));
            for (i, f) in c.fixes.iter().enumerate() {
                let n = if c.fixes.len() > 1 {
                    format!(" {}", i + 1)
                } else {
                    String::new()
                };
                s.push_str(&format!("    Fix{n}: {}\n", f.summary));
                if let Some(cmd) = &f.command {
                    // Flush left and whole: a heredoc's closing word must start its line.
                    s.push_str(cmd.trim_end_matches('\n'));
                    s.push('\n');
                }
            }
        }
    } else {
        evidence(&mut s, &ex.causes);
        if let Some(c) = &ex.contradiction {
            s.push_str(&format!("\nAgainst the snapshot: {c}\n"));
        }
    }
    for n in &ex.notes {
        s.push_str(&format!("\nNote: {n}\n"));
    }
    next(&mut s, ex, "\nNext, to confirm (read-only):\n");
    s
}

/// Each evidence command once, with the causes it tells apart.
fn evidence(s: &mut String, causes: &[RankedCause]) {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for c in causes {
        let Some(ev) = c.evidence.as_deref() else {
            continue;
        };
        match groups.iter_mut().find(|(e, _)| *e == ev) {
            Some((_, ids)) => ids.push(c.cause.id()),
            None => groups.push((ev, vec![c.cause.id()])),
        }
    }
    if groups.is_empty() {
        return;
    }
    s.push_str(
        "\nEvidence (the AWS troubleshooting articles' commands; fill in what is in <…>):\n",
    );
    for (ev, ids) in groups {
        s.push_str(&format!("  # {}\n  {ev}\n", ids.join(", ")));
    }
}

fn next(s: &mut String, ex: &Explanation, heading: &str) {
    // irsa-doctor's own checks; what changes IAM (a grant, never run for you);
    // kubectl reads that find the ServiceAccount; other reads.
    let group = |n: &&NextStep| -> u8 {
        if n.command.starts_with("irsa-doctor ") {
            0
        } else if n.command.starts_with("aws iam put-") {
            1
        } else if n.command.starts_with("kubectl ") {
            2
        } else {
            3
        }
    };
    for (g, title) in [
        (0, heading),
        (1, "\nTo fix (this changes IAM: review it first):\n"),
        (2, "\nTo find the ServiceAccount concerned:\n"),
        (3, "\nTo look further (read-only):\n"),
    ] {
        let steps: Vec<&NextStep> = ex.next.iter().filter(|n| group(n) == g).collect();
        if steps.is_empty() {
            continue;
        }
        s.push_str(title);
        for n in steps {
            s.push_str(&format!("  # {}\n  {}\n", n.why, n.command));
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
