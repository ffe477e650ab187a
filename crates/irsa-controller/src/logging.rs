//! Structured JSON logs (one object per line on standard error), through `tracing`,
//! which kube-rs also logs with.
//!
//! No secret is ever logged: objects are redacted before they are stored
//! ([`crate::trim`]), and the libraries that handle credentials (the AWS SDK's
//! signing and HTTP layers, the HTTP clients, TLS) are held at `info` whatever
//! `RUST_LOG` asks, so their debug traces (request headers, signed requests) never
//! appear.

use tracing_subscriber::filter::{EnvFilter, FilterFn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Crates whose debug output may carry credentials.
pub const HELD_AT_INFO: [&str; 12] = [
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_sigv4",
    "aws_config",
    "aws_credential_types",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "tower",
];

/// Installs the JSON logger: `RUST_LOG` (default `info`), verbosity from `-v`.
pub fn init(verbose: u8) {
    let default = match verbose {
        0 => "info",
        1 => "info,irsa_controller=debug",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let held = FilterFn::new(|meta| {
        *meta.level() <= tracing::Level::INFO
            || !HELD_AT_INFO
                .iter()
                .any(|c| meta.target() == *c || meta.target().starts_with(&format!("{c}::")))
    });
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(std::io::stderr)
        .with_filter(held)
        .with_filter(filter);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}
