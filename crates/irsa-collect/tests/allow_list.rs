//! The redaction allow-list keeps everything the diagnosis reads: every example
//! snapshot, with each Kubernetes object redacted as `collect` writes it, gives the
//! very same report (findings, passes, verdicts) as the original.

use irsa_model::{ContextFlags, Loader, Snapshot};
use irsa_rules::{check, Options, Scope};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// Redacts every Kubernetes object in a document (lists, envelopes, single objects).
fn redact_all(v: &mut Value) {
    if let Some(o) = v.get_mut("output") {
        redact_all(o);
        return;
    }
    if let Some(items) = v.get_mut("items").and_then(Value::as_array_mut) {
        for it in items {
            redact_all(it);
        }
        return;
    }
    if v.get("metadata").is_some() {
        irsa_collect::redact::redact_object(v);
    }
}

fn load(dir: &Path, redact: bool) -> Snapshot {
    let mut paths = Vec::new();
    files(dir, &mut paths);
    paths.sort();
    let mut l = Loader::new(ContextFlags::default());
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        let text = match serde_json::from_str::<Value>(&text) {
            Ok(mut v) if redact => {
                redact_all(&mut v);
                v.to_string()
            }
            _ => text,
        };
        l.add_text(&p.display().to_string(), &text);
    }
    l.finish()
}

fn report(snap: &Snapshot) -> Value {
    let r = check(snap, &Scope::default(), &Options::default());
    let f = |x: &dyn erased::Ser| x.json();
    serde_json::json!({
        "findings": r.findings.iter().map(|x| f(x)).collect::<Vec<_>>(),
        "passes": r.passes.iter().map(|x| f(x)).collect::<Vec<_>>(),
        "chains": r.chains.iter().map(|x| f(x)).collect::<Vec<_>>(),
    })
}

mod erased {
    pub trait Ser {
        fn json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap()
        }
    }
}

#[test]
fn redacted_examples_give_the_same_report() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut checked = 0;
    for example in ["healthy", "many-problems", "lbc-webidentityerr"] {
        let dir = root.join(example);
        let full = report(&load(&dir, false));
        let redacted = report(&load(&dir, true));
        assert_eq!(
            full["findings"].as_array().unwrap().len(),
            redacted["findings"].as_array().unwrap().len(),
            "{example}: findings differ"
        );
        assert_eq!(
            full, redacted,
            "{example}: the allow-list dropped something a rule reads"
        );
        checked +=
            full["findings"].as_array().unwrap().len() + full["passes"].as_array().unwrap().len();
    }
    assert!(
        checked > 50,
        "the examples exercise the rules ({checked} results)"
    );
}

#[test]
fn the_loader_sees_the_same_objects() {
    // Beyond the examples' findings: every model object the loader builds from a
    // redacted object equals the one from the original (env values aside).
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for example in ["healthy", "many-problems", "lbc-webidentityerr"] {
        let dir = root.join(example);
        let strip = |s: &Snapshot| -> Value {
            let mut v = serde_json::json!({
                "service_accounts": s.service_accounts.values().map(|x| serde_json::to_value(x).unwrap()).collect::<Vec<_>>(),
                "pods": serde_json::to_value(&s.pods).unwrap(),
                "workloads": serde_json::to_value(&s.workloads).unwrap(),
                "webhooks": serde_json::to_value(&s.webhook_configurations).unwrap(),
            });
            blank_env_values(&mut v);
            v
        };
        assert_eq!(
            strip(&load(&dir, false)),
            strip(&load(&dir, true)),
            "{example}"
        );
    }
}

/// Env values are the one thing redaction changes on purpose.
fn blank_env_values(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if o.contains_key("name") && o.contains_key("value") && o.len() <= 3 {
                o.insert("value".into(), Value::Null);
            }
            for (_, x) in o.iter_mut() {
                blank_env_values(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(blank_env_values),
        _ => {}
    }
}
