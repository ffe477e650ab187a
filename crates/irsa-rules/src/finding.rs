//! What a rule reports: a finding (cause, severity, subject, message, predicted STS
//! error, fixes) or a passed check. Causes are the stable vocabulary of
//! `causes.md`: reports, `explain` and external tests key on them.

use crate::messages::Message;
use irsa_model::Text;
use serde::Serialize;
use std::borrow::Cow;

macro_rules! causes {
    ($($variant:ident => $id:literal),* $(,)?) => {
        /// The stable cause vocabulary (`causes.md`). An id is never renamed.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(missing_docs)]
        pub enum Cause { $($variant),* }

        impl Cause {
            /// Every cause.
            pub const ALL: &'static [Cause] = &[$(Cause::$variant),*];
            /// The cause id.
            pub fn id(self) -> &'static str {
                match self { $(Cause::$variant => $id),* }
            }
            /// Parses a cause id.
            pub fn from_id(id: &str) -> Option<Cause> {
                match id { $($id => Some(Cause::$variant),)* _ => None }
            }
        }
    };
}

causes! {
    ClusterNoOidcIssuer => "cluster-no-oidc-issuer",
    OidcProviderMissing => "oidc-provider-missing",
    OidcProviderAudience => "oidc-provider-audience",
    OidcProviderThumbprint => "oidc-provider-thumbprint",
    RoleNotFound => "role-not-found",
    TrustAction => "trust-action",
    TrustPrincipal => "trust-principal",
    TrustSub => "trust-sub",
    TrustAud => "trust-aud",
    TrustConditionKey => "trust-condition-key",
    TrustOperator => "trust-operator",
    TrustDeny => "trust-deny",
    TrustTooBroad => "trust-too-broad",
    TrustPolicySize => "trust-policy-size",
    RolePermissions => "role-permissions",
    SaMissing => "sa-missing",
    SaAnnotationMissing => "sa-annotation-missing",
    SaAnnotationMalformed => "sa-annotation-malformed",
    SaAnnotationOptions => "sa-annotation-options",
    PodServiceAccount => "pod-service-account",
    PodNotMutated => "pod-not-mutated",
    PodStaleRole => "pod-stale-role",
    WebhookMissing => "webhook-missing",
    EnvPresetConflict => "env-preset-conflict",
    CredentialPrecedence => "credential-precedence",
    TokenFilePermission => "token-file-permission",
    SdkTooOld => "sdk-too-old",
    ChinaRegion => "china-region",
    RegionalSts => "regional-sts",
    PodTokenMount => "pod-token-mount",
    PodIdentityAssociation => "pod-identity-association",
    PodIdentityAgent => "pod-identity-agent",
    PodIdentityNotInjected => "pod-identity-not-injected",
    PodIdentityTrust => "pod-identity-trust",
    PodIdentitySessionTags => "pod-identity-session-tags",
    MechanismConflict => "mechanism-conflict",
    CollectionGap => "collection-gap",
}

impl Serialize for Cause {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

/// Severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// IRSA fails, or the pod runs as the wrong identity.
    Error,
    /// Works today but fragile or unsafe; or something could not be checked.
    Warning,
    /// Context.
    Info,
}

impl Severity {
    /// Parses `error|warning|info`.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }
    /// Name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// What a finding is about (`report-contract.md` subject kinds).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Subject {
    /// `Cluster`, `OidcProvider`, `Role`, `ServiceAccount`, `Pod`, `Deployment`, ... `Webhook`, `Input`.
    /// The kinds this tool names are shared constants, not a copy per finding.
    pub kind: Cow<'static, str>,
    /// Namespace, for namespaced objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Text>,
    /// Name (ARN for roles and providers, path for inputs). Shared with the model when
    /// made from its object's names (a report repeats them in every finding and pass).
    pub name: Text,
}

/// The subject kinds of `report-contract.md` (its workload kinds are the ones a pod's
/// owner chain names).
const KINDS: &[&str] = &[
    "Cluster",
    "OidcProvider",
    "Role",
    "ServiceAccount",
    "Pod",
    "Deployment",
    "DaemonSet",
    "StatefulSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "Webhook",
    "Input",
];

/// `kind` as a shared constant when it is one of [`KINDS`], else a copy.
fn subject_kind(kind: &str) -> Cow<'static, str> {
    match KINDS.iter().find(|k| **k == kind) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(kind.to_string()),
    }
}

impl Subject {
    /// A namespaced subject.
    pub fn namespaced(kind: &str, namespace: impl Into<Text>, name: impl Into<Text>) -> Subject {
        Subject {
            kind: subject_kind(kind),
            namespace: Some(namespace.into()),
            name: name.into(),
        }
    }
    /// A cluster-scoped subject.
    pub fn global(kind: &str, name: impl Into<Text>) -> Subject {
        Subject {
            kind: subject_kind(kind),
            namespace: None,
            name: name.into(),
        }
    }
    /// `kind ns/name` for display.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// A fix the user can apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// What it does.
    pub summary: String,
    /// Copy-pasteable shell commands (may span lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The AWS account the command's AWS writes act in (the role's or provider's, else the
    /// cluster's): the command checks the caller's account (`aws sts get-caller-identity`)
    /// before them. With several accounts, the first; all of them in `accounts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Every account the command acts in, in order, when there are several (each part
    /// is guarded by its own account: paste the fix once with each account's credentials).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// The Kubernetes cluster the command's `kubectl` writes act in. With an `endpoint`,
    /// the command checks kubectl's current context first; without one (the snapshot does
    /// not describe the cluster) it cannot, and the summary says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<FixCluster>,
    /// A template: placeholders (`<ARN>`) to replace before running it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub template: bool,
    /// The placeholders of a template, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub placeholders: Vec<String>,
    /// The summary and command as the rule wrote them, before the guards were added
    /// (`lint`, which has no account or cluster to check against, shows these).
    #[serde(skip)]
    pub(crate) unguarded: Option<Unguarded>,
}

/// A fix's summary and command as the rule wrote them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unguarded {
    /// Parts of the guarded ones (most fixes: notes are added after the summary, guards
    /// before the command): the summary's length, and where the command starts (None:
    /// there was no command). Not a copy of each: a large cluster has tens of thousands.
    Parts {
        summary: usize,
        command: Option<usize>,
    },
    /// Copies, when the guarded texts do not hold them so.
    Copy(String, Option<String>),
}

impl Unguarded {
    /// How to get `summary` and `command` (the rule's) back from `fix` (guarded).
    pub(crate) fn of(summary: String, command: Option<String>, fix: &Fix) -> Unguarded {
        let summary_kept = fix.summary.starts_with(&summary);
        let command_at = match (&command, &fix.command) {
            (None, _) => Some(None),
            (Some(c), Some(now)) if now.ends_with(c.as_str()) => Some(Some(now.len() - c.len())),
            _ => None,
        };
        match (summary_kept, command_at) {
            (true, Some(command)) => Unguarded::Parts {
                summary: summary.len(),
                command,
            },
            _ => Unguarded::Copy(summary, command),
        }
    }
    /// The rule's summary and command, given the guarded fix.
    pub(crate) fn texts<'f>(&'f self, fix: &'f Fix) -> (&'f str, Option<&'f str>) {
        match self {
            Unguarded::Parts { summary, command } => (
                &fix.summary[..*summary],
                command.and_then(|at| fix.command.as_deref().map(|c| &c[at..])),
            ),
            Unguarded::Copy(summary, command) => (summary, command.as_deref()),
        }
    }
}

/// The cluster a fix's `kubectl` commands must run in (`aws eks describe-cluster`).
/// (Its texts are shared by every fix of a report: one cluster, thousands of fixes.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FixCluster {
    /// EKS cluster name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Text>,
    /// Cluster ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<Text>,
    /// The API server URL the command compares kubectl's current context's server with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Text>,
}

impl Fix {
    /// A fix with a command.
    pub fn command(summary: impl Into<String>, command: impl Into<String>) -> Fix {
        Fix {
            summary: summary.into(),
            command: Some(command.into()),
            account: None,
            accounts: Vec::new(),
            cluster: None,
            template: false,
            placeholders: Vec::new(),
            unguarded: None,
        }
    }
    /// The command as the rule wrote it, without the account and cluster guards
    /// `fix_target` puts before its writes.
    pub fn rule_command(&self) -> Option<&str> {
        match &self.unguarded {
            Some(u) => u.texts(self).1,
            None => self.command.as_deref(),
        }
    }
    /// A fix that is advice only.
    pub fn advice(summary: impl Into<String>) -> Fix {
        Fix {
            summary: summary.into(),
            command: None,
            account: None,
            accounts: Vec::new(),
            cluster: None,
            template: false,
            placeholders: Vec::new(),
            unguarded: None,
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Rule code (`IRSA203`).
    pub rule: &'static str,
    /// Cause id.
    pub cause: Cause,
    /// Severity.
    pub severity: Severity,
    /// Subject.
    pub subject: Subject,
    /// The role involved, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The message (typed; rendered at output time).
    #[serde(skip)]
    pub message: Message,
    /// AWS's exact error text, where STS is involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicted_error: Option<String>,
    /// Fixes, in the order to apply them.
    pub fix: Vec<Fix>,
}

/// A check that passed (shown as ✔ in the human report).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pass {
    /// Rule code.
    pub rule: &'static str,
    /// Subject.
    pub subject: Subject,
    /// What holds.
    #[serde(skip)]
    pub message: Message,
}

#[cfg(test)]
mod subject_tests {
    use super::*;

    #[test]
    fn a_guarded_fix_gives_back_the_rules_texts_whether_kept_in_place_or_copied() {
        let rule = Fix::command("annotate it", "kubectl annotate sa x a=b");
        // Guards before the command, a note after the summary: the rule's texts are parts.
        let mut guarded = rule.clone();
        guarded.summary.push_str(" (on cluster c)");
        guarded.command = Some(format!("[ guard ] &&\n{}", rule.command.clone().unwrap()));
        let u = Unguarded::of(rule.summary.clone(), rule.command.clone(), &guarded);
        assert!(matches!(u, Unguarded::Parts { .. }), "{u:?}");
        assert_eq!(
            u.texts(&guarded),
            ("annotate it", Some("kubectl annotate sa x a=b"))
        );
        // A command guarded part by part does not hold the rule's whole: a copy.
        let mut split = rule.clone();
        split.command = Some("[ a ] && kubectl annotate sa x\n[ b ] && a=b".into());
        let u = Unguarded::of(rule.summary.clone(), rule.command.clone(), &split);
        assert!(matches!(u, Unguarded::Copy(..)), "{u:?}");
        assert_eq!(
            u.texts(&split),
            ("annotate it", Some("kubectl annotate sa x a=b"))
        );
        // Advice: no command before, none after.
        let advice = Fix::advice("edit it (run it on cluster c)");
        let u = Unguarded::of("edit it".into(), None, &advice);
        assert_eq!(u.texts(&advice), ("edit it", None));
    }

    #[test]
    fn contract_kinds_are_shared_and_others_copied() {
        let s = Subject::namespaced("Pod", "ns", "p");
        assert!(matches!(s.kind, Cow::Borrowed(_)));
        assert_eq!(s.kind, "Pod");
        let r = Subject::namespaced("ReplicationController", "ns", "rc");
        assert!(matches!(r.kind, Cow::Owned(_)));
        assert_eq!(r.kind, "ReplicationController");
        // Shared or copied, a kind serialises, compares and orders as its text.
        assert_eq!(
            serde_json::to_string(&Subject::global("Role", "arn")).unwrap(),
            r#"{"kind":"Role","name":"arn"}"#
        );
        assert!(Subject::global("Cluster", "c") < Subject::global("Input", "c"));
    }
}
