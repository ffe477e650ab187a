//! A fault-injecting HTTP(S) proxy for the test world: it sits between irsa-doctor and
//! an API (the Kubernetes test API server over TLS, moto over plain HTTP) and, per
//! request, forwards it or injects a fault: an answer of its own (throttling, 5xx), a
//! TCP reset, a delay, a black hole (never answers), an endless `continue` token, an
//! oversized body, an answer cut short (the connection drops mid-body) or a garbled
//! one (a complete HTTP answer whose body is cut in half and ends in invalid bytes). Rules match a substring of `METHOD path?query\nbody` (so an AWS
//! query-protocol action such as `Action=GetRole` or a Kubernetes path), and fire
//! always, for the first N matching requests, or for a seeded fraction of them.
//!
//! Only loopback addresses are used.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What to do with a matching request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this instead of forwarding.
    Respond {
        /// HTTP status.
        status: u16,
        /// Extra headers (`Retry-After`, `x-amzn-ErrorType`, ...).
        headers: Vec<(String, String)>,
        /// Body.
        body: String,
    },
    /// Close the connection with a TCP reset, without an answer.
    Reset,
    /// Wait this long, then forward.
    Delay(Duration),
    /// Never answer (the connection stays open until the client gives up).
    BlackHole,
    /// Forward, then set `metadata.continue` of the JSON answer: always the same token
    /// (`fresh: false`, a server stuck on one page) or a new one each time (`fresh: true`,
    /// a list that never ends).
    EndlessContinue {
        /// A new token per answer.
        fresh: bool,
    },
    /// Answer 200 with a body of this many bytes (streamed; never held in memory).
    HugeBody(u64),
    /// Forward, then send the upstream's status, headers and `Content-Length`, but only
    /// the first half of its body before the connection drops (a proxy or load balancer
    /// dying mid-answer).
    CutShort,
    /// Forward, then send a complete answer whose body is the first half of the
    /// upstream's followed by invalid UTF-8 (a garbled body with correct framing).
    Garbled,
}

impl Fault {
    /// A Kubernetes `Status` failure answer, with `Retry-After` when given.
    pub fn kube_status(code: u16, reason: &str, retry_after: Option<u64>) -> Fault {
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        if let Some(s) = retry_after {
            headers.push(("retry-after".into(), s.to_string()));
        }
        Fault::Respond {
            status: code,
            headers,
            body: json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("fault injected by the test proxy: {reason}"), "reason": reason, "code": code})
            .to_string(),
        }
    }

    /// The AWS query-protocol (IAM, STS) throttling answer: HTTP 400, code `Throttling`.
    pub fn aws_query_throttling() -> Fault {
        Fault::aws_query_error(400, "Throttling", "Rate exceeded")
    }

    /// An AWS query-protocol (IAM, STS) error answer.
    pub fn aws_query_error(status: u16, code: &str, message: &str) -> Fault {
        Fault::Respond {
            status,
            headers: vec![("content-type".into(), "text/xml".into())],
            body: format!(
                "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>00000000-0000-4000-8000-fa0171000000</RequestId></ErrorResponse>"
            ),
        }
    }

    /// An AWS REST-JSON (EKS) error answer.
    pub fn aws_json_error(status: u16, code: &str, message: &str) -> Fault {
        Fault::Respond {
            status,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-amzn-errortype".into(), code.into()),
            ],
            body: json!({"message": message}).to_string(),
        }
    }
}

/// When a rule fires among the requests it matches.
#[derive(Debug, Clone)]
pub enum When {
    /// Every matching request.
    Always,
    /// The first N matching requests, then never.
    First(u64),
    /// A fraction (per mille) of matching requests, chosen by a seeded generator (the
    /// same sequence of requests gets the same faults).
    PerMille(u32, u64),
}

/// One rule.
#[derive(Debug, Clone)]
pub struct FaultRule {
    /// Substring of `METHOD path?query\nbody` that selects requests (empty: all).
    pub matching: String,
    /// Which of them.
    pub when: When,
    /// What happens.
    pub fault: Fault,
}

impl FaultRule {
    /// A rule.
    pub fn new(matching: &str, when: When, fault: Fault) -> FaultRule {
        FaultRule {
            matching: matching.to_string(),
            when,
            fault,
        }
    }
}

/// TLS for a proxy in front of a TLS server: the identity it presents and the CA it
/// trusts upstream.
#[derive(Clone)]
pub struct ProxyTls {
    /// Certificate chain presented to clients (leaf first).
    pub chain: Vec<CertificateDer<'static>>,
    /// PKCS#8 DER private key of the leaf.
    pub key: Vec<u8>,
    /// CA certificate (DER) the upstream's chain ends in.
    pub upstream_ca: CertificateDer<'static>,
}

struct RuleState {
    rule: FaultRule,
    seen: AtomicU64,
}

struct ProxyState {
    upstream: String,
    tls: Option<ProxyTls>,
    rules: Vec<RuleState>,
    requests: AtomicU64,
    injected: AtomicU64,
    fresh: AtomicU64,
    log: Mutex<Vec<String>>,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    /// `http(s)://127.0.0.1:PORT`.
    pub url: String,
    /// A kubeconfig pointing at this proxy (for a proxy made by [`crate::KubeServer::behind_faults`]).
    pub kubeconfig: Option<PathBuf>,
    state: Arc<ProxyState>,
    pub(crate) _dir: Option<tempfile::TempDir>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://…` or, with `tls`, `https://…`).
    pub fn start(upstream: &str, tls: Option<ProxyTls>, rules: Vec<FaultRule>) -> FaultProxy {
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_string(),
            tls,
            rules: rules
                .into_iter()
                .map(|rule| RuleState {
                    rule,
                    seen: AtomicU64::new(0),
                })
                .collect(),
            requests: AtomicU64::new(0),
            injected: AtomicU64::new(0),
            fresh: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
        });
        let st = state.clone();
        // Black-holed requests are still pending at the end: the runtime's end ends them.
        let (addr, stop_tx) =
            crate::spawn_server("proxy", move |addr_tx, stop_rx| serve(st, addr_tx, stop_rx));
        let scheme = if state.tls.is_some() { "https" } else { "http" };
        FaultProxy {
            url: format!("{scheme}://{addr}"),
            kubeconfig: None,
            state,
            _dir: None,
            _shutdown: stop_tx,
        }
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Faults injected so far.
    pub fn injected(&self) -> u64 {
        self.state.injected.load(Ordering::Relaxed)
    }

    /// `METHOD path -> what happened`, one line per request.
    pub fn log(&self) -> Vec<String> {
        self.state.log.lock().expect("log").clone()
    }
}

/// splitmix64: a seeded, dependency-free generator (the same requests get the same faults).
fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed
        .wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl ProxyState {
    fn choose(&self, text: &str) -> Option<Fault> {
        for r in &self.rules {
            if !text.contains(&r.rule.matching) {
                continue;
            }
            let n = r.seen.fetch_add(1, Ordering::Relaxed);
            let fire = match r.rule.when {
                When::Always => true,
                When::First(k) => n < k,
                When::PerMille(p, seed) => mix(seed, n) % 1000 < u64::from(p),
            };
            if fire {
                return Some(r.rule.fault.clone());
            }
        }
        None
    }
}

/// A TCP stream that closes with a reset (RST) when dropped after `reset` is set.
struct Resettable {
    tcp: tokio::net::TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for Resettable {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Relaxed) {
            let _ = self.tcp.set_zero_linger();
        }
    }
}

impl AsyncRead for Resettable {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Resettable {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// A body of `remaining` bytes of JSON-looking padding, produced chunk by chunk.
pub(crate) struct Padding {
    /// Bytes still to send.
    pub(crate) remaining: u64,
    /// One chunk of padding.
    pub(crate) chunk: Bytes,
}

impl hyper::body::Body for Padding {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = self.remaining.min(self.chunk.len() as u64) as usize;
        self.remaining -= n as u64;
        Poll::Ready(Some(Ok(hyper::body::Frame::data(self.chunk.slice(..n)))))
    }
    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.remaining)
    }
}

/// The first bytes of an answer, then an error: with a `Content-Length` of the whole,
/// the server drops the connection mid-body.
pub(crate) struct Cut {
    head: Option<Bytes>,
    declared: u64,
    /// A pause after the head, so that it reaches the client before the drop.
    pause: Pin<Box<tokio::time::Sleep>>,
}

impl hyper::body::Body for Cut {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        if let Some(h) = self.head.take() {
            return Poll::Ready(Some(Ok(hyper::body::Frame::data(h))));
        }
        match self.pause.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::other(
                "answer cut short by the test proxy",
            )))),
        }
    }
    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.declared)
    }
}

pub(crate) type Body = http_body_util::Either<Full<Bytes>, http_body_util::Either<Padding, Cut>>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn io_error(e: BoxError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

async fn serve(
    state: Arc<ProxyState>,
    addr_tx: std::sync::mpsc::Sender<SocketAddr>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let acceptor = state.tls.as_ref().map(|t| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("tls versions")
            .with_no_client_auth()
            .with_single_cert(
                t.chain.clone(),
                rustls::pki_types::PrivateKeyDer::Pkcs8(t.key.clone().into()),
            )
            .expect("tls config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    addr_tx
        .send(listener.local_addr().expect("addr"))
        .expect("send addr");
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let reset = Arc::new(AtomicBool::new(false));
                let io = Resettable { tcp, reset: reset.clone() };
                let state = state.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match acceptor {
                        Some(a) => {
                            if let Ok(tls) = a.accept(io).await {
                                serve_connection(tls, state, reset).await;
                            }
                        }
                        None => serve_connection(io, state, reset).await,
                    }
                });
            }
        }
    }
}

async fn serve_connection<I>(io: I, state: Arc<ProxyState>, reset: Arc<AtomicBool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |req| {
        let state = state.clone();
        let reset = reset.clone();
        async move { handle(&state, req, &reset).await.map_err(io_error) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(io), svc)
        .await;
}

async fn handle(
    state: &ProxyState,
    req: Request<hyper::body::Incoming>,
    reset: &AtomicBool,
) -> Result<Response<Body>, BoxError> {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let uri = parts
        .uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_else(|| "/".into());
    let text = format!("{} {uri}\n{}", parts.method, String::from_utf8_lossy(&body));
    let fault = state.choose(&text);
    let line = format!(
        "{} {uri} -> {}",
        parts.method,
        fault
            .as_ref()
            .map(|f| format!("{f:?}"))
            .unwrap_or_else(|| "forwarded".into())
    );
    state.log.lock().expect("log").push(line);
    if fault.is_some() {
        state.injected.fetch_add(1, Ordering::Relaxed);
    }
    match fault {
        None => forward(state, &parts, &uri, body).await,
        Some(Fault::Respond {
            status,
            headers,
            body,
        }) => {
            let mut r = Response::builder().status(status);
            for (k, v) in headers {
                r = r.header(k, v);
            }
            Ok(r.body(Body::Left(Full::new(Bytes::from(body))))?)
        }
        Some(Fault::Reset) => {
            reset.store(true, Ordering::Relaxed);
            Err(Box::new(std::io::Error::other(
                "reset injected by the test proxy",
            )))
        }
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            forward(state, &parts, &uri, body).await
        }
        Some(Fault::BlackHole) => {
            std::future::pending::<()>().await;
            unreachable!("a black hole never answers")
        }
        Some(Fault::EndlessContinue { fresh }) => {
            // The tokens are the proxy's own: the upstream (which checks its tokens,
            // as a real API server does) is asked for the list from its start again.
            let upstream_uri = without_fault_token(&uri);
            let answer = match forward(state, &parts, &upstream_uri, body).await {
                Ok(a) => a,
                Err(e) => return Err(e),
            };
            let (p, b) = answer.into_parts();
            let bytes = b.collect().await?.to_bytes();
            let mut v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            if v.get("metadata").is_some() {
                let token = if fresh {
                    format!("irsa-fault-{}", state.fresh.fetch_add(1, Ordering::Relaxed))
                } else {
                    "irsa-fault-loop".to_string()
                };
                v["metadata"]["continue"] = json!(token);
            }
            let mut r = Response::from_parts(
                p,
                Body::Left(Full::new(Bytes::from(v.to_string().into_bytes()))),
            );
            r.headers_mut().remove("content-length");
            Ok(r)
        }
        Some(Fault::HugeBody(n)) => {
            let mut chunk = vec![b' '; 64 * 1024];
            chunk[0] = b'{';
            Ok(Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Body::Right(http_body_util::Either::Left(Padding {
                    remaining: n,
                    chunk: Bytes::from(chunk),
                })))?)
        }
        Some(f @ (Fault::CutShort | Fault::Garbled)) => {
            let (mut p, b) = forward(state, &parts, &uri, body).await?.into_parts();
            let bytes = b.collect().await?.to_bytes();
            let head = bytes.slice(..bytes.len() / 2);
            p.headers.remove("content-length");
            if matches!(f, Fault::CutShort) {
                return Ok(Response::from_parts(
                    p,
                    Body::Right(http_body_util::Either::Right(Cut {
                        head: Some(head),
                        declared: bytes.len() as u64,
                        pause: Box::pin(tokio::time::sleep(Duration::from_millis(50))),
                    })),
                ));
            }
            let mut garbled = head.to_vec();
            garbled.extend_from_slice(b"\xff\xfe\x00garbled");
            Ok(Response::from_parts(
                p,
                Body::Left(Full::new(Bytes::from(garbled))),
            ))
        }
    }
}

/// `uri` without a `continue` token this proxy invented (`irsa-fault-…`).
fn without_fault_token(uri: &str) -> String {
    let Some((path, query)) = uri.split_once('?') else {
        return uri.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        // Clients percent-encode the token's `-` (`irsa%2Dfault%2D…`).
        .filter(|kv| {
            !kv.replace("%2D", "-")
                .replace("%2d", "-")
                .starts_with("continue=irsa-fault-")
        })
        .collect();
    if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

async fn forward(
    state: &ProxyState,
    parts: &hyper::http::request::Parts,
    uri: &str,
    body: Bytes,
) -> Result<Response<Body>, BoxError> {
    let rest = state
        .upstream
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(&state.upstream);
    let authority = rest.split('/').next().unwrap_or(rest).to_string();
    let tcp = tokio::net::TcpStream::connect(&authority).await?;
    // Headers as sent, `Host` included: AWS signatures (SigV4) cover it.
    let mut req = Request::builder().method(parts.method.clone()).uri(uri);
    for (k, v) in &parts.headers {
        req = req.header(k, v);
    }
    if !parts.headers.contains_key("host") {
        req = req.header("host", &authority);
    }
    let req = req.body(Full::new(body))?;
    let resp = match &state.tls {
        Some(t) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(t.upstream_ca.clone())?;
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
            let name = ServerName::try_from("localhost".to_string())?;
            let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await?;
            send(hyper_util::rt::TokioIo::new(tls), req).await
        }
        None => send(hyper_util::rt::TokioIo::new(tcp), req).await,
    };
    let resp = match resp {
        Ok(r) => r,
        Err(e) => return Err(e),
    };
    let (mut p, b) = resp.into_parts();
    let bytes = b.collect().await?.to_bytes();
    p.headers.remove("transfer-encoding");
    Ok(Response::from_parts(p, Body::Left(Full::new(bytes))))
}

async fn send<I>(
    io: I,
    req: Request<Full<Bytes>>,
) -> Result<Response<hyper::body::Incoming>, BoxError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(conn);
    Ok(sender.send_request(req).await?)
}
