//! Memory is bounded by design, and each bound is tested where it matters: the
//! binary runs under `prlimit --as` (an address-space limit) against hostile input
//! and must end with a clear message, never abort. Needs `prlimit` (util-linux).

mod support;

use irsa_testkit::{KubeConfig, KubeServer, Moto, TokenIssuer};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{required, with_moto_env};

const GIB: u64 = 1024 * 1024 * 1024;

fn prlimit() -> bool {
    Command::new("prlimit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        || required("prlimit (util-linux)")
}

/// The binary under an address-space limit.
fn limited(bytes: u64) -> Command {
    let mut c = Command::new("prlimit");
    c.arg(format!("--as={bytes}")).arg("--").arg(support::bin());
    c
}

fn ended_cleanly(o: &Output) -> String {
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        o.status.code().is_some(),
        "killed by a signal (out of memory?): {:?}\n{stderr}",
        o.status
    );
    assert!(!stderr.contains("memory allocation"), "{stderr}");
    stderr
}

/// Nine levels of ten YAML aliases (10^9 values if expanded), padded with 100,000
/// plain items (400 KB), which raises the YAML parser's own alias limit, and 8 MB of
/// comments, which would raise any limit proportional to the file's length.
fn alias_bomb(dir: &Path) -> PathBuf {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        let refs = vec![format!("*a{p}"); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text.push_str("pad:\n");
    text.push_str(&"- x\n".repeat(100_000));
    text.push_str(&"# nothing to see here, just a long comment line\n".repeat(160_000));
    let path = dir.join("bomb.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_yaml_alias_bomb_is_refused_within_a_gib() {
    if !prlimit() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bomb = alias_bomb(dir.path());
    let o = limited(GIB)
        .args(["check", "--snapshot"])
        .arg(&bomb)
        .output()
        .unwrap();
    let stderr = ended_cleanly(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bomb.yaml") && stderr.contains("expands (through YAML aliases)"),
        "{stderr}"
    );
}

#[test]
fn deep_nesting_and_huge_strings_are_read_or_refused_cleanly() {
    if !prlimit() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("deep.json");
    std::fs::write(
        &deep,
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
    )
    .unwrap();
    let deep_yaml = dir.path().join("deep.yaml");
    std::fs::write(&deep_yaml, "- ".repeat(50_000) + "x\n").unwrap();
    let huge = dir.path().join("huge.json");
    let s = "A".repeat(200 * 1024 * 1024);
    std::fs::write(
        &huge,
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": s, "namespace": "x"}}).to_string(),
    )
    .unwrap();
    drop(s);
    for f in [&deep, &deep_yaml, &huge] {
        let o = limited(2 * GIB)
            .args(["check", "--snapshot"])
            .arg(f)
            .output()
            .unwrap();
        let stderr = ended_cleanly(&o);
        assert!(matches!(o.status.code(), Some(0..=2)), "{f:?}: {stderr}");
    }
}

#[test]
fn an_oversized_file_is_named_not_read() {
    if !prlimit() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("pods.json");
    // Sparse: 2 GiB on paper, nothing on disk.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(2 * GIB)
        .unwrap();
    let o = limited(GIB / 2)
        .args(["check", "--snapshot"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = ended_cleanly(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("pods.json") && stderr.contains("over the 1 GiB limit for one input file"),
        "{stderr}"
    );
}

#[test]
fn a_huge_discovery_document_is_refused_not_buffered() {
    if !prlimit() {
        return;
    }
    let Some(moto) = Moto::start("111122223333") else {
        required("moto");
        return;
    };
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": "probe",
        "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/probe-ok-huge"}}});
    let kube = KubeServer::start(KubeConfig {
        objects: vec![sa],
        tokens: Some(TokenIssuer::generate()),
        // 3 GB, streamed by the server: more than the limit below.
        oidc_body_bytes: Some(3 * GIB),
        ..KubeConfig::default()
    });
    let seed = Command::new("python3")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/seed_probe.py"))
        .args([&moto.endpoint, &kube.issuer(), &kube.top_ca_sha1, "huge"])
        .output()
        .unwrap();
    assert!(
        seed.status.success(),
        "{}",
        String::from_utf8_lossy(&seed.stderr)
    );
    let mut c = limited(GIB);
    c.args([
        "probe",
        "-n",
        "probe",
        "--service-account",
        "app",
        "--cluster",
        "x",
        "--region",
        "us-east-1",
        "-o",
        "json",
        "--issuer",
    ])
    .arg(kube.issuer())
    .arg("--ca-file")
    .arg(kube.ca_pem_path())
    .arg("--kubeconfig")
    .arg(&kube.kubeconfig);
    with_moto_env(&mut c, &moto);
    let o = c.output().unwrap();
    let stderr = ended_cleanly(&o);
    let v = support::json_of(&o);
    let discovery = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "discovery")
        .cloned()
        .unwrap_or_default();
    assert!(
        discovery.to_string().contains("larger than 1 MiB"),
        "{discovery}\n{stderr}"
    );
}
