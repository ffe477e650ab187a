//! Helpers shared by the test-world tests (live mode and probe).

#![allow(dead_code)]

use irsa_testkit::Moto;
use serde_json::Value;
use std::process::{Command, Output};

/// deploy/ rendered, and its RBAC.
pub mod deploy;

/// A missing test-world tool: skip locally (saying so), fail under CI.
pub fn required(tool: &str) -> bool {
    if std::env::var_os("CI").is_some() {
        panic!("{tool} is required under CI (.ci/run installs it)");
    }
    eprintln!("skipping: {tool} is not installed");
    false
}

/// Points a command at moto (and never at the developer's own kubeconfig or AWS).
pub fn with_moto_env(c: &mut Command, moto: &Moto) {
    for (k, v) in moto.env() {
        c.env(k, v);
    }
    c.env_remove("KUBECONFIG");
}

/// The JSON on a command's stdout (with both streams in the panic message).
pub fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// The binary under test: `IRSA_DOCTOR_BIN` when set (to measure another build, such
/// as the "before" column of the fault table), else this build's.
pub fn bin() -> String {
    std::env::var("IRSA_DOCTOR_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_irsa-doctor").to_string())
}
