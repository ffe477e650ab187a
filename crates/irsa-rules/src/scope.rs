//! A scope that matches nothing (`--pod nope`, `-n typo`, `--service-account x`) is not
//! a clean run: it is said in one line, with the closest name the snapshot holds.

use crate::context::Scope;
use irsa_model::Snapshot;
use std::collections::BTreeSet;

/// The closest candidate to `value`: a small edit distance (a typo), or a candidate that
/// starts with it (a pod named after its workload), nearest first.
pub fn did_you_mean<'c>(
    value: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let max_typos = (value.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .filter(|c| *c != value)
        .filter_map(|c| {
            let d = strsim::levenshtein(value, c);
            let prefix = value.chars().count() >= 3 && c.starts_with(value);
            (d <= max_typos || prefix).then_some((d, c))
        })
        .min()
        .map(|(_, c)| c)
}

fn suggestion(s: Option<&str>) -> String {
    s.map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

/// Namespaces the snapshot knows anything of.
pub fn namespaces(snap: &Snapshot) -> BTreeSet<&str> {
    snap.service_accounts
        .keys()
        .map(|(ns, _)| ns.as_str())
        .chain(snap.pods.iter().map(|p| p.namespace.as_str()))
        .chain(snap.workloads.iter().map(|w| w.namespace.as_str()))
        .chain(snap.events.iter().map(|e| e.namespace.as_str()))
        .chain(snap.namespaces.iter().map(String::as_str))
        .collect()
}

/// Whether a namespace holds something the rules evaluate.
fn holds_objects(snap: &Snapshot, ns: &str) -> bool {
    snap.service_accounts.keys().any(|(n, _)| n == ns)
        || snap.pods.iter().any(|p| p.namespace == ns)
        || snap.workloads.iter().any(|w| w.namespace == ns)
        || snap.events.iter().any(|e| e.namespace == ns)
}

/// Why the scope selects nothing the snapshot holds, in one line naming the flag; `None`
/// when it selects something (or when there is no scope).
pub fn scope_miss(snap: &Snapshot, scope: &Scope) -> Option<String> {
    if let Some(ns) = &scope.namespace {
        if !holds_objects(snap, ns) {
            let known = namespaces(snap);
            return Some(format!(
                "-n {ns}: the snapshot holds no ServiceAccount, pod or workload in namespace `{ns}`{}",
                suggestion(did_you_mean(ns, known.iter().copied()))
            ));
        }
    }
    let where_ = |ns: &Option<String>| match ns {
        Some(n) => format!("in namespace `{n}`"),
        None => "in any namespace".to_string(),
    };
    if let Some(pod) = &scope.pod {
        let pods: Vec<&str> = snap
            .pods
            .iter()
            .filter(|p| scope.namespace_in(&p.namespace))
            .map(|p| p.name.as_str())
            .collect();
        if !pods.contains(&pod.as_str()) {
            let held = if pods.is_empty() {
                "the snapshot has no pod there".to_string()
            } else {
                format!("the snapshot has {} pod(s) there", pods.len())
            };
            return Some(format!(
                "--pod {pod}: no pod `{pod}` {} ({held}){}",
                where_(&scope.namespace),
                suggestion(did_you_mean(pod, pods.iter().copied()))
            ));
        }
    }
    if let Some(sa) = &scope.service_account {
        let mut names: BTreeSet<&str> = snap
            .service_accounts
            .values()
            .filter(|s| scope.namespace_in(&s.namespace))
            .map(|s| s.name.as_str())
            .collect();
        names.extend(
            snap.pods
                .iter()
                .filter(|p| scope.namespace_in(&p.namespace))
                .map(|p| p.spec.effective_service_account()),
        );
        names.extend(
            snap.workloads
                .iter()
                .filter(|w| scope.namespace_in(&w.namespace))
                .map(|w| w.template.effective_service_account()),
        );
        if !names.contains(sa.as_str()) {
            return Some(format!(
                "--service-account {sa}: no ServiceAccount `{sa}` {}, and no pod or workload runs as it{}",
                where_(&scope.namespace),
                suggestion(did_you_mean(sa, names.iter().copied()))
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggestions() {
        let c = ["payments", "analytics", "kube-system"];
        assert_eq!(did_you_mean("paymnts", c), Some("payments"));
        assert_eq!(did_you_mean("payment", c), Some("payments"));
        assert_eq!(did_you_mean("nosuchns", c), None);
        assert_eq!(did_you_mean("nope", ["api-6d4f8b7c9d-x7k2p"]), None);
        assert_eq!(
            did_you_mean("api", ["api-6d4f8b7c9d-x7k2p", "web-1"]),
            Some("api-6d4f8b7c9d-x7k2p")
        );
    }
}
