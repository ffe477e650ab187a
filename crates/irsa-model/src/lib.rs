//! The snapshot: a typed, indexed view of a cluster and AWS account for IRSA
//! diagnosis, and the loader that builds it from the raw output of the very
//! `kubectl`/`aws` commands the troubleshooting articles use.
//!
//! Parsing only: no network, no async, no SDK.

#![warn(missing_docs)]

pub mod bounded;
pub mod command;
mod compact;
mod events;
pub mod files;
pub mod keys;
mod kinds;
pub mod loader;
pub mod model;
mod parallel;
pub mod permissions;
pub mod pod_identity;
mod raw;
pub mod recorded;
pub mod software;
mod string_map;
pub mod text;

pub use loader::{load_paths, Loader, REDACTED};
pub use model::*;
pub use parallel::{
    map_dynamic, map_items, map_weighted, ordered, parse_threads, threads, THREADS_ENV,
};
pub use permissions::{BoundaryState, ManagedPolicy, MissingPolicy, Permissions, RolePolicies};
pub use pod_identity::{
    AgentDaemonSet, Compute, Nodegroup, PodIdentityAssociation, PodIdentityFacts,
};
pub use software::{Software, SoftwareSource};
pub use string_map::StringMap;
pub use text::Text;
