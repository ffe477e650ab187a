//! `irsa-doctor lint` through the real binary: exit statuses, compiler-style lines,
//! the JSON contract with locations, SARIF on stdout, the config file and bad input.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/lint")
        .join(name)
}

fn lint_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_irsa-doctor"))
        .current_dir(dir)
        .arg("lint")
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("binary runs")
}

fn out(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn broken_exits_1_fixed_exits_0_with_compiler_style_lines() {
    let o = lint_in(&fixture("kustomize/broken"), &["--color", "never"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
    assert!(
        out(&o).contains("./rendered.yaml:12:33: error[IRSA303]: annotation eks.amazonaws.com/role-arn of orders/orders-worker is `arn:aws:iam::111122223333:role/ orders-worker`"),
        "{}",
        out(&o)
    );
    let o = lint_in(&fixture("kustomize/fixed"), &["--color", "never"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("0 errors"));
}

#[test]
fn gaps_exit_2_unless_allowed() {
    // cloudformation/fixed without --account: the provider ARN is chosen at deploy.
    let dir = fixture("cloudformation/fixed");
    let o = lint_in(&dir, &["--color", "never"]);
    assert_eq!(o.status.code(), Some(2), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("pass --account"), "{}", out(&o));
    let o = lint_in(
        &dir,
        &["--account", "111122223333", "--region", "us-west-2"],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let o = lint_in(&fixture("terraform-unknown"), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("nothing to lint"), "{}", err(&o));
}

#[test]
fn json_is_report_v1_with_locations() {
    let o = lint_in(&fixture("terraform/broken"), &["--output", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let v: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["schema"], "irsa-doctor/report/v1");
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "IRSA204")
        .unwrap();
    assert_eq!(f["cause"], "trust-aud");
    assert_eq!(f["location"]["path"], "./plan.json");
    assert_eq!(f["location"]["line"], 1);
    assert!(f["location"]["column"].as_u64().unwrap() > 1);
    assert!(f["related_locations"][0]["column"].as_u64().is_some());
    assert_eq!(v["summary"]["error"], 4);
    assert_eq!(v["lint"]["checked"]["chains"], 3);
}

#[test]
fn sarif_on_stdout() {
    let o = lint_in(
        &fixture("cdk/broken"),
        &[
            "--output",
            "sarif",
            "--account",
            "111122223333",
            "--region",
            "us-west-2",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let v: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let r = &v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "IRSA201")
        .unwrap()["locations"][0]["physicalLocation"];
    assert_eq!(
        r["artifactLocation"]["uri"],
        "cdk.out/IrsaAppStack.template.json"
    );
    assert_eq!(r["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(r["region"]["startLine"], 21);
}

#[test]
fn other_subcommands_refuse_sarif() {
    let o = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"))
        .args(["rules", "--output", "sarif"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("SARIF is for `irsa-doctor lint`"),
        "{}",
        err(&o)
    );
}

#[test]
fn config_file_is_found_and_a_bad_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("kustomize/broken/rendered.yaml"),
        dir.path().join("rendered.yaml"),
    )
    .unwrap();
    let sub = dir.path().join("nested");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(
        dir.path().join("irsa-doctor.toml"),
        "[lint]\nallow-gaps = true\n[lint.rules]\nIRSA303 = \"off\"\nIRSA302 = \"off\"\nIRSA405 = \"off\"\nIRSA401 = \"off\"\n",
    )
    .unwrap();
    // Found from a subdirectory (the nearest ancestor's config applies).
    let o = lint_in(&sub, &[".."]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    std::fs::write(
        dir.path().join("irsa-doctor.toml"),
        "[lint.rules]\nIRSA777 = \"off\"\n",
    )
    .unwrap();
    let o = lint_in(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("irsa-doctor.toml") && err(&o).contains("IRSA777"),
        "{}",
        err(&o)
    );
}

#[test]
fn bad_input_is_named_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: [x\n",
    )
    .unwrap();
    let o = lint_in(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("rejected input ./broken.yaml:"),
        "{}",
        err(&o)
    );
    // A path that does not exist is named on one line; the other paths are still linted.
    std::fs::remove_file(dir.path().join("broken.yaml")).unwrap();
    std::fs::copy(
        fixture("kustomize/broken/rendered.yaml"),
        dir.path().join("rendered.yaml"),
    )
    .unwrap();
    let o = lint_in(
        dir.path(),
        &["missing-dir", "rendered.yaml", "--color", "never"],
    );
    assert_eq!(o.status.code(), Some(2));
    let stderr = err(&o);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("missing-dir"))
        .collect::<Vec<_>>();
    assert_eq!(
        lines,
        vec!["irsa-doctor: rejected input missing-dir: does not exist (lint takes files and directories)"],
        "{}",
        err(&o)
    );
    assert!(
        out(&o).contains("rendered.yaml:12:33: error[IRSA303]"),
        "the rest is linted: {}",
        out(&o)
    );
}

#[test]
fn utf16_from_powershell_is_read_and_other_encodings_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("kustomize/broken/rendered.yaml")).unwrap();
    // Windows PowerShell 5's `>`: UTF-16LE with a byte-order mark.
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(dir.path().join("rendered.yaml"), bytes).unwrap();
    let o = lint_in(dir.path(), &["--color", "never", "--allow-gaps"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
    assert!(
        out(&o).contains("./rendered.yaml:12:33: error[IRSA303]"),
        "{}",
        out(&o)
    );
    // Latin-1 is not guessed: named, with what to do.
    std::fs::write(dir.path().join("latin1.yaml"), b"name: caf\xe9\n").unwrap();
    let o = lint_in(dir.path(), &["--color", "never", "--allow-gaps"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("rejected input ./latin1.yaml: not UTF-8 text (invalid byte at offset 9): save it as UTF-8"),
        "{}",
        err(&o)
    );
    assert!(out(&o).contains("error[IRSA303]"), "the rest is linted");
}

fn repo_file(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(name),
    )
    .unwrap()
}

#[test]
fn the_github_action_lint_step_runs_and_writes_sarif() {
    let action: serde_yaml_ng::Value = serde_yaml_ng::from_str(&repo_file("action.yml")).unwrap();
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let steps = action["runs"]["steps"].as_sequence().unwrap();
    let lint = steps
        .iter()
        .find(|s| s["id"].as_str() == Some("lint"))
        .expect("a lint step");
    let script = lint["run"].as_str().unwrap();
    // Run the step's own script as the runner would, against a fixture.
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("github_output");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_irsa-doctor"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(script)
        .current_dir(fixture("kustomize"))
        .env("PATH", path)
        .env("LINT_PATHS", "broken")
        .env("LINT_ARGS", "--allow-gaps")
        .env("FAIL_ON", "error")
        .env("SARIF", dir.path().join("out.sarif"))
        .env("GITHUB_OUTPUT", &output)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(outputs.contains("exit-code=1"), "{outputs}");
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(out(&o).contains("error[IRSA303]"));
}

#[test]
fn the_pre_commit_hook_names_the_lint_command() {
    let hooks: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&repo_file(".pre-commit-hooks.yaml")).unwrap();
    let hook = &hooks.as_sequence().unwrap()[0];
    assert_eq!(hook["id"].as_str(), Some("irsa-doctor-lint"));
    assert_eq!(hook["entry"].as_str(), Some("irsa-doctor lint"));
    assert_eq!(hook["pass_filenames"].as_bool(), Some(false));
    // As pre-commit runs it: the entry, from the repository root.
    let o = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"))
        .args(["lint", "--color", "never"])
        .current_dir(fixture("eksctl/fixed"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
}

/// Every syscall of a lint run that could reach a network or change a file, traced:
/// lint opens files read-only, writes to stdout and stderr only, and makes no
/// network call — in every output format, with a config file, a rejected input and
/// every fixture kind. (strace is installed by .ci/run.)
#[test]
fn lint_is_read_only_and_offline_syscall_by_syscall() {
    let strace = ["/usr/bin/strace", "/bin/strace"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("strace is needed for this test (apt-get install strace; .ci/run installs it)");
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    for kind in [
        "helm-terraform",
        "terraform",
        "cloudformation",
        "cdk",
        "kustomize",
        "eksctl",
    ] {
        let src = fixture(&format!("{kind}/broken"));
        for e in walk(&src) {
            let to = repo.join(kind).join(e.strip_prefix(&src).unwrap());
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&e, &to).unwrap();
        }
    }
    std::fs::write(repo.join("bad.yaml"), "a: [\n").unwrap();
    std::fs::write(repo.join("irsa-doctor.toml"), "[lint]\nallow-gaps = true\n").unwrap();
    let before = tree(&repo);
    for format in ["text", "json", "sarif"] {
        let log = dir.path().join(format!("trace-{format}.txt"));
        let o = Command::new(strace)
            .args(["-f", "-qq", "-o"])
            .arg(&log)
            .args([
                "-e",
                "trace=%network,open,openat,openat2,creat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,unlink,unlinkat,mkdir,mkdirat,rmdir,truncate,ftruncate,chmod,fchmod,fchmodat,chown,fchown,fchownat,utimensat,write,pwrite64,writev,sendfile",
            ])
            .arg(env!("CARGO_BIN_EXE_irsa-doctor"))
            .args(["lint", "--account", "111122223333", "--region", "us-west-2", "-o", format, "."])
            .current_dir(&repo)
            .env("HOME", dir.path())
            .output()
            .expect("strace runs");
        assert_eq!(o.status.code(), Some(2), "{format}: {}", err(&o));
        let trace = std::fs::read_to_string(&log).unwrap();
        let calls: Vec<&str> = trace
            .lines()
            .map(|l| l.split_once(' ').map_or(l, |(_, c)| c.trim_start()))
            .collect();
        // The trace is real: the inputs were opened and the report written.
        assert!(
            calls.iter().any(|c| c.contains("plan.json\", O_RDONLY")),
            "{trace}"
        );
        assert!(calls.iter().any(|c| c.starts_with("write(1,")), "{trace}");
        for c in &calls {
            let allowed = (c.starts_with("openat(") || c.starts_with("open("))
                && c.contains("O_RDONLY")
                && !c.contains("O_CREAT")
                && !c.contains("O_TRUNC")
                || c.starts_with("write(1,")
                || c.starts_with("write(2,")
                || c.starts_with("+++ ")
                || c.starts_with("--- ");
            assert!(allowed, "{format}: lint made the call `{c}`\n{trace}");
        }
    }
    assert_eq!(tree(&repo), before, "lint changed the repository");
    let home: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| !n.starts_with("trace-"))
        .collect();
    assert_eq!(home, vec!["repo".to_string()], "lint wrote to HOME");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Every file with its content and modification time.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let m = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p.clone(), std::fs::read(&p).unwrap(), m)
        })
        .collect()
}

#[test]
fn shared_flags_mean_for_lint_what_they_mean_for_check() {
    // -n before the subcommand (a global flag, as with kubectl): the chart's
    // ServiceAccount, which names no namespace, is in kube-system.
    let dir = fixture("helm-terraform/broken");
    let o = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"))
        .current_dir(&dir)
        .args(["-n", "kube-system", "lint", "--color", "never"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("error[IRSA203]"), "{}", out(&o));
    // -n is a scope: only that namespace is reported, as `check -n` reports it.
    let all = lint_in(&fixture("terraform/broken"), &["--color", "never"]);
    assert!(out(&all).contains("ServiceAccount external-dns/external-dns"));
    let one = lint_in(
        &fixture("terraform/broken"),
        &["-n", "payments", "--color", "never"],
    );
    assert_eq!(one.status.code(), Some(1), "{}{}", out(&one), err(&one));
    assert!(out(&one).contains("payments/payments-api"), "{}", out(&one));
    assert!(
        !out(&one).contains("external-dns/external-dns"),
        "{}",
        out(&one)
    );
    assert!(
        out(&one).contains("checked 1 ServiceAccount,"),
        "{}",
        out(&one)
    );
    // A namespace with nothing in it: nothing checked, never 0.
    let none = lint_in(&fixture("terraform/broken"), &["-n", "nothing-here"]);
    assert_eq!(none.status.code(), Some(2), "{}{}", out(&none), err(&none));
    assert!(err(&none).contains("nothing to lint"), "{}", err(&none));
    // Live-mode flags do not apply to lint: refused, not ignored.
    let o = lint_in(&dir, &["--context", "prod"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("--context does not apply to `lint`"),
        "{}",
        err(&o)
    );
    // -q: errors only; warnings counted. -v: the notes too.
    let dir = fixture("eksctl/broken");
    let q = lint_in(&dir, &["-q", "--color", "never"]);
    assert!(out(&q).contains("error[IRSA303]"));
    assert!(!out(&q).contains("warning["), "{}", out(&q));
    assert!(out(&q).contains("warnings (not shown: -q)"), "{}", out(&q));
    let plain = lint_in(&dir, &["--color", "never"]);
    assert!(out(&plain).contains("warning[IRSA304]"));
    assert!(!out(&plain).contains("note["), "{}", out(&plain));
    assert!(
        out(&plain).contains("1 note (-v shows them)"),
        "{}",
        out(&plain)
    );
    let v = lint_in(&dir, &["-v", "--color", "never"]);
    assert!(out(&v).contains("note[IRSA900]"), "{}", out(&v));
    // -q shapes the text report only.
    let o = lint_in(&dir, &["-q", "-o", "sarif"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("-q/--errors-only shapes the text report"),
        "{}",
        err(&o)
    );
}
