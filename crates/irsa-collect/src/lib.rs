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
use std::time::Duration;

/// Every AWS action the collectors call (all read-only); docs/iam-policy.json grants
/// exactly these, and a test keeps the two in step.
pub const AWS_ACTIONS: [&str; 16] = [
    "sts:GetCallerIdentity",
    "eks:ListClusters",
    "eks:DescribeCluster",
    "eks:ListPodIdentityAssociations",
    "eks:DescribePodIdentityAssociation",
    "eks:DescribeAddon",
    "eks:ListNodegroups",
    "eks:DescribeNodegroup",
    "iam:ListOpenIDConnectProviders",
    "iam:GetOpenIDConnectProvider",
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRolePolicy",
];

/// AWS actions only the controller calls (read-only): with
/// `iam:GetAccountAuthorizationDetails` it reads every role and customer managed
/// policy of the account in a few calls per refresh instead of several per role; it
/// falls back to the per-role reads of [`AWS_ACTIONS`] when refused.
/// deploy/iam-policy.json grants these and [`AWS_ACTIONS`].
pub const CONTROLLER_AWS_ACTIONS: [&str; 1] = ["iam:GetAccountAuthorizationDetails"];

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

/// The whole run's deadline (`--deadline`): every read still unfinished when it passes
/// ends as a recorded failure naming it, so a run always ends, with gaps instead of
/// waits.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: tokio::time::Instant,
    total: Duration,
}

impl Deadline {
    /// A deadline `total` from now.
    pub fn after(total: Duration) -> Deadline {
        Deadline {
            at: tokio::time::Instant::now() + total,
            total,
        }
    }

    /// When it passes.
    pub fn at(&self) -> tokio::time::Instant {
        self.at
    }

    /// Time left (zero once passed).
    pub fn remaining(&self) -> Duration {
        self.at
            .saturating_duration_since(tokio::time::Instant::now())
    }

    /// What an unfinished read records.
    pub fn passed(&self) -> String {
        format!(
            "not finished within the run's deadline ({} s, --deadline)",
            self.total.as_secs()
        )
    }

    /// Runs `work`, or gives [`Deadline::passed`] when the deadline comes first.
    pub async fn bound<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, String>>,
    ) -> Result<T, String> {
        match tokio::time::timeout_at(self.at, work).await {
            Ok(r) => r,
            Err(_) => Err(self.passed()),
        }
    }
}

/// `N s` for messages (`timed out after 30 s (--timeout)`).
pub fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 || d.as_secs() >= 10 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Errors that stop collection (everything else becomes a recorded failure).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The kubeconfig (or in-cluster config) cannot be used.
    #[error("{0}")]
    Kubeconfig(String),
}

/// Call counters.
#[derive(Debug, Default)]
pub struct Stats {
    /// Kubernetes requests (every attempt).
    pub kubernetes: AtomicUsize,
    /// Of which retries.
    pub kubernetes_retries: AtomicUsize,
    /// AWS API calls.
    pub aws: AtomicUsize,
    /// Of which IAM.
    pub iam: AtomicUsize,
    /// Of which EKS.
    pub eks: AtomicUsize,
    /// Of which STS.
    pub sts: AtomicUsize,
    /// AWS retries (attempts beyond the first, by the SDK's standard retry mode).
    pub aws_retries: AtomicUsize,
}

impl Stats {
    /// `kubernetes: N requests; aws: M calls (iam a, eks b, sts c); retries: …`.
    pub fn summary(&self) -> String {
        let g = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        format!(
            "kubernetes: {} requests; aws: {} calls (iam {}, eks {}, sts {}); retries: kubernetes {}, aws {}",
            g(&self.kubernetes),
            g(&self.aws),
            g(&self.iam),
            g(&self.eks),
            g(&self.sts),
            g(&self.kubernetes_retries),
            g(&self.aws_retries)
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

/// The run's deadline when `--deadline` is not given.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);

/// What to collect.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Kubernetes connection.
    pub kube: kubernetes::KubeOptions,
    /// AWS connection.
    pub aws: aws::AwsOptions,
    /// Namespace in scope (all when `None`).
    pub namespace: Option<String>,
    /// The whole run's deadline ([`DEFAULT_DEADLINE`] when `None`).
    pub deadline: Option<Duration>,
}

/// The collected files (name, envelope) and the call counts.
pub struct Collection {
    /// Envelopes, named as `collect` writes them.
    pub files: Vec<(String, Value)>,
    /// Counters.
    pub stats: std::sync::Arc<Stats>,
    /// API server URL.
    pub server: Option<String>,
    /// Set when the Kubernetes API could not be used at all: not reached, or every
    /// request refused as unauthorized (401); the one line that says so.
    pub unreachable: Option<String>,
}

/// When every Kubernetes read failed the same way, and that way means the API server
/// cannot be used at all (not reached, or the credentials refused: 401), the one line
/// that says so (the first read's error, which names the server and what to do).
fn unusable(kube_files: &[(String, Value)]) -> Option<String> {
    let failures: Vec<&str> = kube_files
        .iter()
        .filter_map(|(_, v)| v.get("error").and_then(Value::as_str))
        .collect();
    if failures.is_empty() || failures.len() < kube_files.len() {
        return None;
    }
    let class = |e: &str| {
        if e.starts_with("cannot reach the Kubernetes API") {
            Some("unreachable")
        } else if e.starts_with("Unauthorized (401)") || e.starts_with("HTTP 401") {
            Some("unauthorized")
        } else {
            None
        }
    };
    let first = class(failures[0])?;
    failures
        .iter()
        .all(|e| class(e) == Some(first))
        .then(|| failures[0].to_string())
}

/// Distinct, valid role ARNs the collected pods carry in `AWS_ROLE_ARN` (what the
/// webhook injected from their ServiceAccount's annotation).
pub fn pod_roles(files: &[(String, Value)]) -> Vec<irsa_policy::RoleArn> {
    let mut roles: Vec<irsa_policy::RoleArn> = files
        .iter()
        .filter_map(|(_, v)| v.pointer("/output/items")?.as_array())
        .flatten()
        .filter_map(|pod| pod.pointer("/spec"))
        .flat_map(|spec| {
            ["containers", "initContainers"]
                .into_iter()
                .filter_map(|k| spec.get(k)?.as_array())
                .flatten()
        })
        .filter_map(|c| c.get("env")?.as_array())
        .flatten()
        .filter(|e| e.get("name").and_then(Value::as_str) == Some("AWS_ROLE_ARN"))
        .filter_map(|e| e.get("value")?.as_str())
        .filter_map(|a| irsa_policy::RoleArn::parse(a).ok())
        .collect();
    roles.sort();
    roles.dedup();
    roles
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

/// Collects the cluster and the AWS side, concurrently: the Kubernetes lists, the
/// caller and the EKS cluster side start at once; the role reads start as soon as the
/// ServiceAccounts (which name the roles; the pods when they cannot be read) and the
/// caller's account are known. Every
/// read ends by the deadline; what did not finish is recorded as such.
/// `stats` counts calls as they happen (a progress display may read it meanwhile).
pub async fn collect(
    opts: &Options,
    stats: std::sync::Arc<Stats>,
) -> Result<Collection, CollectError> {
    use futures::FutureExt;
    let deadline = Deadline::after(opts.deadline.unwrap_or(DEFAULT_DEADLINE));
    let kube = kubernetes::connect(&opts.kube, deadline).await?;
    let ns = opts.namespace.as_deref();
    let stats_ref: &Stats = &stats;
    let service_accounts = kubernetes::service_accounts(&kube, ns, stats_ref)
        .boxed()
        .shared();
    let pods = kubernetes::pods(&kube, ns, stats_ref).boxed().shared();
    let sa_for_roles = service_accounts.clone();
    let pods_for_roles = pods.clone();
    let aws_side = async {
        let aws = aws::connect(&opts.aws, Some(&kube.server), deadline).await;
        let caller = aws.caller(stats_ref).boxed().shared();
        // The roles the ServiceAccounts name; when they cannot be read, the pods'
        // AWS_ROLE_ARN does (the rules then check the chain from the pods).
        let named_roles = async {
            let (_, sa) = sa_for_roles.await;
            if sa.get("error").is_some() {
                let (_, pods) = pods_for_roles.await;
                pod_roles(&[(String::new(), pods)])
            } else {
                annotated_roles(&[(String::new(), sa)])
            }
        }
        .boxed()
        .shared();
        let (caller_for_roles, caller_for_associations) = (caller.clone(), caller.clone());
        let named_for_associations = named_roles.clone();
        let roles = async {
            let (roles, (_, account)) = futures::join!(named_roles, caller_for_roles);
            aws.roles(&opts.aws, &roles, account.as_deref(), stats_ref)
                .await
        };
        // The cluster side, then the roles the Pod Identity associations name that the
        // ServiceAccounts do not (read the same way: other accounts' roles are said
        // not read, never missing).
        let cluster = async {
            let (mut files, association_roles) = aws
                .cluster_side(&opts.aws, Some(&kube.server), stats_ref)
                .await;
            if !association_roles.is_empty() {
                let (named, (_, account)) =
                    futures::join!(named_for_associations, caller_for_associations);
                let extra: Vec<_> = association_roles
                    .into_iter()
                    .filter(|r| !named.contains(r))
                    .collect();
                files.extend(
                    aws.roles(&opts.aws, &extra, account.as_deref(), stats_ref)
                        .await,
                );
            }
            files
        };
        let ((caller_file, _), cluster, roles) = futures::join!(caller, cluster, roles);
        let mut files = vec![caller_file];
        files.extend(cluster);
        files.extend(roles);
        // The documents of the policies those roles name, once per distinct policy.
        let documents = aws
            .policy_documents(&files, opts.aws.concurrency.max(1), stats_ref)
            .await;
        files.extend(documents);
        files
    };
    let (sa, pods, rest, aws_files) = futures::join!(
        service_accounts,
        pods,
        kubernetes::collect_rest(&kube, ns, stats_ref),
        aws_side
    );
    let mut kube_files = vec![sa, pods];
    kube_files.extend(rest);
    let unreachable = unusable(&kube_files);
    let mut files = kube_files;
    files.extend(aws_files);
    Ok(Collection {
        files,
        stats,
        server: Some(kube.server),
        unreachable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_roles_are_the_distinct_valid_aws_role_arns_of_every_container() {
        let env = |v: &str| json!([{"name": "AWS_ROLE_ARN", "value": v}, {"name": "OTHER", "value": "arn:aws:iam::111122223333:role/not-this"}]);
        let pods = envelope(
            "kubectl get pods -A -o json",
            json!({"items": [
                {"spec": {"containers": [{"env": env("arn:aws:iam::111122223333:role/a")}],
                          "initContainers": [{"env": env("arn:aws:iam::111122223333:role/b")}]}},
                {"spec": {"containers": [{"env": env("arn:aws:iam::111122223333:role/a")},
                                          {"env": env("not an arn")},
                                          {"env": [{"name": "AWS_ROLE_ARN", "valueFrom": {"secretKeyRef": {"name": "x", "key": "y"}}}]}]}},
                {"spec": {"containers": [{"name": "no-env"}]}}
            ]}),
        );
        let roles: Vec<String> = pod_roles(&[("pods".into(), pods)])
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(
            roles,
            [
                "arn:aws:iam::111122223333:role/a",
                "arn:aws:iam::111122223333:role/b"
            ]
        );
        let failed = envelope_error("kubectl get pods -A -o json", "Forbidden (403): no");
        assert!(pod_roles(&[("pods".into(), failed)]).is_empty());
    }

    #[test]
    fn an_api_server_is_unusable_only_when_every_read_failed_the_same_way() {
        let f = |e: &str| {
            (
                "f".to_string(),
                envelope_error("kubectl get pods -A -o json", e),
            )
        };
        let ok = (
            "o".to_string(),
            envelope("kubectl version -o json", json!({})),
        );
        let refused = "cannot reach the Kubernetes API at https://x: connection refused";
        let expired =
            "Unauthorized (401): Unauthorized; the API server at https://x does not accept";
        assert_eq!(
            unusable(&[f(refused), f(refused)]).as_deref(),
            Some(refused)
        );
        assert_eq!(
            unusable(&[f(expired), f(expired)]).as_deref(),
            Some(expired)
        );
        assert_eq!(unusable(&[f(expired), ok.clone()]), None);
        assert_eq!(unusable(&[f(refused), f(expired)]), None);
        assert_eq!(
            unusable(&[f("Forbidden (403): no"), f("Forbidden (403): no")]),
            None
        );
        assert_eq!(unusable(&[]), None);
    }
}
