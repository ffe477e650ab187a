//! The controller's evaluation: the same pure core as `check`, on snapshots written
//! in `collect`'s own envelope format. No second implementation: a namespace is
//! evaluated by handing the loader `kubectl get … -n NS -o json` envelopes of the
//! watched objects and the AWS envelopes `collect` would have written, then
//! `irsa_rules::check`.
//!
//! The unit of re-evaluation is the namespace: rules relate a namespace's
//! ServiceAccounts, pods and workloads to one another (a workload that runs as
//! `default` is matched to the annotated ServiceAccount meant for it, IRSA401), never
//! across namespaces. A change re-evaluates its namespace's chains; the findings
//! about cluster-scoped subjects (the cluster, OIDC providers, roles, the webhook, the
//! inputs) come from one cluster-level evaluation over every ServiceAccount, which a
//! pod change does not need. `tests/partition.rs` proves that the union equals one
//! `check` over the whole cluster.

use irsa_model::{ContextFlags, Loader};
use irsa_rules::{Report, Scope};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// A namespaced kind the controller watches, as `collect` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Watched {
    /// ServiceAccounts.
    ServiceAccount,
    /// Pods.
    Pod,
    /// Deployments.
    Deployment,
    /// DaemonSets.
    DaemonSet,
    /// StatefulSets.
    StatefulSet,
    /// ReplicaSets.
    ReplicaSet,
    /// Jobs.
    Job,
    /// CronJobs.
    CronJob,
}

impl Watched {
    /// Every namespaced kind, in `collect`'s order.
    pub const ALL: [Watched; 8] = [
        Watched::ServiceAccount,
        Watched::Pod,
        Watched::Deployment,
        Watched::DaemonSet,
        Watched::StatefulSet,
        Watched::ReplicaSet,
        Watched::Job,
        Watched::CronJob,
    ];

    /// The plural resource name.
    pub fn resource(self) -> &'static str {
        match self {
            Watched::ServiceAccount => "serviceaccounts",
            Watched::Pod => "pods",
            Watched::Deployment => "deployments",
            Watched::DaemonSet => "daemonsets",
            Watched::StatefulSet => "statefulsets",
            Watched::ReplicaSet => "replicasets",
            Watched::Job => "jobs",
            Watched::CronJob => "cronjobs",
        }
    }

    /// The kind.
    pub fn kind(self) -> &'static str {
        match self {
            Watched::ServiceAccount => "ServiceAccount",
            Watched::Pod => "Pod",
            Watched::Deployment => "Deployment",
            Watched::DaemonSet => "DaemonSet",
            Watched::StatefulSet => "StatefulSet",
            Watched::ReplicaSet => "ReplicaSet",
            Watched::Job => "Job",
            Watched::CronJob => "CronJob",
        }
    }

    /// The `apiVersion` of its list.
    pub fn api_version(self) -> &'static str {
        match self {
            Watched::ServiceAccount | Watched::Pod => "v1",
            Watched::Job | Watched::CronJob => "batch/v1",
            _ => "apps/v1",
        }
    }
}

/// Appends one `{"command", "output": {…List}}` envelope to the loader, the items'
/// JSON written straight into the text.
fn add_list<'i>(
    loader: &mut Loader,
    file: &str,
    command: &str,
    api_version: &str,
    list_kind: &str,
    items: impl IntoIterator<Item = &'i String>,
) {
    let mut text = String::with_capacity(4096);
    let _ = write!(
        text,
        "{{\"command\":{},\"output\":{{\"apiVersion\":\"{api_version}\",\"kind\":\"{list_kind}\",\"metadata\":{{\"resourceVersion\":\"\"}},\"items\":[",
        Value::String(command.to_string())
    );
    let mut first = true;
    for it in items {
        if !first {
            text.push(',');
        }
        first = false;
        text.push_str(it);
    }
    text.push_str("]}}");
    loader.add_text(file, &text);
}

fn add_listed(
    loader: &mut Loader,
    kind: Watched,
    command: &str,
    listed: &Result<Vec<String>, String>,
) {
    let file = format!("kubectl-get-{}.json", kind.resource());
    match listed {
        Ok(items) => add_list(
            loader,
            &file,
            command,
            kind.api_version(),
            &format!("{}List", kind.kind()),
            items,
        ),
        Err(e) => add_file(loader, &file, &irsa_collect::envelope_error(command, e)),
    }
}

fn add_file(loader: &mut Loader, name: &str, v: &Value) {
    loader.add_text(name, &v.to_string());
}

/// Kubernetes objects by kind, each as the API's JSON text; or why the kind could not
/// be listed (the loader then records the failure, and the rules say "not checked").
pub type Objects = BTreeMap<Watched, Result<Vec<String>, String>>;

/// The AWS side as `collect` writes it: read once per refresh, shared by every
/// evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AwsFiles {
    /// Caller, cluster, OIDC providers, EKS Pod Identity associations (listed and
    /// described) and the agent's add-on.
    pub cluster: Vec<(String, Value)>,
    /// Each role's files (GetRole, attached and inline policy lists, the inline
    /// policies' documents), by the role ARN as ServiceAccounts annotate it.
    pub roles: BTreeMap<String, Vec<(String, Value)>>,
    /// Each managed policy's files (GetPolicy, GetPolicyVersion), by its ARN.
    pub policies: BTreeMap<String, Vec<(String, Value)>>,
    /// The roles (and target roles) of each namespace's EKS Pod Identity associations.
    pub association_roles: BTreeMap<String, BTreeSet<String>>,
    /// The namespaces each role's trust policy names in its `:sub` conditions (`"*"`:
    /// a pattern whose namespace part is not literal).
    pub trusted_namespaces: BTreeMap<String, BTreeSet<String>>,
    /// The node roles (managed node groups' `nodeRole`, EKS Auto Mode's
    /// `computeConfig.nodeRoleArn`): the eks-pod-identity-agent on any node calls EKS
    /// Auth with its node's role, so every namespace's evaluation reads them.
    pub node_roles: BTreeSet<String>,
}

/// What every evaluation reads besides a namespace's objects.
#[derive(Debug, Clone, Default)]
pub struct Shared {
    /// `kubectl get mutatingwebhookconfigurations -o json` (envelope, or its failure).
    pub webhooks: Option<(String, Value)>,
    /// `kubectl version -o json`.
    pub version: Option<(String, Value)>,
    /// The AWS side.
    pub aws: std::sync::Arc<AwsFiles>,
    /// Command-line facts (`--issuer`, `--region`, ...).
    pub flags: ContextFlags,
    /// `kubectl get nodes -o json`: the nodes (or why not listed; `None`: not watched).
    pub nodes: Option<Result<Vec<String>, String>>,
    /// The EKS Pod Identity agent's namespaces' DaemonSets and pods (`kube-system`, and
    /// any other the agent runs in): kind, namespace, objects.
    pub agent: Vec<(Watched, String, Result<Vec<String>, String>)>,
}

/// The role ARNs of `eks.amazonaws.com/role-arn` annotations, normalized.
pub fn annotated_role(annotations: Option<&BTreeMap<String, String>>) -> Option<String> {
    annotations?
        .get(irsa_rules::context::ROLE_ANNOTATION)
        .and_then(|a| irsa_policy::RoleArn::parse(a.trim()).ok())
        .map(|r| r.to_string())
}

impl Shared {
    /// The roles a namespace's evaluation needs: those its ServiceAccounts name, and
    /// those whose trust policy names one of its ServiceAccounts (candidates the rules
    /// suggest), as one `check` over the cluster would have read them.
    pub fn roles_for(&self, namespace: &str, annotated: &BTreeSet<String>) -> BTreeSet<String> {
        let aws = &self.aws;
        let mut out: BTreeSet<String> = annotated
            .iter()
            .chain(aws.association_roles.get(namespace).into_iter().flatten())
            .chain(aws.node_roles.iter())
            .filter(|r| aws.roles.contains_key(*r))
            .cloned()
            .collect();
        for (role, namespaces) in &aws.trusted_namespaces {
            if namespaces.contains(namespace) || namespaces.contains("*") {
                out.insert(role.clone());
            }
        }
        out
    }
}

impl AwsFiles {
    /// Replaces the cluster side, and indexes the roles its Pod Identity associations
    /// name by namespace, and the node roles.
    pub fn set_cluster(&mut self, cluster: Vec<(String, Value)>) {
        self.association_roles.clear();
        self.node_roles.clear();
        for (_, v) in &cluster {
            let role = v
                .pointer("/output/nodegroup/nodeRole")
                .or(v.pointer("/output/cluster/computeConfig/nodeRoleArn"))
                .and_then(Value::as_str)
                .and_then(|r| irsa_policy::RoleArn::parse(r).ok());
            if let Some(r) = role {
                self.node_roles.insert(r.to_string());
            }
        }
        for (name, v) in &cluster {
            if !name.starts_with("eks-describe-pod-identity-association-") {
                continue;
            }
            let Some(a) = v.pointer("/output/association") else {
                continue;
            };
            let Some(ns) = a.get("namespace").and_then(Value::as_str) else {
                continue;
            };
            for key in ["roleArn", "targetRoleArn"] {
                if let Some(r) = a
                    .get(key)
                    .and_then(Value::as_str)
                    .and_then(|r| irsa_policy::RoleArn::parse(r).ok())
                {
                    self.association_roles
                        .entry(ns.to_string())
                        .or_default()
                        .insert(r.to_string());
                }
            }
        }
        self.cluster = cluster;
    }

    /// The managed policies the roles name (attached, or boundaries).
    pub fn managed_policies(&self) -> BTreeSet<String> {
        self.roles
            .values()
            .flat_map(|files| irsa_collect::aws::wanted(files).managed)
            .collect()
    }

    /// Indexes which namespaces one role's trust policy names (through the loader,
    /// as `check` reads it).
    pub fn index_role(&mut self, role: &str, flags: &ContextFlags) {
        let Some(files) = self.roles.get(role) else {
            self.trusted_namespaces.remove(role);
            return;
        };
        let mut loader = Loader::new(flags.clone());
        for (name, v) in files {
            add_file(&mut loader, name, v);
        }
        for (name, v) in &self.cluster {
            if name.starts_with("sts-") {
                add_file(&mut loader, name, v);
            }
        }
        let snap = loader.finish();
        let mut namespaces = BTreeSet::new();
        for r in snap.roles.values() {
            let Some(Ok(doc)) = &r.trust else { continue };
            for st in &doc.statements {
                for c in &st.conditions {
                    if !c.key.to_lowercase().ends_with(":sub") {
                        continue;
                    }
                    for v in &c.values {
                        namespaces
                            .insert(namespace_of_subject(v).unwrap_or_else(|| "*".to_string()));
                    }
                }
            }
        }
        if namespaces.is_empty() {
            self.trusted_namespaces.remove(role);
        } else {
            self.trusted_namespaces.insert(role.to_string(), namespaces);
        }
    }

    /// Indexes every role.
    pub fn index_trust(&mut self, flags: &ContextFlags) {
        let roles: Vec<String> = self.roles.keys().cloned().collect();
        for r in roles {
            self.index_role(&r, flags);
        }
    }
}

/// The namespace a `system:serviceaccount:NS:NAME` value (or pattern) names, when its
/// namespace part is literal.
fn namespace_of_subject(v: &str) -> Option<String> {
    let rest = v.strip_prefix("system:serviceaccount:")?;
    let (ns, _) = rest.split_once(':')?;
    (!ns.is_empty() && !irsa_policy::glob::has_wildcards(ns)).then(|| ns.to_string())
}

fn add_aws(
    loader: &mut Loader,
    shared: &Shared,
    roles: &BTreeSet<String>,
    namespace: Option<&str>,
) {
    for (name, v) in &shared.aws.cluster {
        match (namespace, name.as_str()) {
            // Only this namespace's Pod Identity associations (the output keeps its shape).
            (Some(ns), "eks-list-pod-identity-associations.json") => {
                let mut v = v.clone();
                if let Some(list) = v
                    .pointer_mut("/output/associations")
                    .and_then(Value::as_array_mut)
                {
                    list.retain(|a| a["namespace"].as_str() == Some(ns));
                }
                add_file(loader, name, &v);
            }
            // Only this namespace's associations described.
            (Some(ns), n)
                if n.starts_with("eks-describe-pod-identity-association-")
                    && v.pointer("/output/association/namespace")
                        .and_then(Value::as_str)
                        .is_some_and(|a| a != ns) => {}
            _ => add_file(loader, name, v),
        }
    }
    let mut policies = BTreeSet::new();
    for arn in roles {
        let files = shared.aws.roles.get(arn);
        for (name, v) in files.into_iter().flatten() {
            add_file(loader, name, v);
        }
        if let Some(files) = files {
            policies.extend(irsa_collect::aws::wanted(files).managed);
        }
    }
    for arn in &policies {
        for (name, v) in shared.aws.policies.get(arn).into_iter().flatten() {
            add_file(loader, name, v);
        }
    }
}

fn add_cluster_objects(loader: &mut Loader, shared: &Shared) {
    for (name, v) in shared.webhooks.iter().chain(shared.version.iter()) {
        add_file(loader, name, v);
    }
    let command = "kubectl get nodes -o json";
    match &shared.nodes {
        Some(Ok(items)) => add_list(
            loader,
            "kubectl-get-nodes.json",
            command,
            "v1",
            "NodeList",
            items,
        ),
        Some(Err(e)) => add_file(
            loader,
            "kubectl-get-nodes.json",
            &irsa_collect::envelope_error(command, e),
        ),
        None => {}
    }
}

/// The agent's namespaces' objects, as `check -n NS` reads `kube-system` (except the
/// namespace evaluated, whose objects are there already).
fn add_agent(loader: &mut Loader, shared: &Shared, except: Option<&str>) {
    for (kind, ns, listed) in &shared.agent {
        if Some(ns.as_str()) == except {
            continue;
        }
        let command = format!("kubectl get {} -n {ns} -o json", kind.resource());
        let file = format!("kubectl-get-{}-{ns}.json", kind.resource());
        match listed {
            Ok(items) => add_list(
                loader,
                &file,
                &command,
                kind.api_version(),
                &format!("{}List", kind.kind()),
                items,
            ),
            Err(e) => add_file(loader, &file, &irsa_collect::envelope_error(&command, e)),
        }
    }
}

/// Rules whose findings about a cluster-scoped subject read namespaced objects:
/// `role-permissions` judges a role by the controller releases its pods and workloads
/// run. Those findings come from the namespace evaluations (which hold the pods), not
/// from the cluster-level one (which holds none); the controller publishes them with
/// the cluster-scoped findings. (A role shared by ServiceAccounts of several
/// namespaces gets one such finding per namespace that runs it, where one `check`
/// names the first ServiceAccount's controllers only.) `pod-identity-node-role` judges
/// the node roles under the pods that use EKS Pod Identity, and its findings and passes
/// are about the node role (or the node): a node role under pods of several namespaces
/// gets one such finding per namespace, naming that namespace's pods.
pub const NAMESPACE_FED: [&str; 2] = ["IRSA102", "IRSA608"];

/// [`NAMESPACE_FED`] rules whose passes about cluster-scoped subjects also come from the
/// namespace evaluations (the cluster-level one holds no pod, so it has none of them).
pub const NAMESPACE_FED_PASSES: [&str; 1] = ["IRSA608"];

/// Evaluates one namespace; its findings about namespaced subjects and its chains are
/// the namespace's part of a whole-cluster `check`, and its findings of the
/// [`NAMESPACE_FED`] rules about cluster-scoped subjects part of the cluster's.
pub fn namespace(
    ns: &str,
    objects: &Objects,
    annotated_roles: &BTreeSet<String>,
    shared: &Shared,
) -> Report {
    let mut loader = Loader::new(shared.flags.clone());
    for (kind, items) in objects {
        add_listed(
            &mut loader,
            *kind,
            &format!("kubectl get {} -n {ns} -o json", kind.resource()),
            items,
        );
    }
    add_cluster_objects(&mut loader, shared);
    add_agent(&mut loader, shared, Some(ns));
    add_aws(
        &mut loader,
        shared,
        &shared.roles_for(ns, annotated_roles),
        Some(ns),
    );
    let snap = loader.finish();
    let mut report = irsa_rules::check(&snap, &Scope::default(), &irsa_rules::Options::default());
    report
        .findings
        .retain(|f| match f.subject.namespace.as_deref() {
            Some(n) => n == ns,
            None => NAMESPACE_FED.contains(&f.rule),
        });
    report
        .passes
        .retain(|p| match p.subject.namespace.as_deref() {
            Some(n) => n == ns,
            None => NAMESPACE_FED_PASSES.contains(&p.rule),
        });
    report
}

/// Evaluates what is cluster-scoped: every ServiceAccount (no pod, no workload), the
/// cluster objects and the whole AWS side; its findings about cluster-scoped subjects
/// are the cluster's part of a whole-cluster `check`.
pub fn cluster(service_accounts: &Result<Vec<String>, String>, shared: &Shared) -> Report {
    let mut loader = Loader::new(shared.flags.clone());
    add_listed(
        &mut loader,
        Watched::ServiceAccount,
        "kubectl get serviceaccounts -A -o json",
        service_accounts,
    );
    add_cluster_objects(&mut loader, shared);
    add_agent(&mut loader, shared, None);
    let all: BTreeSet<String> = shared.aws.roles.keys().cloned().collect();
    add_aws(&mut loader, shared, &all, None);
    let snap = loader.finish();
    let mut report = irsa_rules::check(&snap, &Scope::default(), &irsa_rules::Options::default());
    report
        .findings
        .retain(|f| f.subject.namespace.is_none() && !NAMESPACE_FED.contains(&f.rule));
    report
        .passes
        .retain(|p| p.subject.namespace.is_none() && !NAMESPACE_FED_PASSES.contains(&p.rule));
    report.chains.clear();
    report
}

/// The reference the partition must equal: one `check` over every object of every
/// namespace and the whole AWS side, as `check` on a `collect` of the cluster.
pub fn whole(objects: &Objects, shared: &Shared) -> Report {
    let mut loader = Loader::new(shared.flags.clone());
    for (kind, items) in objects {
        add_listed(
            &mut loader,
            *kind,
            &format!("kubectl get {} -A -o json", kind.resource()),
            items,
        );
    }
    add_cluster_objects(&mut loader, shared);
    let all: BTreeSet<String> = shared.aws.roles.keys().cloned().collect();
    add_aws(&mut loader, shared, &all, None);
    irsa_rules::check(
        &loader.finish(),
        &Scope::default(),
        &irsa_rules::Options::default(),
    )
}
