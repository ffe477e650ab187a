//! What the inputs declare, before it becomes a [`Snapshot`]: Kubernetes objects,
//! IAM roles, OIDC providers, clusters and Pod Identity associations, each with
//! where it was written.
//!
//! The snapshot is built through the very loader `check` uses: every declared AWS
//! object is handed to it in the shape of the AWS CLI output that describes it
//! (`aws iam get-role`, `aws iam get-open-id-connect-provider`, `aws eks
//! describe-cluster`, `aws eks describe-pod-identity-association`), and every
//! Kubernetes object as `kubectl get -o json` prints it. So the rules read exactly
//! what they read in `check`, and nothing here re-implements a rule.

use crate::node::{Node, Pos};
use irsa_model::{ContextFlags, Loader, Snapshot};
use irsa_policy::{OidcProviderArn, Partition, PolicyDocument};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Where something was written: a file and a node of it.
#[derive(Debug, Clone)]
pub struct Anchor {
    /// File path as given.
    pub path: Arc<str>,
    /// The node (positions are the file's).
    pub node: Node,
}

impl Anchor {
    /// An anchor.
    pub fn new(path: &Arc<str>, node: &Node) -> Anchor {
        Anchor {
            path: path.clone(),
            node: node.clone(),
        }
    }
}

/// Something the inputs leave open, so what depends on it is not checked.
#[derive(Debug, Clone)]
pub struct Gap {
    /// File.
    pub path: Arc<str>,
    /// Where.
    pub pos: Pos,
    /// What it is about (`Role app`, `Cluster prod`).
    pub subject: irsa_rules::Subject,
    /// Why it is not checked, and what would settle it.
    pub why: String,
    /// Context rather than a gap: nothing is left unchecked by it.
    pub info: bool,
}

/// An IAM role declared by an input.
#[derive(Debug, Clone)]
pub struct DeclaredRole {
    /// Role name (known: a role without a known name is a gap).
    pub name: String,
    /// The name stands for one the deploy generates (a CloudFormation role without
    /// `RoleName`, named by its logical id here): no command can name the real role.
    pub generated: bool,
    /// Role path (`/` by default).
    pub path: String,
    /// ARN when the input states it.
    pub arn: Option<String>,
    /// The trust policy as a JSON value, with the node it came from (file positions).
    pub trust: Option<(Value, Node)>,
    /// Managed policies attached by the same input.
    pub attached: Vec<String>,
    /// Inline policy names.
    pub inline: Vec<String>,
    /// The resource.
    pub at: Anchor,
}

/// An IAM OIDC provider declared by an input.
#[derive(Debug, Clone)]
pub struct DeclaredProvider {
    /// URL (with or without `https://`).
    pub url: String,
    /// ARN when stated.
    pub arn: Option<String>,
    /// ClientIDList.
    pub client_ids: Vec<String>,
    /// ThumbprintList.
    pub thumbprints: Vec<String>,
    /// The resource.
    pub at: Anchor,
}

/// An EKS cluster declared by an input.
#[derive(Debug, Clone)]
pub struct DeclaredCluster {
    /// Name.
    pub name: String,
    /// ARN when stated.
    pub arn: Option<String>,
    /// Region when stated.
    pub region: Option<String>,
    /// Kubernetes version.
    pub version: Option<String>,
    /// OIDC issuer when known before deploy.
    pub issuer: Option<String>,
    /// The resource.
    pub at: Anchor,
}

/// An EKS Pod Identity association declared by an input.
#[derive(Debug, Clone)]
pub struct DeclaredAssociation {
    /// Cluster name.
    pub cluster: Option<String>,
    /// Namespace.
    pub namespace: String,
    /// ServiceAccount.
    pub service_account: String,
    /// Role ARN when known.
    pub role_arn: Option<String>,
    /// The resource.
    pub at: Anchor,
}

/// The `eks-pod-identity-agent` EKS add-on declared by an input (Terraform
/// `aws_eks_addon`, CloudFormation `AWS::EKS::Addon`, eksctl `addons`): EKS installs
/// the agent's DaemonSet from it (EKS user guide, "Set up the Amazon EKS Pod Identity
/// Agent", https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html).
#[derive(Debug, Clone)]
pub struct DeclaredAddon {
    /// The cluster it is for, when the input decides it before deploy.
    pub cluster: Option<String>,
    /// Not an add-on: the cluster runs EKS Auto Mode, which has the agent built in
    /// ("You do not need to install the EKS Pod Identity Agent on EKS Auto Mode
    /// Clusters", pod-id-agent-setup above).
    pub auto_mode: bool,
    /// The resource (its add-on name, or the setting that enables Auto Mode).
    pub at: Anchor,
}

/// How many documents of each kind were read.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq, Eq)]
pub struct Recognised {
    /// Kubernetes objects about IRSA (ServiceAccounts, workloads, pods, webhooks).
    pub kubernetes: usize,
    /// Kubernetes objects of other kinds (ConfigMaps, Services, …), not needed.
    pub kubernetes_other: usize,
    /// Terraform plans.
    pub terraform: usize,
    /// CloudFormation templates.
    pub cloudformation: usize,
    /// eksctl ClusterConfigs.
    pub eksctl: usize,
    /// Documents of no kind lint reads (not counted as errors).
    pub other: usize,
}

/// A Kubernetes object as `kubectl get -o json` prints it, and where it was written.
#[derive(Debug, Clone)]
pub struct DeclaredObject {
    /// Kind.
    pub kind: String,
    /// Namespace (after defaulting).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The object.
    pub json: Value,
    /// Where (the object's node; for objects rendered by a tool from values, the value).
    pub at: Anchor,
    /// Declared by the trust policy of this role (not by any input): a ServiceAccount
    /// the policy names, so the policy is checked against the subject it was written for.
    pub implied_by: Option<String>,
}

/// What an eksctl ClusterConfig says of the cluster's IAM OIDC provider
/// (`iam.withOIDC`, which eksctl defaults to disabled).
#[derive(Debug, Clone)]
pub struct EksctlOidc {
    /// Cluster name.
    pub cluster: String,
    /// `iam.withOIDC: true`.
    pub enabled: bool,
    /// `iam.withOIDC` as written (`false`), if written.
    pub written: Option<String>,
    /// How many `iam.serviceAccounts` it declares.
    pub service_accounts: usize,
    /// Where: the `withOIDC` value, else `iam`, else the cluster's name.
    pub at: Anchor,
}

/// Everything the inputs declare.
#[derive(Debug, Default)]
pub struct Declared {
    /// eksctl ClusterConfigs' OIDC provider settings.
    pub eksctl_oidc: Vec<EksctlOidc>,
    /// Kubernetes objects.
    pub objects: Vec<DeclaredObject>,
    /// Roles.
    pub roles: Vec<DeclaredRole>,
    /// Providers.
    pub providers: Vec<DeclaredProvider>,
    /// Clusters.
    pub clusters: Vec<DeclaredCluster>,
    /// Pod Identity associations.
    pub associations: Vec<DeclaredAssociation>,
    /// `eks-pod-identity-agent` add-ons.
    pub agent_addons: Vec<DeclaredAddon>,
    /// Accounts the inputs name as their own (Terraform's `aws_caller_identity`).
    pub accounts: BTreeSet<String>,
    /// Regions the inputs name (eksctl `metadata.region`, Terraform cluster ARNs).
    pub regions: BTreeSet<String>,
    /// Kubernetes versions the inputs name.
    pub versions: BTreeSet<String>,
    /// What is not checked, and why.
    pub gaps: Vec<Gap>,
    /// Documents read, by kind.
    pub recognised: Recognised,
    /// Namespace of manifests that name none (`kubectl apply -n`).
    pub default_namespace: String,
    /// `--account`: the account of `AWS::AccountId` and of roles whose ARN is not stated.
    pub account: Option<String>,
    /// `--region`: `AWS::Region`, and the partition.
    pub region: Option<String>,
    /// `--issuer`: the cluster's issuer when no input states it.
    pub issuer: Option<String>,
}

/// The Kubernetes kinds the snapshot loader reads; others are counted and left out.
pub const IRSA_KINDS: &[&str] = &[
    "ServiceAccount",
    "Pod",
    "Deployment",
    "DaemonSet",
    "StatefulSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "MutatingWebhookConfiguration",
    "Namespace",
];

impl Declared {
    /// Records a Kubernetes object (`json` as kubectl prints it).
    pub fn object(&mut self, json: Value, at: Anchor) {
        let Some(kind) = json.get("kind").and_then(Value::as_str).map(str::to_string) else {
            return;
        };
        if !IRSA_KINDS.contains(&kind.as_str()) {
            self.recognised.kubernetes_other += 1;
            return;
        }
        self.recognised.kubernetes += 1;
        let mut json = json;
        let meta = json.get("metadata").cloned().unwrap_or_else(|| json!({}));
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let namespace = match meta.get("namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() => ns.to_string(),
            _ => {
                let ns = self.default_namespace.clone();
                if kind != "Namespace" && kind != "MutatingWebhookConfiguration" {
                    if let Some(m) = json.get_mut("metadata").and_then(Value::as_object_mut) {
                        m.insert("namespace".into(), Value::String(ns.clone()));
                    }
                }
                ns
            }
        };
        self.objects.push(DeclaredObject {
            kind,
            namespace,
            name,
            json,
            at,
            implied_by: None,
        });
    }

    /// Records a gap.
    pub fn gap(&mut self, at: &Anchor, pos: Pos, kind: &str, name: &str, why: impl Into<String>) {
        self.gaps.push(Gap {
            path: at.path.clone(),
            pos,
            subject: irsa_rules::Subject::global(kind, name),
            why: why.into(),
            info: false,
        });
    }
}

/// The snapshot, and where each of its objects was written.
pub struct Built {
    /// The snapshot the rules read.
    pub snapshot: Snapshot,
    /// Where objects were written: (kind, namespace or "", name or ARN) → anchor.
    pub anchors: BTreeMap<(String, String, String), Anchor>,
    /// Trust policies with file positions, by role ARN.
    pub trust_nodes: BTreeMap<String, (Arc<str>, Node)>,
    /// ServiceAccounts that only a trust policy names (namespace, name) → role ARN.
    pub implied: BTreeMap<(String, String), String>,
}

/// Builds the snapshot from what the inputs declare.
pub fn build(mut d: Declared, flags: ContextFlags) -> (Built, Vec<Gap>) {
    let mut flags = flags;
    if flags.region.is_none() && d.regions.len() == 1 {
        flags.region = d.regions.iter().next().cloned();
    }
    if flags.kubernetes_version.is_none() && d.versions.len() == 1 {
        flags.kubernetes_version = d.versions.iter().next().cloned();
    }
    if flags.issuer.is_none() && !d.clusters.iter().any(|c| c.issuer.is_some()) {
        infer_issuer(&mut d, &mut flags);
    }
    let partition = flags
        .region
        .as_deref()
        .map(Partition::for_region)
        .unwrap_or(Partition::Aws);
    let own_account = flags.account.clone().or_else(|| {
        (d.accounts.len() == 1)
            .then(|| d.accounts.iter().next().cloned())
            .flatten()
    });

    // Role ARNs: stated, else composed from the account (the inputs' own, else the one
    // an annotation naming the role by name gives, else the account of the provider
    // the role trusts: a web identity role trusts a provider of its own account).
    let annotated: Vec<irsa_policy::RoleArn> = d
        .objects
        .iter()
        .filter(|o| o.kind == "ServiceAccount")
        .filter_map(|o| {
            o.json
                .pointer("/metadata/annotations/eks.amazonaws.com~1role-arn")
                .and_then(Value::as_str)
        })
        .filter_map(|a| irsa_policy::RoleArn::parse(a).ok())
        .collect();
    let mut gaps = std::mem::take(&mut d.gaps);
    let mut anchors = BTreeMap::new();
    let mut trust_nodes = BTreeMap::new();
    let mut role_docs: Vec<(String, Value)> = Vec::new();
    let mut l = Loader::new(flags.clone());
    for r in &d.roles {
        let arn = r.arn.clone().or_else(|| {
            let account = own_account
                .clone()
                .or_else(|| {
                    annotated
                        .iter()
                        .find(|a| a.name == r.name && a.path == r.path)
                        .map(|a| a.account.clone())
                })
                .or_else(|| {
                    r.trust
                        .as_ref()
                        .and_then(|(t, _)| trusted_provider_account(t))
                })?;
            Some(format!(
                "arn:{partition}:iam::{account}:role{}{}",
                r.path, r.name
            ))
        });
        let Some(arn) = arn else {
            gaps.push(Gap {
                path: r.at.path.clone(),
                pos: r.at.node.start,
                subject: irsa_rules::Subject::global("Role", &r.name),
                why: format!(
                    "the ARN of role {} is known only after deploy and no input names its account: it is not checked; pass --account",
                    r.name
                ),
                info: false,
            });
            continue;
        };
        let mut role = json!({"RoleName": r.name, "Path": r.path, "Arn": arn});
        if let Some((doc, node)) = &r.trust {
            role["AssumeRolePolicyDocument"] = doc.clone();
            trust_nodes.insert(arn.clone(), (r.at.path.clone(), node.clone()));
            role_docs.push((arn.clone(), doc.clone()));
        }
        l.add_text(&r.at.path, &json!({ "Role": role }).to_string());
        // A policy in the same input settles "has a permission policy": the other
        // listing is then known to add nothing this input declares.
        if !r.attached.is_empty() || !r.inline.is_empty() {
            let out = json!({"command": format!("aws iam list-attached-role-policies --role-name {}", r.name),
                "output": {"AttachedPolicies": r.attached.iter().map(|a| json!({"PolicyArn": a, "PolicyName": a.rsplit('/').next().unwrap_or(a)})).collect::<Vec<_>>()}});
            l.add_text(&r.at.path, &out.to_string());
        }
        if !r.attached.is_empty() || !r.inline.is_empty() {
            let out = json!({"command": format!("aws iam list-role-policies --role-name {}", r.name),
                "output": {"PolicyNames": r.inline}});
            l.add_text(&r.at.path, &out.to_string());
        }
        anchors.insert(("Role".into(), String::new(), arn), r.at.clone());
    }
    for p in &d.providers {
        let url = p.url.trim_start_matches("https://").to_string();
        let arn = p.arn.clone().or_else(|| {
            own_account
                .as_ref()
                .map(|a| OidcProviderArn::for_issuer(partition, a, &url).to_string())
        });
        let Some(arn) = arn else {
            gaps.push(Gap {
                path: p.at.path.clone(),
                pos: p.at.node.start,
                subject: irsa_rules::Subject::global("OidcProvider", &url),
                why: format!("the account of the OIDC provider for {url} is not in the inputs: it is not checked; pass --account"),
                info: false,
            });
            continue;
        };
        let out = json!({"command": format!("aws iam get-open-id-connect-provider --open-id-connect-provider-arn {arn}"),
            "output": {"Url": url, "ClientIDList": p.client_ids, "ThumbprintList": p.thumbprints}});
        l.add_text(&p.at.path, &out.to_string());
        anchors.insert(("OidcProvider".into(), String::new(), arn), p.at.clone());
    }
    for c in &d.clusters {
        anchors.insert(
            ("Cluster".into(), String::new(), c.name.clone()),
            c.at.clone(),
        );
        let Some(issuer) = &c.issuer else { continue };
        let arn = c.arn.clone().or_else(|| {
            let region = c.region.clone().or_else(|| flags.region.clone())?;
            let account = own_account.clone()?;
            Some(format!(
                "arn:{}:eks:{region}:{account}:cluster/{}",
                Partition::for_region(&region),
                c.name
            ))
        });
        let mut cluster = json!({"name": c.name, "identity": {"oidc": {"issuer": issuer}}});
        if let Some(a) = arn {
            cluster["arn"] = Value::String(a);
        }
        if let Some(v) = &c.version {
            cluster["version"] = Value::String(v.clone());
        }
        l.add_text(&c.at.path, &json!({ "cluster": cluster }).to_string());
        anchors.insert(
            ("Cluster".into(), String::new(), c.name.clone()),
            c.at.clone(),
        );
    }
    for a in &d.associations {
        let mut assoc = json!({"namespace": a.namespace, "serviceAccount": a.service_account});
        if let Some(c) = &a.cluster {
            assoc["clusterName"] = Value::String(c.clone());
        }
        if let Some(r) = &a.role_arn {
            assoc["roleArn"] = Value::String(r.clone());
        }
        l.add_text(&a.at.path, &json!({ "association": assoc }).to_string());
    }

    // ServiceAccounts a trust policy names but no input declares: checked against the
    // policy that was written for them (a stray space, a wrong-case namespace, a
    // wildcard, a missing `:sub` all show).
    let declared_sas: BTreeSet<(String, String)> = d
        .objects
        .iter()
        .filter(|o| o.kind == "ServiceAccount")
        .map(|o| (o.namespace.clone(), o.name.clone()))
        .collect();
    let mut implied = BTreeMap::new();
    for (arn, doc) in &role_docs {
        let role_name = arn.rsplit('/').next().unwrap_or_default();
        if annotated.iter().any(|a| a.name == role_name) {
            continue; // a ServiceAccount of the inputs names it: checked against that one
        }
        let Ok(policy) = PolicyDocument::from_value(doc.clone()) else {
            continue;
        };
        let Some((_, node)) = trust_nodes.get(arn).cloned() else {
            continue;
        };
        for (ns, name, value) in intended_service_accounts(&policy) {
            if declared_sas.contains(&(ns.clone(), name.clone()))
                || implied.contains_key(&(ns.clone(), name.clone()))
            {
                continue;
            }
            let at_node = value
                .as_deref()
                .and_then(|v| node.walk().find(|n| n.as_str() == Some(v)))
                .unwrap_or(&node)
                .clone();
            implied.insert((ns.clone(), name.clone()), arn.clone());
            d.objects.push(DeclaredObject {
                kind: "ServiceAccount".into(),
                namespace: ns.clone(),
                name: name.clone(),
                json: json!({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": name, "namespace": ns,
                        "annotations": {"eks.amazonaws.com/role-arn": arn}}}),
                at: Anchor {
                    path: trust_nodes[arn].0.clone(),
                    node: at_node,
                },
                implied_by: Some(arn.clone()),
            });
        }
    }
    for o in &d.objects {
        let label = match &o.implied_by {
            Some(_) => format!("{} (a ServiceAccount its trust policy names)", o.at.path),
            None => o.at.path.to_string(),
        };
        l.add_text(&label, &o.json.to_string());
        anchors
            .entry((o.kind.clone(), o.namespace.clone(), o.name.clone()))
            .or_insert_with(|| o.at.clone());
    }
    let snapshot = l.finish();
    (
        Built {
            snapshot,
            anchors,
            trust_nodes,
            implied,
        },
        gaps,
    )
}

/// Without a cluster in the inputs and without `--issuer`, the trust policies say which
/// cluster they are for: when every web identity statement names the provider of one
/// EKS issuer, that is the issuer (an info note says so: the principal's URL is then
/// not checked, its account and partition still are). Several issuers: none is chosen.
fn infer_issuer(d: &mut Declared, flags: &mut ContextFlags) {
    let mut urls: BTreeMap<String, (Arc<str>, Pos)> = BTreeMap::new();
    for r in &d.roles {
        let Some((doc, node)) = &r.trust else {
            continue;
        };
        let Ok(policy) = PolicyDocument::from_value(doc.clone()) else {
            continue;
        };
        for p in policy
            .statements
            .iter()
            .filter_map(|s| s.principal.as_ref())
            .flat_map(|p| p.values_of("Federated"))
        {
            if let Some(arn) = OidcProviderArn::parse(p) {
                if irsa_policy::Issuer::parse(&format!("https://{}", arn.url))
                    .is_ok_and(|i| i.eks.is_some())
                {
                    let at = node
                        .walk()
                        .find(|n| n.as_str() == Some(p))
                        .map(|n| n.start)
                        .unwrap_or(node.start);
                    urls.entry(arn.url).or_insert((r.at.path.clone(), at));
                }
            }
        }
    }
    if urls.len() != 1 {
        return;
    }
    let (url, (path, pos)) = urls.into_iter().next().expect("one");
    flags.issuer = Some(format!("https://{url}"));
    d.gaps.push(Gap {
        path,
        pos,
        subject: irsa_rules::Subject::global("Cluster", &url),
        why: format!("no cluster in the inputs states its OIDC issuer: every trust policy names https://{url}, which is taken as the cluster's (pass --issuer to check that URL too; accounts and partitions are checked)"),
        info: true,
    });
}

/// The account of the OIDC provider a web identity trust policy names.
fn trusted_provider_account(doc: &Value) -> Option<String> {
    let policy = PolicyDocument::from_value(doc.clone()).ok()?;
    policy
        .statements
        .iter()
        .filter_map(|s| s.principal.as_ref())
        .flat_map(|p| p.values_of("Federated"))
        .find_map(|p| OidcProviderArn::parse(p).map(|a| a.account))
}

/// The ServiceAccounts each web identity statement is written for, from its `:sub`
/// values (each `*`/`?` stands for one concrete name, so a wildcard is judged on
/// what it lets in), or `default/default` when a statement names none. Values are
/// read as IAM would never match them only when no reading gives a valid name.
fn intended_service_accounts(p: &PolicyDocument) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    for st in &p.statements {
        let federated = st
            .principal
            .as_ref()
            .is_some_and(|p| !p.values_of("Federated").is_empty());
        if !federated || st.effect != irsa_policy::Effect::Allow {
            continue;
        }
        let subs: Vec<&String> = st
            .conditions
            .iter()
            .filter(|c| c.key.to_ascii_lowercase().ends_with(":sub"))
            .filter(|c| c.operator.base().is_none_or(|b| !b.is_negated()))
            .flat_map(|c| c.values.iter())
            .collect();
        if subs.is_empty() {
            out.push(("default".into(), "default".into(), None));
        }
        for v in subs {
            let concrete: String = v
                .chars()
                .map(|c| if c == '*' || c == '?' { 'x' } else { c })
                .collect();
            let parts: Vec<&str> = concrete.split(':').map(str::trim).collect();
            let (ns, name) = match parts.as_slice() {
                [_, _, ns, name] => (ns.to_ascii_lowercase(), name.to_ascii_lowercase()),
                [_, _, ns] if v.ends_with('*') => (ns.to_ascii_lowercase(), "x".to_string()),
                [_, _] if v.ends_with('*') => ("x".to_string(), "x".to_string()),
                _ => continue,
            };
            if is_dns_label(&ns) && is_dns_subdomain(&name) {
                out.push((ns, name, Some(v.clone())));
            }
        }
    }
    out
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}
