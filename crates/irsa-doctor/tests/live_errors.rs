//! Live errors a person can act on: no kubeconfig, no AWS credentials, an unknown
//! profile, an unreachable API: one line each, saying what to do, and never the
//! SDK's Debug dump. Only loopback is used (IMDS is disabled in every test).

mod support;

use irsa_testkit::{objects_from_snapshot, KubeConfig, KubeServer};
use std::path::PathBuf;
use std::process::{Command, Output};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

/// The binary with no kubeconfig, no AWS configuration and no IMDS, from an empty HOME.
fn bare(home: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"));
    for k in [
        "KUBECONFIG",
        "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ] {
        c.env_remove(k);
    }
    c.env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1");
    c
}

fn text_of(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn no_debug(t: &str) {
    for debug in [
        "DispatchFailure",
        "ConnectorError",
        "Some(",
        "kind: Other",
        "Os {",
    ] {
        assert!(!t.contains(debug), "Debug output `{debug}` in:\n{t}");
    }
}

#[test]
fn no_kubeconfig_says_so_and_what_to_do() {
    let home = tempfile::tempdir().unwrap();
    let o = bare(home.path())
        .args(["check", "--cluster", "prod", "--region", "eu-west-1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let t = text_of(&o);
    assert!(t.contains("no kubeconfig found"), "{t}");
    assert!(t.contains("aws eks update-kubeconfig --name"), "{t}");
    assert!(t.contains("--snapshot"), "{t}");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).lines().count(),
        1,
        "one line: {t}"
    );
    no_debug(&t);
}

fn kube() -> KubeServer {
    KubeServer::start(KubeConfig {
        objects: objects_from_snapshot(&example("many-problems")),
        ..KubeConfig::default()
    })
}

fn gaps(o: &Output) -> Vec<String> {
    let v: serde_json::Value = support::json_of(o);
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["cause"] == "collection-gap")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn no_aws_credentials_is_said_once_in_words() {
    let home = tempfile::tempdir().unwrap();
    let k = kube();
    let o = bare(home.path())
        .args([
            "check",
            "--cluster",
            "shop-use1",
            "-o",
            "json",
            "--kubeconfig",
        ])
        .arg(&k.kubeconfig)
        .output()
        .unwrap();
    let t = text_of(&o);
    let failed: Vec<String> = gaps(&o)
        .into_iter()
        .filter(|g| g.contains("failed while collecting"))
        .collect();
    assert_eq!(failed.len(), 1, "one line for every AWS read: {failed:#?}");
    assert!(
        failed[0].contains("no AWS credentials found (env, profile, SSO, IMDS)"),
        "{}",
        failed[0]
    );
    assert!(
        !t.contains("169.254.169.254") && !t.to_lowercase().contains("imds client"),
        "{t}"
    );
    no_debug(&t);
}

#[test]
fn an_unknown_profile_is_named() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("aws-config"),
        "[profile prod-readonly]\nregion = us-east-1\n",
    )
    .unwrap();
    let k = kube();
    let o = bare(home.path())
        .args([
            "check",
            "--cluster",
            "shop-use1",
            "-o",
            "json",
            "--profile",
            "prod-redaonly",
            "--kubeconfig",
        ])
        .arg(&k.kubeconfig)
        .output()
        .unwrap();
    let t = text_of(&o);
    assert!(
        gaps(&o)
            .iter()
            .any(|g| g.contains("AWS profile `prod-redaonly` (--profile) is not defined")),
        "{t}"
    );
    no_debug(&t);
}

#[test]
fn unreachable_endpoints_are_one_line_each_without_debug_dumps() {
    // As the first-use check does it: nothing listens on port 9 of loopback.
    let home = tempfile::tempdir().unwrap();
    let kc = home.path().join("kc");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:9\"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n",
    )
    .unwrap();
    let o = bare(home.path())
        .env("KUBECONFIG", &kc)
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .args(["check", "--cluster", "c", "--timeout", "3"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let t = text_of(&o);
    no_debug(&t);
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("cannot reach the Kubernetes API at https://127.0.0.1:9: connection refused"),
        "{t}"
    );
    let aws_lines = t
        .lines()
        .filter(|l| l.contains("cannot reach the AWS"))
        .count();
    assert!(
        (1..=3).contains(&aws_lines),
        "one line per AWS endpoint, not per read ({aws_lines}):\n{t}"
    );
}

#[test]
fn timeouts_name_the_flag() {
    // An AWS endpoint that accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for c in listener.incoming().take(64) {
            conns.push(c);
        }
    });
    let home = tempfile::tempdir().unwrap();
    let k = kube();
    let o = bare(home.path())
        .env("AWS_ENDPOINT_URL", &url)
        .env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .args([
            "check",
            "--cluster",
            "shop-use1",
            "-o",
            "json",
            "--timeout",
            "2",
            "--kubeconfig",
        ])
        .arg(&k.kubeconfig)
        .output()
        .unwrap();
    let t = text_of(&o);
    assert!(
        gaps(&o)
            .iter()
            .any(|g| g.contains("timed out after 2 s (--timeout)")),
        "{t}"
    );
    no_debug(&t);
    drop(held);
}

#[test]
fn expired_kubernetes_credentials_are_one_line_naming_the_server_and_the_fix() {
    // The test API server answers 401 to a token it does not know, as an API server
    // does to an expired EKS token.
    let home = tempfile::tempdir().unwrap();
    let k = kube();
    let kc = home.path().join("kc");
    let text = std::fs::read_to_string(&k.kubeconfig).unwrap();
    std::fs::write(&kc, text.replace(irsa_testkit::TOKEN, "k8s-aws-v1.expired")).unwrap();
    let o = bare(home.path())
        .args(["check", "--cluster", "shop-use1", "--kubeconfig"])
        .arg(&kc)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let t = text_of(&o);
    no_debug(&t);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    for needle in [
        "Unauthorized (401)",
        k.url.as_str(),
        "expired",
        "aws eks update-kubeconfig",
    ] {
        assert!(lines[0].contains(needle), "`{needle}` in {}", lines[0]);
    }
    assert!(
        !t.contains("k8s-aws-v1.expired"),
        "the token is never printed: {t}"
    );
}
