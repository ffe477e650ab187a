//! Where a finding is: the exact value it is about.
//!
//! A finding names its subject (a ServiceAccount, a role, a workload), the role
//! involved, and carries its message's parameters (the statement, the condition key
//! and value, the annotation value …). The location is the node, inside the object
//! the finding is about, whose text is the most specific of those parameters: a
//! trust-policy finding points at the condition value in the role's trust policy
//! (and relates the ServiceAccount's annotation), an annotation finding at the
//! annotation.

use crate::model::Anchor;
use crate::node::{Node, Pos};
use irsa_rules::Finding;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A place in a file (1-based line and column; the end is exclusive).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    /// File path as given.
    pub path: String,
    /// Line.
    pub line: usize,
    /// Column (Unicode scalar values).
    pub column: usize,
    /// Last line.
    #[serde(skip)]
    pub end_line: usize,
    /// Column after the end.
    #[serde(skip)]
    pub end_column: usize,
}

impl Location {
    /// A location at one position.
    pub fn at(path: &str, pos: Pos) -> Location {
        Location {
            path: path.to_string(),
            line: pos.line.max(1),
            column: pos.column.max(1),
            end_line: pos.line.max(1),
            end_column: pos.column.max(1),
        }
    }

    fn of(path: &str, n: &Node) -> Location {
        let mut l = Location::at(path, n.start);
        if n.end.line >= n.start.line && n.end.index > n.start.index {
            l.end_line = n.end.line;
            l.end_column = n.end.column;
        }
        l
    }

    /// `path:line:column`.
    pub fn display(&self) -> String {
        format!("{}:{}:{}", self.path, self.line, self.column)
    }
}

/// Message parameters whose values can be found verbatim in the input, most
/// specific first.
const CANDIDATE_ARGS: &[&str] = &[
    "value",
    "key",
    "values",
    "found",
    "client_ids",
    "action",
    "operator",
    "audience",
    "thumbprint",
    "uid",
    "var",
    "vars",
    "set",
    "container",
];

/// Parameters that name the object rather than the offending value: tried after the
/// text the message quotes.
const NAMING_ARGS: &[&str] = &["role", "annotated", "name"];

/// Finds locations.
pub struct Locator<'a> {
    /// Objects by (kind, namespace, name).
    pub anchors: &'a BTreeMap<(String, String, String), Anchor>,
    /// Trust policies by role ARN.
    pub trust_nodes: &'a BTreeMap<String, (Arc<str>, Node)>,
    /// ServiceAccounts only a trust policy names.
    pub implied: &'a BTreeMap<(String, String), String>,
    /// The inputs' texts, by path (for values inside a string: a policy written as
    /// JSON in a `!Sub |` block).
    pub texts: &'a BTreeMap<&'a str, &'a str>,
}

impl Locator<'_> {
    /// The primary location and related ones.
    pub fn locate(&self, f: &Finding) -> (Option<Location>, Vec<Location>) {
        let subject = self.subject_anchor(f);
        let about_trust = f.message.id.starts_with("trust-") || f.message.id == "gap-not-decided";
        let trust = f
            .role_arn
            .as_deref()
            .or_else(|| (f.subject.kind == "Role").then_some(&*f.subject.name))
            .and_then(|arn| self.trust_nodes.get(arn));
        match (about_trust, trust, subject) {
            (true, Some((path, node)), subject) => {
                let refined = self.refine(f, node, true);
                let primary = if std::ptr::eq(refined, node) {
                    // Nothing of the tree holds the value: a policy written as one
                    // string (`!Sub |` JSON, `Fn::Join` pieces) holds it in its text.
                    self.in_text(f, path, node)
                        .unwrap_or_else(|| Location::of(path, node))
                } else {
                    Location::of(path, refined)
                };
                let related = subject
                    .filter(|s| !Arc::ptr_eq(&s.path, path) || s.node.start != node.start)
                    .filter(|_| !self.is_implied(f))
                    .map(|s| Location::of(&s.path, annotation_of(f, &s.node)))
                    .into_iter()
                    .collect();
                (Some(primary), related)
            }
            (_, trust, Some(s)) => {
                let primary = Location::of(&s.path, self.refine(f, &s.node, false));
                let related = trust
                    .filter(|_| f.message.id.starts_with("pod-") || f.message.id.starts_with("sa-"))
                    .map(|(p, n)| Location::of(p, n))
                    .into_iter()
                    .collect();
                (Some(primary), related)
            }
            (_, Some((path, node)), None) => (
                Some(Location::of(path, self.refine(f, node, true))),
                Vec::new(),
            ),
            (_, None, None) => (None, Vec::new()),
        }
    }

    /// Where the text of the node holds, verbatim, a value the finding quotes (quoted
    /// first, as JSON writes it): its line and column in the file.
    fn in_text(&self, f: &Finding, path: &str, node: &Node) -> Option<Location> {
        let source = self.texts.get(path)?;
        let span: String = source
            .chars()
            .skip(node.start.index)
            .take(node.end.index.saturating_sub(node.start.index))
            .collect();
        let rendered = f.message.render();
        let quoted = rendered.split('`').skip(1).step_by(2).map(str::to_string);
        let texts = CANDIDATE_ARGS
            .iter()
            .filter_map(|a| f.message.args.get(a).map(|v| v.into_owned()))
            .chain(quoted);
        let mut found = None;
        'outer: for text in texts {
            for candidate in candidates(&text).into_iter().filter(|c| c.len() >= 3) {
                for needle in [format!("\"{candidate}\""), candidate] {
                    if let Some(byte) = span.find(&needle) {
                        found = Some(byte);
                        break 'outer;
                    }
                }
            }
        }
        let byte = found?;
        let (mut line, mut column) = (node.start.line, node.start.column);
        for c in span[..byte].chars() {
            if c == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        let mut l = Location::at(
            path,
            Pos {
                line,
                column,
                index: 0,
            },
        );
        l.end_line = line;
        l.end_column = column;
        Some(l)
    }

    fn is_implied(&self, f: &Finding) -> bool {
        f.subject.kind == "ServiceAccount"
            && self.implied.contains_key(&(
                f.subject
                    .namespace
                    .as_deref()
                    .unwrap_or_default()
                    .to_string(),
                f.subject.name.to_string(),
            ))
    }

    fn subject_anchor(&self, f: &Finding) -> Option<&Anchor> {
        let s = &f.subject;
        let key = (
            s.kind.to_string(),
            s.namespace.as_deref().unwrap_or_default().to_string(),
            s.name.to_string(),
        );
        self.anchors.get(&key).or_else(|| {
            // Providers are named by ARN or URL; clusters by name.
            (s.kind == "OidcProvider")
                .then(|| {
                    self.anchors
                        .iter()
                        .find(|((k, _, arn), _)| k == "OidcProvider" && arn.ends_with(&*s.name))
                        .map(|(_, a)| a)
                })
                .flatten()
        })
    }

    /// The most specific node of `root` a finding's parameters name.
    fn refine<'n>(&self, f: &Finding, root: &'n Node, trust: bool) -> &'n Node {
        let mut scope = root;
        if trust {
            if let Some(i) = f
                .message
                .args
                .get("statement")
                .and_then(|s| s.parse::<usize>().ok())
            {
                match root.get("Statement") {
                    Some(st) if st.as_seq().is_some() => {
                        if let Some(s) = st.item(i) {
                            scope = s;
                        }
                    }
                    Some(st) if i == 0 => scope = st,
                    _ => {}
                }
            }
        }
        // The parameters that carry the offending value, then what the message quotes
        // in backquotes (a label, a key), then the names of the object.
        let rendered = f.message.render();
        let quoted = rendered.split('`').skip(1).step_by(2).map(str::to_string);
        let texts = CANDIDATE_ARGS
            .iter()
            .filter_map(|a| f.message.args.get(a).map(|v| v.into_owned()))
            .chain(quoted)
            .chain(
                NAMING_ARGS
                    .iter()
                    .filter_map(|a| f.message.args.get(a).map(|v| v.into_owned())),
            );
        for text in texts {
            for candidate in candidates(&text) {
                if let Some(n) = scope
                    .walk()
                    .find(|n| n.scalar_text().as_deref() == Some(candidate.as_str()))
                {
                    return n;
                }
            }
        }
        if !trust {
            // A finding about a ServiceAccount's role: its annotation.
            if let Some(role) = &f.role_arn {
                if let Some(n) = scope.walk().find(|n| n.as_str() == Some(role.as_str())) {
                    return n;
                }
            }
            if let Some(n) = scope.at(&["metadata", "annotations"]) {
                if f.message.id.starts_with("sa-annotation") {
                    return n;
                }
            }
        }
        scope
    }
}

/// Where an object names the finding's role: the annotation's value, else its
/// annotations, else the object.
fn annotation_of<'n>(f: &Finding, root: &'n Node) -> &'n Node {
    f.role_arn
        .as_deref()
        .and_then(|role| root.walk().find(|n| n.as_str() == Some(role)))
        .or_else(|| root.at(&["metadata", "annotations"]))
        .unwrap_or(root)
}

/// The texts a message parameter may stand for: itself, and for lists
/// (`` `a`, `b` ``) each item without its backquotes.
fn candidates(text: &str) -> Vec<String> {
    let mut out = vec![text.to_string()];
    let trimmed = text.trim_matches('`');
    if trimmed != text {
        out.push(trimmed.to_string());
    }
    if text.contains(", ") || text.starts_with('`') || text.starts_with('[') {
        for part in text.trim_matches(|c| c == '[' || c == ']').split(", ") {
            let p = part.trim().trim_matches('`').trim_matches('"');
            if !p.is_empty() && !out.iter().any(|o| o == p) {
                out.push(p.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parameters_are_split() {
        assert_eq!(
            candidates("`a b`, `c`"),
            vec!["`a b`, `c`", "a b`, `c", "a b", "c"]
        );
        assert_eq!(candidates("plain"), vec!["plain"]);
    }
}
