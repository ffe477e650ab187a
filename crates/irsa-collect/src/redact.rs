//! Redaction of collected Kubernetes objects: no secret leaves the cluster.
//!
//! - container env values are kept only for `AWS_*` names that carry no secret
//!   (`AWS_ROLE_ARN`, `AWS_REGION`, ...); every other literal value becomes
//!   `<redacted>` (its presence is what the diagnosis needs);
//! - `kubectl.kubernetes.io/last-applied-configuration` (it repeats env values) and
//!   `managedFields` are dropped.

use irsa_model::loader::SAFE_AWS_ENV;
use irsa_model::REDACTED;
use serde_json::Value;

fn redact_containers(spec: &mut Value) {
    for key in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(list) = spec.get_mut(key).and_then(Value::as_array_mut) else {
            continue;
        };
        for c in list {
            let Some(env) = c.get_mut("env").and_then(Value::as_array_mut) else {
                continue;
            };
            for e in env {
                let name = e
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                if let Some(v) = e.get_mut("value") {
                    if !SAFE_AWS_ENV.contains(&name.as_str()) {
                        *v = Value::String(REDACTED.into());
                    }
                }
            }
        }
    }
}

fn redact_metadata(meta: &mut Value) {
    if let Some(m) = meta.as_object_mut() {
        m.remove("managedFields");
        if let Some(a) = m.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
}

/// Redacts one object (Pod, workload, ServiceAccount, ...) in place.
pub fn redact_object(obj: &mut Value) {
    if let Some(meta) = obj.get_mut("metadata") {
        redact_metadata(meta);
    }
    let Some(spec) = obj.get_mut("spec") else {
        return;
    };
    redact_containers(spec);
    for path in [
        &["template", "spec"][..],
        &["jobTemplate", "spec", "template", "spec"][..],
    ] {
        let mut cur = Some(&mut *spec);
        for p in path {
            cur = cur.and_then(|v| v.get_mut(*p));
        }
        if let Some(s) = cur {
            redact_containers(s);
        }
    }
    if let Some(m) = spec.get_mut("template").and_then(|t| t.get_mut("metadata")) {
        redact_metadata(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_values_go_safe_values_stay() {
        let mut pod = json!({"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"env\":\"s3cr3t\"}", "keep": "x"}, "managedFields": []},
            "spec": {"containers": [{"name": "c", "env": [
                {"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::111122223333:role/x"},
                {"name": "AWS_SECRET_ACCESS_KEY", "value": "s3cr3t"},
                {"name": "DB_PASSWORD", "value": "hunter2"},
                {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "t", "key": "k"}}}]}]}});
        redact_object(&mut pod);
        let text = pod.to_string();
        assert!(!text.contains("s3cr3t") && !text.contains("hunter2"));
        assert!(text.contains("arn:aws:iam::111122223333:role/x"));
        assert!(
            text.contains("secretKeyRef"),
            "references are kept: they name no secret"
        );
        assert!(pod["metadata"].get("managedFields").is_none());
        assert_eq!(pod["metadata"]["annotations"]["keep"], "x");
        let mut deploy = json!({"spec": {"template": {"metadata": {}, "spec": {"initContainers": [{"name": "i", "env": [{"name": "AWS_SESSION_TOKEN", "value": "FwoG"}]}]}}}});
        redact_object(&mut deploy);
        assert!(!deploy.to_string().contains("FwoG"));
        let mut cron = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "env": [{"name": "AWS_ACCESS_KEY_ID", "value": "AKIA"}]}]}}}}}});
        redact_object(&mut cron);
        assert!(!cron.to_string().contains("AKIA"));
    }
}
