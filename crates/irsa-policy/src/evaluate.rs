//! Decides an `sts:AssumeRoleWithWebIdentity` request against a trust policy the
//! way IAM does, with a trace per statement and per condition.
//!
//! Semantics (IAM user guide: evaluation logic, condition operators, multivalued
//! conditions; facts §4):
//! - an explicit `Deny` that applies wins; otherwise an applying `Allow` allows;
//!   otherwise the request is implicitly denied;
//! - a statement applies when its principal, action and every condition hold (AND);
//!   several values for one key are OR (AND for negated operators);
//! - condition keys are case-insensitive, values are compared as the operator says;
//! - a missing key makes a positive operator false, a negated one true,
//!   `…IfExists` true, `ForAllValues:` true, `ForAnyValue:` false;
//! - three-valued logic: a condition on a key whose value cannot be known offline
//!   is *undetermined*, and so is any decision that depends on it.

use crate::context::{KeyLookup, Lookup, RequestContext, WebIdentityRequest};
use crate::document::{Condition, Effect, PolicyDocument, Principal, Statement};
use crate::glob::wildcard_match;
use crate::operator::{BaseOperator, Operator, SetQualifier};
use serde::Serialize;

/// The action every IRSA trust statement must allow.
pub const WEB_IDENTITY_ACTION: &str = "sts:AssumeRoleWithWebIdentity";

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
    pub(crate) fn from_bool(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }
    pub(crate) fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
    pub(crate) fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, Tri::True) => Tri::True,
            _ => Tri::Unknown,
        }
    }
}

/// Why a condition came out as it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ConditionReason {
    /// The request's values were compared with the policy's (the request values are
    /// in the [`WebIdentityRequest`]; not copied into every trace).
    Compared,
    /// The key is not in the request.
    KeyMissing,
    /// The key is present but its value is not known offline.
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

/// The outcome of one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementOutcome {
    /// Statement index.
    pub index: usize,
    /// `Allow` or `Deny`.
    pub effect: Effect,
    /// Whether `Principal`/`NotPrincipal` matches the provider.
    pub principal: Tri,
    /// Whether `Action`/`NotAction` matches `sts:AssumeRoleWithWebIdentity`.
    pub action: Tri,
    /// Per condition.
    pub conditions: Vec<ConditionOutcome>,
    /// Whether the statement applies to the request.
    pub applies: Tri,
}

/// IAM's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum Decision {
    /// An Allow statement applies and no Deny does.
    Allow {
        /// The first applying Allow statement.
        statement: usize,
    },
    /// A Deny statement applies.
    ExplicitDeny {
        /// The first applying Deny statement.
        statement: usize,
    },
    /// No statement allows.
    ImplicitDeny,
    /// The answer depends on values not known offline.
    Undetermined {
        /// Statements whose applicability is unknown.
        statements: Vec<usize>,
    },
}

impl Decision {
    /// True for `Allow`.
    pub fn is_allow(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }
    /// True for either kind of deny.
    pub fn is_deny(&self) -> bool {
        matches!(self, Decision::ExplicitDeny { .. } | Decision::ImplicitDeny)
    }
}

/// Decision plus trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    /// The decision.
    pub decision: Decision,
    /// One outcome per statement, in document order.
    pub statements: Vec<StatementOutcome>,
}

/// Evaluates `request` against `policy`.
pub fn evaluate(policy: &PolicyDocument, request: &WebIdentityRequest) -> Evaluation {
    let ctx = request.context();
    evaluate_with(policy, request, &ctx)
}

/// Evaluates with a context built once (for callers that evaluate many policies).
pub fn evaluate_with(
    policy: &PolicyDocument,
    request: &WebIdentityRequest,
    ctx: &RequestContext,
) -> Evaluation {
    let vars = policy.substitutes_variables();
    let statements: Vec<StatementOutcome> = policy
        .statements
        .iter()
        .map(|s| evaluate_statement(s, request, ctx, vars))
        .collect();
    let first = |effect: Effect, want: Tri| {
        statements
            .iter()
            .find(|o| o.effect == effect && o.applies == want)
            .map(|o| o.index)
    };
    let unknown: Vec<usize> = statements
        .iter()
        .filter(|o| o.applies == Tri::Unknown)
        .map(|o| o.index)
        .collect();
    let decision = if let Some(i) = first(Effect::Deny, Tri::True) {
        Decision::ExplicitDeny { statement: i }
    } else {
        let allow = first(Effect::Allow, Tri::True);
        let deny_unknown = first(Effect::Deny, Tri::Unknown).is_some();
        let allow_unknown = first(Effect::Allow, Tri::Unknown).is_some();
        match allow {
            Some(i) if !deny_unknown => Decision::Allow { statement: i },
            Some(_) => Decision::Undetermined {
                statements: unknown,
            },
            None if allow_unknown => Decision::Undetermined {
                statements: unknown,
            },
            None => Decision::ImplicitDeny,
        }
    };
    Evaluation {
        decision,
        statements,
    }
}

/// Whether a principal element names the request's provider.
pub fn principal_matches(p: &Principal, provider_arn: &str) -> Tri {
    match p {
        Principal::Any => Tri::True,
        Principal::Map(entries) => {
            let mut result = Tri::False;
            for (kind, values) in entries {
                for v in values {
                    if kind == "Federated" && v == provider_arn {
                        return Tri::True;
                    }
                    // `{"AWS": "*"}` is documented as "all principals"; whether it
                    // covers web-identity sessions is not verified [UNV], so it is
                    // undetermined rather than a pass.
                    if kind == "AWS" && v == "*" {
                        result = Tri::Unknown;
                    }
                }
            }
            result
        }
    }
}

/// Whether action patterns cover `sts:AssumeRoleWithWebIdentity` (case-insensitive, wildcards).
pub fn action_matches(patterns: &[String]) -> bool {
    patterns
        .iter()
        .any(|p| wildcard_match(p, WEB_IDENTITY_ACTION, true))
}

fn evaluate_statement(
    s: &Statement,
    request: &WebIdentityRequest,
    ctx: &RequestContext,
    vars: bool,
) -> StatementOutcome {
    let principal = match (&s.principal, &s.not_principal) {
        (Some(p), _) => principal_matches(p, &request.provider_arn),
        (None, Some(np)) => principal_matches(np, &request.provider_arn).not(),
        (None, None) => Tri::False,
    };
    let action = match (&s.action, &s.not_action) {
        (Some(a), _) => Tri::from_bool(action_matches(a)),
        (None, Some(na)) => Tri::from_bool(!action_matches(na)),
        (None, None) => Tri::False,
    };
    let conditions: Vec<ConditionOutcome> = s
        .conditions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (result, reason) = evaluate_condition(c, ctx, vars);
            ConditionOutcome {
                index: i,
                result,
                reason,
            }
        })
        .collect();
    let applies = conditions
        .iter()
        .fold(principal.and(action), |acc, c| acc.and(c.result));
    StatementOutcome {
        index: s.index,
        effect: s.effect,
        principal,
        action,
        conditions,
        applies,
    }
}

enum Resolved {
    Value(String),
    Unknown,
}

/// Substitutes `${key}` policy variables (Version 2012-10-17 only).
fn resolve_variables<C: KeyLookup + ?Sized>(value: &str, ctx: &C) -> Resolved {
    if !value.contains("${") {
        return Resolved::Value(value.to_string());
    }
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Resolved::Value(out);
        };
        let name = &after[..end];
        match name {
            "*" => out.push(crate::glob::LITERAL_STAR),
            "?" => out.push(crate::glob::LITERAL_QUESTION),
            "$" => out.push('$'),
            _ => {
                // `${key, 'default'}` form.
                let (key, default) = match name.split_once(',') {
                    Some((k, d)) => (k.trim(), Some(d.trim().trim_matches('\'').to_string())),
                    None => (name.trim(), None),
                };
                match (ctx.lookup(&key.to_lowercase()), default) {
                    (Lookup::Present(v), _) if v.len() == 1 => out.push_str(&v[0]),
                    (Lookup::Missing, Some(d)) => out.push_str(&d),
                    _ => return Resolved::Unknown,
                }
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Resolved::Value(out)
}

fn arn_like(pattern: &str, value: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let v: Vec<&str> = value.splitn(6, ':').collect();
    p.len() == 6 && v.len() == 6 && p.iter().zip(&v).all(|(a, b)| wildcard_match(a, b, false))
}

/// Positive comparison of one request value with one policy value.
/// `None` when the comparison cannot be decided offline (IP ranges, dates).
fn positive_match(base: BaseOperator, policy: &str, actual: &str) -> Option<bool> {
    use BaseOperator::*;
    let num = |s: &str| s.trim().parse::<f64>().ok();
    let unescaped;
    let policy = if base.positive() == StringLike
        || base.positive() == ArnLike
        || base.positive() == ArnEquals
    {
        policy
    } else {
        unescaped = crate::glob::unescape_literals(policy);
        unescaped.as_str()
    };
    Some(match base.positive() {
        StringEquals => policy == actual,
        StringEqualsIgnoreCase => policy.to_lowercase() == actual.to_lowercase(),
        StringLike => wildcard_match(policy, actual, false),
        NumericEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => {
            let (Some(p), Some(a)) = (num(policy), num(actual)) else {
                return Some(false);
            };
            match base.positive() {
                NumericEquals => a == p,
                NumericLessThan => a < p,
                NumericLessThanEquals => a <= p,
                NumericGreaterThan => a > p,
                _ => a >= p,
            }
        }
        DateEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => {
            let (Some(p), Some(a)) = (num(policy), num(actual)) else {
                return None;
            };
            match base.positive() {
                DateEquals => a == p,
                DateLessThan => a < p,
                DateLessThanEquals => a <= p,
                DateGreaterThan => a > p,
                _ => a >= p,
            }
        }
        Bool => policy.eq_ignore_ascii_case(actual),
        BinaryEquals => policy == actual,
        IpAddress => return None,
        ArnEquals | ArnLike => arn_like(policy, actual),
        // Null is handled before value comparison; negated bases were mapped to positive.
        _ => return None,
    })
}

/// Evaluates one condition entry against any key lookup (shared by the trust and
/// identity evaluators).
pub(crate) fn evaluate_condition<C: KeyLookup + ?Sized>(
    c: &Condition,
    ctx: &C,
    vars: bool,
) -> (Tri, ConditionReason) {
    let Operator::Known {
        set,
        base,
        if_exists,
    } = &c.operator
    else {
        return (Tri::False, ConditionReason::UnknownOperator);
    };
    let lookup = ctx.lookup(&c.key_lower);
    if *base == BaseOperator::Null {
        let present = !matches!(lookup, Lookup::Missing);
        // `"Null": {"k": "true"}` holds when k is absent; any policy value may match (OR).
        let result = c
            .values
            .iter()
            .any(|v| v.eq_ignore_ascii_case("true") != present);
        let reason = if present {
            ConditionReason::Compared
        } else {
            ConditionReason::KeyMissing
        };
        return (Tri::from_bool(result), reason);
    }
    let actual: &[String] = match lookup {
        Lookup::Missing => {
            let result = *if_exists
                || match set {
                    Some(SetQualifier::ForAllValues) => true,
                    Some(SetQualifier::ForAnyValue) => false,
                    None => base.is_negated(),
                };
            return (Tri::from_bool(result), ConditionReason::KeyMissing);
        }
        Lookup::Unknown(why) => {
            return (
                Tri::Unknown,
                ConditionReason::KeyUnknown {
                    why: why.to_string(),
                },
            )
        }
        Lookup::Present(v) => v,
    };
    // Values are borrowed unless a policy variable must be substituted.
    let mut policy_values: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(c.values.len());
    for v in &c.values {
        if vars && v.contains("${") {
            match resolve_variables(v, ctx) {
                Resolved::Value(s) => policy_values.push(std::borrow::Cow::Owned(s)),
                Resolved::Unknown => {
                    return (
                        Tri::Unknown,
                        ConditionReason::UnresolvedVariable { value: v.clone() },
                    )
                }
            }
        } else {
            policy_values.push(std::borrow::Cow::Borrowed(v.as_str()));
        }
    }
    // Does one request value match any policy value (positively)?
    let value_matches = |a: &str| -> Tri {
        let mut unknown = false;
        for p in &policy_values {
            match positive_match(*base, p, a) {
                Some(true) => return Tri::True,
                Some(false) => {}
                None => unknown = true,
            }
        }
        if unknown {
            Tri::Unknown
        } else {
            Tri::False
        }
    };
    // Per request value: the operator's own sense (negated operators invert).
    let per_value = |a: &str| -> Tri {
        let m = value_matches(a);
        if base.is_negated() {
            m.not()
        } else {
            m
        }
    };
    let any = |f: &dyn Fn(&str) -> Tri| -> Tri {
        let mut acc = Tri::False;
        for a in actual {
            match f(a) {
                Tri::True => return Tri::True,
                Tri::Unknown => acc = Tri::Unknown,
                Tri::False => {}
            }
        }
        acc
    };
    let all =
        |f: &dyn Fn(&str) -> Tri| -> Tri { actual.iter().fold(Tri::True, |acc, a| acc.and(f(a))) };
    let result = match set {
        Some(SetQualifier::ForAnyValue) => any(&per_value),
        Some(SetQualifier::ForAllValues) => all(&per_value),
        // Single-valued operators: positive = some value matches; negated = none does.
        None if base.is_negated() => any(&value_matches).not(),
        None => any(&value_matches),
    };
    (result, ConditionReason::Compared)
}
