//! IAM wildcard matching: `*` matches any run of characters (including `:` and
//! `/`), `?` exactly one character. Iterative with backtracking on the last
//! `*`, so it is linear in practice and never recurses.

/// Matches `text` against `pattern`; `ignore_case` folds both sides.
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    if !ignore_case && !pattern.contains(['*', '?', LITERAL_STAR, LITERAL_QUESTION]) {
        return pattern == text;
    }
    if pattern.is_ascii() && text.is_ascii() {
        return match_ascii(pattern.as_bytes(), text.as_bytes(), ignore_case);
    }
    let fold = |s: &str| -> Vec<char> {
        if ignore_case {
            s.chars().flat_map(char::to_lowercase).collect()
        } else {
            s.chars().collect()
        }
    };
    let p = fold(pattern);
    let t = fold(text);
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<usize> = None;
    let mut star_t = 0usize;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && literal(p[pi]) == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
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
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The same algorithm on ASCII bytes, without allocating (the hot path: actions,
/// `sub` values and ARNs are ASCII).
fn match_ascii(p: &[u8], t: &[u8], ignore_case: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<usize> = None;
    let mut star_t = 0usize;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || (p[pi] != b'*' && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
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
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// Stands for a literal `*` in a pattern (the `${*}` policy-variable escape).
pub const LITERAL_STAR: char = '\u{E000}';
/// Stands for a literal `?` in a pattern (the `${?}` escape).
pub const LITERAL_QUESTION: char = '\u{E001}';

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

#[cfg(test)]
mod tests {
    use super::wildcard_match as m;

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
}
