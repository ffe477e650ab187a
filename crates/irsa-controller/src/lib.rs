//! `irsa-doctor controller`: watches the cluster with kube-rs' runtime (watchers and
//! reflectors over trimmed objects), re-evaluates the namespaces a change touches
//! through the same pure core as `check` ([`evaluate`]), refreshes the AWS side on an
//! interval (with jitter and a cap on calls per minute) and on demand, and reports
//! through Prometheus metrics, Kubernetes Events and PolicyReports.

#![warn(missing_docs)]

pub mod aws;
pub mod controller;
pub mod evaluate;
pub mod events;
pub mod http;
pub mod leader;
pub mod logging;
pub mod metrics;
pub mod reports;
pub mod slim;
pub mod state;
pub mod trim;
pub mod watch;

pub use controller::{run, Config, Error, LeaderElection};

/// The logging facade (for the binary).
pub use tracing;
