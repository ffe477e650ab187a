//! Versions as software in the field writes them, and version ranges.
//!
//! One comparison for every scheme the data meets: `v2.7.1`, `1.11.563`,
//! `3.3.104.14` (four parts), `v0.33.0-rc.1` (a pre-release sorts before its
//! release), image tags such as `v1.28.0-eksbuild.1` or `0.14.0-debian-12-r0`
//! (a build suffix, ignored), and `cluster-autoscaler-1.29.0` (a name prefix,
//! ignored). Missing parts are zeros: `1.12` = `1.12.0`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;

/// A parsed version. Equality and order ignore build suffixes and the text form.
#[derive(Debug, Clone)]
pub struct Version {
    parts: Vec<u64>,
    /// Pre-release identifiers (`rc.1` → `["rc", "1"]`); empty for a release.
    pre: Vec<String>,
    text: String,
}

/// Words that mark a pre-release when they follow the numbers (`-rc.1`, `-beta2`).
const PRE_RELEASE: [&str; 5] = ["rc", "alpha", "beta", "pre", "dev"];

impl Version {
    /// Parses the first dotted number run of `text` (after an optional name prefix
    /// and `v`). `None` when the text holds no number at all.
    pub fn parse(text: &str) -> Option<Version> {
        let trimmed = text.trim();
        // Skip a name prefix: `cluster-autoscaler-1.29.0`, `release-2.1`, `v1.2`.
        let start = trimmed.char_indices().find(|&(i, c)| {
            c.is_ascii_digit()
                && (i == 0 || {
                    let before = trimmed[..i].chars().last().unwrap_or(' ');
                    matches!(before, 'v' | 'V' | '-' | '_' | '/' | ' ' | '@' | '=' | ':')
                })
        })?;
        let rest = &trimmed[start.0..];
        let mut parts = Vec::new();
        let mut end = 0;
        for (i, seg) in rest.split('.').enumerate() {
            let digits: String = seg.chars().take_while(char::is_ascii_digit).collect();
            if digits.is_empty() {
                break;
            }
            // Saturate absurd numbers rather than failing: they still compare.
            parts.push(digits.parse::<u64>().unwrap_or(u64::MAX));
            end += digits.len() + usize::from(i > 0);
            if digits.len() != seg.len() {
                break;
            }
            if parts.len() == 8 {
                break;
            }
        }
        if parts.is_empty() {
            return None;
        }
        let suffix = &rest[end..];
        let suffix = suffix.trim_start_matches(['-', '.', '+', '_']);
        let lower = suffix.to_ascii_lowercase();
        let pre = if PRE_RELEASE.iter().any(|p| lower.starts_with(p)) {
            lower
                .split(['.', '-', '+'])
                .take_while(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        } else {
            Vec::new()
        };
        Some(Version {
            parts,
            pre,
            text: trimmed.to_string(),
        })
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The numeric parts.
    pub fn parts(&self) -> &[u64] {
        &self.parts
    }

    /// The major version.
    pub fn major(&self) -> u64 {
        self.parts[0]
    }

    /// Whether this is a pre-release (`-rc.1`, `-beta`).
    pub fn is_pre_release(&self) -> bool {
        !self.pre.is_empty()
    }

    /// The release this version belongs to, without pre-release or suffix.
    pub fn release(&self) -> Version {
        let text = self
            .parts
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(".");
        Version {
            parts: self.parts.clone(),
            pre: Vec::new(),
            text,
        }
    }

    fn part(&self, i: usize) -> u64 {
        self.parts.get(i).copied().unwrap_or(0)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.parts.len().max(other.parts.len());
        for i in 0..n {
            match self.part(i).cmp(&other.part(i)) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                for (a, b) in self.pre.iter().zip(&other.pre) {
                    let o = match (a.parse::<u64>(), b.parse::<u64>()) {
                        (Ok(x), Ok(y)) => x.cmp(&y),
                        (Ok(_), Err(_)) => Ordering::Less,
                        (Err(_), Ok(_)) => Ordering::Greater,
                        (Err(_), Err(_)) => a.cmp(b),
                    };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                self.pre.len().cmp(&other.pre.len())
            }
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Version, D::Error> {
        let s = String::deserialize(d)?;
        Version::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a version")))
    }
}

/// What is known of an installed version: exact, or only a range (a
/// `package.json` requirement such as `^2.500.0`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum VersionSpec {
    /// Exactly this version.
    Exact(Version),
    /// Some version in a range (as written in a manifest).
    Range(VersionRange),
}

impl VersionSpec {
    /// The text as written.
    pub fn text(&self) -> String {
        match self {
            VersionSpec::Exact(v) => v.to_string(),
            VersionSpec::Range(r) => r.text.clone(),
        }
    }

    /// Whether every version this allows is at least `minimum`: `Some(true)` yes,
    /// `Some(false)` every allowed version is older, `None` it depends.
    pub fn at_least(&self, minimum: &Version) -> Option<bool> {
        match self {
            VersionSpec::Exact(v) => Some(v >= minimum),
            VersionSpec::Range(r) => {
                if r.lowest.as_ref().is_some_and(|lo| lo >= minimum) {
                    Some(true)
                } else if r.below.as_ref().is_some_and(|hi| hi <= minimum) {
                    Some(false)
                } else {
                    None
                }
            }
        }
    }
}

impl fmt::Display for VersionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// The versions an npm-style requirement allows: `[lowest, below)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionRange {
    /// The requirement as written.
    pub text: String,
    /// The lowest allowed version (`None`: unbounded).
    pub lowest: Option<Version>,
    /// Every allowed version is below this (`None`: unbounded).
    pub below: Option<Version>,
}

impl VersionRange {
    /// Parses an npm / Composer requirement: `1.2.3`, `^1.2.3`, `~1.2.3`, `1.x`,
    /// `>=1.2 <2`, `1.2.3 - 2.0.0`, `a || b` (the union's bounds), `*`.
    /// `None` for what is not a version requirement (a URL, a git reference, a tag
    /// such as `latest`).
    pub fn parse_npm(text: &str) -> Option<VersionRange> {
        let t = text.trim();
        if t.contains("://") || t.contains(':') || t.contains('/') {
            return None;
        }
        let mut lowest: Option<Option<Version>> = None;
        let mut below: Option<Option<Version>> = None;
        for alt in t.split("||") {
            let (lo, hi) = bounds_of_conjunction(alt.trim())?;
            lowest = Some(match (lowest, lo) {
                (None, x) => x,
                (Some(None), _) | (_, None) => None,
                (Some(Some(a)), Some(b)) => Some(a.min(b)),
            });
            below = Some(match (below, hi) {
                (None, x) => x,
                (Some(None), _) | (_, None) => None,
                (Some(Some(a)), Some(b)) => Some(a.max(b)),
            });
        }
        Some(VersionRange {
            text: t.to_string(),
            lowest: lowest.flatten(),
            below: below.flatten(),
        })
    }
}

/// Bounds of one space-separated conjunction (`>=1.2 <2`, `^1.2.3`, `1.2.3 - 2`).
fn bounds_of_conjunction(t: &str) -> Option<(Option<Version>, Option<Version>)> {
    if t.is_empty() || t == "*" || t == "x" || t == "X" || t == "latest" {
        return if t == "latest" {
            None
        } else {
            Some((None, None))
        };
    }
    if let Some((a, b)) = t.split_once(" - ") {
        let lo = partial(a.trim())?.0;
        let (hi_v, hi_n) = partial(b.trim())?;
        return Some((
            Some(lo),
            Some(bump(&hi_v, hi_n.saturating_sub(1).min(2), hi_n)),
        ));
    }
    let mut lo: Option<Version> = None;
    let mut hi: Option<Version> = None;
    let mut raise = |v: Version| {
        if lo.as_ref().is_none_or(|x| &v > x) {
            lo = Some(v);
        }
    };
    let lower_hi = |v: Version, hi: &mut Option<Version>| {
        if hi.as_ref().is_none_or(|x| &v < x) {
            *hi = Some(v);
        }
    };
    // Join `>= 1.2` written with a space.
    let mut tokens: Vec<String> = Vec::new();
    for w in t.split_whitespace() {
        match tokens.last_mut() {
            Some(last) if matches!(last.as_str(), ">" | ">=" | "<" | "<=" | "=" | "^" | "~") => {
                last.push_str(w)
            }
            _ => tokens.push(w.to_string()),
        }
    }
    for tok in tokens {
        let tok = tok.trim_start_matches('v');
        if let Some(rest) = tok.strip_prefix(">=") {
            raise(partial(rest)?.0);
        } else if let Some(rest) = tok.strip_prefix('>') {
            let (v, n) = partial(rest)?;
            // `>1.2` means `>=1.3`; `>1.2.3` is approximated by `>=1.2.4`.
            raise(bump(&v, n.saturating_sub(1), n));
        } else if let Some(rest) = tok.strip_prefix("<=") {
            let (v, n) = partial(rest)?;
            lower_hi(bump(&v, n.saturating_sub(1), n), &mut hi);
        } else if let Some(rest) = tok.strip_prefix('<') {
            lower_hi(partial(rest)?.0, &mut hi);
        } else if let Some(rest) = tok.strip_prefix('^') {
            let (v, n) = partial(rest)?;
            // Caret: the left-most non-zero part is fixed.
            let fixed = v
                .parts
                .iter()
                .take(n)
                .position(|p| *p != 0)
                .unwrap_or(n - 1);
            lower_hi(bump(&v, fixed, n), &mut hi);
            raise(v);
        } else if let Some(rest) = tok.strip_prefix('~') {
            let rest = rest.trim_start_matches('>');
            let (v, n) = partial(rest)?;
            // Tilde: patch changes only when the minor is given, else minor changes.
            lower_hi(bump(&v, if n >= 2 { 1 } else { 0 }, n), &mut hi);
            raise(v);
        } else {
            let tok = tok.trim_start_matches('=');
            let (v, n) = partial(tok)?;
            if n >= 3 && !tok.contains(['x', 'X', '*']) {
                lower_hi(bump(&v, 2, 3), &mut hi);
                // An exact version: below the next patch (pre-releases aside).
                raise(v);
            } else {
                lower_hi(bump(&v, n.saturating_sub(1), n), &mut hi);
                raise(v);
            }
        }
    }
    Some((lo, hi))
}

/// Parses `1`, `1.2`, `1.2.x`, `1.2.3`: the version (wildcards as 0) and how many
/// parts were given explicitly.
fn partial(t: &str) -> Option<(Version, usize)> {
    let t = t.trim().trim_start_matches(['v', '=']);
    let mut given = 0;
    let mut parts = Vec::new();
    for seg in t.split('.') {
        if seg == "x" || seg == "X" || seg == "*" {
            break;
        }
        let digits: String = seg.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return None;
        }
        parts.push(digits.parse::<u64>().ok()?);
        given += 1;
        if digits.len() != seg.len() {
            break;
        }
    }
    if given == 0 {
        return None;
    }
    let text = parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".");
    Some((
        Version {
            parts,
            pre: Vec::new(),
            text,
        },
        given,
    ))
}

/// The version with part `i` increased by one and every later part dropped
/// (`bump(1.2.3, 1) = 1.3`). `given` = how many parts were written.
fn bump(v: &Version, i: usize, given: usize) -> Version {
    let i = i.min(given.saturating_sub(1));
    let mut parts: Vec<u64> = v.parts.iter().take(i + 1).copied().collect();
    while parts.len() <= i {
        parts.push(0);
    }
    parts[i] = parts[i].saturating_add(1);
    let text = parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".");
    Version {
        parts,
        pre: Vec::new(),
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn parses_field_forms() {
        assert_eq!(v("v2.7.1").parts(), &[2, 7, 1]);
        assert_eq!(v("1.11.563").parts(), &[1, 11, 563]);
        assert_eq!(v("3.3.104.14").parts(), &[3, 3, 104, 14]);
        assert_eq!(v("cluster-autoscaler-1.29.0").parts(), &[1, 29, 0]);
        assert_eq!(v("v1.28.0-eksbuild.1").parts(), &[1, 28, 0]);
        assert!(!v("v1.28.0-eksbuild.1").is_pre_release());
        assert!(v("v0.33.0-rc.1").is_pre_release());
        assert_eq!(v("0.14.0-debian-12-r0").parts(), &[0, 14, 0]);
        assert_eq!(v("1.300032.2b361").parts(), &[1, 300032, 2]);
        assert!(Version::parse("latest").is_none());
        assert!(Version::parse("").is_none());
        assert!(Version::parse("sha256").is_none());
    }

    #[test]
    fn orders_like_releases() {
        assert!(v("1.9.0") < v("1.16.232"));
        assert!(v("1.12") == v("1.12.0"));
        assert!(v("v0.33.0-rc.1") < v("0.33.0"));
        assert!(v("0.33.0-rc.1") < v("0.33.0-rc.2"));
        assert!(v("0.33.0-alpha") < v("0.33.0-beta"));
        assert!(v("3.3.104.13") < v("3.3.104.14"));
        assert!(v("2.0.0") > v("1.99.99"));
        assert_eq!(v("v1.28.0-eksbuild.1"), v("1.28.0"));
    }

    fn r(s: &str) -> (Option<String>, Option<String>) {
        let r = VersionRange::parse_npm(s).unwrap();
        (
            r.lowest.map(|v| v.to_string()),
            r.below.map(|v| v.to_string()),
        )
    }

    #[test]
    fn npm_ranges() {
        assert_eq!(r("^2.500.0"), (Some("2.500.0".into()), Some("3".into())));
        assert_eq!(
            r("~2.500.0"),
            (Some("2.500.0".into()), Some("2.501".into()))
        );
        assert_eq!(r("^0.2.3"), (Some("0.2.3".into()), Some("0.3".into())));
        assert_eq!(
            r("2.500.0"),
            (Some("2.500.0".into()), Some("2.500.1".into()))
        );
        assert_eq!(
            r(">=2.0.0 <2.400.0"),
            (Some("2.0.0".into()), Some("2.400.0".into()))
        );
        assert_eq!(r(">= 2.1"), (Some("2.1".into()), None));
        assert_eq!(r("2.x"), (Some("2".into()), Some("3".into())));
        assert_eq!(r("*"), (None, None));
        assert_eq!(
            r("1.0.0 - 2.4.0"),
            (Some("1.0.0".into()), Some("2.4.1".into()))
        );
        assert_eq!(
            r("^1.0.0 || ^3.0.0"),
            (Some("1.0.0".into()), Some("4".into()))
        );
        assert!(VersionRange::parse_npm("git+https://x/y.git").is_none());
        assert!(VersionRange::parse_npm("latest").is_none());
        assert!(VersionRange::parse_npm("file:../x").is_none());
    }

    #[test]
    fn spec_against_minimum() {
        let min = v("2.525.0");
        let spec = |s: &str| VersionSpec::Range(VersionRange::parse_npm(s).unwrap());
        assert_eq!(spec("^2.600.0").at_least(&min), Some(true));
        assert_eq!(spec("~2.400.0").at_least(&min), Some(false));
        assert_eq!(spec("^2.400.0").at_least(&min), None);
        assert_eq!(VersionSpec::Exact(v("2.524.9")).at_least(&min), Some(false));
    }
}
