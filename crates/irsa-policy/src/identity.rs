//! Decides whether a role's identity-based policies allow an API call, the way IAM
//! does for a request inside one account: an explicit `Deny` in any policy wins;
//! otherwise the permissions boundary (when the role has one) must allow, and some
//! identity policy (attached managed policies at their default version, inline
//! policies) must allow.
//!
//! Three-valued, like the trust evaluator: a condition on a key whose value is not
//! known offline, a policy that is attached but not collected, or a boundary that
//! is set but not collected makes the answer *undetermined*, never an allow.
//!
//! Out of view (the report says so): service control policies and resource control
//! policies of AWS Organizations, resource-based policies (bucket, key, queue
//! policies), VPC endpoint policies, and session policies (IRSA passes none).
//!
//! Requests may name an action or resource *pattern* (`ec2:Describe*`,
//! `arn:aws:ec2:*:*:security-group/*`): the question is then whether the policy
//! allows every call the pattern stands for. A statement whose pattern covers the
//! request's applies; one whose pattern cannot match any of it does not; a partial
//! overlap is undetermined.
//!
//! Semantics from the IAM User Guide: "Policy evaluation logic" (evaluating
//! identity-based policies with resource-based policies and permissions
//! boundaries), "IAM JSON policy elements: Action / NotAction / Resource /
//! NotResource / Condition", and the condition operators (shared with the trust
//! evaluator, `condition::evaluate_condition`).

use crate::condition::{evaluate_condition, ConditionReason, Tri};
use crate::context::{KeyLookup, Lookup};
use crate::document::{Effect, PolicyDocument, Statement};
use crate::glob::wildcard_match;
use serde::Serialize;

/// What is never visible to this evaluator (printed with every verdict).
pub const OUT_OF_VIEW: &str = "service control policies and resource control policies of AWS Organizations, resource-based policies (bucket, key and queue policies), and VPC endpoint policies are not collected and not evaluated";

/// The call being decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityRequest {
    /// `service:Action`, or a pattern of them (`ec2:Describe*`).
    pub action: String,
    /// The resource ARN, or a pattern (`*` = any resource).
    pub resource: String,
    /// Condition keys whose values are known (lower-case name → values).
    pub known: Vec<(String, Vec<String>)>,
}

impl IdentityRequest {
    /// A request with no known condition keys.
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> IdentityRequest {
        IdentityRequest {
            action: action.into(),
            resource: resource.into(),
            known: Vec::new(),
        }
    }

    /// Adds a known condition key (e.g. `aws:PrincipalArn`).
    pub fn with_key(mut self, key: &str, values: &[&str]) -> IdentityRequest {
        self.known.push((
            key.to_lowercase(),
            values.iter().map(|v| v.to_string()).collect(),
        ));
        self
    }
}

impl KeyLookup for IdentityRequest {
    fn lookup(&self, key_lower: &str) -> Lookup<'_> {
        match self.known.iter().find(|(k, _)| k == key_lower) {
            Some((_, v)) => Lookup::Present(v),
            // Request keys (tags, service keys, source IP, time...) depend on the call
            // the workload makes at run time: unknown, never assumed absent.
            None => Lookup::Unknown("its value depends on the call the workload makes at run time"),
        }
    }
}

/// A policy with a name for reports.
#[derive(Debug, Clone, Copy)]
pub struct NamedPolicy<'a> {
    /// How reports name it (`managed policy AWSLoadBalancerControllerIAMPolicy (v3)`).
    pub name: &'a str,
    /// The document.
    pub document: &'a PolicyDocument,
}

/// The permissions boundary of the role.
#[derive(Debug, Clone, Copy)]
pub enum Boundary<'a> {
    /// The role has none.
    None,
    /// The role has this one.
    Policy(NamedPolicy<'a>),
    /// The role has one, or may have one, whose document is not collected (why).
    NotCollected(&'a str),
}

/// Everything that governs the role's calls, as collected.
#[derive(Debug, Clone)]
pub struct IdentityPolicies<'a> {
    /// Attached managed policies (default versions) and inline policies.
    pub policies: Vec<NamedPolicy<'a>>,
    /// Policies known to be attached whose documents were not collected (names).
    pub not_collected: Vec<&'a str>,
    /// The permissions boundary.
    pub boundary: Boundary<'a>,
}

/// A statement, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementRef {
    /// The policy's name.
    pub policy: String,
    /// Statement index in it.
    pub statement: usize,
    /// Its `Sid`, if any.
    pub sid: Option<String>,
}

/// Why an answer is undetermined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Unknown {
    /// A statement's conditions depend on keys not known offline.
    Condition {
        /// The statement.
        statement: StatementRef,
        /// Whether it is a Deny (else an Allow).
        deny: bool,
        /// The keys (as written).
        keys: Vec<String>,
    },
    /// A statement's Action/Resource pattern covers only part of the requested pattern.
    PartialMatch {
        /// The statement.
        statement: StatementRef,
        /// Whether it is a Deny (else an Allow).
        deny: bool,
    },
    /// An attached policy's document is not collected.
    PolicyNotCollected {
        /// Its name.
        policy: String,
    },
    /// The permissions boundary's document is not collected.
    BoundaryNotCollected {
        /// Why.
        why: String,
    },
}

/// IAM's answer for one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum IdentityDecision {
    /// An identity policy allows and nothing denies (and the boundary allows).
    Allowed {
        /// The first allowing statement.
        by: StatementRef,
    },
    /// A statement explicitly denies.
    ExplicitDeny {
        /// The first denying statement.
        by: StatementRef,
        /// Whether it is in the permissions boundary.
        in_boundary: bool,
    },
    /// No identity policy allows it.
    NotAllowed,
    /// The permissions boundary does not allow it (whatever the identity policies say).
    BoundaryDoesNotAllow {
        /// The identity statement that allows it, when one certainly does.
        allowed_by: Option<StatementRef>,
    },
    /// Depends on what is not known offline.
    Undetermined {
        /// Why.
        why: Vec<Unknown>,
    },
}

impl IdentityDecision {
    /// True for `Allowed`.
    pub fn is_allowed(&self) -> bool {
        matches!(self, IdentityDecision::Allowed { .. })
    }
    /// True when the call is certainly refused.
    pub fn is_denied(&self) -> bool {
        matches!(
            self,
            IdentityDecision::ExplicitDeny { .. }
                | IdentityDecision::NotAllowed
                | IdentityDecision::BoundaryDoesNotAllow { .. }
        )
    }
}

/// One policy's verdict: the first applying Allow/Deny, and what is unknown.
#[derive(Debug, Default)]
struct PolicyOutcome {
    deny: Option<StatementRef>,
    allow: Option<StatementRef>,
    unknown_deny: Vec<Unknown>,
    unknown_allow: Vec<Unknown>,
}

/// Decides `request` against everything that governs the role (prepares the
/// policies each time: for many requests, build an [`IdentityEvaluator`] once).
pub fn evaluate_identity(
    policies: &IdentityPolicies<'_>,
    request: &IdentityRequest,
) -> IdentityDecision {
    IdentityEvaluator::new(policies).evaluate(request)
}

/// A policy prepared for many requests.
struct Prepared<'a> {
    name: &'a str,
    vars: bool,
    statements: &'a [Statement],
}

impl<'a> Prepared<'a> {
    fn new(p: &NamedPolicy<'a>) -> Prepared<'a> {
        Prepared {
            name: p.name,
            vars: p.document.substitutes_variables(),
            statements: &p.document.statements,
        }
    }
}

/// The role's policies prepared for many requests (a controller's every action).
pub struct IdentityEvaluator<'a> {
    policies: &'a IdentityPolicies<'a>,
    identity: Vec<Prepared<'a>>,
    boundary: Option<Prepared<'a>>,
}

impl<'a> IdentityEvaluator<'a> {
    /// Prepares the policies.
    pub fn new(policies: &'a IdentityPolicies<'a>) -> IdentityEvaluator<'a> {
        IdentityEvaluator {
            policies,
            identity: policies.policies.iter().map(Prepared::new).collect(),
            boundary: match &policies.boundary {
                Boundary::Policy(p) => Some(Prepared::new(p)),
                _ => None,
            },
        }
    }

    /// Decides one request.
    pub fn evaluate(&self, request: &IdentityRequest) -> IdentityDecision {
        decide(
            self.policies,
            &self.identity,
            self.boundary.as_ref(),
            request,
        )
    }
}

fn decide(
    policies: &IdentityPolicies<'_>,
    prepared: &[Prepared<'_>],
    prepared_boundary: Option<&Prepared<'_>>,
    request: &IdentityRequest,
) -> IdentityDecision {
    let identity: Vec<PolicyOutcome> = prepared
        .iter()
        .map(|p| evaluate_policy(p, request))
        .collect();
    let boundary = prepared_boundary.map(|p| evaluate_policy(p, request));
    // 1. An explicit Deny anywhere wins, whatever else is unknown.
    if let Some(by) = identity.iter().find_map(|o| o.deny.clone()) {
        return IdentityDecision::ExplicitDeny {
            by,
            in_boundary: false,
        };
    }
    if let Some(by) = boundary.as_ref().and_then(|o| o.deny.clone()) {
        return IdentityDecision::ExplicitDeny {
            by,
            in_boundary: true,
        };
    }
    // Denies that may apply: any of them keeps an allow from being certain.
    let mut unknown_deny: Vec<Unknown> = identity
        .iter()
        .chain(boundary.iter())
        .flat_map(|o| o.unknown_deny.iter().cloned())
        .collect();
    let missing: Vec<Unknown> = policies
        .not_collected
        .iter()
        .map(|n| Unknown::PolicyNotCollected {
            policy: n.to_string(),
        })
        .collect();
    // 2. A boundary that certainly does not allow it decides, whatever else is unknown.
    let boundary_refuses =
        matches!(&boundary, Some(o) if o.allow.is_none() && o.unknown_allow.is_empty());
    let allow = identity.iter().find_map(|o| o.allow.clone());
    if boundary_refuses {
        return IdentityDecision::BoundaryDoesNotAllow { allowed_by: allow };
    }
    // 3. Identity policies: some Allow?
    let unknown_allow: Vec<Unknown> = identity
        .iter()
        .flat_map(|o| o.unknown_allow.iter().cloned())
        .collect();
    let Some(allowed_by) = allow else {
        return if unknown_allow.is_empty() && missing.is_empty() {
            IdentityDecision::NotAllowed
        } else {
            let mut why = unknown_allow;
            why.extend(missing);
            IdentityDecision::Undetermined { why }
        };
    };
    // 4. The permissions boundary must allow too.
    match (&policies.boundary, &boundary) {
        (Boundary::Policy(_), Some(o)) if o.allow.is_none() => {
            unknown_deny.extend(o.unknown_allow.iter().cloned());
        }
        (Boundary::NotCollected(why), _) => unknown_deny.push(Unknown::BoundaryNotCollected {
            why: why.to_string(),
        }),
        _ => {}
    }
    // A policy not collected may hold a Deny.
    unknown_deny.extend(missing);
    if unknown_deny.is_empty() {
        IdentityDecision::Allowed { by: allowed_by }
    } else {
        IdentityDecision::Undetermined { why: unknown_deny }
    }
}

fn evaluate_policy(p: &Prepared<'_>, request: &IdentityRequest) -> PolicyOutcome {
    let mut out = PolicyOutcome::default();
    let vars = p.vars;
    for s in p.statements {
        let (resource, not_resource) = (&s.resource, &s.not_resource);
        let sref = || StatementRef {
            policy: p.name.to_string(),
            statement: s.index,
            sid: s.sid.clone(),
        };
        let action = match (&s.action, &s.not_action) {
            (Some(a), _) => any_covers(a, &request.action, true, false),
            (None, Some(na)) => any_covers(na, &request.action, true, false).not(),
            (None, None) => Tri::False,
        };
        let resource = match (&resource, &not_resource) {
            (Some(r), _) => any_covers(r, &request.resource, false, vars),
            (None, Some(nr)) => any_covers(nr, &request.resource, false, vars).not(),
            // IAM refuses identity statements without Resource/NotResource.
            (None, None) => Tri::False,
        };
        let target = action.and(resource);
        if target == Tri::False {
            continue;
        }
        let mut unknown_keys = Vec::new();
        let mut conditions = Tri::True;
        for c in &s.conditions {
            // A key whose value is unknown makes the condition unknown under every
            // operator (`Null`, `…IfExists` and set operators included): only known
            // values are handed to the shared operator semantics.
            let (r, reason) = match request.lookup(&c.key_lower) {
                Lookup::Unknown(why) | Lookup::Uncertain(why) => (
                    Tri::Unknown,
                    ConditionReason::KeyUnknown {
                        why: why.to_string(),
                    },
                ),
                _ => evaluate_condition(c, request, vars),
            };
            if r == Tri::Unknown
                && matches!(
                    reason,
                    ConditionReason::KeyUnknown { .. }
                        | ConditionReason::UnresolvedVariable { .. }
                        | ConditionReason::Undocumented { .. }
                )
            {
                unknown_keys.push(c.key.clone());
            }
            conditions = conditions.and(r);
        }
        match target.and(conditions) {
            Tri::True => match s.effect {
                Effect::Deny => {
                    out.deny.get_or_insert_with(sref);
                }
                Effect::Allow => {
                    out.allow.get_or_insert_with(sref);
                }
            },
            Tri::False => {}
            Tri::Unknown => {
                let deny = s.effect == Effect::Deny;
                let why = if conditions == Tri::Unknown
                    && !unknown_keys.is_empty()
                    && target == Tri::True
                {
                    Unknown::Condition {
                        statement: sref(),
                        deny,
                        keys: unknown_keys,
                    }
                } else {
                    Unknown::PartialMatch {
                        statement: sref(),
                        deny,
                    }
                };
                match s.effect {
                    Effect::Deny => out.unknown_deny.push(why),
                    Effect::Allow => out.unknown_allow.push(why),
                }
            }
        }
    }
    out
}

/// Whether some pattern covers the requested pattern: True (every call it stands for
/// matches one pattern), False (no call matches any), Unknown (some do). With
/// `vars`, a policy variable (`${aws:username}`) stands for an unknown value: the
/// pattern can only rule calls out.
fn any_covers(patterns: &[String], requested: &str, ignore_case: bool, vars: bool) -> Tri {
    let mut result = Tri::False;
    for p in patterns {
        let r = if vars && crate::condition::has_variable(p) {
            let widened = widen_variables(p);
            match relation(&widened, requested, ignore_case) {
                Tri::False => Tri::False,
                _ => Tri::Unknown,
            }
        } else {
            relation(p, requested, ignore_case)
        };
        match r {
            Tri::True => return Tri::True,
            Tri::Unknown => result = Tri::Unknown,
            Tri::False => {}
        }
    }
    result
}

/// `${...}` replaced by `*` (what the variable could expand to).
fn widen_variables(p: &str) -> String {
    let mut out = String::new();
    let mut rest = p;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.push('*');
                rest = &rest[start + end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// How a policy pattern relates to a requested pattern (both with `*`/`?`).
pub fn relation(pattern: &str, requested: &str, ignore_case: bool) -> Tri {
    if !requested.contains(['*', '?']) {
        return Tri::from_bool(wildcard_match(pattern, requested, ignore_case));
    }
    if pattern == "*" {
        return Tri::True;
    }
    if !pattern.contains(['*', '?']) {
        // A literal names one call; the requested pattern stands for many.
        return if wildcard_match(requested, pattern, ignore_case) {
            Tri::Unknown
        } else {
            Tri::False
        };
    }
    // Literal prefixes that differ: no common string.
    let lit = |s: &str| s.find(['*', '?']).unwrap_or(s.len());
    let n = lit(pattern).min(lit(requested));
    let (a, b) = (&pattern.as_bytes()[..n], &requested.as_bytes()[..n]);
    if (ignore_case && !a.eq_ignore_ascii_case(b)) || (!ignore_case && a != b) {
        return Tri::False;
    }
    let fold = |s: &str| -> Vec<char> {
        if ignore_case {
            s.chars().flat_map(char::to_lowercase).collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, q) = (fold(pattern), fold(requested));
    if covers(&p, &q) {
        Tri::True
    } else if intersects(&p, &q) && !arn_segments_disjoint(pattern, requested) {
        Tri::Unknown
    } else {
        Tri::False
    }
}

/// Two ARN patterns whose segments (partition, service, region, account, resource)
/// cannot match in pairs never name the same resource. The IAM User Guide ("Resource":
/// "Using wildcards in resource ARNs") lets a `*` that ends a segment expand across
/// colons, so the whole-string test sees overlaps such as `…:instance/*` against
/// `…:security-group/*`; they need a resource ARN with extra colon-separated parts
/// after a different resource type, which AWS resources do not have [INF].
fn arn_segments_disjoint(a: &str, b: &str) -> bool {
    let (sa, sb): (Vec<&str>, Vec<&str>) = (a.splitn(6, ':').collect(), b.splitn(6, ':').collect());
    if sa.len() != 6 || sb.len() != 6 || sa[0] != "arn" || sb[0] != "arn" {
        return false;
    }
    sa.iter().zip(&sb).any(|(x, y)| {
        let (x, y): (Vec<char>, Vec<char>) = (x.chars().collect(), y.chars().collect());
        !intersects(&x, &y)
    })
}

/// Sufficient test that `p` matches every string `q` matches: `p`'s `*` may absorb
/// any part of `q` (wildcards included), `p`'s `?` one non-`*` unit, a literal only
/// the same literal.
fn covers(p: &[char], q: &[char]) -> bool {
    // ok[i][j]: p[i..] covers q[j..].
    let (n, m) = (p.len(), q.len());
    let w = m + 1;
    let mut ok = vec![false; (n + 1) * w];
    ok[n * w + m] = true;
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            ok[i * w + j] = match p[i] {
                '*' => ok[(i + 1) * w + j] || (j < m && ok[i * w + j + 1]),
                '?' => j < m && q[j] != '*' && ok[(i + 1) * w + j + 1],
                c => j < m && q[j] == c && ok[(i + 1) * w + j + 1],
            };
        }
    }
    ok[0]
}

/// Whether some string matches both patterns (product of the two automata).
fn intersects(p: &[char], q: &[char]) -> bool {
    let (n, m) = (p.len(), q.len());
    let w = m + 1;
    let mut seen = vec![false; (n + 1) * w];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        if i > n || j > m || seen[i * w + j] {
            continue;
        }
        seen[i * w + j] = true;
        if i == n && j == m {
            return true;
        }
        // Empty matches of `*`.
        if i < n && p[i] == '*' {
            stack.push((i + 1, j));
        }
        if j < m && q[j] == '*' {
            stack.push((i, j + 1));
        }
        // Consume one character acceptable to both.
        if i < n && j < m {
            let compatible = matches!(p[i], '*' | '?') || matches!(q[j], '*' | '?') || p[i] == q[j];
            if compatible {
                let ni = if p[i] == '*' { i } else { i + 1 };
                let nj = if q[j] == '*' { j } else { j + 1 };
                if (ni, nj) != (i, j) {
                    stack.push((ni, nj));
                } else {
                    // Both `*`: either may move on.
                    stack.push((i + 1, j));
                    stack.push((i, j + 1));
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_relations() {
        assert_eq!(relation("ec2:*", "ec2:Describe*", true), Tri::True);
        assert_eq!(relation("ec2:Describe*", "ec2:*", true), Tri::Unknown);
        assert_eq!(relation("s3:*", "ec2:*", true), Tri::False);
        assert_eq!(relation("*", "anything*", false), Tri::True);
        assert_eq!(relation("a?c", "a*c", false), Tri::Unknown);
        assert_eq!(relation("a*c", "a?c", false), Tri::True);
        assert_eq!(
            relation("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/*", false),
            Tri::True
        );
        assert_eq!(
            relation("arn:aws:s3:::b/x/*", "arn:aws:s3:::b/*", false),
            Tri::Unknown
        );
        assert_eq!(
            relation("arn:aws:s3:::c/*", "arn:aws:s3:::b/*", false),
            Tri::False
        );
        assert_eq!(relation("x", "x", false), Tri::True);
        assert_eq!(relation("*a", "*b", false), Tri::False);
        assert_eq!(relation("*a*", "*b*", false), Tri::Unknown);
    }
}
