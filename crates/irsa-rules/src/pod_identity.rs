//! EKS Pod Identity: what every Pod Identity rule and the Pod Identity verdict read,
//! computed per association in scope (role lookups, the trust policy decided by the
//! policy engine for the `pods.eks.amazonaws.com` request, the target-role hop), the
//! pods' injected variables and the agent on their nodes, and the English messages.
//!
//! Sources (each fact is cited where it is used, too):
//! - webhook injection and precedence: `aws/amazon-eks-pod-identity-webhook`
//!   `pkg/handler/handler.go` (`buildPodPatchConfig`: "Container credentials method
//!   takes precedence"), <https://github.com/aws/amazon-eks-pod-identity-webhook/blob/master/pkg/handler/handler.go>;
//! - injected values: <https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html>;
//! - agent: <https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html>;
//! - role trust: <https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html>;
//! - restrictions (Linux EC2 only, no Fargate, no Windows):
//!   <https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html#pod-id-considerations>.

use crate::context::{Context, RoleState};
use crate::finding::{Cause, Finding, Severity, Subject};
use crate::verdict::{FindingIndex, SdkWords, Status, Verdict};
use irsa_model::pod_identity::{Compute, PodIdentityAssociation, AGENT_NAME};
use irsa_model::{Container, Pod};
use irsa_policy::pod_identity::{
    evaluate_pod_identity, Caller, PodIdentityEvaluation, PodIdentityRequest,
};
use irsa_policy::{Decision, RoleArn, StsPrediction};

/// The variable the webhook injects: the agent's credentials URL.
pub const FULL_URI_ENV: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
/// The variable naming the projected token file.
pub const TOKEN_FILE_ENV: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
/// The projected token volume (and mount) the webhook adds.
pub const TOKEN_VOLUME: &str = "eks-pod-identity-token";
/// The token's audience.
pub const AUDIENCE: &str = "pods.eks.amazonaws.com";
/// What the SDK prints when the agent refuses (`AssumeRoleForPodIdentity` answered
/// `AccessDeniedException`): the agent's error format `[request-id]: (Code): message,
/// fault: client` (aws/eks-pod-identity-agent v0.1.37 `pkg/errors/errors.go`), as in
/// the explain catalog's `eks-auth-access-denied` family.
pub const ACCESS_DENIED: &str = "(AccessDeniedException): Failed to assume role, fault: client";
/// What botocore prints when nothing answers at the agent's address [OBS, facts §1.6].
pub const AGENT_UNREACHABLE: &str =
    "Connect timeout on endpoint URL: \"http://169.254.170.23/v1/credentials\"";

/// Codes of the Pod Identity rules (their gaps concern Pod Identity chains only).
pub const RULE_CODES: [&str; 8] = [
    "IRSA601", "IRSA602", "IRSA603", "IRSA604", "IRSA605", "IRSA606", "IRSA607", "IRSA608",
];

/// A role's trust policy, decided for one Pod Identity hop.
#[derive(Debug, Clone)]
pub enum HopTrust {
    /// Decided (allow, deny or undetermined).
    Evaluated {
        /// The decision per action.
        evaluation: Box<PodIdentityEvaluation>,
        /// With session tags disabled and a denial: whether enabling them would allow.
        tags_would_allow: bool,
    },
    /// The policy does not parse.
    Unparsable(String),
    /// Not evaluable (why).
    NotEvaluable(String),
}

/// One hop: the association's role, or its target role.
#[derive(Debug, Clone)]
pub struct Hop<'a> {
    /// The ARN as the association prints it.
    pub arn: String,
    /// Parsed.
    pub parsed: Result<RoleArn, String>,
    /// Lookup.
    pub role: RoleState<'a>,
    /// Trust decision.
    pub trust: HopTrust,
}

impl Hop<'_> {
    /// The role's name (for `aws iam` commands), else the ARN.
    pub fn name(&self) -> String {
        self.parsed
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_else(|_| self.arn.clone())
    }
    /// The evaluation, if decided.
    pub fn evaluation(&self) -> Option<&PodIdentityEvaluation> {
        match &self.trust {
            HopTrust::Evaluated { evaluation, .. } => Some(evaluation),
            _ => None,
        }
    }
}

/// The first call of a chain: the agent on each pod's node asks EKS Auth with the node's
/// role, which must allow `eks-auth:AssumeRoleForPodIdentity`
/// (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeLink {
    /// Every pod's node role allows it (the roles).
    Allowed(Vec<String>),
    /// A node role refuses it (the role, why).
    Denied {
        /// The node role.
        role: String,
        /// Why.
        why: String,
    },
    /// Not checked (why, with the commands that tell).
    Unknown(String),
    /// No pod runs as the ServiceAccount: nothing calls EKS Auth.
    NoPods,
}

/// One association in scope, analysed.
#[derive(Debug, Clone)]
pub struct PiChain<'a> {
    /// The association.
    pub assoc: &'a PodIdentityAssociation,
    /// The association's role (`None`: the association was listed, not described).
    pub first: Option<Hop<'a>>,
    /// The target role, if the association names one.
    pub target: Option<Hop<'a>>,
    /// The node roles of its pods.
    pub node: NodeLink,
}

impl<'a> PiChain<'a> {
    /// The ServiceAccount subject.
    pub fn subject(&self) -> Subject {
        Subject::namespaced(
            "ServiceAccount",
            &self.assoc.namespace,
            &self.assoc.service_account,
        )
    }
    /// The role the pods end up with (target role when set).
    pub fn effective_role(&self) -> Option<&str> {
        self.assoc.effective_role()
    }
    /// The role text for reports.
    pub fn role_text(&self) -> String {
        self.effective_role()
            .map(str::to_string)
            .unwrap_or_else(|| "(association not described)".into())
    }
    /// `--cluster-name … --region …` for `aws eks` commands (placeholders when unknown).
    pub fn cluster_args(&self, cx: &Context<'_>) -> String {
        cluster_args(cx, self.assoc.cluster.as_deref())
    }
    /// The association id, or a placeholder.
    pub fn id(&self) -> String {
        self.assoc
            .association_id
            .clone()
            .unwrap_or_else(|| "<association-id>".into())
    }
}

/// `--cluster-name … --region …` for `aws eks` commands.
pub fn cluster_args(cx: &Context<'_>, cluster: Option<&str>) -> String {
    let name = cluster
        .map(str::to_string)
        .or_else(|| cx.cluster.name.clone())
        .unwrap_or_else(|| "<cluster>".into());
    let region = cx
        .cluster
        .region
        .clone()
        .unwrap_or_else(|| "<region>".into());
    format!(
        "--cluster-name {} --region {}",
        crate::fixes::sh(&name),
        crate::fixes::sh(&region)
    )
}

/// The associations in scope (of the diagnosed cluster, for ServiceAccounts in scope).
pub fn associations<'a>(cx: &Context<'a>) -> Vec<&'a PodIdentityAssociation> {
    let cluster = cx.cluster.name.as_deref();
    cx.snap
        .pod_identity
        .iter()
        .filter(|a| match (a.cluster.as_deref(), cluster) {
            (Some(a), Some(c)) => a == c,
            _ => true,
        })
        .filter(|a| cx.sa_in_scope(&a.namespace, &a.service_account))
        .collect()
}

/// The association of a ServiceAccount (of the diagnosed cluster), if listed.
pub fn association_of<'a>(
    cx: &Context<'a>,
    namespace: &str,
    sa: &str,
) -> Option<&'a PodIdentityAssociation> {
    let cluster = cx.cluster.name.as_deref();
    cx.associations_of(namespace, sa)
        .find(|a| match (a.cluster.as_deref(), cluster) {
            (Some(a), Some(c)) => a == c,
            _ => true,
        })
}

/// Every association in scope, analysed.
pub fn chains<'a>(cx: &Context<'a>) -> Vec<PiChain<'a>> {
    associations(cx)
        .into_iter()
        .map(|a| analyse(cx, a))
        .collect()
}

/// The `AssumeRole` request EKS Pod Identity makes for an association (one hop).
pub fn request(
    cx: &Context<'_>,
    a: &PodIdentityAssociation,
    caller: Caller,
    tags: bool,
) -> PodIdentityRequest {
    let cluster = cx.snap.cluster();
    PodIdentityRequest {
        caller,
        cluster_arn: cluster.and_then(|c| c.arn.clone()),
        cluster_name: a.cluster.clone().or_else(|| cx.cluster.name.clone()),
        cluster_account: cx.cluster.account.clone(),
        namespace: a.namespace.clone(),
        service_account: a.service_account.clone(),
        session_tags: tags,
        external_id: a.external_id.clone(),
    }
}

fn hop<'a>(cx: &Context<'a>, a: &PodIdentityAssociation, arn: &str, caller: Caller) -> Hop<'a> {
    let parsed = RoleArn::parse(arn).map_err(|e| e.to_string());
    let role = match &parsed {
        Ok(r) => cx.find_role(r),
        Err(_) => RoleState::NotCollected,
    };
    let trust = match (&parsed, &role) {
        (Err(e), _) => HopTrust::NotEvaluable(format!("the role ARN is invalid: {e}")),
        (_, RoleState::NotFound(why)) => HopTrust::NotEvaluable(why.clone()),
        (_, RoleState::NotCollected) => {
            HopTrust::NotEvaluable("the role is not in the snapshot".into())
        }
        (Ok(_), RoleState::Found(r)) => match &r.trust {
            None => HopTrust::NotEvaluable("the role's trust policy is not in the snapshot".into()),
            Some(Err(e)) => HopTrust::Unparsable(e.to_string()),
            Some(Ok(doc)) => {
                let tags = a.session_tags();
                let evaluation = evaluate_pod_identity(doc, &request(cx, a, caller.clone(), tags));
                let tags_would_allow = !tags
                    && evaluation.denies()
                    && evaluate_pod_identity(doc, &request(cx, a, caller, true)).allows();
                HopTrust::Evaluated {
                    evaluation: Box::new(evaluation),
                    tags_would_allow,
                }
            }
        },
    };
    Hop {
        arn: arn.to_string(),
        parsed,
        role,
        trust,
    }
}

/// Analyses one association.
pub fn analyse<'a>(cx: &Context<'a>, a: &'a PodIdentityAssociation) -> PiChain<'a> {
    let first = a
        .role_arn
        .as_deref()
        .map(|arn| hop(cx, a, arn, Caller::PodIdentityService));
    let target = match (&a.target_role_arn, &a.role_arn) {
        (Some(t), Some(r)) => Some(hop(cx, a, t, Caller::Role(r.clone()))),
        _ => None,
    };
    PiChain {
        assoc: a,
        first,
        target,
        node: node_link(cx, &a.namespace, &a.service_account),
    }
}

/// The node-role link of a ServiceAccount's pods.
pub fn node_link(cx: &Context<'_>, ns: &str, sa: &str) -> NodeLink {
    let pods: Vec<&Pod> = cx.pods_of_sa(ns, sa).collect();
    if pods.is_empty() {
        return NodeLink::NoPods;
    }
    let nodes = crate::node_role::node_links(cx, &pods);
    if let Some((role, why)) = nodes.denied() {
        return NodeLink::Denied {
            role: role.to_string(),
            why: why.to_string(),
        };
    }
    if let Some(why) = nodes.not_checked() {
        return NodeLink::Unknown(why);
    }
    if nodes.judged == 0 {
        return NodeLink::Unknown(if pods.iter().all(|p| p.spec.node_name.is_none()) {
            format!("no pod of {ns}/{sa} is scheduled on a node yet, so the IAM role its eks-pod-identity-agent calls EKS Auth with is not checked")
        } else {
            format!("no pod of {ns}/{sa} runs on a node where the eks-pod-identity-agent runs (Linux EC2 or EKS Auto Mode), so no node role was checked")
        });
    }
    NodeLink::Allowed(nodes.roles.keys().cloned().collect())
}

/// Whether a container runs with the Pod Identity variables.
pub fn has_env(c: &Container) -> bool {
    c.env(FULL_URI_ENV).is_some()
}

/// Whether any container of the pod (init containers included) got the Pod Identity
/// variables.
pub fn pod_injected(p: &Pod) -> bool {
    p.spec.all_containers().any(has_env)
}

/// The compute a pod runs on: its node's (when the node is in the snapshot), else
/// what its labels and `nodeSelector` say (Fargate pods carry the
/// `eks.amazonaws.com/fargate-profile` label, https://docs.aws.amazon.com/eks/latest/userguide/fargate-profile.html;
/// Windows pods select `kubernetes.io/os: windows`,
/// https://docs.aws.amazon.com/eks/latest/userguide/windows-support.html).
pub fn pod_compute(cx: &Context<'_>, p: &Pod) -> Option<Compute> {
    if let Some(n) = p.spec.node_name.as_deref().and_then(|n| cx.snap.node(n)) {
        return Some(n.compute());
    }
    if p.labels.contains_key("eks.amazonaws.com/fargate-profile") {
        return Some(Compute::Fargate);
    }
    let sel = &p.spec.node_selector;
    match sel.get_str("eks.amazonaws.com/compute-type") {
        Some("fargate") => return Some(Compute::Fargate),
        Some("auto") => return Some(Compute::Auto),
        Some("hybrid") => return Some(Compute::Hybrid),
        _ => {}
    }
    if sel.get_str("kubernetes.io/os") == Some("windows") {
        return Some(Compute::Windows);
    }
    if p.spec
        .node_name
        .as_deref()
        .is_some_and(|n| n.starts_with("fargate-"))
    {
        return Some(Compute::Fargate);
    }
    None
}

/// The agent's pods in the snapshot (owned by the agent DaemonSet, or carrying the
/// chart's `app.kubernetes.io/name` label).
pub fn agent_pods<'a>(cx: &Context<'a>) -> Vec<&'a Pod> {
    let names: Vec<&str> = cx
        .snap
        .pod_identity_facts
        .agents
        .iter()
        .map(|a| a.name.as_str())
        .chain([AGENT_NAME])
        .collect();
    cx.snap
        .pods
        .iter()
        .filter(|p| {
            p.owner
                .as_ref()
                .is_some_and(|o| o.kind == "DaemonSet" && names.contains(&o.name.as_str()))
                || p.labels
                    .get("app.kubernetes.io/name")
                    .is_some_and(|v| v.starts_with(AGENT_NAME))
        })
        .collect()
}

/// The namespaces the agent runs in (the add-on: kube-system).
pub fn agent_namespaces(cx: &Context<'_>) -> Vec<String> {
    let mut v: Vec<String> = cx
        .snap
        .pod_identity_facts
        .agents
        .iter()
        .map(|a| a.namespace.clone())
        .collect();
    if v.is_empty() {
        v.push("kube-system".into());
    }
    v
}

/// Whether the cluster runs EKS Auto Mode (the agent is built into its nodes:
/// <https://docs.aws.amazon.com/eks/latest/userguide/automode.html>).
pub fn auto_mode(cx: &Context<'_>) -> bool {
    cx.snap.cluster().and_then(|c| c.auto_mode) == Some(true)
}

// ---- verdict ------------------------------------------------------------------------

/// Causes whose findings on a ServiceAccount, its pods or workloads decide a Pod
/// Identity chain. IRSA-only causes (trust of the annotated role, the annotation, the
/// web identity env) are about a mechanism the webhook ignores for this ServiceAccount.
fn relevant(cause: Cause) -> bool {
    matches!(
        cause,
        Cause::PodIdentityAssociation
            | Cause::PodIdentityAgent
            | Cause::PodIdentityNotInjected
            | Cause::PodIdentityTrust
            | Cause::PodIdentitySessionTags
            | Cause::MechanismConflict
            | Cause::SdkTooOld
            | Cause::SaMissing
            | Cause::PodServiceAccount
            | Cause::WebhookMissing
            | Cause::CredentialPrecedence
            | Cause::RolePermissions
            | Cause::PodTokenMount
            | Cause::CollectionGap
    )
}

/// What the SDK does when a finding of this cause holds on a Pod Identity chain.
pub fn sdk_effect(cause: Cause) -> &'static str {
    match cause {
        Cause::PodIdentityNotInjected => {
            "finds no container credentials variables: it keeps what the pod was created with (IRSA, or the node's role)"
        }
        Cause::WebhookMissing | Cause::PodServiceAccount => {
            "finds no container credentials variables and falls back to the node's role"
        }
        Cause::PodIdentityAgent => {
            "cannot get credentials from the agent at 169.254.170.23: no credentials"
        }
        Cause::PodIdentityTrust | Cause::PodIdentityAssociation | Cause::PodIdentitySessionTags => {
            "gets AccessDeniedException from the agent: no credentials"
        }
        Cause::SdkTooOld => {
            "refuses the agent's address 169.254.170.23 (too old for EKS Pod Identity) and falls back to the node's role"
        }
        Cause::MechanismConflict => "uses web identity (the IRSA role), not the association's role",
        other => crate::verdict::sdk_effect(other),
    }
}

/// The prediction of `AssumeRoleForPodIdentity` for a chain (the shape IRSA chains use:
/// `Success` = credentials issued for the role, `Error` = the agent's refusal): the
/// roles' trust first, then the node roles the agent calls with.
pub fn prediction(c: &PiChain<'_>) -> StsPrediction {
    use irsa_policy::sts::{StsError, StsStep};
    let hops = hops_prediction(c);
    if !matches!(hops, StsPrediction::Success { .. }) {
        return hops;
    }
    match &c.node {
        NodeLink::Denied { .. } => StsPrediction::Error(StsError {
            code: "AccessDeniedException",
            message: crate::rules::pod_identity_node_role::NODE_ROLE_DENIED
                .trim_start_matches("(AccessDeniedException): ")
                .to_string(),
            status: 403,
            step: StsStep::CallerPermissions,
        }),
        NodeLink::Unknown(why) => StsPrediction::Undetermined {
            step: StsStep::CallerPermissions,
            why: why.clone(),
        },
        NodeLink::Allowed(_) | NodeLink::NoPods => hops,
    }
}

/// [`prediction`] of the roles' trust alone (the association's role, the target role).
fn hops_prediction(c: &PiChain<'_>) -> StsPrediction {
    use irsa_policy::sts::{StsError, StsStep};
    let undetermined = |why: String| StsPrediction::Undetermined {
        step: StsStep::TrustPolicy,
        why,
    };
    let denied = || {
        StsPrediction::Error(StsError {
            code: "AccessDeniedException",
            message: "Failed to assume role, fault: client".into(),
            status: 400,
            step: StsStep::TrustPolicy,
        })
    };
    let Some(first) = &c.first else {
        return undetermined(format!(
            "association {} was listed but not described: its role is unknown",
            c.id()
        ));
    };
    for h in std::iter::once(first).chain(c.target.iter()) {
        if matches!(h.role, RoleState::NotFound(_)) {
            return denied();
        }
        match &h.trust {
            HopTrust::Evaluated { evaluation, .. } if evaluation.denies() => return denied(),
            HopTrust::Evaluated { evaluation, .. } if evaluation.allows() => {}
            HopTrust::Evaluated { evaluation, .. } => {
                let stmts = match (
                    &evaluation.assume_role.decision,
                    evaluation.tag_session.as_ref().map(|t| &t.decision),
                ) {
                    (Decision::Undetermined { statements }, _)
                    | (_, Some(Decision::Undetermined { statements })) => statements.clone(),
                    _ => vec![],
                };
                return undetermined(format!(
                    "the trust policy of {} depends on values not known offline (statement(s) {:?})",
                    h.arn, stmts
                ));
            }
            HopTrust::Unparsable(e) => {
                return undetermined(format!("the trust policy of {} does not parse: {e}", h.arn))
            }
            HopTrust::NotEvaluable(why) => return undetermined(format!("role {}: {why}", h.arn)),
        }
    }
    StsPrediction::Success {
        role: c.role_text(),
    }
}

/// The verdict of a ServiceAccount that gets its role from an association: what EKS
/// Auth answers the agent, then what the SDK in its pods does. An error anywhere on the
/// way decides it; an unknown link makes it "not checked", never "works".
///
/// `index` holds the report's findings; `node_role` IRSA608's, in report order.
pub fn verdict(
    cx: &Context<'_>,
    c: &PiChain<'_>,
    index: &FindingIndex<'_>,
    node_role: &[&Finding],
) -> (Verdict, usize) {
    let ns = c.assoc.namespace.as_str();
    let sa = c.assoc.service_account.as_str();
    let pods: Vec<&Pod> = cx.pods_of_sa(ns, sa).collect();
    let pod_names: std::collections::BTreeSet<&str> =
        pods.iter().map(|p| p.name.as_str()).collect();
    let mut workloads: std::collections::BTreeSet<(String, String)> = cx
        .workloads_of_sa(ns, sa)
        .map(|w| (w.kind.name().to_string(), w.name.to_string()))
        .collect();
    for p in &pods {
        if let Some((k, n)) = cx.snap.controller_of(p) {
            workloads.insert((k.name().to_string(), n.to_string()));
        }
    }
    let roles: Vec<&str> = [
        c.assoc.role_arn.as_deref(),
        c.assoc.target_role_arn.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let about = |f: &&Finding| -> bool {
        let s = &f.subject;
        let in_ns = s.namespace.as_deref() == Some(ns);
        let pi_rule = RULE_CODES.contains(&f.rule);
        let on_chain = match &*s.kind {
            // Cluster-wide: what breaks every pod (no agent at all, the webhook) and what
            // cannot be checked. Counts of ready agent pods or a degraded add-on are about
            // other nodes unless the pod's own node says so (its finding is on the pod).
            "Cluster" | "Webhook" => {
                (pi_rule && (f.severity == Severity::Error || f.cause == Cause::CollectionGap))
                    || f.cause == Cause::WebhookMissing
            }
            "Input" | "OidcProvider" => false,
            "Role" => roles.contains(&s.name.as_str()),
            "ServiceAccount" => in_ns && s.name == sa,
            "Pod" => in_ns && pod_names.contains(s.name.as_str()),
            k => in_ns && workloads.contains(&(k.to_string(), s.name.to_string())),
        };
        // Gaps of the IRSA rules (the annotated role not collected, …) are about the
        // mechanism the webhook ignores here.
        let gap_ok = f.cause != Cause::CollectionGap
            || pi_rule
            || (s.kind == "Role" && roles.contains(&s.name.as_str()))
            || f.role_arn.as_deref().is_some_and(|r| roles.contains(&r));
        on_chain && relevant(f.cause) && gap_ok
    };
    // Every finding `about` can hold for is on one of the chain's subjects (or the
    // cluster's): those, in report order, then `about` as written.
    let about: Vec<&Finding> = index
        .on_chain(
            ns,
            sa,
            &roles,
            false,
            pod_names.iter().copied(),
            workloads.iter().map(|(k, n)| (k.as_str(), n.as_str())),
        )
        .into_iter()
        .filter(about)
        .collect();
    let gap = |f: &Finding| f.cause == Cause::CollectionGap;
    // The roles' trust decides first; then the node roles the agent calls EKS Auth with
    // (`c.node`, also part of the chain's prediction).
    let prediction = hops_prediction(c);
    let (node_denied, node_unknown) = match &c.node {
        NodeLink::Denied { role, why } => (Some((role.as_str(), why.as_str())), None),
        NodeLink::Unknown(why) => (None, Some(why.clone())),
        NodeLink::Allowed(_) | NodeLink::NoPods => (None, None),
    };
    let sts: std::borrow::Cow<'static, str> = match self::prediction(c) {
        StsPrediction::Success { .. } => "credentials issued (EKS Pod Identity)".into(),
        StsPrediction::Error(e) => e.text().into(),
        StsPrediction::Undetermined { why, .. } => format!("not checked: {why}").into(),
    };
    let n = pods.len();
    let words = SdkWords {
        working:
            "gets the role's credentials from the EKS Pod Identity agent (container credentials)",
        effect: sdk_effect,
        failing: Cause::PodIdentityTrust,
    };
    let decide = |status: Status, f: Option<&Finding>, reason: String| {
        Verdict::decided(status, sts.clone(), f, reason, &words)
    };
    let first = |pred: &dyn Fn(&Finding) -> bool| about.iter().copied().find(|f| pred(f));
    let error = first(&|f| f.severity == Severity::Error && !gap(f));
    if let StsPrediction::Error(_) = &prediction {
        let f = first(&|f| f.predicted_error.as_deref() == Some(ACCESS_DENIED)).or(error);
        let reason = f
            .map(|f| f.message.render())
            .unwrap_or_else(|| format!("EKS Auth refuses {}", c.role_text()));
        return (decide(Status::Fails, f, reason), n);
    }
    if let Some(f) = error {
        return (decide(Status::Fails, Some(f), f.message.render()), n);
    }
    if let Some((role, why)) = node_denied {
        // IRSA608's finding on the node role (not on this ServiceAccount: one per role).
        let f = node_role
            .iter()
            .copied()
            .find(|f| f.severity == Severity::Error && f.role_arn.as_deref() == Some(role));
        let reason = f.map(|f| f.message.render()).unwrap_or_else(|| {
            format!("node role {role} does not allow eks-auth:AssumeRoleForPodIdentity: {why}")
        });
        let mut v = decide(Status::Fails, f, reason);
        v.cause = Some(Cause::PodIdentityAgent);
        v.rule = Some("IRSA608");
        v.sdk = "gets AccessDeniedException from the agent (EKS Auth refuses the node role): no credentials".into();
        return (v, n);
    }
    if let StsPrediction::Undetermined { why, .. } = &prediction {
        let f = first(&|f| gap(f) && f.severity <= Severity::Warning);
        return (decide(Status::NotChecked, f, why.clone()), n);
    }
    if let Some(f) = first(&|f| gap(f) && f.severity <= Severity::Warning) {
        return (decide(Status::NotChecked, Some(f), f.message.render()), n);
    }
    // An unchecked node role is an unchecked link: never "works" (nor "at risk").
    if let Some(why) = &node_unknown {
        let f = node_role
            .iter()
            .copied()
            .find(|f| gap(f) && f.severity <= Severity::Warning);
        return (decide(Status::NotChecked, f, why.clone()), n);
    }
    let warning = first(&|f| f.severity == Severity::Warning && !gap(f));
    if n == 0 {
        if !cx.snap.coverage.pods.covers(ns) {
            return (
                decide(
                    Status::NotChecked,
                    None,
                    format!(
                        "no pod of {ns}/{sa} is in the snapshot, so whether its pods got the Pod Identity variables is not checked; add `kubectl get pods -n {ns} -o json`"
                    ),
                ),
                n,
            );
        }
        let reason = match warning {
            Some(f) => format!("no pod runs as it; {}", f.message.render()),
            None => format!("no pod runs as it in namespace {ns}: nothing uses these credentials"),
        };
        return (decide(Status::NoPods, warning, reason), n);
    }
    if let Some(f) = warning {
        return (decide(Status::AtRisk, Some(f), f.message.render()), n);
    }
    (
        decide(
            Status::Works,
            None,
            // Here every pod's node role allows eks-auth:AssumeRoleForPodIdentity
            // (`node_unknown` and `node_denied` are handled above).
            {
                let roles = match &c.node {
                    NodeLink::Allowed(r) => r.clone(),
                    _ => Vec::new(),
                };
                format!(
                    "{n} pod(s) get {} via EKS Pod Identity (node role{} {} allow{} eks-auth:AssumeRoleForPodIdentity)",
                    c.role_text(),
                    if roles.len() == 1 { "" } else { "s" },
                    roles.join(", "),
                    if roles.len() == 1 { "s" } else { "" },
                )
            },
        ),
        n,
    )
}

// ---- messages -----------------------------------------------------------------------

/// The English catalog of the Pod Identity messages.
pub fn template(id: &str) -> Option<&'static str> {
    Some(match id {
        "pi-association-ok" => "EKS Pod Identity association {id} gives ServiceAccount {namespace}/{name} role {role}",
        "pi-sa-absent" => "EKS Pod Identity association {id} names ServiceAccount {namespace}/{name}, which does not exist: no pod gets role {role} from it",
        "pi-role-not-found" => "EKS Pod Identity association {id} of {namespace}/{name} names role {role}, which does not exist{evidence}: EKS Auth refuses every pod",
        "pi-cross-account" => "EKS Pod Identity association {id} of {namespace}/{name} names role {role} of account {role_account}, not the cluster's account {account}, and no target role: EKS Pod Identity assumes roles of the cluster's account only; use a target role for another account",
        "pi-role-arn-invalid" => "EKS Pod Identity association {id} of {namespace}/{name} names `{role}`, which is not a role ARN: {error}",
        "gap-pi-described" => "EKS Pod Identity association {id} of {namespace}/{name} was listed but not described: its role, target role and session tags are not checked; add `aws eks describe-pod-identity-association {cluster_args} --association-id {id}`",
        "gap-pi-role" => "role {role} of the EKS Pod Identity association of {namespace}/{name} is not in the snapshot: its existence and trust policy are not checked; add `aws iam get-role --role-name {name_arg}`",
        "gap-pi-listed" => "pods of ServiceAccount {namespace}/{name} carry EKS Pod Identity variables but the cluster's associations were not listed: which role they get is not checked; add `aws eks list-pod-identity-associations {cluster_args}`",
        "pi-agent-ok" => "the eks-pod-identity-agent DaemonSet {namespace}/{name} runs on the host network, {ready} of {desired} pods ready",
        "pi-agent-ok-no-status" => "the eks-pod-identity-agent DaemonSet {namespace}/{name} runs on the host network (how many of its pods are ready is not in the inputs: a manifest has no status)",
        "pi-agent-missing" => "the cluster has EKS Pod Identity associations ({count}) but no eks-pod-identity-agent{evidence}: pods get no credentials from 169.254.170.23",
        "pi-agent-not-host-network" => "the eks-pod-identity-agent DaemonSet {namespace}/{name} does not use hostNetwork: pods cannot reach it at 169.254.170.23",
        "pi-agent-not-ready" => "only {ready} of {desired} eks-pod-identity-agent pods are ready",
        "pi-agent-no-ipv6" => "the cluster is IPv6 but the eks-pod-identity-agent binds only {hosts}: pods reach the agent at [fd00:ec2::23], which nothing serves",
        "pi-agent-addon" => "the eks-pod-identity-agent add-on is {status}{issues}",
        "pi-agent-node" => "pod {namespace}/{pod} runs on node {node}, where {state}: it gets no credentials from 169.254.170.23",
        "pi-node-role-ok" => "node role {role} ({origin}) allows eks-auth:AssumeRoleForPodIdentity, the eks-pod-identity-agent's call: {by}{documented}",
        "pi-node-role-denied" => "node role {role} ({origin}) does not allow eks-auth:AssumeRoleForPodIdentity: {why}; EKS Auth refuses the eks-pod-identity-agent on its nodes, so {count} pod(s) using EKS Pod Identity there ({pods}) get no credentials",
        "gap-pi-node-role" => "whether node role {role} ({origin}) allows eks-auth:AssumeRoleForPodIdentity (the eks-pod-identity-agent's call) is not checked: {why}",
        "gap-pi-node" => "the IAM role of node {node} (pods {pods} use EKS Pod Identity) is not checked, so whether its eks-pod-identity-agent may call eks-auth:AssumeRoleForPodIdentity is not known: {why}",
        "pi-proxy" => "container {container} of {kind} {namespace}/{name} sets {proxy_var} and its NO_PROXY does not exclude 169.254.170.23: an SDK that honours the proxy variables sends the credentials request to the proxy",
        "gap-pi-agent" => "whether the eks-pod-identity-agent runs is not checked: the DaemonSets of kube-system are not in the snapshot; add `kubectl get daemonsets -n kube-system -o json` (or `aws eks describe-addon {cluster_args} --addon-name eks-pod-identity-agent`)",
        "gap-pi-agent-node" => "whether the eks-pod-identity-agent is ready on node {node} (pod {namespace}/{pod}) is not checked: the agent's pods are not in the snapshot; add `kubectl get pods -n {agent_namespace} -o json`",
        "pi-not-injected" => "pod {namespace}/{pod} runs as {sa}, which has an EKS Pod Identity association, but has no AWS_CONTAINER_CREDENTIALS_FULL_URI{why}",
        "pi-unsupported-compute" => "pod {namespace}/{pod} of ServiceAccount {sa} runs on {compute}, where EKS Pod Identity is not available: it gets no credentials from the association",
        "pi-injected-ok" => "pods of {namespace}/{name} carry AWS_CONTAINER_CREDENTIALS_FULL_URI and the eks-pod-identity-token volume",
        "pi-trust-ok" => "trust policy of {role} allows EKS Pod Identity (pods.eks.amazonaws.com: {actions}) for {namespace}/{name}",
        "pi-trust-denied" => "trust policy of {role} does not allow {action} for EKS Pod Identity (service principal pods.eks.amazonaws.com) on behalf of {namespace}/{name}: {why}",
        "pi-target-trust-denied" => "trust policy of target role {role} does not allow {action} from the association role {source} (EKS Pod Identity's second hop for {namespace}/{name}): {why}",
        "gap-pi-trust" => "trust policy of {role} (EKS Pod Identity, {namespace}/{name}) cannot be decided offline: {why}",
        "pi-tags-disabled" => "the EKS Pod Identity association {id} of {namespace}/{name} disables session tags, but the trust policy of {role} requires them (conditions on aws:RequestTag/… or sts:TagSession): EKS Auth refuses every pod",
        "pi-session-policy" => "the EKS Pod Identity association {id} of {namespace}/{name} carries a session policy ({size} characters): the pods' permissions are the intersection of the role's policies and it",
        "pi-sdk-too-old" => "{sdk} {version} (container {container} of {kind} {namespace}/{name}) predates EKS Pod Identity ({minimum} or later): it refuses the agent's address and falls back to the node's role",
        "pi-sdk-unsupported" => "{sdk} (container {container} of {kind} {namespace}/{name}) does not support EKS Pod Identity at all",
        "pi-conflict" => "ServiceAccount {namespace}/{name} gets role {pi_role} via EKS Pod Identity; the IRSA annotation (role {role}) is ignored: the webhook injects the Pod Identity variables and not AWS_ROLE_ARN when an association exists",
        "pi-conflict-same" => "ServiceAccount {namespace}/{name} has both an EKS Pod Identity association and the IRSA annotation for the same role {role}: its pods use Pod Identity; the annotation is ignored and can be removed",
        "pi-conflict-both-env" => "pod {namespace}/{pod} carries both AWS_ROLE_ARN/AWS_WEB_IDENTITY_TOKEN_FILE ({role}) and AWS_CONTAINER_CREDENTIALS_FULL_URI (association role {pi_role}): most SDKs try web identity first and use {role}; the AWS SDK for JavaScript v2 tries container credentials first",
        "pi-conflict-stale" => "pod {namespace}/{pod} was created before the EKS Pod Identity association of {sa} and still runs with IRSA ({role}); pods created from now on get {pi_role} via Pod Identity",
        _ => return None,
    })
}
