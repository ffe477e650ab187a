//! Trimming of watched objects before they enter the stores: what the diagnosis never
//! reads is dropped (managed fields, the last-applied annotation, scheduling, probes,
//! resources, ports, volume sources other than projected service-account tokens, pod
//! status beyond its phase and readiness, CA bundles), and container environment values are
//! redacted as `collect` redacts them (kept only for the `AWS_*` names that carry no
//! secret), so no secret is ever held in memory, let alone logged.
//!
//! Fields are dropped by name (a deny list), so a field the loader starts reading
//! later is kept; `tests/partition.rs` (`trimmed_objects_say_what_the_originals_say`)
//! proves the evaluation of every example and of a generated cluster says the same
//! from the trimmed objects as from the originals. Objects are trimmed as they are
//! read off the watch ([`crate::slim`]).

use irsa_model::loader::SAFE_AWS_ENV;
use irsa_model::REDACTED;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, Namespace, Node, NodeStatus, NodeSystemInfo, Pod, PodCondition, PodSpec,
    PodStatus, PodTemplateSpec, ServiceAccount, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// `kubectl apply`'s copy of the object (it repeats env values).
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops managed fields and the last-applied annotation.
pub fn meta(m: &mut ObjectMeta) {
    m.managed_fields = None;
    if let Some(a) = &mut m.annotations {
        a.remove(LAST_APPLIED);
    }
}

fn env(vars: &mut [EnvVar]) {
    for v in vars {
        if v.value.is_some() && !SAFE_AWS_ENV.contains(&v.name.as_str()) {
            v.value = Some(REDACTED.to_string());
        }
    }
}

fn container(c: &mut Container) {
    if let Some(e) = &mut c.env {
        env(e);
    }
    c.args = None;
    c.command = None;
    c.lifecycle = None;
    c.liveness_probe = None;
    c.readiness_probe = None;
    c.startup_probe = None;
    c.ports = None;
    c.resources = None;
    c.resize_policy = None;
    c.termination_message_path = None;
    c.termination_message_policy = None;
    c.volume_devices = None;
    c.working_dir = None;
    c.image_pull_policy = None;
}

fn volume(v: &mut Volume) {
    // Only projected service-account tokens are read; every other source is dropped
    // (the volume's name stays: mounts refer to it).
    if let Some(p) = &mut v.projected {
        if let Some(sources) = &mut p.sources {
            sources.retain(|s| s.service_account_token.is_some());
        }
    }
    v.config_map = None;
    v.secret = None;
    v.downward_api = None;
    v.empty_dir = None;
    v.host_path = None;
    v.persistent_volume_claim = None;
    v.csi = None;
    v.ephemeral = None;
    v.nfs = None;
    v.image = None;
}

/// Trims a pod spec (a pod's or a template's).
pub fn pod_spec(s: &mut PodSpec) {
    for c in s.containers.iter_mut() {
        container(c);
    }
    for c in s.init_containers.iter_mut().flatten() {
        container(c);
    }
    for c in s.ephemeral_containers.iter_mut().flatten() {
        if let Some(e) = &mut c.env {
            env(e);
        }
        c.args = None;
        c.command = None;
        c.ports = None;
        c.resources = None;
    }
    for v in s.volumes.iter_mut().flatten() {
        volume(v);
    }
    s.affinity = None;
    s.tolerations = None;
    s.topology_spread_constraints = None;
    s.dns_config = None;
    s.readiness_gates = None;
    s.overhead = None;
    s.scheduling_gates = None;
    s.host_aliases = None;
    s.resource_claims = None;
    s.resources = None;
    s.image_pull_secrets = None;
}

fn template(t: &mut PodTemplateSpec) {
    if let Some(m) = &mut t.metadata {
        meta(m);
    }
    if let Some(s) = &mut t.spec {
        pod_spec(s);
    }
}

/// Trims a pod: its status keeps only the phase.
pub fn pod(p: &mut Pod) {
    meta(&mut p.metadata);
    if let Some(s) = &mut p.spec {
        pod_spec(s);
    }
    p.status = p.status.take().map(|s| PodStatus {
        phase: s.phase,
        // Readiness (the EKS Pod Identity agent's pods: a pod on a node whose agent is
        // not ready gets no credentials): the `Ready` condition's status, no times.
        conditions: s.conditions.map(|c| {
            c.into_iter()
                .filter(|c| c.type_ == "Ready")
                .map(|c| PodCondition {
                    status: c.status,
                    type_: c.type_,
                    ..PodCondition::default()
                })
                .collect()
        }),
        ..PodStatus::default()
    });
}

/// Trims a ServiceAccount (its token-secret lists are never read).
pub fn service_account(sa: &mut ServiceAccount) {
    meta(&mut sa.metadata);
    sa.secrets = None;
    sa.image_pull_secrets = None;
}

/// Trims a Deployment.
pub fn deployment(d: &mut Deployment) {
    meta(&mut d.metadata);
    if let Some(s) = &mut d.spec {
        template(&mut s.template);
    }
}

/// Trims a DaemonSet; the EKS Pod Identity agent's keeps its containers' command and
/// arguments (the addresses it binds are read from them).
pub fn daemon_set(d: &mut DaemonSet) {
    meta(&mut d.metadata);
    let agent = irsa_model::pod_identity::is_agent_named(
        d.metadata.name.as_deref(),
        d.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(irsa_model::pod_identity::NAME_LABEL))
            .map(String::as_str),
    );
    if let Some(s) = &mut d.spec {
        let words: Vec<_> = s
            .template
            .spec
            .iter()
            .flat_map(|p| &p.containers)
            .map(|c| (c.command.clone(), c.args.clone()))
            .collect();
        template(&mut s.template);
        if agent {
            let containers = s.template.spec.iter_mut().flat_map(|p| &mut p.containers);
            for (c, (command, args)) in containers.zip(words) {
                c.command = command;
                c.args = args;
            }
        }
    }
}

/// Trims a Node to what the diagnosis reads: its name, labels, operating system,
/// kubelet version and internal addresses (no conditions, no heartbeats: a status
/// update changes nothing stored).
pub fn node(n: &mut Node) {
    meta(&mut n.metadata);
    n.metadata.annotations = None;
    n.spec = None;
    n.status = n.status.take().map(|s| NodeStatus {
        node_info: s.node_info.map(|i| NodeSystemInfo {
            kubelet_version: i.kubelet_version,
            operating_system: i.operating_system,
            ..NodeSystemInfo::default()
        }),
        addresses: s
            .addresses
            .map(|a| a.into_iter().filter(|a| a.type_ == "InternalIP").collect()),
        ..NodeStatus::default()
    });
}

/// Trims a StatefulSet (its volume claim templates are never read).
pub fn stateful_set(d: &mut StatefulSet) {
    meta(&mut d.metadata);
    if let Some(s) = &mut d.spec {
        template(&mut s.template);
        s.volume_claim_templates = None;
    }
}

/// Trims a ReplicaSet.
pub fn replica_set(d: &mut ReplicaSet) {
    meta(&mut d.metadata);
    if let Some(t) = d.spec.as_mut().and_then(|s| s.template.as_mut()) {
        template(t);
    }
}

/// Trims a Job.
pub fn job(j: &mut Job) {
    meta(&mut j.metadata);
    if let Some(s) = &mut j.spec {
        template(&mut s.template);
    }
}

/// Trims a CronJob.
pub fn cron_job(c: &mut CronJob) {
    meta(&mut c.metadata);
    if let Some(t) = c.spec.as_mut().and_then(|s| s.job_template.spec.as_mut()) {
        template(&mut t.template);
    }
}

/// Trims a MutatingWebhookConfiguration (its CA bundles are never read).
pub fn webhook_configuration(w: &mut MutatingWebhookConfiguration) {
    meta(&mut w.metadata);
    for h in w.webhooks.iter_mut().flatten() {
        h.client_config.ca_bundle = None;
    }
}

/// Trims a Namespace to its name and labels.
pub fn namespace(n: &mut Namespace) {
    meta(&mut n.metadata);
    n.spec = None;
    n.status = None;
}
