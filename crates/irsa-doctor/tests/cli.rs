//! The real binary: exit codes, the JSON contract, colour rules, bad input, secrets.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"));
    // Piped and without COLUMNS: no wrapping, whatever the developer's terminal.
    c.env_remove("NO_COLOR").env_remove("COLUMNS");
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
    let codes: Vec<String> = stdout(&o)
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted, "rules sorted by code");
    let o = run(&["rules", "-o", "json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["schema"], "irsa-doctor/rules/v1");
    assert_eq!(v["rules"].as_array().unwrap().len(), codes.len());
    assert_eq!(run(&["rule", "NOPE"]).status.code(), Some(2));
}

/// `rule CODE` renders the rule's Markdown for the terminal: headings without `##`,
/// links with their URLs, wrapped to COLUMNS with hanging indent; `-o json` gives the
/// Markdown and its links.
#[test]
fn rule_doc_rendered_for_the_terminal() {
    let o = bin()
        .args(["rule", "IRSA203"])
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let doc = stdout(&o);
    assert!(doc.starts_with("IRSA203 trust-sub\n"), "{doc}");
    for heading in [
        "What it checks",
        "Why it matters",
        "Example",
        "Fix",
        "In the AWS troubleshooting articles",
    ] {
        assert!(doc.lines().any(|l| l == heading), "{heading}: {doc}");
    }
    assert!(!doc.contains("## "), "Markdown headings rendered: {doc}");
    assert!(!doc.contains("]("), "Markdown links rendered: {doc}");
    assert!(
        doc.contains("<https://repost.aws/knowledge-center/eks-load-balancer-webidentityerr>"),
        "the article's link is kept whole: {doc}"
    );
    for l in doc.lines() {
        assert!(
            l.chars().count() <= 80 || l.split_whitespace().any(|w| w.len() > 60),
            "wrapped to 80: {l:?}"
        );
    }
    let o = run(&["rule", "trust-sub", "-o", "json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let r = &v["rules"][0];
    assert_eq!(r["code"], "IRSA203");
    assert!(r["doc"].as_str().unwrap().contains("## What it checks"));
    assert!(r["links"].as_array().unwrap().iter().any(
        |l| l["url"] == "https://repost.aws/knowledge-center/eks-load-balancer-webidentityerr"
    ));
    let o = run(&["rule", "IRSA203", "-o", "yaml"]);
    let y: Value = serde_yaml_ng::from_str(&stdout(&o)).unwrap();
    assert_eq!(y, v, "yaml is the same document");
    // Every rendered doc: no internal vocabulary, and at least one link to AWS.
    for r in irsa_rules::all_rules() {
        let code = r.meta().code;
        let out = stdout(&run(&["rule", code]));
        let lower = out.to_lowercase();
        for internal in ["seed", "checklist", "facts §", "[unv]", "[inf", "issue "] {
            assert!(!lower.contains(internal), "{code} says `{internal}`");
        }
        assert!(out.contains("<https://"), "{code} links its sources: {out}");
    }
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

/// Flags mean one thing everywhere: global flags work before the subcommand; a flag a
/// subcommand would ignore is rejected with one line; `collect` writes to -d; unknown
/// SDK names are rejected with the known ones; `-o yaml`.
#[test]
fn flags_mean_one_thing() {
    let lbc = examples("lbc-webidentityerr");
    // Global flags before the subcommand equal the same flags after it.
    let before = run(&[
        "-n",
        "kube-system",
        "-o",
        "json",
        "check",
        "--snapshot",
        &lbc,
    ]);
    let after = run(&[
        "check",
        "--snapshot",
        &lbc,
        "-n",
        "kube-system",
        "-o",
        "json",
    ]);
    assert_eq!(before.status.code(), Some(1), "{}", stderr(&before));
    assert_eq!(stdout(&before), stdout(&after));
    let other_ns = run(&["-n", "default", "-o", "json", "check", "--snapshot", &lbc]);
    assert_ne!(
        stdout(&other_ns),
        stdout(&before),
        "-n before the subcommand scopes"
    );
    // Live-mode flags with --snapshot are rejected, naming the flag.
    for flag in [
        ["--context", "prod"],
        ["--profile", "x"],
        ["--kubeconfig", "/tmp/k"],
        ["--timeout", "5"],
    ] {
        let o = run(&["check", "--snapshot", &lbc, flag[0], flag[1]]);
        assert_eq!(o.status.code(), Some(2), "{flag:?}");
        let e = stderr(&o);
        assert!(e.contains(flag[0]) && e.contains("--snapshot"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        let o = run(&[flag[0], flag[1], "check", "--snapshot", &lbc]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "before the subcommand too: {flag:?}"
        );
    }
    // A global flag the subcommand does not use.
    let o = run(&["-n", "x", "rules"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("-n/--namespace does not apply to `rules`"));
    let o = run(&["collect", "-o", "json", "-d", "/tmp/never-written"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--output-dir/-d"), "{}", stderr(&o));
    let o = run(&["collect", "-o", "/tmp/bundle"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("tip: collect writes its files to --output-dir/-d"));
    let o = run(&["collect", "--help"]);
    assert!(stdout(&o).contains("-d, --output-dir <DIR>"));
    // --sdk with an unknown SDK name lists the known ones.
    let o = run(&["check", "--snapshot", &lbc, "--sdk", "boto4=1.0"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("unknown SDK `boto4`") && e.contains("boto3"),
        "{e}"
    );
    let o = run(&["check", "--snapshot", &lbc, "--sdk", "boto3=latest"]);
    assert_eq!(o.status.code(), Some(2));
    // The report flags are check's: -q shapes the text report, so it is refused next to
    // a document format (which always carries every finding); other subcommands refuse
    // --allow-gaps and -q.
    for format in ["json", "yaml"] {
        let o = run(&["check", "--snapshot", &lbc, "-q", "-o", format]);
        assert_eq!(o.status.code(), Some(2), "-q -o {format}");
        let e = stderr(&o);
        assert!(
            e.contains("-q/--errors-only") && e.contains(&format!("-o {format}")),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(o.stdout.is_empty());
    }
    for args in [
        vec!["explain", "AccessDenied", "--allow-gaps"],
        vec!["rules", "--allow-gaps"],
        vec!["explain", "AccessDenied", "-q"],
        vec!["rules", "--fail-on", "warning"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains("unexpected argument"), "{args:?}");
    }
    // --allow-gaps means the same in text and JSON: the exit status of the findings.
    let gappy = tempfile::tempdir().unwrap();
    copy_dir(&PathBuf::from(&lbc), gappy.path());
    std::fs::remove_file(gappy.path().join("iam-get-role.json")).unwrap();
    let gappy = gappy.path().display().to_string();
    for format in ["text", "json"] {
        let o = run(&["check", "--snapshot", &gappy, "-o", format]);
        assert_eq!(o.status.code(), Some(2), "{format}: {}", stderr(&o));
        let o = run(&["check", "--snapshot", &gappy, "-o", format, "--allow-gaps"]);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", stderr(&o));
    }
    // check --help says it runs live without --snapshot.
    let o = run(&["check", "--help"]);
    assert!(stdout(&o).contains("Without --snapshot, check runs live"));
    // The JSON schema names in the help are the ones printed.
    let help = stdout(&run(&["--help"]));
    for (args, schema) in [
        (
            vec!["check", "--snapshot", &lbc, "-o", "json"],
            "irsa-doctor/report/v1",
        ),
        (
            vec!["explain", "AccessDenied", "-o", "json"],
            "irsa-doctor/explain/v1",
        ),
        (vec!["rules", "-o", "json"], "irsa-doctor/rules/v1"),
    ] {
        let v: Value = serde_json::from_str(&stdout(&run(&args))).unwrap();
        assert_eq!(v["schema"], schema);
        assert!(help.contains(schema), "help names {schema}");
    }
    // -o yaml: the same document as JSON.
    let j: Value = serde_json::from_str(&stdout(&after)).unwrap();
    let y = run(&[
        "check",
        "--snapshot",
        &lbc,
        "-n",
        "kube-system",
        "-o",
        "yaml",
    ]);
    assert_eq!(y.status.code(), Some(1));
    let y: Value = serde_yaml_ng::from_str(&stdout(&y)).unwrap();
    assert_eq!(y, j);
}

/// Installed as the kubectl plugin `kubectl-irsa_doctor`, usage lines read
/// `kubectl irsa-doctor …`.
#[test]
fn kubectl_plugin_usage_line() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("kubectl-irsa_doctor");
    // A symlink, as krew installs it (a copy could still be open for writing when
    // another test thread forks: "text file busy").
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_irsa-doctor"), &plugin).unwrap();
    let o = Command::new(&plugin).arg("--help").output().unwrap();
    assert!(
        stdout(&o).contains("Usage: kubectl irsa-doctor [OPTIONS] <COMMAND>"),
        "{}",
        stdout(&o)
    );
    let o = Command::new(&plugin)
        .args(["check", "--frobnicate"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("Usage: kubectl irsa-doctor check"),
        "{}",
        stderr(&o)
    );
    let o = run(&["--help"]);
    assert!(stdout(&o).contains("Usage: irsa-doctor [OPTIONS] <COMMAND>"));
}

/// Completions for every shell clap_complete knows, a roff man page, and --version
/// with the commit when built from git.
#[test]
fn completions_man_page_and_version() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = run(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let s = stdout(&o);
        assert!(s.contains("irsa-doctor"), "{shell}");
        for sub in ["check", "explain", "collect", "snapshot", "output-dir"] {
            assert!(s.contains(sub), "{shell} completes {sub}");
        }
    }
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
    if Command::new("bash").arg("--version").output().is_ok() {
        let o = run(&["completions", "bash"]);
        let st = Command::new("bash")
            .arg("-n")
            .arg("-c")
            .arg(stdout(&o))
            .status()
            .unwrap();
        assert!(st.success(), "the bash completion script parses");
    }
    let o = run(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let man = stdout(&o);
    assert!(
        man.starts_with(".ie") || man.contains(".TH irsa-doctor 1"),
        "{man}"
    );
    assert!(man.contains(".SH SYNOPSIS") && man.contains("check"));
    let dir = tempfile::tempdir().unwrap();
    let o = run(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    for page in [
        "irsa-doctor.1",
        "irsa-doctor-check.1",
        "irsa-doctor-collect.1",
    ] {
        let p = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(p.contains(".TH"), "{page}");
    }
    let o = run(&["--version"]);
    let v = stdout(&o);
    assert!(
        v.starts_with(&format!("irsa-doctor {}", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Ok(h) = head {
        if h.status.success() {
            let h = String::from_utf8_lossy(&h.stdout).trim().to_string();
            assert!(v.contains(&format!("({h})")), "{v} names commit {h}");
        }
    }
}

/// Fixes act in the right place: an `aws iam` fix for another account's resource runs
/// only under that account's credentials (checked with sts get-caller-identity), and a
/// fix with placeholders is a template, never a ready command.
#[test]
fn fixes_act_in_the_right_account_and_templates_are_marked() {
    let o = run(&[
        "check",
        "--snapshot",
        &examples("many-problems"),
        "-o",
        "json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let fixes: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["fix"].as_array().unwrap())
        .collect();
    // The cross-account provider (the etl role lives in 444455556666; the snapshot's
    // credentials are 111122223333's).
    let create = fixes
        .iter()
        .find(|f| {
            f["command"]
                .as_str()
                .is_some_and(|c| c.contains("create-open-id-connect-provider"))
        })
        .expect("a provider to create");
    assert_eq!(create["account"], "444455556666");
    let cmd = create["command"].as_str().unwrap();
    // Run it with a stand-in aws: only the right account creates anything.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("aws");
    std::fs::write(
        &fake,
        "#!/bin/sh\nif [ \"$1 $2\" = \"sts get-caller-identity\" ]; then echo \"$FAKE_ACCOUNT\"; else echo \"$*\" >> \"$LOG\"; fi\n",
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&fake).status().unwrap();
    for (account, creates) in [("111122223333", false), ("444455556666", true)] {
        let log = dir.path().join(format!("{account}.log"));
        let o = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    dir.path().display(),
                    std::env::var("PATH").unwrap()
                ),
            )
            .env("FAKE_ACCOUNT", account)
            .env("LOG", &log)
            .output()
            .unwrap();
        assert_eq!(log.exists(), creates, "{account}: {cmd}");
        if !creates {
            assert!(String::from_utf8_lossy(&o.stderr).contains("switch to account 444455556666"));
        }
    }
    // A fix without an account carries no account guard, and every aws write has one:
    // the same-named role of the snapshot's own account too (reports-exporter, in
    // 111122223333, the credentials' account), which a shell on a staging profile
    // would otherwise rewrite there.
    for f in &fixes {
        let Some(cmd) = f["command"].as_str() else {
            // Advice spelling out a template names where it must run.
            if f.get("account").is_some() {
                assert!(f["summary"].as_str().unwrap().ends_with(&format!(
                    "(run it with account {}'s credentials)",
                    f["account"].as_str().unwrap()
                )));
            }
            continue;
        };
        assert_eq!(
            f.get("account").is_some(),
            cmd.contains("get-caller-identity"),
            "{f}"
        );
        if cmd.lines().any(|l| {
            l.starts_with("aws iam ")
                && !l.starts_with("aws iam get-")
                && !l.starts_with("aws iam list-")
        }) {
            assert!(f.get("account").is_some(), "unguarded write: {f}");
        }
    }
    let trust = fixes
        .iter()
        .find(|f| {
            f["command"]
                .as_str()
                .is_some_and(|c| c.contains("--role-name reports-exporter"))
        })
        .expect("the reports-exporter trust fix");
    assert_eq!(trust["account"], "111122223333");
    let trust_cmd = trust["command"].as_str().unwrap();
    // kubectl writes: guarded by the cluster's API server.
    let endpoint = "https://5C5E2D1A0C1E4B2C8F6B0E7D9A3B1C2D.gr7.us-east-1.eks.amazonaws.com";
    let restart = fixes
        .iter()
        .find(|f| {
            f["command"]
                .as_str()
                .is_some_and(|c| c.ends_with("kubectl rollout restart deployment/api -n payments"))
        })
        .expect("a rollout restart");
    assert_eq!(restart["cluster"]["endpoint"], endpoint);
    assert_eq!(restart["cluster"]["name"], "shop-use1");
    assert!(restart.get("account").is_none());
    for f in &fixes {
        let cmd = f["command"].as_str().unwrap_or_default();
        if cmd.contains("kubectl ") {
            assert!(
                cmd.starts_with(&format!(
                    "[ \"$(kubectl config view --minify -o jsonpath='{{.clusters[0].cluster.server}}')\" = {endpoint} ] ||"
                )),
                "{cmd}"
            );
        }
    }
    std::fs::write(
        dir.path().join("kubectl"),
        "#!/bin/sh\nif [ \"$1 $2\" = \"config view\" ]; then printf %s \"$FAKE_SERVER\"; else echo \"$*\" >> \"$LOG\"; fi\n",
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(dir.path().join("kubectl"))
        .status()
        .unwrap();
    for (cmd, account, server, runs) in [
        (trust_cmd, "111122223333", endpoint, true),
        (trust_cmd, "444455556666", endpoint, false),
        (
            restart["command"].as_str().unwrap(),
            "444455556666",
            endpoint,
            true,
        ),
        (
            restart["command"].as_str().unwrap(),
            "111122223333",
            "https://0A1B2C3D4E5F60718293A4B5C6D7E8F9.gr7.us-east-1.eks.amazonaws.com",
            false,
        ),
    ] {
        let log = dir.path().join("run.log");
        let _ = std::fs::remove_file(&log);
        let o = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(dir.path())
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    dir.path().display(),
                    std::env::var("PATH").unwrap()
                ),
            )
            .env("FAKE_ACCOUNT", account)
            .env("FAKE_SERVER", server)
            .env("LOG", &log)
            .output()
            .unwrap();
        assert_eq!(log.exists(), runs, "{account} {server}: {cmd}");
        assert_eq!(o.status.success(), runs, "{cmd}");
        if !runs {
            assert!(String::from_utf8_lossy(&o.stderr).contains("not run: "));
        }
    }
    // Templates: marked, with their placeholders.
    let template = fixes
        .iter()
        .find(|f| f["summary"].as_str().unwrap().contains("<its ARN>"))
        .expect("a fix with a placeholder");
    assert_eq!(template["template"], true);
    assert_eq!(template["placeholders"], serde_json::json!(["<its ARN>"]));
    for f in &fixes {
        let text = format!("{}{}", f["summary"], f["command"]);
        if f["template"] != true {
            assert!(
                irsa_rules::fix_target::placeholders(&text).is_empty()
                    || !(text.contains("aws ") || text.contains("kubectl ")),
                "unmarked placeholder: {f}"
            );
        }
    }
}

/// Without `aws eks describe-cluster` in the snapshot, a kubectl fix cannot check
/// kubectl's context: it says where to run it instead (text and JSON), and aws writes
/// are still guarded by the account the snapshot names.
#[test]
fn a_fix_for_an_undescribed_cluster_says_where_to_run_it() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    copy_dir(std::path::Path::new(&examples("many-problems")), &snap);
    std::fs::remove_file(snap.join("eks-describe-cluster.json")).unwrap();
    let snap = snap.to_string_lossy().to_string();
    let o = run(&[
        "check",
        "--snapshot",
        &snap,
        "--issuer",
        "https://oidc.eks.us-east-1.amazonaws.com/id/5C5E2D1A0C1E4B2C8F6B0E7D9A3B1C2D",
        "-o",
        "json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let fixes: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["fix"].as_array().unwrap())
        .collect();
    let kubectl: Vec<&&Value> = fixes
        .iter()
        .filter(|f| {
            f["command"]
                .as_str()
                .is_some_and(|c| c.contains("kubectl "))
        })
        .collect();
    assert!(kubectl.len() >= 5, "{}", kubectl.len());
    for f in kubectl {
        assert_eq!(f["cluster"], serde_json::json!({}), "{f}");
        assert!(
            f["summary"]
                .as_str()
                .unwrap()
                .ends_with("(with kubectl's current context on the cluster this snapshot was taken from: the snapshot does not describe the cluster, so the command cannot check that)"),
            "{f}"
        );
        assert!(
            !f["command"].as_str().unwrap().contains("config view"),
            "{f}"
        );
    }
    let trust = fixes
        .iter()
        .find(|f| {
            f["command"]
                .as_str()
                .is_some_and(|c| c.contains("--role-name reports-exporter"))
        })
        .unwrap();
    assert_eq!(trust["account"], "111122223333");
    let text = stdout(&run(&[
        "check",
        "--snapshot",
        &snap,
        "--issuer",
        "https://oidc.eks.us-east-1.amazonaws.com/id/5C5E2D1A0C1E4B2C8F6B0E7D9A3B1C2D",
        "--color",
        "never",
    ]));
    assert!(
        text.contains("the cluster this snapshot was taken from"),
        "{text}"
    );
}

/// The report leads with the answer: the verdict per ServiceAccount first; passes
/// collapsed unless -v; -q keeps errors only; text wraps to COLUMNS with a hanging
/// indent while fix commands stay whole and flush left; the thumbprint note only with
/// -v, once; plurals agree with their counts; the first 80×24 screen names the broken
/// link and the fix.
#[test]
fn report_leads_with_the_answer() {
    let lbc = examples("lbc-webidentityerr");
    let o = bin()
        .args(["check", "--snapshot", &lbc])
        .env("COLUMNS", "80")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let out = stdout(&o);
    let screen: Vec<&str> = out.lines().take(24).collect();
    let verdict = screen
        .iter()
        .position(|l| l.starts_with("✘ kube-system/aws-load-balancer-controller: AccessDenied"))
        .expect("the verdict");
    assert!(verdict <= 2, "the verdict comes first: {out}");
    assert!(screen.join("\n").contains("[IRSA203]"));
    assert!(
        screen
            .iter()
            .any(|l| l.contains("fix: correct the trust policy")),
        "{out}"
    );
    assert!(
        screen.iter().any(|l| l.starts_with("cat > trust-")),
        "{out}"
    );
    // Wrapped to 80 with a hanging indent, commands whole.
    let cmd_start = out
        .lines()
        .position(|l| l.starts_with("cat > trust-"))
        .unwrap();
    for (i, l) in out.lines().enumerate() {
        if i < cmd_start {
            assert!(
                l.chars().count() <= 80
                    || !l.contains(' ')
                    || l.split(' ').any(|w| w.chars().count() > 60),
                "{l:?}"
            );
        }
    }
    assert!(
        out.lines().nth(verdict + 1).unwrap().starts_with("  "),
        "hanging indent"
    );
    assert!(out.lines().any(|l| l.starts_with("aws iam update-assume-role-policy --role-name AmazonEKSLoadBalancerControllerRole --policy-document file://")));
    // Passes collapsed; the thumbprint note hidden; plurals right.
    assert!(!out.contains("✔ role arn:"), "{out}");
    // (The role's policy documents are not in the example: that gap is listed.)
    assert!(
        out.contains("Roles ? 1 not checked · ✔ 1 check passed"),
        "{out}"
    );
    // A section's header leads with what is wrong in it: never a bare "passed" above an error.
    assert!(
        out.contains("ServiceAccounts ✘ 1 error · ✔ 3 checks passed"),
        "{out}"
    );
    for l in out
        .lines()
        .filter(|l| l.contains("passed") && !l.starts_with(' '))
    {
        assert!(!l.starts_with("ServiceAccounts ✔"), "{l}");
    }
    assert!(!out.contains("thumbprint"), "{out}");
    assert!(!out.contains("(s)"), "{out}");
    // One verdict, at the top: no second verdict block at the bottom.
    assert_eq!(
        out.matches("✘ kube-system/aws-load-balancer-controller")
            .count(),
        1,
        "{out}"
    );
    assert!(!out.contains("Verdict"), "{out}");
    // Last, what was checked and the counts, plurals resolved.
    assert_eq!(
        out.lines().last(),
        Some("1 error, 0 warnings, 2 info · 9 checks passed (-v shows them and the notes)"),
        "{out}"
    );
    let checked = &out[out.rfind("\nchecked: ").expect("the checked line") + 1..];
    assert_eq!(
        checked.replace("\n  ", " "),
        "checked: 2 ServiceAccounts, 1 role, 2 pods, 1 workload; 1 of 1 role chain decided end to end\n\
         1 error, 0 warnings, 2 info · 9 checks passed (-v shows them and the notes)\n",
        "{out}"
    );
    // -v: every pass and the note, once.
    let v = stdout(&run(&[
        "check",
        "--snapshot",
        &lbc,
        "-v",
        "--color",
        "never",
    ]));
    assert!(v.contains(
        "✔ role arn:aws:iam::111122223333:role/AmazonEKSLoadBalancerControllerRole exists"
    ));
    assert!(v.contains("✔ 2 pods of kube-system/aws-load-balancer-controller carry"));
    assert_eq!(v.matches("IAM verifies EKS issuers").count(), 1);
    // A snapshot with every kind of verdict: the healthy example plus a ServiceAccount
    // its role does not trust (fails) and one whose role was not collected (not checked).
    let mix = tempfile::tempdir().unwrap();
    copy_dir(&PathBuf::from(examples("healthy")), mix.path());
    let sa: Value =
        serde_json::from_str(&std::fs::read_to_string(mix.path().join("k8s/sa.json")).unwrap())
            .unwrap();
    for (name, role) in [
        (
            "batch",
            "arn:aws:iam::391252439823:role/orders-use2-inventory-api",
        ),
        ("reports", "arn:aws:iam::391252439823:role/not-collected"),
    ] {
        let mut twin = sa.clone();
        twin["metadata"]["name"] = name.into();
        twin["metadata"]["uid"] = name.into();
        twin["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] = role.into();
        std::fs::write(
            mix.path().join(format!("k8s/sa-{name}.json")),
            twin.to_string(),
        )
        .unwrap();
    }
    let mix = mix.path().display().to_string();
    let full = stdout(&run(&["check", "--snapshot", &mix, "--color", "never"]));
    // Failing first, then not checked, then working; one line each.
    let verdicts: Vec<&str> = full
        .lines()
        .filter(|l| {
            ["✘ ", "? ", "! ", "- ", "✔ "]
                .iter()
                .any(|m| l.starts_with(m))
        })
        .collect();
    assert_eq!(verdicts.len(), 3, "{full}");
    assert!(
        verdicts[0].starts_with("✘ inventory/batch: AccessDenied — "),
        "{full}"
    );
    assert!(verdicts[0].ends_with("[IRSA203]"), "{full}");
    assert!(
        verdicts[1].starts_with("? inventory/reports: not checked: "),
        "{full}"
    );
    assert!(
        verdicts[2].starts_with("✔ inventory/inventory-api: credentials issued"),
        "{full}"
    );
    // -q: errors only: the failing verdict, no other verdict, no warning or note.
    let q = stdout(&run(&[
        "check",
        "--snapshot",
        &mix,
        "-q",
        "--color",
        "never",
    ]));
    assert!(q.contains("✘ inventory/batch: AccessDenied"), "{q}");
    assert!(!q.contains("✔ inventory/inventory-api"), "{q}");
    assert!(!q.contains("? inventory/reports"), "{q}");
    assert!(
        !q.lines()
            .any(|l| l.trim_start().starts_with("! ") || l.trim_start().starts_with("i ")),
        "{q}"
    );
    assert!(q.contains("(-q: errors only)"));
    let many = examples("many-problems");
    let full = stdout(&run(&["check", "--snapshot", &many, "--color", "never"]));
    assert_eq!(
        run(&["check", "--snapshot", &many, "-q", "-v"])
            .status
            .code(),
        Some(2)
    );
    // A template is never printed as a ready command.
    for l in full.lines() {
        if !l.starts_with(' ') && !l.starts_with('#') {
            assert!(
                irsa_rules::fix_target::placeholders(l).is_empty(),
                "ready-looking template: {l}"
            );
        }
    }
    assert!(full.contains("fix (template: replace <its ARN> first):"));
}

const LBC_DENIED: &str = "WebIdentityErr: failed to retrieve credentials caused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity";

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

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

#[test]
fn section_headers_lead_with_what_is_wrong() {
    let o = run(&[
        "check",
        "--snapshot",
        &examples("many-problems"),
        "--color",
        "never",
    ]);
    let out = stdout(&o);
    let titles = [
        "Cluster & OIDC provider",
        "Roles",
        "ServiceAccounts",
        "Workloads & pods",
    ];
    let lines: Vec<&str> = out.lines().collect();
    let mut seen = 0;
    for (i, l) in lines.iter().enumerate() {
        let Some(title) = titles.iter().find(|t| l.starts_with(*t)) else {
            continue;
        };
        seen += 1;
        let body: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|b| !b.is_empty())
            .copied()
            .collect();
        let count = |mark: &str| {
            body.iter()
                .filter(|b| b.trim_start().starts_with(&format!("{mark} ")))
                .count()
        };
        let header = &l[title.len()..];
        for (mark, noun) in [("✘", "error"), ("!", "warning"), ("?", "not checked")] {
            let n = count(mark);
            if n > 0 {
                assert!(
                    header.contains(&format!("{mark} {n} {noun}")),
                    "{l:?} above {n} {mark}:\n{}",
                    body.join("\n")
                );
            }
        }
        // The counts come first: a "passed" never leads a header above a finding.
        if body.iter().any(|b| b.starts_with("  ")) && header.contains('✔') {
            assert!(!header.trim_start().starts_with('✔'), "{l:?}");
        }
    }
    assert_eq!(seen, 4, "{out}");
}
