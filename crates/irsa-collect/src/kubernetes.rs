//! Kubernetes collection (read-only GETs through kube-rs): the same lists
//! `kubectl get … -o json` prints, paginated with `limit`/`continue`, redacted, and
//! wrapped in envelopes naming the equivalent kubectl command.

use crate::redact::redact_object;
use crate::{envelope, envelope_error, Stats};
use futures::future::join_all;
use serde_json::{json, Value};
use std::time::Duration;

/// A connected cluster.
pub struct Kube {
    client: kube::Client,
    /// API server URL (for the report and for matching the EKS cluster).
    pub server: String,
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
}

/// Connects with the kubeconfig (or in-cluster config).
pub async fn connect(opts: &KubeOptions) -> Result<Kube, crate::CollectError> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let kc_opts = KubeConfigOptions {
        context: opts.context.clone(),
        cluster: None,
        user: None,
    };
    let mut config = match &opts.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| crate::CollectError::Kubeconfig(format!("{}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(kc, &kc_opts)
                .await
                .map_err(|e| crate::CollectError::Kubeconfig(format!("{}: {e}", path.display())))?
        }
        None if opts.context.is_some() => kube::Config::from_kubeconfig(&kc_opts)
            .await
            .map_err(|e| crate::CollectError::Kubeconfig(e.to_string()))?,
        None => kube::Config::infer().await.map_err(|e| {
            crate::CollectError::Kubeconfig(format!("no kubeconfig or in-cluster config: {e}"))
        })?,
    };
    if let Some(t) = opts.timeout {
        config.connect_timeout = Some(t);
        config.read_timeout = Some(t);
    }
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_string();
    let client = kube::Client::try_from(config)
        .map_err(|e| crate::CollectError::Kubeconfig(e.to_string()))?;
    Ok(Kube { client, server })
}

/// Why one GET failed, in the words the report shows.
fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({}): {}", s.reason, s.code, s.message),
        other => {
            // The root cause says what happened (connection refused, certificate…).
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            let mut root = None;
            while let Some(s) = source {
                root = Some(s.to_string());
                source = s.source();
            }
            if let Some(r) = root.filter(|r| !text.contains(r.as_str())) {
                text = format!("{text}: {r}");
            }
            text
        }
    }
}

impl Kube {
    /// One request, counted; the response text.
    async fn raw(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
        stats: &Stats,
    ) -> Result<String, String> {
        stats
            .kubernetes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mut req = http::Request::builder().method(method).uri(path);
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req.body(bytes).map_err(|e| e.to_string())?;
        self.client
            .request_text(req)
            .await
            .map_err(|e| describe(&e))
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

    /// A full list (all pages), items redacted.
    async fn list(&self, path: &str, list_kind: &str, stats: &Stats) -> Result<Value, String> {
        let mut items = Vec::new();
        let mut cont: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let mut url = format!("{path}{sep}limit=500");
            if let Some(c) = &cont {
                url.push_str("&continue=");
                url.push_str(
                    &percent_encoding::utf8_percent_encode(c, percent_encoding::NON_ALPHANUMERIC)
                        .to_string(),
                );
            }
            let page = self.get(&url, stats).await?;
            if let Some(list) = page.get("items").and_then(Value::as_array) {
                items.extend(list.iter().cloned());
            }
            cont = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(String::from);
            if cont.is_none() {
                break;
            }
        }
        for it in &mut items {
            redact_object(it);
        }
        Ok(
            json!({"apiVersion": "v1", "kind": list_kind, "metadata": {"resourceVersion": ""}, "items": items}),
        )
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

/// Collects everything IRSA needs from the cluster, in scope `namespace` (all when `None`).
pub async fn collect(kube: &Kube, namespace: Option<&str>, stats: &Stats) -> Vec<(String, Value)> {
    let scope = match namespace {
        Some(ns) => format!("-n {ns}"),
        None => "-A".to_string(),
    };
    let lists = RESOURCES.iter().map(|(prefix, res, kind)| {
        let path = match namespace {
            Some(ns) => format!("{prefix}/namespaces/{ns}/{res}"),
            None => format!("{prefix}/{res}"),
        };
        let command = format!("kubectl get {res} {scope} -o json");
        async move {
            let file = format!("kubectl-get-{res}.json");
            match kube.list(&path, kind, stats).await {
                Ok(v) => (file, envelope(&command, v)),
                Err(e) => (file, envelope_error(&command, &e)),
            }
        }
    });
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
}
