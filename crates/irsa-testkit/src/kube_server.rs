//! A Kubernetes test API server: serves fixture objects at the real REST paths
//! over TLS (a CA made at start-up), with bearer-token auth, discovery (`/api`,
//! `/apis`, resource lists, `/version` with EKS's `"29+"` minor), list with
//! `limit`/`continue` (items without kind/apiVersion, as the real server sends them),
//! get, watch streams with resourceVersions and bookmarks, writes to the resources a
//! test makes writable (see [`crate::kube_api`]), 403 for chosen resources and verbs,
//! and a log of every request. Its fidelity is checked by pointing the real `kubectl`
//! at it.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The token the server accepts.
pub const TOKEN: &str = "irsa-testkit-token";

/// One logged request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Status answered.
    pub status: u16,
}

/// Issues real RS256 service-account tokens (TokenRequest) and serves the issuer's
/// OIDC discovery document and JWKS, without auth, as EKS's issuer does.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    /// PKCS#1 DER RSA private key (made at test time).
    pub key_der: Vec<u8>,
    /// `kid` in the token header.
    pub kid: String,
    /// `kid` the JWKS publishes (differs to simulate an unknown key).
    pub jwks_kid: String,
    /// `iss` to put in tokens instead of the served issuer (a wrong issuer).
    pub iss_override: Option<String>,
}

impl TokenIssuer {
    /// A fresh 2048-bit key from `openssl genrsa` (PKCS#1, as ring reads it).
    pub fn generate() -> TokenIssuer {
        use base64::Engine;
        let out = std::process::Command::new("openssl")
            .args(["genrsa", "-traditional", "2048"])
            .output()
            .expect("openssl is needed to make the test signing key");
        assert!(
            out.status.success(),
            "openssl genrsa failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pem = String::from_utf8_lossy(&out.stdout);
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let key_der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("PEM body");
        ring::signature::RsaKeyPair::from_der(&key_der).expect("ring reads the key");
        TokenIssuer {
            key_der,
            kid: "irsa-testkit-key-1".into(),
            jwks_kid: "irsa-testkit-key-1".into(),
            iss_override: None,
        }
    }
}

/// What a pod created through the server does (for test-pod runs).
#[derive(Debug, Clone)]
pub struct PodScript {
    /// Phase the pod reports after creation (`Succeeded`, `Failed`, or `Pending` forever).
    pub phase: String,
    /// Its log.
    pub log: String,
}

/// What the server serves.
#[derive(Debug, Clone, Default)]
pub struct KubeConfig {
    /// Token issuance and the issuer's discovery/JWKS.
    pub tokens: Option<TokenIssuer>,
    /// Allow creating and deleting pods (test-pod runs); every other write is refused.
    pub writable_pods: Option<PodScript>,
    /// Objects with `kind` and `metadata`.
    pub objects: Vec<Value>,
    /// Requests answered with 403: `pods` or `pods@namespace` refuses reading them;
    /// `create:events`, `patch:policyreports@team-a` refuses that verb.
    pub forbidden: Vec<String>,
    /// Page size when the client asks for none.
    pub page_size: Option<usize>,
    /// Resources that accept create/update/patch/delete over HTTP (`events`, `leases`,
    /// or `*` for all); the others answer 405, as the read-only server always did.
    pub writable: Vec<String>,
    /// Serve the PolicyReport custom resources (`wgpolicyk8s.io/v1alpha2`), as when
    /// their definitions are installed; else they are not found, as without them.
    pub policy_reports: bool,
    /// Watch history, bookmarks, forced watch ends.
    pub watch: crate::kube_api::StoreConfig,
    /// Serve the issuer's discovery document with a body of this many bytes (streamed):
    /// a hostile or broken issuer.
    pub oidc_body_bytes: Option<u64>,
}

struct State {
    store: Arc<crate::kube_api::Store>,
    forbidden: Vec<String>,
    writable: Vec<String>,
    policy_reports: bool,
    log: Mutex<Vec<Logged>>,
    url: Mutex<String>,
    tokens: Option<TokenIssuer>,
    writable_pods: Option<PodScript>,
    created: Mutex<Vec<Value>>,
    issued: Mutex<Vec<String>>,
    last_created: Mutex<Option<Value>>,
    oidc_body_bytes: Option<u64>,
}

impl State {
    fn issuer(&self) -> String {
        format!("{}/oidc/id/IRSATESTKIT", self.url.lock().expect("url"))
    }
}

/// A running server; stops when dropped.
pub struct KubeServer {
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// SHA-1 of the CA at the top of the chain the server sends (what IAM would pin).
    pub top_ca_sha1: String,
    /// A kubeconfig pointing at it (token auth, the test CA).
    pub kubeconfig: PathBuf,
    state: Arc<State>,
    tls: crate::fault_proxy::ProxyTls,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl KubeServer {
    /// Starts the server on a free loopback port, in its own thread.
    pub fn start(config: KubeConfig) -> KubeServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = rcgen::generate_simple_self_signed(Vec::<String>::new()).expect("ca");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "irsa-testkit CA");
        let ca_key = ca.key_pair;
        let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
        let leaf_key = rcgen::KeyPair::generate().expect("key");
        let mut leaf_params =
            rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        leaf_params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(std::net::IpAddr::V4(
                std::net::Ipv4Addr::LOCALHOST,
            )));
        let leaf = leaf_params
            .signed_by(&leaf_key, &ca_cert, &ca_key)
            .expect("leaf");
        let ca_path = dir.path().join("ca.crt");
        std::fs::write(&ca_path, ca_cert.pem()).expect("write ca");

        let state = Arc::new(State {
            store: Arc::new(crate::kube_api::Store::new(config.objects, &config.watch)),
            forbidden: config.forbidden,
            writable: config.writable,
            policy_reports: config.policy_reports,
            log: Mutex::new(Vec::new()),
            url: Mutex::new(String::new()),
            tokens: config.tokens,
            writable_pods: config.writable_pods,
            created: Mutex::new(Vec::new()),
            issued: Mutex::new(Vec::new()),
            last_created: Mutex::new(None),
            oidc_body_bytes: config.oidc_body_bytes,
        });
        let page_size = config.page_size;
        let st = state.clone();
        let cert_der = leaf.der().clone();
        let ca_der = ca_cert.der().clone();
        let top_ca_sha1: String =
            ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, ca_der.as_ref())
                .as_ref()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
        let key_der = leaf_key.serialize_der();
        let tls = crate::fault_proxy::ProxyTls {
            chain: vec![cert_der.clone(), ca_der.clone()],
            key: key_der.clone(),
            upstream_ca: ca_der.clone(),
        };
        let (addr, stop_tx) = crate::spawn_server("server", move |addr_tx, stop_rx| {
            serve(
                st,
                vec![cert_der, ca_der],
                key_der,
                page_size,
                addr_tx,
                stop_rx,
            )
        });
        let url = format!("https://{addr}");
        *state.url.lock().expect("url") = url.clone();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {url}\n    certificate-authority: {}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\ncurrent-context: test\nusers:\n- name: test\n  user:\n    token: {TOKEN}\n",
                ca_path.display()
            ),
        )
        .expect("write kubeconfig");
        KubeServer {
            url,
            top_ca_sha1,
            kubeconfig,
            state,
            tls,
            _dir: dir,
            _shutdown: stop_tx,
        }
    }

    /// The objects: read and change them as an administrator would (changes reach
    /// open watches).
    pub fn store(&self) -> &crate::kube_api::Store {
        &self.state.store
    }

    /// A fault-injecting proxy in front of this server, presenting the same TLS
    /// identity, with a kubeconfig of its own (`proxy.kubeconfig`).
    pub fn behind_faults(&self, rules: Vec<crate::FaultRule>) -> crate::FaultProxy {
        let mut proxy = crate::FaultProxy::start(&self.url, Some(self.tls.clone()), rules);
        let dir = tempfile::tempdir().expect("temp dir");
        let text = std::fs::read_to_string(&self.kubeconfig).expect("kubeconfig");
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, text.replace(&self.url, &proxy.url)).expect("write kubeconfig");
        proxy.kubeconfig = Some(path);
        proxy._dir = Some(dir);
        proxy
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Logged> {
        self.state.log.lock().expect("log").clone()
    }

    /// The issuer URL tokens carry (discovery at `<issuer>/.well-known/openid-configuration`).
    pub fn issuer(&self) -> String {
        self.state.issuer()
    }

    /// The CA certificate (PEM) the server's TLS chain ends in.
    pub fn ca_pem_path(&self) -> PathBuf {
        self._dir.path().join("ca.crt")
    }

    /// Tokens issued so far (to prove none of them is ever printed).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.issued.lock().expect("issued").clone()
    }

    /// The last pod created through the server, as it was posted.
    pub fn last_created_pod(&self) -> Option<Value> {
        self.state.last_created.lock().expect("last").clone()
    }

    /// Pods created through the server and not deleted yet.
    pub fn live_created_pods(&self) -> usize {
        self.state.created.lock().expect("created").len()
    }

    /// Requests that could change something (anything but GET/HEAD).
    pub fn mutating_requests(&self) -> Vec<Logged> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != "GET" && r.method != "HEAD")
            .collect()
    }
}

async fn serve(
    state: Arc<State>,
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: Vec<u8>,
    page_size: Option<usize>,
    addr_tx: std::sync::mpsc::Sender<SocketAddr>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_no_client_auth()
        .with_single_cert(chain, rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()))
        .expect("tls config");
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
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
                let acceptor = acceptor.clone();
                let state = state.clone();
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else { return };
                    let svc = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(&state, req, page_size).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
}

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}),
    )
}

fn query(uri: &hyper::Uri) -> BTreeMap<String, String> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn served(state: &State) -> impl Iterator<Item = &'static crate::kube_api::Kind> + '_ {
    crate::kube_api::KINDS
        .iter()
        .filter(|k| !k.custom || state.policy_reports)
}

fn discovery(state: &State, prefix: &str) -> Value {
    let group_version = prefix.strip_prefix("/apis/").unwrap_or("v1").to_string();
    let resources: Vec<Value> = served(state)
        .filter(|k| k.prefix == prefix)
        .map(|k| {
            json!({"name": k.resource, "singularName": k.kind.to_lowercase(), "namespaced": k.namespaced, "kind": k.kind,
                   "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": k.short})
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}

/// A response body: a whole JSON document, or a watch stream.
type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, std::convert::Infallible>;

async fn handle(
    state: &State,
    req: Request<hyper::body::Incoming>,
    page_size: Option<usize>,
) -> Response<Body> {
    use http_body_util::BodyExt;
    let method = req.method().to_string();
    let uri = req.uri().clone();
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"));
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body_bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&body_bytes).unwrap_or(Value::Null);
    let path = uri.path();
    if let (Some(n), true) = (
        state.oidc_body_bytes,
        path.ends_with("/.well-known/openid-configuration"),
    ) {
        let mut chunk = vec![b' '; 64 * 1024];
        chunk[0] = b'{';
        return Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(BodyExt::boxed_unsync(crate::fault_proxy::Padding {
                remaining: n,
                chunk: Bytes::from(chunk),
            }))
            .expect("response");
    }
    let answer = if path.starts_with("/oidc/") && method == "GET" {
        // The issuer's discovery and keys are public.
        Answer::Json(oidc(state, path))
    } else if !authorized {
        Answer::Json(status(401, "Unauthorized", "Unauthorized"))
    } else if let Some(answer) = writes(state, &method, path, &body) {
        Answer::Json(answer)
    } else {
        route(state, &method, &uri, &content_type, &body_bytes, page_size)
    };
    let (code, body) = match answer {
        Answer::Json((code, body)) => {
            let text = match &body {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            (code, Full::new(Bytes::from(text)).boxed_unsync())
        }
        Answer::Watch(frames) => {
            use futures::StreamExt;
            let frames =
                frames.map(|b| Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(b)));
            (
                200,
                BodyExt::boxed_unsync(http_body_util::StreamBody::new(frames)),
            )
        }
    };
    state.log.lock().expect("log").push(Logged {
        method,
        uri: uri.to_string(),
        status: code,
    });
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(body)
        .expect("response")
}

enum Answer {
    Json((u16, Value)),
    Watch(crate::kube_api::WatchFrames),
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn oidc(state: &State, path: &str) -> (u16, Value) {
    let Some(t) = &state.tokens else {
        return status(404, "NotFound", "no issuer");
    };
    let issuer = state.issuer();
    let base = issuer
        .trim_start_matches(state.url.lock().expect("url").as_str())
        .to_string();
    if path == format!("{base}/.well-known/openid-configuration") {
        return (
            200,
            json!({"issuer": issuer, "jwks_uri": format!("{issuer}/keys"), "authorization_endpoint": "urn:kubernetes:programmatic_authorization",
            "response_types_supported": ["id_token"], "subject_types_supported": ["public"], "claims_supported": ["sub", "iss"],
            "id_token_signing_alg_values_supported": ["RS256"]}),
        );
    }
    if path == format!("{base}/keys") {
        let kp = ring::signature::RsaKeyPair::from_der(&t.key_der).expect("key");
        let c: ring::rsa::PublicKeyComponents<Vec<u8>> = kp.public().into();
        let strip = |v: &[u8]| {
            v.iter()
                .skip_while(|b| **b == 0)
                .copied()
                .collect::<Vec<u8>>()
        };
        let (n, e) = (strip(&c.n), strip(&c.e));
        return (
            200,
            json!({"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": t.jwks_kid, "n": b64(&n), "e": b64(&e)}]}),
        );
    }
    status(404, "NotFound", "not found")
}

fn sign_token(
    t: &TokenIssuer,
    iss: &str,
    ns: &str,
    sa: &str,
    audiences: &[String],
    expiration: i64,
) -> String {
    let header = json!({"alg": "RS256", "kid": t.kid});
    let iat = now();
    let claims = json!({"aud": audiences, "exp": iat + expiration, "iat": iat, "nbf": iat, "iss": iss, "sub": format!("system:serviceaccount:{ns}:{sa}"),
        "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": sa, "uid": "4c1e7e0e-0000-4000-8000-000000000000"}}});
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let kp = ring::signature::RsaKeyPair::from_der(&t.key_der).expect("key");
    let mut sig = vec![0u8; kp.public().modulus_len()];
    kp.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut sig,
    )
    .expect("sign");
    format!("{signing_input}.{}", b64(&sig))
}

/// TokenRequest, and pod create/log/delete when writable pods are allowed.
fn writes(state: &State, method: &str, path: &str, body: &Value) -> Option<(u16, Value)> {
    let parts: Vec<&str> = path.trim_start_matches("/api/v1/").split('/').collect();
    match (method, parts.as_slice()) {
        ("POST", ["namespaces", ns, "serviceaccounts", name, "token"]) => {
            let Some(t) = &state.tokens else {
                return Some(status(404, "NotFound", "TokenRequest is not served"));
            };
            let exists = state.store.get("serviceaccounts", ns, name).is_some();
            if !exists {
                return Some(status(
                    404,
                    "NotFound",
                    &format!("serviceaccounts \"{name}\" not found"),
                ));
            }
            let audiences: Vec<String> = body["spec"]["audiences"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let exp = body["spec"]["expirationSeconds"]
                .as_i64()
                .unwrap_or(3600)
                .max(600);
            let iss = t.iss_override.clone().unwrap_or_else(|| state.issuer());
            let token = sign_token(t, &iss, ns, name, &audiences, exp);
            state.issued.lock().expect("issued").push(token.clone());
            Some((
                201,
                json!({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1", "metadata": {"name": name, "namespace": ns},
                "spec": {"audiences": audiences, "expirationSeconds": exp}, "status": {"token": token, "expirationTimestamp": "2099-01-01T00:00:00Z"}}),
            ))
        }
        ("POST", ["namespaces", ns, "pods"]) => {
            let script = state.writable_pods.as_ref()?;
            let mut pod = body.clone();
            pod["metadata"]["namespace"] = json!(ns);
            pod["metadata"]["uid"] = json!("9f0e1d2c-0000-4000-8000-000000000001");
            pod["status"] = json!({"phase": script.phase});
            state.created.lock().expect("created").push(pod.clone());
            *state.last_created.lock().expect("last") = Some(pod.clone());
            Some((201, pod))
        }
        ("GET", ["namespaces", ns, "pods", name, "log"]) => {
            let script = state.writable_pods.as_ref()?;
            let exists = state
                .created
                .lock()
                .expect("created")
                .iter()
                .any(|p| p["metadata"]["namespace"] == *ns && p["metadata"]["name"] == *name);
            Some(if exists {
                (200, Value::String(script.log.clone()))
            } else {
                status(404, "NotFound", "pod not found")
            })
        }
        ("GET", ["namespaces", ns, "pods", name]) => {
            state.writable_pods.as_ref()?;
            let created = state.created.lock().expect("created");
            let found = created
                .iter()
                .find(|p| p["metadata"]["namespace"] == *ns && p["metadata"]["name"] == *name)?;
            Some((200, found.clone()))
        }
        ("DELETE", ["namespaces", ns, "pods", name]) => {
            state.writable_pods.as_ref()?;
            let mut created = state.created.lock().expect("created");
            let before = created.len();
            created
                .retain(|p| !(p["metadata"]["namespace"] == *ns && p["metadata"]["name"] == *name));
            Some(if created.len() < before {
                (
                    200,
                    json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
                )
            } else {
                status(404, "NotFound", "pod not found")
            })
        }
        _ => None,
    }
}

/// The verb a request is authorized as (for `forbidden`).
fn verb_of(method: &str, name: Option<&str>, watch: bool) -> &'static str {
    match (method, name, watch) {
        (_, _, true) => "watch",
        ("GET", Some(_), _) => "get",
        ("GET", None, _) => "list",
        ("POST", ..) => "create",
        ("PUT", ..) => "update",
        ("PATCH", ..) => "patch",
        ("DELETE", ..) => "delete",
        _ => "get",
    }
}

fn route(
    state: &State,
    method: &str,
    uri: &hyper::Uri,
    content_type: &str,
    body: &[u8],
    page_size: Option<usize>,
) -> Answer {
    let path = uri.path().trim_end_matches('/');
    let q = query(uri);
    if method == "GET" {
        match path {
            "/version" => {
                return Answer::Json((
                    200,
                    json!({"major": "1", "minor": "29+", "gitVersion": "v1.29.3-eks-ae9a62a", "gitCommit": "0000000", "gitTreeState": "clean",
                    "buildDate": "2024-03-12T21:32:46Z", "goVersion": "go1.21.8", "compiler": "gc", "platform": "linux/amd64"}),
                ))
            }
            "/api" => {
                return Answer::Json((
                    200,
                    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}]}),
                ))
            }
            "/apis" => {
                let mut gvs: Vec<&str> = served(state)
                    .filter_map(|k| k.prefix.strip_prefix("/apis/"))
                    .collect();
                gvs.dedup();
                let groups: Vec<Value> = gvs
                    .iter()
                    .map(|gv| {
                        let (g, v) = gv.split_once('/').expect("group/version");
                        json!({"name": g, "versions": [{"groupVersion": gv, "version": v}], "preferredVersion": {"groupVersion": gv, "version": v}})
                    })
                    .collect();
                return Answer::Json((
                    200,
                    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
                ));
            }
            _ => {}
        }
        if served(state).any(|k| k.prefix == path) {
            return Answer::Json((200, discovery(state, path)));
        }
    }
    let missing = |what: &str| {
        Answer::Json(status(
            404,
            "NotFound",
            &format!("the server could not find the requested resource ({what})"),
        ))
    };
    // /prefix[/namespaces/NS]/RESOURCE[/NAME]
    let Some((prefix, rest)) = served(state)
        .map(|k| k.prefix)
        .filter(|p| path.starts_with(&format!("{p}/")))
        .max_by_key(|p| p.len())
        .map(|p| (p, &path[p.len() + 1..]))
    else {
        return missing(path);
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let (namespace, resource, name) = match parts.as_slice() {
        ["namespaces", ns, res] => (Some(*ns), *res, None),
        ["namespaces", ns, res, name] => (Some(*ns), *res, Some(*name)),
        [res] => (None, *res, None),
        [res, name] => (None, *res, Some(*name)),
        _ => return missing(path),
    };
    // `namespaces/NAME` is the namespace object itself.
    let (namespace, resource, name) = match (namespace, resource, name) {
        (None, "namespaces", Some(n)) => (None, "namespaces", Some(n)),
        other => other,
    };
    let Some(kind) = served(state).find(|k| k.prefix == prefix && k.resource == resource) else {
        return missing(resource);
    };
    let watch = q.get("watch").is_some_and(|w| w == "true" || w == "1");
    let verb = verb_of(method, name, watch);
    let read = matches!(verb, "get" | "list" | "watch");
    let denied = state.forbidden.iter().any(|f| {
        let (verbs, target) = match f.split_once(':') {
            Some((v, t)) => (Some(v), t),
            None => (None, f.as_str()),
        };
        let verb_ok = match verbs {
            Some(v) => v == verb,
            None => read,
        };
        let (r, ns) = match target.split_once('@') {
            Some((r, ns)) => (r, Some(ns)),
            None => (target, None),
        };
        verb_ok && r == kind.resource && ns.is_none_or(|ns| namespace == Some(ns))
    });
    if denied {
        let scope = match namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".into(),
        };
        return Answer::Json(status(
            403,
            "Forbidden",
            &format!(
                "{} is forbidden: User \"system:serviceaccount:irsa:doctor\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
                crate::kube_api::qualified(kind),
                kind.resource,
                kind.group()
            ),
        ));
    }
    let store = &state.store;
    let ns = if kind.namespaced { namespace } else { None };
    if !read {
        let allowed = state
            .writable
            .iter()
            .any(|w| w == "*" || w == kind.resource);
        if !allowed {
            return Answer::Json(status(
                405,
                "MethodNotAllowed",
                &format!(
                    "the test API server is read-only for {}: {method} is not allowed",
                    kind.resource
                ),
            ));
        }
        let result = match (method, name) {
            ("POST", None) => store.create(kind, ns, &serde_json::from_slice(body).unwrap_or(Value::Null)).map(|o| (201, o)),
            ("PUT", Some(n)) => store
                .replace(kind, ns.unwrap_or(""), n, &serde_json::from_slice(body).unwrap_or(Value::Null))
                .map(|o| (200, o)),
            ("PATCH", Some(n)) => match crate::kube_api::PatchType::from_content_type(content_type) {
                Some(how) => {
                    let created = store.get(kind.resource, ns.unwrap_or(""), n).is_none();
                    store
                        .patch(kind, ns.unwrap_or(""), n, how, body)
                        .map(|o| (if created { 201 } else { 200 }, o))
                }
                None => Err(status(
                    415,
                    "UnsupportedMediaType",
                    &format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type:?})"),
                )),
            },
            ("DELETE", Some(n)) => store.delete(kind, ns.unwrap_or(""), n).map(|o| (200, o)),
            _ => Err(status(405, "MethodNotAllowed", &format!("{method} is not allowed here"))),
        };
        return Answer::Json(result.unwrap_or_else(|e| e));
    }
    if let Some(name) = name {
        return Answer::Json(match store.get(kind.resource, ns.unwrap_or(""), name) {
            Some(o) if !kind.namespaced || namespace.is_some() => (200, o),
            _ => status(
                404,
                "NotFound",
                &format!("{} \"{name}\" not found", crate::kube_api::qualified(kind)),
            ),
        });
    }
    let filter = crate::kube_api::Filter::parse(
        q.get("labelSelector").map(String::as_str),
        q.get("fieldSelector").map(String::as_str),
    );
    if watch {
        let params = crate::kube_api::WatchParams {
            resource_version: q.get("resourceVersion").cloned().unwrap_or_default(),
            bookmarks: q.get("allowWatchBookmarks").is_some_and(|b| b == "true"),
            send_initial_events: q.get("sendInitialEvents").is_some_and(|b| b == "true"),
            timeout: q
                .get("timeoutSeconds")
                .and_then(|t| t.parse().ok())
                .map(std::time::Duration::from_secs),
        };
        return match store.watch(kind, ns, filter, &params) {
            Ok(frames) => Answer::Watch(frames),
            Err(e) => Answer::Json(e),
        };
    }
    // A server may return fewer items than the client's limit (with a continue token):
    // the configured page size caps it, so clients must really paginate.
    let asked: Option<usize> = q.get("limit").and_then(|l| l.parse().ok());
    let limit = match (asked, page_size) {
        (Some(a), Some(p)) => Some(a.min(p)),
        (a, p) => a.or(p),
    };
    Answer::Json(
        store
            .list(
                kind,
                ns,
                &filter,
                limit,
                q.get("continue").map(String::as_str),
            )
            .map(|l| (200, l))
            .unwrap_or_else(|e| e),
    )
}

/// The Kubernetes objects of a snapshot folder (single objects, lists, envelopes).
pub fn objects_from_snapshot(dir: &Path) -> Vec<Value> {
    fn walk(v: &Value, list_kind: Option<&str>, out: &mut Vec<Value>) {
        if let Some(o) = v.get("output") {
            walk(o, None, out);
            return;
        }
        if let Some(items) = v.get("items").and_then(Value::as_array) {
            let lk = v
                .get("kind")
                .and_then(Value::as_str)
                .and_then(|k| k.strip_suffix("List"))
                .filter(|k| !k.is_empty());
            for it in items {
                walk(it, lk, out);
            }
            return;
        }
        if v.get("metadata").is_some() && v.get("spec").is_some()
            || v.get("webhooks").is_some()
            || matches!(
                v.get("kind").and_then(Value::as_str),
                Some("ServiceAccount" | "Node")
            )
            || list_kind == Some("ServiceAccount")
        {
            let mut o = v.clone();
            if o.get("kind").is_none() {
                if let Some(k) = list_kind {
                    o["kind"] = json!(k);
                }
            }
            if o.get("kind").is_some() && o.get("metadata").is_some() {
                out.push(o);
            }
        }
    }
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("snapshot dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    for f in files {
        if f.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(&std::fs::read_to_string(&f).unwrap_or_default())
        else {
            continue;
        };
        walk(&v, None, &mut out);
    }
    out
}
