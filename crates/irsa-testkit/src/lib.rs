//! Test support for irsa-doctor's live mode: a Kubernetes test API server and a moto
//! harness. Only loopback addresses are ever used.

#![warn(missing_docs)]

pub mod eks_pod_identity;
pub mod fault_proxy;
pub mod kube_api;
pub mod kube_server;
pub mod moto;
pub mod scale;

pub use eks_pod_identity::{EksPodIdentity, PodIdentityConfig};
pub use fault_proxy::{Fault, FaultProxy, FaultRule, When};
pub use kube_server::{
    objects_from_snapshot, KubeConfig, KubeServer, Logged, PodScript, TokenIssuer, TOKEN,
};
pub use moto::Moto;
