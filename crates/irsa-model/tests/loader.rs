//! Every input shape of the snapshot format, as `kubectl` and the AWS CLI print it.

use irsa_model::{load_paths, ContextFlags, ExecEvidence, Listing, Loader, Snapshot, WorkloadKind};
use std::path::PathBuf;

fn load(files: &[(&str, &str)]) -> Snapshot {
    let mut l = Loader::new(ContextFlags::default());
    for (path, text) in files {
        l.add_text(path, text);
    }
    l.finish()
}

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn healthy_example_loads_completely() {
    let s = load_paths(&[examples().join("healthy")], ContextFlags::default());
    assert!(s.inputs.rejected.is_empty(), "{:?}", s.inputs.rejected);
    assert_eq!(s.inputs.files, 10);
    assert_eq!(s.service_accounts.len(), 1);
    assert_eq!(s.pods.len(), 3);
    assert_eq!(s.workloads.len(), 2);
    let c = s.cluster().unwrap();
    assert_eq!(c.name, "orders-use2");
    assert_eq!(c.region.as_deref(), Some("us-east-2"));
    assert_eq!(c.account.as_deref(), Some("391252439823"));
    assert_eq!(s.kubernetes_version(), Some((1, 29)));
    assert_eq!(
        s.issuer().as_deref(),
        Some("https://oidc.eks.us-east-2.amazonaws.com/id/C9013FD37C32992483E5BAA666194EC2")
    );
    assert_eq!(
        s.providers.len(),
        1,
        "listed and read provider merge: {:?}",
        s.providers
    );
    let p = &s.providers[0];
    assert_eq!(
        p.client_ids.as_deref(),
        Some(&["sts.amazonaws.com".to_string()][..])
    );
    assert!(s.providers_listed_in("391252439823"));
    let role = s
        .role("arn:aws:iam::391252439823:role/orders-use2-inventory-api")
        .unwrap();
    assert_eq!(
        role.trust
            .as_ref()
            .unwrap()
            .as_ref()
            .unwrap()
            .statements
            .len(),
        1
    );
    assert_eq!(s.caller_account.as_deref(), Some("391252439823"));
    assert!(s.pod_identity_webhook().unwrap().webhooks[0].covers_pod_create);
    let pod = &s.pods[0];
    assert_eq!(
        s.controller_of(pod),
        Some((WorkloadKind::Deployment, "inventory-api"))
    );
    assert_eq!(s.pods_of("inventory", "inventory-api").count(), 3);
    assert!(s.coverage.pods.covers("inventory"));
}

const SA_AND_POD_YAML: &str = r#"apiVersion: v1
kind: ServiceAccount
metadata:
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/web
  name: web
  namespace: team-a
---
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: team-a
spec:
  serviceAccountName: web
  containers:
  - name: app
    image: public.ecr.aws/docker/library/nginx:1.27
    env:
    - name: AWS_ROLE_ARN
      value: arn:aws:iam::111122223333:role/web
    - name: DB_PASSWORD
      valueFrom:
        secretKeyRef:
          name: db
          key: password
    securityContext:
      runAsUser: 1000
  securityContext:
    fsGroup: 65534
"#;

#[test]
fn multi_document_yaml() {
    let s = load(&[("sa-pod.yaml", SA_AND_POD_YAML)]);
    assert!(s.inputs.rejected.is_empty(), "{:?}", s.inputs.rejected);
    let sa = s.service_account("team-a", "web").unwrap();
    assert_eq!(
        sa.annotations.get_str("eks.amazonaws.com/role-arn"),
        Some("arn:aws:iam::111122223333:role/web")
    );
    let pod = &s.pods[0];
    assert_eq!(pod.spec.fs_group, Some(65534));
    let c = &pod.spec.containers[0];
    assert_eq!(c.run_as_user, Some(1000));
    assert!(c.env("DB_PASSWORD").unwrap().from_ref);
    // Single objects do not claim that their namespace was listed.
    assert_eq!(s.coverage.service_accounts, Listing::None);
}

#[test]
fn kubectl_yaml_list() {
    let text = r#"apiVersion: v1
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: default
    namespace: kube-system
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: aws-load-balancer-controller
    namespace: kube-system
kind: List
metadata:
  resourceVersion: ""
"#;
    let s = load(&[("sa.yaml", text)]);
    assert_eq!(s.service_accounts.len(), 2);
    assert!(s.coverage.service_accounts.covers("kube-system"));
    assert!(!s.coverage.service_accounts.covers("default"));
}

#[test]
fn api_server_lists_without_item_kinds() {
    // The EKS API server (and kube-rs) return list items without kind/apiVersion.
    let text = r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"123"},"items":[
      {"metadata":{"name":"p1","namespace":"ns","creationTimestamp":"2024-01-01T00:00:00Z"},"spec":{"serviceAccountName":"sa","containers":[{"name":"c","image":"x"}]}},
      {"metadata":{"name":"p2","namespace":"ns"},"spec":{"containers":[{"name":"c"}]}}]}"#;
    let s = load(&[("pods.json", text)]);
    assert_eq!(s.pods.len(), 2);
    assert_eq!(s.pods[1].spec.effective_service_account(), "default");
    assert_eq!(s.pods_of("ns", "sa").count(), 1);
}

#[test]
fn envelope_with_namespace_records_listing_even_when_empty() {
    let text = r#"{"command": "kubectl get serviceaccounts -n team-b -o json", "output": {"apiVersion": "v1", "items": [], "kind": "List", "metadata": {"resourceVersion": ""}}}"#;
    let s = load(&[("sa.json", text)]);
    assert!(
        s.coverage.service_accounts.covers("team-b"),
        "an empty List: the command says what was listed"
    );
    let text = r#"{"command": "kubectl get serviceaccounts -n team-b -l app=web -o json", "output": {"apiVersion": "v1", "items": [], "kind": "ServiceAccountList", "metadata": {"resourceVersion": ""}}}"#;
    let s = load(&[("sa.json", text)]);
    assert!(
        !s.coverage.service_accounts.covers("team-b"),
        "a label-selected list is not the namespace"
    );
    let text = r#"{"command": "kubectl get serviceaccounts -n team-b -o json", "output": {"apiVersion": "v1", "items": [], "kind": "ServiceAccountList", "metadata": {"resourceVersion": ""}}}"#;
    let s = load(&[("sa.json", text)]);
    assert!(s.coverage.service_accounts.covers("team-b"));
    let text =
        r#"{"command": "kubectl get pods -A -o json", "output": {"kind": "PodList", "items": []}}"#;
    let s = load(&[("p.json", text)]);
    assert_eq!(s.coverage.pods, Listing::All);
}

const GET_ROLE_URL_ENCODED: &str = r#"{
    "Role": {
        "Path": "/",
        "RoleName": "lbc",
        "RoleId": "AROAEXAMPLEID123",
        "Arn": "arn:aws:iam::111122223333:role/lbc",
        "CreateDate": "2021-04-22T06:39:21Z",
        "AssumeRolePolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Federated%22%3A%22arn%3Aaws%3Aiam%3A%3A111122223333%3Aoidc-provider%2Foidc.eks.us-west-2.amazonaws.com%2Fid%2FABC%22%7D%2C%22Action%22%3A%22sts%3AAssumeRoleWithWebIdentity%22%7D%5D%7D",
        "MaxSessionDuration": 3600
    }
}"#;

#[test]
fn raw_url_encoded_trust_policy() {
    let s = load(&[("role.json", GET_ROLE_URL_ENCODED)]);
    let r = s.role("arn:aws:iam::111122223333:role/lbc").unwrap();
    let doc = r.trust.as_ref().unwrap().as_ref().unwrap();
    assert_eq!(
        doc.statements[0].action.as_ref().unwrap()[0],
        "sts:AssumeRoleWithWebIdentity"
    );
    assert_eq!(r.attached_policies, None, "not collected is not empty");
}

#[test]
fn envelopes_name_their_subject() {
    let files = [
        ("role.json", GET_ROLE_URL_ENCODED),
        (
            "attached.json",
            r#"{"command": "aws iam list-attached-role-policies --role-name lbc", "output": {"AttachedPolicies": [{"PolicyName": "AWSLoadBalancerControllerIAMPolicy", "PolicyArn": "arn:aws:iam::111122223333:policy/AWSLoadBalancerControllerIAMPolicy"}]}}"#,
        ),
        (
            "inline.json",
            r#"{"command": "aws iam list-role-policies --role-name lbc", "output": {"PolicyNames": []}}"#,
        ),
        (
            "provider.json",
            r#"{"command": "aws iam get-open-id-connect-provider --open-id-connect-provider-arn arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC",
                "output": {"Url": "oidc.eks.us-west-2.amazonaws.com/id/ABC", "ClientIDList": ["sts.amazon.com"], "ThumbprintList": ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"], "CreateDate": "2021-01-21T04:29:09.788000+00:00", "Tags": []}}"#,
        ),
        (
            "env.json",
            "{\"command\": \"kubectl exec -n kube-system aws-load-balancer-controller-5d8f -c controller -- env\", \"output\": \"PATH=/usr/bin\\nAWS_ROLE_ARN=arn:aws:iam::111122223333:role/lbc\\nAWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token\\nAWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\\n\"}",
        ),
        (
            "id.json",
            "{\"command\": \"kubectl exec -n kube-system aws-load-balancer-controller-5d8f -- id\", \"output\": \"uid=65532(nonroot) gid=65532(nonroot) groups=65532(nonroot)\\n\"}",
        ),
    ];
    let s = load(&files);
    assert!(s.inputs.rejected.is_empty(), "{:?}", s.inputs.rejected);
    let r = s.role("arn:aws:iam::111122223333:role/lbc").unwrap();
    assert_eq!(
        r.attached_policies.as_ref().unwrap()[0].name,
        "AWSLoadBalancerControllerIAMPolicy"
    );
    assert_eq!(r.inline_policies.as_deref(), Some(&[][..]));
    let p = &s.providers[0];
    assert_eq!(p.account.as_deref(), Some("111122223333"));
    assert_eq!(
        p.client_ids.as_deref(),
        Some(&["sts.amazon.com".to_string()][..])
    );
    let env = s.exec.iter().find_map(|e| match &e.evidence {
        ExecEvidence::Env(m) => Some((e, m)),
        _ => None,
    });
    let (e, m) = env.unwrap();
    assert_eq!(e.container.as_deref(), Some("controller"));
    assert_eq!(
        m.get("AWS_ROLE_ARN").map(String::as_str),
        Some("arn:aws:iam::111122223333:role/lbc")
    );
    assert_eq!(
        m.get("AWS_SECRET_ACCESS_KEY").map(String::as_str),
        Some(irsa_model::REDACTED)
    );
    assert!(!m.contains_key("PATH"));
    let debug = format!("{:?}", s.exec);
    assert!(
        !debug.contains("wJalrXUtnFEMI"),
        "secret kept in memory model"
    );
    assert!(s.exec.iter().any(|e| e.evidence
        == ExecEvidence::Id {
            uid: 65532,
            gid: 65532,
            groups: vec![65532]
        }));
}

#[test]
fn bare_trust_policy_in_envelope_needs_an_account() {
    let doc = r#"{"command": "aws iam update-assume-role-policy --role-name app --policy-document file://trust.json", "output": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}"#;
    let s = load(&[("trust.json", doc)]);
    assert_eq!(s.roles.len(), 0);
    assert_eq!(s.inputs.rejected.len(), 1);
    assert!(s.inputs.rejected[0].error.contains("account is unknown"));
    let caller = r#"{"UserId": "AIDAEXAMPLE", "Account": "111122223333", "Arn": "arn:aws:iam::111122223333:user/ana"}"#;
    let s = load(&[("trust.json", doc), ("whoami.json", caller)]);
    assert!(s.role("arn:aws:iam::111122223333:role/app").is_some());
}

#[test]
fn list_roles_and_authorization_details() {
    let list = r#"{"Roles": [{"Path": "/", "RoleName": "a", "RoleId": "AROA1", "Arn": "arn:aws:iam::111122223333:role/a", "CreateDate": "2020-01-01T00:00:00Z", "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}, "MaxSessionDuration": 3600}]}"#;
    let details = r#"{"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [{"Path": "/team/", "RoleName": "b", "RoleId": "AROA2", "Arn": "arn:aws:iam::111122223333:role/team/b", "CreateDate": "2020-01-01T00:00:00Z",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
        "InstanceProfileList": [], "RolePolicyList": [{"PolicyName": "inline-s3", "PolicyDocument": {"Version": "2012-10-17", "Statement": []}}],
        "AttachedManagedPolicies": [{"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}], "Tags": [], "RoleLastUsed": {}}], "Policies": []}"#;
    let s = load(&[("roles.json", list), ("details.json", details)]);
    assert_eq!(s.roles.len(), 2);
    let b = s.role("arn:aws:iam::111122223333:role/team/b").unwrap();
    assert_eq!(b.path, "/team/");
    assert_eq!(
        b.inline_policies.as_deref(),
        Some(&["inline-s3".to_string()][..])
    );
    assert_eq!(b.attached_policies.as_ref().unwrap().len(), 1);
}

#[test]
fn pod_identity_associations() {
    let list = r#"{"associations": [{"clusterName": "prod", "namespace": "team-a", "serviceAccount": "web", "associationArn": "arn:aws:eks:us-east-1:111122223333:podidentityassociation/prod/a-1", "associationId": "a-1"}]}"#;
    let desc = r#"{"association": {"clusterName": "prod", "namespace": "team-a", "serviceAccount": "web", "roleArn": "arn:aws:iam::111122223333:role/web-pi", "associationArn": "x", "associationId": "a-1", "tags": {}, "createdAt": "2024-01-01T00:00:00Z", "modifiedAt": "2024-01-01T00:00:00Z"}}"#;
    let s = load(&[("pia.json", list), ("pia-1.json", desc)]);
    assert!(s.coverage.pod_identity_listed);
    assert_eq!(s.pod_identity.len(), 1);
    assert_eq!(
        s.pod_identity[0].role_arn.as_deref(),
        Some("arn:aws:iam::111122223333:role/web-pi")
    );
}

/// Every output shape of the Pod Identity inputs: the CLI's describe (ISO timestamps,
/// target role, session tags off, session policy), the raw API's epoch timestamps, the
/// describe (with the role) winning over the list row whatever the file order, the
/// add-on, the agent DaemonSet (YAML, bind hosts from its arguments), node groups and
/// nodes (OS, compute type). Shapes: API_PodIdentityAssociation.html,
/// API_DescribeAddon.html, API_DescribeNodegroup.html (EKS API reference).
#[test]
fn pod_identity_every_shape() {
    let desc = r#"{"association": {"clusterName": "prod", "namespace": "team-a", "serviceAccount": "web",
        "roleArn": "arn:aws:iam::111122223333:role/web-pi", "associationArn": "arn:aws:eks:us-east-1:111122223333:podidentityassociation/prod/a-1",
        "associationId": "a-1", "tags": {}, "createdAt": "2024-01-01T00:00:00.123000+00:00", "modifiedAt": 1704067200.5,
        "disableSessionTags": true, "targetRoleArn": "arn:aws:iam::444455556666:role/data", "externalId": "e-1",
        "policy": "{\"Version\":\"2012-10-17\",\"Statement\":[]}", "ownerArn": ""}}"#;
    let list = r#"{"associations": [{"clusterName": "prod", "namespace": "team-a", "serviceAccount": "web", "associationArn": "x", "associationId": "a-1"},
        {"clusterName": "prod", "namespace": "team-b", "serviceAccount": "api", "associationArn": "y", "associationId": "a-2"}], "nextToken": null}"#;
    let addon = r#"{"addon": {"addonName": "eks-pod-identity-agent", "clusterName": "prod", "status": "DEGRADED", "addonVersion": "v1.3.4-eksbuild.1",
        "health": {"issues": [{"code": "InsufficientNumberOfReplicas", "message": "The add-on is unhealthy because it doesn't have the desired number of replicas.", "resourceIds": []}]},
        "configurationValues": "", "tags": {}}}"#;
    let ds = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: eks-pod-identity-agent, namespace: kube-system}\nspec:\n  selector: {matchLabels: {app: a}}\n  template:\n    spec:\n      hostNetwork: true\n      containers:\n      - name: eks-pod-identity-agent\n        image: x\n        command: [/go-runner, /eks-pod-identity-agent, server]\n        args: [--port, \"80\", -b, 169.254.170.23]\nstatus: {desiredNumberScheduled: 4, numberReady: 3}\n";
    let ng = r#"{"nodegroup": {"nodegroupName": "win", "nodeRole": "arn:aws:iam::111122223333:role/nodes", "amiType": "WINDOWS_CORE_2022_x86_64"}}"#;
    let ngs = r#"{"nodegroups": ["general", "win"]}"#;
    let nodes = r#"{"apiVersion": "v1", "kind": "NodeList", "items": [
        {"metadata": {"name": "fargate-ip-10-0-1-2.ec2.internal", "labels": {"eks.amazonaws.com/compute-type": "fargate"}}, "status": {"nodeInfo": {"kubeletVersion": "v1.29.0-eks-1", "operatingSystem": "linux"}}},
        {"metadata": {"name": "ip-10-0-1-3.ec2.internal", "labels": {}}, "status": {"nodeInfo": {"operatingSystem": "windows"}, "addresses": [{"type": "InternalIP", "address": "10.0.1.3"}]}}]}"#;
    for order in [[desc, list], [list, desc]] {
        let s = load(&[
            ("a.json", order[0]),
            ("b.json", order[1]),
            ("addon.json", addon),
            ("ds.yaml", ds),
            ("ng.json", ng),
            ("ngs.json", ngs),
            ("nodes.json", nodes),
        ]);
        assert!(s.inputs.rejected.is_empty(), "{:?}", s.inputs.rejected);
        assert_eq!(s.pod_identity.len(), 2);
        let a = s.association_for("team-a", "web").unwrap();
        assert!(a.described);
        assert_eq!(
            a.effective_role(),
            Some("arn:aws:iam::444455556666:role/data")
        );
        assert_eq!(a.external_id.as_deref(), Some("e-1"));
        assert!(!a.session_tags());
        assert!(a.policy.is_some());
        assert_eq!(a.owner_arn.as_deref(), Some(""));
        assert_eq!(a.modified_at.as_deref(), Some("1704067200.5"));
        assert!(!s.association_for("team-b", "api").unwrap().described);
        let f = &s.pod_identity_facts;
        assert_eq!(
            f.addon.as_ref().unwrap().status.as_deref(),
            Some("DEGRADED")
        );
        assert_eq!(f.addon.as_ref().unwrap().issues.len(), 1);
        let agent = f.agent().unwrap();
        assert!(agent.host_network && agent.bind_hosts_explicit);
        assert_eq!(agent.bind_hosts, vec!["169.254.170.23"]);
        assert_eq!((agent.ready, agent.desired), (Some(3), Some(4)));
        assert_eq!(
            f.nodegroup("win").unwrap().node_role.as_deref(),
            Some("arn:aws:iam::111122223333:role/nodes")
        );
        assert_eq!(f.nodegroup_names, vec!["general", "win"]);
        assert_eq!(
            s.node("fargate-ip-10-0-1-2.ec2.internal")
                .unwrap()
                .compute(),
            irsa_model::Compute::Fargate
        );
        assert_eq!(
            s.node("ip-10-0-1-3.ec2.internal").unwrap().compute(),
            irsa_model::Compute::Windows
        );
    }
}

#[test]
fn workloads_of_every_kind() {
    let text = r#"apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: jobs}
spec:
  schedule: "0 0 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          serviceAccountName: batch
          containers: [{name: run, image: x}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  template:
    metadata: {labels: {app: agent}}
    spec:
      hostNetwork: true
      containers: [{name: a, image: y}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: data}
spec:
  template:
    spec:
      serviceAccountName: db
      containers: [{name: d, image: z}]
"#;
    let s = load(&[("w.yaml", text)]);
    assert_eq!(s.workloads.len(), 3);
    let cj = s
        .workload(WorkloadKind::CronJob, "jobs", "nightly")
        .unwrap();
    assert_eq!(cj.template.effective_service_account(), "batch");
    let ds = s
        .workload(WorkloadKind::DaemonSet, "kube-system", "agent")
        .unwrap();
    assert!(ds.template.host_network);
    assert_eq!(ds.template.effective_service_account(), "default");
}

#[test]
fn malformed_json_is_rejected_with_position_and_the_rest_loads() {
    let bad = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"ServiceAccount\",\n  \"metadata\": {\n    \"name\": \"x\",\n  }\n}";
    let s = load(&[("bad.json", bad), ("sa-pod.yaml", SA_AND_POD_YAML)]);
    assert_eq!(s.inputs.rejected.len(), 1);
    let r = &s.inputs.rejected[0];
    assert_eq!(r.path, "bad.json");
    assert_eq!(r.line, Some(6));
    assert_eq!(r.column, Some(3));
    assert!(r.to_string().starts_with("bad.json:6:3: "), "{r}");
    assert!(s.service_account("team-a", "web").is_some());
}

#[test]
fn malformed_list_item_is_located_in_the_file() {
    let text = "{\"kind\": \"List\", \"items\": [\n  {\"kind\": \"Pod\", \"metadata\": {\"name\": \"ok\"}, \"spec\": {\"containers\": []}},\n  {\"kind\": \"Pod\", \"metadata\": {\"name\": \"bad\"}, \"spec\": {\"containers\": \"nope\"}}\n]}";
    let s = load(&[("pods.json", text)]);
    assert_eq!(s.pods.len(), 1, "the good item still loads");
    let r = &s.inputs.rejected[0];
    assert_eq!(r.line, Some(3));
    assert!(r.column.unwrap() > 60, "{r}");
    assert!(r.error.starts_with("Pod: invalid type"), "{r}");
}

#[test]
fn malformed_yaml_is_rejected_with_line() {
    let text =
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: x\n  annotations: [unclosed\n";
    let s = load(&[("sa.yaml", text)]);
    assert_eq!(s.inputs.rejected.len(), 1);
    let r = &s.inputs.rejected[0];
    assert!(r.line.is_some(), "{r}");
    assert!(r.error.starts_with("invalid YAML"), "{r}");
}

#[test]
fn unknown_things_are_counted_not_dropped() {
    let s = load(&[
        (
            "cm.json",
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {}}"#,
        ),
        (
            "svc.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: x}}\n",
        ),
        ("odd.json", r#"{"hello": "world"}"#),
        ("array.json", r#"[1, 2]"#),
        ("notes.txt", "just some words\n"),
        ("empty.json", ""),
    ]);
    assert!(s.inputs.rejected.is_empty(), "{:?}", s.inputs.rejected);
    assert_eq!(s.inputs.skipped.get("kind ConfigMap"), Some(&1));
    assert_eq!(s.inputs.skipped.get("kind Service"), Some(&1));
    assert_eq!(s.inputs.skipped.get("unrecognised JSON document"), Some(&1));
    assert_eq!(s.inputs.skipped_total(), 6);
}

#[test]
fn directories_are_read_recursively_and_hidden_files_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
    std::fs::write(dir.path().join("a/b/sa.yaml"), SA_AND_POD_YAML).unwrap();
    std::fs::write(dir.path().join(".hidden.json"), "{broken").unwrap();
    std::fs::write(dir.path().join("role.json"), GET_ROLE_URL_ENCODED).unwrap();
    let s = load_paths(
        &[dir.path().to_path_buf(), dir.path().join("missing.json")],
        ContextFlags::default(),
    );
    assert_eq!(s.inputs.files, 2);
    assert_eq!(s.service_accounts.len(), 1);
    assert_eq!(s.roles.len(), 1);
    assert_eq!(s.inputs.rejected.len(), 1, "{:?}", s.inputs.rejected);
    assert!(s.inputs.rejected[0].error.starts_with("cannot read"));
}

#[test]
fn collection_failures_are_kept() {
    let text = r#"{"command": "aws iam get-role --role-name secret-app", "error": "AccessDenied: User: arn:aws:iam::111122223333:user/ana is not authorized to perform: iam:GetRole on resource: role secret-app"}"#;
    let s = load(&[("role.json", text)]);
    assert_eq!(s.inputs.collection_failures.len(), 1);
    assert!(s.inputs.collection_failures[0]
        .error
        .contains("iam:GetRole"));
}

#[test]
fn flags_fill_gaps_but_do_not_override() {
    let mut l = Loader::new(ContextFlags {
        issuer: Some("https://oidc.eks.eu-west-1.amazonaws.com/id/ABC".into()),
        account: Some("111122223333".into()),
        kubernetes_version: Some("1.18".into()),
        ..ContextFlags::default()
    });
    l.add_text(
        "x.json",
        r#"{"Account": "444455556666", "UserId": "u", "Arn": "arn:aws:iam::444455556666:user/u"}"#,
    );
    let s = l.finish();
    assert_eq!(
        s.region().as_deref(),
        Some("eu-west-1"),
        "region derived from the issuer"
    );
    assert_eq!(
        s.account().as_deref(),
        Some("444455556666"),
        "snapshot wins over the flag"
    );
    assert_eq!(s.kubernetes_version(), Some((1, 18)));
}

#[test]
fn kubectl_version_output() {
    let text = r#"{"command": "kubectl version -o json", "output": {"serverVersion": {"major": "1", "minor": "18+", "gitVersion": "v1.18.20-eks-8c579e", "platform": "linux/amd64"}}}"#;
    let s = load(&[("v.json", text)]);
    assert_eq!(s.kubernetes_version(), Some((1, 18)));
}

/// EKS Auto Mode in `aws eks describe-cluster`: `computeConfig.enabled` and the node role
/// of its built-in node pools (`nodeRoleArn`, API_ComputeConfigResponse.html); a cluster
/// without Auto Mode has neither (twin).
#[test]
fn auto_mode_node_role_of_describe_cluster() {
    let auto = r#"{"cluster": {"name": "auto", "arn": "arn:aws:eks:us-west-2:111122223333:cluster/auto",
        "version": "1.31", "identity": {"oidc": {"issuer": "https://oidc.eks.us-west-2.amazonaws.com/id/ABC"}},
        "computeConfig": {"enabled": true, "nodePools": ["general-purpose", "system"],
            "nodeRoleArn": "arn:aws:iam::111122223333:role/AmazonEKSAutoNodeRole"}}}"#;
    let s = load(&[("c.json", auto)]);
    let c = s.cluster().unwrap();
    assert_eq!(c.auto_mode, Some(true));
    assert_eq!(
        c.auto_mode_node_role.as_deref(),
        Some("arn:aws:iam::111122223333:role/AmazonEKSAutoNodeRole")
    );
    let plain = auto.replace(
        r#""computeConfig": {"enabled": true, "nodePools": ["general-purpose", "system"],
            "nodeRoleArn": "arn:aws:iam::111122223333:role/AmazonEKSAutoNodeRole"}"#,
        r#""computeConfig": {"enabled": false, "nodeRoleArn": ""}"#,
    );
    let s = load(&[("c.json", plain.as_str())]);
    let c = s.cluster().unwrap();
    assert_eq!(c.auto_mode, Some(false));
    assert_eq!(c.auto_mode_node_role, None);
}

#[test]
fn each_pods_controller_is_worked_out_once_and_says_what_working_it_out_says() {
    // Pod → ReplicaSet → Deployment; pod → ReplicaSet (absent) named after a present
    // Deployment; pod → Job → CronJob; pod → absent ReplicaSet; pod → DaemonSet; a
    // bare pod; an owner of a kind that is not a workload.
    let objects = r#"{"apiVersion": "v1", "kind": "List", "items": [
      {"kind": "Deployment", "metadata": {"name": "web", "namespace": "a"}},
      {"kind": "ReplicaSet", "metadata": {"name": "web-5d8f", "namespace": "a",
        "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": true}]}},
      {"kind": "Deployment", "metadata": {"name": "api", "namespace": "a"}},
      {"kind": "CronJob", "metadata": {"name": "nightly", "namespace": "b"}},
      {"kind": "Job", "metadata": {"name": "nightly-123", "namespace": "b",
        "ownerReferences": [{"kind": "CronJob", "name": "nightly", "controller": true}]}},
      {"kind": "Pod", "metadata": {"name": "p1", "namespace": "a",
        "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d8f", "controller": true}]}},
      {"kind": "Pod", "metadata": {"name": "p2", "namespace": "a",
        "ownerReferences": [{"kind": "ReplicaSet", "name": "api-77c9", "controller": true}]}},
      {"kind": "Pod", "metadata": {"name": "p3", "namespace": "b",
        "ownerReferences": [{"kind": "Job", "name": "nightly-123", "controller": true}]}},
      {"kind": "Pod", "metadata": {"name": "p4", "namespace": "b",
        "ownerReferences": [{"kind": "ReplicaSet", "name": "gone-1", "controller": true}]}},
      {"kind": "Pod", "metadata": {"name": "p5", "namespace": "b",
        "ownerReferences": [{"kind": "DaemonSet", "name": "agent", "controller": true}]}},
      {"kind": "Pod", "metadata": {"name": "p6", "namespace": "b"}},
      {"kind": "Pod", "metadata": {"name": "p7", "namespace": "b",
        "ownerReferences": [{"kind": "Node", "name": "ip-10-0-0-1", "controller": true}]}}
    ]}"#;
    let s = load(&[("objects.json", objects)]);
    let want = [
        Some((WorkloadKind::Deployment, "web")),
        Some((WorkloadKind::Deployment, "api")),
        Some((WorkloadKind::CronJob, "nightly")),
        Some((WorkloadKind::ReplicaSet, "gone-1")),
        Some((WorkloadKind::DaemonSet, "agent")),
        None,
        None,
    ];
    assert_eq!(s.pods.len(), want.len());
    for (pod, want) in s.pods.iter().zip(want) {
        assert_eq!(s.controller_of(pod), want, "{}", pod.name);
        // A copy of the pod (not one of the snapshot's) is worked out afresh.
        let copy = pod.clone();
        assert_eq!(s.controller_of(&copy), want, "{} (copy)", pod.name);
    }
}

/// The model holds each list at its length: parsed lists are not kept with the spare
/// room of their parsing (a large cluster's model was a third larger with it).
#[test]
fn model_lists_are_held_at_their_length() {
    let env: Vec<String> = (0..5)
        .map(|i| format!(r#"{{"name":"V{i}","value":"x"}}"#))
        .collect();
    let pod = |i: usize| {
        format!(
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p{i}","namespace":"n"}},
            "spec":{{"serviceAccountName":"s","containers":[{{"name":"c","env":[{}],
            "volumeMounts":[{{"name":"t","mountPath":"/t"}}]}}],
            "volumes":[{{"name":"t","projected":{{"sources":[{{"configMap":{{"name":"m"}}}},
            {{"serviceAccountToken":{{"path":"token"}}}}]}}}}]}}}}"#,
            env.join(",")
        )
    };
    let items: Vec<String> = (0..5).map(pod).collect();
    let list = format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#,
        items.join(",")
    );
    let envelope = format!(r#"{{"command":"kubectl get pods -A -o json","output":{list}}}"#);
    for (name, text) in [("pods.json", &list), ("envelope.json", &envelope)] {
        let snap = load(&[(name, text)]);
        assert_eq!(snap.pods.len(), 5, "{name}");
        let c = &snap.pods[0].spec.containers[0];
        assert_eq!((c.env.len(), c.env.capacity()), (5, 5), "{name}");
        assert_eq!(c.mounts.capacity(), 1, "{name}");
        let spec = &snap.pods[0].spec;
        assert_eq!(spec.containers.capacity(), 1, "{name}");
        assert_eq!(spec.volumes[0].tokens.len(), 1, "{name}");
        assert_eq!(spec.volumes[0].tokens.capacity(), 1, "{name}");
    }
    // A listing of pods sizes the pod vector once, from the listing.
    let snap = load(&[("envelope.json", &envelope)]);
    assert_eq!(snap.pods.capacity(), 5);
}
