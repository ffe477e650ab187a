//! What the trust-policy engine's document problems and undetermined denials look like
//! to users: the real healthy sample (examples/healthy) with its trust policy edited,
//! through the whole check. Each case has its healthy twin in the same test.

use irsa_model::{ContextFlags, Loader};
use irsa_rules::{check, Options, Report, Scope, Severity};
use serde_json::{json, Value};
use std::path::PathBuf;

const PROVIDER: &str = "arn:aws:iam::391252439823:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/C9013FD37C32992483E5BAA666194EC2";
const ACCESS_DENIED: &str = "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity";

fn sample(rel: &str) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/healthy");
    serde_json::from_str(&std::fs::read_to_string(dir.join(rel)).unwrap()).unwrap()
}

/// The healthy sample with `edit` applied to the role's trust policy.
fn run(edit: impl FnOnce(&mut Value)) -> Report {
    let mut l = Loader::new(ContextFlags::default());
    for rel in [
        "aws/eks-describe-cluster.json",
        "aws/iam-get-open-id-connect-provider.json",
        "aws/iam-list-open-id-connect-providers.json",
        "aws/sts-get-caller-identity.json",
        "k8s/deployment.json",
        "k8s/mutatingwebhookconfiguration.json",
        "k8s/pods.json",
        "k8s/rs.json",
        "k8s/sa.json",
    ] {
        l.add_text(rel, &sample(rel).to_string());
    }
    let mut role = sample("aws/iam-get-role-orders-use2-inventory-api.json");
    edit(&mut role["Role"]["AssumeRolePolicyDocument"]);
    l.add_text("role.json", &role.to_string());
    let snap = l.finish();
    assert!(
        snap.inputs.rejected.is_empty(),
        "{:?}",
        snap.inputs.rejected
    );
    check(&snap, &Scope::default(), &Options::default())
}

fn find<'a>(r: &'a Report, rule: &str) -> Vec<&'a irsa_rules::Finding> {
    r.findings.iter().filter(|f| f.rule == rule).collect()
}

fn dump(r: &Report) -> String {
    r.findings
        .iter()
        .map(|f| format!("{:?} {} {}", f.severity, f.rule, f.message.render()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// IAM user guide, NotPrincipal: "You cannot use the NotPrincipal element in an IAM
/// identity-based policy or in an IAM role trust policy."
#[test]
fn not_principal_is_an_error_predicting_malformed_policy_document_never_a_pass() {
    let r = run(|doc| {
        let st = &mut doc["Statement"][0];
        st.as_object_mut().unwrap().remove("Principal");
        st["NotPrincipal"] = json!({"Federated": "arn:aws:iam::391252439823:oidc-provider/oidc.eks.us-east-2.amazonaws.com/id/OTHER"});
    });
    let f = find(&r, "IRSA206");
    let np: Vec<_> = f
        .iter()
        .filter(|f| f.message.render().contains("NotPrincipal"))
        .collect();
    assert_eq!(np.len(), 1, "{}", dump(&r));
    assert_eq!(np[0].severity, Severity::Error);
    assert!(np[0]
        .predicted_error
        .as_deref()
        .is_some_and(|e| e.starts_with("MalformedPolicyDocument")));
    assert!(
        np[0].fix.iter().any(|f| f.summary.contains(&format!(
            r#"replace `NotPrincipal` with `"Principal": {{"Federated": "{PROVIDER}"}}`"#
        ))),
        "{:?}",
        np[0].fix
    );
    assert!(
        !matches!(
            r.chains[0].prediction,
            irsa_policy::StsPrediction::Success { .. }
        ),
        "a trust policy IAM refuses must not predict success"
    );
    // Twin: the sample as it is has no such finding.
    let healthy = run(|_| {});
    assert!(find(&healthy, "IRSA206").is_empty(), "{}", dump(&healthy));
}

/// IAM policy grammar, `action_string`: a service namespace, a colon, and an action
/// name that may hold wildcards: `*:AssumeRoleWithWebIdentity` is not one.
#[test]
fn wildcard_service_prefix_is_an_error_predicting_malformed_policy_document() {
    let r = run(|doc| doc["Statement"][0]["Action"] = json!("*:AssumeRoleWithWebIdentity"));
    let f: Vec<_> = find(&r, "IRSA206")
        .into_iter()
        .filter(|f| f.message.render().contains("*:AssumeRoleWithWebIdentity"))
        .collect();
    assert_eq!(f.len(), 1, "{}", dump(&r));
    assert_eq!(f[0].severity, Severity::Error);
    assert!(f[0]
        .predicted_error
        .as_deref()
        .is_some_and(|e| e.starts_with("MalformedPolicyDocument")));
    assert!(
        f[0].fix.iter().any(|x| x.summary.contains(
            "replace `*:AssumeRoleWithWebIdentity` with `sts:AssumeRoleWithWebIdentity`"
        )),
        "{:?}",
        f[0].fix
    );
    assert!(!matches!(
        r.chains[0].prediction,
        irsa_policy::StsPrediction::Success { .. }
    ));
    // Twin: a wildcard in the action name is fine.
    let ok = run(|doc| doc["Statement"][0]["Action"] = json!("sts:AssumeRoleWith*"));
    assert!(find(&ok, "IRSA206").is_empty(), "{}", dump(&ok));
}

/// Policy evaluation logic: no Allow applies, so the request is denied whether or not
/// the Deny (on `aws:SourceIp`, unknown offline) applies. Reported as denied
/// (AccessDenied) with the Deny named as one that may also apply.
#[test]
fn an_undetermined_deny_without_an_allow_is_a_denial() {
    let deny = json!({"Effect": "Deny", "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}});
    let broken_sub = |doc: &mut Value| {
        doc["Statement"][0]["Condition"]["StringEquals"]
            ["oidc.eks.us-east-2.amazonaws.com/id/C9013FD37C32992483E5BAA666194EC2:sub"] =
            json!("system:serviceaccount:inventory:other");
    };
    let r = run(|doc| {
        broken_sub(doc);
        doc["Statement"].as_array_mut().unwrap().push(deny.clone());
    });
    let may: Vec<_> = find(&r, "IRSA207")
        .into_iter()
        .filter(|f| f.message.render().contains("may also deny"))
        .collect();
    assert_eq!(may.len(), 1, "{}", dump(&r));
    assert_eq!(may[0].predicted_error.as_deref(), Some(ACCESS_DENIED));
    assert!(
        r.findings
            .iter()
            .any(|f| f.rule == "IRSA203" && f.severity == Severity::Error),
        "the Allow's own problem is still reported:\n{}",
        dump(&r)
    );
    match &r.chains[0].prediction {
        irsa_policy::StsPrediction::Error(e) => assert_eq!(e.text(), ACCESS_DENIED),
        other => panic!("expected AccessDenied, got {other:?}"),
    }
    // Twin: with the Allow intact the same Deny makes the answer "not checked".
    let r = run(|doc| doc["Statement"].as_array_mut().unwrap().push(deny.clone()));
    assert!(find(&r, "IRSA207").is_empty(), "{}", dump(&r));
    assert!(
        r.findings.iter().any(|f| f.rule == "IRSA210"),
        "{}",
        dump(&r)
    );
    assert!(matches!(
        r.chains[0].prediction,
        irsa_policy::StsPrediction::Undetermined { .. }
    ));
}
