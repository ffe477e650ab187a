//! The real binary: exit codes, the JSON contract, colour rules, bad input, secrets.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"));
    c.env_remove("NO_COLOR");
    c
}

fn examples(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
        .display()
        .to_string()
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn healthy_example_exits_0() {
    let o = run(&["check", "--snapshot", &examples("healthy")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("credentials issued"));
}

#[test]
fn seed_000_example_exits_1_with_the_diagnosis() {
    let o = run(&[
        "check",
        "--snapshot",
        &examples("lbc-webidentityerr"),
        "--color",
        "never",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("note the space after `system:serviceaccount:`"),
        "{out}"
    );
    assert!(out.contains(
        "STS answers: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"
    ));
    assert!(out.contains(
        "aws iam update-assume-role-policy --role-name AmazonEKSLoadBalancerControllerRole"
    ));
    assert!(!out.contains('\x1b'), "no colour when not a terminal");
    // Copy-pasteable: the heredoc delimiter and the command start at column 0.
    assert!(out.lines().any(|l| l == "EOF"), "{out}");
    assert!(out
        .lines()
        .any(|l| l.starts_with("aws iam update-assume-role-policy ")));
}

#[test]
fn the_printed_trust_fix_runs_in_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&[
        "check",
        "--snapshot",
        &examples("lbc-webidentityerr"),
        "--color",
        "never",
    ]);
    let out = stdout(&o);
    let start = out
        .lines()
        .position(|l| l.starts_with("cat > trust-"))
        .unwrap();
    let end = out.lines().position(|l| l == "EOF").unwrap();
    let script: Vec<&str> = out.lines().skip(start).take(end - start + 1).collect();
    let status = Command::new("sh")
        .arg("-c")
        .arg(script.join("\n"))
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let written = std::fs::read_to_string(
        dir.path()
            .join("trust-AmazonEKSLoadBalancerControllerRole.json"),
    )
    .unwrap();
    let doc =
        irsa_policy::PolicyDocument::parse(&written).expect("the pasted file is a valid policy");
    assert_eq!(doc.statements.len(), 2, "both clusters' statements kept");
    assert!(
        !written.contains("serviceaccount: "),
        "the stray space is gone from every statement"
    );
}

#[test]
fn json_contract() {
    let o = run(&[
        "check",
        "--snapshot",
        &examples("lbc-webidentityerr"),
        "--output",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).expect("stdout is only JSON");
    assert_eq!(v["schema"], "irsa-doctor/report/v1");
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["severity"] == "error")
        .unwrap();
    for key in [
        "rule",
        "cause",
        "severity",
        "subject",
        "role_arn",
        "message",
        "predicted_error",
        "fix",
    ] {
        assert!(f.get(key).is_some(), "missing {key}");
    }
    assert_eq!(f["cause"], "trust-sub");
    assert_eq!(f["subject"]["kind"], "ServiceAccount");
    assert_eq!(f["subject"]["namespace"], "kube-system");
    assert_eq!(
        f["predicted_error"],
        "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"
    );
    assert!(f["fix"][0]["command"]
        .as_str()
        .unwrap()
        .contains("update-assume-role-policy"));
    assert_eq!(v["summary"]["error"], 1);
    assert!(v["inputs"]["rejected"].as_array().unwrap().is_empty());
    assert_eq!(v["inputs"]["skipped"], 0);
    // Causes come from the vocabulary only; subject kinds from the contract.
    let kinds = [
        "Cluster",
        "OidcProvider",
        "Role",
        "ServiceAccount",
        "Pod",
        "Deployment",
        "DaemonSet",
        "StatefulSet",
        "Job",
        "CronJob",
        "ReplicaSet",
        "Webhook",
        "Input",
    ];
    let o = run(&[
        "check",
        "--snapshot",
        &examples("many-problems"),
        "-o",
        "json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    for f in v["findings"].as_array().unwrap() {
        assert!(
            irsa_rules::Cause::from_id(f["cause"].as_str().unwrap()).is_some(),
            "{f}"
        );
        assert!(
            kinds.contains(&f["subject"]["kind"].as_str().unwrap()),
            "{f}"
        );
    }
}

#[test]
fn fail_on_levels() {
    let healthy = examples("healthy");
    assert_eq!(
        run(&["check", "--snapshot", &healthy, "--fail-on", "warning"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(&["check", "--snapshot", &healthy, "--fail-on", "info"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn scope_flags() {
    let o = run(&[
        "check",
        "--snapshot",
        &examples("many-problems"),
        "-n",
        "web",
        "-o",
        "json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    for f in v["findings"].as_array().unwrap() {
        if let Some(ns) = f["subject"]["namespace"].as_str() {
            assert_eq!(ns, "web", "{f}");
        }
    }
    let o = run(&[
        "check",
        "--snapshot",
        &examples("many-problems"),
        "-n",
        "payments",
        "--service-account",
        "api",
        "-o",
        "json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["chains"].as_array().unwrap().len(), 1);
    assert_eq!(v["chains"][0]["subject"]["name"], "api");
}

#[test]
fn colour_only_when_asked_and_never_with_no_color() {
    let o = run(&[
        "check",
        "--snapshot",
        &examples("lbc-webidentityerr"),
        "--color",
        "always",
    ]);
    assert!(stdout(&o).contains("\x1b["));
    let o = bin()
        .args(["check", "--snapshot", &examples("lbc-webidentityerr")])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stdout(&o).contains("\x1b["));
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    let o = run(&["check", "--snapshot", &examples("healthy"), "--frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--frobnicate"));
    let o = run(&["check", "--snapshot", "/nonexistent/snapshot"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        "irsa-doctor: --snapshot: /nonexistent/snapshot does not exist"
    );
    // Without --snapshot: live mode; no kubeconfig reachable here (never a developer's real one).
    let home = tempfile::tempdir().unwrap();
    let o = bin()
        .arg("check")
        .env("KUBECONFIG", home.path().join("missing"))
        .env("HOME", home.path())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("irsa-doctor: no kubeconfig found: $KUBECONFIG names ")
            && stderr(&o).contains("aws eks update-kubeconfig --name CLUSTER --region REGION"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1, "one line: {}", stderr(&o));
    let o = run(&["check", "--kubeconfig", "/nonexistent/kubeconfig"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        "irsa-doctor: --kubeconfig: /nonexistent/kubeconfig does not exist"
    );
    let o = run(&[
        "check",
        "--snapshot",
        &examples("healthy"),
        "--account",
        "123",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--account"));
    let o = run(&[
        "check",
        "--snapshot",
        &examples("healthy"),
        "--issuer",
        "http://x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[
        "check",
        "--snapshot",
        &examples("healthy"),
        "--sdk",
        "boto3",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--sdk"));
}

#[test]
fn rejected_input_is_located_and_the_rest_diagnosed() {
    let dir = tempfile::tempdir().unwrap();
    let src = PathBuf::from(examples("lbc-webidentityerr"));
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    std::fs::write(
        dir.path().join("broken.json"),
        "{\n  \"kind\": \"Pod\",\n  \"metadata\": {\n}",
    )
    .unwrap();
    let o = run(&[
        "check",
        "--snapshot",
        dir.path().to_str().unwrap(),
        "--color",
        "never",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "rejected input shows in the exit status"
    );
    let err = stderr(&o);
    assert!(
        err.contains("broken.json:4:1: invalid JSON: EOF while parsing an object"),
        "{err}"
    );
    let out = stdout(&o);
    assert!(
        out.contains("IRSA203 trust-sub"),
        "the rest is still diagnosed"
    );
    assert!(
        out.contains("broken.json"),
        "the report names the rejected file"
    );
}

#[test]
fn rules_and_rule_docs() {
    let o = run(&["rules"]);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("rules_table", stdout(&o));
    let o = run(&["rule", "IRSA203"]);
    let doc = stdout(&o);
    for heading in [
        "## What it checks",
        "## Why it matters",
        "## Example",
        "## Fix",
        "## In the AWS troubleshooting articles",
    ] {
        assert!(doc.contains(heading), "{heading}");
    }
    assert_eq!(run(&["rule", "NOPE"]).status.code(), Some(2));
}

#[test]
fn every_rule_documents_all_headings() {
    for r in irsa_rules::all_rules() {
        let m = r.meta();
        for heading in [
            "## What it checks",
            "## Why it matters",
            "## Example",
            "## Fix",
            "## In the AWS troubleshooting articles",
        ] {
            assert!(m.doc.contains(heading), "{} lacks {heading}", m.code);
        }
        // Rule docs speak to users: none of the project's internal vocabulary.
        let lower = m.doc.to_lowercase();
        for internal in ["seed", "checklist", "facts §", "[unv]", "[inf"] {
            assert!(
                !lower.contains(internal),
                "{} doc says `{internal}`",
                m.code
            );
        }
    }
}

#[test]
fn human_report_of_the_seed_example() {
    let o = run(&[
        "check",
        "--snapshot",
        &examples("lbc-webidentityerr"),
        "--color",
        "never",
    ]);
    let out = stdout(&o).replace(
        &examples("lbc-webidentityerr"),
        "examples/lbc-webidentityerr",
    );
    insta::assert_snapshot!("seed_000_report", out);
}

#[test]
fn secrets_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImFiYyJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl";
    std::fs::write(
        dir.path().join("env.json"),
        format!(
            "{{\"command\": \"kubectl exec -n kube-system aws-load-balancer-controller-6d4f8b7c9d-x7k2p -- env\", \"output\": \"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\\nAWS_SECRET_ACCESS_KEY={secret}\\nAWS_SESSION_TOKEN={token}\\n\"}}"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pod.yaml"),
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: kube-system}}\nspec:\n  serviceAccountName: aws-load-balancer-controller\n  containers:\n  - name: c\n    env:\n    - name: AWS_SECRET_ACCESS_KEY\n      value: {secret}\n    - name: AWS_SESSION_TOKEN\n      value: {token}\n"),
    )
    .unwrap();
    for format in ["text", "json"] {
        let o = run(&[
            "check",
            "--snapshot",
            &examples("lbc-webidentityerr"),
            "--snapshot",
            dir.path().to_str().unwrap(),
            "-o",
            format,
        ]);
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert!(
            all.contains("AWS_SECRET_ACCESS_KEY"),
            "the finding names the variable"
        );
        assert!(!all.contains(secret), "secret key printed ({format})");
        assert!(!all.contains(token), "session token printed ({format})");
        assert!(
            !all.contains("AKIAIOSFODNN7EXAMPLE"),
            "access key id printed ({format})"
        );
    }
}

#[test]
fn explain_without_context() {
    let o = run(&["explain", "WebIdentityErr: failed to retrieve credentials\\ncaused by: InvalidIdentityToken: Incorrect token audience\\n\\tstatus code: 400, request id: 7a8e"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("oidc-provider-audience"), "{out}");
    let o = run(&["explain", "-o", "json", "An error occurred (ValidationError) when calling the AssumeRoleWithWebIdentity operation: Request ARN is invalid"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["schema"], "irsa-doctor/explain/v1");
    assert_eq!(v["causes"][0]["cause"], "sa-annotation-malformed");
    assert!(v["causes"][0]["likelihood"].as_f64().unwrap() > 0.5);
}

#[test]
fn explain_with_context_confirms() {
    let o = run(&[
        "explain",
        "failed to find existing LoadBalancer due to WebIdentityErr: failed to retrieve credentials\\ncaused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\\n\\tstatus code: 403",
        "--snapshot",
        &examples("lbc-webidentityerr"),
        "-o",
        "json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["confirmed"][0]["cause"], "trust-sub", "{v:#}");
    assert!(v["confirmed"][0]["message"]
        .as_str()
        .unwrap()
        .contains("note the space"));
}

#[test]
fn explain_reads_stdin_and_rejects_empty() {
    use std::io::Write;
    let mut child = bin()
        .args(["explain", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"PermissionError: [Errno 13] Permission denied: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token'\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(stdout(&o).contains("token-file-permission"));
    assert_eq!(run(&["explain", "  "]).status.code(), Some(2));
}
