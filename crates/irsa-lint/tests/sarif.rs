//! SARIF output: valid against the OASIS SARIF 2.1.0 schema for every fixture,
//! complete rule metadata, exact regions, and fingerprints that stay put.

use irsa_lint::{lint, lint_paths, sarif, Config, LintOptions, Source};
use irsa_model::ContextFlags;
use serde_json::Value;
use std::path::{Path, PathBuf};

const SCHEMA_SHA256: &str = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e";

fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-schema-2.1.0.json")
}

struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    fn new() -> Validator {
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(schema_path()).unwrap()).unwrap();
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let url = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
        compiler.add_resource(url, schema).unwrap();
        let index = compiler.compile(url, &mut schemas).unwrap();
        Validator { schemas, index }
    }

    fn check(&self, what: &str, log: &Value) {
        if let Err(e) = self.schemas.validate(log, self.index) {
            panic!("{what}: SARIF does not validate: {e:#}");
        }
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/lint")
        .join(name)
}

fn run(name: &str) -> irsa_lint::LintReport {
    let dir = fixture(name);
    let config = std::fs::read_to_string(dir.join("irsa-doctor.toml"))
        .map(|t| Config::parse(&t).unwrap())
        .unwrap_or_default();
    let flags = if name.starts_with("cdk") || name.starts_with("cloudformation") {
        ContextFlags {
            account: Some("111122223333".into()),
            region: Some("us-west-2".into()),
            ..ContextFlags::default()
        }
    } else {
        ContextFlags::default()
    };
    let namespace = name.starts_with("helm").then(|| "kube-system".to_string());
    lint_paths(
        &[dir],
        &LintOptions {
            flags,
            namespace,
            config,
        },
    )
}

const FIXTURES: &[&str] = &[
    "helm-terraform/broken",
    "helm-terraform/fixed",
    "terraform/broken",
    "terraform/fixed",
    "terraform-unknown",
    "cloudformation/broken",
    "cloudformation/fixed",
    "cdk/broken",
    "cdk/fixed",
    "kustomize/broken",
    "kustomize/fixed",
    "eksctl/broken",
    "eksctl/fixed",
];

#[test]
fn the_vendored_schema_is_the_oasis_file() {
    // sha256 of the OASIS errata01 schema (see tests/schemas/README.md); computed with
    // the system's sha256sum where present, so the check needs no crypto crate.
    let out = std::process::Command::new("sha256sum")
        .arg(schema_path())
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(text.starts_with(SCHEMA_SHA256), "{text}");
        }
        _ => eprintln!("sha256sum not available: checksum not verified"),
    }
    let s: Value = serde_json::from_str(&std::fs::read_to_string(schema_path()).unwrap()).unwrap();
    assert_eq!(s["id"], "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json");
}

#[test]
fn every_fixture_log_validates() {
    let v = Validator::new();
    for name in FIXTURES {
        let log = sarif::log(&run(name), "0.1.0");
        v.check(name, &log);
        assert_eq!(log["version"], "2.1.0");
    }
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    // The test above could not fail if the validator accepted anything.
    let v = Validator::new();
    let mut log = sarif::log(&run("kustomize/broken"), "0.1.0");
    log["runs"][0]["results"][0]["level"] = Value::String("fatal".into());
    assert!(v.schemas.validate(&log, v.index).is_err());
    let mut log = sarif::log(&run("kustomize/broken"), "0.1.0");
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    assert!(v.schemas.validate(&log, v.index).is_err());
}

#[test]
fn rules_carry_help_uri_text_and_default_level() {
    let log = sarif::log(&run("kustomize/broken"), "0.1.0");
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), irsa_rules::all_rules().len());
    for r in rules {
        assert!(
            r["helpUri"].as_str().unwrap().starts_with("https://"),
            "{r}"
        );
        assert!(!r["help"]["text"].as_str().unwrap().is_empty());
        assert!(matches!(
            r["defaultConfiguration"]["level"].as_str(),
            Some("error" | "warning" | "note")
        ));
    }
    let trust_sub = rules.iter().find(|r| r["id"] == "IRSA203").unwrap();
    assert!(trust_sub["helpUri"]
        .as_str()
        .unwrap()
        .ends_with("/trust_sub.md"));
    assert_eq!(trust_sub["defaultConfiguration"]["level"], "error");
    // Each result's ruleIndex names its rule.
    for res in log["runs"][0]["results"].as_array().unwrap() {
        let i = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], res["ruleId"]);
    }
}

#[test]
fn regions_point_at_the_value() {
    let log = sarif::log(&run("kustomize/broken"), "0.1.0");
    let res = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "IRSA303")
        .unwrap();
    let region = &res["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(12), Some(33))
    );
    // The region spans the annotation value.
    assert_eq!(
        region["endColumn"].as_u64(),
        Some(33 + "arn:aws:iam::111122223333:role/ orders-worker".len() as u64)
    );
    assert_eq!(log["runs"][0]["columnKind"], "unicodeCodePoints");
}

#[test]
fn fingerprints_are_stable_across_runs_and_moved_lines() {
    let text = std::fs::read_to_string(fixture("kustomize/broken/rendered.yaml")).unwrap();
    let options = LintOptions {
        config: Config::parse("[lint]\nallow-gaps = true\n").unwrap(),
        ..LintOptions::default()
    };
    let fingerprints = |t: &str| -> Vec<(String, u64, String)> {
        let log = sarif::log(
            &lint(
                &[Source {
                    path: "k/rendered.yaml".into(),
                    text: t.into(),
                }],
                vec![],
                &options,
            ),
            "0.1.0",
        );
        let mut v: Vec<_> = log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["ruleId"].as_str().unwrap().to_string(),
                    r["locations"][0]["physicalLocation"]["region"]["startLine"]
                        .as_u64()
                        .unwrap(),
                    r["partialFingerprints"]["irsaDoctorFinding/v1"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        v.sort_by(|a, b| a.2.cmp(&b.2));
        v
    };
    let a = fingerprints(&text);
    assert_eq!(a, fingerprints(&text), "same input, same fingerprints");
    let moved = fingerprints(&format!("# moved down\n\n\n{text}"));
    assert_eq!(a.len(), moved.len());
    for (x, y) in a.iter().zip(&moved) {
        assert_eq!(x.2, y.2);
        if x.1 > 1 {
            assert_eq!(x.1 + 3, y.1, "lines moved, fingerprint kept");
        }
    }
    let distinct: std::collections::BTreeSet<_> = a.iter().map(|x| &x.2).collect();
    assert_eq!(distinct.len(), a.len(), "each finding its own fingerprint");
}
