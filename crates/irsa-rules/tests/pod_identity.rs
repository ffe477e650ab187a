//! EKS Pod Identity: the healthy sample moved to Pod Identity (association described,
//! role trusting pods.eks.amazonaws.com, the agent add-on and DaemonSet ready on every
//! node, pods injected), as `kubectl` and the AWS CLI print it, then one link broken
//! per test: each break has its healthy twin (the sample itself, or a variant that
//! must stay quiet).
//!
//! Output shapes: `aws eks describe-pod-identity-association` / `list-pod-identity-associations`
//! (https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribePodIdentityAssociation.html),
//! `aws eks describe-addon` (API_DescribeAddon.html), the webhook's injection
//! (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html).

mod support;

use irsa_rules::{Cause, Mechanism, Severity, Status};
use serde_json::{json, Value};
use support::*;

const PI_ROLE: &str = "arn:aws:iam::391252439823:role/orders-use2-inventory-api-pi";
const NODES: [&str; 3] = [
    "ip-10-0-30-19.us-east-2.compute.internal",
    "ip-10-0-133-212.us-east-2.compute.internal",
    "ip-10-0-123-191.us-east-2.compute.internal",
];

fn association(v: Value) -> Value {
    let mut a = json!({
        "clusterName": "orders-use2",
        "namespace": "inventory",
        "serviceAccount": "inventory-api",
        "roleArn": PI_ROLE,
        "associationArn": "arn:aws:eks:us-east-2:391252439823:podidentityassociation/orders-use2/a-8pd3n0hjg7jnkzvmf",
        "associationId": "a-8pd3n0hjg7jnkzvmf",
        "tags": {},
        "createdAt": "2024-04-10T09:12:40.112000+00:00",
        "modifiedAt": "2024-04-10T09:12:40.112000+00:00",
        "disableSessionTags": false
    });
    for (k, val) in v.as_object().unwrap() {
        a[k] = val.clone();
    }
    a
}

fn pi_trust() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "AllowEksAuthToAssumeRoleForPodIdentity",
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {
            "aws:RequestTag/kubernetes-namespace": ["inventory"],
            "aws:RequestTag/kubernetes-service-account": ["inventory-api"]}}}]})
}

fn get_role(arn: &str, trust: Value) -> Value {
    let name = arn.rsplit('/').next().unwrap();
    json!({"Role": {"Path": "/", "RoleName": name, "RoleId": "AROAGAAZMKSYKCSI7UYHR", "Arn": arn,
        "CreateDate": "2024-04-10T09:01:02+00:00", "AssumeRolePolicyDocument": trust,
        "MaxSessionDuration": 3600, "RoleLastUsed": {}}})
}

fn agent_daemonset(host_network: bool, args: Vec<&str>, ready: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "eks-pod-identity-agent", "namespace": "kube-system",
            "labels": {"app.kubernetes.io/instance": "eks-pod-identity-agent", "app.kubernetes.io/name": "eks-pod-identity-agent"}},
        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "eks-pod-identity-agent"}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": "eks-pod-identity-agent"}},
                "spec": {"hostNetwork": host_network, "containers": [{
                    "name": "eks-pod-identity-agent",
                    "image": "602401143452.dkr.ecr.us-east-2.amazonaws.com/eks/eks-pod-identity-agent:v0.1.37",
                    "command": ["/go-runner", "/eks-pod-identity-agent", "server"],
                    "args": args}]}}},
        "status": {"currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberAvailable": ready,
            "numberMisscheduled": 0, "numberReady": ready, "observedGeneration": 1, "updatedNumberScheduled": 3}})
}

fn agent_pod(i: usize, node: &str, ready: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("eks-pod-identity-agent-{i}x7k2"), "namespace": "kube-system",
            "creationTimestamp": "2024-04-01T10:00:00Z",
            "labels": {"app.kubernetes.io/name": "eks-pod-identity-agent"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "eks-pod-identity-agent",
                "controller": true, "blockOwnerDeletion": true, "uid": "1b1a6d5e-6d1c-4c55-a7f6-0e1c2b3a4d5e"}]},
        "spec": {"hostNetwork": true, "nodeName": node, "containers": [{"name": "eks-pod-identity-agent",
            "image": "602401143452.dkr.ecr.us-east-2.amazonaws.com/eks/eks-pod-identity-agent:v0.1.37"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}})
}

fn node(name: &str, labels: Value, os: &str) -> Value {
    let mut l = json!({"kubernetes.io/os": os, "kubernetes.io/hostname": name,
        "eks.amazonaws.com/nodegroup": "orders-use2-general"});
    for (k, v) in labels.as_object().unwrap() {
        l[k] = v.clone();
    }
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": l},
        "status": {"nodeInfo": {"kubeletVersion": "v1.29.3-eks-ae9a62a", "operatingSystem": os},
            "addresses": [{"type": "InternalIP", "address": "10.0.30.19"}, {"type": "Hostname", "address": name}]}})
}

/// The Pod Identity variables and volume, as the webhook injects them (pod-id-how-it-works.html).
fn inject(pod: &mut Value) {
    unmutate(pod);
    let c = &mut pod["spec"]["containers"][0];
    c["env"] = json!([
        {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
        {"name": "AWS_DEFAULT_REGION", "value": "us-east-2"},
        {"name": "AWS_REGION", "value": "us-east-2"},
        {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"},
        {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"}
    ]);
    c["volumeMounts"].as_array_mut().unwrap().push(json!(
        {"mountPath": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount", "name": "eks-pod-identity-token", "readOnly": true}));
    pod["spec"]["volumes"].as_array_mut().unwrap().push(json!(
        {"name": "eks-pod-identity-token", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"audience": "pods.eks.amazonaws.com", "expirationSeconds": 86400, "path": "eks-pod-identity-token"}}]}}));
}

const NODE_ROLE: &str = "arn:aws:iam::391252439823:role/orders-use2-node";
const WORKER_POLICY: &str = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy";

/// `aws eks describe-nodegroup` as the CLI prints it (API_Nodegroup.html).
fn describe_nodegroup(name: &str, node_role: &str) -> Value {
    json!({"command": format!("aws eks describe-nodegroup --cluster-name orders-use2 --nodegroup-name {name} --region us-east-2"),
        "output": {"nodegroup": {"nodegroupName": name,
        "nodegroupArn": format!("arn:aws:eks:us-east-2:391252439823:nodegroup/orders-use2/{name}/7ec6ad6e-1b2c-3d4e-5f60-718293a4b5c6"),
        "clusterName": "orders-use2", "version": "1.29", "releaseVersion": "1.29.3-20240415",
        "createdAt": "2024-04-01T09:40:11.512000+00:00", "modifiedAt": "2024-04-01T09:52:40.101000+00:00",
        "status": "ACTIVE", "capacityType": "ON_DEMAND",
        "scalingConfig": {"minSize": 3, "maxSize": 6, "desiredSize": 3}, "instanceTypes": ["m5.large"],
        "subnets": ["subnet-0a1b2c3d4e5f60718", "subnet-0b2c3d4e5f6071829"], "amiType": "AL2_x86_64",
        "nodeRole": node_role, "labels": {}, "diskSize": 20,
        "resources": {"autoScalingGroups": [{"name": "eks-orders-use2-general-7ec6ad6e-1b2c-3d4e-5f60-718293a4b5c6"}]},
        "health": {"issues": []}, "updateConfig": {"maxUnavailable": 1}, "tags": {}}}})
}

/// The AmazonEKSWorkerNodePolicy v3 document, as `aws iam get-policy-version` prints it
/// (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEKSWorkerNodePolicy.html).
fn worker_policy_document() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "WorkerNodePermissions", "Effect": "Allow",
        "Action": ["ec2:DescribeInstances", "ec2:DescribeInstanceTypes", "ec2:DescribeRouteTables",
            "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVolumes",
            "ec2:DescribeVolumesModifications", "ec2:DescribeVpcs", "eks:DescribeCluster",
            "eks-auth:AssumeRoleForPodIdentity"], "Resource": "*"}]})
}

/// The node role's reads (`get-role`, `list-attached-role-policies`, `list-role-policies`,
/// and for each attached policy with a document, `get-policy` + `get-policy-version`).
fn node_role_files(arn: &str, attached: &[(&str, Option<Value>)]) -> Vec<(String, Value)> {
    let name = arn.rsplit('/').next().unwrap();
    let ec2_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let mut files = vec![
        (
            format!("iam-get-role-{name}.json"),
            json!({"command": format!("aws iam get-role --role-name {name}"), "output": get_role(arn, ec2_trust)}),
        ),
        (
            format!("iam-list-attached-role-policies-{name}.json"),
            json!({"command": format!("aws iam list-attached-role-policies --role-name {name}"),
            "output": {"AttachedPolicies": attached.iter().map(|(p, _)| json!({"PolicyName": p.rsplit('/').next().unwrap(), "PolicyArn": p})).collect::<Vec<_>>()}}),
        ),
        (
            format!("iam-list-role-policies-{name}.json"),
            json!({"command": format!("aws iam list-role-policies --role-name {name}"), "output": {"PolicyNames": []}}),
        ),
    ];
    for (i, (p, doc)) in attached.iter().enumerate() {
        let Some(doc) = doc else { continue };
        files.push((format!("iam-get-policy-{name}-{i}.json"), json!({"command": format!("aws iam get-policy --policy-arn {p}"),
            "output": {"Policy": {"PolicyName": p.rsplit('/').next().unwrap(), "Arn": p, "Path": "/", "DefaultVersionId": "v3",
                "AttachmentCount": 1, "IsAttachable": true}}})));
        files.push((format!("iam-get-policy-version-{name}-{i}.json"), json!({"command": format!("aws iam get-policy-version --policy-arn {p} --version-id v3"),
            "output": {"PolicyVersion": {"Document": doc, "VersionId": "v3", "IsDefaultVersion": true,
                "CreateDate": "2023-11-27T00:06:13+00:00"}}})));
    }
    files
}

struct Pi {
    s: Scenario,
    assoc: Value,
    trust: Value,
    daemonset: Value,
    agent_pods: Vec<Value>,
    nodes: Vec<Value>,
    addon: Option<Value>,
    /// The node group(s) described and their node role's reads.
    node_files: Vec<(String, Value)>,
}

fn pi_healthy() -> Pi {
    let mut s = healthy();
    s.sa_annotations()
        .as_object_mut()
        .unwrap()
        .remove("eks.amazonaws.com/role-arn");
    for p in s.pods() {
        inject(p);
    }
    Pi {
        s,
        assoc: association(json!({})),
        trust: pi_trust(),
        daemonset: agent_daemonset(
            true,
            vec![
                "--port",
                "80",
                "--cluster-name",
                "orders-use2",
                "--probe-port",
                "2703",
            ],
            3,
        ),
        agent_pods: NODES
            .iter()
            .enumerate()
            .map(|(i, n)| agent_pod(i, n, true))
            .collect(),
        nodes: NODES.iter().map(|n| node(n, json!({}), "linux")).collect(),
        addon: Some(
            json!({"addon": {"addonName": "eks-pod-identity-agent", "clusterName": "orders-use2",
            "status": "ACTIVE", "addonVersion": "v1.3.4-eksbuild.1", "health": {"issues": []},
            "addonArn": "arn:aws:eks:us-east-2:391252439823:addon/orders-use2/eks-pod-identity-agent/9ec6ad6e",
            "createdAt": "2024-04-01T09:58:00.000000+00:00", "modifiedAt": "2024-04-01T10:01:00.000000+00:00", "tags": {}}}),
        ),
        node_files: std::iter::once((
            "eks-describe-nodegroup-orders-use2-general.json".to_string(),
            describe_nodegroup("orders-use2-general", NODE_ROLE),
        ))
        .chain(node_role_files(
            NODE_ROLE,
            &[(WORKER_POLICY, Some(worker_policy_document()))],
        ))
        .collect(),
    }
}

impl Pi {
    fn scenario(&self) -> Scenario {
        let mut s = Scenario {
            files: self.s.files.clone(),
            extra: self.s.extra.clone(),
            flags: self.s.flags.clone(),
            options: self.s.options.clone(),
            scope: self.s.scope.clone(),
        };
        let list_row = json!({"clusterName": self.assoc["clusterName"], "namespace": self.assoc["namespace"],
            "serviceAccount": self.assoc["serviceAccount"], "associationArn": self.assoc["associationArn"],
            "associationId": self.assoc["associationId"]});
        s.add("eks-list-pod-identity-associations.json", json!({"command": "aws eks list-pod-identity-associations --cluster-name orders-use2 --region us-east-2", "output": {"associations": [list_row]}}));
        s.add(
            "eks-describe-pod-identity-association.json",
            json!({"association": self.assoc}),
        );
        if let Some(r) = self.assoc["roleArn"].as_str() {
            s.add("iam-get-role-pi.json", get_role(r, self.trust.clone()));
        }
        s.add("daemonsets.json", json!({"command": "kubectl get daemonsets -n kube-system -o json",
            "output": {"apiVersion": "v1", "kind": "List", "items": if self.daemonset.is_null() { vec![] } else { vec![self.daemonset.clone()] }}}));
        s.add(
            "kube-system-pods.json",
            json!({"command": "kubectl get pods -n kube-system -o json",
            "output": {"apiVersion": "v1", "kind": "PodList", "items": self.agent_pods}}),
        );
        s.add(
            "nodes.json",
            json!({"command": "kubectl get nodes -o json",
            "output": {"apiVersion": "v1", "kind": "NodeList", "items": self.nodes}}),
        );
        if let Some(a) = &self.addon {
            s.add("eks-describe-addon.json", a.clone());
        }
        for (name, v) in &self.node_files {
            s.add(name, v.clone());
        }
        s
    }
    fn run(&self) -> irsa_rules::Report {
        self.scenario().run()
    }
}

/// The document of a `cat > f <<'EOF' … EOF` fix.
fn heredoc(cmd: &str) -> &str {
    let start = cmd.find("<<'EOF'\n").expect("heredoc") + "<<'EOF'\n".len();
    let end = cmd.find("\nEOF\n").expect("EOF");
    &cmd[start..end]
}

fn chain(r: &irsa_rules::Report) -> &irsa_rules::Chain {
    r.chains
        .iter()
        .find(|c| c.subject.name == "inventory-api")
        .unwrap_or_else(|| panic!("no chain:\n{}", dump(r)))
}

fn loud(r: &irsa_rules::Report) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .map(|f| format!("{} {}", f.cause.id(), f.message.render()))
        .collect()
}

#[track_caller]
fn fails_with(r: &irsa_rules::Report, cause: Cause) -> &irsa_rules::Finding {
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == cause && f.severity == Severity::Error)
        .unwrap_or_else(|| panic!("no {} error:\n{}", cause.id(), dump(r)));
    let c = chain(r);
    assert_eq!(c.mechanism, Mechanism::PodIdentity);
    assert_eq!(c.verdict.status, Status::Fails, "{}", dump(r));
    f
}

#[test]
fn healthy_pod_identity_works() {
    let r = pi_healthy().run();
    assert!(loud(&r).is_empty(), "{:#?}", loud(&r));
    let c = chain(&r);
    assert_eq!(c.mechanism, Mechanism::PodIdentity);
    assert_eq!(c.verdict.status, Status::Works, "{}", dump(&r));
    assert_eq!(c.pods, 3);
    assert!(c.verdict.reason.contains(PI_ROLE));
    assert!(r.summary.checked.roles >= 1);
    // Nothing about IRSA's absence is raised against a Pod Identity ServiceAccount.
    assert!(!r
        .findings
        .iter()
        .any(|f| f.cause == Cause::SaAnnotationMissing || f.cause == Cause::PodNotMutated));
}

#[test]
fn association_listed_not_described_is_not_checked() {
    let pi = pi_healthy();
    let mut s = pi.scenario();
    s.extra
        .retain(|(n, _)| n != "eks-describe-pod-identity-association.json");
    let r = s.run();
    let c = chain(&r);
    assert_eq!(c.verdict.status, Status::NotChecked, "{}", dump(&r));
    let gap = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::CollectionGap && f.rule == "IRSA601")
        .expect("gap");
    assert!(gap
        .message
        .render()
        .contains("aws eks describe-pod-identity-association --cluster-name orders-use2 --region us-east-2 --association-id a-8pd3n0hjg7jnkzvmf"));
}

#[test]
fn association_role_missing() {
    let mut pi = pi_healthy();
    let mut s = pi.scenario();
    s.extra.retain(|(n, _)| n != "iam-get-role-pi.json");
    s.add("roles.json", json!({"command": "aws iam list-roles", "output": {"Roles": [s.files["role"]["Role"].clone()]}}));
    let r = s.run();
    let f = fails_with(&r, Cause::PodIdentityAssociation);
    assert_eq!(
        f.predicted_error.as_deref(),
        Some(irsa_rules::pod_identity::ACCESS_DENIED)
    );
    assert!(f.fix[0]
        .command
        .as_deref()
        .unwrap()
        .contains("aws iam create-role --role-name orders-use2-inventory-api-pi --assume-role-policy-document file://"));
    // Twin: the role not collected at all is a gap, not a failure.
    pi.assoc["roleArn"] = json!("arn:aws:iam::391252439823:role/not-collected");
    let mut s = pi.scenario();
    s.extra.retain(|(n, _)| n != "iam-get-role-pi.json");
    let r = s.run();
    assert_eq!(chain(&r).verdict.status, Status::NotChecked, "{}", dump(&r));
}

#[test]
fn association_for_absent_service_account() {
    let mut pi = pi_healthy();
    pi.assoc["serviceAccount"] = json!("inventory-api-sa");
    let mut s = pi.scenario();
    s.add("sa-list.json", json!({"command": "kubectl get serviceaccounts -n inventory -o json",
        "output": {"apiVersion": "v1", "kind": "ServiceAccountList", "items": [s.files["sa"].clone()]}}));
    let r = s.run();
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::PodIdentityAssociation && f.subject.name == "inventory-api-sa")
        .unwrap_or_else(|| panic!("{}", dump(&r)));
    assert!(f.message.render().contains("does not exist"));
    assert!(f.fix[0]
        .command
        .as_deref()
        .unwrap()
        .contains("kubectl create serviceaccount inventory-api-sa -n inventory"));
    // The pods of inventory-api have no association now: they carry stale variables.
    // Twin: the healthy sample with the same listing stays quiet.
    let pi = pi_healthy();
    let mut s = pi.scenario();
    s.add("sa-list.json", json!({"command": "kubectl get serviceaccounts -n inventory -o json",
        "output": {"apiVersion": "v1", "kind": "ServiceAccountList", "items": [s.files["sa"].clone()]}}));
    assert!(loud(&s.run()).is_empty());
}

#[test]
fn cross_account_role_without_target() {
    let mut pi = pi_healthy();
    pi.assoc["roleArn"] = json!("arn:aws:iam::111122223333:role/inventory-api-pi");
    let r = pi.run();
    let f = fails_with(&r, Cause::PodIdentityAssociation);
    assert!(
        f.message.render().contains("account 111122223333"),
        "{}",
        f.message.render()
    );
    assert!(f.fix[0]
        .command
        .as_deref()
        .unwrap()
        .contains("--target-role-arn arn:aws:iam::111122223333:role/inventory-api-pi"));
}

#[test]
fn trust_is_irsa_only() {
    let mut pi = pi_healthy();
    pi.trust = pi.s.files["role"]["Role"]["AssumeRolePolicyDocument"].clone();
    let r = pi.run();
    let f = fails_with(&r, Cause::PodIdentityTrust);
    assert!(f.message.render().contains("pods.eks.amazonaws.com"));
    let cmd = f.fix[0].rule_command().unwrap();
    // The role of the cluster's own account: pasted, it still checks the caller's account
    // (a same-named role in staging must not be rewritten).
    let pasted = f.fix[0].command.as_deref().unwrap();
    assert!(
        pasted.contains("\nEOF\n[ \"$(aws sts get-caller-identity --query Account --output text)\" = 391252439823 ] ||"),
        "{pasted}"
    );
    assert_eq!(f.fix[0].account.as_deref(), Some("391252439823"));
    assert!(cmd.ends_with("\nEOF\naws iam update-assume-role-policy --role-name orders-use2-inventory-api-pi --policy-document file://trust-orders-use2-inventory-api-pi.json"), "{cmd}");
    // The fix's policy keeps the IRSA statement and, once applied, makes the twin healthy.
    let doc: Value = serde_json::from_str(heredoc(cmd)).unwrap();
    assert_eq!(doc["Statement"].as_array().unwrap().len(), 2);
    assert_eq!(doc["Statement"][0], pi.trust["Statement"][0]);
    pi.trust = doc;
    assert!(loud(&pi.run()).is_empty());
}

#[test]
fn trust_without_tag_session() {
    let mut pi = pi_healthy();
    pi.trust["Statement"][0]["Action"] = json!("sts:AssumeRole");
    let r = pi.run();
    let f = fails_with(&r, Cause::PodIdentityTrust);
    assert!(
        f.message.render().contains("sts:TagSession"),
        "{}",
        f.message.render()
    );
}

#[test]
fn trust_tag_condition_for_another_namespace() {
    let mut pi = pi_healthy();
    pi.trust["Statement"][0]["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-namespace"] =
        json!(["orders"]);
    let r = pi.run();
    fails_with(&r, Cause::PodIdentityTrust);
    // Twin: a pod-name condition cannot be decided offline: not checked, never works.
    let mut pi = pi_healthy();
    pi.trust["Statement"][0]["Condition"] =
        json!({"StringLike": {"aws:RequestTag/kubernetes-pod-name": "inventory-api-*"}});
    let r = pi.run();
    assert_eq!(chain(&r).verdict.status, Status::NotChecked, "{}", dump(&r));
}

#[test]
fn session_tags_disabled_but_required() {
    let mut pi = pi_healthy();
    pi.assoc["disableSessionTags"] = json!(true);
    let r = pi.run();
    let f = fails_with(&r, Cause::PodIdentitySessionTags);
    assert!(f.fix[0].command.as_deref().unwrap().contains(
        "aws eks update-pod-identity-association --cluster-name orders-use2 --region us-east-2 --association-id a-8pd3n0hjg7jnkzvmf --no-disable-session-tags"));
    assert!(
        !r.findings
            .iter()
            .any(|f| f.cause == Cause::PodIdentityTrust),
        "one cause, not two"
    );
    // Twin: tags disabled with a trust that does not condition on them works.
    let mut pi = pi_healthy();
    pi.assoc["disableSessionTags"] = json!(true);
    pi.trust["Statement"][0]
        .as_object_mut()
        .unwrap()
        .remove("Condition");
    pi.trust["Statement"][0]["Action"] = json!("sts:AssumeRole");
    let r = pi.run();
    assert!(loud(&r).is_empty(), "{:#?}", loud(&r));
    assert_eq!(chain(&r).verdict.status, Status::Works);
}

#[test]
fn target_role_must_trust_the_association_role() {
    let target = "arn:aws:iam::444455556666:role/inventory-data";
    let mut pi = pi_healthy();
    pi.assoc["targetRoleArn"] = json!(target);
    pi.assoc["externalId"] = json!("7b4b5a3e-8d33-4c35-9ef3-0c1d2e3f4a5b");
    let good = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": PI_ROLE}, "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {"sts:ExternalId": "7b4b5a3e-8d33-4c35-9ef3-0c1d2e3f4a5b"}}}]});
    let mut s = pi.scenario();
    s.add("iam-get-role-target.json", get_role(target, good.clone()));
    let r = s.run();
    assert!(loud(&r).is_empty(), "{:#?}", loud(&r));
    assert_eq!(chain(&r).verdict.status, Status::Works);
    assert!(chain(&r).verdict.reason.contains(target));
    // Broken twin: the external id differs.
    let mut bad = good;
    bad["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"] = json!("other");
    let mut s = pi.scenario();
    s.add("iam-get-role-target.json", get_role(target, bad));
    let r = s.run();
    let f = fails_with(&r, Cause::PodIdentityTrust);
    assert!(f.message.render().contains("target role"));
    let cmd = f.fix[0].command.as_deref().unwrap();
    // The target role is in another account: the pasted command checks the caller first.
    assert!(cmd.contains("= 444455556666 ]"), "{cmd}");
    let doc: Value = serde_json::from_str(heredoc(cmd)).unwrap();
    assert_eq!(
        doc["Statement"][1]["Condition"]["StringEquals"]["sts:ExternalId"],
        "7b4b5a3e-8d33-4c35-9ef3-0c1d2e3f4a5b"
    );
}

#[test]
fn agent_not_installed() {
    let mut pi = pi_healthy();
    pi.daemonset = Value::Null;
    pi.agent_pods.clear();
    pi.addon = None;
    let mut s = pi.scenario();
    s.add("addon-error.json", json!({"command": "aws eks describe-addon --cluster-name orders-use2 --addon-name eks-pod-identity-agent --region us-east-2",
        "error": "An error occurred (ResourceNotFoundException) when calling the DescribeAddon operation: No addon: eks-pod-identity-agent found in cluster: orders-use2"}));
    let r = s.run();
    let f = fails_with(&r, Cause::PodIdentityAgent);
    assert_eq!(
        f.predicted_error.as_deref(),
        Some(irsa_rules::pod_identity::AGENT_UNREACHABLE)
    );
    assert!(f.fix[0].command.as_deref().unwrap().contains(
        "aws eks create-addon --cluster-name orders-use2 --region us-east-2 --addon-name eks-pod-identity-agent"));
    // The recorded ResourceNotFoundException alone proves it (no DaemonSet listing).
    s.extra.retain(|(n, _)| n != "daemonsets.json");
    let r = s.run();
    let f = fails_with(&r, Cause::PodIdentityAgent);
    assert!(f.message.render().contains("ResourceNotFoundException"));
    // Twin: EKS Auto Mode has the agent built in.
    s.files.get_mut("cluster").unwrap()["cluster"]["computeConfig"] =
        json!({"enabled": true, "nodePools": ["general-purpose", "system"]});
    let r = s.run();
    assert!(
        !r.findings
            .iter()
            .any(|f| f.cause == Cause::PodIdentityAgent),
        "{}",
        dump(&r)
    );
    assert_eq!(chain(&r).verdict.status, Status::Works, "{}", dump(&r));
}

#[test]
fn agent_unknown_is_not_checked() {
    let pi = pi_healthy();
    let mut s = pi.scenario();
    s.extra
        .retain(|(n, _)| n != "daemonsets.json" && n != "kube-system-pods.json");
    let r = s.run();
    assert_eq!(chain(&r).verdict.status, Status::NotChecked, "{}", dump(&r));
}

#[test]
fn agent_not_ready_on_the_pods_node() {
    let mut pi = pi_healthy();
    pi.agent_pods[1] = agent_pod(1, NODES[1], false);
    pi.daemonset = agent_daemonset(true, vec![], 2);
    let r = pi.run();
    let f = fails_with(&r, Cause::PodIdentityAgent);
    assert_eq!(f.subject.kind, "Pod");
    assert!(f.message.render().contains(NODES[1]));
    // Twin: agent missing on a node where no inventory pod runs: healthy for this chain.
    let mut pi = pi_healthy();
    pi.agent_pods.push(agent_pod(
        9,
        "ip-10-0-99-9.us-east-2.compute.internal",
        false,
    ));
    let r = pi.run();
    assert_eq!(chain(&r).verdict.status, Status::Works, "{}", dump(&r));
}

#[test]
fn agent_without_ipv6_on_ipv6_cluster() {
    let mut pi = pi_healthy();
    pi.s.v("cluster")["cluster"]["kubernetesNetworkConfig"] =
        json!({"ipFamily": "ipv6", "serviceIpv6Cidr": "fd7b:4bd2:1b5c::/108"});
    pi.daemonset = agent_daemonset(true, vec!["--bind-hosts", "169.254.170.23"], 3);
    let r = pi.run();
    fails_with(&r, Cause::PodIdentityAgent);
    // Twin: the agent's defaults serve both addresses.
    pi.daemonset = agent_daemonset(true, vec![], 3);
    assert!(loud(&pi.run()).is_empty());
}

#[test]
fn agent_not_on_host_network() {
    let mut pi = pi_healthy();
    pi.daemonset = agent_daemonset(false, vec![], 3);
    fails_with(&pi.run(), Cause::PodIdentityAgent);
}

#[test]
fn proxy_without_no_proxy() {
    let mut pi = pi_healthy();
    let proxy = json!({"name": "HTTPS_PROXY", "value": "http://proxy.corp:3128"});
    pi.s.template()["containers"][0]["env"] = json!([proxy.clone()]);
    for p in pi.s.pods() {
        p["spec"]["containers"][0]["env"]
            .as_array_mut()
            .unwrap()
            .push(proxy.clone());
    }
    let r = pi.run();
    assert!(r
        .findings
        .iter()
        .any(|f| f.cause == Cause::PodIdentityAgent && f.severity == Severity::Warning));
    assert_eq!(chain(&r).verdict.status, Status::AtRisk);
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::PodIdentityAgent)
        .unwrap();
    assert_eq!(
        f.fix[0].rule_command(),
        Some("kubectl set env deployment/inventory-api -n inventory -c inventory-api NO_PROXY=169.254.170.23")
    );
    // Twin: NO_PROXY covers the agent.
    pi.s.template()["containers"][0]["env"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "NO_PROXY", "value": "localhost,169.254.170.23"}));
    for p in pi.s.pods() {
        p["spec"]["containers"][0]["env"].as_array_mut().unwrap().push(json!({"name": "NO_PROXY", "value": "localhost,169.254.169.254,169.254.170.23,.svc"}));
    }
    assert!(loud(&pi.run()).is_empty());
}

#[test]
fn pods_created_before_the_association() {
    let mut pi = pi_healthy();
    pi.assoc["createdAt"] = json!("2024-05-02T08:00:00.000000+00:00");
    for p in pi.s.pods() {
        unmutate(p);
    }
    let r = pi.run();
    let f = fails_with(&r, Cause::PodIdentityNotInjected);
    assert!(
        f.message.render().contains("before the association"),
        "{}",
        f.message.render()
    );
    assert_eq!(
        f.fix[0].rule_command(),
        Some("kubectl rollout restart deployment/inventory-api -n inventory")
    );
}

#[test]
fn pod_on_fargate_or_windows() {
    for labels in [
        json!({"eks.amazonaws.com/compute-type": "fargate"}),
        json!({}),
    ] {
        let mut pi = pi_healthy();
        let os = if labels.as_object().unwrap().is_empty() {
            "windows"
        } else {
            "linux"
        };
        pi.nodes[0] = node(NODES[0], labels, os);
        let r = pi.run();
        let f = fails_with(&r, Cause::PodIdentityNotInjected);
        assert!(f.message.render().contains("not available"));
        assert!(f.fix[0].rule_command().unwrap().starts_with("kubectl annotate serviceaccount inventory-api -n inventory eks.amazonaws.com/role-arn="));
    }
}

#[test]
fn sdk_too_old_for_pod_identity() {
    let mut pi = pi_healthy();
    // The minimums are the SDK data files' (the same as sdk-too-old's): boto3 reads
    // the agent's address from 1.29.0.
    pi.s.options.sdks = vec![("boto3".into(), "1.28.85".into())];
    let r = pi.run();
    let f = fails_with(&r, Cause::SdkTooOld);
    assert!(
        f.message.render().contains("1.29.0"),
        "{}",
        f.message.render()
    );
    // Twin: the same boto3 would be fine for IRSA, and a current one for Pod Identity.
    let mut pi = pi_healthy();
    pi.s.options.sdks = vec![("boto3".into(), "1.35.0".into())];
    assert!(loud(&pi.run()).is_empty());
    // The AWS CLI image of a pod.
    let mut pi = pi_healthy();
    pi.s.template()["containers"][0]["image"] = json!("amazon/aws-cli:2.13.0");
    for p in pi.s.pods() {
        p["spec"]["containers"][0]["image"] = json!("amazon/aws-cli:2.13.0");
    }
    fails_with(&pi.run(), Cause::SdkTooOld);
}

#[test]
fn both_mechanisms_on_one_service_account() {
    let mut pi = pi_healthy();
    pi.s.sa_annotations()["eks.amazonaws.com/role-arn"] = json!(ROLE);
    let r = pi.run();
    let f = finding(&r, Cause::MechanismConflict);
    assert_eq!(f.severity, Severity::Warning);
    let m = f.message.render();
    assert!(
        m.contains(&format!("gets role {PI_ROLE} via EKS Pod Identity")),
        "{m}"
    );
    assert!(m.contains("is ignored"));
    assert_eq!(r.chains.len(), 1, "one verdict per ServiceAccount");
    assert_eq!(chain(&r).mechanism, Mechanism::PodIdentity);
    assert_eq!(chain(&r).verdict.status, Status::AtRisk);
    // A pod that carries both sets of variables uses web identity in most SDKs: error.
    for p in pi.s.pods() {
        let env = p["spec"]["containers"][0]["env"].as_array_mut().unwrap();
        env.push(json!({"name": "AWS_ROLE_ARN", "value": ROLE}));
        env.push(json!({"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}));
    }
    let r = pi.run();
    assert!(r
        .findings
        .iter()
        .any(|f| f.cause == Cause::MechanismConflict
            && f.severity == Severity::Error
            && f.subject.kind == "Pod"));
    assert_eq!(chain(&r).verdict.status, Status::Fails);
    // Twin: same role on both: info only, works.
    let mut pi = pi_healthy();
    pi.s.sa_annotations()["eks.amazonaws.com/role-arn"] = json!(PI_ROLE);
    let r = pi.run();
    assert!(
        loud(&r)
            .iter()
            .all(|l| !l.starts_with("mechanism-conflict")),
        "{:#?}",
        loud(&r)
    );
}

#[test]
fn scoped_to_another_namespace_sees_nothing_of_it() {
    let mut pi = pi_healthy();
    pi.trust = json!({"Version": "2012-10-17", "Statement": []});
    pi.s.scope.namespace = Some("orders".into());
    let r = pi.scenario().run_with_rejects();
    assert!(!r
        .findings
        .iter()
        .any(|f| f.cause == Cause::PodIdentityTrust));
}

/// The bundled example: a namespace half-migrated from IRSA, three breaks, two healthy
/// ServiceAccounts (one per mechanism). One verdict per ServiceAccount, naming its mechanism.
#[test]
fn bundled_example_pod_identity_mixed() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/pod-identity-mixed");
    let snap = irsa_model::load_paths(&[dir], irsa_model::ContextFlags::default());
    assert!(
        snap.inputs.rejected.is_empty(),
        "{:?}",
        snap.inputs.rejected
    );
    let r = irsa_rules::check(
        &snap,
        &irsa_rules::Scope::default(),
        &irsa_rules::Options::default(),
    );
    let verdict = |name: &str| {
        let c = r
            .chains
            .iter()
            .find(|c| c.subject.name == name)
            .unwrap_or_else(|| panic!("{name}: {}", dump(&r)));
        (c.mechanism, c.verdict.status, c.verdict.cause)
    };
    assert_eq!(
        verdict("cart"),
        (Mechanism::PodIdentity, Status::Works, None),
        "{}",
        dump(&r)
    );
    assert_eq!(verdict("orders"), (Mechanism::Irsa, Status::Works, None));
    assert_eq!(
        verdict("checkout"),
        (
            Mechanism::PodIdentity,
            Status::Fails,
            Some(Cause::PodIdentityNotInjected)
        )
    );
    assert_eq!(
        verdict("search"),
        (
            Mechanism::PodIdentity,
            Status::Fails,
            Some(Cause::PodIdentityTrust)
        )
    );
    assert_eq!(
        verdict("recs"),
        (
            Mechanism::PodIdentity,
            Status::Fails,
            Some(Cause::PodIdentityAgent)
        )
    );
    assert_eq!(r.chains.len(), 5, "one verdict per ServiceAccount");
    assert!(r
        .findings
        .iter()
        .any(|f| f.cause == Cause::MechanismConflict && f.subject.name == "checkout"));
    assert!(r.not_checked.is_empty(), "{:#?}", r.not_checked);
}

/// An IRSA ServiceAccount next to a Pod Identity one: the agent's cluster-wide state is
/// not about web identity, and the IRSA chain stays IRSA's.
#[test]
fn agent_trouble_does_not_touch_irsa_chains() {
    let mut s = healthy();
    s.add("daemonsets.json", json!({"command": "kubectl get daemonsets -n kube-system -o json",
        "output": {"apiVersion": "v1", "kind": "List", "items": [agent_daemonset(false, vec![], 1)]}}));
    s.add(
        "pia.json",
        json!({"association": association(json!({"serviceAccount": "other"}))}),
    );
    let r = s.run();
    assert!(r
        .findings
        .iter()
        .any(|f| f.cause == Cause::PodIdentityAgent && f.severity == Severity::Error));
    let c = chain(&r);
    assert_eq!(c.mechanism, Mechanism::Irsa);
    assert_eq!(c.verdict.status, Status::Works, "{}", dump(&r));
}

/// The documented IAM policy of a controller release (the knowledge data).
fn documented_policy(id: &str, release: &str) -> Value {
    let c = irsa_knowledge::knowledge().controller(id).unwrap();
    let v = irsa_knowledge::Version::parse(release).unwrap();
    c.permissions_at(&v).unwrap().row.policy_document("aws")
}

/// Attaches a customer-managed policy with this document to `role` (its only policy).
fn attach(s: &mut Scenario, role: &str, tag: &str, document: Value) {
    let role_name = role.rsplit('/').next().unwrap();
    let arn = format!("arn:aws:iam::391252439823:policy/LbcPolicy-{tag}");
    s.add(&format!("attached-{tag}.json"), json!({"command": format!("aws iam list-attached-role-policies --role-name {role_name}"),
        "output": {"AttachedPolicies": [{"PolicyName": format!("LbcPolicy-{tag}"), "PolicyArn": arn}]}}));
    s.add(
        &format!("inline-{tag}.json"),
        json!({"command": format!("aws iam list-role-policies --role-name {role_name}"),
        "output": {"PolicyNames": []}}),
    );
    s.add(&format!("get-policy-{tag}.json"), json!({"Policy": {"PolicyName": format!("LbcPolicy-{tag}"), "Arn": arn, "DefaultVersionId": "v1"}}));
    s.add(&format!("get-policy-version-{tag}.json"), json!({"command": format!("aws iam get-policy-version --policy-arn {arn} --version-id v1"),
        "output": {"PolicyVersion": {"Document": document, "VersionId": "v1", "IsDefaultVersion": true}}}));
}

/// The permissions of the role the pods get through the association: a controller
/// release that needs an action its role's policy lacks fails the Pod Identity chain
/// (role-permissions, IRSA102); its own release's policy makes it work. With a target
/// role, the target role's policy is the one the pods use.
#[test]
fn association_role_lacking_a_controllers_action() {
    let image = "public.ecr.aws/eks/aws-load-balancer-controller:v2.10.0";
    let lbc = || {
        let mut pi = pi_healthy();
        pi.s.template()["containers"][0]["image"] = json!(image);
        for p in pi.s.pods() {
            p["spec"]["containers"][0]["image"] = json!(image);
        }
        pi
    };
    let id = "aws-load-balancer-controller";
    // Broken: the association role has the v2.9.0 policy.
    let mut s = lbc().scenario();
    attach(&mut s, PI_ROLE, "a", documented_policy(id, "v2.9.0"));
    let r = s.run();
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::RolePermissions && f.severity == Severity::Error)
        .unwrap_or_else(|| panic!("no role-permissions error:\n{}", dump(&r)));
    assert!(f.message.render().contains("ec2:GetSecurityGroupsForVpc"));
    let c = chain(&r);
    assert_eq!(c.mechanism, Mechanism::PodIdentity);
    assert_eq!(c.verdict.status, Status::Fails, "{}", dump(&r));
    assert_eq!(
        c.verdict.cause,
        Some(Cause::RolePermissions),
        "{}",
        dump(&r)
    );
    // Twin: the policy of the running release.
    let mut s = lbc().scenario();
    attach(&mut s, PI_ROLE, "a", documented_policy(id, "v2.10.0"));
    let r = s.run();
    assert!(loud(&r).is_empty(), "{:#?}", loud(&r));
    assert_eq!(chain(&r).verdict.status, Status::Works, "{}", dump(&r));
    // With a target role (same account), the pods use the target role's permissions:
    // the association role's full policy does not help when the target role lacks one.
    let target = "arn:aws:iam::391252439823:role/inventory-data";
    let mut pi = lbc();
    pi.assoc["targetRoleArn"] = json!(target);
    pi.assoc["externalId"] = json!("7b4b5a3e-8d33-4c35-9ef3-0c1d2e3f4a5b");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": PI_ROLE}, "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {"sts:ExternalId": "7b4b5a3e-8d33-4c35-9ef3-0c1d2e3f4a5b"}}}]});
    for (target_release, status) in [("v2.9.0", Status::Fails), ("v2.10.0", Status::Works)] {
        let mut s = pi.scenario();
        s.add("iam-get-role-target.json", get_role(target, trust.clone()));
        attach(&mut s, PI_ROLE, "a", documented_policy(id, "v2.10.0"));
        attach(&mut s, target, "t", documented_policy(id, target_release));
        let r = s.run();
        assert_eq!(
            chain(&r).verdict.status,
            status,
            "{target_release}:\n{}",
            dump(&r)
        );
        if status == Status::Fails {
            let f = fails_with(&r, Cause::RolePermissions);
            assert_eq!(f.role_arn.as_deref(), Some(target), "{}", dump(&r));
        }
    }
}

// ---- the node role (IRSA608) ----------------------------------------------------------

fn node_role_finding(r: &irsa_rules::Report) -> Vec<&irsa_rules::Finding> {
    r.findings.iter().filter(|f| f.rule == "IRSA608").collect()
}

#[test]
fn node_role_without_the_permission_fails_with_the_fix_in_its_account() {
    let mut pi = pi_healthy();
    let ecr = "arn:aws:iam::391252439823:policy/orders-use2-node-ecr";
    pi.node_files
        .retain(|(n, _)| n.starts_with("eks-describe-nodegroup"));
    pi.node_files.extend(node_role_files(
        NODE_ROLE,
        &[(ecr, Some(json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": "*"}]})))],
    ));
    let r = pi.run();
    let f = fails_with(&r, Cause::PodIdentityAgent);
    assert_eq!(f.rule, "IRSA608", "{}", dump(&r));
    assert_eq!(f.role_arn.as_deref(), Some(NODE_ROLE));
    assert!(f
        .message
        .render()
        .contains("node group orders-use2-general"));
    assert!(
        f.message.render().contains("3 pods using EKS Pod Identity"),
        "{}",
        f.message.render()
    );
    assert_eq!(
        f.predicted_error.as_deref(),
        Some(irsa_rules::rules::pod_identity_node_role::NODE_ROLE_DENIED)
    );
    // In the node role's account (the fix refuses to run with another account's credentials).
    let cmd = f.fix[0].command.as_deref().unwrap();
    assert!(cmd.contains("= 391252439823 ]"), "{cmd}");
    assert!(cmd.ends_with("\naws iam attach-role-policy --role-name orders-use2-node --policy-arn arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"), "{cmd}");
    assert!(f.fix[0].summary.contains("account 391252439823"));
    assert!(f.fix[1]
        .command
        .as_deref()
        .unwrap()
        .contains("aws iam put-role-policy --role-name orders-use2-node"));
    let c = chain(&r);
    assert_eq!(c.verdict.cause, Some(Cause::PodIdentityAgent));
    assert_eq!(c.verdict.rule, Some("IRSA608"));
    assert!(
        c.verdict.sts.contains("AccessDeniedException"),
        "{}",
        c.verdict.sts
    );
    // Healthy twin: AmazonEKSWorkerNodePolicy attached, its document collected.
    let r = pi_healthy().run();
    assert!(node_role_finding(&r).is_empty(), "{}", dump(&r));
    let c = chain(&r);
    assert_eq!(c.verdict.status, Status::Works);
    assert!(c.verdict.reason.contains(NODE_ROLE), "{}", c.verdict.reason);
    assert!(r.passes.iter().any(|p| p.rule == "IRSA608"
        && p.message
            .render()
            .contains("WorkerNodePermissions of managed policy AmazonEKSWorkerNodePolicy (v3)")));
}

#[test]
fn a_deny_or_a_boundary_refuses_even_with_the_managed_policy() {
    let mut pi = pi_healthy();
    let deny = "arn:aws:iam::391252439823:policy/no-pod-identity";
    pi.node_files
        .retain(|(n, _)| n.starts_with("eks-describe-nodegroup"));
    pi.node_files.extend(node_role_files(
        NODE_ROLE,
        &[
            (WORKER_POLICY, Some(worker_policy_document())),
            (deny, Some(json!({"Version": "2012-10-17", "Statement": [{"Sid": "NoPodIdentity", "Effect": "Deny",
                "Action": "eks-auth:*", "Resource": "*"}]}))),
        ],
    ));
    let r = pi.run();
    let f = fails_with(&r, Cause::PodIdentityAgent);
    assert!(
        f.message.render().contains("NoPodIdentity"),
        "{}",
        f.message.render()
    );
}

#[test]
fn a_documented_aws_managed_policy_grants_only_when_its_document_is_missing() {
    // The attachment is known, the document was not collected: the version AWS documents
    // decides, and the pass says so.
    let mut pi = pi_healthy();
    pi.node_files
        .retain(|(n, _)| n.starts_with("eks-describe-nodegroup"));
    pi.node_files
        .extend(node_role_files(NODE_ROLE, &[(WORKER_POLICY, None)]));
    let r = pi.run();
    assert_eq!(chain(&r).verdict.status, Status::Works, "{}", dump(&r));
    let pass = r.passes.iter().find(|p| p.rule == "IRSA608").expect("pass");
    assert!(
        pass.message
            .render()
            .contains("AmazonEKSWorkerNodePolicy.html"),
        "{}",
        pass.message.render()
    );
    // Twin: another attached policy whose document is missing (it may deny): not checked.
    let mut pi = pi_healthy();
    pi.node_files
        .retain(|(n, _)| n.starts_with("eks-describe-nodegroup"));
    pi.node_files.extend(node_role_files(
        NODE_ROLE,
        &[
            (WORKER_POLICY, None),
            ("arn:aws:iam::391252439823:policy/node-extra", None),
        ],
    ));
    let r = pi.run();
    let c = chain(&r);
    assert_eq!(c.verdict.status, Status::NotChecked, "{}", dump(&r));
    assert!(
        c.verdict.reason.contains(
            "aws iam get-policy --policy-arn arn:aws:iam::391252439823:policy/node-extra"
        ),
        "{}",
        c.verdict.reason
    );
    // A customer-managed policy that merely carries the AWS name is not the AWS one.
    let mut pi = pi_healthy();
    pi.node_files
        .retain(|(n, _)| n.starts_with("eks-describe-nodegroup"));
    pi.node_files.extend(node_role_files(
        NODE_ROLE,
        &[(
            "arn:aws:iam::391252439823:policy/AmazonEKSWorkerNodePolicy",
            None,
        )],
    ));
    let r = pi.run();
    assert_eq!(chain(&r).verdict.status, Status::NotChecked, "{}", dump(&r));
    // Both attached (same name, one AWS managed): the customer one's document still decides.
    let mut pi = pi_healthy();
    pi.node_files
        .retain(|(n, _)| n.starts_with("eks-describe-nodegroup"));
    pi.node_files.extend(node_role_files(
        NODE_ROLE,
        &[
            (WORKER_POLICY, None),
            (
                "arn:aws:iam::391252439823:policy/AmazonEKSWorkerNodePolicy",
                None,
            ),
        ],
    ));
    let r = pi.run();
    assert_eq!(chain(&r).verdict.status, Status::NotChecked, "{}", dump(&r));
}

#[test]
fn a_condition_on_tags_is_not_checked_never_a_pass() {
    let mut pi = pi_healthy();
    let scoped = "arn:aws:iam::391252439823:policy/pod-identity-tagged";
    pi.node_files
        .retain(|(n, _)| n.starts_with("eks-describe-nodegroup"));
    pi.node_files.extend(node_role_files(
        NODE_ROLE,
        &[(
            scoped,
            Some(
                json!({"Version": "2012-10-17", "Statement": [{"Sid": "Tagged", "Effect": "Allow",
            "Action": "eks-auth:AssumeRoleForPodIdentity", "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "inventory"}}}]}),
            ),
        )],
    ));
    let r = pi.run();
    let c = chain(&r);
    assert_eq!(c.verdict.status, Status::NotChecked, "{}", dump(&r));
    assert!(
        c.verdict.sts.starts_with("not checked:"),
        "{}",
        c.verdict.sts
    );
    let gap = node_role_finding(&r)
        .into_iter()
        .find(|f| f.cause == Cause::CollectionGap)
        .expect("gap");
    assert!(
        gap.message.render().contains("aws:ResourceTag/team"),
        "{}",
        gap.message.render()
    );
}

#[test]
fn node_role_unknown_is_not_checked_and_names_the_read() {
    // The node role's reads are missing.
    let mut pi = pi_healthy();
    pi.node_files
        .retain(|(n, _)| n.starts_with("eks-describe-nodegroup"));
    let r = pi.run();
    let c = chain(&r);
    assert_eq!(c.verdict.status, Status::NotChecked, "{}", dump(&r));
    assert!(
        c.verdict
            .reason
            .contains("aws iam get-role --role-name orders-use2-node"),
        "{}",
        c.verdict.reason
    );
    // The node group is not described.
    let mut pi = pi_healthy();
    pi.node_files
        .retain(|(n, _)| !n.starts_with("eks-describe-nodegroup"));
    let r = pi.run();
    let c = chain(&r);
    assert_eq!(c.verdict.status, Status::NotChecked, "{}", dump(&r));
    assert!(c.verdict.reason.contains(
        "aws eks describe-nodegroup --cluster-name orders-use2 --nodegroup-name orders-use2-general --region us-east-2"), "{}", c.verdict.reason);
    // Self-managed (and Karpenter) nodes: the role is an instance profile's.
    let mut pi = pi_healthy();
    for n in pi.nodes.iter_mut() {
        let labels = n["metadata"]["labels"].as_object_mut().unwrap();
        labels.remove("eks.amazonaws.com/nodegroup");
        labels.insert("karpenter.sh/nodepool".into(), json!("default"));
    }
    let r = pi.run();
    let c = chain(&r);
    assert_eq!(c.verdict.status, Status::NotChecked, "{}", dump(&r));
    assert!(
        c.verdict.reason.contains("Karpenter"),
        "{}",
        c.verdict.reason
    );
    assert!(
        c.verdict.reason.contains("aws ec2 describe-instances"),
        "{}",
        c.verdict.reason
    );
    // One gap per node, never per pod.
    let gaps = node_role_finding(&r).len();
    assert!(gaps <= NODES.len(), "{gaps}: {}", dump(&r));
    // The nodes are not in the snapshot.
    let mut pi = pi_healthy();
    pi.nodes.clear();
    let mut s = pi.scenario();
    s.extra.retain(|(n, _)| n != "nodes.json");
    let r = s.run();
    assert_eq!(chain(&r).verdict.status, Status::NotChecked, "{}", dump(&r));
}

fn auto_mode(pi: &mut Pi, node_role: &str) -> Scenario {
    pi.daemonset = Value::Null;
    pi.agent_pods.clear();
    pi.addon = None;
    for n in pi.nodes.iter_mut() {
        let labels = n["metadata"]["labels"].as_object_mut().unwrap();
        labels.remove("eks.amazonaws.com/nodegroup");
        labels.insert("eks.amazonaws.com/compute-type".into(), json!("auto"));
    }
    pi.node_files
        .retain(|(n, _)| !n.starts_with("eks-describe-nodegroup"));
    let mut s = pi.scenario();
    s.files.get_mut("cluster").unwrap()["cluster"]["computeConfig"] = json!({"enabled": true,
        "nodePools": ["general-purpose", "system"], "nodeRoleArn": node_role});
    s
}

#[test]
fn auto_mode_checks_the_clusters_node_role() {
    let auto_role = "arn:aws:iam::391252439823:role/AmazonEKSAutoNodeRole";
    let minimal = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodeMinimalPolicy";
    // The role AWS documents for Auto Mode: AmazonEKSWorkerNodeMinimalPolicy (its
    // document not collected: the documented version grants).
    let mut pi = pi_healthy();
    pi.node_files = node_role_files(auto_role, &[(minimal, None)]);
    let r = auto_mode(&mut pi, auto_role).run();
    let c = chain(&r);
    assert_eq!(c.verdict.status, Status::Works, "{}", dump(&r));
    assert!(c.verdict.reason.contains(auto_role));
    // Broken twin: the Auto Mode node role has nothing for EKS Auth.
    let mut pi = pi_healthy();
    pi.node_files = node_role_files(
        auto_role,
        &[(
            "arn:aws:iam::391252439823:policy/ecr-pull",
            Some(json!({"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ecr:BatchGetImage", "Resource": "*"}]})),
        )],
    );
    let r = auto_mode(&mut pi, auto_role).run();
    let f = fails_with(&r, Cause::PodIdentityAgent);
    assert!(
        f.message.render().contains("EKS Auto Mode"),
        "{}",
        f.message.render()
    );
    assert!(f.fix[0].command.as_deref().unwrap().ends_with(
        "aws iam attach-role-policy --role-name AmazonEKSAutoNodeRole --policy-arn arn:aws:iam::aws:policy/AmazonEKSWorkerNodeMinimalPolicy"));
    // The cluster's node role unknown (describe-cluster without it): not checked.
    let mut pi = pi_healthy();
    pi.node_files = node_role_files(auto_role, &[(minimal, None)]);
    let mut s = auto_mode(&mut pi, auto_role);
    s.files.get_mut("cluster").unwrap()["cluster"]["computeConfig"] =
        json!({"enabled": true, "nodePools": ["general-purpose", "system"]});
    let r = s.run();
    let c = chain(&r);
    assert_eq!(c.verdict.status, Status::NotChecked, "{}", dump(&r));
    assert!(
        c.verdict
            .reason
            .contains("aws eks describe-cluster --name orders-use2"),
        "{}",
        c.verdict.reason
    );
}
