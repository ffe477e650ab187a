//! Evidence beyond objects: recorded failures (the AWS CLI's and kubectl's error text,
//! saved as a file or as an envelope's output), Kubernetes Events and workload status
//! conditions, and volume mounts with `subPath`.

use irsa_model::{ContextFlags, Loader, Snapshot, WorkloadKind};

fn load(files: &[(&str, &str)]) -> Snapshot {
    let mut l = Loader::new(ContextFlags::default());
    for (path, text) in files {
        l.add_text(path, text);
    }
    l.finish()
}

#[test]
fn saved_aws_cli_error_text_is_a_recorded_failure_not_a_syntax_error() {
    // `aws iam get-role --role-name app > role.json 2>&1`: AWS CLI v2 prints a blank line first.
    let s = load(&[(
        "iam-get-role.json",
        "\nAn error occurred (NoSuchEntity) when calling the GetRole operation: The role with name app cannot be found.\n",
    )]);
    assert!(s.inputs.rejected.is_empty(), "{:?}", s.inputs.rejected);
    assert_eq!(s.inputs.skipped_total(), 0);
    let f = &s.inputs.collection_failures[0];
    assert_eq!(f.command, "aws iam get-role --role-name app");
    assert!(f.error.contains("(NoSuchEntity)"));
    assert_eq!(f.path, "iam-get-role.json");
}

#[test]
fn saved_kubectl_error_text_is_a_recorded_failure() {
    let s = load(&[
        (
            "sa.yaml",
            "Error from server (Forbidden): serviceaccounts is forbidden: User \"alice\" cannot list resource \"serviceaccounts\" in API group \"\" in the namespace \"team-a\"\n",
        ),
        (
            "mwc.yaml",
            "Error from server (NotFound): mutatingwebhookconfigurations.admissionregistration.k8s.io \"pod-identity-webhook\" not found\n",
        ),
    ]);
    assert!(s.inputs.rejected.is_empty(), "{:?}", s.inputs.rejected);
    let commands: Vec<&str> = s
        .inputs
        .collection_failures
        .iter()
        .map(|f| f.command.as_str())
        .collect();
    assert!(commands.contains(&"kubectl get serviceaccounts -n team-a"));
    assert!(commands.contains(
        &"kubectl get mutatingwebhookconfigurations.admissionregistration.k8s.io pod-identity-webhook"
    ));
}

#[test]
fn error_text_inside_an_envelope_keeps_the_envelopes_command() {
    let s = load(&[(
        "role.json",
        r#"{"command": "aws iam get-role --role-name app --profile prod", "output": "\nAn error occurred (AccessDenied) when calling the GetRole operation: User: arn:aws:sts::111122223333:assumed-role/ReadOnly/ana is not authorized to perform: iam:GetRole on resource: role app\n"}"#,
    )]);
    assert!(s.inputs.rejected.is_empty());
    let f = &s.inputs.collection_failures[0];
    assert_eq!(f.command, "aws iam get-role --role-name app --profile prod");
    assert_eq!(
        irsa_model::recorded::permission_named(&f.error).as_deref(),
        Some("iam:GetRole")
    );
}

#[test]
fn plain_text_is_still_skipped_and_broken_yaml_still_rejected() {
    let s = load(&[
        ("notes.txt", "just some text\n"),
        ("bad.yaml", "apiVersion: v1\nkind: List\nitems:\n\t- bad\n"),
    ]);
    assert!(s.inputs.collection_failures.is_empty());
    assert_eq!(s.inputs.rejected.len(), 1);
    assert_eq!(s.inputs.skipped_total(), 1);
}

#[test]
fn events_core_v1_and_events_k8s_io() {
    let core = r#"{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Event",
        "count": 14, "firstTimestamp": "2024-06-01T10:00:00Z", "lastTimestamp": "2024-06-01T10:12:00Z",
        "involvedObject": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8f7c6b9", "namespace": "team-a", "resourceVersion": "1234", "uid": "0f6b7f6e-1"},
        "message": "Error creating: pods \"web-5d8f7c6b9-\" is forbidden: error looking up service account team-a/web: serviceaccount \"web\" not found",
        "metadata": {"name": "web-5d8f7c6b9.17d8a3c1b2", "namespace": "team-a"},
        "reason": "FailedCreate", "reportingComponent": "replicaset-controller", "source": {"component": "replicaset-controller"}, "type": "Warning"}]}"#;
    let v1 = "apiVersion: events.k8s.io/v1\nkind: Event\nmetadata:\n  name: etl-0.17d8\n  namespace: batch\nregarding:\n  kind: StatefulSet\n  name: etl\n  namespace: batch\nreason: FailedCreate\nnote: 'create Pod etl-0 in StatefulSet etl failed error: pods \"etl-0\" is forbidden: error looking up service account batch/etl: serviceaccount \"etl\" not found'\ntype: Warning\nseries:\n  count: 19\n";
    let s = load(&[("events.json", core), ("event.yaml", v1)]);
    assert!(s.inputs.rejected.is_empty(), "{:?}", s.inputs.rejected);
    assert_eq!(s.events.len(), 2);
    let e = &s.events[0];
    assert_eq!(
        (
            e.namespace.as_str(),
            e.object_kind.as_str(),
            e.object_name.as_str()
        ),
        ("team-a", "ReplicaSet", "web-5d8f7c6b9")
    );
    assert_eq!(e.count, Some(14));
    assert!(e
        .message
        .contains("error looking up service account team-a/web"));
    assert_eq!(s.events[1].object_kind, "StatefulSet");
    assert_eq!(s.events[1].count, Some(19));
}

#[test]
fn workload_conditions_are_read() {
    let rs = r#"{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-5d8f7c6b9", "namespace": "team-a",
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "controller": true, "uid": "1"}]},
        "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"serviceAccountName": "web", "containers": [{"name": "web", "image": "web:1"}]}}},
        "status": {"replicas": 0, "conditions": [{"lastTransitionTime": "2024-06-01T10:00:00Z", "type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
            "message": "pods \"web-5d8f7c6b9-\" is forbidden: error looking up service account team-a/web: serviceaccount \"web\" not found"}]}}"#;
    let s = load(&[("rs.json", rs)]);
    let w = s
        .workload(WorkloadKind::ReplicaSet, "team-a", "web-5d8f7c6b9")
        .unwrap();
    assert_eq!(w.conditions.len(), 1);
    assert_eq!(w.conditions[0].kind, "ReplicaFailure");
    assert_eq!(w.conditions[0].reason.as_deref(), Some("FailedCreate"));
}

#[test]
fn sub_path_mounts_are_kept() {
    let pod = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
        "spec": {"containers": [{"name": "c", "volumeMounts": [{"name": "aws-iam-token", "mountPath": "/token", "subPath": "token", "readOnly": true}]}]}}"#;
    let s = load(&[("p.json", pod)]);
    let m = &s.pods[0].spec.containers[0].mounts[0];
    assert_eq!(
        (m.name.as_str(), m.path.as_str(), m.sub_path.as_deref()),
        ("aws-iam-token", "/token", Some("token"))
    );
}

#[test]
fn a_label_selected_list_is_not_the_namespace() {
    // `kubectl get pods -l …` lists some pods: absence of others is not a fact.
    let pods = r#"{"command": "kubectl get pods -n kube-system -l app.kubernetes.io/name=aws-load-balancer-controller -o json",
        "output": {"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "lbc-1", "namespace": "kube-system"}, "spec": {"containers": [{"name": "c"}]}}]}}"#;
    let s = load(&[("pods.json", pods)]);
    assert_eq!(s.pods.len(), 1);
    assert!(!s.coverage.pods.covers("kube-system"));
    // Twin: the whole namespace.
    let all = pods.replace(
        " -l app.kubernetes.io/name=aws-load-balancer-controller",
        "",
    );
    let s = load(&[("pods.json", &all)]);
    assert!(s.coverage.pods.covers("kube-system"));
    let mwc = r#"{"command": "kubectl get mutatingwebhookconfigurations -l team=x -o json", "output": {"apiVersion": "v1", "kind": "List", "items": []}}"#;
    assert!(!load(&[("mwc.json", mwc)]).coverage.webhooks_listed);
}
