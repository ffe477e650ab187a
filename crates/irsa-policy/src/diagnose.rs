//! Names the near miss: why the trust policy denies (or how it allows too much),
//! as data the rules turn into causes and messages.
//!
//! For a denial, the *closest* Allow statement is chosen (one trusting this
//! cluster's provider if any, then the one with fewest problems), and every
//! reason it does not apply is named precisely: `sts:AssumeRole` for
//! `sts:AssumeRoleWithWebIdentity`, another cluster's provider id, a stray space in
//! `sub`, namespace and name swapped, a wildcard under `StringEquals`, keys with
//! `https://`... For an allow, hygiene warnings: no `sub` condition, broad wildcards,
//! no `aud` condition.

use crate::arn::OidcProviderArn;
use crate::context::WebIdentityRequest;
use crate::document::{
    ActionProblem, Condition, DocumentIssue, Effect, PolicyDocument, Principal, Statement,
};
use crate::evaluate::{evaluate, ConditionReason, Decision, Evaluation, StatementOutcome, Tri};
use crate::glob::{has_wildcards, wildcard_match};
use crate::issuer::{issuer_differences, parse_eks_host_path, IssuerDifference};
use crate::operator::{BaseOperator, Operator, SetQualifier};
use serde::Serialize;

/// The `sub` a ServiceAccount's token carries.
pub fn service_account_subject(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// How a value that should identify the ServiceAccount misses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SubjectMiss {
    /// White space inside or around the value (seed 000's `serviceaccount: kube-system`).
    Whitespace,
    /// Differs only in letter case (values are case-sensitive under StringEquals/Like).
    Case,
    /// Namespace and name are swapped.
    Swapped,
    /// The `system:serviceaccount:` prefix is missing or misspelled.
    Prefix,
    /// Namespace differs (with the edit distance, small = typo).
    Namespace {
        /// Namespace in the policy.
        found: String,
        /// Edit distance to the real namespace.
        distance: usize,
    },
    /// Name differs.
    Name {
        /// Name in the policy.
        found: String,
        /// Edit distance to the real name.
        distance: usize,
    },
    /// Namespace and name both differ: another ServiceAccount.
    Other,
}

/// One precise reason, or one hygiene warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NearMiss {
    /// No Allow statement at all.
    NoAllowStatement,
    /// The action is `sts:AssumeRole` (or SAML), not `sts:AssumeRoleWithWebIdentity`.
    ActionIsAssumeRole {
        /// Actions found.
        found: Vec<String>,
    },
    /// The action list does not cover `sts:AssumeRoleWithWebIdentity` at all.
    ActionMissing {
        /// Actions found.
        found: Vec<String>,
    },
    /// The principal is a `Service` (e.g. `ec2.amazonaws.com`, `pods.eks.amazonaws.com`).
    ServicePrincipal {
        /// Services found.
        services: Vec<String>,
    },
    /// The principal is an `AWS` account/role/user, not the OIDC provider.
    AwsPrincipal {
        /// Values found.
        values: Vec<String>,
    },
    /// A `Federated` principal names another provider ARN.
    FederatedOtherProvider {
        /// The ARN in the policy.
        found: String,
        /// The provider ARN the token maps to.
        expected: String,
        /// Account differs.
        account_differs: bool,
        /// Partition differs.
        partition_differs: bool,
        /// How the provider URL differs (region, cluster id, case...).
        url: Vec<IssuerDifference>,
    },
    /// A `Federated` value that is not an OIDC provider ARN.
    FederatedMalformed {
        /// The value in the policy.
        found: String,
    },
    /// The statement has no `Principal` (IAM refuses such trust policies).
    NoPrincipal,
    /// A condition key's issuer prefix carries `https://` (it never matches).
    KeyHasScheme {
        /// The key as written.
        key: String,
    },
    /// A condition key is a full provider ARN instead of `host/path:claim`.
    KeyIsArn {
        /// The key as written.
        key: String,
    },
    /// A condition key names another issuer (another cluster id or region).
    KeyForeignIssuer {
        /// The key as written.
        key: String,
        /// How its issuer differs.
        differences: Vec<IssuerDifference>,
    },
    /// A condition key has this issuer but a misspelled claim (`:subject`, `:aud `).
    KeyMisspelledClaim {
        /// The key as written.
        key: String,
        /// The claim it most likely meant (`sub`/`aud`), if any.
        meant: Option<String>,
    },
    /// A condition key that does not exist in the request, for another reason.
    KeyAbsent {
        /// The key as written.
        key: String,
    },
    /// The `sub` condition does not match the ServiceAccount.
    SubMismatch {
        /// Operator as written.
        operator: String,
        /// The policy's values.
        values: Vec<String>,
        /// The closest value.
        closest: String,
        /// How it misses.
        miss: SubjectMiss,
        /// The expected subject.
        expected: String,
    },
    /// A negated `sub` condition excludes this ServiceAccount.
    SubExcluded {
        /// Operator as written.
        operator: String,
        /// Value that excludes it.
        value: String,
    },
    /// `StringEquals` (or similar) with a wildcard: `*` is literal there.
    WildcardUnderStringEquals {
        /// The key.
        key: String,
        /// Operator as written.
        operator: String,
        /// The value with the wildcard.
        value: String,
    },
    /// The `aud` condition carries the `sub` value.
    AudCarriesSub {
        /// The value.
        value: String,
    },
    /// The `aud` condition demands another audience than the token's.
    AudMismatch {
        /// Values in the policy.
        values: Vec<String>,
        /// The token's audience.
        expected: Vec<String>,
    },
    /// A condition on another key is false.
    ConditionFalse {
        /// Key.
        key: String,
        /// Operator as written.
        operator: String,
        /// Values.
        values: Vec<String>,
    },
    /// A condition operator IAM does not know.
    UnknownOperator {
        /// Operator as written.
        operator: String,
    },
    /// An explicit Deny applies to the request.
    DenyApplies {
        /// The Deny statement.
        statement: usize,
    },
    /// The decision depends on something not knowable offline.
    Undetermined {
        /// Condition key.
        key: String,
        /// Why.
        why: String,
    },
    /// Warning: an allowing statement has no `sub` condition: any ServiceAccount of the cluster can assume the role.
    NoSubCondition,
    /// Warning: a `sub` wildcard matches every ServiceAccount (or every namespace).
    SubWildcardAll {
        /// The value.
        value: String,
    },
    /// Info: a `sub` wildcard matches every ServiceAccount of one namespace.
    SubWildcardNamespace {
        /// The value.
        value: String,
    },
    /// Warning: no `aud` condition (works, but best practice is to pin `sts.amazonaws.com`).
    NoAudCondition,
    /// Warning: `Principal: "*"` lets any identity provider's tokens be considered.
    PrincipalWildcard,
    /// Warning: `ForAllValues:` with Allow is true when the key is missing.
    ForAllValuesWithAllow {
        /// Key.
        key: String,
    },
    /// Warning: a negated operator on a key this request never has: always true.
    NegatedOnAbsentKey {
        /// Key.
        key: String,
        /// Operator.
        operator: String,
        /// Effect of the statement.
        deny: bool,
    },
    /// A `Resource` element: IAM rejects trust policies with one (MalformedPolicyDocument).
    ResourceInTrustPolicy,
    /// A `NotPrincipal` element: IAM does not support it in a trust policy and refuses
    /// the document (MalformedPolicyDocument); the statement never counts as an allow.
    NotPrincipalInTrustPolicy,
    /// An action outside the grammar (`*:AssumeRoleWithWebIdentity`): IAM refuses the
    /// document (MalformedPolicyDocument); the statement never counts as an allow.
    MalformedAction {
        /// The value as written.
        action: String,
        /// What is wrong.
        problem: ActionProblem,
    },
    /// A Deny statement may apply: it depends on a value not known offline. The
    /// request is denied either way (no Allow applies); whether explicitly is unknown.
    DenyMayApply {
        /// The Deny statement.
        statement: usize,
        /// The condition key (or element) it depends on.
        key: String,
        /// Why it is not known.
        why: String,
    },
}

impl NearMiss {
    /// Hygiene warnings (the request is allowed; these are not the reason for a denial).
    pub fn is_hygiene(&self) -> bool {
        matches!(
            self,
            NearMiss::NoSubCondition
                | NearMiss::SubWildcardAll { .. }
                | NearMiss::SubWildcardNamespace { .. }
                | NearMiss::NoAudCondition
                | NearMiss::PrincipalWildcard
                | NearMiss::ForAllValuesWithAllow { .. }
                | NearMiss::NegatedOnAbsentKey { .. }
                | NearMiss::ResourceInTrustPolicy
                | NearMiss::NotPrincipalInTrustPolicy
                | NearMiss::MalformedAction { .. }
        )
    }

    /// The error IAM answers when the document is written
    /// (`aws iam update-assume-role-policy`), for problems that make IAM refuse the
    /// whole document. IAM's message text for these cases is not documented, so only
    /// the error code is predicted, with when it is returned.
    pub fn refused_by_iam(&self) -> Option<&'static str> {
        match self {
            NearMiss::NotPrincipalInTrustPolicy | NearMiss::MalformedAction { .. } => {
                Some(MALFORMED_POLICY_DOCUMENT)
            }
            _ => None,
        }
    }
}

/// The error IAM returns for a document it refuses (IAM API reference,
/// `UpdateAssumeRolePolicy`/`CreateRole` errors: "MalformedPolicyDocument: The
/// request was rejected because the policy document was malformed"), and when.
pub const MALFORMED_POLICY_DOCUMENT: &str =
    "MalformedPolicyDocument (from IAM, when this trust policy is written with `aws iam update-assume-role-policy` or `create-role`)";

/// A near miss located in a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located {
    /// Statement index (None for the document as a whole).
    pub statement: Option<usize>,
    /// What.
    pub miss: NearMiss,
}

/// The evaluation plus its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// IAM's decision and the trace.
    pub evaluation: Evaluation,
    /// The Allow statement closest to allowing (the one a fix should edit), if any.
    pub closest: Option<usize>,
    /// Whether the closest statement trusts this cluster's provider already.
    pub closest_trusts_provider: bool,
    /// Reasons for a denial (empty on allow), then hygiene warnings.
    pub findings: Vec<Located>,
}

impl Diagnosis {
    /// The reasons the request is denied or undetermined (not hygiene).
    pub fn reasons(&self) -> impl Iterator<Item = &Located> {
        self.findings.iter().filter(|l| !l.miss.is_hygiene())
    }
    /// Hygiene warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Located> {
        self.findings.iter().filter(|l| l.miss.is_hygiene())
    }
}

/// Evaluates and explains.
pub fn diagnose(policy: &PolicyDocument, request: &WebIdentityRequest) -> Diagnosis {
    let evaluation = evaluate(policy, request);
    let mut findings = Vec::new();
    for issue in &policy.issues {
        let (statement, miss) = match issue {
            DocumentIssue::ResourceInTrustPolicy { statement } => {
                (*statement, NearMiss::ResourceInTrustPolicy)
            }
            DocumentIssue::NotPrincipalInTrustPolicy { statement } => {
                (*statement, NearMiss::NotPrincipalInTrustPolicy)
            }
            DocumentIssue::MalformedAction {
                statement,
                action,
                problem,
            } => (
                *statement,
                NearMiss::MalformedAction {
                    action: action.clone(),
                    problem: *problem,
                },
            ),
            _ => continue,
        };
        findings.push(Located {
            statement: Some(statement),
            miss,
        });
    }
    let mut closest = None;
    let mut closest_trusts_provider = false;
    match &evaluation.decision {
        Decision::Allow { statement } => {
            closest = Some(*statement);
            closest_trusts_provider = true;
            let s = &policy.statements[*statement];
            for miss in hygiene(s, request) {
                findings.push(Located {
                    statement: Some(*statement),
                    miss,
                });
            }
        }
        Decision::ExplicitDeny { statement } => {
            findings.push(Located {
                statement: Some(*statement),
                miss: NearMiss::DenyApplies {
                    statement: *statement,
                },
            });
        }
        Decision::ImplicitDeny
        | Decision::Undetermined { .. }
        | Decision::DenyKindUnknown { .. } => {
            // Deny statements that may apply: say on what.
            let deny_kind_unknown = matches!(evaluation.decision, Decision::DenyKindUnknown { .. });
            for (s, o) in policy.statements.iter().zip(&evaluation.statements) {
                if s.effect != Effect::Deny || o.applies != Tri::Unknown {
                    continue;
                }
                let (key, why) = unknown_part(s, o);
                findings.push(Located {
                    statement: Some(s.index),
                    miss: if deny_kind_unknown {
                        NearMiss::DenyMayApply {
                            statement: s.index,
                            key,
                            why,
                        }
                    } else {
                        NearMiss::Undetermined { key, why }
                    },
                });
            }
            let mut best: Option<(i64, usize, Vec<NearMiss>, bool)> = None;
            for (s, o) in policy.statements.iter().zip(&evaluation.statements) {
                if s.effect != Effect::Allow {
                    continue;
                }
                let misses = statement_misses(s, o, request);
                let trusts = o.principal == Tri::True;
                // A statement for another mechanism (an EC2 or Pod Identity service
                // statement with `sts:AssumeRole`) is never the one meant for this
                // provider while a web identity statement exists.
                let other_mechanism = !is_web_identity_statement(s, &request.issuer_host_path);
                let score = misses.len() as i64 - if trusts { 100 } else { 0 }
                    + if other_mechanism { 50 } else { 0 };
                if best.as_ref().is_none_or(|(b, ..)| score < *b) {
                    best = Some((score, s.index, misses, trusts));
                }
            }
            match best {
                None => findings.push(Located {
                    statement: None,
                    miss: NearMiss::NoAllowStatement,
                }),
                Some((_, idx, misses, trusts)) => {
                    closest = Some(idx);
                    closest_trusts_provider = trusts;
                    findings.extend(misses.into_iter().map(|miss| Located {
                        statement: Some(idx),
                        miss,
                    }));
                }
            }
        }
    }
    Diagnosis {
        evaluation,
        closest,
        closest_trusts_provider,
        findings,
    }
}

/// Whether a statement is about web identity at all: a `Federated` principal, an action
/// covering `sts:AssumeRoleWithWebIdentity`, or a condition on an OIDC issuer's claims.
/// A `Service`/`AWS` statement with `sts:AssumeRole` (EC2, EKS Pod Identity) is for
/// another mechanism: it is never "the statement meant for this provider".
pub fn is_web_identity_statement(s: &Statement, issuer_host_path: &str) -> bool {
    let federated = s
        .principal
        .as_ref()
        .is_some_and(|p| !p.values_of("Federated").is_empty());
    let action = s.action.as_ref().is_some_and(|a| {
        a.iter()
            .any(|p| wildcard_match(p, "sts:AssumeRoleWithWebIdentity", true))
    });
    let oidc_key = s.conditions.iter().any(|c| {
        matches!(
            classify_key(&c.key, issuer_host_path),
            KeyClass::Claim(_)
                | KeyClass::Miss(
                    NearMiss::KeyForeignIssuer { .. }
                        | NearMiss::KeyHasScheme { .. }
                        | NearMiss::KeyIsArn { .. }
                        | NearMiss::KeyMisspelledClaim { .. }
                )
        )
    });
    federated || action || oidc_key
}

/// Where a condition key points.
enum KeyClass {
    Claim(String),
    Global,
    Miss(NearMiss),
}

fn classify_key(key: &str, issuer: &str) -> KeyClass {
    let lower = key.to_lowercase();
    if lower.starts_with("aws:") || lower.starts_with("sts:") {
        return KeyClass::Global;
    }
    let Some((prefix, claim)) = key.rsplit_once(':') else {
        return KeyClass::Miss(NearMiss::KeyAbsent { key: key.into() });
    };
    if prefix.eq_ignore_ascii_case(issuer) {
        let c = claim.to_lowercase();
        if c == "sub" || c == "aud" {
            return KeyClass::Claim(c);
        }
        let trimmed = c.trim();
        let meant = ["sub", "aud"]
            .into_iter()
            .find(|w| {
                trimmed == *w || strsim::levenshtein(trimmed, w) <= 1 || trimmed.starts_with(w)
            })
            .map(String::from);
        return KeyClass::Miss(NearMiss::KeyMisspelledClaim {
            key: key.into(),
            meant,
        });
    }
    if prefix.starts_with("https://") || prefix.starts_with("http://") {
        return KeyClass::Miss(NearMiss::KeyHasScheme { key: key.into() });
    }
    if prefix.starts_with("arn:") && prefix.contains(":oidc-provider/") {
        return KeyClass::Miss(NearMiss::KeyIsArn { key: key.into() });
    }
    if parse_eks_host_path(prefix.trim_end_matches('/')).is_some()
        || prefix.trim_end_matches('/').eq_ignore_ascii_case(issuer)
    {
        return KeyClass::Miss(NearMiss::KeyForeignIssuer {
            key: key.into(),
            differences: issuer_differences(prefix, issuer),
        });
    }
    KeyClass::Miss(NearMiss::KeyAbsent { key: key.into() })
}

/// Splits `system:serviceaccount:<ns>:<name>`.
fn split_subject(s: &str) -> Option<(&str, &str)> {
    let rest = s.strip_prefix("system:serviceaccount:")?;
    rest.split_once(':')
}

fn subject_miss(value: &str, expected: &str) -> (SubjectMiss, usize) {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if compact != value && compact == expected {
        return (SubjectMiss::Whitespace, 0);
    }
    if value.to_lowercase() == expected.to_lowercase() {
        return (SubjectMiss::Case, 0);
    }
    let Some((ens, ename)) = split_subject(expected) else {
        return (SubjectMiss::Other, usize::MAX);
    };
    let Some((ns, name)) = split_subject(value) else {
        // Prefix missing or misspelled, but the tail names this ServiceAccount.
        let tail = format!("{ens}:{ename}");
        if value.ends_with(&tail) {
            return (SubjectMiss::Prefix, 1);
        }
        return (SubjectMiss::Other, strsim::levenshtein(value, expected));
    };
    if ns == ename && name == ens {
        return (SubjectMiss::Swapped, 1);
    }
    match (ns == ens, name == ename) {
        (true, false) => {
            let d = strsim::levenshtein(name, ename);
            (
                SubjectMiss::Name {
                    found: name.into(),
                    distance: d,
                },
                d,
            )
        }
        (false, true) => {
            let d = strsim::levenshtein(ns, ens);
            (
                SubjectMiss::Namespace {
                    found: ns.into(),
                    distance: d,
                },
                d,
            )
        }
        _ => (SubjectMiss::Other, strsim::levenshtein(value, expected)),
    }
}

fn is_string_exact(base: BaseOperator) -> bool {
    matches!(
        base,
        BaseOperator::StringEquals | BaseOperator::StringEqualsIgnoreCase
    )
}

const NOT_PRINCIPAL_WHY: &str = "IAM does not support NotPrincipal in a trust policy and refuses the document (MalformedPolicyDocument), so how STS would treat this statement is not known";
const MALFORMED_ACTION_WHY: &str = "an action outside the policy grammar makes IAM refuse the document (MalformedPolicyDocument), so how STS would treat this statement is not known";

/// Why an undetermined condition is undetermined, in words.
fn condition_unknown_why(reason: &ConditionReason) -> String {
    match reason {
        ConditionReason::KeyUnknown { why } => why.clone(),
        ConditionReason::UnresolvedVariable { value, why, .. } => {
            format!("policy variable in `{value}`: {why}")
        }
        ConditionReason::Undocumented { why, .. } => why.clone(),
        _ => "the comparison cannot be decided offline".into(),
    }
}

/// The first element that makes a statement's applicability unknown: (key, why).
fn unknown_part(s: &Statement, o: &StatementOutcome) -> (String, String) {
    if o.principal == Tri::Unknown {
        return ("NotPrincipal".into(), NOT_PRINCIPAL_WHY.into());
    }
    if o.action == Tri::Unknown {
        return ("Action".into(), MALFORMED_ACTION_WHY.into());
    }
    s.conditions
        .iter()
        .zip(&o.conditions)
        .find(|(_, co)| co.result == Tri::Unknown)
        .map(|(c, co)| (c.key.clone(), condition_unknown_why(&co.reason)))
        .unwrap_or_else(|| ("-".into(), "not known offline".into()))
}

fn condition_misses(
    c: &Condition,
    result: Tri,
    reason: &ConditionReason,
    request: &WebIdentityRequest,
) -> Option<NearMiss> {
    let base = match &c.operator {
        Operator::Unknown(op) => {
            return Some(NearMiss::UnknownOperator {
                operator: op.clone(),
            })
        }
        Operator::Known { base, .. } => *base,
    };
    if result == Tri::Unknown {
        return Some(NearMiss::Undetermined {
            key: c.key.clone(),
            why: condition_unknown_why(reason),
        });
    }
    if result == Tri::True {
        return None;
    }
    match classify_key(&c.key, &request.issuer_host_path) {
        KeyClass::Miss(m) => Some(m),
        KeyClass::Global => Some(NearMiss::ConditionFalse {
            key: c.key.clone(),
            operator: c.operator_text.clone(),
            values: c.values.clone(),
        }),
        KeyClass::Claim(claim) => {
            let expected_values: Vec<String> = if claim == "sub" {
                vec![request.sub.clone()]
            } else {
                request.aud.clone()
            };
            if base.is_negated() {
                let value = c
                    .values
                    .iter()
                    .find(|v| {
                        expected_values
                            .iter()
                            .any(|e| wildcard_match(v, e, false) || *v == e)
                    })
                    .cloned()
                    .unwrap_or_default();
                return Some(if claim == "sub" {
                    NearMiss::SubExcluded {
                        operator: c.operator_text.clone(),
                        value,
                    }
                } else {
                    NearMiss::ConditionFalse {
                        key: c.key.clone(),
                        operator: c.operator_text.clone(),
                        values: c.values.clone(),
                    }
                });
            }
            if is_string_exact(base) {
                if let Some(v) = c.values.iter().find(|v| {
                    has_wildcards(v) && expected_values.iter().any(|e| wildcard_match(v, e, false))
                }) {
                    return Some(NearMiss::WildcardUnderStringEquals {
                        key: c.key.clone(),
                        operator: c.operator_text.clone(),
                        value: v.clone(),
                    });
                }
            }
            if claim == "aud" {
                if let Some(v) = c
                    .values
                    .iter()
                    .find(|v| v.starts_with("system:serviceaccount:"))
                {
                    return Some(NearMiss::AudCarriesSub { value: v.clone() });
                }
                return Some(NearMiss::AudMismatch {
                    values: c.values.clone(),
                    expected: request.aud.clone(),
                });
            }
            let (closest, miss) = c
                .values
                .iter()
                .map(|v| {
                    let (m, d) = subject_miss(v, &request.sub);
                    (d, v.clone(), m)
                })
                .min_by_key(|(d, ..)| *d)
                .map(|(_, v, m)| (v, m))
                .unwrap_or((String::new(), SubjectMiss::Other));
            Some(NearMiss::SubMismatch {
                operator: c.operator_text.clone(),
                values: c.values.clone(),
                closest,
                miss,
                expected: request.sub.clone(),
            })
        }
    }
}

fn principal_misses(s: &Statement, request: &WebIdentityRequest) -> Vec<NearMiss> {
    // A statement with `NotPrincipal` has no `Principal`, which a trust statement needs.
    let Some(p) = s.principal.as_ref() else {
        return vec![NearMiss::NoPrincipal];
    };
    let mut out = Vec::new();
    let services = p.values_of("Service");
    if !services.is_empty() {
        out.push(NearMiss::ServicePrincipal {
            services: services.iter().map(|s| s.to_string()).collect(),
        });
    }
    let aws = p.values_of("AWS");
    if !aws.is_empty() {
        out.push(NearMiss::AwsPrincipal {
            values: aws.iter().map(|s| s.to_string()).collect(),
        });
    }
    let expected = OidcProviderArn::parse(&request.provider_arn);
    // Report the federated value closest to the expected provider.
    let mut best: Option<(usize, NearMiss)> = None;
    for f in p.values_of("Federated") {
        let miss = match (OidcProviderArn::parse(f), &expected) {
            (Some(found), Some(exp)) => {
                let url = issuer_differences(&found.url, &exp.url);
                let weight = url.len()
                    + usize::from(found.account != exp.account)
                    + usize::from(found.partition != exp.partition);
                (
                    weight,
                    NearMiss::FederatedOtherProvider {
                        found: f.to_string(),
                        expected: request.provider_arn.clone(),
                        account_differs: found.account != exp.account,
                        partition_differs: found.partition != exp.partition,
                        url,
                    },
                )
            }
            _ => (
                usize::MAX,
                NearMiss::FederatedMalformed {
                    found: f.to_string(),
                },
            ),
        };
        if best.as_ref().is_none_or(|(w, _)| miss.0 < *w) {
            best = Some(miss);
        }
    }
    if let Some((_, m)) = best {
        out.push(m);
    }
    out
}

fn statement_misses(
    s: &Statement,
    o: &StatementOutcome,
    request: &WebIdentityRequest,
) -> Vec<NearMiss> {
    let mut out = Vec::new();
    if o.principal == Tri::False {
        out.extend(principal_misses(s, request));
    }
    if o.principal == Tri::Unknown {
        out.push(NearMiss::Undetermined {
            key: "NotPrincipal".into(),
            why: NOT_PRINCIPAL_WHY.into(),
        });
    }
    if o.action == Tri::Unknown {
        out.push(NearMiss::Undetermined {
            key: "Action".into(),
            why: MALFORMED_ACTION_WHY.into(),
        });
    }
    if o.action == Tri::False {
        let found = s
            .action
            .clone()
            .or_else(|| s.not_action.clone())
            .unwrap_or_default();
        let assume_role = s.action.as_ref().is_some_and(|a| {
            a.iter().any(|p| {
                wildcard_match(p, "sts:AssumeRole", true)
                    || wildcard_match(p, "sts:AssumeRoleWithSAML", true)
            })
        });
        out.push(if assume_role {
            NearMiss::ActionIsAssumeRole { found }
        } else {
            NearMiss::ActionMissing { found }
        });
    }
    for (c, co) in s.conditions.iter().zip(&o.conditions) {
        if let Some(m) = condition_misses(c, co.result, &co.reason, request) {
            out.push(m);
        }
    }
    out
}

/// Hygiene warnings for the statement that allows the request.
fn hygiene(s: &Statement, request: &WebIdentityRequest) -> Vec<NearMiss> {
    let mut out = Vec::new();
    // `{"AWS": "*"}` is the same as `"*"` (Principal, "All principals").
    let star = s
        .principal
        .as_ref()
        .is_some_and(|p| *p == Principal::Any || p.values_of("AWS").contains(&"*"));
    if star {
        out.push(NearMiss::PrincipalWildcard);
    }
    let mut has_sub = false;
    let mut has_aud = false;
    for c in &s.conditions {
        let class = classify_key(&c.key, &request.issuer_host_path);
        if let KeyClass::Claim(claim) = &class {
            if !c.operator.base().is_some_and(BaseOperator::is_negated) {
                if claim == "sub" {
                    has_sub = true;
                    let like = matches!(c.operator.base(), Some(BaseOperator::StringLike));
                    for v in c.values.iter().filter(|_| like) {
                        if v == "*" || v.starts_with("system:serviceaccount:*") || v == "system:*" {
                            out.push(NearMiss::SubWildcardAll { value: v.clone() });
                        } else if v.ends_with(":*") && split_subject(v).is_some() {
                            out.push(NearMiss::SubWildcardNamespace { value: v.clone() });
                        }
                    }
                } else {
                    has_aud = true;
                }
            }
        }
        if c.operator.set() == Some(SetQualifier::ForAllValues) && s.effect == Effect::Allow {
            out.push(NearMiss::ForAllValuesWithAllow { key: c.key.clone() });
        }
        if c.operator.base().is_some_and(BaseOperator::is_negated)
            && matches!(class, KeyClass::Miss(_))
        {
            out.push(NearMiss::NegatedOnAbsentKey {
                key: c.key.clone(),
                operator: c.operator_text.clone(),
                deny: s.effect == Effect::Deny,
            });
        }
    }
    if !has_sub {
        out.push(NearMiss::NoSubCondition);
    }
    if !has_aud {
        out.push(NearMiss::NoAudCondition);
    }
    out
}
