//! `probe --test-pod`: the seed articles' awscli pod, run as the ServiceAccount with
//! the target workload's securityContext (so non-root/fsGroup problems show), printing
//! only non-secret `AWS_*` variables and `aws sts get-caller-identity`. The pod is
//! deleted in every path: success, failure, timeout and Ctrl-C.

use crate::kubernetes::Kube;
use crate::Stats;
use irsa_model::Snapshot;
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Duration;

/// Options.
#[derive(Debug, Clone)]
pub struct TestPodOptions {
    /// Image with the AWS CLI.
    pub image: String,
    /// How long to wait for the pod to finish.
    pub timeout: Duration,
}

/// What the test pod showed.
#[derive(Debug, Clone, Serialize)]
pub struct TestPodReport {
    /// Pod name.
    pub pod: String,
    /// Last phase seen.
    pub phase: Option<String>,
    /// `AWS_*` lines it printed (non-secret names only).
    pub env: Vec<String>,
    /// `Arn` from `aws sts get-caller-identity`, when it printed one.
    pub caller: Option<String>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// Whether the pod was deleted.
    pub deleted: bool,
}

/// The shell the pod runs: safe `AWS_*` names only, then the identity.
pub const SCRIPT: &str = "env | grep -E '^AWS_(ROLE_ARN|WEB_IDENTITY_TOKEN_FILE|REGION|DEFAULT_REGION|STS_REGIONAL_ENDPOINTS)=' ; aws sts get-caller-identity --output json";

/// The pod manifest, with the workload's securityContext when one runs as the ServiceAccount.
pub fn manifest(snap: &Snapshot, namespace: &str, sa: &str, name: &str, image: &str) -> Value {
    let workload = snap.workloads.iter().find(|w| {
        w.owner.is_none()
            && w.namespace == namespace
            && w.template.effective_service_account() == sa
    });
    let mut pod_sc = serde_json::Map::new();
    let mut container_sc = serde_json::Map::new();
    if let Some(w) = workload {
        let t = &w.template;
        if let Some(v) = t.fs_group {
            pod_sc.insert("fsGroup".into(), json!(v));
        }
        if let Some(v) = t.run_as_user {
            pod_sc.insert("runAsUser".into(), json!(v));
        }
        if let Some(v) = t.run_as_non_root {
            pod_sc.insert("runAsNonRoot".into(), json!(v));
        }
        if let Some(c) = t.containers.first() {
            if let Some(v) = c.run_as_user {
                container_sc.insert("runAsUser".into(), json!(v));
            }
            if let Some(v) = c.run_as_non_root {
                container_sc.insert("runAsNonRoot".into(), json!(v));
            }
        }
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "irsa-doctor"}},
        "spec": {
            "serviceAccountName": sa, "restartPolicy": "Never", "securityContext": pod_sc,
            "containers": [{"name": "awscli", "image": image, "command": ["sh", "-c", SCRIPT], "securityContext": container_sc}]
        }
    })
}

fn parse_log(log: &str) -> (Vec<String>, Option<String>) {
    let env = log
        .lines()
        .filter(|l| l.starts_with("AWS_"))
        .map(String::from)
        .collect();
    let json_start = log.find('{');
    let caller = json_start
        .and_then(|i| serde_json::from_str::<Value>(&log[i..]).ok())
        .and_then(|v| v.get("Arn").and_then(Value::as_str).map(String::from));
    (env, caller)
}

/// Runs the pod, reads its log, deletes it.
pub async fn run(
    kube: &Kube,
    snap: &Snapshot,
    namespace: &str,
    sa: &str,
    opts: &TestPodOptions,
    stats: &Stats,
) -> TestPodReport {
    let suffix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!("irsa-doctor-probe-{suffix:08x}");
    let mut report = TestPodReport {
        pod: name.clone(),
        phase: None,
        env: vec![],
        caller: None,
        error: None,
        deleted: false,
    };
    let body = manifest(snap, namespace, sa, &name, &opts.image);
    if let Err(e) = kube
        .send(
            http::Method::POST,
            &format!("/api/v1/namespaces/{namespace}/pods"),
            Some(&body),
            stats,
        )
        .await
    {
        report.error = Some(format!(
            "cannot create the test pod: {e} (needs create/delete on pods)"
        ));
        return report;
    }
    let pod_path = format!("/api/v1/namespaces/{namespace}/pods/{name}");
    let wait = async {
        loop {
            match kube.get(&pod_path, stats).await {
                Ok(p) => {
                    let phase = p
                        .pointer("/status/phase")
                        .and_then(Value::as_str)
                        .map(String::from);
                    if matches!(phase.as_deref(), Some("Succeeded") | Some("Failed")) {
                        return Ok(phase);
                    }
                }
                Err(e) => return Err(e),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    let outcome = tokio::select! {
        r = tokio::time::timeout(opts.timeout, wait) => match r {
            Ok(Ok(phase)) => Ok(phase),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(format!("the test pod did not finish within {} s", opts.timeout.as_secs())),
        },
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
    };
    match outcome {
        Ok(phase) => {
            report.phase = phase;
            match kube.get_text(&format!("{pod_path}/log"), stats).await {
                Ok(log) => {
                    let (env, caller) = parse_log(&log);
                    report.env = env;
                    report.caller = caller;
                }
                Err(e) => report.error = Some(format!("cannot read the test pod's log: {e}")),
            }
        }
        Err(e) => report.error = Some(e),
    }
    // Always clean up.
    report.deleted = kube.delete_created(&pod_path, stats).await.is_ok();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_parsing_keeps_only_aws_lines_and_the_arn() {
        let log = "AWS_ROLE_ARN=arn:aws:iam::1:role/r\nAWS_REGION=us-east-1\n{\n    \"UserId\": \"AROA:botocore-session-1\",\n    \"Account\": \"111122223333\",\n    \"Arn\": \"arn:aws:sts::111122223333:assumed-role/r/botocore-session-1\"\n}\n";
        let (env, caller) = parse_log(log);
        assert_eq!(env.len(), 2);
        assert_eq!(
            caller.as_deref(),
            Some("arn:aws:sts::111122223333:assumed-role/r/botocore-session-1")
        );
    }
}
