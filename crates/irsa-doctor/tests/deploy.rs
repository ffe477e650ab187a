//! deploy/: the kustomize manifests render with `kubectl kustomize`, every object parses
//! with k8s-openapi's types (and loses nothing in the round trip, so a misspelt field
//! fails), the pieces agree with one another and with the binary, the RBAC grants
//! only what the controller may write, and the alert rules and the dashboard query only
//! metrics the controller exports. (That each request the controller makes is granted
//! is checked on a real run, in tests/controller.rs.)

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use support::deploy::{self, Grant};
use support::required;

/// Drops nulls and empty objects (a typed round trip omits them).
fn normalized(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), normalized(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalized).collect()),
        x => x.clone(),
    }
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(o: &Value) {
    let typed: T = serde_json::from_value(o.clone())
        .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{o:#}", o["kind"]));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(
        normalized(&back),
        normalized(o),
        "{} {} loses fields in a typed round trip (a misspelt or misplaced field)",
        o["kind"],
        o["metadata"]["name"]
    );
}

fn rendered(sub: &str) -> Option<Vec<Value>> {
    if !deploy::kubectl_installed() {
        required("kubectl");
        return None;
    }
    Some(deploy::render(sub))
}

fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = objects.iter().filter(|o| o["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind}");
    found[0]
}

#[test]
fn every_object_renders_and_parses_with_k8s_openapi_types() {
    for (sub, extra) in [("", 2), ("base", 0)] {
        let Some(objects) = rendered(sub) else { return };
        let kinds: BTreeSet<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
        let mut want: BTreeSet<&str> = [
            "Namespace",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
            "ConfigMap",
            "Deployment",
            "Service",
        ]
        .into();
        if extra > 0 {
            want.extend(["ServiceMonitor", "PrometheusRule"]);
        }
        assert_eq!(kinds, want, "deploy/{sub}");
        assert_eq!(objects.len(), 9 + extra);
        for o in &objects {
            match o["kind"].as_str().unwrap() {
                "Namespace" => round_trip::<Namespace>(o),
                "ServiceAccount" => round_trip::<ServiceAccount>(o),
                "ClusterRole" => round_trip::<ClusterRole>(o),
                "ClusterRoleBinding" => round_trip::<ClusterRoleBinding>(o),
                "Role" => round_trip::<Role>(o),
                "RoleBinding" => round_trip::<RoleBinding>(o),
                "ConfigMap" => round_trip::<ConfigMap>(o),
                "Deployment" => round_trip::<Deployment>(o),
                "Service" => round_trip::<Service>(o),
                // Prometheus Operator kinds: no k8s-openapi type; checked field by field below.
                "ServiceMonitor" | "PrometheusRule" => {
                    assert_eq!(o["apiVersion"], "monitoring.coreos.com/v1")
                }
                k => panic!("unexpected {k}"),
            }
            if o["kind"] != "Namespace" && !o["kind"].as_str().unwrap().starts_with("Cluster") {
                assert_eq!(o["metadata"]["namespace"], "irsa-doctor", "{}", o["kind"]);
            }
        }
    }
}

/// `$(VAR)` in a container argument, expanded as the kubelet expands it.
fn expand(arg: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = arg.to_string();
    for (k, v) in env {
        out = out.replace(&format!("$({k})"), v);
    }
    out
}

#[test]
fn the_deployment_agrees_with_the_binary_the_service_and_the_rbac() {
    let Some(objects) = rendered("") else { return };
    let d: Deployment = serde_json::from_value(one(&objects, "Deployment").clone()).unwrap();
    let cm: ConfigMap = serde_json::from_value(one(&objects, "ConfigMap").clone()).unwrap();
    let sa: ServiceAccount =
        serde_json::from_value(one(&objects, "ServiceAccount").clone()).unwrap();
    let svc: Service = serde_json::from_value(one(&objects, "Service").clone()).unwrap();
    let spec = d.spec.as_ref().unwrap();
    assert!(
        spec.replicas.unwrap() >= 2,
        "a standby (leader election is on)"
    );
    let pod = spec.template.spec.as_ref().unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("irsa-doctor"));
    let c = &pod.containers[0];
    // The environment, as the kubelet resolves it.
    let data = cm.data.clone().unwrap();
    let cm_name = cm.metadata.name.clone().unwrap();
    let mut env = BTreeMap::new();
    let mut field_refs = BTreeMap::new();
    for e in c.env.iter().flatten() {
        let from = e.value_from.as_ref().unwrap();
        if let Some(k) = &from.config_map_key_ref {
            assert_eq!(k.name, cm_name, "the generated ConfigMap's hashed name");
            env.insert(e.name.clone(), data[&k.key].clone());
        }
        if let Some(f) = &from.field_ref {
            field_refs.insert(e.name.clone(), f.field_path.clone());
        }
    }
    assert_eq!(field_refs["POD_NAME"], "metadata.name");
    assert_eq!(field_refs["POD_NAMESPACE"], "metadata.namespace");
    let args: Vec<String> = c.args.iter().flatten().map(|a| expand(a, &env)).collect();
    assert_eq!(args[0], "controller");
    assert!(
        args.iter().all(|a| !a.contains("$(")),
        "every variable resolves: {args:?}"
    );
    // The binary accepts every argument and value: it stops only at the kubeconfig
    // this test names, which is checked after the flags.
    let o = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"))
        .args(&args)
        .args(["--kubeconfig", "/nonexistent/irsa-doctor-test-kubeconfig"])
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.contains("--kubeconfig") && err.lines().count() == 1,
        "{args:?}: {err}"
    );
    // The ServiceAccount carries the role the ConfigMap names, a valid ARN.
    let role = &sa.metadata.annotations.as_ref().unwrap()["eks.amazonaws.com/role-arn"];
    assert_eq!(role, &data["role-arn"]);
    assert!(irsa_policy::RoleArn::parse(role).is_ok(), "{role}");
    // The Lease the Role lets it renew is the one it is told to use.
    let id = args
        .iter()
        .find_map(|a| a.strip_prefix("--leader-election-id="))
        .unwrap_or("irsa-doctor");
    let role_obj: Role = serde_json::from_value(one(&objects, "Role").clone()).unwrap();
    let renew = role_obj
        .rules
        .iter()
        .flatten()
        .find(|r| r.verbs.contains(&"update".to_string()))
        .unwrap();
    assert_eq!(renew.resource_names.as_deref(), Some(&[id.to_string()][..]));
    // Probes and the Service reach the metrics port, which the binary is told to bind.
    let port = c
        .ports
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some("metrics"))
        .unwrap();
    let bind = args
        .iter()
        .find_map(|a| a.strip_prefix("--metrics-bind-address="))
        .unwrap();
    assert!(bind.ends_with(&format!(":{}", port.container_port)));
    let probe_path = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
        p.as_ref()
            .and_then(|p| p.http_get.as_ref())
            .and_then(|h| h.path.clone())
    };
    assert_eq!(probe_path(&c.liveness_probe).as_deref(), Some("/healthz"));
    assert_eq!(probe_path(&c.readiness_probe).as_deref(), Some("/readyz"));
    let sp = &svc.spec.as_ref().unwrap();
    assert_eq!(
        sp.selector.as_ref().unwrap(),
        spec.template
            .metadata
            .as_ref()
            .unwrap()
            .labels
            .as_ref()
            .unwrap()
    );
    let sport = &sp.ports.as_ref().unwrap()[0];
    assert_eq!(sport.name.as_deref(), Some("metrics"));
    let sm = one(&objects, "ServiceMonitor");
    assert_eq!(sm["spec"]["endpoints"][0]["port"], "metrics");
    assert_eq!(sm["spec"]["endpoints"][0]["path"], "/metrics");
    for (k, v) in sm["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(
            svc.metadata.labels.as_ref().unwrap()[k],
            v.as_str().unwrap()
        );
    }
    // Non-root, read-only, as the Dockerfile's user.
    let psc = pod.security_context.as_ref().unwrap();
    assert_eq!(psc.run_as_non_root, Some(true));
    let dockerfile = std::fs::read_to_string(deploy::dir("Dockerfile")).unwrap();
    let user = psc.run_as_user.unwrap().to_string();
    assert!(
        dockerfile
            .lines()
            .any(|l| l.starts_with("USER ") && l[5..].starts_with(&user)),
        "the image runs as {user}"
    );
    assert!(dockerfile.contains("CMD [\"controller\"]"));
    let csc = c.security_context.as_ref().unwrap();
    assert_eq!(csc.read_only_root_filesystem, Some(true));
    assert_eq!(csc.allow_privilege_escalation, Some(false));
}

#[test]
fn rbac_writes_only_events_policy_reports_and_its_lease() {
    let Some(objects) = rendered("") else { return };
    let grants = deploy::grants(&objects);
    let writes = [
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
        "*",
    ];
    let mut written = BTreeSet::new();
    let mut read = BTreeSet::new();
    for g in &grants {
        match g {
            Grant::Resource {
                group,
                resource,
                verb,
                namespace,
                ..
            } => {
                assert_ne!(resource, "*");
                assert_ne!(group, "*");
                assert_ne!(resource, "secrets", "never Secrets");
                if resource == "leases" {
                    assert_eq!(namespace.as_deref(), Some("irsa-doctor"), "its own Lease");
                }
                if writes.contains(&verb.as_str()) {
                    written.insert((group.as_str(), resource.as_str(), verb.as_str()));
                } else if resource != "leases" {
                    assert!(["list", "watch"].contains(&verb.as_str()), "{verb}");
                    read.insert((group.to_string(), resource.to_string()));
                }
            }
            Grant::Url { path, verb } => {
                assert_eq!((path.as_str(), verb.as_str()), ("/version", "get"))
            }
        }
    }
    assert_eq!(
        written,
        [
            ("coordination.k8s.io", "leases", "create"),
            ("coordination.k8s.io", "leases", "update"),
            ("events.k8s.io", "events", "create"),
            ("events.k8s.io", "events", "patch"),
            ("wgpolicyk8s.io", "clusterpolicyreports", "create"),
            ("wgpolicyk8s.io", "clusterpolicyreports", "patch"),
            ("wgpolicyk8s.io", "policyreports", "create"),
            ("wgpolicyk8s.io", "policyreports", "patch"),
        ]
        .into()
    );
    // Reads: what `collect` lists, the namespaces, and the Events it published.
    let mut want: BTreeSet<(String, String)> = irsa_collect::KUBERNETES_RESOURCES
        .iter()
        .map(|(g, r)| (g.to_string(), r.to_string()))
        .collect();
    want.insert((String::new(), "namespaces".into()));
    want.insert(("events.k8s.io".into(), "events".into()));
    assert_eq!(read, want);
}

#[test]
fn the_iam_policy_grants_exactly_the_read_only_calls() {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(deploy::dir("iam-policy.json")).unwrap())
            .unwrap();
    let granted: BTreeSet<&str> = v["Statement"][0]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        granted,
        irsa_collect::AWS_ACTIONS
            .into_iter()
            .chain(irsa_collect::CONTROLLER_AWS_ACTIONS)
            .collect()
    );
    assert_eq!(v["Statement"].as_array().unwrap().len(), 1);
    assert_eq!(v["Statement"][0]["Effect"], "Allow");
}

/// Every `irsa_doctor_*` name the controller exports, as Prometheus stores it.
fn exported() -> BTreeSet<String> {
    use irsa_controller::metrics::*;
    // A family shows in the text once it has a series: one each.
    let m = Metrics::new();
    let s = || String::from("x");
    let _ = m.findings.get_or_create(&FindingLabels {
        severity: s(),
        cause: s(),
        namespace: s(),
    });
    let chain = ChainLabels {
        namespace: s(),
        serviceaccount: s(),
        role: s(),
    };
    let _ = m.chain_ok.get_or_create(&chain);
    let _ = m.chain_not_checked.get_or_create(&chain);
    let _ = m
        .collection_gaps
        .get_or_create(&NamespaceLabels { namespace: s() });
    let _ = m.aws_calls.get_or_create(&ServiceLabels { service: s() });
    let _ = m.kube_requests.get_or_create(&RequestLabels {
        verb: s(),
        resource: s(),
        code: s(),
    });
    let _ = m.watch_events.get_or_create(&WatchLabels {
        resource: s(),
        event: s(),
    });
    let _ = m
        .evaluation_duration
        .get_or_create(&ScopeLabels { scope: s() });
    let _ = m.write_refusals.get_or_create(&RefusalLabels {
        resource: s(),
        reason: s(),
    });
    let _ = m
        .events_published
        .get_or_create(&ReasonLabels { reason: s() });
    let text = m.encode();
    let mut out = BTreeSet::new();
    for l in text.lines() {
        let Some(rest) = l.strip_prefix("# TYPE ") else {
            continue;
        };
        let (name, kind) = rest.split_once(' ').unwrap();
        match kind {
            "counter" => {
                out.insert(format!("{name}_total"));
            }
            "histogram" => {
                for s in ["_bucket", "_sum", "_count"] {
                    out.insert(format!("{name}{s}"));
                }
            }
            _ => {
                out.insert(name.to_string());
            }
        }
    }
    out
}

fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = expr;
    while let Some(i) = rest.find("irsa_doctor_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

#[test]
fn alerts_and_the_dashboard_query_only_exported_metrics() {
    let exported = exported();
    assert!(exported.contains("irsa_doctor_chain_ok"), "{exported:?}");
    assert!(exported.contains("irsa_doctor_aws_calls_total"));
    let Some(objects) = rendered("") else { return };
    let rules = one(&objects, "PrometheusRule");
    let mut alerts = 0;
    let mut used = BTreeSet::new();
    for g in rules["spec"]["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            let expr = r["expr"].as_str().unwrap();
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{expr}");
            for n in &names {
                assert!(
                    exported.contains(n),
                    "alert {}: {n} is not exported",
                    r["alert"]
                );
            }
            used.extend(names);
            assert!(r["labels"]["severity"].is_string());
            assert!(r["annotations"]["summary"].is_string());
            alerts += 1;
        }
    }
    assert!(alerts >= 5);
    assert!(used.contains("irsa_doctor_chain_ok"));
    let dash: Value = serde_json::from_str(
        &std::fs::read_to_string(deploy::dir("grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    let mut targets = 0;
    for p in dash["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            let expr = t["expr"].as_str().unwrap();
            for n in metric_names(expr) {
                assert!(
                    exported.contains(&n),
                    "panel {}: {n} is not exported",
                    p["title"]
                );
            }
            targets += 1;
        }
        assert_eq!(p["datasource"]["uid"], "${datasource}");
    }
    assert!(targets >= 10);
    assert_eq!(dash["uid"], "irsa-doctor");
}
