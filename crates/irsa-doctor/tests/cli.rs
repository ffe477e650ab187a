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
        stderr(&o).starts_with("irsa-doctor: kubeconfig: "),
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

const LBC_DENIED: &str = "WebIdentityErr: failed to retrieve credentials caused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity";

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut c = bin();
    c.args(args);
    piped(c, input)
}

/// Runs `c` with `input` on its standard input.
fn piped(mut c: Command, input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = c
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// The whole fix, flush left: the heredoc's closing EOF starts its line; the
/// finding names its ServiceAccount and the one rule that confirms it; exit 1.
#[test]
fn explain_confirmed_fix_is_whole_and_names_the_service_account() {
    let o = run(&[
        "explain",
        "--snapshot",
        &examples("lbc-webidentityerr"),
        LBC_DENIED,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.lines().any(|l| l == "EOF"), "{out}");
    assert!(
        out.contains("cat > trust-AmazonEKSLoadBalancerControllerRole.json <<'EOF'"),
        "{out}"
    );
    assert!(
        out.contains(
            "aws iam update-assume-role-policy --role-name AmazonEKSLoadBalancerControllerRole"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "✘ ServiceAccount kube-system/aws-load-balancer-controller: trust-sub [IRSA203]"
        ),
        "{out}"
    );
    assert!(
        !out.contains("IRSA201-IRSA207") && !out.contains("IRSA402/IRSA403"),
        "rule ranges: {out}"
    );
    let o = run(&[
        "explain",
        "--snapshot",
        &examples("lbc-webidentityerr"),
        "-o",
        "json",
        LBC_DENIED,
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v["confirmed"][0]["service_account"],
        "kube-system/aws-load-balancer-controller"
    );
    assert_eq!(v["confirmed"][0]["rule"], "IRSA203");
    assert!(v["confirmed"][0]["fix"]
        .as_str()
        .unwrap()
        .contains("\nEOF\n"));
}

/// Each evidence command once, whatever the number of causes it tells apart;
/// no empty `Error:` header for a text without a code.
#[test]
fn explain_evidence_once_and_no_empty_error_header() {
    let o = run(&["explain", "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let n = out.matches("--query Role.AssumeRolePolicyDocument").count();
    assert_eq!(n, 1, "{out}");
    for line in out.lines() {
        assert!(
            line.trim() != "Error:" && !line.starts_with("Error: \n"),
            "{out}"
        );
    }
    let o = run(&["explain", "Could not load credentials from any providers"]);
    let out = stdout(&o);
    assert!(!out.contains("Error:"), "{out}");
    assert!(
        out.starts_with("Recognised: No credential provider"),
        "{out}"
    );
}

/// The next command is ready to run when the ServiceAccount is known.
#[test]
fn explain_next_command_ready_to_run() {
    let o = run(&[
        "explain",
        "-n",
        "payments",
        "--service-account",
        "api",
        "Incorrect token audience",
    ]);
    let out = stdout(&o);
    assert!(
        out.contains("\n  irsa-doctor check -n payments --service-account api\n"),
        "{out}"
    );
    assert!(
        out.contains("\n  irsa-doctor probe -n payments --service-account api\n"),
        "{out}"
    );
    // The role named in the error finds its ServiceAccounts.
    let o = run(&["explain", "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity for arn:aws:iam::111122223333:role/lbc"]);
    let out = stdout(&o);
    assert!(
        out.contains("eks\\.amazonaws\\.com/role-arn==\"arn:aws:iam::111122223333:role/lbc\""),
        "{out}"
    );
}

/// Nothing recognised: said so, the two commands printed, exit 2 (never an
/// empty list with exit 0).
#[test]
fn explain_unrecognised_exits_2_with_the_two_commands() {
    let o = run(&[
        "explain",
        "-o",
        "json",
        "Back-off restarting failed container nginx in pod web-0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["recognised"], false);
    assert_eq!(v["causes"].as_array().unwrap().len(), 0);
    let cmds: Vec<&str> = v["next"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["command"].as_str().unwrap())
        .collect();
    assert!(
        cmds.iter().any(|c| c.starts_with("irsa-doctor check")),
        "{cmds:?}"
    );
    assert!(
        cmds.iter().any(|c| c.starts_with("irsa-doctor probe")),
        "{cmds:?}"
    );
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let o = run(&[
        "explain",
        "Back-off restarting failed container nginx in pod web-0",
    ]);
    assert!(stdout(&o).starts_with("Not recognised"));
}

/// UTF-16 (by BOM) and invalid bytes are read, never rejected; --file too.
#[test]
fn explain_reads_utf16_invalid_bytes_and_files() {
    let mut b = vec![0xFF, 0xFE];
    for u in "WebIdentityErr: failed to retrieve credentials\r\ncaused by: InvalidIdentityToken: Incorrect token audience\r\n".encode_utf16() {
        b.extend(u.to_le_bytes());
    }
    let o = run_stdin(&["explain", "-", "-o", "json"], &b);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["causes"][0]["cause"], "oidc-provider-audience");
    assert_eq!(v["input"]["encoding"], "utf-16le");
    let o = run_stdin(&["explain"], b"\xff\xc3(PermissionError: [Errno 13] Permission denied: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token'\xfe\n");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("token-file-permission"), "{out}");
    assert!(out.contains("invalid byte sequences replaced"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("app.log");
    std::fs::write(&f, &b).unwrap();
    let o = run(&["explain", "--file", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("oidc-provider-audience"));
    let o = run(&["explain", "--file", "/nonexistent/app.log"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--file: cannot read /nonexistent/app.log"),
        "{}",
        stderr(&o)
    );
}

/// A prompt on a terminal (through a pseudo-terminal from `script`), none on a pipe.
#[test]
fn explain_prompts_only_on_a_terminal() {
    let o = run_stdin(&["explain"], b"Incorrect token audience\n");
    assert!(!stderr(&o).contains("Paste the error text"));
    let Ok(script) = which_script() else { return };
    let cmd = format!("{} explain", env!("CARGO_BIN_EXE_irsa-doctor"));
    let o = run_in(
        &script,
        &["-qec", &cmd, "/dev/null"],
        b"Incorrect token audience\n\x04",
    );
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(all.contains("Paste the error text"), "{all}");
    assert!(all.contains("oidc-provider-audience"), "{all}");
}

fn which_script() -> Result<String, ()> {
    ["/usr/bin/script", "/bin/script"]
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
        .ok_or(())
}

fn run_in(program: &str, args: &[&str], input: &[u8]) -> Output {
    let mut c = Command::new(program);
    c.args(args);
    piped(c, input)
}

/// With a snapshot: the healthy twin contradicts the error (exit 0, said so); a
/// role the snapshot does not hold confirms nothing (exit 2, said so).
#[test]
fn explain_against_a_healthy_snapshot_or_a_foreign_role() {
    let text = "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity";
    let o = run(&["explain", "--snapshot", &examples("healthy"), text]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("would succeed now"), "{}", stdout(&o));
    let foreign = format!("{text} for arn:aws:iam::999988887777:role/other");
    let o = run(&["explain", "--snapshot", &examples("healthy"), &foreign]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("holds no ServiceAccount using the role"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn explain_names_the_controller_release_behind_a_denied_action() {
    // The example's load balancer controller runs v2.8.1; the action arrived in v2.9.0's
    // documented policy; AddTags is in every release's.
    let denied = |action: &str| {
        format!("api error AccessDenied: User: arn:aws:sts::111122223333:assumed-role/AmazonEKSLoadBalancerControllerRole/1714000000123456789 is not authorized to perform: {action} on resource: * because no identity-based policy allows the {action} action")
    };
    let text = denied("elasticloadbalancing:DescribeListenerAttributes");
    let o = run(&[
        "explain",
        &text,
        "--snapshot",
        &examples("lbc-webidentityerr"),
    ]);
    let out = stdout(&o);
    assert!(
        out.contains("AWS Load Balancer Controller v2.8.1, whose documented IAM policy (docs/install/iam_policy.json at v2.7.0) does not include `elasticloadbalancing:DescribeListenerAttributes`; it is needed from v2.9.0 on"),
        "{out}"
    );
    let text = denied("elasticloadbalancing:AddTags");
    let o = run(&[
        "explain",
        &text,
        "--snapshot",
        &examples("lbc-webidentityerr"),
        "-o",
        "json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("every documented release since v1.0.0 needs it"),
        "{notes}"
    );
    assert!(
        v["next"][0]["command"]
            .as_str()
            .unwrap()
            .starts_with("aws iam put-role-policy --role-name AmazonEKSLoadBalancerControllerRole --policy-name aws-load-balancer-controller-elasticloadbalancing-AddTags"),
        "{v:#}"
    );
    assert!(
        v["next"][0]["why"]
            .as_str()
            .unwrap()
            .contains("account 111122223333"),
        "{v:#}"
    );
}
