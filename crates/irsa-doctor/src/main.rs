//! `irsa-doctor`: diagnose IAM Roles for Service Accounts on Amazon EKS.

mod cli;
mod commands;
mod lint;
mod render;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // kube-rs and the AWS SDK both use rustls; one crypto provider (ring) for both.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("irsa-doctor: {e:#}");
            ExitCode::from(2)
        }
    }
}
