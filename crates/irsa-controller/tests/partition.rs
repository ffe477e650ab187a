//! The controller's partition of the evaluation (one evaluation per namespace, one for
//! what is cluster-scoped) says exactly what one `check` over the whole cluster says:
//! the same findings (rule, subject, message, severity, predicted error, fixes), the
//! same passes and the same chains, for every example snapshot and for a generated
//! cluster with several namespaces, wildcard trust policies and cross-namespace
//! candidates.

use irsa_controller::evaluate::{self, AwsFiles, Objects, Shared, Watched};
use irsa_rules::Report;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn watched(kind: &str) -> Option<Watched> {
    Watched::ALL.into_iter().find(|w| w.kind() == kind)
}

/// The role a role-scoped AWS output is about: `--role-name X` in its command, or the
/// `Role` it holds.
fn role_name_of(v: &Value) -> Option<String> {
    if let Some(name) = v
        .pointer("/output/Role/RoleName")
        .or(v.pointer("/Role/RoleName"))
    {
        return name.as_str().map(String::from);
    }
    let command = v["command"].as_str()?;
    let mut words = command.split_whitespace();
    words.find(|w| *w == "--role-name")?;
    words.next().map(String::from)
}

fn role_arn_of(v: &Value) -> Option<String> {
    v.pointer("/output/Role/Arn")
        .or(v.pointer("/Role/Arn"))?
        .as_str()
        .map(String::from)
}

/// The inputs a controller would hold for a snapshot directory: the watched objects
/// (by namespace and kind, as JSON text) and the shared reads.
fn inputs(dir: &Path) -> (BTreeMap<String, Objects>, Shared) {
    let mut by_ns: BTreeMap<String, Objects> = BTreeMap::new();
    let mut webhooks = Vec::new();
    let mut nodes = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir()),
    );
    for o in dirs
        .iter()
        .flat_map(|d| irsa_testkit::objects_from_snapshot(d))
    {
        let kind = o["kind"].as_str().unwrap_or("").to_string();
        if kind == "MutatingWebhookConfiguration" {
            webhooks.push(o);
            continue;
        }
        if kind == "Node" {
            nodes.push(o.to_string());
            continue;
        }
        let Some(w) = watched(&kind) else { continue };
        let ns = o["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        let listed = by_ns.entry(ns).or_default().entry(w).or_insert(Ok(vec![]));
        listed.as_mut().unwrap().push(o.to_string());
    }
    let mut shared = Shared {
        nodes: (!nodes.is_empty()).then_some(Ok(nodes)),
        ..Shared::default()
    };
    // The agent's namespaces, as the controller's stores give them: kube-system, and
    // any namespace with a DaemonSet of the agent.
    let mut agent_ns: BTreeSet<String> = BTreeSet::from(["kube-system".to_string()]);
    for (ns, objects) in &by_ns {
        for ds in objects
            .get(&Watched::DaemonSet)
            .into_iter()
            .flatten()
            .flatten()
        {
            let v: Value = serde_json::from_str(ds).unwrap();
            if irsa_model::pod_identity::is_agent_named(
                v["metadata"]["name"].as_str(),
                v["metadata"]["labels"][irsa_model::pod_identity::NAME_LABEL].as_str(),
            ) {
                agent_ns.insert(ns.clone());
            }
        }
    }
    for ns in agent_ns {
        for kind in [Watched::DaemonSet, Watched::Pod] {
            let listed = by_ns
                .get(&ns)
                .and_then(|o| o.get(&kind))
                .cloned()
                .unwrap_or(Ok(vec![]));
            shared.agent.push((kind, ns.clone(), listed));
        }
    }
    if !webhooks.is_empty() {
        shared.webhooks = Some((
            "kubectl-get-mutatingwebhookconfigurations.json".into(),
            json!({"command": "kubectl get mutatingwebhookconfigurations -o json",
                   "output": {"apiVersion": "v1", "kind": "MutatingWebhookConfigurationList", "items": webhooks}}),
        ));
    }
    // Annotated roles, by (account, name), as the controller keys them.
    let mut annotated: BTreeMap<(String, String), String> = BTreeMap::new();
    for objects in by_ns.values() {
        for sa in objects
            .get(&Watched::ServiceAccount)
            .into_iter()
            .flatten()
            .flatten()
        {
            let v: Value = serde_json::from_str(sa).unwrap();
            let ann: Option<BTreeMap<String, String>> =
                serde_json::from_value(v["metadata"]["annotations"].clone()).ok();
            if let Some(arn) = evaluate::annotated_role(ann.as_ref()) {
                let r = irsa_policy::RoleArn::parse(&arn).unwrap();
                annotated.insert((r.account, r.name), arn);
            }
        }
    }
    let files: Vec<(String, Value)> = walk(dir)
        .into_iter()
        .flat_map(split_authorization_details)
        .filter(|(name, v)| {
            !name.starts_with("kubectl-") && v.get("metadata").is_none() && v.get("items").is_none()
        })
        .collect();
    let arn_of_name: BTreeMap<String, String> = files
        .iter()
        .filter_map(|(_, v)| {
            let arn = role_arn_of(v)?;
            let r = irsa_policy::RoleArn::parse(&arn).ok()?;
            let key = annotated
                .get(&(r.account.clone(), r.name.clone()))
                .cloned()
                .unwrap_or(arn);
            Some((r.name, key))
        })
        .collect();
    let mut aws = AwsFiles::default();
    let mut cluster = Vec::new();
    for (name, v) in files {
        let policy = v["command"].as_str().and_then(|c| {
            let mut words = c.split_whitespace();
            words.find(|w| *w == "--policy-arn")?;
            words.next().map(String::from)
        });
        if let Some(arn) = policy {
            aws.policies.entry(arn).or_default().push((name, v));
            continue;
        }
        match role_name_of(&v).and_then(|n| arn_of_name.get(&n).cloned()) {
            Some(arn) => aws.roles.entry(arn).or_default().push((name, v)),
            None => cluster.push((name, v)),
        }
    }
    aws.set_cluster(cluster);
    aws.index_trust(&shared.flags);
    shared.aws = std::sync::Arc::new(aws);
    (by_ns, shared)
}

/// `get-account-authorization-details` as the per-role reads the controller makes
/// (`get-role`, `list-attached-role-policies`, `list-role-policies`).
fn split_authorization_details((name, v): (String, Value)) -> Vec<(String, Value)> {
    let Some(roles) = v["RoleDetailList"].as_array() else {
        return vec![(name, v)];
    };
    let mut out = Vec::new();
    for r in roles {
        let n = r["RoleName"].as_str().unwrap();
        out.push((
            format!("iam-get-role-{n}.json"),
            json!({"command": format!("aws iam get-role --role-name {n}"), "output": {"Role": {
                "Path": r["Path"], "RoleName": n, "RoleId": r["RoleId"], "Arn": r["Arn"],
                "CreateDate": r["CreateDate"], "AssumeRolePolicyDocument": r["AssumeRolePolicyDocument"]}}}),
        ));
        out.push((
            format!("iam-list-attached-role-policies-{n}.json"),
            json!({"command": format!("aws iam list-attached-role-policies --role-name {n}"),
                   "output": {"AttachedPolicies": r["AttachedManagedPolicies"]}}),
        ));
        let inline: Vec<&Value> = r["RolePolicyList"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| &p["PolicyName"])
            .collect();
        out.push((
            format!("iam-list-role-policies-{n}.json"),
            json!({"command": format!("aws iam list-role-policies --role-name {n}"),
                   "output": {"PolicyNames": inline}}),
        ));
    }
    out
}

fn walk(dir: &Path) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|e| e == "json") {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            out.push((name, v));
        }
    }
    out
}

/// What a report says, comparably.
fn said(r: &Report) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let findings = r
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {:?} {} {:?} {:?} {:?} {}",
                f.rule,
                f.subject,
                f.severity.name(),
                f.role_arn,
                f.predicted_error,
                f.fix,
                f.message.render()
            )
        })
        .collect();
    let passes = r
        .passes
        .iter()
        .map(|p| format!("{} {:?} {}", p.rule, p.subject, p.message.render()))
        .collect();
    let chains = r
        .chains
        .iter()
        .map(|c| serde_json::to_string(c).unwrap())
        .collect();
    (findings, passes, chains)
}

fn partition_equals_whole(by_ns: &BTreeMap<String, Objects>, shared: &Shared) {
    let mut all: Objects = BTreeMap::new();
    for objects in by_ns.values() {
        for (k, items) in objects {
            let listed = all.entry(*k).or_insert(Ok(vec![]));
            listed
                .as_mut()
                .unwrap()
                .extend(items.as_ref().unwrap().iter().cloned());
        }
    }
    let whole = said(&evaluate::whole(&all, shared));
    let mut parts = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for (ns, objects) in by_ns {
        let annotated: BTreeSet<String> = objects
            .get(&Watched::ServiceAccount)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|sa| {
                let v: Value = serde_json::from_str(sa).ok()?;
                let ann: BTreeMap<String, String> =
                    serde_json::from_value(v["metadata"]["annotations"].clone()).ok()?;
                evaluate::annotated_role(Some(&ann))
            })
            .collect();
        let (f, p, c) = said(&evaluate::namespace(ns, objects, &annotated, shared));
        parts.0.extend(f);
        parts.1.extend(p);
        parts.2.extend(c);
    }
    let sas = all
        .get(&Watched::ServiceAccount)
        .cloned()
        .unwrap_or(Ok(vec![]));
    let (f, p, _) = said(&evaluate::cluster(&sas, shared));
    parts.0.extend(f);
    parts.1.extend(p);
    let diff = |a: &BTreeSet<String>, b: &BTreeSet<String>| -> Vec<String> {
        a.symmetric_difference(b).cloned().collect()
    };
    assert!(
        !whole.0.is_empty() || !whole.1.is_empty(),
        "the example says something"
    );
    assert_eq!(
        diff(&whole.0, &parts.0),
        Vec::<String>::new(),
        "findings differ"
    );
    assert_eq!(
        diff(&whole.1, &parts.1),
        Vec::<String>::new(),
        "passes differ"
    );
    assert_eq!(
        diff(&whole.2, &parts.2),
        Vec::<String>::new(),
        "chains differ"
    );
}

#[test]
fn every_example_partitions_exactly() {
    for name in [
        "healthy",
        "lbc-webidentityerr",
        "many-problems",
        "pod-identity-mixed",
    ] {
        let (by_ns, shared) = inputs(&example(name));
        assert!(!by_ns.is_empty(), "{name}: objects");
        partition_equals_whole(&by_ns, &shared);
    }
}

#[test]
fn a_generated_cluster_partitions_exactly() {
    // Several namespaces, a wildcard trust per namespace for every fifth role, roles
    // trusting ServiceAccounts of other namespaces (candidates for an unannotated one).
    let dir = tempfile::tempdir().unwrap();
    irsa_testkit::scale::generate(dir.path(), 60, 90, 12);
    let (mut by_ns, shared) = inputs(dir.path());
    assert!(by_ns.len() > 5, "several namespaces");
    assert_eq!(
        shared.aws.roles.len(),
        12,
        "roles read one by one, as the controller does"
    );
    // Break some links: an annotation dropped (its role still trusts the ServiceAccount:
    // a candidate), a pod running as `default`, a ServiceAccount missing.
    let first = by_ns.keys().next().unwrap().clone();
    let objects = by_ns.get_mut(&first).unwrap();
    let sas = objects
        .get_mut(&Watched::ServiceAccount)
        .unwrap()
        .as_mut()
        .unwrap();
    let mut sa: Value = serde_json::from_str(&sas[0]).unwrap();
    sa["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .remove("eks.amazonaws.com/role-arn");
    sas[0] = sa.to_string();
    let missing: Value = serde_json::from_str(&sas.pop().unwrap()).unwrap();
    let _ = missing;
    let pods = objects.get_mut(&Watched::Pod).unwrap().as_mut().unwrap();
    let mut pod: Value = serde_json::from_str(&pods[0]).unwrap();
    pod["spec"]["serviceAccountName"] = json!("default");
    pod["spec"]["serviceAccount"] = json!("default");
    pods[0] = pod.to_string();
    partition_equals_whole(&by_ns, &shared);
}

/// Each object as the controller stores it: trimmed on read ([`irsa_controller::slim`]).
fn slimmed(by_ns: &BTreeMap<String, Objects>) -> BTreeMap<String, Objects> {
    use irsa_controller::slim::Slim;
    use k8s_openapi::api::apps::v1 as apps;
    use k8s_openapi::api::batch::v1 as batch;
    use k8s_openapi::api::core::v1 as core;
    fn slim<K: irsa_controller::slim::Trim>(text: &str) -> String {
        serde_json::from_str::<Slim<K>>(text)
            .unwrap()
            .json
            .to_string()
    }
    by_ns
        .iter()
        .map(|(ns, objects)| {
            let objects = objects
                .iter()
                .map(|(kind, items)| {
                    let f: fn(&str) -> String = match kind {
                        Watched::ServiceAccount => slim::<core::ServiceAccount>,
                        Watched::Pod => slim::<core::Pod>,
                        Watched::Deployment => slim::<apps::Deployment>,
                        Watched::DaemonSet => slim::<apps::DaemonSet>,
                        Watched::StatefulSet => slim::<apps::StatefulSet>,
                        Watched::ReplicaSet => slim::<apps::ReplicaSet>,
                        Watched::Job => slim::<batch::Job>,
                        Watched::CronJob => slim::<batch::CronJob>,
                    };
                    let items = items
                        .as_ref()
                        .map(|v| v.iter().map(|t| f(t)).collect())
                        .map_err(Clone::clone);
                    (*kind, items)
                })
                .collect();
            (ns.clone(), objects)
        })
        .collect()
}

/// What the controller keeps of an object loses nothing the diagnosis reads: every
/// example, evaluated from the trimmed objects, says exactly what it says from the
/// objects as the API serves them (and the trimmed ones are smaller).
#[test]
fn trimmed_objects_say_what_the_originals_say() {
    let dir = tempfile::tempdir().unwrap();
    irsa_testkit::scale::generate(dir.path(), 60, 90, 12);
    for path in [
        example("healthy"),
        example("lbc-webidentityerr"),
        example("many-problems"),
        example("pod-identity-mixed"),
        dir.path().to_path_buf(),
    ] {
        let (by_ns, shared) = inputs(&path);
        let flat = |m: &BTreeMap<String, Objects>| {
            let mut all: Objects = BTreeMap::new();
            for objects in m.values() {
                for (k, items) in objects {
                    all.entry(*k)
                        .or_insert(Ok(vec![]))
                        .as_mut()
                        .unwrap()
                        .extend(items.as_ref().unwrap().iter().cloned());
                }
            }
            all
        };
        let size = |o: &Objects| -> usize {
            o.values()
                .flat_map(|v| v.as_ref().unwrap())
                .map(|t| t.len())
                .sum()
        };
        let original = flat(&by_ns);
        let trimmed = flat(&slimmed(&by_ns));
        assert!(
            size(&trimmed) < size(&original),
            "{}: trimming keeps less",
            path.display()
        );
        // The nodes as the controller keeps them too.
        let trimmed_shared = Shared {
            nodes: shared.nodes.clone().map(|n| {
                n.map(|items| {
                    items
                        .iter()
                        .map(|t| {
                            serde_json::from_str::<
                                irsa_controller::slim::Slim<k8s_openapi::api::core::v1::Node>,
                            >(t)
                            .unwrap()
                            .json
                            .to_string()
                        })
                        .collect()
                })
            }),
            ..shared.clone()
        };
        let (a, b) = (
            said(&evaluate::whole(&trimmed, &trimmed_shared)),
            said(&evaluate::whole(&original, &shared)),
        );
        for (x, y, what) in [
            (&a.0, &b.0, "findings"),
            (&a.1, &b.1, "passes"),
            (&a.2, &b.2, "chains"),
        ] {
            assert_eq!(
                x.symmetric_difference(y).collect::<Vec<_>>(),
                Vec::<&String>::new(),
                "{}: {what} differ",
                path.display()
            );
        }
    }
}
