//! IRSA604: the eks-pod-identity-agent is installed, on the host network, ready on the
//! node of every pod that uses EKS Pod Identity, reachable over IPv6 on IPv6 clusters,
//! and not bypassed by a proxy.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Cause, Fix, Severity, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::pod_identity::{
    agent_namespaces, agent_pods, association_of, associations, auto_mode, cluster_args,
    pod_compute, pod_injected, AGENT_UNREACHABLE,
};
use crate::registry::Rule;
use irsa_model::pod_identity::{normalise_host, Compute, AGENT_IPV4, AGENT_IPV6, AGENT_NAME};
use irsa_model::{Pod, PodSpec};

declare_rule!(PodIdentityAgent, code: "IRSA604", name: "pod-identity-agent", cause: PodIdentityAgent, severity: Error,
    summary: "The eks-pod-identity-agent runs (host network, ready) on the node of every pod that uses EKS Pod Identity.",
    doc: include_str!("pod_identity_agent.md"));

/// Whether a `NO_PROXY` value excludes the agent's addresses (exact host, a suffix
/// match such as `.23`, a CIDR of the link-local range, or `*`) [INF: SDKs and
/// their HTTP clients follow the curl conventions for NO_PROXY; not verified per SDK].
pub fn no_proxy_covers(value: &str) -> bool {
    value.split(',').map(str::trim).any(|e| {
        let e = normalise_host(e);
        e == "*"
            || e == AGENT_IPV4
            || e == AGENT_IPV6
            || e.starts_with("169.254.")
            || e == "169.254.0.0/16"
            || (e.starts_with('.') && AGENT_IPV4.ends_with(&e))
    })
}

fn proxy(out: &mut Out, kind: &str, ns: &str, name: &str, spec: &PodSpec) {
    for c in spec.all_containers() {
        let value = |k: &str| c.env(k).and_then(|e| e.value.clone());
        let Some(var) = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"]
            .into_iter()
            .find(|k| value(k).is_some_and(|v| !v.trim().is_empty()))
        else {
            continue;
        };
        let no_proxy = value("NO_PROXY")
            .or_else(|| value("no_proxy"))
            .unwrap_or_default();
        if no_proxy_covers(&no_proxy) {
            continue;
        }
        let joined = if no_proxy.trim().is_empty() {
            AGENT_IPV4.to_string()
        } else {
            format!("{no_proxy},{AGENT_IPV4}")
        };
        let f = out.report(
            &PodIdentityAgent::META,
            Subject::namespaced(kind, ns, name),
            Message::new("pi-proxy")
                .arg("container", &c.name)
                .arg("kind", kind)
                .arg("namespace", ns)
                .arg("name", name)
                .arg("proxy_var", var),
        );
        f.severity(Severity::Warning);
        if kind == "Pod" {
            f.fix(Fix::advice(format!(
                "add {AGENT_IPV4} to NO_PROXY of container {} in the pod's workload",
                c.name
            )));
        } else {
            f.fix(Fix::command(
                "keep the agent's address off the proxy",
                format!(
                    "kubectl set env {}/{} -n {} -c {} NO_PROXY={}",
                    kind.to_lowercase(),
                    sh(name),
                    sh(ns),
                    sh(&c.name),
                    sh(&joined)
                ),
            ));
        }
    }
}

impl Rule for PodIdentityAgent {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let assocs = associations(cx);
        // Pods that use (or should use) Pod Identity: their ServiceAccount has an
        // association, or the webhook injected the variables.
        let pods: Vec<&Pod> = cx
            .pods_in_scope()
            .filter(|p| {
                pod_injected(p)
                    || association_of(cx, &p.namespace, p.spec.effective_service_account())
                        .is_some()
            })
            .collect();
        if assocs.is_empty() && pods.is_empty() {
            return;
        }
        let facts = &cx.snap.pod_identity_facts;
        let cluster_name = cx
            .cluster
            .name
            .clone()
            .unwrap_or_else(|| "<cluster>".into());
        let cluster_subject = Subject::global("Cluster", &cluster_name);
        let args = cluster_args(cx, None);
        let auto = auto_mode(cx);
        let install = Fix::command(
            "install the EKS Pod Identity Agent add-on (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html)",
            format!("aws eks create-addon {args} --addon-name {AGENT_NAME}"),
        );
        if let Some(addon) = &facts.addon {
            if addon.status.as_deref().is_some_and(|s| s != "ACTIVE") {
                out.report(
                    &Self::META,
                    cluster_subject.clone(),
                    Message::new("pi-agent-addon")
                        .arg("status", addon.status.clone().unwrap_or_default())
                        .arg(
                            "issues",
                            if addon.issues.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", addon.issues.join("; "))
                            },
                        ),
                )
                .severity(Severity::Warning)
                .fix(Fix::command(
                    "see why the add-on is not active",
                    format!("aws eks describe-addon {args} --addon-name {AGENT_NAME} --query addon.health"),
                ));
            }
        }
        let agent = facts.agent();
        let mut agent_known = !auto;
        match agent {
            _ if auto => {}
            Some(a) => {
                if !a.host_network {
                    out.report(
                        &Self::META,
                        cluster_subject.clone(),
                        Message::new("pi-agent-not-host-network")
                            .arg("namespace", &a.namespace)
                            .arg("name", &a.name),
                    )
                    .predicts(AGENT_UNREACHABLE)
                    .fix(install.clone());
                }
                let ipv6 = cx
                    .snap
                    .cluster()
                    .and_then(|c| c.ip_family.as_deref())
                    .is_some_and(|f| f.eq_ignore_ascii_case("ipv6"));
                if ipv6 && !a.bind_hosts.iter().any(|h| normalise_host(h) == AGENT_IPV6) {
                    out.report(
                        &Self::META,
                        cluster_subject.clone(),
                        Message::new("pi-agent-no-ipv6").arg("hosts", a.bind_hosts.join(", ")),
                    )
                    .predicts(AGENT_UNREACHABLE.replace(AGENT_IPV4, &format!("[{AGENT_IPV6}]")))
                    .fix(Fix::command(
                        "remove the --bind-hosts override so the agent serves both addresses (its default)",
                        format!("aws eks update-addon {args} --addon-name {AGENT_NAME} --configuration-values '{{}}' --resolve-conflicts OVERWRITE"),
                    ));
                }
                match (a.ready, a.desired) {
                    (Some(r), Some(d)) if r < d => {
                        out.report(
                            &Self::META,
                            cluster_subject.clone(),
                            Message::new("pi-agent-not-ready")
                                .arg("ready", r.to_string())
                                .arg("desired", d.to_string()),
                        )
                        .severity(Severity::Warning)
                        .fix(Fix::command(
                            "see why agent pods are not ready",
                            format!("kubectl get pods -n {} -l app.kubernetes.io/name={AGENT_NAME} -o wide", sh(&a.namespace)),
                        ));
                    }
                    (Some(r), Some(d)) if a.host_network => out.pass(
                        &Self::META,
                        cluster_subject.clone(),
                        Message::new("pi-agent-ok")
                            .arg("namespace", &a.namespace)
                            .arg("name", &a.name)
                            .arg("ready", r.to_string())
                            .arg("desired", d.to_string()),
                    ),
                    // A DaemonSet without status (a manifest, `lint`): readiness is unknown,
                    // and said so instead of "? of ?".
                    _ if a.host_network => out.pass(
                        &Self::META,
                        cluster_subject.clone(),
                        Message::new("pi-agent-ok-no-status")
                            .arg("namespace", &a.namespace)
                            .arg("name", &a.name),
                    ),
                    _ => {}
                }
            }
            None => {
                let absent_addon = facts.addon_absent.clone();
                let listed = cx.snap.coverage.daemonsets.covers("kube-system");
                if listed || absent_addon.is_some() {
                    let evidence = match (&absent_addon, listed) {
                        (Some(e), _) => format!(" (`aws eks describe-addon` answered: {e})"),
                        _ => " (no such DaemonSet in kube-system)".into(),
                    };
                    out.report(
                        &Self::META,
                        cluster_subject.clone(),
                        Message::new("pi-agent-missing")
                            .arg("count", assocs.len().to_string())
                            .arg("evidence", evidence),
                    )
                    .predicts(AGENT_UNREACHABLE)
                    .fix(install.clone());
                } else {
                    agent_known = false;
                    let f = out.report(
                        &Self::META,
                        cluster_subject.clone(),
                        Message::new("gap-pi-agent").arg("cluster_args", &args),
                    );
                    f.cause = Cause::CollectionGap;
                    f.severity(Severity::Warning);
                }
            }
        }
        // The agent on each pod's node (a DaemonSet's status counts pods, not which nodes
        // they are on: a node it does not schedule to, or a crashed agent pod, breaks the
        // pods there only).
        let agents = agent_pods(cx);
        let agent_ns = agent_namespaces(cx);
        let agents_listed =
            !agents.is_empty() || agent_ns.iter().any(|n| cx.snap.coverage.pods.covers(n));
        if agent_known && agent.is_some() {
            for p in &pods {
                let Some(node) = p.spec.node_name.as_deref() else {
                    continue; // not scheduled yet
                };
                match pod_compute(cx, p) {
                    None | Some(Compute::LinuxEc2) => {}
                    // Unsupported compute: pod-identity-not-injected; Auto Mode has it built in.
                    Some(_) => continue,
                }
                let on_node: Vec<&&Pod> = agents
                    .iter()
                    .filter(|a| a.spec.node_name.as_deref() == Some(node))
                    .collect();
                let state = if !agents_listed {
                    let f = out.report(
                        &Self::META,
                        Subject::namespaced("Pod", &p.namespace, &p.name),
                        Message::new("gap-pi-agent-node")
                            .arg("node", node)
                            .arg("namespace", &p.namespace)
                            .arg("pod", &p.name)
                            .arg("agent_namespace", &agent_ns[0]),
                    );
                    f.cause = Cause::CollectionGap;
                    f.severity(Severity::Warning);
                    continue;
                } else if on_node.is_empty() {
                    "no eks-pod-identity-agent pod runs".to_string()
                } else if on_node.iter().all(|a| a.ready == Some(false)) {
                    format!(
                        "the eks-pod-identity-agent pod {} is not ready",
                        on_node[0].name
                    )
                } else {
                    continue;
                };
                out.report(
                    &Self::META,
                    Subject::namespaced("Pod", &p.namespace, &p.name),
                    Message::new("pi-agent-node")
                        .arg("namespace", &p.namespace)
                        .arg("pod", &p.name)
                        .arg("node", node)
                        .arg("state", state),
                )
                .predicts(AGENT_UNREACHABLE)
                .fix(Fix::command(
                    "see why the agent is missing or not ready on that node (taints, resources, image pull)",
                    format!(
                        "kubectl get pods -n {} -o wide --field-selector spec.nodeName={} && kubectl describe node {}",
                        sh(&agent_ns[0]),
                        sh(node),
                        sh(node)
                    ),
                ));
            }
        }
        // A proxy in front of the link-local address.
        let mut seen = std::collections::BTreeSet::new();
        for w in cx.workloads_in_scope().filter(|w| w.owner.is_none()) {
            if association_of(cx, &w.namespace, w.template.effective_service_account()).is_some() {
                seen.insert((w.namespace.to_string(), w.name.to_string()));
                proxy(out, w.kind.name(), &w.namespace, &w.name, &w.template);
            }
        }
        for p in &pods {
            let covered = cx.snap.controller_of(p).is_some_and(|(_, n)| {
                seen.contains(&(p.namespace.as_str(), n) as &dyn irsa_model::keys::Pair)
            });
            if !covered {
                proxy(out, "Pod", &p.namespace, &p.name, &p.spec);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::no_proxy_covers;

    #[test]
    fn no_proxy_forms() {
        assert!(no_proxy_covers("localhost,169.254.170.23"));
        assert!(no_proxy_covers(
            "169.254.169.254,169.254.170.2,169.254.170.23"
        ));
        assert!(no_proxy_covers("*"));
        assert!(no_proxy_covers("169.254.0.0/16"));
        assert!(no_proxy_covers("[fd00:ec2::23]"));
        assert!(!no_proxy_covers("localhost,.svc,.cluster.local"));
        assert!(!no_proxy_covers(""));
    }
}
