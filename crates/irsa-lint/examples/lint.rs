//! The lint pipeline without the CLI around it (for the benchmark, bench/lint.sh): reads
//! the paths, lints them with `allow-gaps`, writes the SARIF log to stdout.
//!   cargo run --release -p irsa-lint --example lint -- DIR…

use irsa_lint::{lint_paths, sarif, Config, LintOptions};
use std::io::Write;
use std::path::PathBuf;

fn main() {
    let paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let options = LintOptions {
        config: Config {
            allow_gaps: true,
            ..Config::default()
        },
        ..LintOptions::default()
    };
    let report = lint_paths(&paths, &options);
    let log = sarif::log(&report, env!("CARGO_PKG_VERSION"));
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, &log);
    let _ = writeln!(out);
    let c = report.checked;
    eprintln!(
        "{} files; checked {} ServiceAccounts, {} role trust policies, {} links, {} workloads; {} findings",
        report.inputs.files,
        c.serviceaccounts,
        c.roles,
        c.chains,
        c.workloads,
        report.report.findings.len()
    );
}
