//! `lint` cannot reach a network or a cloud: nothing the crate links (normal and
//! build dependencies, transitively, as cargo resolves them for this workspace) is a
//! network, TLS, HTTP, async-runtime, Kubernetes or AWS SDK crate. (The binary's
//! run is traced syscall by syscall in crates/irsa-doctor/tests/lint.rs.)

use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::process::Command;

/// Crates that would give the linter a way out of the machine.
const NETWORK: &[&str] = &[
    "hyper",
    "reqwest",
    "h2",
    "tokio",
    "mio",
    "socket2",
    "rustls",
    "native-tls",
    "openssl",
    "ureq",
    "curl",
    "kube",
    "kube-client",
    "k8s-openapi",
    "aws-config",
    "aws-smithy-runtime",
    "aws-smithy-http-client",
    "aws-sdk-sts",
    "aws-sdk-iam",
    "aws-sdk-eks",
    "irsa-collect",
];

#[test]
fn the_linter_links_no_network_or_cloud_crate() {
    // This machine's target only (what is linked here; no other platform's crates
    // need be downloaded).
    let rustc = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    let host = String::from_utf8(rustc.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc -vV names the host");
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let root = names
        .iter()
        .find(|(_, n)| **n == "irsa-lint")
        .map(|(id, _)| *id)
        .unwrap();
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let linked = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null() || k["kind"] == "build");
            if linked {
                stack.push(dep["pkg"].as_str().unwrap());
            }
        }
    }
    let linked: BTreeSet<&str> = seen.iter().map(|id| names[id]).collect();
    // The walk is real: it reaches what lint does use.
    for used in [
        "irsa-rules",
        "irsa-policy",
        "saphyr-parser",
        "serde_json",
        "walkdir",
    ] {
        assert!(linked.contains(used), "{used} not found in {linked:?}");
    }
    let bad: Vec<&&str> = linked.iter().filter(|n| NETWORK.contains(n)).collect();
    assert!(bad.is_empty(), "irsa-lint links {bad:?}");
}
