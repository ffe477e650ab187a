//! EKS Pod Identity in the snapshot: associations (as `aws eks
//! list-pod-identity-associations` / `describe-pod-identity-association` print them), the
//! `eks-pod-identity-agent` add-on (`aws eks describe-addon`) and DaemonSet (with its
//! status and the addresses it binds), managed node groups (`aws eks
//! describe-nodegroup`: which IAM role the agent on their nodes calls EKS Auth with).
//!
//! Sources for the shapes and defaults:
//! - EKS API reference, `PodIdentityAssociation` (fields `roleArn`, `targetRoleArn`,
//!   `externalId`, `disableSessionTags`, `policy`, `ownerArn`), `Addon`, `Nodegroup`;
//! - aws/eks-pod-identity-agent v0.1.37: `configuration/config.go` (default hosts
//!   `169.254.170.23` and `fd00:ec2::23`), `cmd/server.go` (`--bind-hosts`/`-b`,
//!   `--port` 80, `--probe-port` 2703), `charts/eks-pod-identity-agent` (DaemonSet
//!   `eks-pod-identity-agent` in `kube-system` for the add-on, `hostNetwork: true`, node
//!   affinity excluding `eks.amazonaws.com/compute-type` fargate, hybrid and auto).

use crate::model::Source;
use serde::{Deserialize, Serialize};

/// The agent's default IPv4 link-local address.
pub const AGENT_IPV4: &str = "169.254.170.23";
/// The agent's default IPv6 address (written `[fd00:ec2::23]` in URLs).
pub const AGENT_IPV6: &str = "fd00:ec2::23";
/// The add-on's (and the Helm chart's) DaemonSet name.
pub const AGENT_NAME: &str = "eks-pod-identity-agent";

/// An EKS Pod Identity association.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodIdentityAssociation {
    /// Namespace.
    pub namespace: String,
    /// ServiceAccount.
    pub service_account: String,
    /// Role, when described (the list output does not carry it).
    pub role_arn: Option<String>,
    /// Cluster name.
    pub cluster: Option<String>,
    /// `associationId` (`a-…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub association_id: Option<String>,
    /// `associationArn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub association_arn: Option<String>,
    /// `targetRoleArn`: the role EKS assumes with the association role's credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_role_arn: Option<String>,
    /// `externalId`: EKS passes it as `sts:ExternalId` when it assumes the target role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// `disableSessionTags` (`None`: not printed, which older API versions did not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_session_tags: Option<bool>,
    /// `policy`: the session policy JSON as the API returns it (a string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// `ownerArn`: the add-on that manages it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_arn: Option<String>,
    /// `createdAt`, as printed (ISO 8601 from the CLI, epoch seconds from the raw API).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// `modifiedAt`, as printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<String>,
    /// Whether a describe output (which carries the role) was read.
    pub described: bool,
}

impl PodIdentityAssociation {
    /// The role the pods end up with: the target role when set, else the association's.
    pub fn effective_role(&self) -> Option<&str> {
        self.target_role_arn.as_deref().or(self.role_arn.as_deref())
    }
    /// Whether EKS adds its session tags (on unless `disableSessionTags` is true).
    pub fn session_tags(&self) -> bool {
        self.disable_session_tags != Some(true)
    }
}

/// The `eks-pod-identity-agent` EKS add-on (`aws eks describe-addon`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Addon {
    /// `addonName`.
    pub name: String,
    /// `status` (`ACTIVE`, `DEGRADED`, `CREATE_FAILED`, …).
    pub status: Option<String>,
    /// `addonVersion`.
    pub version: Option<String>,
    /// `health.issues` as `code: message`.
    pub issues: Vec<String>,
    /// `configurationValues` (JSON or YAML text).
    pub configuration: Option<String>,
}

/// The agent DaemonSet: where it runs, what it binds, how ready it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentDaemonSet {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `spec.template.spec.hostNetwork`: the agent must share the node's network to
    /// serve the link-local address pods call.
    pub host_network: bool,
    /// Hosts the server binds (`--bind-hosts`/`-b`; the agent's defaults when unset).
    pub bind_hosts: Vec<String>,
    /// Whether `bind_hosts` came from the container's arguments (else the defaults).
    pub bind_hosts_explicit: bool,
    /// Server port (`--port`/`-p`, default 80).
    pub port: u16,
    /// `status.desiredNumberScheduled`.
    pub desired: Option<i64>,
    /// `status.numberReady`.
    pub ready: Option<i64>,
    /// Source file.
    pub source: Source,
}

/// A managed node group (`aws eks describe-nodegroup`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nodegroup {
    /// `nodegroupName`.
    pub name: String,
    /// `nodeRole`: the IAM role of its nodes (the agent calls EKS Auth with it).
    pub node_role: Option<String>,
    /// `amiType` (`AL2023_x86_64_STANDARD`, `WINDOWS_CORE_2022_x86_64`, …).
    pub ami_type: Option<String>,
}

/// Everything about Pod Identity besides the associations.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PodIdentityFacts {
    /// The add-on, when described.
    pub addon: Option<Addon>,
    /// `describe-addon` answered that the add-on is not installed (the recorded error).
    pub addon_absent: Option<String>,
    /// The agent DaemonSet(s) seen.
    pub agents: Vec<AgentDaemonSet>,
    /// Managed node groups described.
    pub nodegroups: Vec<Nodegroup>,
    /// Whether `list-nodegroups` was read (so a node group absent from it is absent).
    pub nodegroups_listed: bool,
    /// The node group names `list-nodegroups` printed.
    pub nodegroup_names: Vec<String>,
}

impl PodIdentityFacts {
    /// The agent DaemonSet, if seen.
    pub fn agent(&self) -> Option<&AgentDaemonSet> {
        self.agents.first()
    }
    /// A node group by name.
    pub fn nodegroup(&self, name: &str) -> Option<&Nodegroup> {
        self.nodegroups.iter().find(|n| n.name == name)
    }
}

// ---- raw shapes ------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawAssociation {
    pub cluster_name: Option<String>,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: Option<String>,
    pub association_arn: Option<String>,
    pub association_id: Option<String>,
    pub target_role_arn: Option<String>,
    pub external_id: Option<String>,
    pub disable_session_tags: Option<bool>,
    pub policy: Option<String>,
    pub owner_arn: Option<String>,
    pub created_at: Option<serde_json::Value>,
    pub modified_at: Option<serde_json::Value>,
}

#[derive(Deserialize)]
pub(crate) struct ListAssociations {
    pub associations: Vec<RawAssociation>,
}

#[derive(Deserialize)]
pub(crate) struct DescribeAssociation {
    pub association: RawAssociation,
}

#[derive(Deserialize)]
pub(crate) struct DescribeAddon {
    pub addon: RawAddon,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawAddon {
    pub addon_name: Option<String>,
    pub status: Option<String>,
    pub addon_version: Option<String>,
    pub health: Option<RawHealth>,
    pub configuration_values: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct RawHealth {
    pub issues: Option<Vec<RawIssue>>,
}

#[derive(Deserialize)]
pub(crate) struct RawIssue {
    pub code: Option<String>,
    pub message: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct DescribeNodegroup {
    pub nodegroup: RawNodegroup,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawNodegroup {
    pub nodegroup_name: Option<String>,
    pub node_role: Option<String>,
    pub ami_type: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ListNodegroups {
    pub nodegroups: Vec<String>,
}

#[derive(Deserialize)]
pub(crate) struct RawDaemonSet {
    #[serde(default)]
    pub metadata: crate::raw::Meta,
    pub spec: Option<RawDaemonSetSpec>,
    pub status: Option<RawDaemonSetStatus>,
}

#[derive(Deserialize)]
pub(crate) struct RawDaemonSetSpec {
    pub template: Option<RawTemplate>,
}

#[derive(Deserialize)]
pub(crate) struct RawTemplate {
    pub spec: Option<RawAgentPodSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawAgentPodSpec {
    pub host_network: Option<bool>,
    pub containers: Option<Vec<RawAgentContainer>>,
}

#[derive(Deserialize)]
pub(crate) struct RawAgentContainer {
    pub name: String,
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawDaemonSetStatus {
    pub desired_number_scheduled: Option<i64>,
    pub number_ready: Option<i64>,
}

fn timestamp(v: Option<serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl RawAssociation {
    pub(crate) fn into_model(self, described: bool) -> PodIdentityAssociation {
        PodIdentityAssociation {
            namespace: self.namespace,
            service_account: self.service_account,
            role_arn: self.role_arn.filter(|r| !r.is_empty()),
            cluster: self.cluster_name,
            association_id: self.association_id,
            association_arn: self.association_arn,
            target_role_arn: self.target_role_arn.filter(|r| !r.is_empty()),
            external_id: self.external_id.filter(|r| !r.is_empty()),
            disable_session_tags: self.disable_session_tags,
            policy: self.policy.filter(|p| !p.trim().is_empty()),
            owner_arn: self.owner_arn,
            created_at: timestamp(self.created_at),
            modified_at: timestamp(self.modified_at),
            described,
        }
    }
}

impl RawAddon {
    pub(crate) fn into_model(self) -> Addon {
        Addon {
            name: self.addon_name.unwrap_or_default(),
            status: self.status,
            version: self.addon_version,
            issues: self
                .health
                .and_then(|h| h.issues)
                .unwrap_or_default()
                .into_iter()
                .map(|i| {
                    format!(
                        "{}: {}",
                        i.code.unwrap_or_default(),
                        i.message.unwrap_or_default()
                    )
                })
                .collect(),
            configuration: self.configuration_values.filter(|c| !c.trim().is_empty()),
        }
    }
}

impl RawNodegroup {
    pub(crate) fn into_model(self, fallback_name: Option<String>) -> Nodegroup {
        Nodegroup {
            name: self.nodegroup_name.or(fallback_name).unwrap_or_default(),
            node_role: self.node_role,
            ami_type: self.ami_type,
        }
    }
}

/// Whether a DaemonSet is the Pod Identity agent: the add-on's name, or the Helm
/// chart's `app.kubernetes.io/name` label (the chart names it after the release).
pub(crate) fn is_agent(meta: &crate::raw::Meta) -> bool {
    is_agent_named(
        meta.name.as_deref(),
        meta.labels.as_ref().and_then(|l| l.get_str(NAME_LABEL)),
    )
}

/// The Helm chart's label naming the application.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";

/// [`is_agent`] from a name and the [`NAME_LABEL`] label's value (the controller picks
/// the agent's objects with it); also true of the agent's pods, which carry the
/// chart's label.
pub fn is_agent_named(name: Option<&str>, name_label: Option<&str>) -> bool {
    name == Some(AGENT_NAME) || name_label.is_some_and(|v| v.starts_with(AGENT_NAME))
}

/// The hosts the agent's `server` binds and its port, from the container's command
/// and arguments (`--bind-hosts`/`-b`, repeatable; `--port`/`-p`).
pub fn bind_hosts(words: &[String]) -> (Vec<String>, bool, u16) {
    let mut hosts = Vec::new();
    let mut port = 80u16;
    let mut it = words.iter().peekable();
    while let Some(w) = it.next() {
        let (flag, inline) = match w.split_once('=') {
            Some((f, v)) if w.starts_with('-') => (f, Some(v.to_string())),
            _ => (w.as_str(), None),
        };
        match flag {
            "-b" | "--bind-hosts" => {
                if let Some(v) = inline.or_else(|| it.next().cloned()) {
                    hosts.extend(
                        v.split(',')
                            .map(|h| h.trim().to_string())
                            .filter(|h| !h.is_empty()),
                    );
                }
            }
            "-p" | "--port" => {
                if let Some(p) = inline
                    .or_else(|| it.next().cloned())
                    .and_then(|v| v.parse().ok())
                {
                    port = p;
                }
            }
            _ => {}
        }
    }
    if hosts.is_empty() {
        (
            vec![AGENT_IPV4.to_string(), format!("[{AGENT_IPV6}]")],
            false,
            port,
        )
    } else {
        (hosts, true, port)
    }
}

impl RawDaemonSet {
    pub(crate) fn into_agent(self, source: Source) -> AgentDaemonSet {
        let spec = self.spec.and_then(|s| s.template).and_then(|t| t.spec);
        let host_network = spec.as_ref().and_then(|s| s.host_network).unwrap_or(false);
        let container = spec
            .and_then(|s| s.containers)
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.name.starts_with(AGENT_NAME));
        let words: Vec<String> = container
            .map(|c| {
                c.command
                    .unwrap_or_default()
                    .into_iter()
                    .chain(c.args.unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default();
        let (bind_hosts, explicit, port) = bind_hosts(&words);
        let status = self.status;
        AgentDaemonSet {
            namespace: self
                .metadata
                .namespace
                .as_ref()
                .map_or_else(|| "default".into(), |n| n.0.to_string()),
            name: self.metadata.name.clone().unwrap_or_default(),
            host_network,
            bind_hosts,
            bind_hosts_explicit: explicit,
            port,
            desired: status.as_ref().and_then(|s| s.desired_number_scheduled),
            ready: status.as_ref().and_then(|s| s.number_ready),
            source,
        }
    }
}

/// Records an association, merging a list row with a describe output of the same
/// namespace/ServiceAccount (the described one carries the role and wins; two
/// associations for one ServiceAccount cannot exist: EKS refuses the second with
/// `ResourceInUseException`, <https://docs.aws.amazon.com/eks/latest/APIReference/API_CreatePodIdentityAssociation.html>).
/// `index` holds the associations' positions by namespace/ServiceAccount (a list of
/// thousands was merged by a scan per row).
pub(crate) fn add_association(
    snap: &mut crate::model::Snapshot,
    index: &mut crate::keys::Positions,
    entry: PodIdentityAssociation,
) {
    let all = &mut snap.pod_identity;
    let key_at = |j: usize| (all[j].namespace.as_str(), all[j].service_account.as_str());
    let found = index.find(
        (entry.namespace.as_str(), entry.service_account.as_str()),
        key_at,
    );
    match found.map(|i| &mut all[i]) {
        Some(existing) => {
            if entry.described || !existing.described {
                let keep_id = existing.association_id.clone();
                *existing = entry;
                if existing.association_id.is_none() {
                    existing.association_id = keep_id;
                }
            }
        }
        None => {
            let i = all.len();
            all.push(entry);
            let key_at = |j: usize| (all[j].namespace.as_str(), all[j].service_account.as_str());
            index.insert(key_at(i), i, key_at);
        }
    }
}

/// Records the agent DaemonSet when `text` is one (any other DaemonSet is ignored here;
/// the loader records it as a workload either way).
pub(crate) fn observe_daemonset(snap: &mut crate::model::Snapshot, text: &str, source: &Source) {
    let Ok(ds) = serde_json::from_str::<RawDaemonSet>(text) else {
        return; // the workload parse reports the error
    };
    if !is_agent(&ds.metadata) {
        return;
    }
    let agent = ds.into_agent(source.clone());
    let agents = &mut snap.pod_identity_facts.agents;
    agents.retain(|a| !(a.namespace == agent.namespace && a.name == agent.name));
    agents.push(agent);
}

/// Stable order once everything is loaded; a recorded `describe-addon` answer of
/// `ResourceNotFoundException` for the agent proves the add-on is not installed
/// (https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeAddon.html, Errors).
pub(crate) fn finish(snap: &mut crate::model::Snapshot) {
    if snap.pod_identity_facts.addon.is_none() {
        let absent = snap.inputs.collection_failures.iter().find(|f| {
            f.command.contains("describe-addon")
                && f.command.contains(AGENT_NAME)
                && f.error.contains("ResourceNotFoundException")
        });
        snap.pod_identity_facts.addon_absent = absent.map(|f| f.error.clone());
    }
    snap.pod_identity.sort_by(|a, b| {
        (&a.namespace, &a.service_account).cmp(&(&b.namespace, &b.service_account))
    });
    let f = &mut snap.pod_identity_facts;
    f.agents
        .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    f.nodegroups.sort_by(|a, b| a.name.cmp(&b.name));
}

/// Normalises a host for comparison: no brackets, lower case.
pub fn normalise_host(h: &str) -> String {
    h.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// The host of an `http://host[:port]/path` URL (`[v6]` kept in brackets).
pub fn url_host(url: &str) -> Option<(String, Option<u16>)> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if let Some(end) = authority.find(']') {
        let host = authority[..=end].to_string();
        let port = authority[end + 1..]
            .strip_prefix(':')
            .and_then(|p| p.parse().ok());
        return Some((host, port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => {
            Some((h.to_string(), p.parse().ok()))
        }
        _ => Some((authority.to_string(), None)),
    }
}

/// Seconds since the epoch of an API timestamp: RFC 3339 / ISO 8601 as the CLI
/// prints it (`2024-04-15T21:11:11Z`, `2023-11-24T22:25:34.922000+00:00`), or epoch
/// seconds as the raw API returns them (`1700862734.922`).
pub fn epoch_seconds(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(f) = t.parse::<f64>() {
        return f.is_finite().then_some(f as i64);
    }
    let b = t.as_bytes();
    // ASCII only: every slice below is then on a character boundary.
    if !t.is_ascii()
        || b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
    {
        return None;
    }
    let num = |s: &str| s.parse::<i64>().ok();
    let (y, mo, d) = (num(&t[0..4])?, num(&t[5..7])?, num(&t[8..10])?);
    let (h, mi, s) = (num(&t[11..13])?, num(&t[14..16])?, num(&t[17..19])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &t[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        r if (r.starts_with('+') || r.starts_with('-')) && r.len() == 6 => {
            let sign = if r.starts_with('-') { -1 } else { 1 };
            sign * (num(&r[1..3])? * 3600 + num(&r[4..6])? * 60)
        }
        _ => return None,
    };
    // Days from civil (proleptic Gregorian), Howard Hinnant's algorithm.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s - offset)
}

/// Labels EKS and Kubernetes put on nodes that matter to Pod Identity.
pub mod node_labels {
    /// `kubernetes.io/os` (`linux`, `windows`).
    pub const OS: &str = "kubernetes.io/os";
    /// `eks.amazonaws.com/compute-type` (`fargate`, `auto`, `hybrid`; absent on EC2).
    pub const COMPUTE_TYPE: &str = "eks.amazonaws.com/compute-type";
    /// `eks.amazonaws.com/nodegroup`: the managed node group of the node.
    pub const NODEGROUP: &str = "eks.amazonaws.com/nodegroup";
}

/// The compute a node is (from its labels, its OS and its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compute {
    /// A Linux EC2 instance (where Pod Identity runs).
    LinuxEc2,
    /// AWS Fargate.
    Fargate,
    /// A Windows node.
    Windows,
    /// EKS Auto Mode (Pod Identity built in, no agent to install).
    Auto,
    /// EKS Hybrid Nodes (the agent runs differently there [UNV]).
    Hybrid,
}

/// What kind of compute a node is.
pub fn compute_of(labels: &crate::StringMap, os: Option<&str>, name: &str) -> Compute {
    match labels.get_str(node_labels::COMPUTE_TYPE) {
        Some("fargate") => return Compute::Fargate,
        Some("auto") => return Compute::Auto,
        Some("hybrid") => return Compute::Hybrid,
        _ => {}
    }
    // Fargate nodes are named `fargate-ip-…` [OBS kubectl get nodes on Fargate].
    if name.starts_with("fargate-") {
        return Compute::Fargate;
    }
    let os = labels
        .get_str(node_labels::OS)
        .or(labels.get_str("beta.kubernetes.io/os"))
        .or(os);
    if os.is_some_and(|o| o.eq_ignore_ascii_case("windows")) {
        return Compute::Windows;
    }
    Compute::LinuxEc2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(epoch_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch_seconds("2024-04-15T21:11:11Z"), Some(1_713_215_471));
        assert_eq!(
            epoch_seconds("2023-11-24T22:52:14.922000+00:00"),
            Some(1_700_866_334)
        );
        assert_eq!(
            epoch_seconds("2023-11-24T23:52:14+01:00"),
            Some(1_700_866_334)
        );
        assert_eq!(epoch_seconds("1700862734.922"), Some(1_700_862_734));
        assert_eq!(epoch_seconds("yesterday"), None);
        assert_eq!(epoch_seconds("2024-13-01T00:00:00Z"), None);
        assert_eq!(epoch_seconds("2024-01-01T00:00:00"), Some(1_704_067_200));
        assert_eq!(epoch_seconds("2024-01-01T00:00:00+é1:00"), None);
        assert_eq!(epoch_seconds("20é4-01-01T00:00:00Z"), None);
    }

    #[test]
    fn agent_arguments() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (h, explicit, port) = bind_hosts(&w(&[
            "/go-runner",
            "/eks-pod-identity-agent",
            "server",
            "--port",
            "80",
            "--cluster-name",
            "c",
        ]));
        assert_eq!(h, vec!["169.254.170.23", "[fd00:ec2::23]"]);
        assert!(!explicit);
        assert_eq!(port, 80);
        let (h, explicit, _) = bind_hosts(&w(&["server", "-b", "169.254.170.23"]));
        assert_eq!(h, vec!["169.254.170.23"]);
        assert!(explicit);
        let (h, _, port) = bind_hosts(&w(&[
            "--bind-hosts=169.254.170.23,[fd00:ec2::23]",
            "-p=8080",
        ]));
        assert_eq!(h.len(), 2);
        assert_eq!(port, 8080);
    }

    #[test]
    fn hosts_of_urls() {
        assert_eq!(
            url_host("http://169.254.170.23/v1/credentials"),
            Some(("169.254.170.23".into(), None))
        );
        assert_eq!(
            url_host("http://[fd00:ec2::23]:80/v1/credentials"),
            Some(("[fd00:ec2::23]".into(), Some(80)))
        );
        assert_eq!(
            url_host("http://user:pw@proxy.corp:3128"),
            Some(("proxy.corp".into(), Some(3128)))
        );
        assert_eq!(normalise_host("[FD00:EC2::23]"), "fd00:ec2::23");
    }

    #[test]
    fn compute() {
        let l = |k: &str, v: &str| crate::StringMap::from([(k.to_string(), v.to_string())]);
        assert_eq!(
            compute_of(&l(node_labels::COMPUTE_TYPE, "fargate"), None, "x"),
            Compute::Fargate
        );
        assert_eq!(
            compute_of(
                &crate::StringMap::new(),
                None,
                "fargate-ip-10-0-1-2.ec2.internal"
            ),
            Compute::Fargate
        );
        assert_eq!(
            compute_of(&l(node_labels::OS, "windows"), None, "ip-1"),
            Compute::Windows
        );
        assert_eq!(
            compute_of(&crate::StringMap::new(), Some("windows"), "ip-1"),
            Compute::Windows
        );
        assert_eq!(
            compute_of(&l(node_labels::OS, "linux"), None, "ip-1"),
            Compute::LinuxEc2
        );
        assert_eq!(
            compute_of(&l(node_labels::COMPUTE_TYPE, "auto"), None, "i-0"),
            Compute::Auto
        );
    }
}
