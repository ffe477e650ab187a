//! deploy/ as `kubectl kustomize` renders it, and what its RBAC grants.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// The repository's deploy/ directory (or a directory under it).
pub fn dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(sub)
}

/// Whether kubectl (which carries kustomize) is installed.
pub fn kubectl_installed() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `kubectl kustomize deploy/<sub>`, one JSON value per object.
pub fn render(sub: &str) -> Vec<Value> {
    let o = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir(sub))
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl runs");
    assert!(
        o.status.success(),
        "kubectl kustomize deploy/{sub}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| {
            let v: serde_yaml_ng::Value = serde::Deserialize::deserialize(d).unwrap();
            serde_json::to_value(v).unwrap()
        })
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// One rule, as (API group, resource, verb, resource names; empty: any), or a
/// non-resource URL with its verb.
#[derive(Debug, Clone)]
pub enum Grant {
    /// A resource rule.
    Resource {
        /// API group (`""`: core).
        group: String,
        /// Plural resource.
        resource: String,
        /// Verb.
        verb: String,
        /// Resource names it is limited to.
        names: Vec<String>,
        /// The Role's namespace (`None`: a ClusterRole).
        namespace: Option<String>,
    },
    /// A non-resource URL.
    Url {
        /// Path.
        path: String,
        /// Verb.
        verb: String,
    },
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(String::from))
        .collect()
}

/// Every grant of the Roles and ClusterRoles among `objects`.
pub fn grants(objects: &[Value]) -> Vec<Grant> {
    let mut out = Vec::new();
    for o in objects {
        let namespace = match o["kind"].as_str() {
            Some("ClusterRole") => None,
            Some("Role") => Some(o["metadata"]["namespace"].as_str().unwrap().to_string()),
            _ => continue,
        };
        for rule in o["rules"].as_array().into_iter().flatten() {
            for verb in strings(&rule["verbs"]) {
                for path in strings(&rule["nonResourceURLs"]) {
                    out.push(Grant::Url {
                        path,
                        verb: verb.clone(),
                    });
                }
                for group in strings(&rule["apiGroups"]) {
                    for resource in strings(&rule["resources"]) {
                        out.push(Grant::Resource {
                            group: group.clone(),
                            resource,
                            verb: verb.clone(),
                            names: strings(&rule["resourceNames"]),
                            namespace: namespace.clone(),
                        });
                    }
                }
            }
        }
    }
    out
}

/// A request to the API server as RBAC sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Attributes {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`.
    pub verb: String,
    /// API group (`""`: core), or `None` for a non-resource URL.
    pub group: Option<String>,
    /// Plural resource, or the URL path.
    pub resource: String,
    /// Namespace of a namespaced request.
    pub namespace: Option<String>,
    /// Object name.
    pub name: Option<String>,
}

/// The RBAC attributes of an HTTP request (method, path and query), as the API
/// server's request-info resolver derives them.
pub fn attributes(method: &str, uri: &str) -> Attributes {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", _version, rest @ ..] => (Some(String::new()), rest),
        ["apis", group, _version, rest @ ..] => (Some(group.to_string()), rest),
        _ => (None, &[][..]),
    };
    let Some(group) = group else {
        return Attributes {
            verb: method.to_lowercase(),
            group: None,
            resource: path.to_string(),
            namespace: None,
            name: None,
        };
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest),
        _ => (None, rest),
    };
    let resource = rest.first().map(|s| s.to_string()).unwrap_or_default();
    let name = rest.get(1).map(|s| s.to_string());
    let watch = query
        .split('&')
        .any(|kv| kv == "watch=true" || kv == "watch=1");
    let verb = match (method, &name) {
        ("GET", Some(_)) => "get",
        ("GET", None) if watch => "watch",
        ("GET", None) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", Some(_)) => "delete",
        ("DELETE", None) => "deletecollection",
        (m, _) => panic!("unexpected method {m}"),
    };
    Attributes {
        verb: verb.into(),
        group: Some(group),
        resource,
        namespace,
        name,
    }
}

/// Whether a grant allows a request.
pub fn allows(grants: &[Grant], a: &Attributes) -> bool {
    grants.iter().any(|g| match (g, &a.group) {
        (Grant::Url { path, verb }, None) => *path == a.resource && *verb == a.verb,
        (
            Grant::Resource {
                group,
                resource,
                verb,
                names,
                namespace,
            },
            Some(g),
        ) => {
            group == g
                && *resource == a.resource
                && *verb == a.verb
                && (names.is_empty() || a.name.as_ref().is_some_and(|n| names.contains(n)))
                && (namespace.is_none() || *namespace == a.namespace)
        }
        _ => false,
    })
}
