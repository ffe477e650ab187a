//! The documented least privilege (docs/iam-policy.json, docs/rbac.yaml) grants
//! exactly what the collectors call: nothing missing, nothing extra, read-only.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn doc(name: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs")
            .join(name),
    )
    .unwrap()
}

#[test]
fn iam_policy_grants_exactly_the_collected_actions() {
    let v: serde_json::Value = serde_json::from_str(&doc("iam-policy.json")).unwrap();
    let granted: BTreeSet<&str> = v["Statement"][0]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let used: BTreeSet<&str> = irsa_collect::AWS_ACTIONS.into_iter().collect();
    assert_eq!(granted, used);
    for a in &granted {
        let op = a.split(':').nth(1).unwrap();
        assert!(
            op.starts_with("Get") || op.starts_with("List") || op.starts_with("Describe"),
            "{a} is not read-only"
        );
    }
}

#[test]
fn rbac_grants_exactly_get_and_list_on_the_collected_resources() {
    let v: serde_json::Value = serde_yaml_ng::from_str(&doc("rbac.yaml")).unwrap();
    let mut granted = BTreeSet::new();
    for rule in v["rules"].as_array().unwrap() {
        let verbs: BTreeSet<&str> = rule["verbs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        assert!(
            verbs.iter().all(|v| *v == "get" || *v == "list"),
            "{verbs:?}"
        );
        if let Some(groups) = rule["apiGroups"].as_array() {
            for g in groups {
                for r in rule["resources"].as_array().unwrap() {
                    granted.insert((
                        g.as_str().unwrap().to_string(),
                        r.as_str().unwrap().to_string(),
                    ));
                }
            }
        }
    }
    let used: BTreeSet<(String, String)> = irsa_collect::KUBERNETES_RESOURCES
        .iter()
        .map(|(g, r)| (g.to_string(), r.to_string()))
        .collect();
    assert_eq!(granted, used);
}
