//! What Kubernetes already told us: workload status conditions and Events that prove a
//! link broken, even when the objects themselves were not collected.
//!
//! The ServiceAccount admission plugin rejects a pod whose ServiceAccount does not exist
//! with `error looking up service account NS/NAME: serviceaccount "NAME" not found`
//! (kubernetes `plugin/pkg/admission/serviceaccount/admission.go`; older releases:
//! `Error looking up …`, `service account NS/NAME was not found, retry after …`). The
//! controllers surface it as a ReplicaSet/Deployment condition (`ReplicaFailure`,
//! reason `FailedCreate`) and as `FailedCreate` Events (replicaset-, statefulset-,
//! job-, daemonset-controller).

use crate::context::Context;
use crate::finding::Subject;
use irsa_model::WorkloadKind;

/// A ServiceAccount that Kubernetes reported as not found when creating pods.
#[derive(Debug, Clone)]
pub struct SaNotFound {
    /// Namespace of the ServiceAccount.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// What the finding is about: the top-level workload that reported it, else the
    /// missing ServiceAccount itself (a reporter of a kind outside the report contract's
    /// subject kinds, e.g. a ReplicationController).
    pub reporter: Subject,
    /// The reporter as Kubernetes named it (`ReplicationController team-a/web`).
    pub who: String,
    /// What Kubernetes said, as it said it.
    pub said: String,
    /// How many times (Events), if known.
    pub count: Option<i64>,
}

/// `NS/NAME` out of an admission error message, if it says the ServiceAccount was not found.
pub fn sa_lookup_not_found(message: &str) -> Option<(String, String)> {
    let lower = message.to_lowercase();
    let (rest, tail) = if let Some(i) = lower.find("error looking up service account ") {
        let rest = &message[i + "error looking up service account ".len()..];
        let (who, tail) = rest.split_once(':')?;
        (who, tail)
    } else if let Some(i) = lower.find("service account ") {
        // `service account NS/NAME was not found, retry after the service account is created`
        let rest = &message[i + "service account ".len()..];
        let (who, tail) = rest.split_once(' ')?;
        (who, tail)
    } else {
        return None;
    };
    if !tail.to_lowercase().contains("not found") {
        return None;
    }
    let (ns, name) = rest.trim().split_once('/')?;
    let valid = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    };
    (valid(ns) && valid(name)).then(|| (ns.to_string(), name.to_string()))
}

/// The top-level controller of a workload in the snapshot (ReplicaSet → Deployment,
/// Job → CronJob); a ReplicaSet that is not in the snapshot is attributed to the
/// Deployment `<deployment>-<hash>` names, when that Deployment is.
fn top_controller(
    cx: &Context<'_>,
    kind: WorkloadKind,
    namespace: &str,
    name: &str,
) -> (WorkloadKind, String) {
    let (mut kind, mut name) = (kind, name.to_string());
    for _ in 0..3 {
        let owner = cx
            .snap
            .workload(kind, namespace, &name)
            .and_then(|w| w.owner.clone())
            .and_then(|o| WorkloadKind::from_kind(&o.kind).map(|k| (k, o.name)));
        match owner {
            Some((k, n)) => (kind, name) = (k, n.to_string()),
            None => break,
        }
    }
    if kind == WorkloadKind::ReplicaSet && cx.snap.workload(kind, namespace, &name).is_none() {
        if let Some((d, _)) = name.rsplit_once('-') {
            if cx
                .snap
                .workload(WorkloadKind::Deployment, namespace, d)
                .is_some()
            {
                return (WorkloadKind::Deployment, d.to_string());
            }
        }
    }
    (kind, name)
}

/// The workload a report is about, lifted to its top-level controller; a pod is its own.
fn reporter(cx: &Context<'_>, kind: &str, namespace: &str, name: &str) -> Option<Subject> {
    match WorkloadKind::from_kind(kind) {
        Some(k) => {
            let (k, n) = top_controller(cx, k, namespace, name);
            Some(Subject::namespaced(k.name(), namespace, &n))
        }
        None if kind == "Pod" => Some(Subject::namespaced("Pod", namespace, name)),
        None => None,
    }
}

fn not_found(
    cx: &Context<'_>,
    (ns, name): (String, String),
    kind: &str,
    namespace: &str,
    object: &str,
    said: &str,
    count: Option<i64>,
) -> SaNotFound {
    let reporter = reporter(cx, kind, namespace, object)
        .unwrap_or_else(|| Subject::namespaced("ServiceAccount", &ns, &name));
    SaNotFound {
        reporter,
        who: format!("{kind} {namespace}/{object}"),
        namespace: ns,
        name,
        said: said.to_string(),
        count,
    }
}

/// Every "ServiceAccount not found" Kubernetes reported, from workload conditions (status
/// `True`) and Events, one per (namespace, ServiceAccount, reporter).
pub fn sa_not_found(cx: &Context<'_>) -> Vec<SaNotFound> {
    let mut out: Vec<SaNotFound> = Vec::new();
    let mut push = |n: SaNotFound| {
        if !out
            .iter()
            .any(|o| o.namespace == n.namespace && o.name == n.name && o.reporter == n.reporter)
        {
            out.push(n);
        }
    };
    for w in &cx.snap.workloads {
        for c in w.conditions.iter().filter(|c| c.status == "True") {
            let Some(msg) = &c.message else { continue };
            if let Some(sa) = sa_lookup_not_found(msg) {
                push(not_found(
                    cx,
                    sa,
                    w.kind.name(),
                    &w.namespace,
                    &w.name,
                    msg,
                    None,
                ));
            }
        }
    }
    // A recorded `kubectl get serviceaccount NAME -n NS` that answered NotFound.
    for f in cx
        .snap
        .inputs
        .collection_failures
        .iter()
        .filter(|f| irsa_model::recorded::is_not_found(&f.error))
    {
        let c = irsa_model::command::CommandInfo::parse(&f.command);
        let is_sa_get = c.tool == "kubectl"
            && c.positional.first().map(String::as_str) == Some("get")
            && c.positional.get(1).is_some_and(|r| {
                matches!(
                    r.split('.').next().unwrap_or(""),
                    "sa" | "serviceaccount" | "serviceaccounts"
                )
            });
        if let (true, Some(name), Some(ns)) = (is_sa_get, c.positional.get(2), &c.namespace) {
            push(SaNotFound {
                namespace: ns.clone(),
                name: name.clone(),
                reporter: Subject::namespaced("ServiceAccount", ns, name),
                who: String::new(),
                said: format!("`{}`: {}", f.command, f.error),
                count: None,
            });
        }
    }
    for e in &cx.snap.events {
        if let Some(sa) = sa_lookup_not_found(&e.message) {
            push(not_found(
                cx,
                sa,
                &e.object_kind,
                &e.namespace,
                &e.object_name,
                &e.message,
                e.count,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sa_lookup_not_found;

    #[test]
    fn admission_messages() {
        let want = Some(("team-a".to_string(), "web".to_string()));
        assert_eq!(sa_lookup_not_found("pods \"web-5d8f7c6b9-\" is forbidden: error looking up service account team-a/web: serviceaccount \"web\" not found"), want);
        assert_eq!(sa_lookup_not_found("Error creating: pods \"web-5d8f7c6b9-\" is forbidden: error looking up service account team-a/web: serviceaccount \"web\" not found"), want);
        assert_eq!(sa_lookup_not_found("create Pod web-0 in StatefulSet web failed error: pods \"web-0\" is forbidden: error looking up service account team-a/web: serviceaccount \"web\" not found"), want);
        assert_eq!(sa_lookup_not_found("pods \"web-\" is forbidden: Error looking up service account team-a/web: serviceaccount \"web\" not found"), want);
        assert_eq!(sa_lookup_not_found("pods \"web-\" is forbidden: service account team-a/web was not found, retry after the service account is created"), want);
        // Other failures of the lookup are not proof of absence.
        assert_eq!(
            sa_lookup_not_found(
                "error looking up service account team-a/web: etcdserver: request timed out"
            ),
            None
        );
        assert_eq!(
            sa_lookup_not_found("Created pod: web-5d8f7c6b9-x7k2p"),
            None
        );
    }
}
