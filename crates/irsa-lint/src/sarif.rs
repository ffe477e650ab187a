//! SARIF 2.1.0 (<https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html>) for
//! GitHub and GitLab code scanning: every rule with its documentation, help URI and
//! default level; each finding located at the value it is about, with the places it
//! relates to, and a fingerprint that does not change from run to run (nor when
//! unrelated lines move).

use crate::{LintReport, Location};
use irsa_rules::{all_rules, Finding, RuleMeta, Severity};
use serde_json::{json, Value};

/// Where the rule documentation is published (the repository's rule docs).
pub const DOCS_BASE: &str =
    "https://github.com/irsa-doctor/irsa-doctor/blob/main/crates/irsa-rules/src/rules/";

/// The Markdown file, beside its rule, that documents it.
pub fn doc_file(meta: &RuleMeta) -> String {
    let stem = match meta.name {
        "trust-not-checked" => "trust_undetermined".to_string(),
        other => other.replace('-', "_"),
    };
    format!("{stem}.md")
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn rule(meta: &RuleMeta) -> Value {
    json!({
        "id": meta.code,
        "name": meta.name,
        "shortDescription": {"text": meta.summary},
        "fullDescription": {"text": meta.summary},
        "help": {"text": meta.doc, "markdown": meta.doc},
        "helpUri": format!("{DOCS_BASE}{}", doc_file(meta)),
        "defaultConfiguration": {"level": level(meta.severity)},
        "properties": {"tags": ["security", "irsa", meta.cause.id()]},
    })
}

fn uri(path: &str) -> String {
    let p = path.replace('\\', "/");
    let p = p.strip_prefix("./").unwrap_or(&p);
    // Percent-encode what a URI reference cannot hold as is.
    let mut out = String::with_capacity(p.len());
    for b in p.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

fn physical(l: &Location) -> Value {
    // Relative paths are relative to the checkout (code scanning resolves them there);
    // an absolute path becomes a file URI.
    let artifact = if l.path.starts_with('/') {
        json!({"uri": format!("file://{}", uri(&l.path))})
    } else {
        json!({"uri": uri(&l.path), "uriBaseId": "%SRCROOT%"})
    };
    let mut region = json!({"startLine": l.line, "startColumn": l.column});
    if l.end_line > l.line || (l.end_line == l.line && l.end_column > l.column) {
        region["endLine"] = json!(l.end_line);
        region["endColumn"] = json!(l.end_column);
    }
    json!({"physicalLocation": {"artifactLocation": artifact, "region": region}})
}

/// FNV-1a, 64 bits: a fingerprint must be identical across runs, platforms and
/// compiler versions (std's hasher promises none of that).
fn fnv1a(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// A finding's fingerprint: its rule, subject, role, message and file — not its line,
/// so moving code around keeps the alert.
pub fn fingerprint(f: &Finding, at: Option<&Location>) -> String {
    let subject = f.subject.display();
    let args: Vec<String> = f
        .message
        .args
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut parts: Vec<&str> = vec![
        f.rule,
        &subject,
        f.role_arn.as_deref().unwrap_or(""),
        f.message.id,
        at.map(|l| l.path.as_str()).unwrap_or(""),
    ];
    parts.extend(args.iter().map(String::as_str));
    fnv1a(&parts)
}

/// The SARIF log of a lint run.
pub fn log(r: &LintReport, version: &str) -> Value {
    let rules: Vec<&'static RuleMeta> = all_rules().into_iter().map(|r| r.meta()).collect();
    let results: Vec<Value> = r
        .report
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let at = r.locations[i].as_ref();
            let mut text = f.message.render();
            if let Some(e) = &f.predicted_error {
                text.push_str(&format!(" — STS answers: {e}"));
            }
            let mut markdown = text.clone();
            for fix in &f.fix {
                markdown.push_str(&format!("\n\nFix: {}", fix.summary));
                if let Some(c) = &fix.command {
                    markdown.push_str(&format!("\n\n```sh\n{c}\n```"));
                }
            }
            let mut result = json!({
                "ruleId": f.rule,
                "ruleIndex": rules.iter().position(|m| m.code == f.rule).unwrap_or(0),
                "level": level(f.severity),
                "message": {"text": text, "markdown": markdown},
                "partialFingerprints": {"irsaDoctorFinding/v1": fingerprint(f, at)},
                "properties": {
                    "cause": f.cause.id(),
                    "subject": f.subject,
                },
            });
            if let Some(l) = at {
                result["locations"] = json!([physical(l)]);
            }
            let related: Vec<Value> = r.related[i]
                .iter()
                .enumerate()
                .map(|(j, l)| {
                    let mut v = physical(l);
                    v["id"] = json!(j);
                    v["message"] = json!({"text": "related"});
                    v
                })
                .collect();
            if !related.is_empty() {
                result["relatedLocations"] = Value::Array(related);
            }
            if let Some(role) = &f.role_arn {
                result["properties"]["role_arn"] = json!(role);
            }
            if let Some(e) = &f.predicted_error {
                result["properties"]["predicted_error"] = json!(e);
            }
            if !f.fix.is_empty() {
                result["properties"]["fix"] = json!(f.fix);
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = r
        .inputs
        .rejected
        .iter()
        .map(|x| {
            let mut n = json!({"level": "error", "message": {"text": format!("input rejected: {}", x.error)}});
            let l = Location {
                path: x.path.clone(),
                line: x.line.unwrap_or(1),
                column: x.column.unwrap_or(1),
                end_line: x.line.unwrap_or(1),
                end_column: x.column.unwrap_or(1),
            };
            n["locations"] = json!([physical(&l)]);
            n
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "irsa-doctor",
                "informationUri": "https://github.com/irsa-doctor/irsa-doctor",
                "version": version,
                "rules": rules.iter().map(|m| rule(m)).collect::<Vec<_>>(),
            }},
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_fixed_values() {
        // FNV-1a of the empty input is its offset basis; these never change.
        assert_eq!(fnv1a(&[]), "cbf29ce484222325");
        assert_eq!(fnv1a(&["a"]), fnv1a(&["a"]));
        assert_ne!(fnv1a(&["a", "b"]), fnv1a(&["ab"]));
    }

    #[test]
    fn uris_are_relative_references() {
        assert_eq!(uri("./charts/a b/x.yaml"), "charts/a%20b/x.yaml");
        let l = Location {
            path: "/repo/x.yaml".into(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
        };
        assert_eq!(
            physical(&l)["physicalLocation"]["artifactLocation"],
            json!({"uri": "file:///repo/x.yaml"})
        );
    }

    #[test]
    fn every_rule_documents_itself_in_the_file_its_help_uri_names() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../irsa-rules/src/rules");
        for r in all_rules() {
            let m = r.meta();
            let text = std::fs::read_to_string(dir.join(doc_file(m)))
                .unwrap_or_else(|e| panic!("{}: {}: {e}", m.code, doc_file(m)));
            assert_eq!(text, m.doc, "{} documents itself elsewhere", m.code);
        }
    }
}
