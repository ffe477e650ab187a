//! The `sts:AssumeRole` (+ `sts:TagSession`) request EKS Pod Identity makes when the
//! agent calls `eks-auth:AssumeRoleForPodIdentity`, decided against a role's trust
//! policy the way IAM does (same condition engine, same combination rules as
//! [`crate::evaluate`]), and the second hop to a target role.
//!
//! Facts (with sources):
//! - The caller is the service principal `pods.eks.amazonaws.com`; the trust policy
//!   must allow it `sts:AssumeRole` and `sts:TagSession`
//!   (<https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html>).
//! - Unless the association sets `disableSessionTags`, EKS adds six session tags:
//!   `eks-cluster-arn`, `eks-cluster-name`, `kubernetes-namespace`,
//!   `kubernetes-service-account`, `kubernetes-pod-name`, `kubernetes-pod-uid`
//!   (<https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html>); trust
//!   conditions on `aws:RequestTag/<tag>` see them (pod-id-role.html, "Setting
//!   Conditions"). With tags disabled no `aws:RequestTag/*` key is in the request and
//!   `sts:TagSession` is not needed [INF from pod-id-abac.html: the tags are what
//!   `TagSession` is for].
//! - With a target role (`targetRoleArn`), EKS assumes the association role, then the
//!   target role with those credentials, passing the association's `externalId` as
//!   `sts:ExternalId` and the same session tags
//!   (<https://docs.aws.amazon.com/eks/latest/userguide/pod-id-assign-target-role.html>;
//!   `PodIdentityAssociation.externalId`,
//!   <https://docs.aws.amazon.com/eks/latest/APIReference/API_PodIdentityAssociation.html>).
//! - `aws:SourceAccount` / `aws:SourceArn` when a service principal calls STS: the
//!   account of the resource the service acts for (the cluster) and its ARN
//!   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceaccount>).
//!   Which ARN EKS puts in `aws:SourceArn` for Pod Identity (cluster or association)
//!   is [UNV]: a condition on it is undetermined, never assumed to pass or fail.
//!
//! Keys not modelled are *uncertain* (any condition on them is undetermined), except
//! `aws:RequestTag/*` keys EKS does not send, which are absent: that is what lets a
//! trust policy that requires tags while tags are disabled be decided as a denial.

use crate::condition::Tri;
use crate::context::{KeyLookup, Lookup};
use crate::document::{Effect, PolicyDocument, Principal};
use crate::evaluate::{decide, judge_statement, Evaluation, StatementOutcome};
use serde::Serialize;

/// The service principal EKS Pod Identity assumes roles as.
pub const POD_IDENTITY_PRINCIPAL: &str = "pods.eks.amazonaws.com";
/// The session tag keys EKS Pod Identity adds (pod-id-abac.html).
pub const SESSION_TAGS: [&str; 6] = [
    "eks-cluster-arn",
    "eks-cluster-name",
    "kubernetes-namespace",
    "kubernetes-service-account",
    "kubernetes-pod-name",
    "kubernetes-pod-uid",
];

/// Who calls `sts:AssumeRole`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Caller {
    /// The EKS Pod Identity service principal (first hop).
    PodIdentityService,
    /// A role's session (second hop to a target role): the role ARN.
    Role(String),
}

/// One Pod Identity `AssumeRole` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodIdentityRequest {
    /// Who calls.
    pub caller: Caller,
    /// Cluster ARN, when known (`eks-cluster-arn` tag, `aws:SourceArn` candidate).
    pub cluster_arn: Option<String>,
    /// Cluster name.
    pub cluster_name: Option<String>,
    /// Cluster account (`aws:SourceAccount`).
    pub cluster_account: Option<String>,
    /// Namespace of the ServiceAccount.
    pub namespace: String,
    /// ServiceAccount name.
    pub service_account: String,
    /// Whether session tags are sent (`disableSessionTags` not true).
    pub session_tags: bool,
    /// `sts:ExternalId` (the association's `externalId`, second hop only).
    pub external_id: Option<String>,
}

impl PodIdentityRequest {
    fn tag(&self, key: &str) -> Option<Lookup<'_>> {
        Some(match key {
            "eks-cluster-arn" => match &self.cluster_arn {
                Some(_) => return None, // answered by `tag_values`
                None => Lookup::Unknown("the cluster ARN is not in the snapshot"),
            },
            "eks-cluster-name" => match &self.cluster_name {
                Some(_) => return None,
                None => Lookup::Unknown("the cluster name is not in the snapshot"),
            },
            "kubernetes-namespace" | "kubernetes-service-account" => return None,
            "kubernetes-pod-name" | "kubernetes-pod-uid" => {
                Lookup::Unknown("it differs for every pod of the ServiceAccount")
            }
            _ => Lookup::Missing,
        })
    }
}

/// A request with its values materialised (lookups borrow from it).
pub struct PodIdentityContext<'r> {
    request: &'r PodIdentityRequest,
    cluster_arn: Vec<String>,
    cluster_name: Vec<String>,
    namespace: Vec<String>,
    service_account: Vec<String>,
    tag_keys: Vec<String>,
    source_account: Vec<String>,
    external_id: Vec<String>,
    principal_service: Vec<String>,
    true_value: Vec<String>,
}

impl<'r> PodIdentityContext<'r> {
    /// Builds the lookup context of a request.
    pub fn new(request: &'r PodIdentityRequest) -> PodIdentityContext<'r> {
        PodIdentityContext {
            request,
            cluster_arn: request.cluster_arn.iter().cloned().collect(),
            cluster_name: request.cluster_name.iter().cloned().collect(),
            namespace: vec![request.namespace.clone()],
            service_account: vec![request.service_account.clone()],
            tag_keys: SESSION_TAGS.iter().map(|s| s.to_string()).collect(),
            source_account: request.cluster_account.iter().cloned().collect(),
            external_id: request.external_id.iter().cloned().collect(),
            principal_service: vec![POD_IDENTITY_PRINCIPAL.to_string()],
            true_value: vec!["true".to_string()],
        }
    }
}

impl KeyLookup for PodIdentityContext<'_> {
    fn lookup(&self, key: &str) -> Lookup<'_> {
        let r = self.request;
        if let Some(tag) = key.strip_prefix("aws:requesttag/") {
            if !r.session_tags {
                return Lookup::Missing;
            }
            if let Some(l) = r.tag(tag) {
                return l;
            }
            return Lookup::Present(match tag {
                "eks-cluster-arn" => &self.cluster_arn,
                "eks-cluster-name" => &self.cluster_name,
                "kubernetes-namespace" => &self.namespace,
                _ => &self.service_account,
            });
        }
        match key {
            "aws:tagkeys" if r.session_tags => Lookup::Present(&self.tag_keys),
            "aws:tagkeys" => Lookup::Missing,
            "sts:externalid" => match (&r.caller, r.external_id.is_some()) {
                (Caller::Role(_), true) => Lookup::Present(&self.external_id),
                _ => Lookup::Missing,
            },
            "aws:sourceaccount" => match (&r.caller, self.source_account.is_empty()) {
                (Caller::PodIdentityService, false) => Lookup::Present(&self.source_account),
                (Caller::PodIdentityService, true) => {
                    Lookup::Unknown("the cluster's account is not in the snapshot")
                }
                _ => Lookup::Uncertain("a role session's request carries no source account"),
            },
            "aws:sourcearn" => Lookup::Uncertain(
                "which ARN EKS Pod Identity sends as aws:SourceArn is not documented",
            ),
            "aws:principalservicename" => match r.caller {
                Caller::PodIdentityService => Lookup::Present(&self.principal_service),
                Caller::Role(_) => Lookup::Missing,
            },
            "aws:principalisawsservice" => match r.caller {
                Caller::PodIdentityService => Lookup::Present(&self.true_value),
                Caller::Role(_) => Lookup::Uncertain("not modelled for role sessions"),
            },
            _ => Lookup::Uncertain("this key is not modelled for EKS Pod Identity requests"),
        }
    }
}

/// The decision for each action the request needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodIdentityEvaluation {
    /// `sts:AssumeRole`.
    pub assume_role: Evaluation,
    /// `sts:TagSession` (only when session tags are on).
    pub tag_session: Option<Evaluation>,
}

impl PodIdentityEvaluation {
    /// Whether every needed action is allowed.
    pub fn allows(&self) -> bool {
        self.assume_role.decision.is_allow()
            && self
                .tag_session
                .as_ref()
                .is_none_or(|t| t.decision.is_allow())
    }
    /// Whether some needed action is denied for sure.
    pub fn denies(&self) -> bool {
        self.assume_role.decision.is_deny()
            || self
                .tag_session
                .as_ref()
                .is_some_and(|t| t.decision.is_deny())
    }
    /// The first denied action, if any.
    pub fn denied_action(&self) -> Option<&'static str> {
        if self.assume_role.decision.is_deny() {
            Some("sts:AssumeRole")
        } else if self
            .tag_session
            .as_ref()
            .is_some_and(|t| t.decision.is_deny())
        {
            Some("sts:TagSession")
        } else {
            None
        }
    }
}

fn principal_matches(p: &Principal, caller: &Caller) -> Tri {
    match p {
        Principal::Any => Tri::True,
        Principal::Map(entries) => {
            let mut out = Tri::False;
            for (kind, values) in entries {
                for v in values {
                    match (kind.as_str(), caller) {
                        ("AWS", _) if v == "*" => return Tri::True,
                        ("Service", Caller::PodIdentityService) if v == POD_IDENTITY_PRINCIPAL => {
                            return Tri::True
                        }
                        ("AWS", Caller::Role(arn)) if v == arn => return Tri::True,
                        // The account (`123…` or `arn:…:root`) delegates to the account's
                        // identity policies: the role's own permissions decide too.
                        ("AWS", Caller::Role(arn)) => {
                            let account = crate::arn::account_of(arn);
                            let named = v
                                .strip_prefix("arn:")
                                .and_then(|r| r.split(':').nth(3))
                                .filter(|_| v.ends_with(":root"))
                                .or(Some(v.as_str()).filter(|s| {
                                    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
                                }));
                            if named.is_some() && named == account {
                                out = Tri::Unknown;
                            }
                        }
                        _ => {}
                    }
                }
            }
            out
        }
    }
}

fn evaluate_action(
    policy: &PolicyDocument,
    request: &PodIdentityRequest,
    ctx: &PodIdentityContext<'_>,
    action: &str,
) -> Evaluation {
    let vars = policy.substitutes_variables();
    let statements: Vec<StatementOutcome> = policy
        .statements
        .iter()
        .map(|s| {
            let principal = match (&s.principal, &s.not_principal) {
                (Some(p), _) => principal_matches(p, &request.caller),
                (None, Some(np)) => principal_matches(np, &request.caller)
                    .not()
                    .at_most_unknown(),
                (None, None) => Tri::False,
            };
            judge_statement(s, principal, action, ctx, vars)
        })
        .collect();
    Evaluation {
        decision: decide(&statements),
        statements,
    }
}

/// Decides a Pod Identity `AssumeRole` request (and its `TagSession`) against a trust
/// policy.
pub fn evaluate_pod_identity(
    policy: &PolicyDocument,
    request: &PodIdentityRequest,
) -> PodIdentityEvaluation {
    let ctx = PodIdentityContext::new(request);
    PodIdentityEvaluation {
        assume_role: evaluate_action(policy, request, &ctx, "sts:AssumeRole"),
        tag_session: request
            .session_tags
            .then(|| evaluate_action(policy, request, &ctx, "sts:TagSession")),
    }
}

/// Whether some Allow statement names the Pod Identity service principal at all.
pub fn names_pod_identity_principal(policy: &PolicyDocument) -> bool {
    policy.statements.iter().any(|s| {
        s.effect == Effect::Allow
            && s.principal
                .as_ref()
                .is_some_and(|p| p.values_of("Service").contains(&POD_IDENTITY_PRINCIPAL))
    })
}

/// Whether some statement conditions on the session tags (`aws:RequestTag/*` or
/// `aws:TagKeys`).
pub fn conditions_on_tags(policy: &PolicyDocument) -> bool {
    policy.statements.iter().any(|s| {
        s.conditions
            .iter()
            .any(|c| c.key_lower.starts_with("aws:requesttag/") || c.key_lower == "aws:tagkeys")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(v: serde_json::Value) -> PolicyDocument {
        PolicyDocument::from_value(v).unwrap()
    }

    fn req(tags: bool) -> PodIdentityRequest {
        PodIdentityRequest {
            caller: Caller::PodIdentityService,
            cluster_arn: Some("arn:aws:eks:us-east-2:111122223333:cluster/c".into()),
            cluster_name: Some("c".into()),
            cluster_account: Some("111122223333".into()),
            namespace: "ns".into(),
            service_account: "sa".into(),
            session_tags: tags,
            external_id: None,
        }
    }

    /// The trust policy of pod-id-role.html, verbatim.
    fn documented() -> serde_json::Value {
        serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "AllowEksAuthToAssumeRoleForPodIdentity", "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"]}]})
    }

    #[test]
    fn documented_trust_allows_and_its_twins_fail() {
        assert!(evaluate_pod_identity(&doc(documented()), &req(true)).allows());
        let mut no_tag = documented();
        no_tag["Statement"][0]["Action"] = serde_json::json!("sts:AssumeRole");
        let e = evaluate_pod_identity(&doc(no_tag.clone()), &req(true));
        assert!(e.denies());
        assert_eq!(e.denied_action(), Some("sts:TagSession"));
        // Without session tags, sts:TagSession is not needed.
        assert!(evaluate_pod_identity(&doc(no_tag), &req(false)).allows());
        let mut web = documented();
        web["Statement"][0]["Principal"] = serde_json::json!({"Service": "eks.amazonaws.com"});
        assert!(evaluate_pod_identity(&doc(web), &req(true)).denies());
    }

    #[test]
    fn tag_conditions() {
        let mut t = documented();
        t["Statement"][0]["Condition"] = serde_json::json!({"StringEquals": {
            "aws:RequestTag/kubernetes-namespace": ["ns"],
            "aws:RequestTag/kubernetes-service-account": ["sa"]}});
        assert!(evaluate_pod_identity(&doc(t.clone()), &req(true)).allows());
        // Tags disabled: the keys are absent, the condition fails for sure.
        assert!(evaluate_pod_identity(&doc(t.clone()), &req(false)).denies());
        let mut other = req(true);
        other.service_account = "other".into();
        assert!(evaluate_pod_identity(&doc(t), &other).denies());
        // A pod-name condition cannot be decided offline.
        let mut p = documented();
        p["Statement"][0]["Condition"] =
            serde_json::json!({"StringLike": {"aws:RequestTag/kubernetes-pod-name": "web-*"}});
        let e = evaluate_pod_identity(&doc(p), &req(true));
        assert!(!e.allows() && !e.denies());
    }

    #[test]
    fn source_account_and_target_hop() {
        let mut t = documented();
        t["Statement"][0]["Condition"] =
            serde_json::json!({"StringEquals": {"aws:SourceAccount": "111122223333"}});
        assert!(evaluate_pod_identity(&doc(t.clone()), &req(true)).allows());
        t["Statement"][0]["Condition"] =
            serde_json::json!({"StringEquals": {"aws:SourceAccount": "999999999999"}});
        assert!(evaluate_pod_identity(&doc(t), &req(true)).denies());
        let target = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:role/assoc"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"sts:ExternalId": "ext-1"}}}]});
        let mut hop = req(true);
        hop.caller = Caller::Role("arn:aws:iam::111122223333:role/assoc".into());
        hop.external_id = Some("ext-1".into());
        assert!(evaluate_pod_identity(&doc(target.clone()), &hop).allows());
        hop.external_id = Some("ext-2".into());
        assert!(evaluate_pod_identity(&doc(target.clone()), &hop).denies());
        hop.external_id = Some("ext-1".into());
        hop.caller = Caller::Role("arn:aws:iam::111122223333:role/other".into());
        assert!(evaluate_pod_identity(&doc(target), &hop).denies());
        // The account as principal: the role's own permissions decide too.
        let root = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": ["sts:AssumeRole", "sts:TagSession"]}]});
        let e = evaluate_pod_identity(&doc(root), &hop);
        assert!(!e.allows() && !e.denies());
    }
}
