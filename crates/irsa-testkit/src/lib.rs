//! Test support for irsa-doctor's live mode: a Kubernetes test API server and a moto
//! harness. Only loopback addresses are ever used.

#![warn(missing_docs)]

pub mod eks_pod_identity;
pub mod fault_proxy;
pub mod kube_api;
pub mod kube_server;
pub mod moto;
pub mod scale;

use std::net::SocketAddr;

/// Starts a test server in its own thread, on its own two-worker runtime: `serve` gets
/// where to send the address it bound and the signal that stops it. Returns that
/// address and the sender whose drop stops the server; requests still pending then
/// (a black-holed request) end with the runtime.
pub(crate) fn spawn_server<F, Fut>(
    what: &str,
    serve: F,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>)
where
    F: FnOnce(std::sync::mpsc::Sender<SocketAddr>, tokio::sync::oneshot::Receiver<()>) -> Fut
        + Send
        + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(serve(addr_tx, stop_rx));
        rt.shutdown_background();
    });
    let addr = addr_rx.recv().unwrap_or_else(|_| panic!("{what} address"));
    (addr, stop_tx)
}

pub use eks_pod_identity::{EksPodIdentity, PodIdentityConfig};
pub use fault_proxy::{Fault, FaultProxy, FaultRule, When};
pub use kube_server::{
    objects_from_snapshot, KubeConfig, KubeServer, Logged, PodScript, TokenIssuer, TOKEN,
};
pub use moto::Moto;
