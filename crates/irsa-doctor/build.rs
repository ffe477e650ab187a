//! `--version`: the crate version and, when built from a git checkout, the commit
//! (`0.1.0 (a1b2c3d4e5f6)`). A checkout without
//! git, or a source tarball, builds with the crate version alone; `IRSA_DOCTOR_COMMIT`
//! (e.g. set by a packager) overrides the lookup.
//!
//! On Linux the binaries link as position-dependent executables (`-no-pie`): see
//! [`link_position_dependent`].

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

/// A position-independent executable (the toolchain's default on Linux) is relocated
/// when it starts: the dynamic loader reads its 1.5 MB table of relative relocations
/// and writes 1.1 MB of pointers (`.data.rel.ro`, vtables and the like) into private
/// pages, held for the whole run. Linked position-dependent, neither happens: measured
/// on `bench/scale.sh`'s small shape, the peak RSS is 2-3 MB lower (`--version`: 9.3 ->
/// 7.0 MB), at the same speed. What it gives up is address-space randomisation of the
/// binary's own code (libraries, heap and stack stay randomised), a defence against
/// the exploitation of memory-corruption bugs, which this workspace's code, safe Rust
/// only (`unsafe_code` is forbidden), does not have by construction (its dependencies'
/// `unsafe` blocks remain).
/// `IRSA_DOCTOR_PIE=1` at build time keeps the default (e.g. a distribution that
/// requires PIE). The objects are compiled position-independent either way, which a
/// position-dependent link accepts (`ld` resolves their GOT references at link time).
fn link_position_dependent() {
    println!("cargo:rerun-if-env-changed=IRSA_DOCTOR_PIE");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let keep_pie = std::env::var("IRSA_DOCTOR_PIE").is_ok_and(|v| v.trim() == "1");
    if os == "linux" && !keep_pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

fn main() {
    link_position_dependent();
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
