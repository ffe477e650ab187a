//! The real healthy sample (examples/healthy, as kubectl and the AWS CLI print it), as a
//! set of files to break one link at a time, and the assertions every scenario shares.

#![allow(dead_code)]

use irsa_model::{ContextFlags, Loader, Snapshot};
use irsa_rules::{check, Cause, Options, Report, Scope, Severity};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const ACCOUNT: &str = "391252439823";
pub const ISS: &str = "oidc.eks.us-east-2.amazonaws.com/id/C9013FD37C32992483E5BAA666194EC2";
pub const ROLE: &str = "arn:aws:iam::391252439823:role/orders-use2-inventory-api";

pub struct Scenario {
    pub files: BTreeMap<&'static str, Value>,
    pub extra: Vec<(String, String)>,
    pub flags: ContextFlags,
    pub options: Options,
    pub scope: Scope,
}

pub fn healthy() -> Scenario {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/healthy");
    let read = |rel: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(rel)).unwrap()).unwrap()
    };
    let mut files = BTreeMap::new();
    for (k, rel) in [
        ("cluster", "aws/eks-describe-cluster.json"),
        ("provider", "aws/iam-get-open-id-connect-provider.json"),
        ("role", "aws/iam-get-role-orders-use2-inventory-api.json"),
        ("providers", "aws/iam-list-open-id-connect-providers.json"),
        ("caller", "aws/sts-get-caller-identity.json"),
        ("deployment", "k8s/deployment.json"),
        ("mwc", "k8s/mutatingwebhookconfiguration.json"),
        ("pods", "k8s/pods.json"),
        ("rs", "k8s/rs.json"),
        ("sa", "k8s/sa.json"),
    ] {
        files.insert(k, read(rel));
    }
    let mut s = Scenario {
        files,
        extra: vec![],
        flags: ContextFlags::default(),
        options: Options::default(),
        scope: Scope::default(),
    };
    // Permission policies, so role-permissions has its data.
    s.add(
        "attached.json",
        json!({"command": "aws iam list-attached-role-policies --role-name orders-use2-inventory-api",
               "output": {"AttachedPolicies": [{"PolicyName": "inventory-dynamodb", "PolicyArn": "arn:aws:iam::391252439823:policy/inventory-dynamodb"}]}}),
    );
    s.add(
        "inline.json",
        json!({"command": "aws iam list-role-policies --role-name orders-use2-inventory-api", "output": {"PolicyNames": []}}),
    );
    s
}

impl Scenario {
    pub fn add(&mut self, name: &str, v: Value) {
        self.extra.push((name.to_string(), v.to_string()));
    }
    /// A file of raw text (a saved error, a broken file).
    pub fn add_text(&mut self, name: &str, text: &str) {
        self.extra.push((name.to_string(), text.to_string()));
    }
    pub fn v(&mut self, k: &str) -> &mut Value {
        self.files.get_mut(k).unwrap()
    }
    pub fn trust(&mut self) -> &mut Value {
        &mut self.v("role")["Role"]["AssumeRolePolicyDocument"]
    }
    pub fn statement(&mut self) -> &mut Value {
        &mut self.trust()["Statement"][0]
    }
    pub fn sa_annotations(&mut self) -> &mut Value {
        &mut self.v("sa")["metadata"]["annotations"]
    }
    pub fn pods(&mut self) -> impl Iterator<Item = &mut Value> {
        self.v("pods")["items"].as_array_mut().unwrap().iter_mut()
    }
    pub fn template(&mut self) -> &mut Value {
        &mut self.v("deployment")["spec"]["template"]["spec"]
    }
    pub fn snapshot(&self) -> Snapshot {
        let mut l = Loader::new(self.flags.clone());
        for (k, v) in &self.files {
            l.add_text(&format!("{k}.json"), &v.to_string());
        }
        for (k, t) in &self.extra {
            l.add_text(k, t);
        }
        l.finish()
    }
    /// The report; every input must have been read.
    pub fn run(&self) -> Report {
        let snap = self.snapshot();
        assert!(
            snap.inputs.rejected.is_empty(),
            "{:?}",
            snap.inputs.rejected
        );
        rendered_in_full(check(&snap, &self.scope, &self.options))
    }
    /// The report, whatever was rejected.
    pub fn run_with_rejects(&self) -> Report {
        rendered_in_full(check(&self.snapshot(), &self.scope, &self.options))
    }
}

/// The first finding of a cause (the test fails, listing the findings, when there is none).
#[track_caller]
pub fn finding(r: &Report, cause: Cause) -> &irsa_rules::Finding {
    r.findings
        .iter()
        .find(|f| f.cause == cause)
        .unwrap_or_else(|| panic!("no {} finding:\n{}", cause.id(), dump(r)))
}

/// A pod as it is when the webhook never saw it: no injected env, no token volume or mount.
pub fn unmutate(pod: &mut Value) {
    let c = &mut pod["spec"]["containers"][0];
    c.as_object_mut().unwrap().remove("env");
    c["volumeMounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["name"] != "aws-iam-token");
    pod["spec"]["volumes"]
        .as_array_mut()
        .unwrap()
        .retain(|v| v["name"] != "aws-iam-token");
}

/// Every message (findings, passes) renders with all its parameters filled.
#[track_caller]
pub fn rendered_in_full(r: Report) -> Report {
    let unfilled = |m: &str| {
        m.match_indices('{').any(|(i, _)| {
            let rest = &m[i + 1..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            !name.is_empty() && rest[name.len()..].starts_with('}')
        })
    };
    for m in r
        .findings
        .iter()
        .map(|f| &f.message)
        .chain(r.passes.iter().map(|p| &p.message))
    {
        assert!(
            irsa_rules::messages::template(m.id).is_some(),
            "unknown message id {}",
            m.id
        );
        assert!(
            !unfilled(&m.render()),
            "unfilled placeholder: {}",
            m.render()
        );
    }
    r
}

pub fn errors(r: &Report) -> Vec<Cause> {
    r.findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.cause)
        .collect()
}

pub fn causes(r: &Report) -> Vec<Cause> {
    r.findings.iter().map(|f| f.cause).collect()
}

pub fn dump(r: &Report) -> String {
    r.findings
        .iter()
        .map(|f| {
            format!(
                "{:?} {} {} {}: {}",
                f.severity,
                f.rule,
                f.cause.id(),
                f.subject.display(),
                f.message.render()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[track_caller]
pub fn expect(r: &Report, must: &[Cause], must_not: &[Cause]) {
    let e = errors(r);
    for c in must {
        assert!(
            e.contains(c),
            "expected error {}, got:\n{}",
            c.id(),
            dump(r)
        );
    }
    for c in must_not {
        assert!(!e.contains(c), "unexpected error {}:\n{}", c.id(), dump(r));
    }
    // Every error names a fix, and every STS-related error the exact AWS text.
    for f in r.findings.iter().filter(|f| f.severity == Severity::Error) {
        assert!(
            !f.fix.is_empty(),
            "error without a fix: {} {}",
            f.rule,
            f.message.render()
        );
        let m = f.message.render();
        assert!(
            !m.contains('{') || m.contains("{\""),
            "unfilled placeholder in {}: {m}",
            f.rule
        );
    }
}

pub const TRUST: &[Cause] = &[
    Cause::TrustAction,
    Cause::TrustPrincipal,
    Cause::TrustSub,
    Cause::TrustAud,
    Cause::TrustConditionKey,
    Cause::TrustOperator,
    Cause::TrustDeny,
];
