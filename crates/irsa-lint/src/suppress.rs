//! Inline suppressions: `# irsa-doctor: ignore IRSA208` (several codes or rule names
//! separated by commas or spaces; none: every rule).
//!
//! A comment after a value suppresses the findings located on its line. A comment on
//! a line of its own suppresses the findings on the next line with content and, when
//! that line opens a block (a mapping key such as `metadata:` or a resource's
//! name), every finding inside the block. A suppression applies to a finding when its
//! location or one of its related locations is covered (a trust-policy finding
//! relates the ServiceAccount's annotation, so a comment there works too).

use crate::locate::Location;
use irsa_rules::rule_by_code;
use std::collections::BTreeMap;

const MARKER: &str = "irsa-doctor: ignore";

#[derive(Debug, Clone)]
struct Suppression {
    first_line: usize,
    last_line: usize,
    /// Rule codes; empty: all.
    codes: Vec<&'static str>,
}

/// Every suppression comment of the inputs.
#[derive(Debug, Default)]
pub struct Suppressions {
    by_path: BTreeMap<String, Vec<Suppression>>,
}

impl Suppressions {
    /// Scans texts (path → text) for suppression comments.
    pub fn scan(texts: &BTreeMap<&str, &str>) -> Suppressions {
        let mut by_path = BTreeMap::new();
        for (path, text) in texts {
            if !text.contains(MARKER) {
                continue;
            }
            let lines: Vec<&str> = text.lines().collect();
            let mut found = Vec::new();
            for (i, line) in lines.iter().enumerate() {
                let Some(hash) = comment_start(line) else {
                    continue;
                };
                let comment = line[hash + 1..].trim();
                let Some(rest) = comment.strip_prefix(MARKER) else {
                    continue;
                };
                let tokens: Vec<&str> = rest
                    .split([',', ' ', '\t'])
                    .filter(|c| !c.is_empty())
                    .collect();
                let codes: Vec<&'static str> = tokens
                    .iter()
                    .filter_map(|c| rule_by_code(c).map(|r| r.meta().code))
                    .collect();
                if codes.is_empty() && !tokens.is_empty() {
                    continue; // a misspelt code suppresses nothing (never everything)
                }
                let own_line = line[..hash].trim().is_empty();
                let (first, last) = if own_line {
                    let Some(target) = (i + 1..lines.len()).find(|&j| {
                        let t = lines[j].trim();
                        !t.is_empty() && !t.starts_with('#')
                    }) else {
                        continue;
                    };
                    (target + 1, block_end(&lines, target) + 1)
                } else {
                    (i + 1, i + 1)
                };
                found.push(Suppression {
                    first_line: first,
                    last_line: last,
                    codes,
                });
            }
            if !found.is_empty() {
                by_path.insert(path.to_string(), found);
            }
        }
        Suppressions { by_path }
    }

    /// Whether a finding of `rule` at `at` is suppressed.
    pub fn covers(&self, at: &Location, rule: &str) -> bool {
        self.by_path.get(&at.path).is_some_and(|list| {
            list.iter().any(|s| {
                (s.first_line..=s.last_line).contains(&at.line)
                    && (s.codes.is_empty() || s.codes.contains(&rule))
            })
        })
    }
}

/// The byte offset of a YAML comment's `#` on a line (not inside quotes; a `#` that
/// starts a comment follows white space or starts the line).
fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev.is_whitespace() => return Some(i),
            _ => {}
        }
        prev = c;
    }
    None
}

/// The last line (0-based) of the block a line opens: the following lines indented
/// deeper (YAML block structure). A line that opens no block ends on itself.
fn block_end(lines: &[&str], start: usize) -> usize {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let base = indent(lines[start]);
    let opens =
        lines[start].trim_end().ends_with(':') || lines[start].trim_start().starts_with("- ");
    if !opens {
        return start;
    }
    let mut end = start;
    for (j, l) in lines.iter().enumerate().skip(start + 1) {
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        if indent(l) <= base && !(lines[start].trim_start().starts_with("- ") && indent(l) > base) {
            break;
        }
        end = j;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize) -> Location {
        Location {
            path: "f.yaml".into(),
            line,
            column: 1,
            end_line: line,
            end_column: 1,
        }
    }

    #[test]
    fn trailing_and_block_comments() {
        let text = "a: 1 # irsa-doctor: ignore IRSA208\n# irsa-doctor: ignore trust-sub, IRSA204\nrole:\n  x: 1\n  y: 2\nz: 3\nq: \"# irsa-doctor: ignore\"\n";
        let texts = BTreeMap::from([("f.yaml", text)]);
        let s = Suppressions::scan(&texts);
        assert!(s.covers(&at(1), "IRSA208"));
        assert!(!s.covers(&at(1), "IRSA203"));
        for line in 3..=5 {
            assert!(s.covers(&at(line), "IRSA203"), "line {line}");
            assert!(s.covers(&at(line), "IRSA204"), "line {line}");
            assert!(!s.covers(&at(line), "IRSA208"), "line {line}");
        }
        assert!(!s.covers(&at(6), "IRSA203"));
        assert!(
            !s.covers(&at(7), "IRSA203"),
            "a marker inside a string is no comment"
        );
    }

    #[test]
    fn bare_marker_covers_every_rule() {
        let texts = BTreeMap::from([("f.yaml", "- name: x # irsa-doctor: ignore\n")]);
        let s = Suppressions::scan(&texts);
        assert!(s.covers(&at(1), "IRSA101"));
        assert!(!s.covers(
            &Location {
                path: "g.yaml".into(),
                ..at(1)
            },
            "IRSA101"
        ));
        let texts = BTreeMap::from([("f.yaml", "- name: x # irsa-doctor: ignore IRSA2O8\n")]);
        assert!(!Suppressions::scan(&texts).covers(&at(1), "IRSA208"));
    }
}
