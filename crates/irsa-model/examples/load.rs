//! Loads snapshot paths and prints what was read and how long it took (for profiling
//! the loader alone: `perf record target/release/examples/load DIR`).
//!
//! `cargo run --release -p irsa-model --example load -- PATH...`

use std::path::PathBuf;

fn main() {
    let paths: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let started = std::time::Instant::now();
    let s = irsa_model::load_paths(&paths, irsa_model::ContextFlags::default());
    eprintln!(
        "{} files, {} objects, {} pods, {} ServiceAccounts, {} workloads, {} roles, {} rejected in {:.3}s",
        s.inputs.files,
        s.inputs.objects,
        s.pods.len(),
        s.service_accounts.len(),
        s.workloads.len(),
        s.roles.len(),
        s.inputs.rejected.len(),
        started.elapsed().as_secs_f64()
    );
}
