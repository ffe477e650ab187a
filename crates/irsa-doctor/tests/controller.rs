//! `irsa-doctor controller` end to end against the test world: the Kubernetes test API
//! server (watch streams, Events, Leases, PolicyReports) and moto (the AWS side,
//! seeded through the AWS API). The real binary runs as a separate process, as in a
//! pod; the tests read its `/metrics`, `/readyz` and JSON logs, and the objects it
//! wrote through the server.
//!
//! Waits are bounded polls (never fixed sleeps); each bound is what the behaviour
//! promises (one refresh interval, one second), with the debug build's headroom named.

mod support;

use irsa_testkit::{
    objects_from_snapshot, EksPodIdentity, KubeConfig, KubeServer, Moto, PodIdentityConfig,
};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{required, with_moto_env};

/// The example with many problems, a generated healthy cluster, or the example of
/// IRSA and EKS Pod Identity side by side.
#[derive(Clone, Copy, PartialEq)]
enum Example {
    ManyProblems,
    Healthy,
    PodIdentity,
}

impl Example {
    fn account(self) -> &'static str {
        match self {
            Example::ManyProblems | Example::PodIdentity => "111122223333",
            Example::Healthy => "391252439823",
        }
    }
    fn cluster(self) -> &'static str {
        match self {
            Example::ManyProblems | Example::PodIdentity => "shop-use1",
            Example::Healthy => "orders-use2",
        }
    }
    fn region(self) -> &'static str {
        match self {
            Example::ManyProblems | Example::PodIdentity => "us-east-1",
            Example::Healthy => "us-east-2",
        }
    }
}

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

struct World {
    kube: KubeServer,
    moto: Moto,
    /// The EKS Pod Identity APIs moto lacks.
    eks: Option<EksPodIdentity>,
    example: Example,
    /// IAM users' access keys by the one action their policy lacks ("*": none lacking),
    /// when seeded with a policy.
    users: Value,
    /// The cluster's issuer in moto.
    issuer: String,
    _dir: Option<tempfile::TempDir>,
}

fn world(example_kind: Example, forbidden: &[&str]) -> Option<World> {
    world_with(example_kind, forbidden, None)
}

/// A world whose moto also holds one IAM user per action of `policy` (each lacking
/// that one action) and one with all of them.
fn world_with(
    example_kind: Example,
    forbidden: &[&str],
    policy: Option<&std::path::Path>,
) -> Option<World> {
    // The Pod Identity example's node role attaches AmazonEKSWorkerNodePolicy: moto
    // must hold the AWS managed policies.
    let started = if matches!(example_kind, Example::PodIdentity) {
        Moto::start_with_aws_managed_policies(example_kind.account())
    } else {
        Moto::start(example_kind.account())
    };
    let Some(moto) = started else {
        required("moto (pip install 'moto[server]')");
        return None;
    };
    let (dir, tmp) = match example_kind {
        Example::ManyProblems => (example("many-problems"), None),
        Example::PodIdentity => (example("pod-identity-mixed"), None),
        Example::Healthy => {
            // 6 ServiceAccounts in 6 namespaces, 12 pods, 3 roles (one trusting a
            // namespace wildcard), all healthy.
            let tmp = tempfile::tempdir().unwrap();
            irsa_testkit::scale::generate(tmp.path(), 6, 12, 3);
            (tmp.path().to_path_buf(), Some(tmp))
        }
    };
    let seed = Command::new("python3")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/seed_moto.py"))
        .args([
            &moto.endpoint,
            dir.to_str().unwrap(),
            example_kind.cluster(),
            example_kind.region(),
        ])
        .args(policy)
        .output()
        .expect("python3 runs");
    assert!(
        seed.status.success(),
        "seeding moto failed: {}",
        String::from_utf8_lossy(&seed.stderr)
    );
    let mut objects = objects_from_snapshot(&dir);
    // A secret in a pod's environment: it must never reach a log.
    for o in objects.iter_mut().filter(|o| o["kind"] == "Pod").take(1) {
        o["spec"]["containers"][0]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "DB_PASSWORD", "value": "hunter2-pod-secret-7f3a"}));
    }
    let kube = KubeServer::start(KubeConfig {
        objects,
        forbidden: forbidden.iter().map(|s| s.to_string()).collect(),
        writable: [
            "events",
            "leases",
            "policyreports",
            "clusterpolicyreports",
            "serviceaccounts",
            "pods",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        policy_reports: true,
        ..KubeConfig::default()
    });
    let eks = (example_kind == Example::PodIdentity)
        .then(|| EksPodIdentity::start(PodIdentityConfig::from_snapshot(&dir, &moto.endpoint)));
    let seeded: Value = serde_json::from_slice(&seed.stdout).unwrap_or(Value::Null);
    Some(World {
        kube,
        moto,
        eks,
        example: example_kind,
        users: seeded["users"].clone(),
        issuer: seeded["issuer"].as_str().unwrap_or_default().to_string(),
        _dir: tmp,
    })
}

/// A running controller process.
struct Controller {
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
    addr: String,
}

const SECRET_KEY: &str = "irsaDoctorTestSecretKey0123456789abcdefXYZ";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEIrsaDoctorTestSessionToken";

fn start(w: &World, extra: &[&str], env: &[(&str, &str)]) -> Controller {
    // The benchmark may measure a release build of the binary while the tests
    // themselves stay a debug build (IRSA_DOCTOR_BENCH_BIN=target/release/irsa-doctor).
    let bin = std::env::var_os("IRSA_DOCTOR_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_irsa-doctor")));
    let mut c = Command::new(bin);
    c.args([
        "controller",
        "--cluster",
        w.example.cluster(),
        "--region",
        w.example.region(),
        "--metrics-bind-address",
        "127.0.0.1:0",
    ])
    .args(extra)
    .arg("--kubeconfig")
    .arg(&w.kube.kubeconfig);
    with_moto_env(&mut c, &w.moto);
    for (k, v) in w.eks.iter().flat_map(|e| e.env()) {
        c.env(k, v);
    }
    c.env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .env("POD_NAMESPACE", "default")
        .env("POD_NAME", "irsa-doctor-test-0");
    for (k, v) in env {
        c.env(k, v);
    }
    // An IAM user's own keys carry no session token.
    if env.iter().any(|(k, _)| *k == "AWS_ACCESS_KEY_ID") {
        c.env_remove("AWS_SESSION_TOKEN");
    }
    let mut child = c
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let err = child.stderr.take().unwrap();
    let sink = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let addr = logs.lock().unwrap().iter().find_map(|l| {
            let v: Value = serde_json::from_str(l).ok()?;
            (v["message"].as_str()? == "serving /metrics, /healthz, /readyz")
                .then(|| v["address"].as_str().map(String::from))?
        });
        if let Some(addr) = addr {
            return Controller { child, logs, addr };
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the controller exited ({status}):\n{}",
                logs.lock().unwrap().join("\n")
            );
        }
        assert!(
            Instant::now() < deadline,
            "no address logged:\n{}",
            logs.lock().unwrap().join("\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Controller {
    fn get(&self, path: &str) -> (u16, String) {
        let Ok(mut s) = std::net::TcpStream::connect(&self.addr) else {
            return (0, String::new());
        };
        let _ = write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        );
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        let code = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (code, body)
    }

    fn metrics(&self) -> String {
        self.get("/metrics").1
    }

    /// Waits (bounded) until `/readyz` answers 200.
    fn wait_ready(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while self.get("/readyz").0 != 200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the controller exited ({status}):\n{}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "not ready within {within:?}:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Stops it as Kubernetes does (SIGTERM), and waits.
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.wait();
        // The reader thread drains what is left.
        std::thread::sleep(Duration::from_millis(100));
        self.logs()
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of one series (labels given as `name="value"` pairs, in any order).
fn series(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let (head, value) = l.rsplit_once(' ')?;
        let (n, rest) = head.split_once('{').unwrap_or((head, ""));
        if n != name {
            return None;
        }
        labels
            .iter()
            .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
            .then(|| value.parse().ok())?
    })
}

fn poll<T>(
    within: Duration,
    what: &str,
    c: &Controller,
    mut f: impl FnMut() -> Option<T>,
) -> (T, Duration) {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return (v, started.elapsed());
        }
        assert!(
            started.elapsed() < within,
            "{what}: not within {within:?}\n{}",
            c.logs()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn events(w: &World, ns: &str) -> Vec<Value> {
    w.kube.store().list_all("events", Some(ns))
}

fn report(w: &World, ns: &str) -> Option<Value> {
    w.kube.store().get("policyreports", ns, "irsa-doctor")
}

fn results_about<'a>(report: &'a Value, kind: &str, name: &str) -> Vec<&'a Value> {
    report["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            r["resources"]
                .as_array()
                .is_some_and(|rs| rs.iter().any(|x| x["kind"] == kind && x["name"] == name))
        })
        .collect()
}

fn kubectl(w: &World, args: &[&str]) -> std::process::Output {
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&w.kube.kubeconfig)
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl runs")
}

#[test]
fn metrics_events_and_policy_reports_say_what_check_says() {
    let Some(w) = world(Example::ManyProblems, &[]) else {
        return;
    };
    // At the highest verbosity: no secret even in debug logs.
    let mut c = start(&w, &["--refresh-interval", "1m", "-vv"], &[]);
    c.wait_ready(Duration::from_secs(120));
    let m = c.metrics();
    // Every chain of the example is broken somewhere: STS refuses (trust policy,
    // audience, ARN), or the pods never use the role (environment preset, static
    // keys first, the workload runs as `default`).
    for (ns, sa) in [
        ("payments", "api"),
        ("ml", "trainer"),
        ("reports", "exporter"),
        ("team-a", "web"),
        ("legacy", "app"),
        ("web", "frontend"),
        ("analytics", "spark"),
    ] {
        assert_eq!(
            series(
                &m,
                "irsa_doctor_chain_ok",
                &[("namespace", ns), ("serviceaccount", sa)]
            ),
            Some(0.0),
            "{ns}/{sa}\n{m}"
        );
    }
    // A role in another account cannot be read with these credentials: no verdict.
    assert_eq!(
        series(
            &m,
            "irsa_doctor_chain_not_checked",
            &[("namespace", "batch"), ("serviceaccount", "etl")]
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        series(
            &m,
            "irsa_doctor_chain_ok",
            &[("namespace", "batch"), ("serviceaccount", "etl")]
        ),
        None
    );
    assert!(
        series(
            &m,
            "irsa_doctor_findings",
            &[
                ("severity", "error"),
                ("cause", "trust-sub"),
                ("namespace", "payments")
            ]
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{m}"
    );
    assert!(
        series(&m, "irsa_doctor_aws_calls_total", &[("service", "iam")]).unwrap_or(0.0) > 0.0,
        "{m}"
    );
    assert!(
        series(&m, "irsa_doctor_last_refresh_timestamp_seconds", &[]).unwrap_or(0.0) > 1.6e9,
        "{m}"
    );
    assert_eq!(series(&m, "irsa_doctor_leader", &[]), Some(1.0));
    // A PolicyReport per namespace, results naming the rule and the resource.
    let r = report(&w, "payments").expect("a PolicyReport in payments");
    assert_eq!(r["apiVersion"], "wgpolicyk8s.io/v1alpha2");
    let api = results_about(&r, "ServiceAccount", "api");
    assert!(
        api.iter().any(|x| x["result"] == "fail"
            && x["severity"] == "high"
            && x["policy"] == "trust-sub"
            && x["rule"] == "IRSA203"),
        "{api:#?}"
    );
    assert!(r["summary"]["fail"].as_u64().unwrap() >= 1);
    assert!(w
        .kube
        .store()
        .get("clusterpolicyreports", "", "irsa-doctor")
        .is_some());
    // Events: a Warning with the cause as reason, on the ServiceAccount.
    let ev = events(&w, "payments");
    assert!(
        ev.iter().any(|e| e["type"] == "Warning"
            && e["reason"] == "TrustSub"
            && e["regarding"]["kind"] == "ServiceAccount"
            && e["regarding"]["name"] == "api"
            && e["reportingController"] == "irsa-doctor"),
        "{ev:#?}"
    );
    // No secret anywhere in the logs.
    let logs = c.stop();
    for secret in [
        "hunter2-pod-secret-7f3a",
        SECRET_KEY,
        SESSION_TOKEN,
        irsa_testkit::TOKEN,
    ] {
        assert!(!logs.contains(secret), "{secret} logged");
    }
    // Every line is a JSON object.
    for l in logs.lines() {
        assert!(
            serde_json::from_str::<Value>(l).is_ok_and(|v| v.is_object()),
            "not JSON: {l}"
        );
    }
}

/// Every series of one metric family: labels (sorted `k=v` pairs) → value.
fn family(metrics: &str, name: &str) -> std::collections::BTreeMap<String, f64> {
    metrics
        .lines()
        .filter_map(|l| {
            let (head, value) = l.rsplit_once(' ')?;
            let (n, rest) = head.split_once('{').unwrap_or((head, "}"));
            if n != name {
                return None;
            }
            let mut labels: Vec<&str> = rest.trim_end_matches('}').split(',').collect();
            labels.sort();
            Some((labels.join(","), value.parse().ok()?))
        })
        .collect()
}

/// The controller says what `check` says on the same cluster and account, EKS Pod
/// Identity included (associations listed and described, the agent's DaemonSet, pods
/// and add-on, the nodes) and the roles' permission policies: every chain's verdict,
/// and the findings by severity, cause and namespace.
#[test]
fn pod_identity_and_role_permissions_say_what_check_says() {
    let Some(w) = world(Example::PodIdentity, &[]) else {
        return;
    };
    let mut check = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"));
    check
        .args([
            "check",
            "--cluster",
            w.example.cluster(),
            "--region",
            w.example.region(),
            "-o",
            "json",
        ])
        .arg("--kubeconfig")
        .arg(&w.kube.kubeconfig);
    with_moto_env(&mut check, &w.moto);
    for (k, v) in w.eks.iter().flat_map(|e| e.env()) {
        check.env(k, v);
    }
    let checked = support::json_of(&check.output().expect("binary runs"));
    let mut c = start(&w, &["--refresh-interval", "1m"], &[]);
    c.wait_ready(Duration::from_secs(120));
    let m = c.metrics();
    let ok = family(&m, "irsa_doctor_chain_ok");
    let not_checked = family(&m, "irsa_doctor_chain_not_checked");
    let chains = checked["chains"].as_array().unwrap();
    assert!(
        chains.iter().any(|c| c["mechanism"] == "pod-identity"),
        "{checked:#}"
    );
    for chain in chains {
        let ns = chain["subject"]["namespace"].as_str().unwrap();
        let sa = chain["subject"]["name"].as_str().unwrap();
        let labels = format!(
            "namespace=\"{ns}\",role=\"{}\",serviceaccount=\"{sa}\"",
            chain["role_arn"].as_str().unwrap_or_default()
        );
        let want = match chain["verdict"]["status"].as_str().unwrap() {
            "fails" => (Some(0.0), None),
            "not-checked" => (None, Some(1.0)),
            _ => (Some(1.0), None),
        };
        assert_eq!(
            (ok.get(&labels).copied(), not_checked.get(&labels).copied()),
            want,
            "{ns}/{sa}: check says {:#}\n{m}",
            chain["verdict"]
        );
    }
    assert_eq!(
        ok.len() + not_checked.len(),
        chains.len(),
        "one series per chain\n{m}"
    );
    let mut want: std::collections::BTreeMap<String, f64> = Default::default();
    for f in checked["findings"].as_array().unwrap() {
        let key = format!(
            "cause=\"{}\",namespace=\"{}\",severity=\"{}\"",
            f["cause"].as_str().unwrap(),
            f["subject"]["namespace"].as_str().unwrap_or_default(),
            f["severity"].as_str().unwrap()
        );
        *want.entry(key).or_default() += 1.0;
    }
    assert_eq!(family(&m, "irsa_doctor_findings"), want, "{m}");
}

/// With `iam:GetAccountAuthorizationDetails` (deploy/iam-policy.json) the roles and
/// their customer managed policies are read in one call; without it (the policy of
/// `check`, docs/iam-policy.json) one by one, said once in the log; the verdicts are
/// the same either way.
#[test]
fn roles_are_read_in_one_call_when_permitted_and_one_by_one_when_refused() {
    let policy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/iam-policy.json");
    let Some(w) = world_with(Example::Healthy, &[], Some(&policy)) else {
        return;
    };
    w.moto.enforce_iam_auth();
    let key = |lacking: &str| -> (String, String) {
        let k = &w.users[lacking];
        (
            k[0].as_str().unwrap().to_string(),
            k[1].as_str().unwrap().to_string(),
        )
    };
    let run = |lacking: &str| -> (String, String) {
        let (id, secret) = key(lacking);
        // With auth enforced, moto rejects the signature of every EKS request
        // (SignatureDoesNotMatch, boto3 alike): the issuer comes from its flag.
        let mut c = start(
            &w,
            &["--refresh-interval", "1m", "--issuer", &w.issuer],
            &[
                ("AWS_ACCESS_KEY_ID", id.as_str()),
                ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
            ],
        );
        c.wait_ready(Duration::from_secs(120));
        let m = c.metrics();
        (m, c.stop())
    };
    let chains = |m: &str| {
        let ok = family(m, "irsa_doctor_chain_ok");
        assert_eq!(ok.len(), 6, "{m}");
        assert!(ok.values().all(|v| *v == 1.0), "{m}");
        ok
    };
    let iam = |m: &str| series(m, "irsa_doctor_aws_calls_total", &[("service", "iam")]).unwrap();
    // 3 roles, each with one customer managed policy.
    let (all, logs) = run("*");
    assert!(
        !logs.contains("GetAccountAuthorizationDetails is refused"),
        "{logs}"
    );
    // The OIDC providers (list, the issuer's) and one GetAccountAuthorizationDetails.
    assert_eq!(iam(&all), 3.0, "{all}");
    let (refused, logs) = run("iam:GetAccountAuthorizationDetails");
    assert_eq!(
        logs.matches("iam:GetAccountAuthorizationDetails is refused")
            .count(),
        1,
        "{logs}"
    );
    // The providers, the refused call, then per role GetRole, its two policy lists,
    // and its policy's GetPolicy + GetPolicyVersion.
    assert_eq!(iam(&refused), 3.0 + 3.0 * 5.0, "{refused}");
    assert_eq!(chains(&all), chains(&refused));
}

#[test]
fn a_broken_trust_policy_flips_the_metric_and_the_report_within_one_refresh() {
    let Some(w) = world(Example::Healthy, &[]) else {
        return;
    };
    let mut c = start(&w, &["--refresh-interval", "10s"], &[]);
    c.wait_ready(Duration::from_secs(120));
    let labels = [("namespace", "team-001"), ("serviceaccount", "svc-00001")];
    let m = c.metrics();
    for i in 0..6 {
        let (ns, sa) = (format!("team-{i:03}"), format!("svc-{i:05}"));
        assert_eq!(
            series(
                &m,
                "irsa_doctor_chain_ok",
                &[("namespace", &ns), ("serviceaccount", &sa)]
            ),
            Some(1.0),
            "{m}"
        );
    }
    let before = report(&w, "team-001").unwrap();
    assert!(!results_about(&before, "ServiceAccount", "svc-00001")
        .iter()
        .any(|r| r["result"] == "fail"));
    // Another team edits the role's trust policy: it now trusts another ServiceAccount.
    let edit = Command::new("python3")
        .arg("-c")
        .arg(
            "import boto3,json,sys,urllib.parse\n\
             iam=boto3.client('iam',endpoint_url=sys.argv[1],region_name='us-east-1',aws_access_key_id='testing',aws_secret_access_key='testing')\n\
             doc=iam.get_role(RoleName='irsa-role-0001')['Role']['AssumeRolePolicyDocument']\n\
             doc=json.loads(urllib.parse.unquote(doc)) if isinstance(doc,str) else doc\n\
             text=json.dumps(doc).replace('system:serviceaccount:team-001:svc-00001','system:serviceaccount:team-001:svc-00001-v2')\n\
             assert text!=json.dumps(doc), 'the trust policy names the ServiceAccount'\n\
             iam.update_assume_role_policy(RoleName='irsa-role-0001',PolicyDocument=text)",
        )
        .arg(&w.moto.endpoint)
        .output()
        .unwrap();
    assert!(
        edit.status.success(),
        "{}",
        String::from_utf8_lossy(&edit.stderr)
    );
    // One refresh is 10 s ±10 %; the evaluation after it takes well under a second
    // (2 s of headroom for a loaded machine and the debug build).
    let within = Duration::from_secs(13);
    let (_, took) = poll(within, "chain_ok flips to 0", &c, || {
        (series(&c.metrics(), "irsa_doctor_chain_ok", &labels) == Some(0.0)).then_some(())
    });
    eprintln!("trust policy broken → chain_ok 0 after {took:?}");
    // The other chains are untouched.
    assert_eq!(
        series(
            &c.metrics(),
            "irsa_doctor_chain_ok",
            &[("namespace", "team-002"), ("serviceaccount", "svc-00002")]
        ),
        Some(1.0)
    );
    poll(
        Duration::from_secs(2),
        "the PolicyReport fails the ServiceAccount",
        &c,
        || {
            let r = report(&w, "team-001")?;
            results_about(&r, "ServiceAccount", "svc-00001")
                .iter()
                .any(|x| {
                    x["result"] == "fail"
                        && x["properties"]["cause"]
                            .as_str()
                            .is_some_and(|c| c.starts_with("trust-"))
                })
                .then_some(())
        },
    );
    c.stop();
}

#[test]
fn a_dropped_annotation_gives_an_event_and_a_report_within_a_second() {
    let Some(w) = world(Example::Healthy, &[]) else {
        return;
    };
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        required("kubectl");
        return;
    }
    let mut c = start(&w, &["--refresh-interval", "1m"], &[]);
    c.wait_ready(Duration::from_secs(120));
    let labels = [("namespace", "team-002"), ("serviceaccount", "svc-00002")];
    assert_eq!(
        series(&c.metrics(), "irsa_doctor_chain_ok", &labels),
        Some(1.0)
    );
    assert!(
        events(&w, "team-002").is_empty(),
        "a healthy namespace gets no Event"
    );
    let o = kubectl(
        &w,
        &[
            "annotate",
            "serviceaccount",
            "svc-00002",
            "-n",
            "team-002",
            "eks.amazonaws.com/role-arn-",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_, took) = poll(
        Duration::from_secs(1),
        "an Event on the ServiceAccount",
        &c,
        || {
            events(&w, "team-002")
                .iter()
                .any(|e| {
                    e["regarding"]["name"] == "svc-00002"
                        && e["regarding"]["kind"] == "ServiceAccount"
                        && e["reason"] == "SaAnnotationMissing"
                })
                .then_some(())
        },
    );
    eprintln!("annotation dropped → Event after {took:?}");
    let (_, took) = poll(
        Duration::from_secs(1),
        "the PolicyReport names it",
        &c,
        || {
            let r = report(&w, "team-002")?;
            results_about(&r, "ServiceAccount", "svc-00002")
                .iter()
                .any(|x| {
                    x["properties"]["cause"] == "sa-annotation-missing" && x["result"] == "fail"
                })
                .then_some(())
        },
    );
    eprintln!("annotation dropped → PolicyReport after {took:?}");
    // The chain is gone from the metrics with its annotation.
    poll(
        Duration::from_secs(1),
        "the chain series is removed",
        &c,
        || {
            series(&c.metrics(), "irsa_doctor_chain_ok", &labels)
                .is_none()
                .then_some(())
        },
    );
    c.stop();
}

#[test]
fn a_restart_publishes_no_event_twice_and_two_replicas_report_once() {
    let Some(w) = world(Example::ManyProblems, &[]) else {
        return;
    };
    let mut first = start(
        &w,
        &["--refresh-interval", "1m"],
        &[("POD_NAME", "irsa-doctor-a")],
    );
    first.wait_ready(Duration::from_secs(120));
    let all = |w: &World| -> usize { w.kube.store().list_all("events", None).len() };
    let count = all(&w);
    assert!(count > 3, "the example's problems are announced");
    // A second replica stands by: it neither reads AWS nor writes.
    let mut second = start(
        &w,
        &["--refresh-interval", "1m"],
        &[("POD_NAME", "irsa-doctor-b")],
    );
    second.wait_ready(Duration::from_secs(60));
    assert_eq!(
        series(&second.metrics(), "irsa_doctor_leader", &[]),
        Some(0.0)
    );
    assert_eq!(
        series(
            &second.metrics(),
            "irsa_doctor_aws_calls_total",
            &[("service", "iam")]
        ),
        None
    );
    let reports_before = series(
        &first.metrics(),
        "irsa_doctor_policy_report_writes_total",
        &[],
    );
    // The leader stops (a rollout): it releases the Lease; the standby takes over and
    // publishes nothing new: every current problem was announced already.
    first.stop();
    poll(
        Duration::from_secs(30),
        "the standby leads",
        &second,
        || (series(&second.metrics(), "irsa_doctor_leader", &[]) == Some(1.0)).then_some(()),
    );
    second.wait_ready(Duration::from_secs(60));
    assert_eq!(
        all(&w),
        count,
        "no Event published twice:\n{}",
        second.logs()
    );
    assert!(reports_before.is_some());
    let lease = w
        .kube
        .store()
        .get("leases", "default", "irsa-doctor")
        .unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "irsa-doctor-b");
    // A restart of the only replica: still nothing twice.
    second.stop();
    let mut third = start(
        &w,
        &["--refresh-interval", "1m"],
        &[("POD_NAME", "irsa-doctor-c")],
    );
    third.wait_ready(Duration::from_secs(120));
    assert_eq!(
        all(&w),
        count,
        "no Event published twice after a restart:\n{}",
        third.logs()
    );
    third.stop();
    // Every request of these three replicas (watches, Event reads and writes,
    // PolicyReports, the Lease's whole life: created, renewed, released, taken over) is
    // granted by deploy/'s RBAC, and none writes anything else.
    if !support::deploy::kubectl_installed() {
        required("kubectl");
        return;
    }
    let grants = support::deploy::grants(&support::deploy::render(""));
    let mut seen = std::collections::BTreeSet::new();
    for r in w.kube.requests() {
        let mut a = support::deploy::attributes(&r.method, &r.uri);
        // The test runs the replicas in namespace `default`; deploy/ in `irsa-doctor`.
        if a.resource == "leases" {
            assert_eq!(a.namespace.as_deref(), Some("default"));
            a.namespace = Some("irsa-doctor".into());
        }
        assert!(
            support::deploy::allows(&grants, &a),
            "{} {} is not granted by deploy/: {a:?}",
            r.method,
            r.uri
        );
        seen.insert((a.verb, a.resource));
    }
    for want in [
        ("watch", "pods"),
        ("list", "events"),
        ("create", "events"),
        ("patch", "policyreports"),
        ("patch", "clusterpolicyreports"),
        ("create", "leases"),
        ("update", "leases"),
    ] {
        assert!(
            seen.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} not exercised: {seen:?}"
        );
    }
}

#[test]
fn refused_writes_are_said_once_counted_and_the_diagnosis_goes_on() {
    let Some(w) = world(
        Example::ManyProblems,
        &[
            "create:events",
            "patch:events",
            "patch:policyreports",
            "patch:clusterpolicyreports",
        ],
    ) else {
        return;
    };
    let mut c = start(&w, &["--refresh-interval", "1m"], &[]);
    c.wait_ready(Duration::from_secs(120));
    let m = c.metrics();
    assert!(
        series(
            &m,
            "irsa_doctor_write_refusals_total",
            &[("resource", "events"), ("reason", "forbidden")]
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{m}"
    );
    assert!(
        series(
            &m,
            "irsa_doctor_write_refusals_total",
            &[("resource", "policyreports"), ("reason", "forbidden")]
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{m}"
    );
    // The diagnosis is complete all the same.
    assert_eq!(
        series(
            &m,
            "irsa_doctor_chain_ok",
            &[("namespace", "payments"), ("serviceaccount", "api")]
        ),
        Some(0.0)
    );
    assert_eq!(
        series(
            &m,
            "irsa_doctor_chain_not_checked",
            &[("namespace", "batch"), ("serviceaccount", "etl")]
        ),
        Some(1.0)
    );
    // A change still re-evaluates; the refusals are not said again.
    let o = kubectl(
        &w,
        &[
            "annotate",
            "serviceaccount",
            "app",
            "-n",
            "legacy",
            "eks.amazonaws.com/role-arn-",
        ],
    );
    assert!(o.status.success());
    poll(
        Duration::from_secs(5),
        "the change is evaluated",
        &c,
        || {
            series(
                &c.metrics(),
                "irsa_doctor_chain_ok",
                &[("namespace", "legacy"), ("serviceaccount", "app")],
            )
            .is_none()
            .then_some(())
        },
    );
    let logs = c.stop();
    let said = |needle: &str| logs.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(said("RBAC refuses creating Events"), 1, "{logs}");
    assert_eq!(said("RBAC refuses writing policyreports"), 1, "{logs}");
    assert!(w.kube.store().list_all("events", None).is_empty());
}

#[test]
fn without_the_policy_report_crd_it_says_so_once_and_goes_on() {
    let Some(w) = world(Example::ManyProblems, &[]) else {
        return;
    };
    // The same world, without the CRD.
    let kube = KubeServer::start(KubeConfig {
        objects: objects_from_snapshot(&example("many-problems")),
        writable: vec!["events".into(), "leases".into()],
        policy_reports: false,
        ..KubeConfig::default()
    });
    let w = World {
        kube,
        moto: w.moto,
        eks: w.eks,
        example: w.example,
        users: w.users,
        issuer: w.issuer,
        _dir: None,
    };
    let mut c = start(&w, &["--refresh-interval", "1m"], &[]);
    c.wait_ready(Duration::from_secs(120));
    let m = c.metrics();
    assert!(
        series(
            &m,
            "irsa_doctor_write_refusals_total",
            &[("resource", "policyreports"), ("reason", "not-installed")]
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{m}"
    );
    assert!(
        !w.kube.store().list_all("events", None).is_empty(),
        "Events go on"
    );
    let logs = c.stop();
    assert_eq!(
        logs.lines()
            .filter(
                |l| l.contains("the PolicyReport CRD (wgpolicyk8s.io/v1alpha2) is not installed")
            )
            .count(),
        1,
        "{logs}"
    );
    // --no-policy-reports: no attempt at all.
    let mut c = start(
        &w,
        &["--refresh-interval", "1m", "--no-policy-reports"],
        &[],
    );
    c.wait_ready(Duration::from_secs(120));
    assert_eq!(
        series(
            &c.metrics(),
            "irsa_doctor_write_refusals_total",
            &[("resource", "policyreports"), ("reason", "not-installed")]
        ),
        None
    );
    c.stop();
}

#[test]
fn bad_flags_are_one_line_errors() {
    for (args, want) in [
        (
            vec!["controller", "--refresh-interval", "3s"],
            "--refresh-interval",
        ),
        (
            vec!["controller", "--refresh-interval", "soon"],
            "--refresh-interval",
        ),
        (
            vec!["controller", "--metrics-bind-address", "8080"],
            "--metrics-bind-address",
        ),
        (
            vec![
                "controller",
                "--region",
                "mars-1",
                "--kubeconfig",
                "/dev/null",
            ],
            "--region",
        ),
        (
            vec!["controller", "--kubeconfig", "/nonexistent/kubeconfig"],
            "--kubeconfig",
        ),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"))
            .args(&args)
            .env_remove("KUBECONFIG")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

/// The resident and peak memory of a process (Linux), in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map(|kib| kib / 1024.0)
            .unwrap_or(0.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn aws_calls(metrics: &str) -> f64 {
    ["iam", "eks", "sts"]
        .iter()
        .filter_map(|s| series(metrics, "irsa_doctor_aws_calls_total", &[("service", s)]))
        .sum()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Scale benchmark (not a timed test): 5,000 ServiceAccounts in 200 namespaces,
/// 20,000 pods, 5,000 Deployments, 500 roles, in the test world. Measures the initial
/// sync, steady-state memory, the time from a pod change to the updated metric, and AWS
/// calls per refresh at steady state. Run (the controller a release build, the test
/// harness and its test API server a debug one):
/// `cargo build --release -p irsa-doctor && IRSA_DOCTOR_BENCH_BIN=$PWD/target/release/irsa-doctor
/// cargo test -p irsa-doctor --test controller -- --ignored --nocapture controller_scale`
#[test]
#[ignore = "benchmark: run explicitly"]
fn controller_scale() {
    // IRSA_DOCTOR_BENCH_SCALE=SAS,PODS,ROLES for a smaller world.
    let (n_sa, n_pods, n_roles) = std::env::var("IRSA_DOCTOR_BENCH_SCALE")
        .ok()
        .and_then(|s| {
            let v: Vec<usize> = s.split(',').filter_map(|x| x.parse().ok()).collect();
            (v.len() == 3).then(|| (v[0], v[1], v[2]))
        })
        .unwrap_or((5_000, 20_000, 500));
    let dir = tempfile::tempdir().unwrap();
    irsa_testkit::scale::generate(dir.path(), n_sa, n_pods, n_roles);
    let Some(moto) = Moto::start(Example::Healthy.account()) else {
        required("moto");
        return;
    };
    let seeding = Instant::now();
    let seed = Command::new("python3")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/seed_moto.py"))
        .args([
            &moto.endpoint,
            dir.path().to_str().unwrap(),
            Example::Healthy.cluster(),
            Example::Healthy.region(),
        ])
        .output()
        .unwrap();
    assert!(
        seed.status.success(),
        "{}",
        String::from_utf8_lossy(&seed.stderr)
    );
    eprintln!(
        "moto seeded with {n_roles} roles in {:?}",
        seeding.elapsed()
    );
    let objects = objects_from_snapshot(dir.path());
    let pods_in_world = objects.iter().filter(|o| o["kind"] == "Pod").count();
    assert_eq!(pods_in_world, n_pods);
    let kube = KubeServer::start(KubeConfig {
        objects,
        writable: ["events", "leases", "policyreports", "clusterpolicyreports"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        policy_reports: true,
        page_size: Some(500),
        ..KubeConfig::default()
    });
    let w = World {
        kube,
        moto,
        eks: None,
        example: Example::Healthy,
        users: Value::Null,
        issuer: String::new(),
        _dir: None,
    };
    // A 30 s refresh to see several at steady state; no cap, to time the first sync
    // itself (the default cap, 600 calls/min, spreads a refresh of 500 roles over 2.5 min).
    let started = Instant::now();
    let mut c = start(
        &w,
        &[
            "--refresh-interval",
            "30s",
            "--aws-calls-per-minute",
            "1000000",
        ],
        &[],
    );
    c.wait_ready(Duration::from_secs(900));
    let sync = started.elapsed();
    let logged = |message: &str, field: &str| -> Option<f64> {
        c.logs.lock().unwrap().iter().find_map(|l| {
            let v: Value = serde_json::from_str(l).ok()?;
            (v["message"] == message).then(|| v[field].as_f64())?
        })
    };
    let first_refresh = logged("AWS refresh", "seconds").unwrap();
    let first_eval = logged("first evaluation of every namespace done", "seconds").unwrap();
    let m = c.metrics();
    let ok = m
        .lines()
        .filter(|l| l.starts_with("irsa_doctor_chain_ok{") && l.ends_with(" 1"))
        .count();
    assert_eq!(ok, n_sa, "every chain of the generated world works");
    let pid = c.child.id();
    std::thread::sleep(Duration::from_secs(5));
    let (rss_ready, _) = memory_mib(pid);

    // Pod changes: a new pod with static keys in its environment breaks its chain
    // (credential-precedence); deleting it mends it. Each timed until /metrics says so.
    let template = w.kube.store().list_all("pods", Some("team-017"))[0].clone();
    let mut latencies = Vec::new();
    for k in 0..20 {
        let ns = format!("team-{:03}", 17 + k * 7);
        let sa = w.kube.store().list_all("serviceaccounts", Some(&ns))[0]["metadata"]["name"]
            .as_str()
            .unwrap()
            .to_string();
        // The series' line as the encoder writes it (labels in their declared order):
        // found with a substring search, so that the benchmark's own polling (a debug
        // build, the whole /metrics text each time) costs as little as it can.
        let line =
            format!("irsa_doctor_chain_ok{{namespace=\"{ns}\",serviceaccount=\"{sa}\",role=");
        let value = |m: &str| -> Option<char> {
            let at = m.find(&line)?;
            let end = m[at..].find('\n').map_or(m.len(), |e| at + e);
            m[..end].chars().next_back()
        };
        let mut pod = template.clone();
        pod["metadata"]["namespace"] = json!(ns);
        pod["metadata"]["name"] = json!(format!("bench-static-keys-{k}"));
        pod["metadata"]["uid"] = json!(format!("0952bef6-cab7-49a2-b614-bench{k:07}"));
        // A pod of its own (a pod of a Deployment is judged with its template).
        pod["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("ownerReferences");
        pod["spec"]["serviceAccountName"] = json!(sa);
        pod["spec"]["serviceAccount"] = json!(sa);
        pod["spec"]["containers"][0]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "AWS_ACCESS_KEY_ID", "value": "AKIAIOSFODNN7EXAMPLE"}));
        let t = Instant::now();
        w.kube.store().put(pod);
        while value(&c.metrics()) != Some('0') {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "{ns}/{sa} never broke:\n{}\n{}",
                c.logs()
                    .lines()
                    .filter(|l| l.contains(&ns))
                    .collect::<Vec<_>>()
                    .join("\n"),
                c.metrics()
                    .lines()
                    .filter(|l| l.contains(&ns))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        latencies.push(t.elapsed());
        let t = Instant::now();
        w.kube
            .store()
            .remove("pods", &ns, &format!("bench-static-keys-{k}"));
        while value(&c.metrics()) != Some('1') {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "{ns}/{sa} never mended"
            );
        }
        latencies.push(t.elapsed());
    }
    latencies.sort();
    // Steady state: AWS calls over whole refreshes.
    let count_refreshes = |c: &Controller| {
        c.logs
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("\"message\":\"AWS refresh\""))
            .count()
    };
    let (r0, calls0) = (count_refreshes(&c), aws_calls(&c.metrics()));
    let (mut r1, mut calls1) = (r0, calls0);
    let window = Instant::now();
    while r1 < r0 + 3 && window.elapsed() < Duration::from_secs(240) {
        std::thread::sleep(Duration::from_millis(200));
        r1 = count_refreshes(&c);
        calls1 = aws_calls(&c.metrics());
    }
    let per_refresh = (calls1 - calls0) / (r1 - r0).max(1) as f64;
    let (rss, hwm) = memory_mib(pid);
    let p50 = percentile(&latencies, 0.5);
    let p95 = percentile(&latencies, 0.95);
    let max = *latencies.last().unwrap();
    eprintln!(
        "controller scale: {n_sa} ServiceAccounts, {n_pods} pods, {n_sa} Deployments, 200 namespaces, {n_roles} roles\n\
         initial sync (start → ready): {sync:?} (first AWS refresh {first_refresh:.2} s, first evaluation of every namespace {first_eval:.2} s)\n\
         memory: {rss_ready:.0} MiB resident when ready, {rss:.0} MiB after the changes and {} refreshes, peak {hwm:.0} MiB\n\
         pod change → metric updated ({} changes): p50 {p50:?}, p95 {p95:?}, max {max:?}\n\
         AWS calls per refresh at steady state: {per_refresh:.0} ({:.2} per distinct role); at the default 5m interval {:.0} per hour",
        r1 - r0,
        latencies.len(),
        per_refresh / n_roles as f64,
        per_refresh * 12.0
    );
    c.stop();
}
