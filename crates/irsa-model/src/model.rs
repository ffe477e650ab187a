//! The typed snapshot every rule reads. A fact that was not collected is absent
//! *with a reason*: coverage records what was listed, so a rule can tell "there is
//! no such ServiceAccount" from "ServiceAccounts of that namespace were not listed".

use crate::pod_identity::PodIdentityAssociation;
use crate::{StringMap, Text};
use irsa_policy::{Partition, PolicyDocument, PolicyError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Where an object came from (file and, for lists, position).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Source {
    /// File path as given: shared by every object of the file (a large cluster's pods
    /// come from one file).
    #[serde(serialize_with = "serialize_str")]
    pub path: std::sync::Arc<str>,
}

impl Source {
    /// An object read from `path`.
    pub fn new(path: &str) -> Source {
        Source { path: path.into() }
    }
}

fn serialize_str<S: serde::Serializer>(
    text: &std::sync::Arc<str>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(text)
}

/// A ServiceAccount.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceAccount {
    /// Namespace.
    pub namespace: Text,
    /// Name.
    pub name: Text,
    /// Creation time (RFC 3339), if printed.
    pub created: Option<String>,
    /// Annotations.
    pub annotations: StringMap,
    /// Labels.
    pub labels: StringMap,
    /// Source file.
    pub source: Source,
}

/// A controller owner reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    /// Kind (`ReplicaSet`, `Job`, `DaemonSet`, ...).
    pub kind: Text,
    /// Name (shared: the pods of a ReplicaSet or Job name it alike).
    pub name: Text,
}

/// One env var of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    /// Name.
    pub name: Text,
    /// Literal value; `None` when absent or set through `valueFrom`.
    pub value: Option<Text>,
    /// Set through `valueFrom` (secret, config map, field ref).
    pub from_ref: bool,
}

/// `envFrom` source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvFrom {
    /// `secret` or `configMap`.
    pub kind: &'static str,
    /// Referenced object name.
    pub name: String,
    /// Prefix added to every key.
    pub prefix: Option<String>,
}

/// A container (or init container).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Container {
    /// Name.
    pub name: Text,
    /// Image.
    pub image: Option<Text>,
    /// Env vars in order.
    pub env: Vec<EnvVar>,
    /// `envFrom` sources.
    pub env_from: Vec<EnvFrom>,
    /// Volume mounts.
    pub mounts: Vec<VolumeMount>,
    /// `securityContext.runAsUser`.
    pub run_as_user: Option<i64>,
    /// `securityContext.runAsNonRoot`.
    pub run_as_non_root: Option<bool>,
}

impl Container {
    /// The env var with this name, if set.
    pub fn env(&self, name: &str) -> Option<&EnvVar> {
        self.env.iter().find(|e| e.name == name)
    }
}

/// A container's `volumeMounts` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeMount {
    /// The volume's name.
    pub name: Text,
    /// `mountPath` as written (Unix or Windows style).
    pub path: Text,
    /// `subPath`: the path inside the volume mounted at `path`, when not the whole volume.
    pub sub_path: Option<String>,
}

/// A projected ServiceAccount token in a volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectedToken {
    /// Audience (`None` = the API server's default audience).
    pub audience: Option<Text>,
    /// Expiry in seconds.
    pub expiration_seconds: Option<i64>,
    /// File name inside the volume.
    pub path: Text,
}

/// A pod volume (only what matters here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Volume {
    /// Name.
    pub name: Text,
    /// Projected service-account tokens in it.
    pub tokens: Vec<ProjectedToken>,
}

/// A pod spec (of a pod or a workload template).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct PodSpec {
    /// `serviceAccountName` (or the deprecated `serviceAccount`), if set.
    pub service_account_name: Option<Text>,
    /// Containers.
    pub containers: Vec<Container>,
    /// Init containers.
    pub init_containers: Vec<Container>,
    /// Volumes.
    pub volumes: Vec<Volume>,
    /// Pod `securityContext.fsGroup`.
    pub fs_group: Option<i64>,
    /// Pod `securityContext.runAsUser`.
    pub run_as_user: Option<i64>,
    /// Pod `securityContext.runAsNonRoot`.
    pub run_as_non_root: Option<bool>,
    /// `nodeSelector`.
    pub node_selector: StringMap,
    /// `hostNetwork`.
    pub host_network: bool,
    /// `nodeName`: the node a pod was scheduled on (pods only).
    pub node_name: Option<Text>,
}

impl PodSpec {
    /// The ServiceAccount the pods run as (`default` when unset, as the API server fills it in).
    pub fn effective_service_account(&self) -> &str {
        self.service_account_name.as_deref().unwrap_or("default")
    }
    /// All containers, init containers first (as the webhook mutates both).
    pub fn all_containers(&self) -> impl Iterator<Item = &Container> {
        self.init_containers.iter().chain(self.containers.iter())
    }
    /// The volume with this name.
    pub fn volume(&self, name: &str) -> Option<&Volume> {
        self.volumes.iter().find(|v| v.name == name)
    }
}

/// A pod.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pod {
    /// Namespace.
    pub namespace: Text,
    /// Name.
    pub name: Text,
    /// Creation time.
    pub created: Option<String>,
    /// Labels.
    pub labels: StringMap,
    /// Annotations.
    pub annotations: StringMap,
    /// Controller owner.
    pub owner: Option<Owner>,
    /// Spec.
    pub spec: PodSpec,
    /// `status.phase`.
    pub phase: Option<Text>,
    /// The `Ready` condition of `status.conditions` (`None`: not printed).
    pub ready: Option<bool>,
    /// Source file.
    pub source: Source,
}

/// Kinds of pod-owning workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum WorkloadKind {
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 DaemonSet.
    DaemonSet,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 ReplicaSet.
    ReplicaSet,
    /// batch/v1 Job.
    Job,
    /// batch/v1 CronJob.
    CronJob,
}

impl WorkloadKind {
    /// Parses a `kind`.
    pub fn from_kind(kind: &str) -> Option<WorkloadKind> {
        Some(match kind {
            "Deployment" => WorkloadKind::Deployment,
            "DaemonSet" => WorkloadKind::DaemonSet,
            "StatefulSet" => WorkloadKind::StatefulSet,
            "ReplicaSet" => WorkloadKind::ReplicaSet,
            "Job" => WorkloadKind::Job,
            "CronJob" => WorkloadKind::CronJob,
            _ => return None,
        })
    }
    /// The `kind` name.
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::ReplicaSet => "ReplicaSet",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
        }
    }
    /// Whether `kubectl rollout restart` works on it.
    pub fn restartable(self) -> bool {
        matches!(
            self,
            WorkloadKind::Deployment | WorkloadKind::DaemonSet | WorkloadKind::StatefulSet
        )
    }
}

/// A workload with a pod template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workload {
    /// Kind.
    pub kind: WorkloadKind,
    /// Namespace.
    pub namespace: Text,
    /// Name.
    pub name: Text,
    /// Controller owner (ReplicaSet → Deployment, Job → CronJob).
    pub owner: Option<Owner>,
    /// Pod template spec.
    pub template: PodSpec,
    /// Pod template labels.
    pub template_labels: StringMap,
    /// `status.conditions` (a ReplicaSet's `ReplicaFailure`/`FailedCreate` names why
    /// it cannot create pods).
    pub conditions: Vec<Condition>,
    /// Source file.
    pub source: Source,
}

/// A status condition of a workload, as `kubectl get … -o json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    /// `type` (`ReplicaFailure`, `Progressing`, `Available`, ...).
    pub kind: String,
    /// `status` (`True`, `False`, `Unknown`).
    pub status: String,
    /// `reason` (`FailedCreate`, ...).
    pub reason: Option<String>,
    /// `message`.
    pub message: Option<String>,
}

/// A Kubernetes Event (`kubectl get events -o json`, core/v1 or events.k8s.io/v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Namespace of the event.
    pub namespace: String,
    /// Kind of the object it is about (`involvedObject`/`regarding`).
    pub object_kind: String,
    /// Name of the object it is about.
    pub object_name: String,
    /// `reason` (`FailedCreate`, `FailedMount`, ...).
    pub reason: Option<String>,
    /// `message` (or `note`).
    pub message: String,
    /// `type` (`Normal`, `Warning`).
    pub kind: Option<String>,
    /// How many times it was seen (`count`, or `series.count`).
    pub count: Option<i64>,
    /// Source file.
    pub source: Source,
}

/// A label selector requirement (`matchExpressions` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelectorRequirement {
    /// Label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`.
    pub operator: String,
    /// Values.
    pub values: Vec<String>,
}

/// A label selector.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct LabelSelector {
    /// `matchLabels`.
    pub match_labels: StringMap,
    /// `matchExpressions`.
    pub match_expressions: Vec<SelectorRequirement>,
}

impl LabelSelector {
    /// Whether the labels satisfy the selector.
    pub fn matches(&self, labels: &StringMap) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|e| {
                let val = labels.get(&e.key);
                match e.operator.as_str() {
                    "In" => val.is_some_and(|v| e.values.iter().any(|x| x == v.as_str())),
                    "NotIn" => val.is_none_or(|v| !e.values.iter().any(|x| x == v.as_str())),
                    "Exists" => val.is_some(),
                    "DoesNotExist" => val.is_none(),
                    _ => false,
                }
            })
    }
}

/// One webhook of a MutatingWebhookConfiguration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Webhook {
    /// Webhook name (`iam-for-pods.amazonaws.com` on EKS).
    pub name: String,
    /// `clientConfig.url`.
    pub url: Option<String>,
    /// `clientConfig.service` as `namespace/name path`.
    pub service: Option<String>,
    /// Whether some rule covers CREATE of v1 pods.
    pub covers_pod_create: bool,
    /// `failurePolicy`.
    pub failure_policy: Option<String>,
    /// `objectSelector`.
    pub object_selector: Option<LabelSelector>,
    /// `namespaceSelector`.
    pub namespace_selector: Option<LabelSelector>,
    /// `admissionReviewVersions`.
    pub admission_review_versions: Vec<String>,
}

/// A MutatingWebhookConfiguration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookConfiguration {
    /// Name (`pod-identity-webhook`).
    pub name: String,
    /// Webhooks.
    pub webhooks: Vec<Webhook>,
    /// Source file.
    pub source: Source,
}

/// A node (its kubelet version, labels, OS and addresses matter).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// Name.
    pub name: String,
    /// Kubelet version (`v1.29.3-eks-ae9a62a`).
    pub kubelet_version: Option<String>,
    /// Labels.
    pub labels: StringMap,
    /// `status.nodeInfo.operatingSystem`.
    pub os: Option<String>,
    /// `status.addresses` of type `InternalIP`.
    pub internal_ips: Vec<String>,
}

impl Node {
    /// What kind of compute the node is (EC2 Linux, Fargate, Windows, Auto Mode, hybrid).
    pub fn compute(&self) -> crate::pod_identity::Compute {
        crate::pod_identity::compute_of(&self.labels, self.os.as_deref(), &self.name)
    }
}

/// The EKS cluster (`aws eks describe-cluster`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: Option<String>,
    /// Region (from the ARN).
    pub region: Option<String>,
    /// Account (from the ARN).
    pub account: Option<String>,
    /// Kubernetes version (`1.29`).
    pub version: Option<String>,
    /// OIDC issuer URL; `None` = the cluster reports none.
    pub issuer: Option<String>,
    /// API endpoint.
    pub endpoint: Option<String>,
    /// Public endpoint access.
    pub endpoint_public: Option<bool>,
    /// Private endpoint access.
    pub endpoint_private: Option<bool>,
    /// `kubernetesNetworkConfig.ipFamily` (`ipv4`, `ipv6`).
    pub ip_family: Option<String>,
    /// `computeConfig.enabled`: EKS Auto Mode (Pod Identity built in).
    pub auto_mode: Option<bool>,
    /// `computeConfig.nodeRoleArn`: the IAM role of EKS Auto Mode's built-in node pools
    /// (a custom NodeClass may name another role, `spec.role`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_mode_node_role: Option<String>,
    /// `platformVersion` (`eks.4`).
    pub platform_version: Option<String>,
    /// Source file.
    pub source: Source,
}

/// An IAM OIDC provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OidcProvider {
    /// ARN, when known.
    pub arn: Option<String>,
    /// Account, when known.
    pub account: Option<String>,
    /// URL without `https://`.
    pub url: String,
    /// ClientIDList (audiences); `None` when only listed, not read.
    pub client_ids: Option<Vec<String>>,
    /// ThumbprintList.
    pub thumbprints: Option<Vec<String>>,
}

/// A managed policy attached to a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachedPolicy {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: Option<String>,
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Role {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// The trust policy: parsed, unparsable, or not in the snapshot.
    pub trust: Option<Result<PolicyDocument, PolicyError>>,
    /// Attached managed policies (`None` = not collected).
    pub attached_policies: Option<Vec<AttachedPolicy>>,
    /// Inline policy names (`None` = not collected).
    pub inline_policies: Option<Vec<String>>,
    /// MaxSessionDuration.
    pub max_session_duration: Option<i64>,
    /// Source file.
    pub source: Source,
}

/// What `kubectl exec … -- env|id` printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ExecEvidence {
    /// `env` / `printenv`: name → value (secret values are never kept).
    Env(BTreeMap<String, String>),
    /// `id`: uid, gid, groups.
    Id {
        /// uid.
        uid: i64,
        /// gid.
        gid: i64,
        /// Supplementary groups.
        groups: Vec<i64>,
    },
    /// Software the container holds (`aws --version`, `pip list`, jar listings, …).
    Software(crate::software::Software),
}

/// One exec output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecOutput {
    /// Namespace.
    pub namespace: String,
    /// Pod.
    pub pod: String,
    /// Container (`-c`), if named.
    pub container: Option<String>,
    /// What it showed.
    pub evidence: ExecEvidence,
}

/// Which objects of a kind were listed (so absence can be trusted).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Listing {
    /// Never listed: absence means nothing.
    #[default]
    None,
    /// Listed in these namespaces.
    Namespaces(BTreeSet<String>),
    /// Listed in all namespaces.
    All,
}

impl Listing {
    /// Whether objects of namespace `ns` were listed.
    pub fn covers(&self, ns: &str) -> bool {
        match self {
            Listing::None => false,
            Listing::Namespaces(s) => s.contains(ns),
            Listing::All => true,
        }
    }
    pub(crate) fn add(&mut self, ns: Option<&str>) {
        match ns {
            None => *self = Listing::All,
            Some(n) => match self {
                Listing::All => {}
                Listing::Namespaces(s) => {
                    s.insert(n.to_string());
                }
                Listing::None => *self = Listing::Namespaces([n.to_string()].into()),
            },
        }
    }
}

/// What the snapshot covers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Coverage {
    /// ServiceAccounts.
    pub service_accounts: Listing,
    /// Pods.
    pub pods: Listing,
    /// Whether MutatingWebhookConfigurations were listed (all of them).
    pub webhooks_listed: bool,
    /// Whether a `pod-identity-webhook` get was attempted and answered (found or not).
    pub webhook_seen: bool,
    /// Accounts whose OIDC providers were listed.
    pub provider_accounts: BTreeSet<String>,
    /// A provider listing whose account could not be determined.
    pub provider_list_unknown_account: bool,
    /// Whether Pod Identity associations were listed.
    pub pod_identity_listed: bool,
    /// Whether nodes were listed (all of them).
    pub nodes_listed: bool,
    /// DaemonSets.
    pub daemonsets: Listing,
    /// Accounts whose roles were listed completely (list-roles, get-account-authorization-details).
    pub role_accounts: BTreeSet<String>,
}

/// A file or document that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// Path.
    pub path: String,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// What is wrong.
    pub error: String,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.path, self.error),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.path, self.error),
            _ => write!(f, "{}: {}", self.path, self.error),
        }
    }
}

/// A command whose output recorded a failure (e.g. AccessDenied during `collect`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionFailure {
    /// The command.
    pub command: String,
    /// The error it got.
    pub error: String,
    /// Source file.
    pub path: String,
}

/// A file (or part of one) that was read but not used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The file.
    pub path: String,
    /// Why, in the user's terms.
    pub why: String,
    /// How many documents of the file were skipped for this reason.
    pub count: usize,
    /// An AWS CLI output that does not name its role: what it is, so the hint can show
    /// how to name it (`--snapshot role=NAME:FILE` or an envelope).
    #[serde(skip)]
    pub role_unknown: Option<crate::files::RoleLess>,
}

/// Accounting of the inputs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct InputReport {
    /// Files read.
    pub files: usize,
    /// Documents/objects recognised.
    pub objects: usize,
    /// Unreadable inputs.
    pub rejected: Vec<Rejected>,
    /// Skipped things by description (`kind ConfigMap`, `unrecognised JSON`) → count.
    pub skipped: BTreeMap<String, usize>,
    /// Recorded collection failures.
    pub collection_failures: Vec<CollectionFailure>,
    /// Every skipped file with the reason, in reading order.
    pub skipped_files: Vec<Skipped>,
}

impl InputReport {
    /// Total skipped.
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }
}

/// Facts given on the command line to fill gaps.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ContextFlags {
    /// `--issuer`.
    pub issuer: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--kubernetes-version`.
    pub kubernetes_version: Option<String>,
    /// `--cluster` (selects among several describe-cluster outputs).
    pub cluster: Option<String>,
}

/// Everything known, indexed.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// ServiceAccounts by (namespace, name).
    pub service_accounts: BTreeMap<(String, String), ServiceAccount>,
    /// Pods (unique by namespace/name).
    pub pods: Vec<Pod>,
    /// Workloads (unique by kind/namespace/name).
    pub workloads: Vec<Workload>,
    /// MutatingWebhookConfigurations.
    pub webhook_configurations: Vec<WebhookConfiguration>,
    /// Namespaces seen as objects.
    pub namespaces: BTreeSet<String>,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Clusters described.
    pub clusters: Vec<Cluster>,
    /// OIDC providers (listed and/or read).
    pub providers: Vec<OidcProvider>,
    /// Roles by ARN.
    pub roles: BTreeMap<String, Role>,
    /// `sts get-caller-identity` account.
    pub caller_account: Option<String>,
    /// The API server's version (`kubectl version -o json`).
    pub server_version: Option<String>,
    /// Pod Identity associations.
    pub pod_identity: Vec<PodIdentityAssociation>,
    /// The Pod Identity agent, add-on and node groups.
    pub pod_identity_facts: crate::pod_identity::PodIdentityFacts,
    /// Exec evidence.
    pub exec: Vec<ExecOutput>,
    /// Permission policy documents and boundaries of roles.
    pub permissions: crate::permissions::Permissions,
    /// Kubernetes Events.
    pub events: Vec<Event>,
    /// Coverage.
    pub coverage: Coverage,
    /// Input accounting.
    pub inputs: InputReport,
    /// Command-line context.
    pub flags: ContextFlags,
    pub(crate) pods_by_sa: crate::keys::FastMap<(String, String), Vec<usize>>,
    /// Positions in `workloads` by (kind, namespace, name).
    pub(crate) workload_index: crate::keys::Positions,
    /// Each pod's top-level controller, worked out once when loading ends (the rules
    /// ask for it once per pod and rule); empty for a snapshot built otherwise. Nothing
    /// changes pods or workloads after loading; a pod from elsewhere (a copy) is worked
    /// out again, as is every pod when the lengths differ.
    pub(crate) controllers: Vec<Option<ControllerAt>>,
}

/// Where a pod's top-level controller's name is kept: a prefix (`len` bytes) of the
/// pod's own owner reference's name, or of the owner reference of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ControllerAt {
    kind: WorkloadKind,
    /// None: the pod's owner; Some(i): the owner of `workloads[i]`.
    workload: Option<u32>,
    len: u32,
}

impl Snapshot {
    /// A ServiceAccount.
    pub fn service_account(&self, namespace: &str, name: &str) -> Option<&ServiceAccount> {
        self.service_accounts
            .get(&(namespace, name) as &dyn crate::keys::Pair)
    }

    /// ServiceAccounts of one namespace.
    pub fn service_accounts_in<'s>(
        &'s self,
        namespace: &str,
    ) -> impl Iterator<Item = &'s ServiceAccount> + 's {
        use std::ops::Bound;
        let from: &dyn crate::keys::Pair = &(namespace, "");
        let ns = namespace.to_string();
        self.service_accounts
            .range::<dyn crate::keys::Pair, _>((Bound::Included(from), Bound::Unbounded))
            .take_while(move |((n, _), _)| *n == ns)
            .map(|(_, sa)| sa)
    }

    /// Pods running as a ServiceAccount.
    pub fn pods_of(&self, namespace: &str, sa: &str) -> impl Iterator<Item = &Pod> {
        self.pod_positions_of(namespace, sa)
            .iter()
            .map(|i| &self.pods[*i])
    }

    /// The positions in `pods` of the pods running as a ServiceAccount, in order: for a
    /// caller that asks once and walks them many times (each ask hashes both names and
    /// compares them with the index's keys, which at a hundred thousand ServiceAccounts
    /// sit outside the processor's caches).
    pub fn pod_positions_of(&self, namespace: &str, sa: &str) -> &[usize] {
        self.pods_by_sa
            .get(&(namespace, sa) as &dyn crate::keys::Pair)
            .map_or(&[], Vec::as_slice)
    }

    /// A workload.
    pub fn workload(&self, kind: WorkloadKind, namespace: &str, name: &str) -> Option<&Workload> {
        self.workload_position(kind, namespace, name)
            .map(|i| &self.workloads[i])
    }

    fn workload_position(&self, kind: WorkloadKind, namespace: &str, name: &str) -> Option<usize> {
        self.workload_index.find((kind, namespace, name), |j| {
            crate::loader::workload_key(&self.workloads[j])
        })
    }

    /// The top-level controller of a pod (ReplicaSet → Deployment, Job → CronJob),
    /// as (kind, name). When the ReplicaSet is not in the snapshot, a ReplicaSet named
    /// `<deployment>-<hash>` is attributed to that Deployment if it is present.
    pub fn controller_of<'s>(&'s self, pod: &'s Pod) -> Option<(WorkloadKind, &'s str)> {
        let memo = (self.controllers.len() == self.pods.len())
            .then(|| self.position_of(pod))
            .flatten()
            .and_then(|i| self.controllers.get(i));
        match memo {
            Some(at) => self.controller_name(pod, (*at)?),
            None => self.controller_name(pod, self.find_controller(pod)?),
        }
    }

    /// The position of `pod` in `pods`, when it is one of them (not a copy): for an
    /// index kept beside `pods` (a fact worked out once per pod).
    pub fn pod_position(&self, pod: &Pod) -> Option<usize> {
        self.position_of(pod)
    }

    /// The position of `pod` in `pods`, when it is one of them (not a copy).
    fn position_of(&self, pod: &Pod) -> Option<usize> {
        let size = std::mem::size_of::<Pod>();
        let offset = (pod as *const Pod as usize).checked_sub(self.pods.as_ptr() as usize)?;
        let i = offset / size;
        (offset % size == 0 && self.pods.get(i).is_some_and(|p| std::ptr::eq(p, pod))).then_some(i)
    }

    fn controller_name<'s>(
        &'s self,
        pod: &'s Pod,
        at: ControllerAt,
    ) -> Option<(WorkloadKind, &'s str)> {
        let owner = match at.workload {
            None => pod.owner.as_ref()?,
            Some(i) => self.workloads.get(i as usize)?.owner.as_ref()?,
        };
        Some((at.kind, owner.name.get(..at.len as usize)?))
    }

    /// Works out [`Snapshot::controller_of`] (once per pod, when loading ends).
    pub(crate) fn find_controller(&self, pod: &Pod) -> Option<ControllerAt> {
        let owner = pod.owner.as_ref()?;
        let mut kind = WorkloadKind::from_kind(&owner.kind)?;
        let mut name: &str = &owner.name;
        let mut from: Option<u32> = None;
        let at = |kind, from, name: &str| {
            Some(ControllerAt {
                kind,
                workload: from,
                len: u32::try_from(name.len()).ok()?,
            })
        };
        for _ in 0..3 {
            match self.workload_position(kind, &pod.namespace, name) {
                Some(i) => {
                    let w = &self.workloads[i];
                    match w.owner.as_ref().and_then(|o| {
                        WorkloadKind::from_kind(&o.kind).map(|k| (k, o.name.as_str()))
                    }) {
                        Some((k, n)) => {
                            kind = k;
                            name = n;
                            from = Some(u32::try_from(i).ok()?);
                        }
                        None => break,
                    }
                }
                None => {
                    if kind == WorkloadKind::ReplicaSet {
                        if let Some((deploy, _hash)) = name.rsplit_once('-') {
                            if self
                                .workload(WorkloadKind::Deployment, &pod.namespace, deploy)
                                .is_some()
                            {
                                // A prefix of the ReplicaSet's name.
                                return at(WorkloadKind::Deployment, from, deploy);
                            }
                        }
                    }
                    break;
                }
            }
        }
        at(kind, from, name)
    }

    /// The cluster to diagnose: `--cluster`, else the only one described.
    pub fn cluster(&self) -> Option<&Cluster> {
        match &self.flags.cluster {
            Some(name) => self.clusters.iter().find(|c| &c.name == name),
            None => self.clusters.first(),
        }
    }

    /// The cluster's issuer: describe-cluster, else `--issuer`.
    pub fn issuer(&self) -> Option<String> {
        self.cluster()
            .and_then(|c| c.issuer.clone())
            .or_else(|| self.flags.issuer.clone())
    }

    /// The cluster's region: cluster ARN, else issuer host, else `--region`.
    pub fn region(&self) -> Option<String> {
        self.cluster()
            .and_then(|c| c.region.clone())
            .or_else(|| {
                self.issuer()
                    .and_then(|i| irsa_policy::Issuer::parse(&i).ok())
                    .and_then(|i| i.eks.map(|e| e.region))
            })
            .or_else(|| self.flags.region.clone())
    }

    /// The cluster's partition, from its region.
    pub fn partition(&self) -> Option<Partition> {
        self.region().map(|r| Partition::for_region(&r))
    }

    /// The cluster's account: cluster ARN, else caller identity, else `--account`.
    pub fn account(&self) -> Option<String> {
        self.cluster()
            .and_then(|c| c.account.clone())
            .or_else(|| self.caller_account.clone())
            .or_else(|| self.flags.account.clone())
    }

    /// Kubernetes minor version, e.g. `(1, 29)`: describe-cluster, else `--kubernetes-version`.
    pub fn kubernetes_version(&self) -> Option<(u32, u32)> {
        let v = self
            .cluster()
            .and_then(|c| c.version.clone())
            .or_else(|| self.server_version.clone())
            .or_else(|| self.flags.kubernetes_version.clone())?;
        parse_minor_version(&v)
    }

    /// OIDC providers in an account.
    pub fn providers_in(&self, account: &str) -> impl Iterator<Item = &OidcProvider> {
        let account = account.to_string();
        self.providers
            .iter()
            .filter(move |p| p.account.as_deref() == Some(account.as_str()))
    }

    /// What STS would find when it looks up `issuer_host_path` in `account`: the
    /// account's providers, or `None` when that cannot be known (not listed, and the
    /// issuer's provider not read either).
    pub fn provider_facts(
        &self,
        account: &str,
        issuer_host_path: &str,
    ) -> Option<Vec<irsa_policy::ProviderFacts>> {
        self.provider_known(account, issuer_host_path).then(|| {
            self.providers_in(account)
                .map(|p| irsa_policy::ProviderFacts {
                    url: p.url.clone(),
                    client_ids: p.client_ids.clone(),
                })
                .collect()
        })
    }

    /// Whether [`Snapshot::provider_facts`] knows the providers of `account`: they were
    /// listed, or the one for `issuer_host_path` was read.
    pub fn provider_known(&self, account: &str, issuer_host_path: &str) -> bool {
        self.providers_listed_in(account)
            || self
                .providers_in(account)
                .any(|p| p.url == issuer_host_path)
    }

    /// Whether the providers of `account` were listed.
    pub fn providers_listed_in(&self, account: &str) -> bool {
        self.coverage.provider_accounts.contains(account)
    }

    /// The `pod-identity-webhook` configuration, if present.
    pub fn pod_identity_webhook(&self) -> Option<&WebhookConfiguration> {
        self.webhook_configurations
            .iter()
            .find(|w| w.name == "pod-identity-webhook")
    }

    /// Whether every role of `account` was listed (so a missing role really is missing).
    pub fn coverage_roles_listed(&self, account: &str) -> bool {
        self.coverage.role_accounts.contains(account)
    }

    /// The role an ARN names: the exact ARN, else a role of the same name in the same
    /// account (STS resolves roles by name, so an annotation without the role's path
    /// still names it [UNV]).
    pub fn role_named(&self, arn: &irsa_policy::RoleArn) -> Option<&Role> {
        self.role(&arn.to_string()).or_else(|| {
            self.roles.values().find(|r| {
                r.name == arn.name
                    && irsa_policy::arn::account_of(&r.arn) == Some(arn.account.as_str())
            })
        })
    }

    /// A role by ARN.
    pub fn role(&self, arn: &str) -> Option<&Role> {
        self.roles.get(arn)
    }

    /// The Pod Identity association of a ServiceAccount, if listed.
    pub fn association_for(&self, namespace: &str, sa: &str) -> Option<&PodIdentityAssociation> {
        self.pod_identity
            .iter()
            .find(|a| a.namespace == namespace && a.service_account == sa)
    }

    /// A node by name.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

/// Parses `1.29`, `v1.29.3-eks-…`, `1.29+`.
pub fn parse_minor_version(v: &str) -> Option<(u32, u32)> {
    let v = v.trim().trim_start_matches('v');
    let mut it = v.split('.');
    let major = it.next()?.parse().ok()?;
    let minor_text: String = it
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor_text.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_minor_version("1.29"), Some((1, 29)));
        assert_eq!(parse_minor_version("v1.18.9-eks-d1db3c"), Some((1, 18)));
        assert_eq!(parse_minor_version("1.29+"), Some((1, 29)));
        assert_eq!(parse_minor_version("x"), None);
    }

    #[test]
    fn selectors() {
        let s = LabelSelector {
            match_labels: StringMap::new(),
            match_expressions: vec![SelectorRequirement {
                key: "eks.amazonaws.com/skip-pod-identity-webhook".into(),
                operator: "DoesNotExist".into(),
                values: vec![],
            }],
        };
        assert!(s.matches(&StringMap::new()));
        assert!(!s.matches(
            &[(
                "eks.amazonaws.com/skip-pod-identity-webhook".to_string(),
                "".to_string()
            )]
            .into()
        ));
    }
}
