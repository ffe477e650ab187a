//! One `Condition` entry (`operator → key → values`) against a request context, as IAM
//! evaluates it, three-valued. Independent of the request kind: it works on any
//! [`KeyLookup`], so the trust-policy evaluator and others share it.
//!
//! Semantics, each from the IAM user guide (doc_source pages of awsdocs/iam-user-guide
//! e2b8637a, and the live pages of the same name):
//! - **missing key** ("Condition operators", Important box): a positive operator is
//!   false, a negated one (`StringNotEquals`, `ArnNotLike`, …) true; `…IfExists` true;
//! - **set operators** ("Single-valued vs. multivalued context keys"): `ForAllValues`
//!   is true when the key is missing or empty, `ForAnyValue` false ("For no matching
//!   context key or if the key does not exist, the condition returns false") **also
//!   with `…IfExists`**: the qualifier is applied first (observed by a user on AWS
//!   re:Post, "ForAnyValue:StringEqualsIfExists behaving unexpectedly",
//!   repost.aws/questions/QU9HFmDzP0QGuU-fd7rS6B7w: the request was denied);
//! - **several policy values** ("Conditions with multiple context keys or values"): OR,
//!   and NOR for negated operators;
//! - **`Null`** ("Condition operator to check existence of condition keys"): `true`
//!   holds when the key is absent, `false` when it is present;
//! - **policy variables** ("IAM policy elements: Variables and tags"): substituted in
//!   String and ARN operators only, in `2012-10-17` documents only; a variable naming
//!   a key that is absent, with no default, is "effectively null": positive operators
//!   do not match it, negated ones do ("Policy variables with no value"); a default is
//!   written `${key, 'default'}` ("separate the variable text and the default value
//!   with a comma and space");
//! - what the documentation does not decide is [`Tri::Unknown`] with
//!   [`ConditionReason::Undocumented`], never a guess (see each case below).

use crate::context::{KeyLookup, Lookup};
use crate::document::Condition;
use crate::glob::{wildcard_match, LITERAL_QUESTION, LITERAL_STAR};
use crate::operator::{BaseOperator, Family, Operator, SetQualifier};
use serde::Serialize;
use std::borrow::Cow;

/// Three-valued truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tri {
    /// Holds.
    True,
    /// Does not hold.
    False,
    /// Cannot be decided offline.
    Unknown,
}

impl Tri {
    /// `True`/`False`.
    pub fn from_bool(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }
    /// Negation (unknown stays unknown).
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
    /// Kleene AND.
    pub fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, Tri::True) => Tri::True,
            _ => Tri::Unknown,
        }
    }
    /// Kleene OR.
    pub fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::False, Tri::False) => Tri::False,
            _ => Tri::Unknown,
        }
    }
    /// `True` becomes `Unknown`: for an element that can never make a statement
    /// apply for sure (a document IAM refuses).
    pub fn at_most_unknown(self) -> Tri {
        match self {
            Tri::True => Tri::Unknown,
            other => other,
        }
    }
}

/// Why a condition came out as it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ConditionReason {
    /// The request's values were compared with the policy's (the request values are
    /// in the request; not copied into every trace).
    Compared,
    /// The key is not in the request.
    KeyMissing,
    /// The key's value (or presence) is not known offline.
    KeyUnknown {
        /// Why it is unknown.
        why: String,
    },
    /// The operator is not an IAM operator.
    UnknownOperator,
    /// A policy variable in a value cannot be resolved offline.
    UnresolvedVariable {
        /// The value with the variable.
        value: String,
        /// Stable identifier of the case (`variable-value-unknown`, `malformed-default`,
        /// `multivalued-variable`, `substituted-wildcard`).
        code: &'static str,
        /// Why.
        why: String,
    },
    /// The IAM documentation does not say how IAM decides this condition; the safe
    /// reading is "undetermined".
    Undocumented {
        /// Stable identifier of the case (see [`Undocumented`]).
        code: &'static str,
        /// What is undocumented.
        why: String,
    },
}

/// The outcome of one condition entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionOutcome {
    /// Position in the statement's condition list.
    pub index: usize,
    /// Result.
    pub result: Tri,
    /// Why.
    pub reason: ConditionReason,
}

/// How one request value compares with one policy value under a positive operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Match,
    NoMatch,
    /// One side is not of the operator's type (a `sub` under `NumericEquals`, a
    /// non-ARN under `ArnLike`). Undocumented. A positive operator does not match
    /// under either plausible reading ("not equal" or "no match at all"); a negated
    /// operator is true under the first and false under the second, so it is
    /// undetermined. Searched: the condition operators page ("Numeric condition
    /// operators", "Amazon Resource Name (ARN) condition operators") and the
    /// multivalued-keys pages; none says what a type mismatch does.
    TypeMismatch,
    /// Not decidable offline.
    Unknown,
}

/// A case the IAM documentation leaves open: a stable code and the explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undocumented {
    /// Stable identifier.
    pub code: &'static str,
    /// In words.
    pub why: &'static str,
}

/// Several values under a single-valued operator.
pub const MULTIVALUED_KEY_SINGLE_OPERATOR: Undocumented = Undocumented {
    code: "multivalued-key-single-operator",
    why: "the key has several values in this request and the operator has no ForAnyValue/ForAllValues qualifier; the IAM documentation says multivalued keys require a set operator but not how a single-valued operator compares them",
};
/// A present key without values under a single-valued operator.
pub const EMPTY_KEY_SINGLE_OPERATOR: Undocumented = Undocumented {
    code: "empty-key-single-operator",
    why: "the key is present with no value and the operator has no set qualifier; the IAM documentation does not say how IAM compares an empty key",
};
/// A policy variable under `Bool`.
pub const VARIABLE_UNDER_BOOL: Undocumented = Undocumented {
    code: "variable-under-bool",
    why: "a policy variable under Bool: the IAM documentation contradicts itself (the condition operators page allows it, the policy variables page does not)",
};
/// `BinaryEquals` on a text key.
pub const BINARY_ON_TEXT: Undocumented = Undocumented {
    code: "binary-on-text",
    why: "BinaryEquals on a text key: the IAM documentation does not say how a key that is not binary compares with a base-64 value",
};
/// A negated operator on a value of another type.
pub const NEGATED_TYPE_MISMATCH: Undocumented = Undocumented {
    code: "negated-operator-type-mismatch",
    why: "a negated operator on a value that is not of its type (a number, date, IP address or ARN): the IAM documentation does not say whether that holds",
};
/// Two ISO 8601 dates.
pub const ISO_DATE_COMPARISON: Undocumented = Undocumented {
    code: "iso-date-comparison",
    why: "comparing ISO 8601 dates is not modelled offline",
};

/// Evaluates one condition entry. `substitute_variables` is true for `2012-10-17`
/// documents ([`crate::PolicyDocument::substitutes_variables`]).
pub fn evaluate_condition<C: KeyLookup + ?Sized>(
    c: &Condition,
    ctx: &C,
    substitute_variables: bool,
) -> (Tri, ConditionReason) {
    let Operator::Known {
        set,
        base,
        if_exists,
    } = &c.operator
    else {
        return (Tri::False, ConditionReason::UnknownOperator);
    };
    let (set, base, if_exists) = (*set, *base, *if_exists);
    let lookup = ctx.lookup(&c.key_lower);
    if base == BaseOperator::Null {
        return null_condition(c, &lookup);
    }
    let actual: &[String] = match lookup {
        Lookup::Missing => {
            // The set qualifier decides before `IfExists` (module documentation).
            let result = match set {
                Some(SetQualifier::ForAnyValue) => false,
                Some(SetQualifier::ForAllValues) => true,
                None => if_exists || base.is_negated(),
            };
            return (Tri::from_bool(result), ConditionReason::KeyMissing);
        }
        Lookup::Unknown(why) | Lookup::Uncertain(why) => {
            return (
                Tri::Unknown,
                ConditionReason::KeyUnknown {
                    why: why.to_string(),
                },
            )
        }
        Lookup::Present(v) => v,
    };
    match (set, actual.len()) {
        (Some(SetQualifier::ForAllValues), 0) => return (Tri::True, ConditionReason::Compared),
        (Some(SetQualifier::ForAnyValue), 0) => return (Tri::False, ConditionReason::Compared),
        (None, 0) => return undocumented(EMPTY_KEY_SINGLE_OPERATOR),
        (None, n) if n > 1 => return undocumented(MULTIVALUED_KEY_SINGLE_OPERATOR),
        _ => {}
    }
    let family = base.family();
    let has_variable = substitute_variables && c.has_variable;
    if has_variable && family == Family::Bool {
        return undocumented(VARIABLE_UNDER_BOOL);
    }
    // Policy values after variable substitution; `None` = a variable with no value.
    let resolved: Option<Vec<Option<Cow<'_, str>>>> =
        if has_variable && family.substitutes_variables() {
            let like = matches!(base.positive(), BaseOperator::StringLike) || family == Family::Arn;
            let mut out = Vec::with_capacity(c.values.len());
            for v in &c.values {
                match resolve_variables(v, ctx, like) {
                    Ok(r) => out.push(r),
                    Err((code, why)) => {
                        return (
                            Tri::Unknown,
                            ConditionReason::UnresolvedVariable {
                                value: v.clone(),
                                code,
                                why: why.to_string(),
                            },
                        )
                    }
                }
            }
            Some(out)
        } else {
            None
        };
    let negated = base.is_negated();
    // Does one request value match any policy value (positively)?
    let value_matches = |a: &str| -> Tri {
        match &resolved {
            Some(r) => any_positive(base, negated, r.iter().map(|o| o.as_deref()), a),
            None => any_positive(base, negated, c.values.iter().map(|s| Some(s.as_str())), a),
        }
    };
    // Per request value, in the operator's own sense (negated operators invert).
    let per_value = |a: &str| -> Tri {
        let m = value_matches(a);
        if negated {
            m.not()
        } else {
            m
        }
    };
    let result = match set {
        Some(SetQualifier::ForAnyValue) => actual
            .iter()
            .fold(Tri::False, |acc, a| acc.or(per_value(a))),
        Some(SetQualifier::ForAllValues) => actual
            .iter()
            .fold(Tri::True, |acc, a| acc.and(per_value(a))),
        // Exactly one value (several or none were handled above).
        None => per_value(&actual[0]),
    };
    if result == Tri::Unknown {
        // Say why: a comparison no offline evaluator can make.
        let u = actual
            .iter()
            .find_map(|a| unknown_comparison_reason(base, &c.values, a))
            .unwrap_or(Undocumented {
                code: "comparison-not-decidable",
                why: "a value comparison is not decidable offline",
            });
        return undocumented(u);
    }
    (result, ConditionReason::Compared)
}

fn undocumented(u: Undocumented) -> (Tri, ConditionReason) {
    (
        Tri::Unknown,
        ConditionReason::Undocumented {
            code: u.code,
            why: u.why.to_string(),
        },
    )
}

/// `Null`: `"true"` holds when the key is absent, `"false"` when present; several
/// values OR. Any other value never matches.
fn null_condition(c: &Condition, lookup: &Lookup<'_>) -> (Tri, ConditionReason) {
    let holds_if = |present: bool| {
        c.values.iter().any(|v| {
            (v.eq_ignore_ascii_case("true") && !present)
                || (v.eq_ignore_ascii_case("false") && present)
        })
    };
    match lookup {
        Lookup::Present(_) | Lookup::Unknown(_) => {
            (Tri::from_bool(holds_if(true)), ConditionReason::Compared)
        }
        Lookup::Missing => (Tri::from_bool(holds_if(false)), ConditionReason::KeyMissing),
        Lookup::Uncertain(why) => {
            let (if_present, if_absent) = (holds_if(true), holds_if(false));
            if if_present == if_absent {
                (Tri::from_bool(if_present), ConditionReason::Compared)
            } else {
                (
                    Tri::Unknown,
                    ConditionReason::KeyUnknown {
                        why: why.to_string(),
                    },
                )
            }
        }
    }
}

/// Whether request value `a` positively matches any of the policy values.
fn any_positive<'p>(
    base: BaseOperator,
    negated: bool,
    policy: impl Iterator<Item = Option<&'p str>>,
    a: &str,
) -> Tri {
    let mut unknown = false;
    for p in policy {
        // A variable with no value matches nothing (negated operators then hold).
        let Some(p) = p else { continue };
        match positive_match(base, p, a) {
            Cmp::Match => return Tri::True,
            Cmp::NoMatch => {}
            Cmp::TypeMismatch => unknown |= negated,
            Cmp::Unknown => unknown = true,
        }
    }
    if unknown {
        Tri::Unknown
    } else {
        Tri::False
    }
}

/// The reason a comparison of `a` is unknown, for the trace.
fn unknown_comparison_reason(
    base: BaseOperator,
    policy: &[String],
    a: &str,
) -> Option<Undocumented> {
    if base.family() == Family::Binary {
        return Some(BINARY_ON_TEXT);
    }
    for p in policy {
        match positive_match(base, p, a) {
            Cmp::TypeMismatch => return Some(NEGATED_TYPE_MISMATCH),
            Cmp::Unknown if base.family() == Family::Date => return Some(ISO_DATE_COMPARISON),
            _ => {}
        }
    }
    None
}

/// Positive comparison of one request value with one (resolved) policy value.
fn positive_match(base: BaseOperator, policy: &str, actual: &str) -> Cmp {
    use BaseOperator::*;
    let yes = |b: bool| if b { Cmp::Match } else { Cmp::NoMatch };
    match base.positive() {
        StringEquals => yes(literal_eq(policy, actual)),
        StringEqualsIgnoreCase => {
            let p = crate::glob::unescape_literals(policy);
            yes(p.to_lowercase() == actual.to_lowercase())
        }
        StringLike => yes(wildcard_match(policy, actual, false)),
        NumericEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => {
            let (Some(p), Some(a)) = (number(policy), number(actual)) else {
                return Cmp::TypeMismatch;
            };
            yes(match base.positive() {
                NumericEquals => a == p,
                NumericLessThan => a < p,
                NumericLessThanEquals => a <= p,
                NumericGreaterThan => a > p,
                _ => a >= p,
            })
        }
        DateEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => {
            let (Some(p), Some(a)) = (date(policy), date(actual)) else {
                return Cmp::TypeMismatch;
            };
            let (DateValue::Epoch(p), DateValue::Epoch(a)) = (p, a) else {
                return Cmp::Unknown;
            };
            yes(match base.positive() {
                DateEquals => a == p,
                DateLessThan => a < p,
                DateLessThanEquals => a <= p,
                DateGreaterThan => a > p,
                _ => a >= p,
            })
        }
        Bool => {
            let is_bool =
                |s: &str| s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false");
            if !is_bool(policy) || !is_bool(actual) {
                return Cmp::TypeMismatch;
            }
            yes(policy.eq_ignore_ascii_case(actual))
        }
        BinaryEquals => Cmp::Unknown,
        IpAddress => {
            let (Some(net), Ok(ip)) = (cidr(policy), actual.trim().parse::<std::net::IpAddr>())
            else {
                return Cmp::TypeMismatch;
            };
            yes(net.contains(ip))
        }
        ArnEquals | ArnLike => arn_match(policy, actual),
        // Null is handled before; negated bases were mapped to positive ones.
        _ => Cmp::Unknown,
    }
}

/// `StringEquals`: exact, with `${*}`/`${?}` placeholders standing for `*`/`?`.
/// Whether a policy value holds a policy variable (`${…}`): a byte search for `$`
/// first, as most values (every `sub` of a long list) hold none.
pub(crate) fn has_variable(value: &str) -> bool {
    value.as_bytes().contains(&b'$') && value.contains("${")
}

fn literal_eq(policy: &str, actual: &str) -> bool {
    if crate::glob::has_literal_marker(policy) {
        crate::glob::unescape_literals(policy) == actual
    } else {
        policy == actual
    }
}

/// An IAM number: an integer or a decimal (`-12`, `3.5`).
fn number(s: &str) -> Option<f64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    s.parse().ok()
}

enum DateValue {
    Epoch(i64),
    Iso,
}

/// A date as the condition operators page allows: epoch seconds, or a W3C ISO 8601
/// date (`YYYY-MM-DD…`, recognised but not compared).
fn date(s: &str) -> Option<DateValue> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok().map(DateValue::Epoch);
    }
    let b = s.as_bytes();
    let iso = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit);
    iso.then_some(DateValue::Iso)
}

struct Cidr {
    addr: std::net::IpAddr,
    prefix: u32,
}

impl Cidr {
    fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr::*;
        match (self.addr, ip) {
            (V4(n), V4(i)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix).unwrap_or(0);
                u32::from(n) & mask == u32::from(i) & mask
            }
            (V6(n), V6(i)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix).unwrap_or(0);
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }
}

/// `203.0.113.0/24`, `2001:db8::/32`, or an address alone (`/32`, `/128`).
fn cidr(s: &str) -> Option<Cidr> {
    let (a, p) = match s.trim().split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s.trim(), None),
    };
    let addr: std::net::IpAddr = a.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        Some(p) => p.parse().ok().filter(|n| *n <= max)?,
        None => max,
    };
    Some(Cidr { addr, prefix })
}

/// ARN operators: "Each of the six colon-delimited components of the ARN is checked
/// separately and each can include … wildcards"; case-sensitive.
fn arn_match(pattern: &str, value: &str) -> Cmp {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let v: Vec<&str> = value.splitn(6, ':').collect();
    let is_arn = |parts: &[&str], starts: bool| parts.len() == 6 && starts;
    if !is_arn(&v, value.starts_with("arn:")) || p.len() != 6 {
        return Cmp::TypeMismatch;
    }
    if p.iter().zip(&v).all(|(a, b)| wildcard_match(a, b, false)) {
        Cmp::Match
    } else {
        Cmp::NoMatch
    }
}

/// Substitutes `${key}` / `${key, 'default'}` and the `${*}`, `${?}`, `${$}` escapes.
/// `Ok(None)`: a variable names an absent key and has no default (the value is
/// "effectively null"). `Err((code, why))`: not decidable offline.
fn resolve_variables<'v, C: KeyLookup + ?Sized>(
    value: &'v str,
    ctx: &C,
    like: bool,
) -> Result<Option<Cow<'v, str>>, (&'static str, &'static str)> {
    if !has_variable(value) {
        return Ok(Some(Cow::Borrowed(value)));
    }
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            // No closing brace: not a variable.
            out.push_str(&rest[start..]);
            return Ok(Some(Cow::Owned(out)));
        };
        let name = &after[..end];
        match name {
            "*" => out.push(LITERAL_STAR),
            "?" => out.push(LITERAL_QUESTION),
            "$" => out.push('$'),
            _ => {
                let (key, default) =
                    split_default(name).map_err(|why| ("malformed-default", why))?;
                let found = match ctx.lookup(&key.to_lowercase()) {
                    Lookup::Present([v]) => v.as_str(),
                    Lookup::Present(_) => {
                        return Err(("multivalued-variable", "the variable names a key with several values (or none); the IAM documentation says multivalued keys cannot be variables but not what IAM then does"))
                    }
                    Lookup::Missing => match default {
                        Some(d) => d,
                        None => return Ok(None),
                    },
                    Lookup::Unknown(why) | Lookup::Uncertain(why) => {
                        return Err(("variable-value-unknown", why))
                    }
                };
                if like && found.contains(['*', '?']) {
                    return Err(("substituted-wildcard", "the substituted value contains `*` or `?`; the IAM documentation does not say whether they are wildcards there"));
                }
                out.push_str(found);
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Some(Cow::Owned(out)))
}

/// `key` or `key, 'default'` (comma and space, the default in single quotes: IAM user
/// guide, "Specifying default values"). Any other form is not documented: for
/// instance `${key,'x'}` could be read as a key named `key,'x'` (always absent) or
/// as a default; the readings differ, so it is undetermined.
fn split_default(name: &str) -> Result<(&str, Option<&str>), &'static str> {
    const MALFORMED: &str = "the variable's default is not written `${key, 'default'}` (comma, space, single quotes) as the IAM documentation specifies, and IAM's reading of this form is not documented";
    let (key, default) = match name.split_once(", ") {
        Some((k, d)) => {
            let quoted = d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'');
            if !quoted {
                return Err(MALFORMED);
            }
            (k, Some(&d[1..d.len() - 1]))
        }
        None => (name, None),
    };
    if key.is_empty() || key.contains(',') || key.trim() != key {
        return Err(MALFORMED);
    }
    Ok((key, default))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_dates_and_networks() {
        assert_eq!(number("12"), Some(12.0));
        assert_eq!(number("-1.5"), Some(-1.5));
        for bad in ["", "1e3", "+3", " 3", "3.", ".5", "abc", "0x10"] {
            assert_eq!(number(bad), None, "{bad}");
        }
        assert!(matches!(
            date("1700000000"),
            Some(DateValue::Epoch(1700000000))
        ));
        assert!(matches!(date("2024-01-01T00:00:00Z"), Some(DateValue::Iso)));
        assert!(date("system:serviceaccount:a:b").is_none());
        let n = cidr("203.0.113.0/24").unwrap();
        assert!(n.contains("203.0.113.9".parse().unwrap()));
        assert!(!n.contains("203.0.114.9".parse().unwrap()));
        assert!(cidr("10.0.0.1")
            .unwrap()
            .contains("10.0.0.1".parse().unwrap()));
        assert!(cidr("2001:db8::/32")
            .unwrap()
            .contains("2001:db8::1".parse().unwrap()));
        assert!(cidr("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(cidr("10.0.0.0/33").is_none());
    }

    #[test]
    fn defaults_need_comma_and_space() {
        assert_eq!(split_default("aws:username"), Ok(("aws:username", None)));
        assert_eq!(split_default("k, 'x'"), Ok(("k", Some("x"))));
        assert_eq!(split_default("k, ''"), Ok(("k", Some(""))));
        assert!(split_default("k,'x'").is_err());
        assert!(split_default("k, x").is_err());
        assert!(split_default(" k").is_err());
    }

    #[test]
    fn arn_comparisons() {
        assert_eq!(
            arn_match("arn:aws:iam::*:role/x", "arn:aws:iam::111122223333:role/x"),
            Cmp::Match
        );
        assert_eq!(
            arn_match("arn:aws:iam::*:role/x", "arn:aws:iam::111122223333:role/y"),
            Cmp::NoMatch
        );
        assert_eq!(
            arn_match("arn:aws:iam::*:role/x", "system:serviceaccount:a:b"),
            Cmp::TypeMismatch
        );
        assert_eq!(arn_match("*", "arn:aws:iam::1:role/x"), Cmp::TypeMismatch);
    }
}
