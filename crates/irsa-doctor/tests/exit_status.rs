//! The exit status of `check`, case by case (README "Output contract"): a clean run and a
//! blind run never share exit 0; a run that could not check a link in scope is
//! "incomplete" (2) unless `--allow-gaps`; every 2 comes with one line on stderr.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn examples(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn check(snapshot: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_irsa-doctor"))
        .arg("check")
        .arg("--snapshot")
        .arg(snapshot)
        .args(["--color", "never"])
        .args(extra)
        .output()
        .expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).expect("stdout is only JSON")
}

/// Exit 2, and exactly one stderr line that contains `want`.
#[track_caller]
fn two_with_one_line(o: &Output, want: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(want), "{err}");
}

fn copy_example(name: &str, to: &Path) {
    for e in std::fs::read_dir(examples(name)).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn nothing_checked_is_never_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    two_with_one_line(
        &check(&empty, &[]),
        "nothing was checked: the snapshot holds no file",
    );
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "just some text\n").unwrap();
    two_with_one_line(
        &check(&notes, &[]),
        "nothing was checked: no input is kubectl or AWS CLI output",
    );
    // Only AWS outputs: no chain can be evaluated.
    let aws = examples("healthy").join("aws");
    two_with_one_line(
        &check(&aws, &[]),
        "the snapshot holds no ServiceAccount, pod or workload",
    );
    // Every read failed (what `collect` writes when every call is denied).
    let failed = dir.path().join("failed");
    std::fs::create_dir(&failed).unwrap();
    for (f, cmd) in [
        ("sa.json", "kubectl get serviceaccounts -A -o json"),
        ("pods.json", "kubectl get pods -A -o json"),
    ] {
        std::fs::write(
            failed.join(f),
            serde_json::json!({"command": cmd, "error": "Forbidden (403): forbidden: User \"ana\" cannot list"})
                .to_string(),
        )
        .unwrap();
    }
    let o = check(&failed, &["-o", "json"]);
    two_with_one_line(&o, "every read failed (2 recorded failures");
    let v = json(&o);
    assert!(v["nothing_checked"]
        .as_str()
        .unwrap()
        .contains("every read failed"));
    assert_eq!(v["summary"]["checked"]["pods"], 0);
}

#[test]
fn a_scope_that_matches_nothing_says_so_with_the_nearest_name() {
    let snap = examples("many-problems");
    two_with_one_line(
        &check(&snap, &["-n", "payments", "--pod", "nope"]),
        "--pod nope: no pod `nope` in namespace `payments`",
    );
    two_with_one_line(
        &check(&snap, &["-n", "nosuchns"]),
        "-n nosuchns: the snapshot holds no ServiceAccount, pod or workload in namespace `nosuchns`",
    );
    two_with_one_line(
        &check(&snap, &["-n", "paymnts"]),
        "did you mean `payments`?",
    );
    two_with_one_line(
        &check(&snap, &["--service-account", "exportr"]),
        "did you mean `exporter`?",
    );
    // A pod named after its workload: the pods that start with it.
    two_with_one_line(
        &check(&snap, &["-n", "payments", "--pod", "api"]),
        "did you mean `api-6d4f8b7c9d-",
    );
    // Twin: a scope that matches is diagnosed (exit 1: the payments trust-sub error).
    let o = check(&snap, &["-n", "payments", "--pod", "api-6d4f8b7c9d-x7k2p"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn clean_and_broken_runs_and_what_was_checked() {
    let o = check(&examples("healthy"), &["-o", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).is_empty());
    let v = json(&o);
    let c = &v["summary"]["checked"];
    assert_eq!(c["serviceaccounts"], 1);
    assert_eq!(c["chains"], 1);
    assert_eq!(c["roles"], 1);
    assert_eq!(c["pods"], 3);
    assert_eq!(v["summary"]["not_checked"], 0);
    assert_eq!(v["chains"][0]["verdict"]["status"], "works");
    assert!(v["not_checked"].as_array().unwrap().is_empty());
    let o = check(&examples("lbc-webidentityerr"), &["-o", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["chains"][0]["verdict"]["status"], "fails");
    assert_eq!(v["chains"][0]["verdict"]["cause"], "trust-sub");
}

#[test]
fn a_gap_in_scope_is_incomplete_unless_allowed() {
    // The role was not collected: the chain cannot be evaluated.
    let dir = tempfile::tempdir().unwrap();
    copy_example("lbc-webidentityerr", dir.path());
    std::fs::remove_file(dir.path().join("iam-get-role.json")).unwrap();
    let o = check(dir.path(), &["-o", "json"]);
    two_with_one_line(&o, "incomplete: ");
    assert!(stderr(&o).contains("--allow-gaps"));
    assert!(
        stderr(&o).contains("incomplete: 1 link in scope"),
        "{}",
        stderr(&o)
    );
    let v = json(&o);
    assert_eq!(v["chains"][0]["verdict"]["status"], "not-checked");
    let gaps = v["not_checked"].as_array().unwrap();
    assert!(
        gaps.iter().any(|g| g["rule"] == "IRSA101"),
        "the gap is named: {gaps:?}"
    );
    // Every gap that makes the run incomplete is named at warning in the findings.
    for g in gaps {
        let named = v["findings"].as_array().unwrap().iter().any(|f| {
            f["cause"] == "collection-gap"
                && f["severity"] == "warning"
                && f["subject"] == g["subject"]
        });
        assert!(named || g.get("rule").is_none(), "{g}");
    }
    // With --allow-gaps the findings decide: no error found, so 0.
    let o = check(dir.path(), &["--allow-gaps"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // A failed read (recorded by collect) is a gap too.
    std::fs::write(
        dir.path().join("iam-get-role.json"),
        serde_json::json!({"command": "aws iam get-role --role-name AmazonEKSLoadBalancerControllerRole",
            "error": "AccessDenied: User: arn:aws:sts::111122223333:assumed-role/ReadOnly/ana is not authorized to perform: iam:GetRole on resource: role AmazonEKSLoadBalancerControllerRole"}).to_string(),
    )
    .unwrap();
    two_with_one_line(&check(dir.path(), &[]), "incomplete: ");
}

#[test]
fn rejected_input_is_2_even_with_allow_gaps_and_the_rest_is_diagnosed() {
    let dir = tempfile::tempdir().unwrap();
    copy_example("lbc-webidentityerr", dir.path());
    std::fs::write(
        dir.path().join("kubectl-get-sa.json"),
        "apiVersion: v1\nkind: List\nitems:\n\t- bad\n",
    )
    .unwrap();
    for extra in [&[][..], &["--allow-gaps"][..]] {
        let mut args = vec!["-o", "json"];
        args.extend_from_slice(extra);
        let o = check(dir.path(), &args);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            stderr(&o).contains("kubectl-get-sa.json:4:1"),
            "{}",
            stderr(&o)
        );
        let v = json(&o);
        assert!(
            v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["cause"] == "trust-sub" && f["severity"] == "error"),
            "the chain is still checked from the pods"
        );
        assert_eq!(v["chains"][0]["from_pods"], true);
    }
}

#[test]
fn many_problems_is_complete_and_exits_1() {
    let o = check(&examples("many-problems"), &["-o", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    // No ServiceAccount with a role gets a tick: every chain of that example is broken.
    for c in v["chains"].as_array().unwrap() {
        assert_eq!(c["verdict"]["status"], "fails", "{c}");
    }
}
