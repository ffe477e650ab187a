//! Scale generator: a large snapshot built from the real healthy sample (10,000
//! ServiceAccounts, 20,000 mutated pods, 10,000 Deployments, 2,000 roles by default),
//! for the offline scale benchmark and the live test-world benchmark; [`Shape::SmallPods`]
//! is the small-pod shape (many small objects per megabyte).

use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

fn read(root: &Path, rel: &str) -> Value {
    let text = std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    serde_json::from_str(&text).expect("sample is JSON")
}

fn write(dir: &Path, name: &str, v: &Value) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join(name)).expect("create"));
    // kubectl and the AWS CLI print indented JSON.
    serde_json::to_writer_pretty(&mut f, v).expect("write");
    f.write_all(b"\n").expect("write");
}

/// The shape of a generated snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The project's own: the real sample pod (about 8 KB as printed), one Deployment per
    /// ServiceAccount, roles in `aws iam get-account-authorization-details`.
    Large,
    /// Small pods (the sample pod without its status details, tolerations and default
    /// token volume: about 3 KB as printed, still mutated for IRSA), no workloads, roles
    /// in one `aws iam list-roles` output.
    SmallPods,
}

/// Writes the snapshot into `dir`; returns its size in bytes.
pub fn generate(dir: &Path, n_sa: usize, n_pods: usize, n_roles: usize) -> u64 {
    generate_shape(dir, n_sa, n_pods, n_roles, Shape::Large)
}

/// The sample pod cut down to what a small workload prints: no status details, no
/// tolerations, no default API-access token volume, a container without ports or
/// resources. The IRSA mutation (env and token volume) is kept.
fn small_pod(mut p: Value) -> Value {
    if let Some(spec) = p["spec"].as_object_mut() {
        for k in [
            "tolerations",
            "preemptionPolicy",
            "priority",
            "schedulerName",
            "enableServiceLinks",
            "terminationGracePeriodSeconds",
            "securityContext",
            "dnsPolicy",
        ] {
            spec.remove(k);
        }
    }
    let status = json!({"phase": p["status"]["phase"], "podIP": p["status"]["podIP"]});
    p["status"] = status;
    if let Some(v) = p["spec"]["volumes"].as_array_mut() {
        v.retain(|v| v["name"] == "aws-iam-token");
    }
    if let Some(c) = p["spec"]["containers"][0].as_object_mut() {
        for k in [
            "ports",
            "resources",
            "terminationMessagePath",
            "terminationMessagePolicy",
            "imagePullPolicy",
        ] {
            c.remove(k);
        }
        if let Some(m) = c.get_mut("volumeMounts").and_then(Value::as_array_mut) {
            m.retain(|m| m["name"] == "aws-iam-token");
        }
    }
    if let Some(m) = p["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
    p
}

/// Writes a snapshot of the given shape into `dir`; returns its size in bytes.
pub fn generate_shape(dir: &Path, n_sa: usize, n_pods: usize, n_roles: usize, shape: Shape) -> u64 {
    std::fs::create_dir_all(dir).expect("create dir");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/healthy");
    let account = "391252439823";
    let iss = "oidc.eks.us-east-2.amazonaws.com/id/C9013FD37C32992483E5BAA666194EC2";
    let provider = format!("arn:aws:iam::{account}:oidc-provider/{iss}");

    for f in [
        "aws/eks-describe-cluster.json",
        "aws/iam-list-open-id-connect-providers.json",
        "aws/iam-get-open-id-connect-provider.json",
        "aws/sts-get-caller-identity.json",
        "k8s/mutatingwebhookconfiguration.json",
    ] {
        write(dir, &f.replace('/', "-"), &read(&root, f));
    }
    let sa_template = read(&root, "k8s/sa.json");
    let pod_template = read(&root, "k8s/pods.json")["items"][0].clone();
    let pod_template = match shape {
        Shape::Large => pod_template,
        Shape::SmallPods => small_pod(pod_template),
    };
    let deploy_template = read(&root, "k8s/deployment.json");
    let role_template =
        read(&root, "aws/iam-get-role-orders-use2-inventory-api.json")["Role"].clone();

    let ns_of = |i: usize| format!("team-{:03}", i % 200);
    let sa_name = |i: usize| format!("svc-{i:05}");
    let role_name = |i: usize| format!("irsa-role-{:04}", i % n_roles);

    let mut sas = Vec::with_capacity(n_sa);
    let mut deploys = Vec::with_capacity(n_sa);
    for i in 0..n_sa {
        let mut sa = sa_template.clone();
        sa["metadata"]["name"] = json!(sa_name(i));
        sa["metadata"]["namespace"] = json!(ns_of(i));
        sa["metadata"]["uid"] = json!(format!("c9d26a38-ab21-4516-b9fb-{i:012}"));
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] =
            json!(format!("arn:aws:iam::{account}:role/{}", role_name(i)));
        sas.push(sa);
        let mut d = deploy_template.clone();
        d["metadata"]["name"] = json!(sa_name(i));
        d["metadata"]["namespace"] = json!(ns_of(i));
        d["spec"]["template"]["spec"]["serviceAccountName"] = json!(sa_name(i));
        d["spec"]["template"]["spec"]["serviceAccount"] = json!(sa_name(i));
        deploys.push(d);
    }
    write(
        dir,
        "kubectl-get-sa.json",
        &json!({"command": "kubectl get serviceaccounts -A -o json", "output": {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": sas}}),
    );
    if shape == Shape::Large {
        write(
            dir,
            "kubectl-get-deployments.json",
            &json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": deploys}),
        );
    }

    let mut pods = Vec::with_capacity(n_pods);
    for j in 0..n_pods {
        let i = j % n_sa;
        let mut p = pod_template.clone();
        let hash = format!("{:09x}", i);
        p["metadata"]["name"] = json!(format!("{}-{hash}-{j:05}", sa_name(i)));
        p["metadata"]["namespace"] = json!(ns_of(i));
        p["metadata"]["generateName"] = json!(format!("{}-{hash}-", sa_name(i)));
        p["metadata"]["uid"] = json!(format!("0952bef6-cab7-49a2-b614-{j:012}"));
        p["metadata"]["ownerReferences"][0]["name"] = json!(format!("{}-{hash}", sa_name(i)));
        p["spec"]["serviceAccountName"] = json!(sa_name(i));
        p["spec"]["serviceAccount"] = json!(sa_name(i));
        p["spec"]["containers"][0]["env"][3]["value"] =
            json!(format!("arn:aws:iam::{account}:role/{}", role_name(i)));
        pods.push(p);
    }
    write(
        dir,
        "kubectl-get-pods.json",
        &json!({"command": "kubectl get pods -A -o json", "output": {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": pods}}),
    );

    let mut roles = Vec::with_capacity(n_roles);
    for r in 0..n_roles {
        let mut role = role_template.clone();
        let name = role_name(r);
        role["RoleName"] = json!(name);
        role["Arn"] = json!(format!("arn:aws:iam::{account}:role/{name}"));
        // Each role trusts the ServiceAccounts that use it (a namespace wildcard for
        // every fifth role, as teams do).
        let subs: Vec<String> = (r..n_sa)
            .step_by(n_roles)
            .map(|i| format!("system:serviceaccount:{}:{}", ns_of(i), sa_name(i)))
            .collect();
        let (op, subs) = if r % 5 == 0 {
            // A namespace wildcard per namespace its ServiceAccounts live in.
            let mut namespaces: Vec<String> = (r..n_sa)
                .step_by(n_roles)
                .map(|i| format!("system:serviceaccount:{}:*", ns_of(i)))
                .collect();
            namespaces.sort();
            namespaces.dedup();
            ("StringLike", json!(namespaces))
        } else {
            ("StringEquals", json!(subs))
        };
        let mut condition = json!({"StringEquals": {format!("{iss}:aud"): "sts.amazonaws.com"}});
        condition
            .as_object_mut()
            .expect("object")
            .entry(op)
            .or_insert_with(|| json!({}))[format!("{iss}:sub")] = subs;
        role["AssumeRolePolicyDocument"] = json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition}]});
        if shape == Shape::Large {
            role["AttachedManagedPolicies"] = json!([{"PolicyName": format!("{name}-access"), "PolicyArn": format!("arn:aws:iam::{account}:policy/{name}-access")}]);
            role["RolePolicyList"] = json!([]);
        } else if let Some(r) = role.as_object_mut() {
            // `aws iam list-roles` prints neither the last use nor the policies.
            r.remove("RoleLastUsed");
        }
        roles.push(role);
    }
    match shape {
        Shape::Large => write(
            dir,
            "aws-iam-get-account-authorization-details.json",
            &json!({"RoleDetailList": roles, "UserDetailList": [], "GroupDetailList": [], "Policies": []}),
        ),
        Shape::SmallPods => write(dir, "aws-iam-list-roles.json", &json!({"Roles": roles})),
    }
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum()
}
