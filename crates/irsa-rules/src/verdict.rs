//! The end-to-end verdict of one ServiceAccount: what STS answers, then what the SDK in
//! its pods actually does. Never a pass on a broken chain: an error anywhere on the way
//! (no pod runs as it, no token mounted, static keys first in the chain, pods never
//! mutated, ...) decides it, and an unknown link makes it "not checked", never "works".

use crate::context::{Context, SaIrsa};
use crate::finding::{Cause, Finding, Severity, Subject};
use irsa_model::keys::PositionLists;
use irsa_policy::StsPrediction;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeSet;

/// The outcome for a ServiceAccount's pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// STS issues credentials and the pods' SDK uses them.
    Works,
    /// It works today, but a warning says it may fail (version, region, SDK, security).
    AtRisk,
    /// STS refuses, or the pods never use the role.
    Fails,
    /// A link could not be evaluated: no verdict.
    NotChecked,
    /// Everything that can be checked holds, but no pod runs as the ServiceAccount.
    NoPods,
}

impl Status {
    /// The id (`works`, `at-risk`, `fails`, `not-checked`, `no-pods`).
    pub fn id(self) -> &'static str {
        match self {
            Status::Works => "works",
            Status::AtRisk => "at-risk",
            Status::Fails => "fails",
            Status::NotChecked => "not-checked",
            Status::NoPods => "no-pods",
        }
    }
}

/// The verdict of one chain.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The outcome.
    pub status: Status,
    /// STS's answer in words (`credentials issued`, the error, or `not checked: …`).
    /// (Constant texts are shared, not copied into each of a large cluster's chains.)
    pub sts: Cow<'static, str>,
    /// What the SDK in the pods does (one of a few constant texts).
    pub sdk: Cow<'static, str>,
    /// Why, in one line (the deciding finding's message, or the gap).
    pub reason: String,
    /// The deciding finding's cause, if a finding decides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// The deciding finding's rule, if a finding decides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
}

/// What the SDK in a chain's pods does, in words: the same for every verdict of one
/// mechanism but for these.
pub(crate) struct SdkWords {
    /// When the pods get the role's credentials (works, at risk).
    pub working: &'static str,
    /// When a finding of this cause makes them fail.
    pub effect: fn(Cause) -> &'static str,
    /// The cause to say the effect of when they fail with no finding deciding.
    pub failing: Cause,
}

impl Verdict {
    /// The verdict `status`, decided by `deciding` when a finding decides it.
    pub(crate) fn decided(
        status: Status,
        sts: Cow<'static, str>,
        deciding: Option<&Finding>,
        reason: String,
        words: &SdkWords,
    ) -> Verdict {
        let sdk = match (status, deciding) {
            (Status::Works | Status::AtRisk, _) => words.working,
            (Status::Fails, Some(f)) => (words.effect)(f.cause),
            (Status::Fails, None) => (words.effect)(words.failing),
            (Status::NoPods, _) => "not run: no pod uses this ServiceAccount",
            (Status::NotChecked, _) => "not checked",
        };
        Verdict {
            status,
            sts,
            sdk: sdk.into(),
            reason,
            cause: deciding.map(|f| f.cause),
            rule: deciding.map(|f| f.rule),
        }
    }
}

/// What the SDK in the pod ends up doing when a finding of this cause holds.
pub fn sdk_effect(cause: Cause) -> &'static str {
    match cause {
        Cause::PodNotMutated
        | Cause::PodServiceAccount
        | Cause::SaAnnotationMissing
        | Cause::WebhookMissing
        | Cause::SdkTooOld => "finds no web identity and falls back to the node's role",
        Cause::PodTokenMount | Cause::TokenFilePermission => {
            "cannot read the token file: web identity fails"
        }
        Cause::CredentialPrecedence => {
            "uses other credentials first (static keys, a credentials file or Pod Identity), not the role"
        }
        Cause::EnvPresetConflict => {
            "sees half a web identity configuration: it fails or falls back to the node's role"
        }
        Cause::PodStaleRole => "assumes the role the pods were created with, not the annotated one",
        Cause::SaMissing => "never runs: the pods cannot be created",
        Cause::ChinaRegion | Cause::RegionalSts => {
            "gets credentials from, or calls, the wrong endpoint and fails"
        }
        Cause::RolePermissions => "gets the role's credentials; AWS then denies its calls",
        _ => "gets no credentials: STS refuses the token",
    }
}

/// What a chain is made of, to tell which findings are about it.
struct Links<'a> {
    namespace: &'a str,
    name: &'a str,
    role: String,
    annotation: &'a str,
    account: Option<String>,
    pods: BTreeSet<&'a str>,
    workloads: BTreeSet<(&'a str, &'a str)>,
    sts_error: Option<String>,
}

impl Links<'_> {
    fn about(&self, f: &Finding) -> bool {
        let s = &f.subject;
        let in_ns = s.namespace.as_deref() == Some(self.namespace);
        match &*s.kind {
            // EKS Pod Identity's cluster-wide findings (its agent) are not about web identity.
            "Cluster" | "Webhook" => !crate::pod_identity::RULE_CODES.contains(&f.rule),
            "Input" => false,
            "Role" => s.name == self.role || s.name == self.annotation,
            // A provider serves every ServiceAccount whose role is in its account, but an
            // error there (a missing audience) is about this chain only when STS's
            // predicted answer for it is that very error.
            "OidcProvider" => {
                self.account
                    .as_deref()
                    .is_some_and(|a| irsa_policy::arn::account_of(&s.name) == Some(a))
                    && (f.severity != Severity::Error
                        || f.predicted_error.is_some() && f.predicted_error == self.sts_error)
            }
            "ServiceAccount" if in_ns && s.name == self.name => true,
            "Pod" if in_ns && self.pods.contains(s.name.as_str()) => true,
            k if in_ns && self.workloads.contains(&(k, s.name.as_str())) => true,
            // A workload of the namespace that should run as this ServiceAccount but runs
            // as another (its finding names this ServiceAccount's role).
            _ => {
                in_ns
                    && f.cause == Cause::PodServiceAccount
                    && f.role_arn
                        .as_deref()
                        .is_some_and(|r| r == self.role || r == self.annotation)
            }
        }
    }
}

/// Findings indexed by what they could be about, so each chain looks only at its own
/// candidates (verdicts stay linear in the number of ServiceAccounts and findings). The
/// indexes hold positions in the report, not copies of the keys (see
/// [`PositionLists`]).
pub struct FindingIndex<'f> {
    findings: &'f [Finding],
    /// Cluster, webhook and provider findings: about many chains.
    shared: Vec<u32>,
    /// Namespaced subjects: (kind, namespace, name).
    by_subject: PositionLists,
    /// Namespaced findings that name a role: (namespace, role).
    by_role_in_namespace: PositionLists,
    /// Role subjects, by role ARN.
    by_role: PositionLists,
}

/// A namespaced subject's (kind, namespace, name); None for a role, an input or a
/// cluster-wide subject.
fn subject_key(f: &Finding) -> Option<(&str, &str, &str)> {
    let s = &f.subject;
    match (&*s.kind, s.namespace.as_deref()) {
        ("Input" | "Role", _) | (_, None) => None,
        (kind, Some(ns)) => Some((kind, ns, &s.name)),
    }
}

/// A role subject's ARN.
fn role_key(f: &Finding) -> Option<&str> {
    (f.subject.kind == "Role").then_some(&*f.subject.name)
}

/// (namespace, role) of a namespaced finding that names a role, for what
/// `Links::about` can accept through the role alone: a finding about a ServiceAccount,
/// pod or workload is found by its subject, unless it is a workload running as another
/// ServiceAccount (its finding names this chain's role). Indexing every finding by role
/// made each ServiceAccount read the findings of every other ServiceAccount sharing its
/// role in the namespace.
fn role_in_namespace_key(f: &Finding) -> Option<(&str, &str)> {
    let (kind, ns, _) = subject_key(f)?;
    let by_subject_only = f.cause != Cause::PodServiceAccount
        && (kind == "ServiceAccount"
            || kind == "Pod"
            || irsa_model::WorkloadKind::from_kind(kind).is_some());
    Some((ns, f.role_arn.as_deref().filter(|_| !by_subject_only)?))
}

impl<'f> FindingIndex<'f> {
    /// Indexes the findings (in report order; a report of more than 4 billion findings
    /// is not indexed past them).
    pub fn new(findings: &'f [Finding]) -> FindingIndex<'f> {
        let n = findings.len();
        FindingIndex {
            findings,
            shared: findings
                .iter()
                .enumerate()
                .take(u32::MAX as usize)
                .filter(|(_, f)| {
                    !matches!(&*f.subject.kind, "Input" | "Role") && f.subject.namespace.is_none()
                })
                .map(|(i, _)| i as u32)
                .collect(),
            by_subject: PositionLists::new(n, |i| subject_key(&findings[i])),
            by_role_in_namespace: PositionLists::new(n, |i| role_in_namespace_key(&findings[i])),
            by_role: PositionLists::new(n, |i| role_key(&findings[i])),
        }
    }

    fn subject(&self, key: (&str, &str, &str)) -> impl Iterator<Item = u32> + '_ {
        self.by_subject
            .get(key, |i| subject_key(&self.findings[i]).expect("indexed"))
            .map(|i| i as u32)
    }

    fn candidates(&self, links: &Links<'_>) -> Vec<&'f Finding> {
        self.on_chain(
            links.namespace,
            links.name,
            &[links.role.as_str(), links.annotation],
            true,
            links.pods.iter().copied(),
            links.workloads.iter().copied(),
        )
        .into_iter()
        .filter(|f| links.about(f))
        .collect()
    }

    /// Every finding that can be about a chain, in report order: the cluster-wide ones,
    /// those of its roles (and, with `role_in_namespace`, the namespace's findings that
    /// name one of them), of the ServiceAccount `namespace/name`, of its pods and of
    /// its workloads (`(kind, name)`). The caller keeps those its chain is about.
    pub(crate) fn on_chain<'a>(
        &self,
        namespace: &str,
        name: &str,
        roles: &[&str],
        role_in_namespace: bool,
        pods: impl IntoIterator<Item = &'a str>,
        workloads: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Vec<&'f Finding> {
        let ns = namespace;
        let findings = self.findings;
        let mut c: Vec<u32> = self.shared.clone();
        for &role in roles {
            let at = |i: usize| role_key(&findings[i]).expect("indexed");
            c.extend(self.by_role.get(role, at).map(|i| i as u32));
            if role_in_namespace {
                let at = |i: usize| role_in_namespace_key(&findings[i]).expect("indexed");
                c.extend(
                    self.by_role_in_namespace
                        .get((ns, role), at)
                        .map(|i| i as u32),
                );
            }
        }
        c.extend(self.subject(("ServiceAccount", ns, name)));
        for p in pods {
            c.extend(self.subject(("Pod", ns, p)));
        }
        for (kind, name) in workloads {
            c.extend(self.subject((kind, ns, name)));
        }
        c.sort_unstable();
        c.dedup();
        c.into_iter().map(|n| &self.findings[n as usize]).collect()
    }
}

/// The verdict of one ServiceAccount, from STS's predicted answer and every finding about
/// its chain.
pub fn verdict(cx: &Context<'_>, i: &SaIrsa<'_>, index: &FindingIndex<'_>) -> (Verdict, usize) {
    let pods: Vec<&irsa_model::Pod> = cx.pods_of_irsa(i).collect();
    let mut workloads: BTreeSet<(&str, &str)> = cx
        .workloads_of_sa(&i.sa.namespace, &i.sa.name)
        .map(|w| (w.kind.name(), w.name.as_str()))
        .collect();
    for p in &pods {
        if let Some((k, n)) = cx.snap.controller_of(p) {
            workloads.insert((k.name(), n));
        }
    }
    let links = Links {
        namespace: &i.sa.namespace,
        name: &i.sa.name,
        role: i.role_text(),
        annotation: i.annotation,
        account: i.role_arn.as_ref().ok().map(|r| r.account.clone()),
        pods: pods.iter().map(|p| p.name.as_str()).collect(),
        workloads,
        sts_error: match &i.prediction {
            StsPrediction::Error(e) => Some(e.text()),
            _ => None,
        },
    };
    let about: Vec<&Finding> = index.candidates(&links);
    let first = |pred: &dyn Fn(&Finding) -> bool| about.iter().copied().find(|f| pred(f));
    let gap = |f: &Finding| f.cause == Cause::CollectionGap;
    // Which SDK a container runs could not be told (no exec evidence, an image no data
    // covers): STS's answer stands, what the SDK does with the token is not claimed.
    let sdk_unknown = about
        .iter()
        .any(|f| f.rule == "IRSA408" && f.cause == Cause::CollectionGap);
    let words = SdkWords {
        working: if sdk_unknown {
            "reads the token and assumes the role if its SDK supports web identity: which SDK a container runs is not checked (IRSA408)"
        } else {
            "reads the token and assumes the role (web identity)"
        },
        effect: sdk_effect,
        failing: Cause::TrustAction,
    };
    let decide = |status: Status, sts: Cow<'static, str>, f: Option<&Finding>, reason: String| {
        Verdict::decided(status, sts, f, reason, &words)
    };
    let sts: Cow<'static, str> = match &i.prediction {
        StsPrediction::Success { .. } => "credentials issued".into(),
        StsPrediction::Error(e) => e.text().into(),
        StsPrediction::Undetermined { why, .. } => format!("not checked: {why}").into(),
    };
    let n = pods.len();
    let error = first(&|f| f.severity == Severity::Error && !gap(f));
    // STS refuses, or a link on the way breaks the chain.
    if let StsPrediction::Error(e) = &i.prediction {
        let text = e.text();
        let f = first(&|f| f.predicted_error.as_deref() == Some(text.as_str())).or(error);
        return (
            decide(
                Status::Fails,
                sts.clone(),
                f,
                f.map(|f| f.message.render()).unwrap_or(e.text()),
            ),
            n,
        );
    }
    if let Some(f) = error {
        return (decide(Status::Fails, sts, Some(f), f.message.render()), n);
    }
    if let StsPrediction::Undetermined { why, .. } = &i.prediction {
        let f = first(&|f| gap(f) && f.severity <= Severity::Warning);
        return (decide(Status::NotChecked, sts.clone(), f, why.clone()), n);
    }
    if let Some(f) = first(&|f| gap(f) && f.severity <= Severity::Warning) {
        return (
            decide(Status::NotChecked, sts, Some(f), f.message.render()),
            n,
        );
    }
    let warning = first(&|f| f.severity == Severity::Warning && !gap(f));
    if n == 0 {
        let listed = cx.snap.coverage.pods.covers(&i.sa.namespace);
        if !listed {
            return (
                decide(
                    Status::NotChecked,
                    sts,
                    None,
                    format!(
                        "no pod of {}/{} is in the snapshot, so what the SDK does is not checked; add `kubectl get pods -n {} -o json`",
                        i.sa.namespace, i.sa.name, i.sa.namespace
                    ),
                ),
                n,
            );
        }
        let reason = match warning {
            Some(f) => format!("no pod runs as it; {}", f.message.render()),
            None => format!(
                "no pod runs as it in namespace {}: nothing uses these credentials",
                i.sa.namespace
            ),
        };
        return (decide(Status::NoPods, sts, warning, reason), n);
    }
    if let Some(f) = warning {
        return (decide(Status::AtRisk, sts, Some(f), f.message.render()), n);
    }
    (
        decide(
            Status::Works,
            sts,
            None,
            format!("{n} pod(s) get the role's credentials"),
        ),
        n,
    )
}

/// Something in scope that could not be evaluated, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotChecked {
    /// What.
    pub subject: Subject,
    /// The rule that names the gap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    /// Why, and what to add.
    pub why: String,
}
