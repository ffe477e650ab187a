//! EKS Pod Identity live: the test world of `examples/pod-identity-mixed` (the Kubernetes
//! test API server with the agent DaemonSet, its pods and the nodes; moto for IAM, STS
//! and the cluster; the testkit's EKS Pod Identity emulation for the association and
//! add-on APIs moto lacks, validated with the AWS CLI in irsa-testkit's tests). Live ==
//! collect + offline; the verdicts name the mechanism per ServiceAccount; the EKS calls
//! grow with associations, never with pods; reads only.

mod support;

use irsa_testkit::{
    objects_from_snapshot, EksPodIdentity, KubeConfig, KubeServer, Moto, PodIdentityConfig,
};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use support::{json_of, required, with_moto_env};

const ACCOUNT: &str = "111122223333";
const CLUSTER: &str = "shop-use1";

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/pod-identity-mixed")
}

#[test]
fn live_pod_identity_equals_collect_then_check() {
    let Some(moto) = Moto::start_with_aws_managed_policies(ACCOUNT) else {
        required("moto (pip install 'moto[server]')");
        return;
    };
    let seed = Command::new("python3")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/seed_moto.py"))
        .args([
            &moto.endpoint,
            example().to_str().unwrap(),
            CLUSTER,
            "us-east-1",
        ])
        .output()
        .expect("python3 runs");
    assert!(
        seed.status.success(),
        "seeding moto failed: {}",
        String::from_utf8_lossy(&seed.stderr)
    );
    let emu = EksPodIdentity::start(PodIdentityConfig::from_snapshot(&example(), &moto.endpoint));
    let kube = KubeServer::start(KubeConfig {
        objects: objects_from_snapshot(&example()),
        page_size: Some(3),
        ..KubeConfig::default()
    });
    let run = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"));
        c.args(args).arg("--kubeconfig").arg(&kube.kubeconfig);
        with_moto_env(&mut c, &moto);
        for (k, v) in emu.env() {
            c.env(k, v);
        }
        c.output().expect("binary runs")
    };
    let live = run(&[
        "check",
        "--cluster",
        CLUSTER,
        "--region",
        "us-east-1",
        "-o",
        "json",
        "-v",
    ]);
    let stderr = String::from_utf8_lossy(&live.stderr).to_string();
    assert_eq!(live.status.code(), Some(1), "errors found: {stderr}");
    let live_json = json_of(&live);
    let verdict = |v: &Value, name: &str| -> (String, String, String) {
        let c = v["chains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["subject"]["name"] == name)
            .unwrap_or_else(|| panic!("no chain for {name}: {v:#}"));
        (
            c["mechanism"].as_str().unwrap().to_string(),
            c["verdict"]["status"].as_str().unwrap().to_string(),
            c["verdict"]["cause"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    };
    let v = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        verdict(&live_json, "cart"),
        v("pod-identity", "works", ""),
        "{stderr}"
    );
    // "works" includes the node role: the node group's, read live (ListNodegroups,
    // DescribeNodegroup, the role and AmazonEKSWorkerNodePolicy's document from moto).
    let cart = live_json["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject"]["name"] == "cart")
        .unwrap();
    assert!(
        cart["verdict"]["reason"]
            .as_str()
            .unwrap()
            .contains("arn:aws:iam::111122223333:role/shop-use1-node"),
        "{cart:#}"
    );
    assert_eq!(verdict(&live_json, "orders"), v("irsa", "works", ""));
    assert_eq!(
        verdict(&live_json, "checkout"),
        v("pod-identity", "fails", "pod-identity-not-injected")
    );
    assert_eq!(
        verdict(&live_json, "search"),
        v("pod-identity", "fails", "pod-identity-trust")
    );
    assert_eq!(
        verdict(&live_json, "recs"),
        v("pod-identity", "fails", "pod-identity-agent")
    );

    // collect, then check the snapshot offline: the same report.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap");
    let collected = run(&[
        "collect",
        "--cluster",
        CLUSTER,
        "--region",
        "us-east-1",
        "-d",
        out.to_str().unwrap(),
    ]);
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
    assert_eq!(live_json["findings"], offline_json["findings"]);
    assert_eq!(live_json["chains"], offline_json["chains"]);

    // EKS Pod Identity calls: one list, one describe per association (4), one add-on
    // read, per run (two runs); never per pod, never a write.
    let served = emu.served();
    assert!(served.iter().all(|s| s.method == "GET"), "{served:?}");
    let lists = served
        .iter()
        .filter(|s| {
            s.path.ends_with("/pod-identity-associations")
                || s.path.contains("/pod-identity-associations?")
        })
        .count();
    let describes = served
        .iter()
        .filter(|s| s.path.contains("/pod-identity-associations/"))
        .count();
    let addons = served
        .iter()
        .filter(|s| s.path.contains("/addons/"))
        .count();
    assert_eq!((lists, describes, addons), (2, 8, 2), "{served:#?}");
    assert!(kube.mutating_requests().is_empty());
}

/// The Pod Identity reads go through the same deadline, retries and error wording as
/// every AWS read: a throttled `DescribePodIdentityAssociation` is retried and changes
/// nothing; a refused one is a named gap (the run is incomplete, exit 2) and its
/// ServiceAccount's chain is never declared working; the other chains keep their verdicts.
#[test]
fn a_failed_association_read_is_a_named_gap_never_a_verdict() {
    use irsa_testkit::{Fault, FaultProxy, FaultRule, When};
    let Some(moto) = Moto::start_with_aws_managed_policies(ACCOUNT) else {
        required("moto (pip install 'moto[server]')");
        return;
    };
    let seed = Command::new("python3")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/seed_moto.py"))
        .args([
            &moto.endpoint,
            example().to_str().unwrap(),
            CLUSTER,
            "us-east-1",
        ])
        .output()
        .expect("python3 runs");
    assert!(seed.status.success());
    let emu = EksPodIdentity::start(PodIdentityConfig::from_snapshot(&example(), &moto.endpoint));
    let kube = KubeServer::start(KubeConfig {
        objects: objects_from_snapshot(&example()),
        page_size: Some(3),
        ..KubeConfig::default()
    });
    let run = |rules: Vec<FaultRule>| -> (Option<i32>, Value, String) {
        let proxy = FaultProxy::start(&emu.endpoint, None, rules);
        let mut c = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"));
        c.args([
            "check",
            "--cluster",
            CLUSTER,
            "--region",
            "us-east-1",
            "-o",
            "json",
            "--timeout",
            "5",
        ])
        .arg("--kubeconfig")
        .arg(&kube.kubeconfig);
        with_moto_env(&mut c, &moto);
        c.env("AWS_ENDPOINT_URL_EKS", &proxy.url);
        let o = c.output().expect("binary runs");
        (
            o.status.code(),
            json_of(&o),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let verdicts = |v: &Value| -> Vec<(String, String, String)> {
        v["chains"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["subject"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    c["verdict"]["status"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    c["verdict"]["cause"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect()
    };
    let (exit, clean, stderr) = run(vec![]);
    assert_eq!(exit, Some(1), "{stderr}");

    let (exit, throttled, stderr) = run(vec![FaultRule::new(
        "/pod-identity-associations/",
        When::First(2),
        Fault::aws_json_error(400, "ThrottlingException", "Rate exceeded"),
    )]);
    assert_eq!(exit, Some(1), "{stderr}");
    assert_eq!(verdicts(&throttled), verdicts(&clean));

    let (exit, denied, stderr) = run(vec![FaultRule::new(
        "/pod-identity-associations/a-recs",
        When::Always,
        Fault::aws_json_error(
            403,
            "AccessDeniedException",
            "not authorized to perform eks:DescribePodIdentityAssociation",
        ),
    )]);
    assert_eq!(exit, Some(2), "{stderr}");
    let gaps: Vec<&str> = denied["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["cause"] == "collection-gap")
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert!(
        gaps.iter()
            .any(|g| g.contains("aws eks describe-pod-identity-association")
                && g.contains("AccessDeniedException")),
        "{gaps:#?}"
    );
    for (clean, now) in verdicts(&clean).into_iter().zip(verdicts(&denied)) {
        if clean.0 == "recs" {
            assert_ne!(now.1, "works", "{now:?}");
        } else {
            assert_eq!(clean, now);
        }
    }
}
