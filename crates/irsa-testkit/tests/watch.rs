//! The test API server's watch and write semantics, checked with the real `kubectl`:
//! `kubectl get -w` sees every change made through the server, `kubectl annotate` /
//! `kubectl delete` change it over HTTP, a watch resumes from a resourceVersion and
//! gets `410 Expired` once that version is compacted away, bookmarks arrive when asked
//! for, writes are refused with 405 unless the resource is writable and with 403 when
//! a verb is forbidden.

use irsa_testkit::{KubeConfig, KubeServer};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn kubectl_present() -> bool {
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("kubectl is required under CI (.ci/run installs it)");
    }
    eprintln!("skipping: kubectl is not installed");
    false
}

fn sa(ns: &str, name: &str, role: Option<&str>) -> Value {
    let mut o = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}});
    if let Some(r) = role {
        o["metadata"]["annotations"] = json!({"eks.amazonaws.com/role-arn": r});
    }
    o
}

fn server(writable: &[&str], forbidden: &[&str]) -> KubeServer {
    KubeServer::start(KubeConfig {
        objects: vec![
            sa("team-a", "api", Some("arn:aws:iam::111122223333:role/api")),
            sa("team-a", "default", None),
        ],
        writable: writable.iter().map(|s| s.to_string()).collect(),
        forbidden: forbidden.iter().map(|s| s.to_string()).collect(),
        page_size: Some(1),
        ..KubeConfig::default()
    })
}

fn kubectl(k: &KubeServer, args: &[&str]) -> std::process::Output {
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&k.kubeconfig)
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl runs")
}

/// Lines of a running `kubectl get -w`, read on a thread.
struct Watching {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Watching {
    fn start(k: &KubeServer, args: &[&str]) -> Watching {
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&k.kubeconfig)
            .args(args)
            .env_remove("KUBECONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("kubectl runs");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watching { child, lines }
    }

    /// Waits (up to 20 s) for a line containing every needle; returns the lines seen.
    fn until(&self, needles: &[&str]) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                let hit = needles.iter().all(|n| line.contains(n));
                seen.push(line);
                if hit {
                    return seen;
                }
            }
        }
        panic!(
            "no line with {needles:?} within 20 s; saw:\n{}",
            seen.join("\n")
        );
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn kubectl_get_watch_sees_changes_made_through_the_server_and_over_http() {
    if !kubectl_present() {
        return;
    }
    let k = server(&["serviceaccounts"], &[]);
    let w = Watching::start(
        &k,
        &[
            "get",
            "serviceaccounts",
            "-A",
            "-w",
            "--output-watch-events",
            "-o",
            "json",
        ],
    );
    // The initial list (paginated one item per page) arrives as ADDED events.
    w.until(&["ADDED", "\"api\""]);
    // A change made by the test through the store.
    k.store().put(sa(
        "team-b",
        "worker",
        Some("arn:aws:iam::111122223333:role/worker"),
    ));
    w.until(&["ADDED", "\"worker\""]);
    // A change made over HTTP by kubectl itself: the annotation dropped.
    let o = kubectl(
        &k,
        &[
            "annotate",
            "serviceaccount",
            "api",
            "-n",
            "team-a",
            "eks.amazonaws.com/role-arn-",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let seen = w.until(&["MODIFIED", "\"api\""]);
    let last: Value = serde_json::from_str(seen.last().unwrap()).unwrap();
    assert!(last["object"]["metadata"]["annotations"]
        .get("eks.amazonaws.com/role-arn")
        .is_none());
    let o = kubectl(
        &k,
        &[
            "delete",
            "serviceaccount",
            "worker",
            "-n",
            "team-b",
            "--wait=false",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    w.until(&["DELETED", "\"worker\""]);
}

#[test]
fn a_watch_resumes_from_a_resource_version_and_expires_after_compaction() {
    if !kubectl_present() {
        return;
    }
    let k = server(&[], &[]);
    let start = k.store().resource_version();
    k.store().merge(
        "serviceaccounts",
        "team-a",
        "default",
        &json!({"metadata": {"labels": {"team": "a"}}}),
    );
    k.store().remove("serviceaccounts", "team-a", "api");
    let raw = |rv: u64, extra: &str| {
        let o = kubectl(
            &k,
            &[
                "get",
                "--raw",
                &format!("/api/v1/namespaces/team-a/serviceaccounts?watch=true&resourceVersion={rv}&timeoutSeconds=2{extra}"),
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect::<Vec<Value>>()
    };
    // Resuming replays exactly the changes after the version, in order.
    let events = raw(start, "");
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["MODIFIED", "DELETED"], "{events:?}");
    assert_eq!(events[0]["object"]["metadata"]["labels"]["team"], "a");
    assert_eq!(events[0]["object"]["kind"], "ServiceAccount");
    let rvs: Vec<u64> = events
        .iter()
        .map(|e| {
            e["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(rvs[0] > start && rvs[1] > rvs[0], "{rvs:?}");
    // Bookmarks carry the current version when asked for.
    let events = raw(rvs[1], "&allowWatchBookmarks=true");
    assert!(
        events.iter().any(|e| e["type"] == "BOOKMARK"
            && e["object"]["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|v| v.parse::<u64>().ok())
                == Some(rvs[1])),
        "{events:?}"
    );
    // After compaction, the old version is gone: 410 Expired, as etcd answers.
    k.store().compact();
    let events = raw(start, "");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "ERROR");
    assert_eq!(events[0]["object"]["code"], 410);
    assert_eq!(events[0]["object"]["reason"], "Expired");
    // A list gives the version to resume from.
    let o = kubectl(
        &k,
        &["get", "--raw", "/api/v1/namespaces/team-a/serviceaccounts"],
    );
    let list: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        list["metadata"]["resourceVersion"],
        k.store().resource_version().to_string()
    );
}

#[test]
fn writes_are_refused_unless_writable_and_forbidden_verbs_get_403() {
    if !kubectl_present() {
        return;
    }
    let k = server(&["configmaps"], &["create:configmaps@team-b"]);
    // Pages of one item (the server's page size) add up to the whole list.
    k.store().put(sa("team-b", "worker", None));
    let o = kubectl(
        &k,
        &[
            "get",
            "serviceaccounts",
            "-A",
            "-o",
            "name",
            "--chunk-size=2",
        ],
    );
    let names = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(names.lines().count(), 3, "{names}");
    let o = kubectl(
        &k,
        &["annotate", "serviceaccount", "api", "-n", "team-a", "x=y"],
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("MethodNotAllowed")
            || String::from_utf8_lossy(&o.stderr).contains("read-only"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = kubectl(
        &k,
        &[
            "create",
            "configmap",
            "c",
            "-n",
            "team-a",
            "--from-literal=a=b",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = kubectl(
        &k,
        &[
            "create",
            "configmap",
            "c",
            "-n",
            "team-a",
            "--from-literal=a=b",
        ],
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = kubectl(
        &k,
        &[
            "create",
            "configmap",
            "c",
            "-n",
            "team-b",
            "--from-literal=a=b",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "cannot create resource \"configmaps\" in API group \"\" in the namespace \"team-b\""
        ),
        "{err}"
    );
    let o = kubectl(
        &k,
        &[
            "create",
            "configmap",
            "c",
            "-n",
            "nowhere",
            "--from-literal=a=b",
        ],
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("namespaces \"nowhere\" not found"));
    assert_eq!(
        k.store().get("configmaps", "team-a", "c").unwrap()["data"]["a"],
        "b"
    );
}

#[test]
fn replace_checks_the_resource_version_and_apply_creates_or_merges() {
    let k = server(&["*"], &[]);
    let lease = |holder: &str, rv: Option<&str>| {
        let mut l = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "irsa-doctor", "namespace": "default"}, "spec": {"holderIdentity": holder}});
        if let Some(rv) = rv {
            l["metadata"]["resourceVersion"] = json!(rv);
        }
        l
    };
    let kind = irsa_testkit::kube_api::kind_of("leases").unwrap();
    let created = k
        .store()
        .create(kind, Some("default"), &lease("a", None))
        .unwrap();
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(k
        .store()
        .create(kind, Some("default"), &lease("b", None))
        .is_err());
    let updated = k
        .store()
        .replace(kind, "default", "irsa-doctor", &lease("b", Some(&rv)))
        .unwrap();
    assert_eq!(updated["spec"]["holderIdentity"], "b");
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
    // The same stale version again: 409 Conflict.
    let (code, body) = k
        .store()
        .replace(kind, "default", "irsa-doctor", &lease("c", Some(&rv)))
        .unwrap_err();
    assert_eq!((code, body["reason"].as_str()), (409, Some("Conflict")));
    let reports = irsa_testkit::kube_api::kind_of("configmaps").unwrap();
    let apply = irsa_testkit::kube_api::PatchType::Apply;
    let body =
        br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"r"},"data":{"a":"1"}}"#;
    let first = k
        .store()
        .patch(reports, "team-a", "r", apply, body)
        .unwrap();
    let body =
        br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"r"},"data":{"b":"2"}}"#;
    let second = k
        .store()
        .patch(reports, "team-a", "r", apply, body)
        .unwrap();
    assert_eq!(second["metadata"]["uid"], first["metadata"]["uid"]);
    assert_eq!(second["data"], json!({"a": "1", "b": "2"}));
}
