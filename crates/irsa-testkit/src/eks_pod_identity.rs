//! What moto does not serve of EKS: the Pod Identity association API
//! (`ListPodIdentityAssociations`, `DescribePodIdentityAssociation`) and `DescribeAddon`,
//! emulated on a loopback port at their real REST paths, in the restJson1 wire format
//! (epoch-second timestamps, `x-amzn-ErrorType` errors); every other request is passed to
//! moto unchanged, so one `AWS_ENDPOINT_URL_EKS` serves the whole EKS API.
//!
//! Shapes and paths, from the EKS API reference:
//! - `GET /clusters/{name}/pod-identity-associations?namespace&serviceAccount&maxResults&nextToken`
//!   → `{"associations": [PodIdentityAssociationSummary], "nextToken"}`
//!   (https://docs.aws.amazon.com/eks/latest/APIReference/API_ListPodIdentityAssociations.html);
//! - `GET /clusters/{name}/pod-identity-associations/{associationId}` → `{"association": …}`
//!   (API_DescribePodIdentityAssociation.html), `ResourceNotFoundException` (404) otherwise;
//! - `GET /clusters/{name}/addons/{addonName}` → `{"addon": …}` (API_DescribeAddon.html),
//!   `ResourceNotFoundException` (404) when the add-on is not installed;
//! - EKS Auth: `POST /clusters/{name}/assume-role-for-pod-identity` with `{"token"}` →
//!   `{"subject", "audience", "podIdentityAssociation", "assumedRoleUser", "credentials"}`
//!   (https://docs.aws.amazon.com/eks/latest/APIReference/API_auth_AssumeRoleForPodIdentity.html),
//!   errors `InvalidTokenException`, `ExpiredTokenException`, `ResourceNotFoundException`,
//!   `AccessDeniedException` (same page, Errors). Serve it with `AWS_ENDPOINT_URL_EKS_AUTH`.
//!
//! The emulation is validated with the official clients: the AWS CLI (botocore's service
//! model) parses every answer, and the test compares what it prints with what is served
//! (see this crate's tests), and irsa-doctor's own collector reads it with aws-sdk-eks.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// What the emulator serves.
#[derive(Debug, Clone, Default)]
pub struct PodIdentityConfig {
    /// moto's endpoint (`http://127.0.0.1:PORT`): everything else goes there.
    pub upstream: String,
    /// Associations, as `describe-pod-identity-association` prints them (the `association`
    /// object; ISO 8601 or epoch timestamps).
    pub associations: Vec<Value>,
    /// Add-ons, as `describe-addon` prints them (the `addon` object), per cluster.
    pub addons: Vec<Value>,
    /// Page size of the list (the API's `maxResults` wins when smaller).
    pub page_size: Option<usize>,
    /// Role ARN → trust policy document, for EKS Auth's `AssumeRoleForPodIdentity` (a role
    /// not listed does not exist: `AccessDeniedException`, as for a refused trust).
    pub trusts: BTreeMap<String, Value>,
    /// The credentials EKS Auth hands out (`accessKeyId`, `secretAccessKey`,
    /// `sessionToken`): tests put canaries here to prove they are never printed.
    pub credentials: Option<(String, String, String)>,
}

impl PodIdentityConfig {
    /// Reads the associations and add-ons of a snapshot directory: every
    /// `*describe-pod-identity-association*.json` and `*describe-addon*.json` (bare or in a
    /// collect envelope).
    pub fn from_snapshot(dir: &std::path::Path, upstream: &str) -> PodIdentityConfig {
        let mut c = PodIdentityConfig {
            upstream: upstream.to_string(),
            ..Default::default()
        };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        paths.sort();
        for p in paths {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let body = v.get("output").cloned().unwrap_or(v);
            if name.contains("get-role") {
                if let (Some(arn), Some(doc)) = (
                    body.pointer("/Role/Arn").and_then(|a| a.as_str()),
                    body.pointer("/Role/AssumeRolePolicyDocument"),
                ) {
                    // The CLI prints the document decoded; the query API returns it
                    // URL-encoded: accept both.
                    let doc = match doc {
                        Value::String(t) => serde_json::from_str(t).unwrap_or(Value::Null),
                        v => v.clone(),
                    };
                    c.trusts.insert(arn.to_string(), doc);
                }
            } else if name.contains("describe-pod-identity-association") {
                if let Some(a) = body.get("association") {
                    c.associations.push(a.clone());
                }
            } else if name.contains("describe-addon") {
                if let Some(a) = body.get("addon") {
                    c.addons.push(a.clone());
                }
            }
        }
        c
    }
}

/// A request the emulator answered itself (method, path and query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
}

struct State {
    config: PodIdentityConfig,
    served: Mutex<Vec<Served>>,
}

/// A running emulator.
pub struct EksPodIdentity {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    state: Arc<State>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl EksPodIdentity {
    /// Starts the emulator on a free loopback port, in its own thread.
    pub fn start(config: PodIdentityConfig) -> EksPodIdentity {
        let state = Arc::new(State {
            config,
            served: Mutex::new(Vec::new()),
        });
        let st = state.clone();
        let (addr, stop_tx) = crate::spawn_server("emulator", move |addr_tx, stop_rx| {
            serve(st, addr_tx, stop_rx)
        });
        EksPodIdentity {
            endpoint: format!("http://{addr}"),
            state,
            _shutdown: stop_tx,
        }
    }

    /// The requests answered by the emulator (not passed to moto).
    pub fn served(&self) -> Vec<Served> {
        self.state.served.lock().expect("served").clone()
    }

    /// Environment for a process: EKS and EKS Auth calls come here (the SDKs' and the CLI's
    /// service-specific endpoint variable), everything else goes to `AWS_ENDPOINT_URL`.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_EKS", self.endpoint.clone()),
            ("AWS_ENDPOINT_URL_EKS_AUTH", self.endpoint.clone()),
        ]
    }
}

async fn serve(
    state: Arc<State>,
    addr_tx: std::sync::mpsc::Sender<SocketAddr>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
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
                let state = state.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                        .await;
                });
            }
        }
    }
}

fn query(uri: &hyper::Uri) -> BTreeMap<String, String> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%2F", "/").replace("%3A", ":")))
        .collect()
}

/// An ISO 8601 timestamp (as the CLI prints it) or epoch seconds → epoch seconds, the
/// restJson1 default for EKS timestamps.
fn epoch(v: &Value) -> Value {
    match v {
        Value::String(s) => match irsa_epoch(s) {
            Some(n) => json!(n),
            None => v.clone(),
        },
        other => other.clone(),
    }
}

/// Seconds since the epoch of `2024-04-10T09:12:40.112000+00:00` / `…Z` (UTC offsets
/// applied; fractional seconds kept).
fn irsa_epoch(t: &str) -> Option<f64> {
    let b = t.as_bytes();
    if !t.is_ascii() || b.len() < 19 || b[4] != b'-' || b[10] != b'T' {
        return t.parse().ok();
    }
    let n = |s: &str| s.parse::<i64>().ok();
    let (y, mo, d) = (n(&t[0..4])?, n(&t[5..7])?, n(&t[8..10])?);
    let (h, mi, s) = (n(&t[11..13])?, n(&t[14..16])?, n(&t[17..19])?);
    let mut rest = &t[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let digits: String = r.chars().take_while(|c| c.is_ascii_digit()).collect();
        frac = format!("0.{digits}").parse().unwrap_or(0.0);
        rest = &r[digits.len()..];
    }
    let offset = match rest {
        "" | "Z" => 0,
        r if r.len() == 6 => {
            let sign = if r.starts_with('-') { -1 } else { 1 };
            sign * (n(&r[1..3])? * 3600 + n(&r[4..6])? * 60)
        }
        _ => return None,
    };
    let y = if mo <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((mo + 9) % 12) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60 + s - offset) as f64 + frac)
}

fn wire(mut a: Value) -> Value {
    for k in ["createdAt", "modifiedAt"] {
        if let Some(v) = a.get(k).cloned() {
            a[k] = epoch(&v);
        }
    }
    a
}

fn error(code: &str, message: &str, status: u16) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-ErrorType", code)
        .header("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
        .body(Full::new(Bytes::from(
            json!({"message": message}).to_string(),
        )))
        .expect("response")
}

fn ok(v: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
        .body(Full::new(Bytes::from(v.to_string())))
        .expect("response")
}

async fn handle(state: &State, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ours = matches!(
        parts.as_slice(),
        ["clusters", _, "pod-identity-associations", ..] | ["clusters", _, "addons", _]
    );
    if let ["clusters", cluster, "assume-role-for-pod-identity"] = parts.as_slice() {
        let cluster = cluster.to_string();
        state.served.lock().expect("served").push(Served {
            method: req.method().to_string(),
            path: path.clone(),
        });
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return assume_role_for_pod_identity(&state.config, &cluster, &body);
    }
    if !ours {
        return proxy(&state.config.upstream, req).await;
    }
    state.served.lock().expect("served").push(Served {
        method: req.method().to_string(),
        path: req
            .uri()
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
    });
    if req.method() != hyper::Method::GET {
        // The collectors are read-only: a write is a bug the tests must see.
        return error(
            "InvalidRequestException",
            "the test emulator serves reads only",
            400,
        );
    }
    let c = &state.config;
    match parts.as_slice() {
        ["clusters", cluster, "pod-identity-associations"] => {
            let q = query(req.uri());
            let rows: Vec<Value> = c
                .associations
                .iter()
                .filter(|a| a["clusterName"] == *cluster)
                .filter(|a| {
                    q.get("namespace")
                        .is_none_or(|n| a["namespace"] == n.as_str())
                })
                .filter(|a| {
                    q.get("serviceAccount")
                        .is_none_or(|n| a["serviceAccount"] == n.as_str())
                })
                .map(|a| {
                    // PodIdentityAssociationSummary: no role, no timestamps.
                    let mut s = json!({});
                    for k in [
                        "clusterName",
                        "namespace",
                        "serviceAccount",
                        "associationArn",
                        "associationId",
                        "ownerArn",
                    ] {
                        if let Some(v) = a.get(k).filter(|v| !v.is_null()) {
                            s[k] = v.clone();
                        }
                    }
                    s
                })
                .collect();
            let start: usize = q.get("nextToken").and_then(|t| t.parse().ok()).unwrap_or(0);
            let size = q
                .get("maxResults")
                .and_then(|m| m.parse().ok())
                .into_iter()
                .chain(c.page_size)
                .min()
                .unwrap_or(rows.len().max(1));
            let page: Vec<Value> = rows.iter().skip(start).take(size).cloned().collect();
            let mut body = json!({"associations": page});
            if start + size < rows.len() {
                body["nextToken"] = json!((start + size).to_string());
            }
            ok(body)
        }
        ["clusters", cluster, "pod-identity-associations", id] => c
            .associations
            .iter()
            .find(|a| a["clusterName"] == *cluster && a["associationId"] == *id)
            .map(|a| ok(json!({"association": wire(a.clone())})))
            .unwrap_or_else(|| {
                error(
                    "ResourceNotFoundException",
                    &format!("Pod identity association {id} not found in cluster {cluster}."),
                    404,
                )
            }),
        ["clusters", cluster, "addons", name] => c
            .addons
            .iter()
            .find(|a| a["addonName"] == *name && a["clusterName"] == *cluster)
            .map(|a| ok(json!({"addon": wire(a.clone())})))
            .unwrap_or_else(|| {
                error(
                    "ResourceNotFoundException",
                    &format!("No addon: {name} found in cluster: {cluster}"),
                    404,
                )
            }),
        _ => error("ResourceNotFoundException", "not found", 404),
    }
}

const POD_IDENTITY_AUDIENCE: &str = "pods.eks.amazonaws.com";

/// The claims of a JWT, unverified: the emulator trusts the test API server's tokens
/// (real EKS Auth also verifies the signature against the cluster's issuer [INF]).
fn claims(token: &str) -> Option<Value> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn as_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => vec![],
    }
}

fn action_covers(pattern: &str, action: &str) -> bool {
    let (p, a) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    p == "*" || p == a || p.strip_suffix('*').is_some_and(|pre| a.starts_with(pre))
}

/// Whether the trust policy lets `pods.eks.amazonaws.com` call `sts:AssumeRole` and
/// `sts:TagSession` (the two actions the EKS user guide's trust policy grants:
/// https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html). A test-world
/// decision: an Allow naming the service principal for both actions, no Deny naming it;
/// conditions are not evaluated here (irsa-policy decides those offline).
fn trusts_pods_eks(doc: &Value) -> bool {
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(o @ Value::Object(_)) => vec![o.clone()],
        _ => vec![],
    };
    let names_service = |s: &Value| {
        s.pointer("/Principal/Service")
            .map(as_list)
            .unwrap_or_default()
            .iter()
            .any(|p| p == POD_IDENTITY_AUDIENCE)
            || s.get("Principal") == Some(&json!("*"))
    };
    let covers = |s: &Value, action: &str| {
        as_list(s.get("Action").unwrap_or(&Value::Null))
            .iter()
            .any(|p| action_covers(p, action))
    };
    let allowed = ["sts:AssumeRole", "sts:TagSession"].iter().all(|a| {
        statements
            .iter()
            .any(|s| s["Effect"] == "Allow" && names_service(s) && covers(s, a))
    });
    let denied = statements
        .iter()
        .any(|s| s["Effect"] == "Deny" && names_service(s) && covers(s, "sts:AssumeRole"));
    allowed && !denied
}

/// EKS Auth `AssumeRoleForPodIdentity`: the association is found by the cluster in the
/// path and the namespace/ServiceAccount of the token's `sub`; its role must trust
/// `pods.eks.amazonaws.com`.
fn assume_role_for_pod_identity(
    c: &PodIdentityConfig,
    cluster: &str,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let invalid = || {
        error(
            "InvalidTokenException",
            "The specified Kubernetes service account token is invalid.",
            400,
        )
    };
    let Some(token) = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["token"].as_str().map(String::from))
    else {
        return error("InvalidParameterException", "token is required", 400);
    };
    let Some(claims) = claims(&token) else {
        return invalid();
    };
    if !as_list(&claims["aud"])
        .iter()
        .any(|a| a == POD_IDENTITY_AUDIENCE)
    {
        return invalid();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if claims["exp"].as_i64().is_some_and(|e| e <= now) {
        return error(
            "ExpiredTokenException",
            "The specified Kubernetes service account token is expired.",
            400,
        );
    }
    let sub = claims["sub"].as_str().unwrap_or_default();
    let Some((ns, sa)) = sub
        .strip_prefix("system:serviceaccount:")
        .and_then(|r| r.split_once(':'))
    else {
        return invalid();
    };
    let Some(a) = c
        .associations
        .iter()
        .find(|a| a["clusterName"] == cluster && a["namespace"] == ns && a["serviceAccount"] == sa)
    else {
        // The exact wording is not in the API reference [UNV]; the code is.
        return error(
            "ResourceNotFoundException",
            &format!("No Pod Identity Association found for service account {ns}/{sa} in cluster {cluster}."),
            404,
        );
    };
    let role = a["roleArn"].as_str().unwrap_or_default();
    if !c.trusts.get(role).is_some_and(trusts_pods_eks) {
        // Wording as the agent relays it (aws-controllers-k8s/community#2678).
        return error(
            "AccessDeniedException",
            "EKS does not have permissions to assume the associated role.",
            400,
        );
    }
    let account = role.split(':').nth(4).unwrap_or_default();
    let role_name = role.rsplit('/').next().unwrap_or_default();
    let session = format!("eks-{cluster}-{sa}");
    let session: String = session.chars().take(64).collect();
    let (key, secret, session_token) = c.credentials.clone().unwrap_or_else(|| {
        (
            "ASIAEKSAUTHTESTKIT01".into(),
            "eks-auth-testkit-secret".into(),
            "eks-auth-testkit-session-token".into(),
        )
    });
    ok(json!({
        "subject": {"namespace": ns, "serviceAccount": sa},
        "audience": POD_IDENTITY_AUDIENCE,
        "podIdentityAssociation": {"associationArn": a["associationArn"], "associationId": a["associationId"]},
        "assumedRoleUser": {
            "arn": format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session}"),
            "assumeRoleId": format!("AROAEKSAUTHTESTKIT:{session}"),
        },
        "credentials": {
            "accessKeyId": key,
            "secretAccessKey": secret,
            "sessionToken": session_token,
            "expiration": now + 6 * 3600,
        },
    }))
}

/// Passes a request to moto as it came.
async fn proxy(upstream: &str, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let addr = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let fail = |m: String| error("ServiceUnavailableException", &m, 503);
    let Ok(stream) = tokio::net::TcpStream::connect(&addr).await else {
        return fail(format!("upstream {addr} unreachable"));
    };
    let Ok((mut sender, conn)) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await
    else {
        return fail("upstream handshake failed".into());
    };
    tokio::spawn(conn);
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return fail("request body unreadable".into());
    };
    // The Host header stays as the client signed it (SigV4 covers it); moto finds the
    // service from the credential scope.
    let out = Request::from_parts(parts, Full::new(body));
    match sender.send_request(out).await {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            let bytes = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Response::from_parts(parts, Full::new(bytes))
        }
        Err(e) => fail(format!("upstream: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::irsa_epoch;

    #[test]
    fn timestamps() {
        assert_eq!(irsa_epoch("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(irsa_epoch("2024-04-15T21:11:11Z"), Some(1_713_215_471.0));
        assert_eq!(
            irsa_epoch("2023-11-24T23:52:14.5+01:00"),
            Some(1_700_866_334.5)
        );
        assert_eq!(irsa_epoch("1700862734.922"), Some(1_700_862_734.922));
    }
}
