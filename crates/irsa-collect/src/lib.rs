//! Read-only collectors: the only I/O in irsa-doctor. Kubernetes through kube-rs,
//! AWS through the official aws-sdk-rust crates. Both write the very envelopes a
//! snapshot holds (`{"command": "<equivalent kubectl/aws command>", "output": …}`
//! or `{"command", "error"}`), so a live `check` and `check --snapshot` on what
//! `collect` wrote run the same loader and the same rules.
//!
//! Nothing here mutates a cluster or an account: only GET requests and
//! `Get*`/`List*`/`Describe*` calls.

#![warn(missing_docs)]

pub mod aws;
pub mod kubernetes;
pub mod probe;
pub mod redact;

use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Every AWS action the collectors call (all read-only); docs/iam-policy.json grants
/// exactly these, and a test keeps the two in step.
pub const AWS_ACTIONS: [&str; 11] = [
    "sts:GetCallerIdentity",
    "eks:ListClusters",
    "eks:DescribeCluster",
    "eks:ListPodIdentityAssociations",
    "eks:DescribePodIdentityAssociation",
    "eks:DescribeAddon",
    "iam:ListOpenIDConnectProviders",
    "iam:GetOpenIDConnectProvider",
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
];

/// Every Kubernetes resource the collectors list, as (API group, resource);
/// docs/rbac.yaml grants `get`/`list` on exactly these.
pub const KUBERNETES_RESOURCES: [(&str, &str); 10] = [
    ("", "serviceaccounts"),
    ("", "pods"),
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("apps", "statefulsets"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    ("", "nodes"),
];

/// Errors that stop collection (everything else becomes a recorded failure).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The kubeconfig (or in-cluster config) cannot be used.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
}

/// Call counters.
#[derive(Debug, Default)]
pub struct Stats {
    /// Kubernetes GET requests.
    pub kubernetes: AtomicUsize,
    /// AWS API calls.
    pub aws: AtomicUsize,
    /// Of which IAM.
    pub iam: AtomicUsize,
    /// Of which EKS.
    pub eks: AtomicUsize,
    /// Of which STS.
    pub sts: AtomicUsize,
}

impl Stats {
    /// `kubernetes: N requests; aws: M calls (iam a, eks b, sts c)`.
    pub fn summary(&self) -> String {
        let g = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        format!(
            "kubernetes: {} requests; aws: {} calls (iam {}, eks {}, sts {})",
            g(&self.kubernetes),
            g(&self.aws),
            g(&self.iam),
            g(&self.eks),
            g(&self.sts)
        )
    }
}

/// A successful output.
pub fn envelope(command: &str, output: Value) -> Value {
    json!({"command": command, "output": output})
}

/// A failed read.
pub fn envelope_error(command: &str, error: &str) -> Value {
    json!({"command": command, "error": error})
}

/// What to collect.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Kubernetes connection.
    pub kube: kubernetes::KubeOptions,
    /// AWS connection.
    pub aws: aws::AwsOptions,
    /// Namespace in scope (all when `None`).
    pub namespace: Option<String>,
}

/// The collected files (name, envelope) and the call counts.
pub struct Collection {
    /// Envelopes, named as `collect` writes them.
    pub files: Vec<(String, Value)>,
    /// Counters.
    pub stats: std::sync::Arc<Stats>,
    /// API server URL.
    pub server: Option<String>,
    /// Set when the Kubernetes API could not be reached at all.
    pub unreachable: Option<String>,
}

/// Distinct, valid role ARNs annotated on the collected ServiceAccounts.
pub fn annotated_roles(files: &[(String, Value)]) -> Vec<irsa_policy::RoleArn> {
    let mut roles: Vec<irsa_policy::RoleArn> = files
        .iter()
        .filter_map(|(_, v)| v.pointer("/output/items")?.as_array())
        .flatten()
        .filter_map(|item| {
            item.pointer("/metadata/annotations/eks.amazonaws.com~1role-arn")?
                .as_str()
        })
        .filter_map(|a| irsa_policy::RoleArn::parse(a).ok())
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

/// Collects the cluster, then the AWS side for the roles its ServiceAccounts name.
/// `stats` counts calls as they happen (a progress display may read it meanwhile).
pub async fn collect(
    opts: &Options,
    stats: std::sync::Arc<Stats>,
) -> Result<Collection, CollectError> {
    let kube = kubernetes::connect(&opts.kube).await?;
    let mut files = kubernetes::collect(&kube, opts.namespace.as_deref(), &stats).await;
    // Every request failing with a transport error means the API server is unreachable.
    let failures: Vec<&str> = files
        .iter()
        .filter_map(|(_, v)| v.get("error").and_then(Value::as_str))
        .collect();
    let unreachable = (failures.len() == files.len())
        .then(|| failures.first().map(|e| e.to_string()))
        .flatten()
        .filter(|e| !e.contains("(403)") && !e.contains("(401)"))
        .map(|e| format!("cannot reach the Kubernetes API at {}: {e}", kube.server));
    let roles = annotated_roles(&files);
    let aws = aws::connect(&opts.aws, Some(&kube.server)).await;
    files.extend(aws::collect(&aws, &opts.aws, Some(&kube.server), &roles, &stats).await);
    Ok(Collection {
        files,
        stats,
        server: Some(kube.server),
        unreachable,
    })
}
