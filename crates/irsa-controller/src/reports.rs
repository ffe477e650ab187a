//! PolicyReports (`wgpolicyk8s.io/v1alpha2`, the format Kyverno and Trivy's operator
//! write and Policy Reporter shows): one `PolicyReport` named `irsa-doctor` per
//! namespace, one `ClusterPolicyReport` named `irsa-doctor` for roles, OIDC providers,
//! the cluster and the webhook. Written by server-side apply (field manager
//! `irsa-doctor`), updated in place, and only when their content changed.
//!
//! Results: an error finding is `fail` (severity `high`), a warning `warn` (`medium`),
//! a fact that could not be collected `error` (the check "could not be evaluated"), a
//! passed check `pass`; informational notes stay in the metrics. Each result names its
//! rule (`policy`: the rule's name, `rule`: its code), the message, the resource, and
//! in `properties` the cause, the role, the error STS would return and the first fix.
//! Severities are the three every published version of the CRD accepts.
//!
//! The CRD is a prerequisite (deploy/README.md says how to install it); without it,
//! or when RBAC refuses the write, that is said once, counted in
//! `irsa_doctor_write_refusals`, retried five minutes later, and everything else goes on.

use crate::metrics::{status_code, Metrics, RefusalLabels};
use irsa_rules::{Cause, Finding, Pass, Severity};
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The reports' name.
pub const NAME: &str = "irsa-doctor";

/// Results beyond this many bytes are left out (an object must stay well under
/// etcd's 1.5 MiB); passed checks go first.
pub const BUDGET: usize = 900 * 1024;

fn resource(cluster: bool) -> ApiResource {
    let (kind, plural) = if cluster {
        ("ClusterPolicyReport", "clusterpolicyreports")
    } else {
        ("PolicyReport", "policyreports")
    };
    ApiResource {
        group: "wgpolicyk8s.io".into(),
        version: "v1alpha2".into(),
        api_version: "wgpolicyk8s.io/v1alpha2".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// `pass`/`fail`/`warn`/`error` and the severity, for a finding (`None`: not reported).
pub fn result_of(f: &Finding) -> Option<(&'static str, Option<&'static str>)> {
    if f.cause == Cause::CollectionGap {
        return Some(("error", None));
    }
    match f.severity {
        Severity::Error => Some(("fail", Some("high"))),
        Severity::Warning => Some(("warn", Some("medium"))),
        Severity::Info => None,
    }
}

/// Builds a report's body. `reference` gives the Kubernetes object a subject is;
/// `first_seen` when a result was first found (Unix seconds).
pub fn build(
    namespace: Option<&str>,
    findings: &[Finding],
    passes: &[Pass],
    reference: &dyn Fn(&irsa_rules::Subject) -> Option<k8s_openapi::api::core::v1::ObjectReference>,
    first_seen: &mut dyn FnMut(&str) -> i64,
) -> Value {
    let mut results: Vec<Value> = Vec::new();
    let mut summary: BTreeMap<&str, usize> = [
        ("pass", 0),
        ("fail", 0),
        ("warn", 0),
        ("error", 0),
        ("skip", 0),
    ]
    .into();
    let rule_name = |code: &str| {
        irsa_rules::rule_by_code(code)
            .map(|r| r.meta().name)
            .unwrap_or("irsa-doctor")
    };
    let mut size = 0;
    let mut left_out = 0;
    let mut push = |r: Value, size: &mut usize, results: &mut Vec<Value>| {
        let bytes = r.to_string().len();
        if *size + bytes > BUDGET {
            left_out += 1;
            return;
        }
        *size += bytes;
        results.push(r);
    };
    let subject_props = |s: &irsa_rules::Subject, props: &mut serde_json::Map<String, Value>| {
        props.insert("subject".into(), json!(s.display()));
    };
    for f in findings {
        let Some((result, severity)) = result_of(f) else {
            continue;
        };
        *summary.entry(result).or_default() += 1;
        let message = f.message.render();
        let key = format!("{} {} {message}", f.rule, f.subject.display());
        let mut props = serde_json::Map::new();
        props.insert("cause".into(), json!(f.cause.id()));
        subject_props(&f.subject, &mut props);
        if let Some(r) = &f.role_arn {
            props.insert("role".into(), json!(r));
        }
        if let Some(e) = &f.predicted_error {
            props.insert("predictedError".into(), json!(e));
        }
        if let Some(fix) = f.fix.first() {
            props.insert(
                "fix".into(),
                json!(fix.command.clone().unwrap_or_else(|| fix.summary.clone())),
            );
        }
        let mut r = json!({
            "source": NAME, "policy": rule_name(f.rule), "rule": f.rule, "category": "IRSA",
            "result": result, "scored": true, "message": message,
            "timestamp": {"seconds": first_seen(&key), "nanos": 0},
            "properties": props,
        });
        if let Some(s) = severity {
            r["severity"] = json!(s);
        }
        if let Some(reference) = reference(&f.subject) {
            r["resources"] = json!([reference]);
        }
        push(r, &mut size, &mut results);
    }
    for p in passes {
        *summary.entry("pass").or_default() += 1;
        let message = p.message.render();
        let key = format!("{} {} {message}", p.rule, p.subject.display());
        let mut props = serde_json::Map::new();
        subject_props(&p.subject, &mut props);
        let mut r = json!({
            "source": NAME, "policy": rule_name(p.rule), "rule": p.rule, "category": "IRSA",
            "result": "pass", "scored": true, "message": message,
            "timestamp": {"seconds": first_seen(&key), "nanos": 0},
            "properties": props,
        });
        if let Some(reference) = reference(&p.subject) {
            r["resources"] = json!([reference]);
        }
        push(r, &mut size, &mut results);
    }
    let mut metadata = json!({"name": NAME, "labels": {"app.kubernetes.io/managed-by": NAME}});
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    if left_out > 0 {
        metadata["annotations"] = json!({"irsa-doctor.io/results-left-out": left_out.to_string()});
    }
    json!({
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": if namespace.is_some() { "PolicyReport" } else { "ClusterPolicyReport" },
        "metadata": metadata,
        "summary": summary,
        "results": results,
    })
}

/// Writes reports.
pub struct Reports {
    client: Client,
    written: Mutex<BTreeMap<String, u64>>,
    refused_until: Mutex<BTreeMap<String, Instant>>,
    said: Mutex<Vec<String>>,
    metrics: Arc<Metrics>,
    first_seen: Mutex<BTreeMap<String, i64>>,
}

fn hash(v: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.to_string().hash(&mut h);
    h.finish()
}

impl Reports {
    /// A writer.
    pub fn new(client: Client, metrics: Arc<Metrics>) -> Reports {
        Reports {
            client,
            written: Mutex::new(BTreeMap::new()),
            refused_until: Mutex::new(BTreeMap::new()),
            said: Mutex::new(Vec::new()),
            metrics,
            first_seen: Mutex::new(BTreeMap::new()),
        }
    }

    /// When a result was first found (Unix seconds); remembered while it lasts.
    pub fn first_seen(&self, scope: &str, key: &str) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        *self
            .first_seen
            .lock()
            .expect("first seen")
            .entry(format!("{scope}\u{0}{key}"))
            .or_insert(now)
    }

    /// Forgets the results of a scope that no longer hold (called after each build).
    pub fn retain_seen(&self, scope: &str, keys: &std::collections::BTreeSet<String>) {
        let prefix = format!("{scope}\u{0}");
        self.first_seen
            .lock()
            .expect("first seen")
            .retain(|k, _| !k.starts_with(&prefix) || keys.contains(&k[prefix.len()..]));
    }

    fn refused(&self, resource: &str, reason: &'static str, e: &kube::Error) {
        self.metrics
            .write_refusals
            .get_or_create(&RefusalLabels {
                resource: resource.into(),
                reason: reason.into(),
            })
            .inc();
        // Said once: a missing CRD once for both kinds, a refusal once per kind.
        let key = match reason {
            "not-installed" => reason.to_string(),
            _ => format!("{reason} {resource}"),
        };
        let mut said = self.said.lock().expect("said");
        if !said.contains(&key) {
            said.push(key);
            match reason {
                "not-installed" => {
                    tracing::warn!(error = %e, "the PolicyReport CRD (wgpolicyk8s.io/v1alpha2) is not installed: reports are paused (retried every 5 minutes); diagnosis, metrics and Events go on. Install it (deploy/README.md) or pass --no-policy-reports")
                }
                _ => {
                    tracing::warn!(error = %e, "RBAC refuses writing {resource}: reports are paused (retried every 5 minutes); diagnosis, metrics and Events go on. Grant create and patch on {resource}.wgpolicyk8s.io (deploy/ does)")
                }
            }
        }
        self.refused_until.lock().expect("refused").insert(
            resource.to_string(),
            Instant::now() + crate::events::REFUSAL_PAUSE,
        );
    }

    /// Applies a report when it changed. Returns whether it was left for later.
    pub async fn apply(&self, report: Value, timeout: Duration) -> Result<bool, kube::Error> {
        let namespace = report["metadata"]["namespace"].as_str().map(String::from);
        let scope = namespace.clone().unwrap_or_default();
        let h = hash(&report);
        if self.written.lock().expect("written").get(&scope) == Some(&h) {
            return Ok(false);
        }
        let ar = resource(namespace.is_none());
        if self
            .refused_until
            .lock()
            .expect("refused")
            .get(&ar.plural)
            .is_some_and(|t| Instant::now() < *t)
        {
            return Ok(true);
        }
        let api: Api<DynamicObject> = match &namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        };
        let params = PatchParams::apply(NAME).force();
        let result =
            tokio::time::timeout(timeout, api.patch(NAME, &params, &Patch::Apply(&report))).await;
        let result = match result {
            Ok(r) => r,
            Err(_) => {
                self.request(&ar.plural, 0);
                return Err(kube::Error::Service(
                    format!("writing the {} timed out", ar.kind).into(),
                ));
            }
        };
        match result {
            Ok(_) => {
                self.request(&ar.plural, 200);
                self.metrics.report_writes.inc();
                self.written.lock().expect("written").insert(scope, h);
                Ok(false)
            }
            Err(e) => {
                let code = status_code(&e);
                self.request(&ar.plural, code);
                match code {
                    403 => {
                        self.refused(&ar.plural, "forbidden", &e);
                        Ok(true)
                    }
                    // The resource type itself is not served (no CRD); a namespace
                    // deleted meanwhile is an ordinary failure, retried.
                    404 if matches!(&e, kube::Error::Api(s) if s.message.contains("could not find the requested resource")) =>
                    {
                        self.refused(&ar.plural, "not-installed", &e);
                        Ok(true)
                    }
                    _ => Err(e),
                }
            }
        }
    }

    fn request(&self, resource: &str, code: u16) {
        self.metrics.kube_request("patch", resource, code);
    }

    /// Forgets a namespace that is gone.
    pub fn forget(&self, scope: &str) {
        self.written.lock().expect("written").remove(scope);
        self.retain_seen(scope, &Default::default());
    }
}
