//! Kubernetes collection (read-only GETs through kube-rs): the same lists
//! `kubectl get … -o json` prints, paginated with `limit`/`continue`, redacted, and
//! wrapped in envelopes naming the equivalent kubectl command.
//!
//! Every request is bounded: `--timeout` per attempt, the run's `--deadline` overall, a
//! size cap per answer, a page cap per list, and a list whose `continue` token repeats
//! is abandoned. Transient failures are retried the way kubectl's client (client-go's
//! `rest.Request`) retries them: only GETs; a connection reset or an answer cut short
//! (client-go: `IsConnectionReset`/`IsProbableEOF`, retried after 1 s), and 429 or 5xx
//! answers (client-go honours their `Retry-After`), at most 10 retries when the
//! server says when (client-go `maxRetries: 10`), 5 on our own backoff. Source: kubernetes/client-go `rest/request.go`
//! (`request()`, `isErrRetryableFunc`) and `rest/with_retry.go` (`IsNextRetry`,
//! `checkWait`). Differences, on purpose: we also retry 5xx without `Retry-After`
//! (kube-rs does for 503/504), with jittered exponential backoff instead of a fixed
//! second, and never wait past the deadline: a `Retry-After` beyond it ends the read
//! at once with the server's answer.

use crate::redact::redact_object;
use crate::{envelope, envelope_error, seconds, Deadline, Stats};
use futures::future::join_all;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Largest answer read for one request (a page of 500 objects of 200 KB each); a
/// bigger one is refused, not buffered.
pub const MAX_ANSWER_BYTES: usize = 100 * 1024 * 1024;
/// Most pages read for one list (500 objects each: 1,000,000 objects).
pub const MAX_PAGES: usize = 2_000;
/// Objects asked for per page.
pub const PAGE_LIMIT: usize = 500;
/// Most retries of one request when the server says when to come back
/// (`Retry-After`; client-go's default).
pub const MAX_RETRIES: u32 = 10;
/// Most retries of one request on our own backoff (a reset, a 5xx without
/// `Retry-After`): about 5 s of waiting in all.
pub const MAX_BACKOFF_RETRIES: u32 = 5;

/// A connected cluster.
pub struct Kube {
    client: kube::Client,
    /// API server URL (for the report and for matching the EKS cluster).
    pub server: String,
    timeout: Duration,
    deadline: Deadline,
    verbose: u8,
}

/// Options for connecting.
#[derive(Debug, Clone, Default)]
pub struct KubeOptions {
    /// `--kubeconfig`.
    pub kubeconfig: Option<std::path::PathBuf>,
    /// `--context`.
    pub context: Option<String>,
    /// Per-request timeout.
    pub timeout: Option<Duration>,
    /// `-vv` and more: one stderr line per request.
    pub verbose: u8,
    /// Long-lived watches (the controller): no read timeout on the connection (a
    /// watch is quiet for minutes); connecting and writing keep the timeout.
    pub watch: bool,
}

/// What to say when no kubeconfig can be found.
fn no_kubeconfig_hint() -> &'static str {
    "create one with `aws eks update-kubeconfig --name CLUSTER --region REGION` (or pass --kubeconfig PATH / --context NAME), or diagnose offline with `--snapshot DIR`"
}

/// The deepest cause of an error, in its own words (Display only).
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let t = s.to_string();
        if !t.is_empty() {
            text = t;
        }
        source = s.source();
    }
    tidy(&text)
}

/// `Connection refused (os error 111)` → `connection refused`; a trailing link to a
/// library's manual (rustls adds one to an unexpected EOF) is dropped.
pub(crate) fn tidy(text: &str) -> String {
    let t = match text.find(" (os error ") {
        Some(i) => &text[..i],
        None => text,
    };
    let t = match t.find(": https://docs.rs/") {
        Some(i) => &t[..i],
        None => t,
    };
    let mut c = t.chars();
    match c.next() {
        Some(f) if f.is_uppercase() && c.clone().next().is_some_and(|n| n.is_lowercase()) => {
            f.to_lowercase().chain(c).collect()
        }
        _ => t.to_string(),
    }
}

/// Connects with the kubeconfig (or in-cluster config).
pub async fn connect(opts: &KubeOptions, deadline: Deadline) -> Result<Kube, crate::CollectError> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let kc_opts = KubeConfigOptions {
        context: opts.context.clone(),
        cluster: None,
        user: None,
    };
    let bad = |what: String| crate::CollectError::Kubeconfig(what);
    let load = async {
        match &opts.kubeconfig {
            Some(path) => {
                let kc = Kubeconfig::read_from(path)
                    .map_err(|e| bad(format!("--kubeconfig {}: {}", path.display(), root_cause(&e))))?;
                kube::Config::from_custom_kubeconfig(kc, &kc_opts)
                    .await
                    .map_err(|e| bad(format!("--kubeconfig {}: {}", path.display(), root_cause(&e))))
            }
            None if opts.context.is_some() => kube::Config::from_kubeconfig(&kc_opts)
                .await
                .map_err(|e| bad(format!("--context: {}", root_cause(&e)))),
            None => kube::Config::infer().await.map_err(|e| {
                let named = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty());
                match named {
                    Some(v) if std::env::split_paths(&v).all(|p| !p.exists()) => bad(format!(
                        "no kubeconfig found: $KUBECONFIG names {}, which does not exist; {}",
                        std::path::PathBuf::from(&v).display(),
                        no_kubeconfig_hint()
                    )),
                    Some(v) => bad(format!(
                        "the kubeconfig in $KUBECONFIG ({}) cannot be used: {}",
                        std::path::PathBuf::from(&v).display(),
                        root_cause(&e)
                    )),
                    None => bad(format!(
                        "no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a cluster: {}",
                        no_kubeconfig_hint()
                    )),
                }
            }),
        }
    };
    let mut config = match tokio::time::timeout_at(deadline.at(), load).await {
        Ok(c) => c?,
        Err(_) => {
            return Err(bad(format!(
                "reading the kubeconfig: {}",
                deadline.passed()
            )))
        }
    };
    let timeout = opts.timeout.unwrap_or(Duration::from_secs(30));
    config.connect_timeout = Some(timeout);
    config.read_timeout = (!opts.watch).then_some(timeout);
    config.write_timeout = Some(timeout);
    // Retries are ours (bounded by the deadline), not kube-rs's unbounded default.
    config.default_retry = false;
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let client = kube::Client::try_from(config).map_err(|e| bad(root_cause(&e)))?;
    Ok(Kube {
        client,
        server,
        timeout,
        deadline,
        verbose: opts.verbose,
    })
}

/// One attempt's outcome.
enum Attempt {
    /// A 2xx answer.
    Body(String),
    /// Another status: its code, `Retry-After`, and the report's words.
    Status {
        code: u16,
        retry_after: Option<u64>,
        text: String,
    },
    /// No answer: what happened, and whether it is transient (reset, cut short).
    Transport { text: String, transient: bool },
}

/// Whether a transport failure is the kind client-go retries: the connection was reset
/// or the answer was cut short.
fn transient(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
            ) {
                return true;
            }
        }
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

/// `Reason (code): message` from a Kubernetes `Status` answer, else the status code.
fn status_text(code: u16, body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Status {
        reason: Option<String>,
        message: Option<String>,
    }
    match serde_json::from_str::<Status>(body) {
        Ok(Status {
            reason: Some(reason),
            message,
        }) => format!("{reason} ({code}): {}", message.unwrap_or_default()),
        _ => {
            let snippet: String = body.trim().chars().take(200).collect();
            if snippet.is_empty() {
                format!("HTTP {code}")
            } else {
                format!("HTTP {code}: {snippet}")
            }
        }
    }
}

/// Jittered exponential backoff: a random point in [d/2, d], d = 200 ms × 2^n, ≤ 5 s.
pub(crate) fn backoff(retry: u32) -> Duration {
    let d = Duration::from_millis(200).saturating_mul(1u32 << retry.min(5).saturating_sub(1));
    let d = d.min(Duration::from_secs(5));
    let mut b = [0u8; 4];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    let jitter = f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX);
    d.mul_f64(0.5 + jitter / 2.0)
}

fn attempts_note(n: u32) -> String {
    if n > 1 {
        format!(" ({n} attempts)")
    } else {
        String::new()
    }
}

impl Kube {
    /// The kube-rs client (the controller's watches and writes).
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// What to do about a request refused for its credentials (401: missing or
    /// expired). (A 403 needs nothing here: the report's fix names what to grant.)
    fn status_hint(&self, code: u16) -> String {
        match code {
            401 => format!(
                "; the API server at {} does not accept the kubeconfig's credentials (missing or expired): refresh them (on EKS: `aws eks update-kubeconfig --name CLUSTER --region REGION`, with AWS credentials that are not expired), then check with `kubectl get serviceaccounts -A`",
                self.server
            ),
            _ => String::new(),
        }
    }

    /// One attempt, bounded by `--timeout` and the answer size cap.
    async fn attempt(&self, method: &http::Method, path: &str, body: &[u8]) -> Attempt {
        use http_body_util::BodyExt;
        let mut req = http::Request::builder().method(method.clone()).uri(path);
        if !body.is_empty() {
            req = req.header("content-type", "application/json");
        }
        let req = match req.body(kube::client::Body::from(body.to_vec())) {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Transport {
                    text: format!("invalid request {path}: {e}"),
                    transient: false,
                }
            }
        };
        let resp = match self.client.send(req).await {
            Ok(r) => r,
            // A connection that was made and then dropped is no proof that the server
            // cannot be reached: said apart (and retried).
            Err(e) if transient(&e) => {
                return Attempt::Transport {
                    transient: true,
                    text: format!(
                        "the Kubernetes API at {} closed the connection without an answer: {}",
                        self.server,
                        root_cause(&e)
                    ),
                }
            }
            Err(e) => {
                return Attempt::Transport {
                    transient: false,
                    text: format!(
                        "cannot reach the Kubernetes API at {}: {}",
                        self.server,
                        root_cause(&e)
                    ),
                }
            }
        };
        let code = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = match http_body_util::Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Attempt::Transport {
                    text: format!(
                        "the API server's answer to {} is larger than {} MiB: not read",
                        path.split('?').next().unwrap_or(path),
                        MAX_ANSWER_BYTES / (1024 * 1024)
                    ),
                    transient: false,
                }
            }
            Err(e) => {
                let e: &(dyn std::error::Error + 'static) = &*e;
                return Attempt::Transport {
                    transient: true,
                    text: format!(
                        "the Kubernetes API at {} cut its answer short: {}",
                        self.server,
                        root_cause(e)
                    ),
                };
            }
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if (200..300).contains(&code) {
            Attempt::Body(text)
        } else {
            Attempt::Status {
                code,
                retry_after,
                text: format!("{}{}", status_text(code, &text), self.status_hint(code)),
            }
        }
    }

    /// One request, counted, with retries of transient failures (GET only) within
    /// the deadline; the answer text.
    async fn raw(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
        stats: &Stats,
    ) -> Result<String, String> {
        self.raw_until(method, path, body, stats, self.deadline)
            .await
    }

    /// Deletes what this run created (the probe's test pod), even after the run's
    /// deadline: cleaning up is bounded by `--timeout` only.
    pub async fn delete_created(&self, path: &str, stats: &Stats) -> Result<(), String> {
        let cleanup = Deadline::after(self.timeout.saturating_mul(2));
        self.raw_until(http::Method::DELETE, path, None, stats, cleanup)
            .await
            .map(|_| ())
    }

    async fn raw_until(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
        stats: &Stats,
        deadline: Deadline,
    ) -> Result<String, String> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let retryable = method == http::Method::GET;
        let mut attempts: u32 = 0;
        // The failure that was retried first: when the last attempt fails otherwise (it
        // could not connect after the server had cut its answers short, say), the report
        // names both, not only the last.
        let mut retried: Option<String> = None;
        let failed = |last: &str, attempts: u32, retried: &Option<String>| {
            let before = match retried {
                Some(first) if first != last => format!("; the attempts before it: {first}"),
                _ => String::new(),
            };
            format!("{last}{}{before}", attempts_note(attempts))
        };
        loop {
            attempts += 1;
            stats.kubernetes.fetch_add(1, Ordering::Relaxed);
            if attempts > 1 {
                stats.kubernetes_retries.fetch_add(1, Ordering::Relaxed);
            }
            let remaining = deadline.remaining();
            if remaining.is_zero() {
                return Err(deadline.passed());
            }
            let per_try = self.timeout.min(remaining);
            let started = std::time::Instant::now();
            let outcome = tokio::time::timeout(per_try, self.attempt(&method, path, &bytes)).await;
            if self.verbose >= 2 {
                let what = match &outcome {
                    Err(_) => "no answer".to_string(),
                    Ok(Attempt::Body(_)) => "ok".to_string(),
                    Ok(Attempt::Status { code, .. }) => format!("HTTP {code}"),
                    Ok(Attempt::Transport { text, .. }) => text.clone(),
                };
                eprintln!(
                    "irsa-doctor: {method} {path} -> {what} ({} ms, attempt {attempts})",
                    started.elapsed().as_millis()
                );
            }
            let (text, wait) = match outcome {
                Err(_) if per_try < self.timeout => return Err(deadline.passed()),
                Err(_) => {
                    let text = format!("timed out after {} (--timeout)", seconds(self.timeout));
                    return Err(failed(&text, attempts, &retried));
                }
                Ok(Attempt::Body(text)) => return Ok(text),
                Ok(Attempt::Status {
                    code,
                    retry_after,
                    text,
                }) => {
                    let again = retryable && (code == 429 || (code >= 500 && code != 501));
                    let most = if retry_after.is_some() {
                        MAX_RETRIES
                    } else {
                        MAX_BACKOFF_RETRIES
                    };
                    if !again || attempts > most {
                        return Err(failed(&text, attempts, &retried));
                    }
                    let wait = match retry_after {
                        Some(s) => Duration::from_secs(s),
                        None => backoff(attempts),
                    };
                    (text, wait)
                }
                Ok(Attempt::Transport { text, transient }) => {
                    if !(transient && retryable) || attempts > MAX_BACKOFF_RETRIES {
                        return Err(failed(&text, attempts, &retried));
                    }
                    (text, backoff(attempts))
                }
            };
            if wait >= deadline.remaining() {
                return Err(format!(
                    "{text}{}; the next retry, in {}, would pass the run's deadline (--deadline)",
                    attempts_note(attempts),
                    seconds(wait)
                ));
            }
            retried.get_or_insert(text);
            tokio::time::sleep(wait).await;
        }
    }

    /// A GET returning JSON.
    pub async fn get(&self, path: &str, stats: &Stats) -> Result<Value, String> {
        let text = self.raw(http::Method::GET, path, None, stats).await?;
        serde_json::from_str(&text)
            .map_err(|e| format!("the API server answered {path} with invalid JSON: {e}"))
    }

    /// A request with a JSON body (TokenRequest, test pods); returns the response JSON.
    pub async fn send(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
        stats: &Stats,
    ) -> Result<Value, String> {
        let text = self.raw(method, path, body, stats).await?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// A plain-text GET (pod logs).
    pub async fn get_text(&self, path: &str, stats: &Stats) -> Result<String, String> {
        self.raw(http::Method::GET, path, None, stats).await
    }

    /// A full list (all pages, at most [`MAX_PAGES`]), items redacted page by page. A
    /// list that does not end (a `continue` token seen before, or too many pages) is an
    /// error: an incomplete list must never read as a complete one.
    async fn list(&self, path: &str, list_kind: &str, stats: &Stats) -> Result<Value, String> {
        #[derive(serde::Deserialize)]
        struct Page<'a> {
            #[serde(borrow, default)]
            items: Vec<&'a serde_json::value::RawValue>,
            #[serde(default)]
            metadata: PageMeta,
        }
        #[derive(serde::Deserialize, Default)]
        struct PageMeta {
            #[serde(rename = "continue")]
            cont: Option<String>,
        }
        let mut items = Vec::new();
        let mut cont: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        let shown = path.split('?').next().unwrap_or(path);
        for page_no in 1..=MAX_PAGES {
            let sep = if path.contains('?') { '&' } else { '?' };
            let mut url = format!("{path}{sep}limit={PAGE_LIMIT}");
            if let Some(c) = &cont {
                url.push_str("&continue=");
                url.push_str(
                    &percent_encoding::utf8_percent_encode(c, percent_encoding::NON_ALPHANUMERIC)
                        .to_string(),
                );
            }
            let text = self.raw(http::Method::GET, &url, None, stats).await?;
            let page: Page = serde_json::from_str(&text)
                .map_err(|e| format!("the API server answered {shown} with invalid JSON: {e}"))?;
            for raw in page.items {
                // Redacted as each page arrives: only the allow-listed fields are held.
                let mut it: Value = serde_json::from_str(raw.get()).map_err(|e| {
                    format!("the API server answered {shown} with invalid JSON: {e}")
                })?;
                redact_object(&mut it);
                items.push(it);
            }
            match page.metadata.cont.filter(|c| !c.is_empty()) {
                None => {
                    return Ok(json!({"apiVersion": "v1", "kind": list_kind, "metadata": {"resourceVersion": ""}, "items": items}))
                }
                Some(c) if !seen.insert(c.clone()) => {
                    return Err(format!(
                        "the API server sent an earlier page's continue token again after {page_no} pages of {shown}: the list never ends, so it is incomplete and not used"
                    ))
                }
                Some(c) => cont = Some(c),
            }
        }
        Err(format!(
            "{shown} did not end after {MAX_PAGES} pages ({} objects): the list is incomplete and not used",
            items.len()
        ))
    }
}

/// (API prefix, resource, list kind).
const RESOURCES: [(&str, &str, &str); 8] = [
    ("/api/v1", "serviceaccounts", "ServiceAccountList"),
    ("/api/v1", "pods", "PodList"),
    ("/apis/apps/v1", "deployments", "DeploymentList"),
    ("/apis/apps/v1", "daemonsets", "DaemonSetList"),
    ("/apis/apps/v1", "statefulsets", "StatefulSetList"),
    ("/apis/apps/v1", "replicasets", "ReplicaSetList"),
    ("/apis/batch/v1", "jobs", "JobList"),
    ("/apis/batch/v1", "cronjobs", "CronJobList"),
];

/// One namespaced list as an envelope file.
async fn list_file(
    kube: &Kube,
    (prefix, res, kind): (&str, &str, &str),
    namespace: Option<&str>,
    stats: &Stats,
) -> (String, Value) {
    let (path, scope) = match namespace {
        Some(ns) => (
            format!("{prefix}/namespaces/{ns}/{res}"),
            format!("-n {ns}"),
        ),
        None => (format!("{prefix}/{res}"), "-A".to_string()),
    };
    let command = format!("kubectl get {res} {scope} -o json");
    let file = format!("kubectl-get-{res}.json");
    match kube.list(&path, kind, stats).await {
        Ok(v) => (file, envelope(&command, v)),
        Err(e) => (file, envelope_error(&command, &e)),
    }
}

/// The ServiceAccounts in scope (the AWS side starts from their annotations).
pub async fn service_accounts(
    kube: &Kube,
    namespace: Option<&str>,
    stats: &Stats,
) -> (String, Value) {
    list_file(kube, RESOURCES[0], namespace, stats).await
}

/// The pods in scope (their `AWS_ROLE_ARN` names the roles when the ServiceAccounts
/// cannot be read).
pub async fn pods(kube: &Kube, namespace: Option<&str>, stats: &Stats) -> (String, Value) {
    list_file(kube, RESOURCES[1], namespace, stats).await
}

/// Everything else IRSA needs from the cluster, in scope `namespace` (all when
/// `None`): workloads, webhook configurations, the version.
pub async fn collect_rest(
    kube: &Kube,
    namespace: Option<&str>,
    stats: &Stats,
) -> Vec<(String, Value)> {
    let lists = RESOURCES[2..]
        .iter()
        .map(|r| list_file(kube, *r, namespace, stats));
    let webhooks = async {
        let command = "kubectl get mutatingwebhookconfigurations -o json";
        let file = "kubectl-get-mutatingwebhookconfigurations.json".to_string();
        match kube
            .list(
                "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
                "MutatingWebhookConfigurationList",
                stats,
            )
            .await
        {
            Ok(v) => (file, envelope(command, v)),
            Err(e) => (file, envelope_error(command, &e)),
        }
    };
    let version = async {
        let command = "kubectl version -o json";
        let file = "kubectl-version.json".to_string();
        match kube.get("/version", stats).await {
            Ok(v) => (file, envelope(command, json!({"serverVersion": v}))),
            Err(e) => (file, envelope_error(command, &e)),
        }
    };
    // Nodes (their OS and compute type decide where EKS Pod Identity works), and, when
    // one namespace is collected, the eks-pod-identity-agent's DaemonSet and pods in
    // kube-system (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html).
    let nodes = async {
        let command = "kubectl get nodes -o json";
        let file = "kubectl-get-nodes.json".to_string();
        match kube.list("/api/v1/nodes", "NodeList", stats).await {
            Ok(v) => (file, envelope(command, v)),
            Err(e) => (file, envelope_error(command, &e)),
        }
    };
    let agent = async {
        let mut out = Vec::new();
        if namespace.is_some_and(|ns| ns != "kube-system") {
            for (prefix, res, kind) in [
                ("/apis/apps/v1", "daemonsets", "DaemonSetList"),
                ("/api/v1", "pods", "PodList"),
            ] {
                let command = format!("kubectl get {res} -n kube-system -o json");
                let file = format!("kubectl-get-{res}-kube-system.json");
                let path = format!("{prefix}/namespaces/kube-system/{res}");
                out.push(match kube.list(&path, kind, stats).await {
                    Ok(v) => (file, envelope(&command, v)),
                    Err(e) => (file, envelope_error(&command, &e)),
                });
            }
        }
        out
    };
    let (mut files, webhooks, version, nodes, agent) =
        futures::join!(join_all(lists), webhooks, version, nodes, agent);
    files.push(webhooks);
    files.push(version);
    files.push(nodes);
    files.extend(agent);
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_resources_are_the_listed_ones() {
        let listed: Vec<&str> = super::RESOURCES
            .iter()
            .map(|(_, r, _)| *r)
            .chain(["mutatingwebhookconfigurations", "nodes"])
            .collect();
        let documented: Vec<&str> = crate::KUBERNETES_RESOURCES
            .iter()
            .map(|(_, r)| *r)
            .collect();
        assert_eq!(listed, documented);
    }

    #[test]
    fn status_answers_read_as_the_report_shows_them() {
        assert_eq!(
            status_text(
                403,
                r#"{"kind":"Status","reason":"Forbidden","message":"pods is forbidden: no"}"#
            ),
            "Forbidden (403): pods is forbidden: no"
        );
        assert_eq!(
            status_text(502, "<html>bad gateway</html>"),
            "HTTP 502: <html>bad gateway</html>"
        );
        assert_eq!(status_text(503, ""), "HTTP 503");
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for retry in 1..12 {
            let b = backoff(retry);
            let d = Duration::from_millis(200)
                .saturating_mul(1 << (retry.min(5) - 1))
                .min(Duration::from_secs(5));
            assert!(
                b >= d / 2 && b <= d,
                "retry {retry}: {b:?} not in [{:?}, {d:?}]",
                d / 2
            );
        }
    }

    #[test]
    fn causes_read_as_words() {
        assert_eq!(
            tidy("Connection refused (os error 111)"),
            "connection refused"
        );
        assert_eq!(tidy("TLS handshake"), "TLS handshake");
    }
}
