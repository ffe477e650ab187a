//! EKS Pod Identity's first link: the eks-pod-identity-agent on the pod's node calls the
//! EKS Auth API `AssumeRoleForPodIdentity` with the **node's** IAM role, so that role
//! must allow `eks-auth:AssumeRoleForPodIdentity`.
//!
//! Sources:
//! - "The node role has permissions for the agent to do the `AssumeRoleForPodIdentity`
//!   action in the EKS Auth API. You can use the AWS managed policy:
//!   AmazonEKSWorkerNodePolicy or add a custom policy similar to the following:
//!   `{"Effect": "Allow", "Action": ["eks-auth:AssumeRoleForPodIdentity"], "Resource": "*"}`.
//!   You can restrict this action by tags to restrict which roles can be assumed by pods
//!   that use the agent." — Amazon EKS user guide, "Set up the Amazon EKS Pod Identity
//!   Agent", Agent prerequisites, <https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html>;
//! - AmazonEKSWorkerNodePolicy v3 (default, edited 2023-11-27), statement
//!   `WorkerNodePermissions`: `ec2:Describe…`, `eks:DescribeCluster`,
//!   `eks-auth:AssumeRoleForPodIdentity` on `*`,
//!   <https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEKSWorkerNodePolicy.html>
//!   (the documented copy is `irsa-knowledge/data/managed-policies/`);
//! - EKS Auto Mode: the agent is built in ("You do not need to install the EKS Pod
//!   Identity Agent on EKS Auto Mode Clusters", pod-id-agent-setup), but its node role
//!   must still have AmazonEKSWorkerNodeMinimalPolicy (whose only action is
//!   `eks-auth:AssumeRoleForPodIdentity`) or equivalent permissions
//!   (<https://docs.aws.amazon.com/eks/latest/userguide/auto-create-node-role.html>).
//!   AWS does not document that Auto Mode skips the node role, so it is checked: the
//!   role is the cluster's `computeConfig.nodeRoleArn` (the built-in node pools); a
//!   custom NodeClass can name another role (`spec.role`) [INF: Auto Mode nodes of a
//!   custom NodeClass carry `eks.amazonaws.com/nodeclass` with its name; such nodes are
//!   "not checked"].
//! - Managed node groups: `aws eks describe-nodegroup` prints `nodegroup.nodeRole`;
//!   their nodes carry `eks.amazonaws.com/nodegroup`
//!   (<https://docs.aws.amazon.com/eks/latest/APIReference/API_Nodegroup.html>).
//!   Self-managed and Karpenter nodes get their role from an instance profile, which
//!   the inputs do not hold: "not checked", with the commands that tell.

use crate::context::{Context, RoleState};
use irsa_knowledge::documented_policy;
use irsa_model::pod_identity::{node_labels, Compute};
use irsa_model::{BoundaryState, Pod, Role};
use irsa_policy::{
    IdentityDecision, IdentityEvaluator, IdentityPolicies, IdentityRequest, NamedPolicy,
    PolicyDocument, RoleArn,
};
use std::collections::BTreeMap;

/// The action the agent needs.
pub const ACTION: &str = "eks-auth:AssumeRoleForPodIdentity";
/// The label of EKS Auto Mode nodes naming their NodeClass [INF].
pub const AUTO_NODECLASS_LABEL: &str = "eks.amazonaws.com/nodeclass";
/// Karpenter's label on the nodes it launches.
pub const KARPENTER_LABEL: &str = "karpenter.sh/nodepool";

/// Where a node's role comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RoleOrigin {
    /// A managed node group (`nodeRole`).
    Nodegroup(String),
    /// EKS Auto Mode (`computeConfig.nodeRoleArn`).
    AutoMode,
}

impl RoleOrigin {
    /// How reports name it.
    pub fn text(&self) -> String {
        match self {
            RoleOrigin::Nodegroup(n) => format!("node group {n}"),
            RoleOrigin::AutoMode => "EKS Auto Mode's node pools".into(),
        }
    }
}

/// The node role of one pod's node, as far as the inputs tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodNode {
    /// The role is known.
    Role {
        /// Its ARN.
        arn: String,
        /// Where it comes from.
        origin: RoleOrigin,
    },
    /// Not a node where the agent runs (Fargate, Windows, hybrid): other rules say so.
    NotApplicable,
    /// Not scheduled yet.
    Unscheduled,
    /// Unknown: why, and what would tell (commands, each copy-pasteable).
    Unknown {
        /// Why.
        why: String,
        /// Commands.
        add: Vec<String>,
    },
}

fn cluster_name(cx: &Context<'_>) -> String {
    cx.cluster
        .name
        .clone()
        .unwrap_or_else(|| "<cluster>".into())
}

fn region_arg(cx: &Context<'_>) -> String {
    cx.cluster
        .region
        .as_deref()
        .map(|r| format!(" --region {}", crate::fixes::sh(r)))
        .unwrap_or_default()
}

/// The role of the node a pod runs on.
pub fn pod_node(cx: &Context<'_>, p: &Pod) -> PodNode {
    let sh = crate::fixes::sh;
    let Some(node_name) = p.spec.node_name.as_deref() else {
        return PodNode::Unscheduled;
    };
    let Some(node) = cx.snap.node(node_name) else {
        return match crate::pod_identity::pod_compute(cx, p) {
            Some(Compute::Fargate | Compute::Windows | Compute::Hybrid) => PodNode::NotApplicable,
            _ => PodNode::Unknown {
                why: format!("node {node_name} is not in the snapshot, so which IAM role its agent uses is not known"),
                add: vec!["kubectl get nodes -o json".into()],
            },
        };
    };
    match node.compute() {
        Compute::Fargate | Compute::Windows | Compute::Hybrid => return PodNode::NotApplicable,
        Compute::Auto => {
            if let Some(class) = node
                .labels
                .get(AUTO_NODECLASS_LABEL)
                .filter(|c| c.as_str() != "default")
            {
                return PodNode::Unknown {
                    why: format!("node {node_name} is an EKS Auto Mode node of NodeClass {class}, which may name its own IAM role (spec.role)"),
                    add: vec![format!(
                        "kubectl get nodeclasses.eks.amazonaws.com {} -o jsonpath='{{.spec.role}}'",
                        sh(class)
                    )],
                };
            }
            return match cx.snap.cluster().and_then(|c| c.auto_mode_node_role.clone()) {
                Some(arn) => PodNode::Role {
                    arn,
                    origin: RoleOrigin::AutoMode,
                },
                None => PodNode::Unknown {
                    why: format!("node {node_name} is an EKS Auto Mode node and the cluster's node role (computeConfig.nodeRoleArn) is not in the snapshot"),
                    add: vec![format!(
                        "aws eks describe-cluster --name {}{}",
                        sh(&cluster_name(cx)),
                        region_arg(cx)
                    )],
                },
            };
        }
        Compute::LinuxEc2 => {}
    }
    let facts = &cx.snap.pod_identity_facts;
    if let Some(ng) = node.labels.get(node_labels::NODEGROUP) {
        return match facts.nodegroup(ng).map(|n| n.node_role.clone()) {
            Some(Some(arn)) if !arn.is_empty() => PodNode::Role {
                arn,
                origin: RoleOrigin::Nodegroup(ng.to_string()),
            },
            _ => PodNode::Unknown {
                why: format!(
                    "node {node_name} is in managed node group {ng}, which is not described in the snapshot"
                ),
                add: vec![format!(
                    "aws eks describe-nodegroup --cluster-name {} --nodegroup-name {}{}",
                    sh(&cluster_name(cx)),
                    sh(ng),
                    region_arg(cx)
                )],
            },
        };
    }
    let kind = if node.labels.contains_key(KARPENTER_LABEL) {
        "a Karpenter node (its role is the EC2NodeClass's spec.role, through an instance profile)"
    } else {
        "not in a managed node group (self-managed: its role comes from its instance profile)"
    };
    PodNode::Unknown {
        why: format!("node {node_name} is {kind}, which the inputs do not hold"),
        add: vec![
            format!(
                "aws ec2 describe-instances{} --filters Name=private-dns-name,Values={} --query 'Reservations[].Instances[].IamInstanceProfile.Arn'",
                region_arg(cx),
                sh(node_name)
            ),
            "aws iam get-instance-profile --instance-profile-name <name from that ARN> --query 'InstanceProfile.Roles[].Arn'".into(),
            format!("aws iam simulate-principal-policy --policy-source-arn <that role ARN> --action-names {ACTION}"),
        ],
    }
}

/// What a node role's policies say about the agent's call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleCheck {
    /// Allowed (by which statement; `documented`: the source of a documented AWS managed
    /// policy copy relied on because its document was not collected).
    Allowed {
        /// The allowing policy and statement.
        by: String,
        /// The documented copy's source, when one decided.
        documented: Option<String>,
    },
    /// Certainly refused (why).
    Denied {
        /// Why.
        why: String,
    },
    /// Not decided (why, commands that would tell).
    Unknown {
        /// Why.
        why: String,
        /// Commands.
        add: Vec<String>,
    },
}

/// The EKS cluster ARN the agent's request names (`arn:<partition>:eks:<region>:<account>:cluster/<name>`),
/// or `*` when it cannot be built (then a statement scoped to a cluster is undetermined).
fn cluster_resource(cx: &Context<'_>, role: &RoleArn) -> String {
    if let Some(arn) = cx.snap.cluster().and_then(|c| c.arn.clone()) {
        return arn;
    }
    match (&cx.cluster.name, &cx.cluster.region) {
        (Some(n), Some(r)) => format!(
            "arn:{}:eks:{r}:{}:cluster/{n}",
            role.partition,
            cx.cluster.account.as_deref().unwrap_or(&role.account)
        ),
        _ => "*".into(),
    }
}

/// Decides one node role.
pub fn check_role(cx: &Context<'_>, arn: &str) -> RoleCheck {
    let sh = crate::fixes::sh;
    let parsed = match RoleArn::parse(arn) {
        Ok(r) => r,
        Err(e) => {
            return RoleCheck::Unknown {
                why: format!("the node role `{arn}` is not a role ARN: {e}"),
                add: vec![],
            }
        }
    };
    let role_reads = |name: &str| {
        vec![
            format!("aws iam get-role --role-name {}", sh(name)),
            format!(
                "aws iam list-attached-role-policies --role-name {}",
                sh(name)
            ),
            format!("aws iam list-role-policies --role-name {}", sh(name)),
        ]
    };
    let r: &Role = match cx.find_role(&parsed) {
        RoleState::Found(r) => r,
        RoleState::NotFound(why) => {
            return RoleCheck::Denied {
                why: format!("the role does not exist ({why})"),
            }
        }
        RoleState::NotCollected => {
            return RoleCheck::Unknown {
                why: format!("node role {arn} is not in the snapshot"),
                add: role_reads(&parsed.name),
            }
        }
    };
    if r.attached_policies.is_none() || r.inline_policies.is_none() {
        return RoleCheck::Unknown {
            why: format!("the policies of node role {arn} are not in the snapshot"),
            add: role_reads(&parsed.name)[1..].to_vec(),
        };
    }
    let policies = cx.snap.role_policies(r);
    // AWS managed policies whose document was not collected, with a documented copy.
    let mut documented: Vec<(String, String, PolicyDocument)> = Vec::new(); // (label, source, doc)
    for a in r.attached_policies.iter().flatten() {
        let Some(policy_arn) = a.arn.as_deref() else {
            continue;
        };
        let collected = cx
            .snap
            .permissions
            .managed
            .get(policy_arn)
            .and_then(|m| m.default_document())
            .is_some();
        if collected {
            continue;
        }
        if let Some(d) = documented_policy(policy_arn) {
            if let Ok(doc) = d.parsed() {
                documented.push((
                    format!("managed policy {} ({}, as documented)", a.name, d.version),
                    d.source.clone(),
                    doc,
                ));
            }
        }
    }
    // A missing policy stands replaced by its documented copy when its commands name
    // the ARN of an AWS managed policy that has one (by ARN, never by name: a customer
    // managed policy may carry the same name).
    let documented_arns: Vec<&str> = r
        .attached_policies
        .iter()
        .flatten()
        .filter_map(|a| a.arn.as_deref())
        .filter(|a| documented_policy(a).is_some())
        .collect();
    // What tells the real default versions of those documented policies.
    let documented_commands = || -> Vec<String> {
        documented_arns
            .iter()
            .map(|a| format!("aws iam get-policy --policy-arn {}", crate::fixes::sh(a)))
            .collect()
    };
    let replaced = |m: &irsa_model::MissingPolicy| {
        !m.name.contains("does not parse")
            && documented_arns.iter().any(|arn| {
                m.commands
                    .iter()
                    .any(|c| c.split_whitespace().any(|w| w.trim_matches('\'') == *arn))
            })
    };
    let mut named = policies.named();
    named.extend(documented.iter().map(|(n, _, d)| NamedPolicy {
        name: n,
        document: d,
    }));
    let not_collected: Vec<&str> = policies
        .missing
        .iter()
        .filter(|m| !replaced(m))
        .map(|m| m.name.as_str())
        .collect();
    let missing_commands: Vec<String> = policies
        .missing
        .iter()
        .filter(|m| !replaced(m))
        .flat_map(|m| m.commands.clone())
        .collect();
    let boundary = policies.evaluated_boundary();
    let boundary_commands = match &policies.boundary {
        BoundaryState::Unknown { commands, .. } => commands.clone(),
        _ => vec![],
    };
    let set = IdentityPolicies {
        policies: named,
        not_collected,
        boundary,
    };
    let request = IdentityRequest::new(ACTION, cluster_resource(cx, &parsed))
        .with_key("aws:PrincipalArn", &[arn])
        .with_key("aws:PrincipalAccount", &[parsed.account.as_str()]);
    let used_documented = |policy: &str| documented.iter().find(|(n, ..)| n == policy);
    match IdentityEvaluator::new(&set).evaluate(&request) {
        IdentityDecision::Allowed { by } => RoleCheck::Allowed {
            documented: used_documented(&by.policy).map(|(_, s, _)| s.clone()),
            by: format!(
                "statement {} of {}",
                by.sid.clone().unwrap_or_else(|| by.statement.to_string()),
                by.policy
            ),
        },
        IdentityDecision::ExplicitDeny { by, .. } if used_documented(&by.policy).is_none() => {
            RoleCheck::Denied {
                why: format!(
                    "statement {} of {} denies it",
                    by.sid.clone().unwrap_or_else(|| by.statement.to_string()),
                    by.policy
                ),
            }
        }
        // A documented copy may differ from the real default version: it only grants.
        IdentityDecision::ExplicitDeny { .. } => RoleCheck::Unknown {
            why: "only a documented copy of an AWS managed policy decides it".into(),
            add: documented_commands(),
        },
        IdentityDecision::NotAllowed | IdentityDecision::BoundaryDoesNotAllow { .. }
            if !documented.is_empty() =>
        {
            RoleCheck::Unknown {
                why: "the documented copies of its AWS managed policies do not grant it, and their collected documents would decide".into(),
                add: documented_commands(),
            }
        }
        IdentityDecision::NotAllowed => RoleCheck::Denied {
            why: if set.policies.is_empty() {
                "the role has no permission policy".into()
            } else {
                format!(
                    "no statement of its policies ({}) allows it",
                    set.policies
                        .iter()
                        .map(|p| p.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        },
        IdentityDecision::BoundaryDoesNotAllow { .. } => RoleCheck::Denied {
            why: "its permissions boundary does not allow it".into(),
        },
        IdentityDecision::Undetermined { why } => RoleCheck::Unknown {
            why: crate::rules::role_permissions::describe_unknowns(&why),
            add: missing_commands.into_iter().chain(boundary_commands).collect(),
        },
    }
}

/// The node-role link of a set of pods: every distinct role with its check and the
/// pods on it, and the pods whose node role is unknown.
#[derive(Debug, Clone, Default)]
pub struct NodeLinks<'p> {
    /// Role ARN → (origins, check, pods).
    pub roles: BTreeMap<String, (Vec<RoleOrigin>, RoleCheck, Vec<&'p Pod>)>,
    /// Pods whose node's role is unknown: (pod, why, commands).
    pub unknown: Vec<(&'p Pod, String, Vec<String>)>,
    /// Pods on a node where the agent runs (scheduled, supported compute).
    pub judged: usize,
}

impl NodeLinks<'_> {
    /// The first refused role.
    pub fn denied(&self) -> Option<(&str, &str)> {
        self.roles.iter().find_map(|(arn, (_, c, _))| match c {
            RoleCheck::Denied { why } => Some((arn.as_str(), why.as_str())),
            _ => None,
        })
    }
    /// Why the link is not checked (the first unknown), if it is not.
    pub fn not_checked(&self) -> Option<String> {
        if let Some((p, why, add)) = self.unknown.first() {
            return Some(with_commands(
                &format!(
                    "the IAM role of the node of pod {}/{} is not checked: {why}",
                    p.namespace, p.name
                ),
                add,
            ));
        }
        self.roles.iter().find_map(|(arn, (_, c, _))| match c {
            RoleCheck::Unknown { why, add } => Some(with_commands(
                &format!("whether node role {arn} allows {ACTION} is not checked: {why}"),
                add,
            )),
            _ => None,
        })
    }
    /// Whether every judged pod's node role allows the call (and at least one was judged).
    pub fn all_allowed(&self) -> bool {
        self.judged > 0
            && self.unknown.is_empty()
            && self
                .roles
                .values()
                .all(|(_, c, _)| matches!(c, RoleCheck::Allowed { .. }))
    }
}

/// `why; add `a`, `b``.
pub fn with_commands(why: &str, add: &[String]) -> String {
    if add.is_empty() {
        why.to_string()
    } else {
        format!("{why}; add `{}`", add.join("`, `"))
    }
}

/// Analyses the node roles of pods (each distinct role decided once).
pub fn node_links<'p>(cx: &Context<'_>, pods: &[&'p Pod]) -> NodeLinks<'p> {
    let mut links = NodeLinks::default();
    for p in pods {
        match pod_node(cx, p) {
            PodNode::NotApplicable | PodNode::Unscheduled => {}
            PodNode::Unknown { why, add } => {
                links.judged += 1;
                links.unknown.push((p, why, add));
            }
            PodNode::Role { arn, origin } => {
                links.judged += 1;
                let e = links
                    .roles
                    .entry(arn.clone())
                    .or_insert_with(|| (Vec::new(), check_role(cx, &arn), Vec::new()));
                if !e.0.contains(&origin) {
                    e.0.push(origin);
                }
                e.2.push(p);
            }
        }
    }
    links
}
