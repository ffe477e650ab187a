//! `probe` against a test world: the test API server issues real RS256 tokens
//! (key made at test time) and serves the issuer's discovery and JWKS over HTTPS
//! with a test CA chain; moto answers STS (and accepts any token, so a broken trust
//! policy must show as a disagreement between the prediction and STS).

mod support;

use irsa_testkit::{KubeConfig, KubeServer, Moto, PodScript, TokenIssuer};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Command, Output};
use support::{json_of, required, with_moto_env};

const ACCOUNT: &str = "111122223333";

fn objects(suffix: &str) -> Vec<Value> {
    let sa = |name: &str, role: &str, extra: Value| {
        let mut ann = json!({"eks.amazonaws.com/role-arn": format!("arn:aws:iam::{ACCOUNT}:role/{role}-{suffix}")});
        if let (Some(a), Some(e)) = (ann.as_object_mut(), extra.as_object()) {
            a.extend(e.clone());
        }
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "probe", "annotations": ann}})
    };
    vec![
        sa("good", "probe-ok", json!({})),
        sa("broken", "probe-broken", json!({})),
        sa(
            "wrongaud",
            "probe-ok",
            json!({"eks.amazonaws.com/audience": "wrong-aud"}),
        ),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "good-app", "namespace": "probe"},
            "spec": {"template": {"metadata": {"labels": {"app": "good-app"}}, "spec": {"serviceAccountName": "good",
                "securityContext": {"runAsUser": 1000, "fsGroup": 2000},
                "containers": [{"name": "app", "image": "example/app:1", "securityContext": {"runAsNonRoot": true}}]}}}}),
    ]
}

struct ProbeWorld {
    kube: KubeServer,
    moto: Moto,
}

fn world(
    tokens: TokenIssuer,
    thumbprint_ok: bool,
    pods: Option<PodScript>,
    suffix: &str,
) -> Option<ProbeWorld> {
    let Some(moto) = Moto::start(ACCOUNT) else {
        required("moto");
        return None;
    };
    let kube = KubeServer::start(KubeConfig {
        objects: objects(suffix),
        tokens: Some(tokens),
        writable_pods: pods,
        ..KubeConfig::default()
    });
    let thumb = if thumbprint_ok {
        kube.top_ca_sha1.clone()
    } else {
        "0123456789abcdef0123456789abcdef01234567".into()
    };
    let seed = Command::new("python3")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/seed_probe.py"))
        .args([&moto.endpoint, &kube.issuer(), &thumb, suffix])
        .output()
        .unwrap();
    assert!(
        seed.status.success(),
        "{}",
        String::from_utf8_lossy(&seed.stderr)
    );
    Some(ProbeWorld { kube, moto })
}

fn probe(w: &ProbeWorld, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"));
    c.arg("probe")
        .args([
            "-n",
            "probe",
            "--cluster",
            "not-in-moto",
            "--region",
            "us-east-1",
            "--issuer",
            &w.kube.issuer(),
        ])
        .arg("--ca-file")
        .arg(w.kube.ca_pem_path())
        .arg("--kubeconfig")
        .arg(&w.kube.kubeconfig)
        .args(args);
    with_moto_env(&mut c, &w.moto);
    c.output().unwrap()
}

fn check(v: &Value, name: &str) -> String {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .map(|c| c["status"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn a_valid_token_is_verified_and_sts_agrees() {
    let Some(w) = world(TokenIssuer::generate(), true, None, "a") else {
        return;
    };
    let o = probe(&w, &["--service-account", "good", "-o", "json"]);
    let v = json_of(&o);
    for c in [
        "token",
        "issuer",
        "subject",
        "audience",
        "expiry",
        "discovery",
        "signature",
        "thumbprint",
        "sts",
    ] {
        assert_eq!(check(&v, c), "pass", "{c}: {v:#}");
    }
    assert_eq!(v["predicted"], "success");
    assert_eq!(v["sts"]["outcome"], "success");
    assert!(v["sts"]["assumed_role"]
        .as_str()
        .unwrap()
        .contains(":assumed-role/probe-ok-a/irsa-doctor-probe"));
    assert_eq!(v["agreement"], true);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(v["thumbprint"]["top_certificate_sha1"], w.kube.top_ca_sha1);
    assert_eq!(v["token"]["claims"]["aud"][0], "sts.amazonaws.com");
}

#[test]
fn a_broken_trust_policy_that_the_emulator_lets_through_is_a_disagreement() {
    let Some(w) = world(TokenIssuer::generate(), true, None, "b") else {
        return;
    };
    let o = probe(&w, &["--service-account", "broken", "-o", "json"]);
    let v = json_of(&o);
    assert_eq!(
        v["predicted"],
        "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"
    );
    assert_eq!(v["sts"]["outcome"], "success", "moto accepts any token");
    assert_eq!(v["agreement"], false);
    assert!(v["disagreement"]
        .as_str()
        .unwrap()
        .contains("please report it"));
    assert_eq!(o.status.code(), Some(1));
    let text = probe(&w, &["--service-account", "broken", "--color", "never"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("✘ model disagreement"));
}

#[test]
fn a_wrong_audience_is_predicted() {
    let Some(w) = world(TokenIssuer::generate(), true, None, "c") else {
        return;
    };
    let v = json_of(&probe(&w, &["--service-account", "wrongaud", "-o", "json"]));
    assert_eq!(v["token"]["claims"]["aud"][0], "wrong-aud");
    assert_eq!(
        v["predicted"],
        "InvalidIdentityToken: Incorrect token audience"
    );
    assert_eq!(v["agreement"], false, "moto accepts any audience: {v:#}");
}

#[test]
fn a_wrong_issuer_is_caught() {
    let mut t = TokenIssuer::generate();
    t.iss_override = Some("https://127.0.0.1:1/oidc/id/SOMEONE-ELSE".into());
    let Some(w) = world(t, true, None, "d") else {
        return;
    };
    let v = json_of(&probe(&w, &["--service-account", "good", "-o", "json"]));
    assert_eq!(check(&v, "issuer"), "fail");
    assert_eq!(
        v["predicted"],
        "InvalidIdentityToken: No OpenIDConnect provider found in your account for https://127.0.0.1:1/oidc/id/SOMEONE-ELSE"
    );
}

#[test]
fn an_unknown_kid_is_caught() {
    let mut t = TokenIssuer::generate();
    t.jwks_kid = "rotated-away".into();
    let Some(w) = world(t, true, None, "e") else {
        return;
    };
    let v = json_of(&probe(&w, &["--service-account", "good", "-o", "json"]));
    assert_eq!(check(&v, "signature"), "fail");
    assert!(
        v["predicted"]
            .as_str()
            .unwrap()
            .starts_with("InvalidIdentityToken: Couldn't retrieve verification key"),
        "{v:#}"
    );
}

#[test]
fn a_thumbprint_mismatch_is_caught_for_a_non_eks_issuer() {
    let Some(w) = world(TokenIssuer::generate(), false, None, "f") else {
        return;
    };
    let v = json_of(&probe(&w, &["--service-account", "good", "-o", "json"]));
    assert_eq!(check(&v, "thumbprint"), "fail");
    assert_eq!(v["thumbprint"]["matches"], false);
    assert_eq!(v["predicted"], "InvalidIdentityToken: OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint");
}

#[test]
fn no_part_of_the_token_is_ever_printed() {
    let Some(w) = world(TokenIssuer::generate(), true, None, "g") else {
        return;
    };
    let mut outputs = String::new();
    for args in [
        &["--service-account", "good", "-vvv", "-o", "json"][..],
        &["--service-account", "good", "-vvv"][..],
        &["--service-account", "broken", "-vvv"][..],
    ] {
        let o = probe(&w, args);
        outputs.push_str(&String::from_utf8_lossy(&o.stdout));
        outputs.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    let tokens = w.kube.issued_tokens();
    assert_eq!(tokens.len(), 3);
    for t in tokens {
        for (i, part) in t.split('.').enumerate() {
            assert!(!outputs.contains(part), "token part {i} printed");
        }
    }
}

#[test]
fn the_test_pod_runs_with_the_workloads_security_context_and_is_deleted() {
    let log = format!("AWS_ROLE_ARN=arn:aws:iam::{ACCOUNT}:role/probe-ok-h\nAWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token\n{{\n  \"UserId\": \"AROAX:botocore-session-1\",\n  \"Account\": \"{ACCOUNT}\",\n  \"Arn\": \"arn:aws:sts::{ACCOUNT}:assumed-role/probe-ok-h/botocore-session-1\"\n}}\n");
    let Some(w) = world(
        TokenIssuer::generate(),
        true,
        Some(PodScript {
            phase: "Succeeded".into(),
            log,
        }),
        "h",
    ) else {
        return;
    };
    let v = json_of(&probe(
        &w,
        &[
            "--service-account",
            "good",
            "--test-pod",
            "--image",
            "example/awscli:2",
            "-o",
            "json",
        ],
    ));
    let tp = &v["test_pod"];
    assert_eq!(tp["deleted"], true);
    assert_eq!(
        tp["caller"],
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/probe-ok-h/botocore-session-1")
    );
    assert_eq!(w.kube.live_created_pods(), 0);
    let pod = w.kube.last_created_pod().unwrap();
    assert_eq!(pod["spec"]["serviceAccountName"], "good");
    assert_eq!(pod["spec"]["securityContext"]["runAsUser"], 1000);
    assert_eq!(pod["spec"]["securityContext"]["fsGroup"], 2000);
    assert_eq!(
        pod["spec"]["containers"][0]["securityContext"]["runAsNonRoot"],
        true
    );
    assert_eq!(pod["spec"]["containers"][0]["image"], "example/awscli:2");
}

#[test]
fn a_test_pod_that_never_becomes_ready_is_deleted_on_timeout() {
    let Some(w) = world(
        TokenIssuer::generate(),
        true,
        Some(PodScript {
            phase: "Pending".into(),
            log: String::new(),
        }),
        "i",
    ) else {
        return;
    };
    let v = json_of(&probe(
        &w,
        &[
            "--service-account",
            "good",
            "--test-pod",
            "--test-pod-timeout",
            "2",
            "-o",
            "json",
        ],
    ));
    assert!(v["test_pod"]["error"]
        .as_str()
        .unwrap()
        .contains("did not finish within 2 s"));
    assert_eq!(v["test_pod"]["deleted"], true);
    assert_eq!(w.kube.live_created_pods(), 0);
    assert!(w.kube.requests().iter().any(|r| r.method == "DELETE"));
}

#[test]
fn check_and_collect_never_write_even_where_probe_may() {
    let Some(w) = world(
        TokenIssuer::generate(),
        true,
        Some(PodScript {
            phase: "Succeeded".into(),
            log: String::new(),
        }),
        "j",
    ) else {
        return;
    };
    let mut c = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"));
    c.args([
        "check",
        "--cluster",
        "not-in-moto",
        "--region",
        "us-east-1",
        "-o",
        "json",
        "--kubeconfig",
    ])
    .arg(&w.kube.kubeconfig);
    with_moto_env(&mut c, &w.moto);
    let _ = c.output().unwrap();
    assert!(
        w.kube.mutating_requests().is_empty(),
        "{:?}",
        w.kube.mutating_requests()
    );
}

#[test]
#[ignore = "prints a probe report for reading"]
fn demo_print() {
    let Some(w) = world(TokenIssuer::generate(), false, None, "z") else {
        return;
    };
    let o = probe(&w, &["--service-account", "broken", "--color", "never"]);
    println!("{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn a_pod_that_could_not_be_listed_is_not_called_missing() {
    // The pod list is refused: `--pod` cannot be resolved, and the error says why and
    // what to pass instead, in one line (not "pod not found").
    let Some(moto) = Moto::start(ACCOUNT) else {
        required("moto");
        return;
    };
    let kube = KubeServer::start(KubeConfig {
        objects: objects("f"),
        forbidden: vec!["pods".into()],
        ..KubeConfig::default()
    });
    let w = ProbeWorld { kube, moto };
    let o = probe(&w, &["--pod", "good-app-1"]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("irsa-doctor:"))
        .unwrap_or_default();
    assert!(
        line.contains("--pod: the pods of namespace probe could not be read")
            && line.contains("Forbidden")
            && line.contains("--service-account NAME"),
        "{stderr}"
    );
    assert!(!stderr.contains("not found"), "{stderr}");
}
