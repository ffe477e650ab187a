//! Decides an `sts:AssumeRoleWithWebIdentity` request against a trust policy the
//! way IAM does, with a trace per statement and per condition.
//!
//! Semantics (IAM user guide, "Policy evaluation logic", "IAM JSON policy elements:
//! Principal / NotPrincipal / Action"; condition semantics in [`crate::condition`]):
//! - an explicit `Deny` that applies wins; otherwise an applying `Allow` allows;
//!   otherwise the request is implicitly denied;
//! - a statement applies when its principal, action and every condition hold (AND);
//! - `"Principal": "*"` and `{"AWS": "*"}` are equivalent ("All principals": "For
//!   anonymous users, the following elements are equivalent");
//! - `NotPrincipal` is not allowed in a role trust policy ("You cannot use the
//!   NotPrincipal element in an IAM identity-based policy or in an IAM role trust
//!   policy"), and an `Action` must be `*` or `<service>:<action>` with wildcards in
//!   the action name only (policy grammar, `action_string`): IAM refuses such
//!   documents (`MalformedPolicyDocument`, [`crate::document::DocumentIssue`]); a
//!   statement with one of them can never apply *for sure*: at most undetermined,
//!   never an allow;
//! - three-valued logic: a condition whose truth cannot be known offline is
//!   *undetermined*, and so is any decision that depends on it, except when every
//!   way it could go ends in a denial: [`Decision::DenyKindUnknown`].

use crate::condition::evaluate_condition;
pub use crate::condition::{ConditionOutcome, ConditionReason, Tri};
use crate::context::KeyLookup;
use crate::context::{RequestContext, WebIdentityRequest};
use crate::document::{action_pattern_problem, Effect, PolicyDocument, Principal, Statement};
use crate::glob::wildcard_match;
use serde::Serialize;

/// The action every IRSA trust statement must allow.
pub const WEB_IDENTITY_ACTION: &str = "sts:AssumeRoleWithWebIdentity";

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
    /// Denied for sure, but whether explicitly or implicitly is not known offline: no
    /// Allow statement can apply, and these Deny statements may (their applicability
    /// depends on values not known offline). STS answers `AccessDenied` either way.
    DenyKindUnknown {
        /// The Deny statements that may apply.
        statements: Vec<usize>,
    },
    /// The answer depends on values not known offline: it may be an allow.
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
    /// True for every denial: explicit, implicit, or of unknown kind.
    pub fn is_deny(&self) -> bool {
        matches!(
            self,
            Decision::ExplicitDeny { .. }
                | Decision::ImplicitDeny
                | Decision::DenyKindUnknown { .. }
        )
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
    let decision = decide(&statements);
    Evaluation {
        decision,
        statements,
    }
}

/// Combines statement outcomes ("Policy evaluation logic": an explicit deny
/// overrides any allow; without an allow the request is implicitly denied).
pub fn decide(statements: &[StatementOutcome]) -> Decision {
    let first = |effect: Effect, want: Tri| {
        statements
            .iter()
            .find(|o| o.effect == effect && o.applies == want)
            .map(|o| o.index)
    };
    if let Some(i) = first(Effect::Deny, Tri::True) {
        return Decision::ExplicitDeny { statement: i };
    }
    let unknown = |effect: Option<Effect>| -> Vec<usize> {
        statements
            .iter()
            .filter(|o| o.applies == Tri::Unknown && effect.is_none_or(|e| o.effect == e))
            .map(|o| o.index)
            .collect()
    };
    let deny_unknown = first(Effect::Deny, Tri::Unknown).is_some();
    match first(Effect::Allow, Tri::True) {
        Some(i) if !deny_unknown => Decision::Allow { statement: i },
        // Allowed unless an undetermined Deny applies.
        Some(_) => Decision::Undetermined {
            statements: unknown(None),
        },
        None if first(Effect::Allow, Tri::Unknown).is_some() => Decision::Undetermined {
            statements: unknown(None),
        },
        // No Allow can apply: denied, explicitly if an undetermined Deny applies.
        None if deny_unknown => Decision::DenyKindUnknown {
            statements: unknown(Some(Effect::Deny)),
        },
        None => Decision::ImplicitDeny,
    }
}

/// Whether a principal element names the request's provider.
pub fn principal_matches(p: &Principal, provider_arn: &str) -> Tri {
    match p {
        Principal::Any => Tri::True,
        Principal::Map(entries) => {
            for (kind, values) in entries {
                for v in values {
                    if kind == "Federated" && v == provider_arn {
                        return Tri::True;
                    }
                    // IAM user guide, Principal, "All principals": `"Principal": "*"`
                    // and `{"AWS": "*"}` "are equivalent".
                    if kind == "AWS" && v == "*" {
                        return Tri::True;
                    }
                }
            }
            Tri::False
        }
    }
}

fn evaluate_statement(
    s: &Statement,
    request: &WebIdentityRequest,
    ctx: &RequestContext,
    vars: bool,
) -> StatementOutcome {
    let principal = match (&s.principal, &s.not_principal) {
        (Some(p), _) => principal_matches(p, &request.provider_arn),
        // Not allowed in a trust policy: at most undetermined (module documentation).
        (None, Some(np)) => principal_matches(np, &request.provider_arn)
            .not()
            .at_most_unknown(),
        (None, None) => Tri::False,
    };
    judge_statement(s, principal, WEB_IDENTITY_ACTION, ctx, vars)
}

/// One statement's outcome for a request whose principal match is already judged: its
/// action (Action/NotAction against `action`; a malformed pattern makes a match at
/// most undetermined), every condition, and whether it applies. Shared by the
/// web-identity and the EKS Pod Identity trust evaluations.
pub(crate) fn judge_statement<C: KeyLookup + ?Sized>(
    s: &Statement,
    principal: Tri,
    action: &str,
    ctx: &C,
    vars: bool,
) -> StatementOutcome {
    let (patterns, negate) = match (&s.action, &s.not_action) {
        (Some(a), _) => (Some(a), false),
        (None, Some(na)) => (Some(na), true),
        (None, None) => (None, false),
    };
    let action = match patterns {
        None => Tri::False,
        Some(p) => {
            let hit = p.iter().any(|x| wildcard_match(x, action, true));
            let t = Tri::from_bool(hit != negate);
            if t == Tri::True && p.iter().any(|x| action_pattern_problem(x).is_some()) {
                t.at_most_unknown()
            } else {
                t
            }
        }
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
