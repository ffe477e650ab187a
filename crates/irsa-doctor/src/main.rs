//! `irsa-doctor`: diagnose IAM Roles for Service Accounts on Amazon EKS.

mod cli;
mod commands;
mod lint;
mod render;
mod script;

use clap::FromArgMatches;
use std::process::ExitCode;

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
