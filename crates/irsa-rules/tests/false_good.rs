//! No false "all good", no false alarm: each class of pod-level evidence, built from the
//! real healthy sample (kubectl/aws output as printed) with one link broken, and its
//! healthy twin. The per-ServiceAccount verdict is checked with each.

mod support;

use irsa_rules::{Cause, Report, Severity, Status};
use serde_json::{json, Value};
use support::*;

const TOKEN_FILE: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";
const TOKEN_DIR: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount";

fn status(r: &Report) -> Status {
    assert_eq!(r.chains.len(), 1, "{:?}", r.chains);
    r.chains[0].verdict.status
}

#[track_caller]
fn verdict_is(r: &Report, want: Status, cause: Option<Cause>) {
    assert_eq!(r.chains.len(), 1, "{:?}", r.chains);
    let v = &r.chains[0].verdict;
    assert_eq!(v.status, want, "{v:?}\n{}", dump(r));
    if let Some(c) = cause {
        assert_eq!(v.cause, Some(c), "{v:?}");
    }
}

fn no_loud(r: &Report) {
    let loud: Vec<String> = r
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .map(|f| f.message.render())
        .collect();
    assert!(loud.is_empty(), "{loud:#?}");
}

/// A container of the sample pod, with the webhook's pair and (optionally) its mount.
fn container(name: &str, env: Value, mounts: Value) -> Value {
    json!({"name": name, "image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0",
           "imagePullPolicy": "IfNotPresent", "env": env, "volumeMounts": mounts,
           "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"})
}

fn injected_env() -> Value {
    json!([
        {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
        {"name": "AWS_DEFAULT_REGION", "value": "us-east-2"},
        {"name": "AWS_REGION", "value": "us-east-2"},
        {"name": "AWS_ROLE_ARN", "value": ROLE},
        {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": TOKEN_FILE}
    ])
}

fn token_mount() -> Value {
    json!({"mountPath": TOKEN_DIR, "name": "aws-iam-token", "readOnly": true})
}

// ---- 1. Token mount per container -------------------------------------------------

#[test]
fn class1_sidecar_with_the_pair_but_no_mount() {
    let mut s = healthy();
    for p in s.pods() {
        p["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(container("otel", injected_env(), json!([])));
    }
    let r = s.run();
    expect(&r, &[Cause::PodTokenMount], &[Cause::PodNotMutated]);
    let f = finding(&r, Cause::PodTokenMount);
    // Grouped on the workload, naming the container, the path and the SDK's error.
    assert_eq!(f.subject.display(), "Deployment inventory/inventory-api");
    let m = f.message.render();
    assert!(
        m.contains("container `otel`") && m.contains("(3 pods)"),
        "{m}"
    );
    assert!(
        m.contains(&format!("open {TOKEN_FILE}: no such file or directory")),
        "{m}"
    );
    assert_eq!(f.role_arn.as_deref(), Some(ROLE));
    assert!(f.fix.iter().any(|x| x.rule_command()
        == Some("kubectl rollout restart deployment/inventory-api -n inventory")));
    // Pasted, it runs only where kubectl's current context is this cluster.
    let restart = f
        .fix
        .iter()
        .find(|x| {
            x.rule_command()
                .is_some_and(|c| c.contains("rollout restart"))
        })
        .unwrap();
    let guarded = restart.command.as_deref().unwrap();
    assert!(
        guarded.starts_with("[ \"$(kubectl config view --minify")
            && guarded
                .ends_with("&&\nkubectl rollout restart deployment/inventory-api -n inventory"),
        "{guarded}"
    );
    assert!(restart
        .cluster
        .as_ref()
        .is_some_and(|c| c.endpoint.is_some()));
    // The pods no longer pass as "carrying the token", and the verdict is a failure.
    assert!(!r.passes.iter().any(|p| p.rule == "IRSA411"));
    verdict_is(&r, Status::Fails, Some(Cause::PodTokenMount));
}

#[test]
fn class1_healthy_twin_sidecar_with_its_mount() {
    let mut s = healthy();
    for p in s.pods() {
        p["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(container("otel", injected_env(), json!([token_mount()])));
    }
    let r = s.run();
    no_loud(&r);
    assert!(r.passes.iter().any(|p| p.rule == "IRSA411"));
    verdict_is(&r, Status::Works, None);
}

#[test]
fn class1_init_container_without_the_mount() {
    let mut s = healthy();
    for p in s.pods() {
        p["spec"]["initContainers"] = json!([container("migrate", injected_env(), json!([]))]);
    }
    let r = s.run();
    expect(&r, &[Cause::PodTokenMount], &[]);
    assert!(dump(&r).contains("container `migrate`"));
    // Twin: the init container has the mount.
    let mut s = healthy();
    for p in s.pods() {
        p["spec"]["initContainers"] =
            json!([container("migrate", injected_env(), json!([token_mount()]))]);
    }
    no_loud(&s.run());
}

#[test]
fn class1_skip_containers_entry_that_still_sets_the_variable() {
    let mut s = healthy();
    for p in s.pods() {
        p["metadata"]["annotations"] = json!({"eks.amazonaws.com/skip-containers": "envoy"});
        let env = json!([{"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": TOKEN_FILE}, {"name": "AWS_ROLE_ARN", "value": ROLE}]);
        p["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(container("envoy", env, json!([])));
    }
    let r = s.run();
    expect(&r, &[Cause::PodTokenMount], &[]);
    let f = finding(&r, Cause::PodTokenMount);
    assert!(
        f.message.render().contains("skip-containers"),
        "{}",
        f.message.render()
    );
    assert!(f.fix[0].summary.contains("skip-containers"));
    // Twin: the skipped sidecar sets nothing (checked in the scenarios' healthy set too).
    let mut s = healthy();
    for p in s.pods() {
        p["metadata"]["annotations"] = json!({"eks.amazonaws.com/skip-containers": "envoy"});
        p["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "envoy", "image": "envoyproxy/envoy:v1.30.1"}));
    }
    no_loud(&s.run());
}

#[test]
fn class1_windows_paths() {
    // What the webhook writes on a Windows pod: a C:\ path in the env, a Unix mount path.
    let win = r"C:\var\run\secrets\eks.amazonaws.com\serviceaccount\token";
    let set = |s: &mut Scenario, windows: bool| {
        for p in s.pods() {
            if windows {
                p["spec"]["nodeSelector"] = json!({"kubernetes.io/os": "windows"});
            }
            for e in p["spec"]["containers"][0]["env"].as_array_mut().unwrap() {
                if e["name"] == "AWS_WEB_IDENTITY_TOKEN_FILE" {
                    e["value"] = json!(win);
                }
            }
        }
    };
    let mut s = healthy();
    set(&mut s, true);
    let r = s.run();
    no_loud(&r);
    verdict_is(&r, Status::Works, None);
    // The same value on a Linux pod names no file.
    let mut s = healthy();
    set(&mut s, false);
    expect(&s.run(), &[Cause::PodTokenMount], &[]);
}

#[test]
fn class1_own_mount_named_like_the_webhooks_elsewhere() {
    let mut s = healthy();
    for p in s.pods() {
        for m in p["spec"]["containers"][0]["volumeMounts"]
            .as_array_mut()
            .unwrap()
        {
            if m["name"] == "aws-iam-token" {
                m["mountPath"] = json!("/aws/token");
            }
        }
    }
    let r = s.run();
    expect(&r, &[Cause::PodTokenMount], &[]);
    let f = finding(&r, Cause::PodTokenMount);
    assert!(
        f.fix.iter().any(|x| x
            .summary
            .contains("its own volumeMount named aws-iam-token")),
        "{:?}",
        f.fix
    );
}

#[test]
fn class1_preset_in_the_template_is_fixed_on_the_template() {
    let mut s = healthy();
    // A hand-written spec: the pair copied into the template, no mount.
    s.template()["containers"][0]["env"] = json!([
        {"name": "AWS_ROLE_ARN", "value": ROLE},
        {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/aws/token"}
    ]);
    for p in s.pods() {
        p["spec"]["containers"][0]["env"] = json!([
            {"name": "AWS_ROLE_ARN", "value": ROLE},
            {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/aws/token"}
        ]);
    }
    let r = s.run();
    expect(&r, &[Cause::PodTokenMount], &[]);
    let f = finding(&r, Cause::PodTokenMount);
    assert_eq!(
        f.fix[0].rule_command(),
        Some("kubectl set env deployment/inventory-api -n inventory -c inventory-api AWS_WEB_IDENTITY_TOKEN_FILE- AWS_ROLE_ARN-")
    );
}

#[test]
fn class1_pod_identity_token_file_without_its_mount() {
    let mut s = healthy();
    for p in s.pods() {
        p["spec"]["containers"][0]["env"] = json!([
            {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"},
            {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"}
        ]);
    }
    let r = s.run();
    expect(&r, &[Cause::PodTokenMount], &[]);
    assert!(dump(&r).contains("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
    // Twin: with the Pod Identity volume and mount, as the webhook adds them.
    let mut s = healthy();
    for p in s.pods() {
        p["spec"]["containers"][0]["env"] = json!([
            {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"},
            {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "value": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"}
        ]);
        p["spec"]["containers"][0]["volumeMounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"mountPath": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount", "name": "eks-pod-identity-token", "readOnly": true}));
        p["spec"]["volumes"].as_array_mut().unwrap().push(json!({"name": "eks-pod-identity-token", "projected": {"defaultMode": 420, "sources": [{"serviceAccountToken": {"audience": "pods.eks.amazonaws.com", "expirationSeconds": 86400, "path": "eks-pod-identity-token"}}]}}));
    }
    assert!(!causes(&s.run()).contains(&Cause::PodTokenMount));
}

// ---- 2. Implicit `default` ServiceAccount -----------------------------------------

/// The workload renamed so its name does not match the ServiceAccount, a second
/// annotated ServiceAccount nothing uses, and the template without serviceAccountName;
/// the pods run as `default`, unmutated.
fn runs_as_default(labels_match: bool) -> Scenario {
    let mut s = healthy();
    let mut sa = s.v("sa").clone();
    sa["metadata"]["name"] = json!("billing");
    sa["metadata"]["labels"] =
        json!({"app.kubernetes.io/instance": "billing", "app.kubernetes.io/name": "billing"});
    sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] =
        json!("arn:aws:iam::391252439823:role/orders-use2-billing");
    s.add("sa-billing.json", sa);
    s.v("sa")["metadata"]["labels"] =
        json!({"app.kubernetes.io/instance": "storefront", "app.kubernetes.io/name": "storefront"});
    let d = s.v("deployment");
    d["metadata"]["name"] = json!("storefront");
    let instance = if labels_match {
        "storefront"
    } else {
        "legacy-shop"
    };
    d["spec"]["template"]["metadata"]["labels"] =
        json!({"app.kubernetes.io/instance": instance, "app.kubernetes.io/name": "storefront"});
    let t = s.template().as_object_mut().unwrap();
    t.remove("serviceAccountName");
    t.remove("serviceAccount");
    s.files.remove("rs");
    for p in s.pods() {
        p["spec"]["serviceAccountName"] = json!("default");
        p["spec"]["serviceAccount"] = json!("default");
        p["metadata"]["ownerReferences"][0]["name"] = json!("storefront-678r6tmp9");
        unmutate(p);
    }
    s
}

#[test]
fn class2_template_without_service_account_matches_by_release_labels() {
    let r = runs_as_default(true).run();
    expect(&r, &[Cause::PodServiceAccount], &[Cause::SaMissing]);
    let f = finding(&r, Cause::PodServiceAccount);
    assert_eq!(f.subject.display(), "Deployment inventory/storefront");
    let m = f.message.render();
    assert!(
        m.contains("sets no serviceAccountName") && m.contains("`inventory-api`"),
        "{m}"
    );
    assert!(f.fix[0]
        .command
        .as_deref()
        .unwrap()
        .contains(r#"{"serviceAccountName":"inventory-api"}"#));
    // The chain of inventory-api: STS would succeed, but nothing uses it.
    let c = r
        .chains
        .iter()
        .find(|c| c.subject.name == "inventory-api")
        .unwrap();
    assert_eq!(c.verdict.status, Status::Fails);
    assert_eq!(c.verdict.cause, Some(Cause::PodServiceAccount));
}

#[test]
fn class2_scoped_to_the_unused_service_account() {
    // `--service-account inventory-api`: the workload that should run as it is named.
    let mut s = runs_as_default(true);
    s.scope.namespace = Some("inventory".into());
    s.scope.service_account = Some("inventory-api".into());
    let r = s.run();
    assert_eq!(
        finding(&r, Cause::PodServiceAccount).subject.display(),
        "Deployment inventory/storefront"
    );
    assert_eq!(status(&r), Status::Fails);
}

#[test]
fn class2_healthy_twins() {
    // Nothing ties the workload to either annotated ServiceAccount: no guess.
    let r = runs_as_default(false).run();
    assert!(
        !causes(&r).contains(&Cause::PodServiceAccount),
        "{}",
        dump(&r)
    );
    // The template names the annotated ServiceAccount: healthy.
    let mut s = healthy();
    s.template()["serviceAccountName"] = json!("inventory-api");
    no_loud(&s.run());
}

#[test]
fn class2_pods_whose_workload_is_not_in_the_snapshot() {
    let mut s = runs_as_default(false);
    s.files.remove("deployment");
    // Only annotated sibling left unused: `inventory-api` (billing is now used by nothing
    // either, so remove it to leave one).
    s.extra.retain(|(n, _)| n != "sa-billing.json");
    let r = s.run();
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::PodServiceAccount)
        .unwrap_or_else(|| panic!("{}", dump(&r)));
    // The pods' ReplicaSet `storefront-<hash>` names its Deployment: one finding, patchable.
    assert_eq!(f.subject.display(), "Deployment inventory/storefront");
    assert_eq!(
        f.severity,
        Severity::Warning,
        "only annotated one: a warning"
    );
    assert!(f.fix[0]
        .rule_command()
        .unwrap()
        .starts_with("kubectl patch deployment/storefront -n inventory --type merge"));
}

/// The same runners judged when some ServiceAccount is known only from its pods (the
/// rule then asks the ServiceAccount objects, not the per-pod role annotations, which
/// count those): the same finding, and none for the pod of the inferred one.
#[test]
fn class2_pods_judged_alike_with_service_accounts_known_from_pods() {
    let base = || {
        let mut s = runs_as_default(false);
        s.files.remove("deployment");
        s.extra.retain(|(n, _)| n != "sa-billing.json");
        s
    };
    let without = base().run();
    let mut s = base();
    // A mutated pod in a namespace whose ServiceAccounts were not listed.
    let mut ghost = healthy().v("pods")["items"][0].clone();
    ghost["metadata"]["namespace"] = json!("elsewhere");
    ghost["metadata"]["name"] = json!("ghost-7d9c8b6f5-x2x2x");
    ghost["metadata"]["ownerReferences"][0]["name"] = json!("ghost-7d9c8b6f5");
    ghost["spec"]["serviceAccountName"] = json!("ghost");
    ghost["spec"]["serviceAccount"] = json!("ghost");
    s.v("pods")["items"].as_array_mut().unwrap().push(ghost);
    let with = s.run();
    assert!(
        with.chains.iter().any(|c| c.subject.name == "ghost"),
        "the ghost ServiceAccount is known from its pod: {}",
        dump(&with)
    );
    let found = |r: &irsa_rules::Report| -> Vec<(String, Severity)> {
        r.findings
            .iter()
            .filter(|f| f.cause == Cause::PodServiceAccount)
            .map(|f| (f.subject.display(), f.severity))
            .collect()
    };
    assert_eq!(
        found(&without),
        vec![(
            "Deployment inventory/storefront".to_string(),
            Severity::Warning
        )]
    );
    assert_eq!(found(&with), found(&without), "{}", dump(&with));
}

// ---- 3. Kubernetes already told us --------------------------------------------------

fn replicaset_failed_create(ns: &str, sa: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "inventory-api-5f7d9c8b6", "namespace": ns, "labels": {"app": "inventory-api", "pod-template-hash": "5f7d9c8b6"},
            "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": true, "controller": true, "kind": "Deployment", "name": "inventory-api", "uid": "6c1f0c39-3c0e-4a55-9a1c-0f2b8a1d9e11"}]},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "inventory-api", "pod-template-hash": "5f7d9c8b6"}},
            "template": {"metadata": {"labels": {"app": "inventory-api", "pod-template-hash": "5f7d9c8b6"}}, "spec": {"serviceAccountName": sa, "containers": [{"name": "inventory-api", "image": "inventory-api:12.4.0"}]}}},
        "status": {"replicas": 0, "observedGeneration": 1, "conditions": [{"lastTransitionTime": "2024-06-01T10:00:00Z", "type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
            "message": format!("pods \"inventory-api-5f7d9c8b6-\" is forbidden: error looking up service account {ns}/{sa}: serviceaccount \"{sa}\" not found")}]}})
}

#[test]
fn class3_failed_create_condition_proves_sa_missing_without_a_listing() {
    let mut s = healthy();
    s.files.remove("sa");
    s.files.remove("pods");
    s.files.remove("rs");
    s.add(
        "rs-failed.json",
        replicaset_failed_create("inventory", "inventory-api"),
    );
    let r = s.run();
    expect(&r, &[Cause::SaMissing], &[]);
    let f = finding(&r, Cause::SaMissing);
    // Lifted from the ReplicaSet to the Deployment the user edits.
    assert_eq!(f.subject.display(), "Deployment inventory/inventory-api");
    assert!(f
        .message
        .render()
        .contains("error looking up service account inventory/inventory-api"));
    assert!(
        f.fix[0].rule_command() == Some("kubectl create serviceaccount -n inventory inventory-api")
    );
    // Twin: no condition, no listing: not checked (a warning gap), never "missing".
    let mut s = healthy();
    s.files.remove("sa");
    s.files.remove("pods");
    let r = s.run();
    expect(&r, &[], &[Cause::SaMissing]);
    assert!(r.findings.iter().any(|f| f.cause == Cause::CollectionGap
        && f.rule == "IRSA301"
        && f.severity == Severity::Warning));
}

#[test]
fn class3_events_prove_sa_missing_for_any_controller() {
    let mut s = healthy();
    s.files.remove("sa");
    s.files.remove("pods");
    s.add("events.json", json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [
        {"apiVersion": "v1", "kind": "Event", "count": 19, "type": "Warning", "reason": "FailedCreate",
         "firstTimestamp": "2024-06-01T10:00:00Z", "lastTimestamp": "2024-06-01T10:25:00Z",
         "involvedObject": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "ledger", "namespace": "inventory", "resourceVersion": "991", "uid": "d2f0"},
         "message": "create Pod ledger-0 in StatefulSet ledger failed error: pods \"ledger-0\" is forbidden: error looking up service account inventory/ledger: serviceaccount \"ledger\" not found",
         "metadata": {"name": "ledger.17d8a3c1b2", "namespace": "inventory"}, "source": {"component": "statefulset-controller"}}]}));
    let r = s.run();
    expect(&r, &[Cause::SaMissing], &[]);
    let f = finding(&r, Cause::SaMissing);
    assert_eq!(f.subject.display(), "StatefulSet inventory/ledger");
    assert!(f.message.render().contains("(19 times)"));
    // Twin: the ServiceAccount exists now (the event predates it): no finding.
    let mut s = healthy();
    let mut sa = s.v("sa").clone();
    sa["metadata"]["name"] = json!("ledger");
    s.add("sa-ledger.json", sa);
    s.add("events.json", json!({"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "FailedCreate",
         "involvedObject": {"kind": "StatefulSet", "name": "ledger", "namespace": "inventory"},
         "message": "create Pod ledger-0 in StatefulSet ledger failed error: pods \"ledger-0\" is forbidden: error looking up service account inventory/ledger: serviceaccount \"ledger\" not found",
         "metadata": {"name": "ledger.17d8a3c1b2", "namespace": "inventory"}}));
    expect(&s.run(), &[], &[Cause::SaMissing]);
}

#[test]
fn class3_recorded_kubectl_not_found_for_the_service_account() {
    let mut s = healthy();
    s.files.remove("sa");
    s.add(
        "sa.json",
        json!({"command": "kubectl get serviceaccount inventory-api -n inventory -o yaml",
        "output": "Error from server (NotFound): serviceaccounts \"inventory-api\" not found\n"}),
    );
    let r = s.run();
    expect(&r, &[Cause::SaMissing], &[]);
    assert_eq!(
        finding(&r, Cause::SaMissing).subject.display(),
        "Deployment inventory/inventory-api"
    );
}

// ---- 4. Wildcard trust is not a request for an annotation ------------------------------

fn with_sibling(trust_sub: &str, op: &str, calls_aws: bool) -> Scenario {
    let mut s = healthy();
    let mut cond = serde_json::Map::new();
    cond.insert(op.to_string(), json!({format!("{ISS}:sub"): trust_sub}));
    let aud = json!({format!("{ISS}:aud"): "sts.amazonaws.com"});
    match cond.get_mut("StringEquals").and_then(Value::as_object_mut) {
        Some(eq) => eq.extend(aud.as_object().unwrap().clone()),
        None => {
            cond.insert("StringEquals".into(), aud);
        }
    }
    s.statement()["Condition"] = Value::Object(cond);
    let mut sa = s.v("sa").clone();
    sa["metadata"]["name"] = json!("batch-worker");
    sa["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("annotations");
    s.add("sa-batch.json", sa);
    let mut d = s.v("deployment").clone();
    d["metadata"]["name"] = json!("batch-worker");
    d["spec"]["template"]["spec"]["serviceAccountName"] = json!("batch-worker");
    d["spec"]["template"]["spec"]["serviceAccount"] = json!("batch-worker");
    d["spec"]["template"]["spec"]["containers"][0]["env"] = if calls_aws {
        json!([{"name": "AWS_REGION", "value": "us-east-2"}])
    } else {
        json!([{"name": "LOG_LEVEL", "value": "info"}])
    };
    s.add("deploy-batch.json", d);
    s
}

#[test]
fn class4_namespace_wildcard_asks_no_annotation() {
    let r = with_sibling("system:serviceaccount:inventory:*", "StringLike", false).run();
    // The wildcard trust does allow the sibling (so the role really trusts it) ...
    assert!(
        r.chains[0].verdict.status == Status::Works,
        "{:?}",
        r.chains[0].verdict
    );
    assert!(
        !causes(&r).contains(&Cause::SaAnnotationMissing),
        "{}",
        dump(&r)
    );
    assert!(errors(&r).is_empty(), "{}", dump(&r));
}

#[test]
fn class4_exact_name_in_the_trust_is_a_request() {
    let r = with_sibling(
        "system:serviceaccount:inventory:batch-worker",
        "StringEquals",
        false,
    )
    .run();
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::SaAnnotationMissing)
        .unwrap_or_else(|| panic!("{}", dump(&r)));
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.subject.display(), "ServiceAccount inventory/batch-worker");
}

#[test]
fn class4_wildcard_and_a_workload_that_evidently_calls_aws() {
    let r = with_sibling("system:serviceaccount:inventory:*", "StringLike", true).run();
    let f = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::SaAnnotationMissing)
        .unwrap_or_else(|| panic!("{}", dump(&r)));
    assert_eq!(f.severity, Severity::Warning, "may be intended: a warning");
    assert!(f.message.render().contains("sets AWS_REGION"));
}

// ---- 5. Severity means "will this break" -------------------------------------------

#[test]
fn class5_missing_aud_condition_is_advice() {
    let mut s = healthy();
    s.statement()["Condition"]["StringEquals"]
        .as_object_mut()
        .unwrap()
        .remove(&format!("{ISS}:aud"));
    let r = s.run();
    let f = finding(&r, Cause::TrustAud);
    assert_eq!(f.severity, Severity::Info);
    no_loud(&r);
    verdict_is(&r, Status::Works, None);
}

fn ec2_statement() -> Value {
    json!({"Sid": "EC2", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
}

#[test]
fn class5_a_service_statement_never_gets_trust_action() {
    // EC2 statement first, then the web identity statement copied from another cluster.
    let mut s = healthy();
    let other = "oidc.eks.us-east-2.amazonaws.com/id/0A1B2C3D4E5F60718293A4B5C6D7E8F9";
    let ours = s.statement().to_string().replace(ISS, other);
    s.trust()["Statement"] = json!([
        ec2_statement(),
        serde_json::from_str::<Value>(&ours).unwrap()
    ]);
    let r = s.run();
    expect(&r, &[Cause::TrustPrincipal], &[Cause::TrustAction]);
    for f in r.findings.iter().filter(|f| f.severity == Severity::Error) {
        let m = f.message.render();
        assert!(
            !m.contains("ec2.amazonaws.com"),
            "blames the EC2 statement: {m}"
        );
    }
    // The fix keeps the EC2 statement.
    let fix = finding(&r, Cause::TrustPrincipal).fix[0]
        .command
        .clone()
        .unwrap();
    assert!(fix.contains("ec2.amazonaws.com"), "{fix}");
    // Twin: EC2 statement beside a correct web identity statement: healthy.
    let mut s = healthy();
    let ours = s.statement().clone();
    s.trust()["Statement"] = json!([ec2_statement(), ours]);
    let r = s.run();
    no_loud(&r);
}

#[test]
fn class5_pod_identity_statement_beside_a_broken_web_identity_statement() {
    let mut s = healthy();
    let mut ours = s.statement().clone();
    ours["Condition"]["StringEquals"][format!("{ISS}:sub")] =
        json!("system:serviceaccount:inventory:inventory-apii");
    s.trust()["Statement"] = json!([
        {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]},
        ours
    ]);
    let r = s.run();
    expect(
        &r,
        &[Cause::TrustSub],
        &[Cause::TrustAction, Cause::TrustPrincipal],
    );
}

#[test]
fn class5_only_a_service_statement_is_one_finding_about_what_is_missing() {
    let mut s = healthy();
    s.trust()["Statement"] = json!([ec2_statement()]);
    let r = s.run();
    let trust: Vec<_> = r
        .findings
        .iter()
        .filter(|f| TRUST.contains(&f.cause))
        .collect();
    assert_eq!(trust.len(), 1, "{}", dump(&r));
    assert_eq!(trust[0].cause, Cause::TrustAction);
    let cmd = trust[0].fix[0].command.as_deref().unwrap();
    assert!(cmd.contains("ec2.amazonaws.com") && cmd.contains("sts:AssumeRoleWithWebIdentity"));
}

// ---- 6. The verdict never ticks a broken chain --------------------------------------

#[test]
fn class6_static_keys_fail_the_verdict_although_sts_succeeds() {
    let mut s = healthy();
    s.template()["containers"][0]["env"] = json!([
        {"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "k", "key": "id"}}},
        {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "secret"}}}
    ]);
    let r = s.run();
    assert!(matches!(
        r.chains[0].prediction,
        irsa_policy::StsPrediction::Success { .. }
    ));
    verdict_is(&r, Status::Fails, Some(Cause::CredentialPrecedence));
    assert!(r.chains[0].verdict.sdk.contains("static keys"));
}

#[test]
fn class6_static_keys_in_pods_whose_workload_was_not_collected() {
    let mut s = healthy();
    s.files.remove("deployment");
    s.files.remove("rs");
    for p in s.pods() {
        p["spec"]["containers"][0]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {"name": "k", "key": "id"}}}));
    }
    let r = s.run();
    expect(&r, &[Cause::CredentialPrecedence], &[]);
    verdict_is(&r, Status::Fails, Some(Cause::CredentialPrecedence));
}

#[test]
fn class6_no_pods_is_not_a_tick() {
    let mut s = healthy();
    s.files.remove("pods");
    s.add("pods.json", json!({"command": "kubectl get pods -n inventory -o json",
        "output": {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": []}}));
    let r = s.run();
    assert_eq!(status(&r), Status::NoPods, "{:?}", r.chains[0].verdict);
    // Pods not collected at all: not checked, and named as such.
    let mut s = healthy();
    s.files.remove("pods");
    let r = s.run();
    assert_eq!(status(&r), Status::NotChecked);
    assert!(r
        .not_checked
        .iter()
        .any(|n| n.subject.name == "inventory-api"));
}

#[test]
fn class6_pods_not_mutated_fail_the_verdict() {
    let mut s = healthy();
    for p in s.pods() {
        unmutate(p);
    }
    let r = s.run();
    verdict_is(&r, Status::Fails, Some(Cause::PodNotMutated));
    assert!(r.chains[0].verdict.sdk.contains("node's role"));
}

#[test]
fn class6_a_warning_is_at_risk_not_works() {
    let mut s = healthy();
    for v in s.files.values_mut() {
        *v = serde_json::from_str(&v.to_string().replace("us-east-2", "me-south-1")).unwrap();
    }
    for p in s.pods() {
        p["spec"]["containers"][0]["env"]
            .as_array_mut()
            .unwrap()
            .retain(|e| e["name"] != "AWS_STS_REGIONAL_ENDPOINTS");
    }
    let r = s.run();
    verdict_is(&r, Status::AtRisk, Some(Cause::RegionalSts));
}

#[test]
fn class6_healthy_is_the_only_tick() {
    let r = healthy().run();
    verdict_is(&r, Status::Works, None);
    assert!(r.not_checked.is_empty(), "{:?}", r.not_checked);
    let c = r.summary.checked;
    assert_eq!(
        (c.serviceaccounts, c.chains, c.roles, c.pods, c.workloads),
        (1, 1, 1, 3, 1)
    );
    assert!(r.nothing_checked.is_none());
}

/// A live run whose every read failed is loaded as records of failures, no file: it says
/// every read failed (naming the first), not that a snapshot is empty; its healthy twin
/// (one read succeeds) is not blind.
#[test]
fn class6_every_live_read_failed_is_named_as_such() {
    let mut s = healthy();
    s.files.clear();
    s.extra.clear();
    for cmd in [
        "kubectl get serviceaccounts -A -o json",
        "kubectl get pods -A -o json",
    ] {
        s.add(
            cmd,
            json!({"command": cmd, "error": "client error (Connect): Connection refused (os error 111)"}),
        );
    }
    let snap = s.snapshot();
    assert_eq!(snap.inputs.files, 0, "{:?}", snap.inputs);
    let r = s.run();
    let why = r.nothing_checked.as_deref().expect("blind");
    assert!(
        why.starts_with(
            "nothing was checked: every read failed (2 recorded failures; first: `kubectl get "
        ) && why.ends_with(": client error (Connect): Connection refused (os error 111))"),
        "{why}"
    );
    assert!(!why.contains("snapshot"), "{why}");
    let mut twin = healthy();
    twin.add(
        "pods-failed",
        json!({"command": "kubectl get pods -A -o json", "error": "Connection refused"}),
    );
    assert!(twin.run_with_rejects().nothing_checked.is_none());
}

// ---- 8. Recorded failures are evidence -----------------------------------------------

#[test]
fn class8_saved_no_such_entity_text_is_role_not_found() {
    let mut s = healthy();
    s.files.remove("role");
    s.add_text(
        "iam-get-role.json",
        "\nAn error occurred (NoSuchEntity) when calling the GetRole operation: The role with name orders-use2-inventory-api cannot be found.\n",
    );
    let r = s.run();
    expect(&r, &[Cause::RoleNotFound], TRUST);
    verdict_is(&r, Status::Fails, Some(Cause::RoleNotFound));
    // Read as a result, not a gap: nothing is left "not checked" because of it.
    assert!(r.not_checked.is_empty(), "{:?}", r.not_checked);
}

#[test]
fn class8_saved_access_denied_is_a_gap_naming_the_permission() {
    let mut s = healthy();
    s.files.remove("role");
    s.add_text(
        "iam-get-role.json",
        "\nAn error occurred (AccessDenied) when calling the GetRole operation: User: arn:aws:sts::391252439823:assumed-role/ReadOnly/ana is not authorized to perform: iam:GetRole on resource: role orders-use2-inventory-api because no identity-based policy allows the iam:GetRole action\n",
    );
    let r = s.run();
    expect(&r, &[], &[Cause::RoleNotFound]);
    let gap = r
        .findings
        .iter()
        .find(|f| f.rule == "IRSA101" && f.cause == Cause::CollectionGap)
        .unwrap_or_else(|| panic!("{}", dump(&r)));
    assert_eq!(gap.severity, Severity::Warning);
    assert!(gap
        .fix
        .iter()
        .any(|x| x.summary.contains("grant iam:GetRole")));
    assert_eq!(status(&r), Status::NotChecked);
    assert!(!r.not_checked.is_empty());
}

#[test]
fn class8_no_such_entity_from_another_accounts_credentials_is_not_proof() {
    let mut s = healthy();
    s.files.remove("role");
    s.v("caller")["Account"] = json!("999988887777");
    s.add_text(
        "iam-get-role.json",
        "An error occurred (NoSuchEntity) when calling the GetRole operation: The role with name orders-use2-inventory-api cannot be found.",
    );
    let r = s.run();
    expect(&r, &[], &[Cause::RoleNotFound]);
    assert_eq!(status(&r), Status::NotChecked);
}

// ---- 9. One bad file must not blind the rest ---------------------------------------------

fn sa_file_rejected(mut s: Scenario) -> Scenario {
    s.files.remove("sa");
    s.add_text(
        "kubectl-get-sa.yaml",
        "apiVersion: v1\nkind: List\nitems:\n\t- bad\n",
    );
    s
}

#[test]
fn class9_rejected_service_account_file_still_checks_the_chain() {
    let mut s = healthy();
    s.statement()["Condition"]["StringEquals"][format!("{ISS}:sub")] =
        json!("system:serviceaccount: inventory:inventory-api");
    let r = sa_file_rejected(s).run_with_rejects();
    assert_eq!(r.rejected_inputs, 1);
    // Cluster, provider, role, trust, webhook and pods are still checked.
    expect(&r, &[Cause::TrustSub], &[]);
    for rule in [
        "IRSA001", "IRSA002", "IRSA101", "IRSA404", "IRSA402", "IRSA411",
    ] {
        assert!(
            r.passes.iter().any(|p| p.rule == rule),
            "{rule} not checked: {:?}",
            r.passes.iter().map(|p| p.rule).collect::<Vec<_>>()
        );
    }
    // The chain comes from the pods, and the report says which link is not checked, and why.
    assert!(r.chains[0].from_pods);
    verdict_is(&r, Status::Fails, Some(Cause::TrustSub));
    let gap = r
        .findings
        .iter()
        .find(|f| f.rule == "IRSA301" && f.cause == Cause::CollectionGap)
        .unwrap();
    assert!(
        gap.message.render().contains("kubectl-get-sa.yaml"),
        "{}",
        gap.message.render()
    );
}

#[test]
fn class9_healthy_twin_is_not_checked_never_works() {
    let r = sa_file_rejected(healthy()).run_with_rejects();
    assert!(errors(&r).is_empty(), "{}", dump(&r));
    assert_eq!(status(&r), Status::NotChecked);
    assert!(
        r.passes.iter().any(|p| p.rule == "IRSA203"),
        "trust still evaluated"
    );
}

#[test]
fn class9_failed_service_account_list_is_named_with_the_command() {
    let mut s = healthy();
    s.files.remove("sa");
    s.add("sa.json", json!({"command": "kubectl get serviceaccounts -A -o json",
        "error": "Forbidden (403): serviceaccounts is forbidden: User \"ana\" cannot list resource \"serviceaccounts\" in API group \"\" at the cluster scope"}));
    let r = s.run();
    let gap = r
        .findings
        .iter()
        .find(|f| f.rule == "IRSA301" && f.cause == Cause::CollectionGap)
        .unwrap();
    assert!(gap
        .message
        .render()
        .contains("kubectl get serviceaccounts -A -o json"));
    assert!(r.findings.iter().any(|f| f.rule == "IRSA900"
        && f.fix.iter().any(|x| x
            .summary
            .contains("list serviceaccounts at the cluster scope"))));
    assert_eq!(status(&r), Status::NotChecked);
}

#[test]
fn class6_a_sibling_sharing_the_role_does_not_fail_a_healthy_chain() {
    // The role also trusts `inventory/reporter` by name, which lacks the annotation: an
    // error about that ServiceAccount, not about inventory-api's chain.
    let mut s = healthy();
    s.statement()["Condition"]["StringEquals"][format!("{ISS}:sub")] = json!([
        "system:serviceaccount:inventory:inventory-api",
        "system:serviceaccount:inventory:reporter"
    ]);
    let mut sa = s.v("sa").clone();
    sa["metadata"]["name"] = json!("reporter");
    sa["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("annotations");
    s.add("sa-reporter.json", sa);
    let r = s.run();
    assert_eq!(
        finding(&r, Cause::SaAnnotationMissing).subject.display(),
        "ServiceAccount inventory/reporter"
    );
    verdict_is(&r, Status::Works, None);
}
