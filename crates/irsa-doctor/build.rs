//! `--version`: the crate version and, when built from a git checkout, the commit
//! (`0.1.0 (a1b2c3d4e5f6)`). A checkout without
//! git, or a source tarball, builds with the crate version alone; `IRSA_DOCTOR_COMMIT`
//! (e.g. set by a packager) overrides the lookup.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rerun-if-env-changed=IRSA_DOCTOR_COMMIT");
    println!("cargo:rerun-if-changed=build.rs");
    let commit = match std::env::var("IRSA_DOCTOR_COMMIT") {
        Ok(c) if !c.trim().is_empty() => Some(c.trim().to_string()),
        _ => git(&["rev-parse", "--short=12", "HEAD"]).inspect(|_| {
            // Rebuild when HEAD moves: HEAD itself, the branch ref it names, packed refs.
            if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
                let dir = PathBuf::from(dir);
                println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
                if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
                    if let Some(common) = git(&["rev-parse", "--git-common-dir"]) {
                        let common = PathBuf::from(common);
                        println!("cargo:rerun-if-changed={}", common.join(&r).display());
                        println!(
                            "cargo:rerun-if-changed={}",
                            common.join("packed-refs").display()
                        );
                    }
                }
            }
        }),
    };
    let line = match commit {
        Some(c) => format!("{version} ({c})"),
        None => version,
    };
    println!("cargo:rustc-env=IRSA_DOCTOR_VERSION={line}");
}
