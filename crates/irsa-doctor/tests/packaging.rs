//! Install and release files: the LICENSE matches Cargo.toml, the README's set-up
//! installs the binary, the krew manifest and the release workflow parse and agree on
//! the targets, and the manifest renders with real checksums (no placeholder left).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(p: &str) -> String {
    std::fs::read_to_string(root().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn yaml(p: &str) -> Value {
    serde_yaml_ng::from_str(&read(p)).unwrap_or_else(|e| panic!("{p} is not YAML: {e}"))
}

#[test]
fn license_matches_cargo_toml() {
    let cargo = read("Cargo.toml");
    assert!(cargo.contains("license = \"Apache-2.0\""));
    let license = read("LICENSE");
    assert!(license.contains("Apache License"));
    assert!(license.contains("Version 2.0, January 2004"));
    assert!(license.contains("END OF TERMS AND CONDITIONS"));
}

#[test]
fn readme_set_up_installs_then_runs_the_two_commands() {
    let readme = read("README.md");
    let setup = readme
        .split("## Set up")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Set up section");
    assert!(
        setup.contains("cargo install --locked --path crates/irsa-doctor"),
        "{setup}"
    );
    assert!(setup.contains("irsa-doctor check --snapshot examples/lbc-webidentityerr"));
    assert!(setup.contains("cargo test --workspace"));
}

/// The targets the release workflow builds.
fn workflow_targets(wf: &Value) -> Vec<String> {
    wf["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .expect("a build matrix")
        .iter()
        .map(|e| e["target"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn release_workflow_builds_static_linux_and_macos_with_checksums() {
    let wf = yaml(".github/workflows/release.yml");
    // YAML 1.1 reads the key `on` as a boolean; serde_yaml_ng keeps it as the string "on".
    let on = &wf["on"];
    assert!(on["push"]["tags"][0] == "v*", "{on}");
    let targets = workflow_targets(&wf);
    for t in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
    ] {
        assert!(targets.iter().any(|x| x == t), "builds {t}");
    }
    let text = read(".github/workflows/release.yml");
    assert!(text.contains("sha256sum"), "checksums");
    assert!(
        text.contains("statically linked"),
        "the Linux binary is checked static"
    );
    assert!(text.contains("--locked"));
    assert!(text.contains("plugins/render-manifest.sh"));
    // Every step runs something or uses an action.
    for (job, j) in wf["jobs"].as_object().unwrap() {
        assert!(j["runs-on"].is_string(), "{job}");
        for s in j["steps"].as_array().unwrap() {
            assert!(
                s.get("run").is_some() || s.get("uses").is_some(),
                "{job}: {s}"
            );
        }
    }
}

#[test]
fn krew_manifest_names_every_release_archive() {
    let m = yaml("plugins/irsa-doctor.yaml");
    assert_eq!(
        m["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(m["kind"], "Plugin");
    // The manifest's name is its file name, and what kubectl calls: `kubectl irsa-doctor`.
    assert_eq!(m["metadata"]["name"], "irsa-doctor");
    for field in ["version", "homepage", "shortDescription", "description"] {
        assert!(m["spec"][field].is_string(), "spec.{field}");
    }
    let targets = workflow_targets(&yaml(".github/workflows/release.yml"));
    let platforms = m["spec"]["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), targets.len());
    for p in platforms {
        let os = p["selector"]["matchLabels"]["os"].as_str().unwrap();
        let arch = p["selector"]["matchLabels"]["arch"].as_str().unwrap();
        let target = match (os, arch) {
            ("linux", "amd64") => "x86_64-unknown-linux-musl",
            ("linux", "arm64") => "aarch64-unknown-linux-musl",
            ("darwin", "amd64") => "x86_64-apple-darwin",
            ("darwin", "arm64") => "aarch64-apple-darwin",
            other => panic!("unexpected platform {other:?}"),
        };
        assert!(targets.iter().any(|t| t == target), "{target} is built");
        let uri = p["uri"].as_str().unwrap();
        assert!(
            uri.ends_with(&format!("irsa-doctor-{{{{TAG}}}}-{target}.tar.gz")),
            "{uri}"
        );
        assert_eq!(p["sha256"], format!("{{{{SHA256:{target}}}}}"));
        assert_eq!(p["bin"], "irsa-doctor");
    }
}

#[test]
fn krew_manifest_renders_with_the_archives_checksums() {
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("v{}", env!("CARGO_PKG_VERSION"));
    let targets = workflow_targets(&yaml(".github/workflows/release.yml"));
    for t in &targets {
        std::fs::write(
            dir.path().join(format!("irsa-doctor-{tag}-{t}.tar.gz")),
            format!("archive of {t}"),
        )
        .unwrap();
    }
    let o = render_manifest(&tag, dir.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(!text.contains("{{"), "no placeholder left:\n{text}");
    assert!(!text.contains("#:"), "template notes dropped");
    let m: Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(m["spec"]["version"], tag.as_str());
    for p in m["spec"]["platforms"].as_array().unwrap() {
        let uri = p["uri"].as_str().unwrap();
        let file = uri.rsplit('/').next().unwrap();
        assert!(uri.contains(&format!("/releases/download/{tag}/")), "{uri}");
        let expected = sha256_of(&dir.path().join(file));
        assert_eq!(p["sha256"], expected.as_str(), "{file}");
    }
    // A missing archive fails the render instead of publishing a placeholder.
    std::fs::remove_file(
        dir.path()
            .join(format!("irsa-doctor-{tag}-{}.tar.gz", targets[0])),
    )
    .unwrap();
    let o = render_manifest(&tag, dir.path());
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("is missing"));
}

/// Runs the release workflow's manifest renderer.
fn render_manifest(tag: &str, dist: &Path) -> std::process::Output {
    Command::new("sh")
        .arg(root().join("plugins/render-manifest.sh"))
        .arg(tag)
        .arg(dist)
        .output()
        .unwrap()
}

fn sha256_of(p: &Path) -> String {
    let o = Command::new("sha256sum").arg(p).output().unwrap();
    String::from_utf8(o.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}
