//! Loads a snapshot and runs every rule, for profiling the pure core without the
//! command-line crate (which links the AWS SDK):
//! `cargo build --profile profiling -p irsa-rules --example profile-check`, then
//! `perf record -g target/profiling/examples/profile-check DIR`.

use irsa_model::{load_paths, ContextFlags};
use std::path::PathBuf;

fn main() {
    let paths: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if paths.is_empty() {
        eprintln!("usage: profile-check SNAPSHOT_DIR...");
        std::process::exit(2);
    }
    let t = std::time::Instant::now();
    let snap = load_paths(&paths, ContextFlags::default());
    let loaded = t.elapsed();
    eprintln!("after load: {}", memory());
    let report = irsa_rules::check(
        &snap,
        &irsa_rules::Scope::default(),
        &irsa_rules::Options::default(),
    );
    let checked = t.elapsed();
    eprintln!(
        "load {:?}, rules {:?}: {} findings, {} passes, {} chains",
        loaded,
        checked - loaded,
        report.findings.len(),
        report.passes.len(),
        report.chains.len()
    );
    eprintln!("after rules: {}", memory());
    std::mem::forget(report);
    std::mem::forget(snap);
}

/// The resident and peak resident set size (Linux).
fn memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}
