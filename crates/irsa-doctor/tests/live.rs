//! Live mode against a test world: the Kubernetes test API server (fixtures of an
//! example snapshot, over TLS) and the moto server (the AWS side, seeded through the
//! AWS API). These need moto (`pip install 'moto[server]'`) and kubectl; `.ci/run`
//! installs both, and under CI a missing tool fails the test instead of skipping it.

mod support;

use irsa_testkit::{objects_from_snapshot, KubeConfig, KubeServer, Moto};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{json_of, required, with_moto_env};

const ACCOUNT: &str = "111122223333";

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

struct World {
    kube: KubeServer,
    moto: Moto,
    /// Access keys per removed action (and "*" for all actions), when asked for.
    users: Value,
    /// The cluster's issuer in moto.
    issuer: String,
}

fn world(example_name: &str, cluster: &str, forbidden: &[&str]) -> Option<World> {
    world_with(example_name, cluster, forbidden, false)
}

fn world_with(example_name: &str, cluster: &str, forbidden: &[&str], users: bool) -> Option<World> {
    let Some(moto) = Moto::start(ACCOUNT) else {
        required("moto (pip install 'moto[server]')");
        return None;
    };
    let policy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/iam-policy.json");
    let mut seed = Command::new("python3");
    seed.arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/seed_moto.py"))
        .args([
            &moto.endpoint,
            example(example_name).to_str().unwrap(),
            cluster,
            "us-east-1",
        ]);
    if users {
        seed.arg(&policy);
    }
    let seed = seed.output().expect("python3 runs");
    assert!(
        seed.status.success(),
        "seeding moto failed: {}",
        String::from_utf8_lossy(&seed.stderr)
    );
    let kube = KubeServer::start(KubeConfig {
        objects: objects_from_snapshot(&example(example_name)),
        forbidden: forbidden.iter().map(|s| s.to_string()).collect(),
        page_size: Some(3),
        ..KubeConfig::default()
    });
    let seeded: Value = serde_json::from_slice(&seed.stdout).expect("seed output");
    Some(World {
        kube,
        moto,
        users: seeded["users"].clone(),
        issuer: seeded["issuer"].as_str().unwrap_or_default().to_string(),
    })
}

fn doctor_as(w: &World, key: Option<(&str, &str)>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"));
    c.args(args).arg("--kubeconfig").arg(&w.kube.kubeconfig);
    with_moto_env(&mut c, &w.moto);
    if let Some((id, secret)) = key {
        c.env("AWS_ACCESS_KEY_ID", id)
            .env("AWS_SECRET_ACCESS_KEY", secret);
    }
    c.env_remove("KUBECONFIG");
    c.output().expect("binary runs")
}

fn doctor(w: &World, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"));
    c.args(args).arg("--kubeconfig").arg(&w.kube.kubeconfig);
    with_moto_env(&mut c, &w.moto);
    c.output().expect("binary runs")
}

fn causes(v: &Value, severity: &str) -> Vec<String> {
    let mut c: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| {
            format!(
                "{} {}",
                f["cause"].as_str().unwrap(),
                f["subject"]["name"].as_str().unwrap()
            )
        })
        .collect();
    c.sort();
    c
}

#[test]
fn live_check_equals_check_of_the_collected_snapshot() {
    let Some(w) = world("many-problems", "shop-use1", &[]) else {
        return;
    };
    let args = [
        "check",
        "--cluster",
        "shop-use1",
        "--region",
        "us-east-1",
        "-o",
        "json",
        "-v",
    ];
    // The cross-account role's account cannot be read with these credentials: the run is
    // incomplete (2) unless gaps are accepted; then its errors decide (1).
    let incomplete = doctor(&w, &args);
    assert_eq!(incomplete.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&incomplete.stderr).contains("incomplete: "));
    let live = doctor(&w, &[&args[..], &["--allow-gaps"]].concat());
    let stderr = String::from_utf8_lossy(&live.stderr).to_string();
    assert_eq!(live.status.code(), Some(1), "{stderr}");
    let live_json = json_of(&live);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let collected = doctor(
        &w,
        &[
            "collect",
            "--cluster",
            "shop-use1",
            "--region",
            "us-east-1",
            "-d",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        collected.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&collected.stderr)
    );
    let offline = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"))
        .args(["check", "--snapshot", out.to_str().unwrap(), "-o", "json"])
        .output()
        .unwrap();
    let offline_json = json_of(&offline);
    let live_f = live_json["findings"].as_array().unwrap();
    let off_f = offline_json["findings"].as_array().unwrap();
    let only_live: Vec<_> = live_f
        .iter()
        .filter(|f| !off_f.contains(f))
        .map(|f| f["message"].clone())
        .collect();
    let only_off: Vec<_> = off_f
        .iter()
        .filter(|f| !live_f.contains(f))
        .map(|f| f["message"].clone())
        .collect();
    assert!(
        only_live.is_empty() && only_off.is_empty(),
        "live only: {only_live:#?}\nsnapshot only: {only_off:#?}"
    );
    assert_eq!(live_f, off_f, "same findings, same order");
    assert_eq!(live_json["chains"], offline_json["chains"]);
    // The real problems of the example are found live.
    let errors = causes(&live_json, "error");
    for want in [
        "trust-sub api",
        "trust-action exporter",
        "sa-annotation-malformed web",
        "pod-not-mutated",
        "env-preset-conflict app",
        "credential-precedence frontend",
        "pod-token-mount ingest",
        "oidc-provider-audience",
    ] {
        assert!(
            errors.iter().any(|e| e.starts_with(want)),
            "missing {want} in {errors:#?}"
        );
    }
    // Read-only: the API server saw only GETs.
    assert!(
        w.kube.mutating_requests().is_empty(),
        "{:?}",
        w.kube.mutating_requests()
    );
    assert!(
        w.kube
            .requests()
            .iter()
            .any(|r| r.uri.contains("continue=")),
        "lists were paginated"
    );
    // Calls: one line at -v, and AWS calls bounded by distinct roles.
    let line = stderr
        .lines()
        .find(|l| l.contains("aws:"))
        .expect("call counts at -v");
    let aws_calls: usize = line
        .split("aws: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let roles = 9; // distinct annotated roles in the example (one malformed, one cross-account)
                   // Per distinct policy the roles name: GetPolicy + GetPolicyVersion, or GetRolePolicy.
    let example = example("many-problems");
    let (mut managed, mut inline) = (std::collections::BTreeSet::new(), 0);
    for e in std::fs::read_dir(&example).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap_or_default();
        if name.starts_with("iam-list-attached-role-policies-") {
            for p in v["output"]["AttachedPolicies"].as_array().unwrap() {
                managed.insert(p["PolicyArn"].as_str().unwrap().to_string());
            }
        } else if name.starts_with("iam-list-role-policies-") {
            inline += v["output"]["PolicyNames"].as_array().unwrap().len();
        }
    }
    assert!(
        inline > 0,
        "the example has an inline policy, so GetRolePolicy is exercised"
    );
    let bound = roles * 3 + managed.len() * 2 + inline + 5;
    assert!(
        aws_calls <= bound,
        "{aws_calls} AWS calls for {roles} roles and {} policies (bound {bound}): {line}",
        managed.len() + inline
    );
    // Secrets are not in the collected files.
    for e in std::fs::read_dir(&out).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        assert!(!text.contains("last-applied-configuration"));
    }
}

#[test]
fn every_forbidden_kubernetes_read_is_a_named_gap_never_a_pass() {
    let Some(mut w) = world("many-problems", "shop-use1", &[]) else {
        return;
    };
    let args = [
        "check",
        "--cluster",
        "shop-use1",
        "--region",
        "us-east-1",
        "-o",
        "json",
    ];
    let full = json_of(&doctor(&w, &args));
    let full_errors = causes(&full, "error");
    let full_ok = chains_ok(&full);
    for (_, resource) in irsa_collect::KUBERNETES_RESOURCES {
        w.kube = KubeServer::start(KubeConfig {
            objects: objects_from_snapshot(&example("many-problems")),
            forbidden: vec![resource.to_string()],
            page_size: Some(3),
            ..KubeConfig::default()
        });
        let v = json_of(&doctor(&w, &args));
        let named = v["findings"].as_array().unwrap().iter().any(|f| {
            f["cause"] == "collection-gap"
                && f["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("cannot list resource \"{resource}\""))
        });
        assert!(named, "forbidding {resource}: no gap names it");
        // No new kind of error (a finding may move from a workload to its pod when the
        // workload cannot be read: same cause, found from the pod's own spec).
        let full_causes: BTreeSet<String> = full_errors
            .iter()
            .map(|e| e.split(' ').next().unwrap().to_string())
            .collect();
        // A chain that fails either way may be explained by another of its links: a
        // ServiceAccount inferred from its pods carries the pods' token audience, not
        // the annotation's (no verdict change).
        let failing: BTreeSet<String> = full["chains"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["verdict"]["status"] == "fails")
            .filter_map(|c| c["subject"]["name"].as_str().map(String::from))
            .collect();
        for e in causes(&v, "error") {
            let (cause, subject) = e.split_once(' ').unwrap();
            assert!(
                full_causes.contains(cause) || failing.contains(subject),
                "forbidding {resource} created error {e}"
            );
        }
        for ok in chains_ok(&v) {
            assert!(
                full_ok.contains(&ok),
                "forbidding {resource} turned {ok} into a pass"
            );
        }
        if resource == "pods" {
            assert!(
                !v["passed"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["rule"] == "IRSA402"),
                "no pod check passes without pods"
            );
            assert!(
                causes(&v, "error")
                    .iter()
                    .any(|c| c.starts_with("trust-sub api")),
                "checks without pods still run"
            );
        }
    }
}

#[test]
fn aws_unreachable_is_a_gap_and_kubernetes_still_diagnosed() {
    let Some(w) = world("many-problems", "shop-use1", &[]) else {
        return;
    };
    let mut c = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"));
    c.args([
        "check",
        "--cluster",
        "shop-use1",
        "--region",
        "us-east-1",
        "-o",
        "json",
        "--timeout",
        "3",
        "--kubeconfig",
    ])
    .arg(&w.kube.kubeconfig);
    with_moto_env(&mut c, &w.moto);
    // Nothing listens on port 9 of loopback.
    c.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let o = c.output().unwrap();
    let v = json_of(&o);
    let errors = causes(&v, "error");
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("sa-annotation-malformed web")),
        "{errors:?}"
    );
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["cause"] == "collection-gap"
            && f["message"]
                .as_str()
                .unwrap()
                .contains("aws eks describe-cluster")));
    for chain in v["chains"].as_array().unwrap() {
        assert_ne!(
            chain["prediction"]["outcome"], "success",
            "no pass without AWS facts: {chain}"
        );
    }
}

fn kubectl() -> Option<String> {
    for k in ["kubectl"] {
        if Command::new(k)
            .arg("version")
            .arg("--client")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(k.to_string());
        }
    }
    None
}

fn run_kubectl(k: &str, kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(k)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_real_kubectl_reads_the_test_api_server() {
    let Some(k) = kubectl() else {
        required("kubectl (apt-get install -y kubernetes-client)");
        return;
    };
    let objects = objects_from_snapshot(&example("many-problems"));
    let pods = objects.iter().filter(|o| o["kind"] == "Pod").count();
    let server = KubeServer::start(KubeConfig {
        objects,
        forbidden: vec!["jobs".into()],
        page_size: None,
        ..KubeConfig::default()
    });
    let o = run_kubectl(
        &k,
        &server.kubeconfig,
        &["get", "pods", "-A", "-o", "json", "--chunk-size=4"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), pods);
    let o = run_kubectl(
        &k,
        &server.kubeconfig,
        &["get", "serviceaccounts", "-n", "payments", "-o", "name"],
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "serviceaccount/api"
    );
    let o = run_kubectl(
        &k,
        &server.kubeconfig,
        &[
            "get",
            "mutatingwebhookconfiguration",
            "pod-identity-webhook",
            "-o",
            "json",
        ],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["webhooks"][0]["name"], "iam-for-pods.amazonaws.com");
    let o = run_kubectl(
        &k,
        &server.kubeconfig,
        &[
            "get",
            "deployment",
            "api",
            "-n",
            "payments",
            "-o",
            "jsonpath={.spec.template.spec.serviceAccountName}",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "api");
    let o = run_kubectl(&k, &server.kubeconfig, &["get", "jobs", "-A"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("forbidden"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        server.requests().iter().any(|r| r.uri.contains("limit=4")),
        "kubectl paginated"
    );
    assert!(server.mutating_requests().is_empty());
}

fn chains_ok(v: &Value) -> Vec<String> {
    v["chains"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["prediction"]["outcome"] == "success")
        .map(|c| c["subject"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn removing_any_aws_read_permission_is_a_named_gap_and_no_error_becomes_a_pass() {
    let Some(w) = world_with("many-problems", "shop-use1", &[], true) else {
        return;
    };
    w.moto.enforce_iam_auth();
    // With auth enforced, moto rejects the signature of every EKS request
    // (SignatureDoesNotMatch, boto3 alike), so the cluster's issuer comes from the flag
    // that fills gaps, and the EKS actions are not removed one by one here.
    let args = [
        "check",
        "--cluster",
        "shop-use1",
        "--region",
        "us-east-1",
        "-o",
        "json",
        "--issuer",
        &w.issuer,
    ];
    let key = |action: &str| -> (String, String) {
        let k = &w.users[action];
        (
            k[0].as_str().unwrap().to_string(),
            k[1].as_str().unwrap().to_string(),
        )
    };
    let (id, secret) = key("*");
    let full = json_of(&doctor_as(&w, Some((&id, &secret)), &args));
    let full_errors = causes(&full, "error");
    let gaps: Vec<String> = full["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["cause"] == "collection-gap")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    assert!(
        full_errors.iter().any(|e| e.starts_with("trust-sub api")),
        "the fully permitted run sees the problems: {full_errors:?}\n{gaps:#?}"
    );
    let full_ok = chains_ok(&full);
    for action in irsa_collect::AWS_ACTIONS {
        // GetCallerIdentity needs no permission in AWS; EKS: see above.
        if action == "sts:GetCallerIdentity" || action.starts_with("eks:") {
            continue;
        }
        let (id, secret) = key(action);
        let v = json_of(&doctor_as(&w, Some((&id, &secret)), &args));
        let op = action.split(':').nth(1).unwrap();
        let named =
            v["findings"].as_array().unwrap().iter().any(|f| {
                f["cause"] == "collection-gap" && f["message"].as_str().unwrap().contains(op)
            });
        let gap_messages: Vec<&str> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["cause"] == "collection-gap")
            .map(|f| f["message"].as_str().unwrap())
            .collect();
        assert!(
            named,
            "removing {action}: no gap names it:\n{gap_messages:#?}"
        );
        for e in causes(&v, "error") {
            assert!(
                full_errors.contains(&e),
                "removing {action} created error {e}"
            );
        }
        for ok in chains_ok(&v) {
            assert!(
                full_ok.contains(&ok),
                "removing {action} turned {ok} into a pass"
            );
        }
    }
}

/// Live benchmark on a generated test world: 1,000 ServiceAccounts, 5,000 pods, 300
/// roles. Run: `cargo test --release -p irsa-doctor --test live -- --ignored --nocapture live_scale`
#[test]
#[ignore = "benchmark: run explicitly"]
fn live_scale() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("world");
    let (sas, pods, roles) = (1_000, 5_000, 300);
    irsa_testkit::scale::generate(&snap, sas, pods, roles);
    // The generated world is in the sample's account.
    let Some(moto) = Moto::start("391252439823") else {
        required("moto");
        return;
    };
    let seed = Command::new("python3")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/seed_moto.py"))
        .args([
            &moto.endpoint,
            snap.to_str().unwrap(),
            "orders-use2",
            "us-east-2",
        ])
        .output()
        .unwrap();
    assert!(
        seed.status.success(),
        "{}",
        String::from_utf8_lossy(&seed.stderr)
    );
    let seeded: Value = serde_json::from_slice(&seed.stdout).unwrap();
    let objects = objects_from_snapshot(&snap);
    let kube = KubeServer::start(KubeConfig {
        objects,
        forbidden: vec![],
        page_size: Some(500),
        ..KubeConfig::default()
    });
    let w = World {
        kube,
        moto,
        users: Value::Null,
        issuer: seeded["issuer"].as_str().unwrap().to_string(),
    };
    let started = std::time::Instant::now();
    let o = doctor(
        &w,
        &[
            "check",
            "--cluster",
            "orders-use2",
            "--region",
            "us-east-2",
            "-o",
            "json",
            "-v",
        ],
    );
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    let v = json_of(&o);
    let line = stderr
        .lines()
        .find(|l| l.contains("aws:"))
        .unwrap()
        .to_string();
    let aws_calls: usize = line
        .split("aws: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let kube_requests: usize = line
        .split("kubernetes: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    eprintln!(
        "live_scale: {sas} ServiceAccounts, {pods} pods, {roles} roles: {:.2}s wall, {aws_calls} AWS calls (bound {}), {kube_requests} Kubernetes requests, {} chains, summary {}",
        elapsed.as_secs_f64(),
        roles * 3 + 5,
        v["chains"].as_array().unwrap().len(),
        v["summary"]
    );
    assert!(aws_calls <= roles * 3 + 5, "{line}");
    assert_eq!(v["chains"].as_array().unwrap().len(), sas);
    assert_eq!(v["summary"]["error"], 0, "the generated world is healthy");
}
