//! Snapshot ergonomics as the user sees them: every skipped file named with why, a raw
//! role-less output named by `--snapshot role=NAME:FILE`, UTF-16 files decoded, YAML tabs
//! named as tabs, advice in the format of the file, and `collect --script` run with
//! stand-in `kubectl`/`aws` that print the bundled example's outputs.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"));
    c.env_remove("NO_COLOR").env_remove("COLUMNS");
    c
}

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// The bundled example in a temporary folder.
fn copy_example(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(example(name)).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    dir
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The finding whose subject is the input file ending so.
fn finding_about<'v>(report: &'v Value, file: &str) -> &'v Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject"]["name"].as_str().unwrap().ends_with(file))
        .unwrap_or_else(|| panic!("a finding names {file}: {report}"))
}

/// (rule, subject) of the errors, sorted.
fn errors(report: &Value) -> Vec<String> {
    let mut v: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| format!("{} {}", f["rule"], f["subject"]))
        .collect();
    v.sort();
    v
}

#[test]
fn every_skipped_file_is_named_with_why() {
    let dir = copy_example("lbc-webidentityerr");
    std::fs::write(
        dir.path().join("configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.bin"), [0x1f, 0x8b, 0x08, 0x00, 0xff]).unwrap();
    let d = dir.path().to_str().unwrap();
    let o = run(&["check", "--snapshot", d, "-o", "json"]);
    let v = json_of(&o);
    let skipped = v["inputs"]["skipped_files"].as_array().unwrap();
    let named = |file: &str| {
        skipped
            .iter()
            .find(|s| s["path"].as_str().unwrap().ends_with(file))
            .unwrap_or_else(|| panic!("{file} named: {skipped:?}"))["why"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(named("configmap.yaml"), "kind ConfigMap");
    assert!(named("notes.bin").contains("not UTF-8 or UTF-16 text"));
    let o = run(&["check", "--snapshot", d, "--color", "never"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("configmap.yaml: skipped: kind ConfigMap"),
        "{text}"
    );
    assert!(text.contains("notes.bin: skipped: not UTF-8 or UTF-16 text"));
}

/// The role's attached policies were read: role-permissions names the policy (the
/// load balancer controller's documents are not in the example, so it is the gap
/// that asks for them, naming the attached policy).
fn attached_policy_read(v: &Value) -> bool {
    v["passed"]
        .as_array()
        .unwrap()
        .iter()
        .chain(v["findings"].as_array().unwrap())
        .any(|p| {
            p["rule"] == "IRSA102"
                && p["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("AWSLoadBalancerControllerIAMPolicy")
        })
}

#[test]
fn a_role_less_output_is_named_by_its_file_or_an_envelope() {
    let dir = copy_example("lbc-webidentityerr");
    // The raw output, as `aws iam list-attached-role-policies … > attached.json` writes it.
    let env = read_json(&dir.path().join("iam-list-attached-role-policies.json"));
    std::fs::remove_file(dir.path().join("iam-list-attached-role-policies.json")).unwrap();
    let raw = dir.path().join("attached.json");
    std::fs::write(&raw, serde_json::to_string_pretty(&env["output"]).unwrap()).unwrap();
    let d = dir.path().to_str().unwrap();
    let o = run(&["check", "--snapshot", d, "-o", "json"]);
    let v = json_of(&o);
    let hint = finding_about(&v, "attached.json");
    assert_eq!(hint["severity"], "warning", "{hint}");
    assert!(!attached_policy_read(&v), "{v}");
    assert!(hint["message"]
        .as_str()
        .unwrap()
        .contains("list-attached-role-policies output that does not name its role"));
    let fixes = hint["fix"].as_array().unwrap();
    assert!(fixes[0]["summary"]
        .as_str()
        .unwrap()
        .contains(&format!("--snapshot role=<ROLE>:{}", raw.display())));
    let one_liner = fixes[1]["command"].as_str().unwrap();
    // Named on the command line: the role's permissions are checked, the hint is gone.
    let named = format!("role=AmazonEKSLoadBalancerControllerRole:{}", raw.display());
    let o = run(&["check", "--snapshot", d, "--snapshot", &named, "-o", "json"]);
    let v = json_of(&o);
    assert!(v["inputs"]["skipped_files"].as_array().unwrap().is_empty());
    assert!(attached_policy_read(&v), "{v}");
    // The hint's one-liner, with a stand-in aws printing the same output, writes an
    // envelope the loader takes.
    let bin_dir = tempfile::tempdir().unwrap();
    let fake = bin_dir.path().join("aws");
    std::fs::write(&fake, format!("#!/bin/sh\ncat '{}'\n", raw.display())).unwrap();
    Command::new("chmod").arg("+x").arg(&fake).status().unwrap();
    std::fs::rename(&raw, dir.path().join("attached.raw")).unwrap();
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\ncat '{}'\n",
            dir.path().join("attached.raw").display()
        ),
    )
    .unwrap();
    let line = one_liner.replace("<ROLE>", "AmazonEKSLoadBalancerControllerRole");
    let st = Command::new("sh")
        .arg("-c")
        .arg(&line)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.path().display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::remove_file(dir.path().join("attached.raw")).unwrap();
    let o = run(&["check", "--snapshot", d, "-o", "json"]);
    let v = json_of(&o);
    assert!(
        v["inputs"]["skipped_files"].as_array().unwrap().is_empty(),
        "{v}"
    );
    assert!(attached_policy_read(&v), "{v}");
    // Bad values are one-line errors naming the flag.
    let o = run(&["check", "--snapshot", "role=bad name:x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--snapshot role=bad name:x"));
    let o = run(&["check", "--snapshot", "role=app:/nonexistent.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a file"));
}

#[test]
fn utf16_files_are_decoded_and_yaml_tabs_named() {
    let dir = copy_example("lbc-webidentityerr");
    let expected = errors(&json_of(&run(&[
        "check",
        "--snapshot",
        example("lbc-webidentityerr").to_str().unwrap(),
        "-o",
        "json",
    ])));
    // Windows PowerShell 5's `>` writes UTF-16LE with a byte order mark.
    for f in ["eks-describe-cluster.json", "iam-get-role.json"] {
        let p = dir.path().join(f);
        let text = std::fs::read_to_string(&p).unwrap();
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            bytes.extend(u.to_le_bytes());
        }
        std::fs::write(&p, bytes).unwrap();
    }
    let d = dir.path().to_str().unwrap();
    let v = json_of(&run(&["check", "--snapshot", d, "-o", "json"]));
    assert_eq!(errors(&v), expected, "the same diagnosis from UTF-16 files");
    assert!(v["inputs"]["skipped_files"].as_array().unwrap().is_empty());
    // A tab in YAML indentation is named as a tab, and the advice keeps YAML.
    std::fs::write(
        dir.path().join("sa.yaml"),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n\tname: x\n",
    )
    .unwrap();
    let o = run(&["check", "--snapshot", d, "-o", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("sa.yaml:4:1: invalid YAML: a tab character indents this line"),
        "{err}"
    );
    let v = json_of(&o);
    let f = finding_about(&v, "sa.yaml");
    assert!(
        f["fix"][0]["summary"].as_str().unwrap().contains("-o yaml"),
        "{f}"
    );
    std::fs::write(dir.path().join("sa.yaml"), "{\"kind\": \"Pod\",").unwrap();
    let v = json_of(&run(&["check", "--snapshot", d, "-o", "json"]));
    let f = finding_about(&v, "sa.yaml");
    assert!(
        f["fix"][0]["summary"].as_str().unwrap().contains("-o json"),
        "{f}"
    );
}

const FAKE_KUBECTL: &str = r#"#!/bin/sh
echo "kubectl $*" >> "$FAKE_LOG"
while [ "${1#--}" != "$1" ]; do shift 2; done
case "$*" in
  "version -o json") cat "$FIX/version.json" ;;
  "get serviceaccounts "*) cat "$FIX/sa.json" ;;
  "get pods "*) cat "$FIX/pods.json" ;;
  "get deployments,daemonsets,statefulsets,replicasets,jobs,cronjobs "*) cat "$FIX/workloads.json" ;;
  "get mutatingwebhookconfiguration pod-identity-webhook -o json") cat "$FIX/webhook.json" ;;
  *) echo "fake kubectl: unexpected: $*" >&2; exit 1 ;;
esac
"#;

const FAKE_AWS: &str = r#"#!/bin/sh
echo "aws $*" >> "$FAKE_LOG"
while [ "${1#--}" != "$1" ]; do shift 2; done
role=""; prev=""
for a in "$@"; do [ "$prev" = "--role-name" ] && role=$a; prev=$a; done
case "$1 $2" in
  "eks describe-cluster") cat "$FIX/cluster.json" ;;
  "eks list-pod-identity-associations") printf '{\n    "associations": []\n}\n' ;;
  "eks list-nodegroups") cat "$FIX/nodegroups.json" ;;
  "eks describe-nodegroup") cat "$FIX/nodegroup.json" ;;
  "sts get-caller-identity") cat "$FIX/whoami.json" ;;
  "iam list-open-id-connect-providers") cat "$FIX/providers.json" ;;
  "iam get-open-id-connect-provider") cat "$FIX/provider.json" ;;
  "iam get-role"|"iam list-attached-role-policies"|"iam list-role-policies")
    f="$FIX/$2-$role.json"
    if [ -f "$f" ]; then cat "$f"; else
      echo "An error occurred (NoSuchEntity) when calling the GetRole operation: The role with name $role cannot be found." >&2
      exit 254
    fi ;;
  *) echo "fake aws: unexpected: $*" >&2; exit 1 ;;
esac
"#;

/// The example's outputs as the real commands print them (envelopes unwrapped).
fn fixtures(dir: &Path) {
    let ex = example("lbc-webidentityerr");
    let raw = |f: &str| {
        let v = read_json(&ex.join(f));
        if v.get("command").is_some() {
            v["output"].clone()
        } else {
            v
        }
    };
    let role = "AmazonEKSLoadBalancerControllerRole";
    let mut sa = raw("kubectl-get-sa.json");
    // A second ServiceAccount whose role is in another account.
    let mut other = sa["items"][0].clone();
    other["metadata"]["name"] = json!("cross-account");
    other["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] =
        json!("arn:aws:iam::444455556666:role/shared-reader");
    sa["items"].as_array_mut().unwrap().push(other);
    let workloads =
        json!({"apiVersion": "v1", "kind": "List", "items": [raw("kubectl-get-deployment.json")]});
    let version = json!({
        "clientVersion": {"major": "1", "minor": "30", "gitVersion": "v1.30.2"},
        "serverVersion": {"major": "1", "minor": "30+", "gitVersion": "v1.30.4-eks-a737599"}
    });
    // A managed node group, its node role (read once, like any role).
    let account = raw("sts-get-caller-identity.json")["Account"].clone();
    let node_role = format!(
        "arn:aws:iam::{}:role/prod-use1-node",
        account.as_str().unwrap()
    );
    std::fs::write(
        dir.join("get-role-prod-use1-node.json"),
        serde_json::to_string_pretty(&json!({"Role": {"Path": "/", "RoleName": "prod-use1-node",
            "RoleId": "AROAGAAZMKSYKCSI7UYN2", "Arn": node_role, "CreateDate": "2024-01-10T10:00:00+00:00",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "MaxSessionDuration": 3600}})).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("list-attached-role-policies-prod-use1-node.json"),
        serde_json::to_string_pretty(
            &json!({"AttachedPolicies": [{"PolicyName": "AmazonEKSWorkerNodePolicy",
            "PolicyArn": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"}]}),
        )
        .unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("list-role-policies-prod-use1-node.json"),
        serde_json::to_string_pretty(&json!({"PolicyNames": []})).unwrap(),
    )
    .unwrap();
    for (name, v) in [
        ("nodegroups.json", json!({"nodegroups": ["general"]})),
        (
            "nodegroup.json",
            json!({"nodegroup": {"nodegroupName": "general", "clusterName": "prod-use1",
                "status": "ACTIVE", "amiType": "AL2023_x86_64_STANDARD", "nodeRole": node_role}}),
        ),
        ("sa.json", sa),
        ("pods.json", raw("kubectl-get-pods.json")),
        ("workloads.json", workloads),
        (
            "webhook.json",
            raw("kubectl-get-mutatingwebhookconfiguration.json"),
        ),
        ("version.json", version),
        ("cluster.json", raw("eks-describe-cluster.json")),
        ("whoami.json", raw("sts-get-caller-identity.json")),
        (
            "providers.json",
            raw("iam-list-open-id-connect-providers.json"),
        ),
        (
            "provider.json",
            raw("iam-get-open-id-connect-provider.json"),
        ),
        (&format!("get-role-{role}.json"), raw("iam-get-role.json")),
        (
            &format!("list-attached-role-policies-{role}.json"),
            raw("iam-list-attached-role-policies.json"),
        ),
        (
            &format!("list-role-policies-{role}.json"),
            raw("iam-list-role-policies.json"),
        ),
    ] {
        // Both CLIs print JSON indented, one key per line.
        std::fs::write(dir.join(name), serde_json::to_string_pretty(&v).unwrap()).unwrap();
    }
}

#[test]
fn collect_script_writes_a_ready_snapshot() {
    let work = tempfile::tempdir().unwrap();
    let fix = work.path().join("fixtures");
    let fake = work.path().join("bin");
    std::fs::create_dir_all(&fix).unwrap();
    std::fs::create_dir_all(&fake).unwrap();
    fixtures(&fix);
    for (name, body) in [("kubectl", FAKE_KUBECTL), ("aws", FAKE_AWS)] {
        std::fs::write(fake.join(name), body).unwrap();
        Command::new("chmod")
            .arg("+x")
            .arg(fake.join(name))
            .status()
            .unwrap();
    }
    let o = run(&[
        "collect",
        "--script",
        "--cluster",
        "prod-use1",
        "--region",
        "us-east-1",
        "--profile",
        "read only",
        "--context",
        "prod",
        "-n",
        "kube-system",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let script = work.path().join("collect.sh");
    std::fs::write(&script, &o.stdout).unwrap();
    let log = work.path().join("calls.log");
    let snap = work.path().join("snap");
    let out = Command::new("sh")
        .arg(&script)
        .arg(&snap)
        .current_dir(work.path())
        .env(
            "PATH",
            format!("{}:{}", fake.display(), std::env::var("PATH").unwrap()),
        )
        .env("FIX", &fix)
        .env("FAKE_LOG", &log)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("next: irsa-doctor check --snapshot"),
        "{stderr}"
    );
    // Read-only, with the baked-in connection flags on every call.
    let calls = std::fs::read_to_string(&log).unwrap();
    for call in calls.lines() {
        let words: Vec<&str> = call.split_whitespace().collect();
        if words[0] == "kubectl" {
            assert!(call.starts_with("kubectl --context prod "), "{call}");
            assert!(
                call.contains(" get ") || call.contains(" version "),
                "{call}"
            );
        } else {
            assert!(
                call.starts_with("aws --profile read only --region us-east-1 "),
                "{call}"
            );
            let verb = words[7];
            assert!(
                ["get-", "list-", "describe-"]
                    .iter()
                    .any(|p| verb.starts_with(p)),
                "{call}"
            );
        }
    }
    assert!(calls.contains("get serviceaccounts -n kube-system -o json"));
    // The node group's node role is read once (the agent calls EKS Auth with it).
    assert!(
        calls.contains("eks describe-nodegroup --cluster-name prod-use1 --nodegroup-name general"),
        "{calls}"
    );
    assert_eq!(
        calls
            .matches("iam get-role --role-name prod-use1-node")
            .count(),
        1,
        "{calls}"
    );
    // The cross-account role is recorded as not collected, never read with these credentials.
    assert!(!calls.contains("shared-reader"), "{calls}");
    let rec = read_json(&snap.join("iam-get-role-shared-reader.json"));
    assert!(
        rec["error"].as_str().unwrap().contains("444455556666"),
        "{rec}"
    );
    // The folder gives the same diagnosis as the bundled example.
    let collected = json_of(&run(&[
        "check",
        "--snapshot",
        snap.to_str().unwrap(),
        "-o",
        "json",
    ]));
    let bundled = json_of(&run(&[
        "check",
        "--snapshot",
        example("lbc-webidentityerr").to_str().unwrap(),
        "-o",
        "json",
    ]));
    let lbc: Vec<String> = errors(&collected)
        .into_iter()
        .filter(|e| !e.contains("cross-account"))
        .collect();
    assert_eq!(lbc, errors(&bundled));
    assert!(collected["inputs"]["rejected"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(
        collected["inputs"]["skipped_files"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{}",
        collected["inputs"]
    );
    let chain = |r: &Value, name: &str| {
        r["chains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["subject"]["name"] == name)
            .map(|c| c["prediction"].clone())
    };
    assert_eq!(
        chain(&collected, "aws-load-balancer-controller"),
        chain(&bundled, "aws-load-balancer-controller")
    );
    assert!(collected["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["cause"] == "collection-gap"
            && f["message"].as_str().unwrap().contains("444455556666")));
    // A second run into the same folder refuses to mix snapshots.
    let again = Command::new("sh")
        .arg(&script)
        .arg(&snap)
        .env(
            "PATH",
            format!("{}:{}", fake.display(), std::env::var("PATH").unwrap()),
        )
        .env("FIX", &fix)
        .env("FAKE_LOG", &log)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
}

/// The rules run on several threads: every example's report (findings of every rule,
/// in the rules' order) is the same bytes on one thread and on several.
#[test]
fn the_rules_report_the_same_on_any_number_of_threads() {
    for name in [
        "many-problems",
        "pod-identity-mixed",
        "lbc-webidentityerr",
        "healthy",
    ] {
        let dir = example(name);
        let run = |threads: &str, format: &str| {
            let o = bin()
                .env("IRSA_DOCTOR_THREADS", threads)
                .args(["check", "--snapshot", dir.to_str().unwrap(), "-o", format])
                .output()
                .unwrap();
            assert!(
                !o.stdout.is_empty(),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
            (o.status.code(), o.stdout)
        };
        for format in ["json", "text"] {
            let alone = run("1", format);
            for threads in ["2", "5", "2"] {
                assert!(
                    run(threads, format) == alone,
                    "{name}: {format} report on {threads} threads differs from one thread's"
                );
            }
        }
    }
}

/// Files are parsed on several threads: the report is the same bytes whatever the
/// thread count and timing (a snapshot large enough to be parsed on threads, with a
/// bad file and a file replacing another's pods).
#[test]
fn the_report_does_not_depend_on_threads() {
    let dir = tempfile::tempdir().unwrap();
    irsa_testkit::scale::generate_shape(
        dir.path(),
        300,
        900,
        40,
        irsa_testkit::scale::Shape::SmallPods,
    );
    let pods = std::fs::read_to_string(dir.path().join("kubectl-get-pods.json")).unwrap();
    assert!(pods.len() > 1_000_000, "large enough for several threads");
    // The same pods again, one of them changed, and a file that does not parse.
    std::fs::write(
        dir.path().join("kubectl-get-pods-again.json"),
        pods.replacen("\"Running\"", "\"Pending\"", 1),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("zz-broken.json"),
        "{\"kind\": \"PodList\", \"items\": [{\"kind\": \"Pod\"},",
    )
    .unwrap();
    let snap = dir.path().to_str().unwrap();
    let report = |threads: &str, format: &str| {
        let o = bin()
            .env("IRSA_DOCTOR_THREADS", threads)
            .args(["check", "--snapshot", snap, "-o", format])
            .output()
            .unwrap();
        assert!(
            !o.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        (o.status.code(), o.stdout)
    };
    for format in ["json", "text"] {
        let alone = report("1", format);
        for threads in ["2", "3", "8", "2"] {
            assert!(
                report(threads, format) == alone,
                "{format} report on {threads} threads differs from one thread's"
            );
        }
    }
    let v = json_of(
        &bin()
            .env("IRSA_DOCTOR_THREADS", "2")
            .args(["check", "--snapshot", snap, "-o", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(
        v["inputs"]["rejected"].as_array().map(Vec::len),
        Some(1),
        "{}",
        v["inputs"]
    );
    // A thread count that is not one is refused with the variable named.
    let o = bin()
        .env("IRSA_DOCTOR_THREADS", "0")
        .args(["check", "--snapshot", snap])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("IRSA_DOCTOR_THREADS: `0` is not a number of threads"),
        "{err}"
    );
}
