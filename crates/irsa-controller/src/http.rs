//! `/metrics` (OpenMetrics text), `/healthz` (the process serves) and `/readyz` (the
//! watches have listed; and either another replica holds the Lease and this one stands
//! by, or this one leads and its first evaluation of every namespace is done).

use crate::metrics::Metrics;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What `/readyz` reports.
#[derive(Debug, Default)]
pub struct Health {
    /// Every watch has listed (or failed to, which is reported as gaps).
    pub listed: AtomicBool,
    /// This replica leads.
    pub leading: AtomicBool,
    /// This replica has seen another replica hold the Lease, and stands by.
    pub standing_by: AtomicBool,
    /// The leader's first evaluation of every namespace is done.
    pub evaluated: AtomicBool,
}

impl Health {
    /// Ready, or why not.
    pub fn ready(&self) -> Result<(), &'static str> {
        if !self.listed.load(Ordering::Relaxed) {
            return Err("the watches have not listed yet");
        }
        // A replica that does not know yet whether it leads is not ready: it would
        // serve metrics without a verdict as if it were a standby.
        if self.standing_by.load(Ordering::Relaxed) && !self.leading.load(Ordering::Relaxed) {
            return Ok(());
        }
        if !self.evaluated.load(Ordering::Relaxed) {
            return Err(if self.leading.load(Ordering::Relaxed) {
                "the first evaluation is not done yet"
            } else {
                "the leader election has not decided yet"
            });
        }
        Ok(())
    }
}

fn answer(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn route(
    req: &Request<hyper::body::Incoming>,
    metrics: &Metrics,
    health: &Health,
) -> Response<Full<Bytes>> {
    match (req.method().as_str(), req.uri().path()) {
        ("GET", "/metrics") => answer(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.encode(),
        ),
        ("GET", "/healthz") => answer(StatusCode::OK, "text/plain", "ok\n".into()),
        ("GET", "/readyz") => match health.ready() {
            Ok(()) => answer(StatusCode::OK, "text/plain", "ok\n".into()),
            Err(why) => answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                format!("{why}\n"),
            ),
        },
        ("GET", _) => answer(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: /metrics, /healthz, /readyz\n".into(),
        ),
        _ => answer(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        ),
    }
}

/// Binds the address (an error names it), then serves in the background.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let metrics = metrics.clone();
            let health = health.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let r = route(&req, &metrics, &health);
                    async move { Ok::<_, std::convert::Infallible>(r) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_once_the_role_is_known() {
        let h = Health::default();
        assert!(h.ready().is_err(), "nothing listed");
        h.listed.store(true, Ordering::Relaxed);
        assert_eq!(h.ready(), Err("the leader election has not decided yet"));
        h.standing_by.store(true, Ordering::Relaxed);
        assert_eq!(h.ready(), Ok(()), "a standby is ready");
        // It takes over: ready again only after its first evaluation.
        h.leading.store(true, Ordering::Relaxed);
        assert_eq!(h.ready(), Err("the first evaluation is not done yet"));
        h.evaluated.store(true, Ordering::Relaxed);
        assert_eq!(h.ready(), Ok(()));
    }
}
