//! `irsa-doctor`: diagnose IAM Roles for Service Accounts on Amazon EKS.

mod cli;
mod commands;
mod controller;
mod lint;
mod render;
mod script;

use clap::FromArgMatches;
use std::process::ExitCode;

/// jemalloc, not the system allocator: a run makes millions of small allocations (a
/// large cluster's objects, then its report) on every core. Measured on the scale
/// benchmark (`bench/scale.sh`) against glibc's malloc, in interleaved pairs: 0.84-0.85x
/// the wall time and 0.86-0.91x the CPU time, and 0.93-0.95x the peak memory (glibc
/// keeps an arena per thread, jemalloc reuses freed pages across them). Its settings
/// are built in (`.cargo/config.toml`: freed pages go back to the system within a
/// second, those of allocations of 1 MiB or more at once, which bounds a long-running
/// controller's footprint).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // kube-rs and the AWS SDK both use rustls; one crypto provider (ring) for both.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let bin_name = cli::bin_name(argv.first().map(|a| a.as_os_str()));
    let mut cmd = cli::command(&bin_name);
    let parsed = cmd
        .try_get_matches_from_mut(&argv)
        .and_then(|m| cli::Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let e = e.format(&mut cmd);
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            if let Some(tip) = commands::tip_for(&e, &argv) {
                eprintln!("{tip}");
            }
            return ExitCode::from(code);
        }
    };
    match commands::run(cli, &matches) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("irsa-doctor: {e:#}");
            ExitCode::from(2)
        }
    }
}
