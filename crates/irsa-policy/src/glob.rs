//! IAM wildcard matching: `*` matches any run of characters (including `:` and
//! `/`), `?` exactly one character. Iterative with backtracking on the last
//! `*`, so it is linear in practice and never recurses.

/// Matches `text` against `pattern`; `ignore_case` folds both sides.
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    if !ignore_case && !has_wildcard_or_marker(pattern) {
        return pattern == text;
    }
    if pattern.is_ascii() && text.is_ascii() {
        // The hot path (actions, `sub` values, ARNs): bytes, no allocation.
        let eq = |a: u8, b: u8| {
            if ignore_case {
                a.eq_ignore_ascii_case(&b)
            } else {
                a == b
            }
        };
        return match_units(pattern.as_bytes(), text.as_bytes(), b'*', b'?', eq);
    }
    let fold = |s: &str| -> Vec<char> {
        if ignore_case {
            s.chars().flat_map(char::to_lowercase).collect()
        } else {
            s.chars().collect()
        }
    };
    match_units(&fold(pattern), &fold(text), '*', '?', |p, t| {
        literal(p) == t
    })
}

/// The matching algorithm over any unit (bytes or chars): `eq(pattern unit, text unit)`
/// compares a non-wildcard unit.
fn match_units<T: Copy + PartialEq>(
    p: &[T],
    t: &[T],
    star_unit: T,
    any_unit: T,
    eq: impl Fn(T, T) -> bool,
) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<usize> = None;
    let mut star_t = 0usize;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == any_unit || (p[pi] != star_unit && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == star_unit {
            star = Some(pi);
            pi += 1;
            star_t = ti;
        } else if let Some(s) = star {
            pi = s + 1;
            star_t += 1;
            ti = star_t;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == star_unit {
        pi += 1;
    }
    pi == p.len()
}

/// Stands for a literal `*` in a pattern (the `${*}` policy-variable escape).
pub const LITERAL_STAR: char = '\u{E000}';
/// Stands for a literal `?` in a pattern (the `${?}` escape).
pub const LITERAL_QUESTION: char = '\u{E001}';

/// The first byte of [`LITERAL_STAR`] and [`LITERAL_QUESTION`] in UTF-8 (`EE 80 80`,
/// `EE 80 81`): a string without this byte holds neither marker. A byte test runs over a
/// value several times faster than a search for a set of `char`s, which decodes each
/// one; the trust policy of a role several ServiceAccounts share lists each of their
/// `sub` values, compared in turn for every one of them.
const MARKER_LEAD_BYTE: u8 = 0xEE;

/// Whether `s` holds [`LITERAL_STAR`] or [`LITERAL_QUESTION`].
pub fn has_literal_marker(s: &str) -> bool {
    s.as_bytes().contains(&MARKER_LEAD_BYTE) && s.contains([LITERAL_STAR, LITERAL_QUESTION])
}

/// Whether `s` holds `*`, `?` or a literal marker: [`wildcard_match`] with it is more
/// than a comparison of the two texts.
fn has_wildcard_or_marker(s: &str) -> bool {
    s.bytes().any(|b| b == b'*' || b == b'?') || has_literal_marker(s)
}

fn literal(c: char) -> char {
    match c {
        LITERAL_STAR => '*',
        LITERAL_QUESTION => '?',
        c => c,
    }
}

/// Replaces escape placeholders by the characters they stand for.
pub fn unescape_literals(s: &str) -> String {
    s.chars().map(literal).collect()
}

/// Whether a value contains IAM wildcard characters.
pub fn has_wildcards(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// What a pattern matches literally before its first wildcard: every value it
/// matches starts with this. Cut also at `$` (a policy variable such as `${*}`, an
/// escaped literal) and at the escaped-wildcard markers, so the prefix is never longer
/// than what the pattern certainly matches literally.
pub fn literal_prefix(pattern: &str) -> &str {
    let end = pattern
        .find(['*', '?', '$', LITERAL_STAR, LITERAL_QUESTION])
        .unwrap_or(pattern.len());
    &pattern[..end]
}

#[cfg(test)]
mod tests {
    use super::wildcard_match as m;

    #[test]
    fn literal_markers_are_found_by_their_lead_byte_and_only_they() {
        use super::{has_literal_marker, LITERAL_QUESTION, LITERAL_STAR};
        assert!(has_literal_marker(&format!("a{LITERAL_STAR}b")));
        assert!(has_literal_marker(&format!("{LITERAL_QUESTION}")));
        // Other characters whose UTF-8 starts with the same byte (U+E002, U+EFFF).
        assert!(!has_literal_marker("a\u{E002}b\u{EFFF}"));
        assert!(!has_literal_marker("system:serviceaccount:ns:sa"));
        assert!(!has_literal_marker(""));
        // A value with a marker is compared with it unescaped; one without, as written.
        assert!(m(&format!("a{LITERAL_STAR}"), "a*", false));
        assert!(!m(&format!("a{LITERAL_STAR}"), "ab", false));
        assert!(m("a\u{E002}", "a\u{E002}", false));
        assert!(!m("a\u{E002}", "a\u{E003}", false));
        assert!(m("a?c", "abc", false) && m("a*", "a\u{E002}", false));
    }

    #[test]
    fn wildcard_cases() {
        assert!(m(
            "system:serviceaccount:team-a:*",
            "system:serviceaccount:team-a:web",
            false
        ));
        assert!(!m(
            "system:serviceaccount:team-a:*",
            "system:serviceaccount:team-b:web",
            false
        ));
        assert!(m("*", "", false));
        assert!(m("a*b*c", "aXXbYYc", false));
        assert!(!m("a*b*c", "aXXbYY", false));
        assert!(m("sts:AssumeRole*", "sts:AssumeRoleWithWebIdentity", false));
        assert!(m(
            "STS:assumerolewithwebidentity",
            "sts:AssumeRoleWithWebIdentity",
            true
        ));
        assert!(!m(
            "STS:assumerolewithwebidentity",
            "sts:AssumeRoleWithWebIdentity",
            false
        ));
        assert!(m("s?s:*", "sts:x", false));
        assert!(!m("s?s", "ss", false));
        assert!(m("*:*:*", "a:b:c", false));
        assert!(m("**", "abc", false));
        assert!(m("a\u{E000}", "a*", false));
        assert!(!m("a\u{E000}", "ab", false));
        assert!(m("a\u{E001}*", "a?xyz", false));
    }

    /// A pattern matches only `sub` values that start with its literal prefix: the index
    /// of trusted patterns by prefix finds every pattern a full scan finds.
    #[test]
    fn a_pattern_matches_only_subs_starting_with_its_literal_prefix() {
        let patterns = [
            "system:serviceaccount:team-a:*",
            "system:serviceaccount:*:web",
            "*",
            "system:serviceaccount:team-?:web",
            "system:serviceaccount:${*}:web*",
            "system:serviceaccount:team-a:web",
            "",
        ];
        let subs = [
            "system:serviceaccount:team-a:web",
            "system:serviceaccount:team-b:web",
            "system:serviceaccount:${*}:web-1",
            "system:serviceaccount:team-a:",
            "",
        ];
        for p in patterns {
            for s in subs {
                if m(p, s, false) {
                    assert!(
                        s.starts_with(super::literal_prefix(p)),
                        "{p:?} matches {s:?}"
                    );
                }
            }
        }
        assert_eq!(
            super::literal_prefix("system:serviceaccount:team-a:*"),
            "system:serviceaccount:team-a:"
        );
        assert_eq!(super::literal_prefix("a${*}b*"), "a");
        assert_eq!(super::literal_prefix("*"), "");
        assert_eq!(super::literal_prefix("a\u{E000}b*"), "a");
    }
}
