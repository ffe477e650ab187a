//! What the context works out once for the rules (each ServiceAccount's pods, each
//! pod's role annotation) answers as the lookups it stands for do: for every pod and
//! ServiceAccount, annotated or not, in the snapshot or known only from its pods, in
//! and out of `--pod` scope, and for a pod that is a copy rather than one of the
//! snapshot's.

mod support;

use irsa_rules::context::{service_accounts_from_pods, Context, ROLE_ANNOTATION};
use irsa_rules::{Options, Scope};
use serde_json::{json, Value};

const OTHER_ROLE: &str = "arn:aws:iam::391252439823:role/orders-use2-billing";

/// The healthy sample plus: a second annotated ServiceAccount with two pods, an
/// unannotated one with a pod, and a pod of a ServiceAccount the snapshot does not
/// hold (in a namespace whose ServiceAccounts were not listed: known from the pod's
/// `AWS_ROLE_ARN`).
fn scenario() -> support::Scenario {
    let mut s = support::healthy();
    let pod: Value = s.v("pods")["items"][0].clone();
    let with = |name: &str, sa: &str, role: Option<&str>| {
        let mut p = pod.clone();
        p["metadata"]["name"] = json!(name);
        p["spec"]["serviceAccountName"] = json!(sa);
        p["spec"]["serviceAccount"] = json!(sa);
        for c in p["spec"]["containers"].as_array_mut().unwrap() {
            for e in c["env"].as_array_mut().into_iter().flatten() {
                if e["name"] == "AWS_ROLE_ARN" {
                    e["value"] = json!(role.unwrap_or("arn:aws:iam::391252439823:role/x"));
                }
            }
        }
        p
    };
    let extra = vec![
        with("billing-1", "billing", Some(OTHER_ROLE)),
        with("plain-1", "plain", None),
        with("billing-2", "billing", Some(OTHER_ROLE)),
        {
            let mut p = with("ghost-1", "ghost", Some(OTHER_ROLE));
            p["metadata"]["namespace"] = json!("elsewhere");
            p
        },
    ];
    s.v("pods")["items"].as_array_mut().unwrap().extend(extra);
    let sa = |name: &str, role: Option<&str>| {
        let mut v = s.files["sa"].clone();
        v["metadata"]["name"] = json!(name);
        match role {
            Some(r) => v["metadata"]["annotations"][ROLE_ANNOTATION] = json!(r),
            None => v["metadata"]["annotations"] = json!({}),
        }
        v
    };
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [
        sa("billing", Some(OTHER_ROLE)),
        sa("plain", None),
    ]});
    s.add("more-sa.json", list);
    s
}

fn names<'a>(pods: impl Iterator<Item = &'a irsa_model::Pod>) -> Vec<*const irsa_model::Pod> {
    pods.map(|p| p as *const _).collect()
}

#[test]
fn each_service_accounts_pods_are_those_the_index_gives() {
    let snap = scenario().snapshot();
    assert!(
        snap.inputs.rejected.is_empty(),
        "{:?}",
        snap.inputs.rejected
    );
    let inferred = service_accounts_from_pods(&snap);
    let options = Options::default();
    for pod in [
        None,
        Some("billing-2"),
        Some("inventory-api-678r6tmp9-dkdrm"),
    ] {
        let scope = Scope {
            pod: pod.map(str::to_string),
            ..Scope::default()
        };
        let cx = Context::with_inferred(&snap, &inferred, &scope, &options);
        let mut seen = 0;
        for i in &cx.irsa {
            let expected = names(cx.pods_of_sa(&i.sa.namespace, &i.sa.name));
            assert_eq!(
                names(cx.pods_of_irsa(i)),
                expected,
                "{}/{} with --pod {pod:?}",
                i.sa.namespace,
                i.sa.name
            );
            seen += expected.len();
        }
        // Not vacuous: the scope's pods (every annotated one, or the one named) are found.
        assert_eq!(seen, if pod.is_none() { 6 } else { 1 }, "--pod {pod:?}");
    }
}

#[test]
fn each_pods_role_annotation_is_its_service_accounts() {
    let snap = scenario().snapshot();
    let inferred = service_accounts_from_pods(&snap);
    let (scope, options) = (Scope::default(), Options::default());
    let cx = Context::with_inferred(&snap, &inferred, &scope, &options);
    let mut answers = Vec::new();
    for p in &snap.pods {
        let expected = cx.role_annotation(&p.namespace, p.spec.effective_service_account());
        assert_eq!(cx.pod_role_annotation(p), expected, "{}", p.name);
        // A copy of the pod (not one of the snapshot's) is looked up.
        let copy = p.clone();
        assert_eq!(
            cx.pod_role_annotation(&copy),
            expected,
            "copy of {}",
            p.name
        );
        answers.push((p.name.to_string(), expected.map(str::to_string)));
    }
    let of = |name: &str| answers.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(of("billing-1").as_deref(), Some(OTHER_ROLE));
    assert_eq!(of("plain-1"), None);
    // Known only from its pods: the role they carry.
    assert_eq!(of("ghost-1").as_deref(), Some(OTHER_ROLE));
    assert_eq!(
        of("inventory-api-678r6tmp9-dkdrm").as_deref(),
        Some(support::ROLE)
    );
}
