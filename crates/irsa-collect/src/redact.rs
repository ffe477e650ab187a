//! Redaction of collected Kubernetes objects by an allow-list: only the fields the
//! diagnosis reads (those `irsa-model`'s loader declares in `raw.rs`) are kept;
//! everything else is dropped before it is held, written or logged.
//!
//! Kept (the README lists the same):
//! - `kind`, `apiVersion`; metadata `name`, `namespace`, `creationTimestamp`,
//!   `labels` (webhook selectors match them), `ownerReferences` (kind, name,
//!   controller), and only the annotations the rules read: `eks.amazonaws.com/*`
//!   and keys that look like a misspelt role annotation (they name a role ARN);
//! - pod specs: `serviceAccountName`/`serviceAccount`, `securityContext` (runAsUser,
//!   fsGroup, runAsNonRoot), `nodeSelector`, `hostNetwork`; per container `name`,
//!   `image`, env names with values only for non-secret `AWS_*` variables (others
//!   become `<redacted>`: their presence is what counts), `valueFrom`/`envFrom`
//!   references by name, volume mounts (name, path, subPath), `securityContext`;
//!   volumes by name with their projected service-account token sources;
//! - workload `template`/`jobTemplate` (the same pod spec); `status.phase` (pods) and
//!   `status.conditions` (type, status, reason, message: a controller that cannot
//!   create pods says why there);
//! - webhook configurations: name, clientConfig (url, service), rules, failurePolicy,
//!   object and namespace selectors, admissionReviewVersions.
//!
//! Dropped, among others: container `command`/`args`, probes (their HTTP headers),
//! other annotations (`last-applied-configuration` repeats env values), CSI volume
//! attributes, `managedFields`, `caBundle`, ServiceAccount `secrets`, pod IPs.

use irsa_model::loader::SAFE_AWS_ENV;
use irsa_model::REDACTED;
use serde_json::{Map, Value};

/// What to keep of a value.
enum Keep {
    /// All of it.
    All,
    /// These fields of an object.
    Fields(&'static [(&'static str, Keep)]),
    /// Each element of an array, so.
    Each(&'static Keep),
    /// Another allow-list (for the recursive job template).
    Ref(&'static Keep),
    /// Annotations: only those the rules read.
    Annotations,
    /// One env var: its value only when it is a non-secret `AWS_*` variable.
    EnvVar,
}

static NAME_REF: Keep = Keep::Fields(&[("name", Keep::All)]);
static KEY_REF: Keep = Keep::Fields(&[("name", Keep::All), ("key", Keep::All)]);

static SECURITY_CONTEXT: Keep = Keep::Fields(&[
    ("runAsUser", Keep::All),
    ("fsGroup", Keep::All),
    ("runAsNonRoot", Keep::All),
]);

static CONTAINER: Keep = Keep::Fields(&[
    ("name", Keep::All),
    ("image", Keep::All),
    ("env", Keep::Each(&Keep::EnvVar)),
    (
        "envFrom",
        Keep::Each(&Keep::Fields(&[
            ("prefix", Keep::All),
            ("secretRef", Keep::Ref(&NAME_REF)),
            ("configMapRef", Keep::Ref(&NAME_REF)),
        ])),
    ),
    (
        "volumeMounts",
        Keep::Each(&Keep::Fields(&[
            ("name", Keep::All),
            ("mountPath", Keep::All),
            ("subPath", Keep::All),
            ("subPathExpr", Keep::All),
        ])),
    ),
    ("securityContext", Keep::Ref(&SECURITY_CONTEXT)),
]);

static VOLUME: Keep = Keep::Fields(&[
    ("name", Keep::All),
    (
        "projected",
        Keep::Fields(&[(
            "sources",
            Keep::Each(&Keep::Fields(&[(
                "serviceAccountToken",
                Keep::Fields(&[
                    ("audience", Keep::All),
                    ("expirationSeconds", Keep::All),
                    ("path", Keep::All),
                ]),
            )])),
        )]),
    ),
]);

static METADATA: Keep = Keep::Fields(&[
    ("name", Keep::All),
    ("namespace", Keep::All),
    ("creationTimestamp", Keep::All),
    ("labels", Keep::All),
    ("annotations", Keep::Annotations),
    (
        "ownerReferences",
        Keep::Each(&Keep::Fields(&[
            ("kind", Keep::All),
            ("name", Keep::All),
            ("controller", Keep::All),
        ])),
    ),
]);

/// A pod spec and a workload spec in one (their fields do not overlap).
static SPEC: Keep = Keep::Fields(&[
    ("serviceAccountName", Keep::All),
    ("serviceAccount", Keep::All),
    ("containers", Keep::Each(&CONTAINER)),
    ("initContainers", Keep::Each(&CONTAINER)),
    ("volumes", Keep::Each(&VOLUME)),
    ("securityContext", Keep::Ref(&SECURITY_CONTEXT)),
    ("nodeSelector", Keep::All),
    ("hostNetwork", Keep::All),
    // The node a pod runs on: EKS Pod Identity needs a ready agent on that node.
    ("nodeName", Keep::All),
    (
        "template",
        Keep::Fields(&[
            ("metadata", Keep::Ref(&METADATA)),
            ("spec", Keep::Ref(&SPEC)),
        ]),
    ),
    ("jobTemplate", Keep::Fields(&[("spec", Keep::Ref(&SPEC))])),
]);

static SELECTOR: Keep = Keep::Fields(&[
    ("matchLabels", Keep::All),
    (
        "matchExpressions",
        Keep::Each(&Keep::Fields(&[
            ("key", Keep::All),
            ("operator", Keep::All),
            ("values", Keep::All),
        ])),
    ),
]);

static WEBHOOK: Keep = Keep::Fields(&[
    ("name", Keep::All),
    (
        "clientConfig",
        Keep::Fields(&[
            ("url", Keep::All),
            (
                "service",
                Keep::Fields(&[
                    ("name", Keep::All),
                    ("namespace", Keep::All),
                    ("path", Keep::All),
                ]),
            ),
        ]),
    ),
    (
        "rules",
        Keep::Each(&Keep::Fields(&[
            ("operations", Keep::All),
            ("apiGroups", Keep::All),
            ("apiVersions", Keep::All),
            ("resources", Keep::All),
        ])),
    ),
    ("failurePolicy", Keep::All),
    ("objectSelector", Keep::Ref(&SELECTOR)),
    ("namespaceSelector", Keep::Ref(&SELECTOR)),
    ("admissionReviewVersions", Keep::All),
]);

/// Every object the collectors list.
static OBJECT: Keep = Keep::Fields(&[
    ("kind", Keep::All),
    ("apiVersion", Keep::All),
    ("metadata", Keep::Ref(&METADATA)),
    ("spec", Keep::Ref(&SPEC)),
    (
        "status",
        Keep::Fields(&[
            ("phase", Keep::All),
            // DaemonSets (the Pod Identity agent's): how many pods should run, how many are ready.
            ("desiredNumberScheduled", Keep::All),
            ("numberReady", Keep::All),
            // Nodes: where EKS Pod Identity works depends on the OS and the addresses.
            (
                "nodeInfo",
                Keep::Fields(&[
                    ("kubeletVersion", Keep::All),
                    ("operatingSystem", Keep::All),
                ]),
            ),
            (
                "addresses",
                Keep::Each(&Keep::Fields(&[
                    ("type", Keep::All),
                    ("address", Keep::All),
                ])),
            ),
            (
                "conditions",
                Keep::Each(&Keep::Fields(&[
                    ("type", Keep::All),
                    ("status", Keep::All),
                    ("reason", Keep::All),
                    ("message", Keep::All),
                ])),
            ),
        ]),
    ),
    ("webhooks", Keep::Each(&WEBHOOK)),
]);

/// Annotations the rules read: `eks.amazonaws.com/*`, and keys that look like a
/// misspelt or misplaced role annotation (the near-miss rule reports their value,
/// a role ARN).
pub fn annotation_kept(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.starts_with("eks.amazonaws.com/")
        || ["eks", "role", "arn", "iam", "irsa"]
            .iter()
            .any(|w| k.contains(w))
}

fn env_var(v: &Value) -> Option<Value> {
    let o = v.as_object()?;
    let mut out = Map::new();
    let name = o.get("name").and_then(Value::as_str)?;
    out.insert("name".into(), Value::String(name.to_string()));
    if let Some(value) = o.get("value") {
        let kept = if SAFE_AWS_ENV.contains(&name) {
            value.clone()
        } else {
            Value::String(REDACTED.into())
        };
        out.insert("value".into(), kept);
    }
    if let Some(from) = o.get("valueFrom").and_then(Value::as_object) {
        // The reference's kind and names (never a value).
        let mut refs = Map::new();
        for (k, keep) in [
            ("secretKeyRef", &KEY_REF),
            ("configMapKeyRef", &KEY_REF),
            ("fieldRef", &Keep::Fields(&[("fieldPath", Keep::All)])),
            (
                "resourceFieldRef",
                &Keep::Fields(&[("resource", Keep::All)]),
            ),
        ] {
            if let Some(r) = from.get(k).and_then(|r| project(r, keep)) {
                refs.insert(k.into(), r);
            }
        }
        out.insert("valueFrom".into(), Value::Object(refs));
    }
    Some(Value::Object(out))
}

fn project(v: &Value, keep: &Keep) -> Option<Value> {
    match keep {
        Keep::All => Some(v.clone()),
        Keep::Ref(k) => project(v, k),
        Keep::Fields(fields) => {
            let o = v.as_object()?;
            let mut out = Map::new();
            for (name, k) in *fields {
                if let Some(x) = o.get(*name).and_then(|x| project(x, k)) {
                    out.insert((*name).to_string(), x);
                }
            }
            Some(Value::Object(out))
        }
        Keep::Each(k) => Some(Value::Array(
            v.as_array()?.iter().filter_map(|x| project(x, k)).collect(),
        )),
        Keep::Annotations => Some(Value::Object(
            v.as_object()?
                .iter()
                .filter(|(k, _)| annotation_kept(k))
                .map(|(k, x)| (k.clone(), x.clone()))
                .collect(),
        )),
        Keep::EnvVar => env_var(v),
    }
}

/// Redacts one object (Pod, workload, ServiceAccount, webhook configuration, ...) in
/// place: what is not on the allow-list is gone.
pub fn redact_object(obj: &mut Value) {
    let agent_flags = agent_flags(obj);
    *obj = project(obj, &OBJECT).unwrap_or(Value::Null);
    if let Some((i, flags)) = agent_flags {
        if let Some(c) = obj
            .pointer_mut(&format!("/spec/template/spec/containers/{i}"))
            .and_then(Value::as_object_mut)
        {
            c.insert("args".into(), Value::Array(flags));
        }
    }
}

/// The EKS Pod Identity agent's DaemonSet: the bind hosts and port of its container
/// (the only words of its command line the rules read, as `--flag=value`; every other
/// word, which could carry anything, is dropped with the rest of the command line).
/// Source of the flags: the agent's `server` command (`--bind-hosts`/`-b`, `--port`/`-p`),
/// https://github.com/aws/eks-pod-identity-agent.
fn agent_flags(obj: &Value) -> Option<(usize, Vec<Value>)> {
    use irsa_model::pod_identity::AGENT_NAME;
    let meta = obj.get("metadata")?;
    let named = meta.get("name").and_then(Value::as_str) == Some(AGENT_NAME)
        || meta
            .pointer("/labels/app.kubernetes.io~1name")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with(AGENT_NAME));
    if !named
        || obj
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k != "DaemonSet")
    {
        return None;
    }
    let containers = obj.pointer("/spec/template/spec/containers")?.as_array()?;
    let (i, c) = containers.iter().enumerate().find(|(_, c)| {
        c.get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.starts_with(AGENT_NAME))
    })?;
    let words: Vec<&str> = ["command", "args"]
        .iter()
        .filter_map(|k| c.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut out = Vec::new();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        let (flag, inline) = match w.split_once('=') {
            Some((f, v)) if w.starts_with('-') => (f, Some(v)),
            _ => (*w, None),
        };
        let name = match flag {
            "-b" | "--bind-hosts" => "--bind-hosts",
            "-p" | "--port" => "--port",
            _ => continue,
        };
        if let Some(v) = inline.or_else(|| it.next().copied()) {
            out.push(Value::String(format!("{name}={v}")));
        }
    }
    Some((i, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_values_go_safe_values_stay() {
        let mut pod = json!({"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"env\":\"s3cr3t\"}", "eks.amazonaws.com/skip-containers": "x"}, "managedFields": []},
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
        assert_eq!(
            pod["metadata"]["annotations"]["eks.amazonaws.com/skip-containers"],
            "x"
        );
        let mut deploy = json!({"spec": {"template": {"metadata": {}, "spec": {"initContainers": [{"name": "i", "env": [{"name": "AWS_SESSION_TOKEN", "value": "FwoG"}]}]}}}});
        redact_object(&mut deploy);
        assert!(!deploy.to_string().contains("FwoG"));
        let mut cron = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "env": [{"name": "AWS_ACCESS_KEY_ID", "value": "AKIA"}]}]}}}}}});
        redact_object(&mut cron);
        assert!(!cron.to_string().contains("AKIA"));
        assert_eq!(
            cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"][0]
                ["name"],
            "AWS_ACCESS_KEY_ID"
        );
    }

    #[test]
    fn what_the_pod_identity_rules_read_is_kept() {
        let mut ds = json!({"kind": "DaemonSet", "metadata": {"name": "eks-pod-identity-agent", "namespace": "kube-system"},
            "spec": {"template": {"spec": {"hostNetwork": true, "containers": [
                {"name": "eks-pod-identity-agent", "command": ["/go-runner", "/eks-pod-identity-agent", "server"],
                 "args": ["--port", "80", "--cluster-name", "shop", "--probe-port", "2703", "-b", "169.254.170.23", "--token=CANARY7"]}]}}},
            "status": {"desiredNumberScheduled": 3, "numberReady": 2, "numberMisscheduled": 0}});
        redact_object(&mut ds);
        assert_eq!(
            ds["spec"]["template"]["spec"]["containers"][0]["args"],
            json!(["--port=80", "--bind-hosts=169.254.170.23"])
        );
        assert!(!ds.to_string().contains("CANARY7"));
        assert_eq!(
            ds["status"],
            json!({"desiredNumberScheduled": 3, "numberReady": 2})
        );
        // Another DaemonSet's command line stays dropped.
        let mut other = json!({"kind": "DaemonSet", "metadata": {"name": "fluent-bit"},
            "spec": {"template": {"spec": {"containers": [{"name": "f", "args": ["--port", "80"]}]}}}});
        redact_object(&mut other);
        assert!(other["spec"]["template"]["spec"]["containers"][0]
            .get("args")
            .is_none());
        let mut pod = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"nodeName": "ip-10-0-1-11.ec2.internal"}});
        redact_object(&mut pod);
        assert_eq!(pod["spec"]["nodeName"], "ip-10-0-1-11.ec2.internal");
        let mut node = json!({"kind": "Node", "metadata": {"name": "n", "labels": {"eks.amazonaws.com/compute-type": "hybrid"}},
            "status": {"nodeInfo": {"kubeletVersion": "v1.30.0", "operatingSystem": "linux", "machineID": "m"},
                "addresses": [{"type": "InternalIP", "address": "10.0.1.11"}], "images": [{"names": ["x"]}]}});
        redact_object(&mut node);
        assert_eq!(
            node["status"],
            json!({"nodeInfo": {"kubeletVersion": "v1.30.0", "operatingSystem": "linux"},
                "addresses": [{"type": "InternalIP", "address": "10.0.1.11"}]})
        );
    }

    #[test]
    fn what_rules_do_not_read_is_dropped() {
        let mut pod = json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "n",
                "annotations": {"vault.hashicorp.com/agent-inject-token": "hvs.CANARY1", "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r", "eks.amazonaws.com/role_arn": "arn:aws:iam::1:role/near"},
                "labels": {"app": "a"}},
            "spec": {"serviceAccountName": "sa", "containers": [{"name": "c", "image": "amazon/aws-cli:2.15.0",
                "command": ["sh", "-c", "curl -H 'Authorization: Bearer CANARY2'"], "args": ["--password=CANARY3"],
                "livenessProbe": {"httpGet": {"path": "/", "httpHeaders": [{"name": "Authorization", "value": "Basic CANARY4"}]}},
                "env": [{"name": "API_KEY", "value": "CANARY5"}]}],
                "volumes": [{"name": "secrets-store", "csi": {"driver": "secrets-store.csi.k8s.io", "volumeAttributes": {"token": "CANARY6"}}},
                    {"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {"audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"}}]}}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1"}});
        redact_object(&mut pod);
        let text = pod.to_string();
        for canary in [
            "CANARY1", "CANARY2", "CANARY3", "CANARY4", "CANARY5", "CANARY6", "10.0.0.1",
        ] {
            assert!(!text.contains(canary), "{canary} kept: {text}");
        }
        assert_eq!(
            pod["spec"]["containers"][0]["image"],
            "amazon/aws-cli:2.15.0"
        );
        assert_eq!(pod["spec"]["volumes"][0], json!({"name": "secrets-store"}));
        assert_eq!(
            pod["spec"]["volumes"][1]["projected"]["sources"][0]["serviceAccountToken"]["audience"],
            "sts.amazonaws.com"
        );
        assert_eq!(pod["status"], json!({"phase": "Running"}));
        let mut rs = json!({"kind": "ReplicaSet", "status": {"replicas": 0, "conditions": [{"type": "ReplicaFailure", "status": "True",
            "reason": "FailedCreate", "message": "pods \"a-\" is forbidden: error looking up service account x/y: serviceaccount \"y\" not found",
            "lastTransitionTime": "2024-01-01T00:00:00Z"}]}});
        redact_object(&mut rs);
        assert_eq!(rs["status"]["conditions"][0]["reason"], "FailedCreate");
        assert!(rs["status"].get("replicas").is_none());
        assert_eq!(pod["metadata"]["labels"]["app"], "a");
        assert_eq!(
            pod["metadata"]["annotations"]["eks.amazonaws.com/role_arn"],
            "arn:aws:iam::1:role/near",
            "a near-miss role annotation is what a rule reports"
        );
    }
}
