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

/// What the crate's tests share.
#[cfg(test)]
pub(crate) mod test_support {
    /// A xorshift generator (Marsaglia, "Xorshift RNGs", 2003): the same numbers from the
    /// same seed on every run.
    pub fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    /// An edit of `text` at a character boundary drawn by `next`: up to two bytes from
    /// there (whole characters) replaced by one of `edits` (a replacement, an insertion or
    /// a deletion).
    pub fn edit(text: &mut String, edits: &[&str], next: &mut impl FnMut() -> u64) {
        let mut at = (next() as usize) % text.len();
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let edit = edits[(next() as usize) % edits.len()];
        let end = (at + (next() as usize) % 3).min(text.len());
        let end = (end..=text.len())
            .find(|e| text.is_char_boundary(*e))
            .unwrap_or(text.len());
        text.replace_range(at..end, edit);
    }
}
