//! The JSON Schema files in schemas/ describe what the binary prints: every JSON (and
//! YAML) output of the bundled examples validates, and the schemas are not vacuous
//! (a document missing a promised field fails; an added field passes: additive-only).

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    fn new(file: &str) -> Validator {
        let text = std::fs::read_to_string(root().join("schemas").join(file)).unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        let id = schema["$id"].as_str().unwrap().to_string();
        assert!(id.ends_with(file), "$id names the file: {id}");
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.add_resource(&id, schema).unwrap();
        let index = compiler
            .compile(&id, &mut schemas)
            .unwrap_or_else(|e| panic!("{file} compiles: {e}"));
        Validator { schemas, index }
    }

    fn check(&self, v: &Value) -> Result<(), String> {
        self.schemas
            .validate(v, self.index)
            .map_err(|e| format!("{e:#}"))
    }
}

fn output(args: &[&str]) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_irsa-doctor"))
        .args(args)
        .output()
        .unwrap();
    // 2 with a document: the report is still printed (e.g. explain on text it does
    // not recognise).
    assert!(
        matches!(o.status.code(), Some(0..=2)) && !o.stdout.is_empty(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    if args.contains(&"yaml") {
        serde_yaml_ng::from_str(&text).unwrap()
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

fn example(name: &str) -> String {
    root().join("examples").join(name).display().to_string()
}

#[test]
fn every_check_output_of_the_examples_validates() {
    let v = Validator::new("report-v1.schema.json");
    let examples: Vec<String> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir() && e.file_name() != "tools")
        .map(|e| e.path().display().to_string())
        .collect();
    assert!(examples.len() >= 3, "{examples:?}");
    let mut findings = 0;
    for ex in &examples {
        for format in ["json", "yaml"] {
            for scope in [
                vec![],
                vec!["-n", "kube-system"],
                vec!["-n", "payments", "--service-account", "api"],
            ] {
                let mut args = vec!["check", "--snapshot", ex.as_str(), "-o", format];
                args.extend(scope);
                let doc = output(&args);
                v.check(&doc).unwrap_or_else(|e| panic!("{args:?}: {e}"));
                findings += doc["findings"].as_array().unwrap().len();
            }
        }
    }
    assert!(findings > 20, "the examples exercise findings: {findings}");
}

#[test]
fn every_explain_output_validates() {
    let v = Validator::new("explain-v1.schema.json");
    let texts = [
        "WebIdentityErr: failed to retrieve credentials\ncaused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\n\tstatus code: 403",
        "InvalidIdentityToken: No OpenIDConnect provider found in your account for https://oidc.eks.us-east-1.amazonaws.com/id/5C5E2D1A0C1E4B2C8F6B0E7D9A3B1C2D",
        "An error occurred (ValidationError) when calling the AssumeRoleWithWebIdentity operation: Request ARN is invalid",
        "PermissionError: [Errno 13] Permission denied: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token'",
        "InvalidIdentityToken: Incorrect token audience",
        "something that is not an AWS error at all",
    ];
    for text in texts {
        for ctx in [None, Some("lbc-webidentityerr"), Some("many-problems")] {
            for format in ["json", "yaml"] {
                let ex;
                let mut args = vec!["explain", text, "-o", format];
                if let Some(c) = ctx {
                    ex = example(c);
                    args.extend(["--snapshot", ex.as_str()]);
                }
                let doc = output(&args);
                v.check(&doc).unwrap_or_else(|e| panic!("{args:?}: {e}"));
            }
        }
    }
}

#[test]
fn rules_outputs_validate() {
    let v = Validator::new("rules-v1.schema.json");
    v.check(&output(&["rules", "-o", "json"])).unwrap();
    for r in irsa_rules::all_rules() {
        let doc = output(&["rule", r.meta().code, "-o", "json"]);
        v.check(&doc).unwrap();
    }
}

#[test]
fn schemas_require_what_the_contract_promises_and_allow_additions() {
    let v = Validator::new("report-v1.schema.json");
    let mut doc = output(&[
        "check",
        "--snapshot",
        &example("lbc-webidentityerr"),
        "-o",
        "json",
    ]);
    // Additive-only: a new field anywhere is fine.
    doc["new_top_level_field"] = json!(1);
    doc["findings"][0]["new_field"] = json!("x");
    v.check(&doc).unwrap();
    for (path, field) in [
        (vec![], "schema"),
        (vec![], "findings"),
        (vec![], "summary"),
        (vec!["findings", "0"], "cause"),
        (vec!["findings", "0"], "severity"),
        (vec!["findings", "0"], "fix"),
        (vec!["findings", "0", "subject"], "kind"),
        (vec!["summary"], "error"),
        (vec!["summary"], "checked"),
        (vec!["summary", "checked"], "chains"),
        (vec![], "not_checked"),
        (vec![], "nothing_checked"),
        (vec!["chains", "0"], "verdict"),
        (vec!["chains", "0", "verdict"], "status"),
        (vec!["inputs"], "rejected"),
    ] {
        let mut broken = doc.clone();
        let mut at = &mut broken;
        for p in &path {
            at = match p.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*p],
            };
        }
        at.as_object_mut().unwrap().remove(field);
        assert!(
            v.check(&broken).is_err(),
            "missing {path:?}.{field} must fail"
        );
    }
    let mut wrong = doc.clone();
    wrong["findings"][0]["severity"] = json!("fatal");
    assert!(v.check(&wrong).is_err());
    let mut wrong = doc.clone();
    wrong["chains"][0]["verdict"]["status"] = json!("ok");
    assert!(
        v.check(&wrong).is_err(),
        "a verdict status outside the contract"
    );
    let mut wrong = doc.clone();
    wrong["summary"]["checked"]["pods"] = json!(-1);
    assert!(v.check(&wrong).is_err());
    let mut wrong = doc.clone();
    wrong["schema"] = json!("irsa-doctor/report/v2");
    assert!(v.check(&wrong).is_err());
    let e = Validator::new("explain-v1.schema.json");
    let mut ex = output(&[
        "explain",
        "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity",
        "-o",
        "json",
    ]);
    e.check(&ex).unwrap();
    ex.as_object_mut().unwrap().remove("causes");
    assert!(e.check(&ex).is_err());
}

#[test]
fn gaps_and_a_blind_run_validate() {
    let v = Validator::new("report-v1.schema.json");
    // The role not collected: its chain is not checked, and `not_checked` names it.
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(root().join("examples/lbc-webidentityerr")).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "iam-get-role.json" {
            std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
        }
    }
    let doc = output(&[
        "check",
        "--snapshot",
        &dir.path().display().to_string(),
        "-o",
        "json",
    ]);
    v.check(&doc).unwrap();
    let gaps = doc["not_checked"].as_array().unwrap();
    assert!(!gaps.is_empty(), "{doc:#}");
    assert_eq!(doc["summary"]["not_checked"], json!(gaps.len()));
    assert_eq!(doc["chains"][0]["verdict"]["status"], json!("not-checked"));
    // Nothing to read: `nothing_checked` says why, and the document still validates.
    let empty = tempfile::tempdir().unwrap();
    let doc = output(&[
        "check",
        "--snapshot",
        &empty.path().display().to_string(),
        "-o",
        "json",
    ]);
    v.check(&doc).unwrap();
    assert!(doc["nothing_checked"].is_string(), "{doc:#}");
    assert_eq!(doc["summary"]["checked"]["chains"], json!(0));
}

#[test]
fn every_lint_output_of_the_fixtures_validates_as_report_v1() {
    let v = Validator::new("report-v1.schema.json");
    let fixtures = root().join("examples/lint");
    for kind in [
        "helm-terraform",
        "terraform",
        "terraform-unknown",
        "cloudformation",
        "cdk",
        "kustomize",
        "eksctl",
    ] {
        for twin in ["broken", "fixed", ""] {
            let dir = fixtures.join(kind).join(twin);
            if twin.is_empty() && dir.join("broken").exists() || !dir.exists() {
                continue;
            }
            for format in ["json", "yaml"] {
                let d = dir.to_string_lossy().to_string();
                let doc = output(&[
                    "lint",
                    &d,
                    "-o",
                    format,
                    "--account",
                    "111122223333",
                    "--region",
                    "us-west-2",
                ]);
                v.check(&doc)
                    .unwrap_or_else(|e| panic!("{kind}/{twin} -o {format}: {e}"));
                // lint's additions: a location per finding.
                for f in doc["findings"].as_array().unwrap() {
                    assert!(
                        f["location"]["line"].as_u64().is_some_and(|l| l >= 1),
                        "{f}"
                    );
                }
            }
        }
    }
}
