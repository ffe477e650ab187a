//! Writes a large snapshot for the scale benchmark (see irsa_testkit::scale).
//!
//! `cargo run --release -p irsa-doctor --example gen-scale -- [--small] DIR [SAS PODS ROLES]`
//! (`--small`: about 3 KB pods, no workloads, roles in one `aws iam list-roles` output).

use irsa_testkit::scale::Shape;
use std::path::PathBuf;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let shape = match args.iter().position(|a| a == "--small") {
        Some(i) => {
            args.remove(i);
            Shape::SmallPods
        }
        None => Shape::Large,
    };
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: gen-scale [--small] DIR [SERVICE_ACCOUNTS PODS ROLES]");
        std::process::exit(2);
    };
    let n = |i: usize, d: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (sas, pods, roles) = (n(1, 10_000), n(2, 20_000), n(3, 2_000));
    let bytes = irsa_testkit::scale::generate_shape(&dir, sas, pods, roles, shape);
    eprintln!(
        "wrote {} ({sas} ServiceAccounts, {pods} pods, {roles} roles, {:.1} MB, {shape:?})",
        dir.display(),
        bytes as f64 / 1e6
    );
}
