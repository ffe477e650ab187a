//! What is known of the software in each container of a workload that uses IRSA
//! or EKS Pod Identity: exec outputs (`pip list`, jar listings, `go version -m`…),
//! the release of a well-known controller its image names, or `--sdk`. Shared by
//! `sdk-too-old` (and anything else that needs "which SDK runs here").

use crate::context::Context;
use crate::finding::Subject;
use crate::fixes::sh;
use irsa_knowledge::{knowledge, Component, Ecosystem, Feature, ImageMatch, Sdk};
use irsa_model::{Container, ExecEvidence, Pod, PodSpec, Snapshot, Software, Text, WorkloadKind};

/// A pod template to judge: a top-level workload, or a bare pod.
pub struct Target<'a> {
    /// `Deployment`, `DaemonSet`, …, or `Pod`.
    pub kind: &'static str,
    /// The workload kind, when it is one.
    pub workload: Option<WorkloadKind>,
    /// Namespace.
    pub namespace: &'a Text,
    /// Name.
    pub name: &'a Text,
    /// The pod spec.
    pub spec: &'a PodSpec,
    /// Which credentials its pods get.
    pub feature: Feature,
}

impl Target<'_> {
    /// The subject of findings about it (sharing the model's names).
    pub fn subject(&self) -> Subject {
        Subject::namespaced(self.kind, self.namespace, self.name)
    }
}

/// Workloads (top-level) and bare pods in scope whose ServiceAccount gets pod
/// credentials: an EKS Pod Identity association (which the webhook injects in
/// preference to IRSA), else the IRSA annotation.
pub fn targets<'a>(cx: &'a Context<'a>) -> Vec<Target<'a>> {
    // `annotated`: the ServiceAccount has the role annotation (on its object, or as its
    // pods carry it when the object was not read).
    let feature_of = |ns: &str, sa: &str, annotated: bool| -> Option<Feature> {
        // Indexed: a scan of every association per workload and pod grew with their
        // product (ten thousand of each: a hundred million comparisons).
        if cx.associations_of(ns, sa).next().is_some() {
            return Some(Feature::PodIdentity);
        }
        annotated.then_some(Feature::WebIdentity)
    };
    let mut out = Vec::new();
    for w in cx.workloads_in_scope().filter(|w| w.owner.is_none()) {
        let sa = w.template.effective_service_account();
        let annotated = cx.role_annotation(&w.namespace, sa).is_some();
        if let Some(feature) = feature_of(&w.namespace, sa, annotated) {
            out.push(Target {
                kind: w.kind.name(),
                workload: Some(w.kind),
                namespace: &w.namespace,
                name: &w.name,
                spec: &w.template,
                feature,
            });
        }
    }
    // Pods whose workload is not in the snapshot (bare pods, or an owner not read).
    for p in cx.pods_without_workload() {
        let annotated = cx.pod_role_annotation(p).is_some();
        if let Some(feature) =
            feature_of(&p.namespace, p.spec.effective_service_account(), annotated)
        {
            out.push(Target {
                kind: "Pod",
                workload: None,
                namespace: &p.namespace,
                name: &p.name,
                spec: &p.spec,
                feature,
            });
        }
    }
    out
}

/// Software evidence collected from a target's container, with the pod it came from.
pub struct ExecSoftware<'a> {
    /// The pod (as named in the command).
    pub pod: &'a str,
    /// The evidence.
    pub software: &'a Software,
}

/// Exec outputs that describe this container of this target.
pub fn exec_software<'a>(
    snap: &'a Snapshot,
    t: &Target<'_>,
    container: &Container,
) -> Vec<ExecSoftware<'a>> {
    let default_container = t.spec.containers.first().map(|c| c.name.as_str());
    snap.exec
        .iter()
        .filter(|e| e.namespace == *t.namespace)
        .filter(|e| match e.container.as_deref() {
            Some(c) => c == container.name,
            None => default_container == Some(container.name.as_str()),
        })
        .filter(|e| belongs_to(snap, &e.pod, t))
        .filter_map(|e| match &e.evidence {
            ExecEvidence::Software(s) => Some(ExecSoftware {
                pod: &e.pod,
                software: s,
            }),
            _ => None,
        })
        .collect()
}

/// Whether `kubectl exec <pod>` reached a pod of this target (`deploy/NAME`
/// forms included; a pod missing from the snapshot is matched by its name).
fn belongs_to(snap: &Snapshot, pod: &str, t: &Target<'_>) -> bool {
    if let Some((kind, name)) = pod.split_once('/') {
        let kind = match kind.split('.').next().unwrap_or(kind) {
            "deploy" | "deployment" | "deployments" => WorkloadKind::Deployment,
            "ds" | "daemonset" | "daemonsets" => WorkloadKind::DaemonSet,
            "sts" | "statefulset" | "statefulsets" => WorkloadKind::StatefulSet,
            "job" | "jobs" => WorkloadKind::Job,
            "rs" | "replicaset" | "replicasets" => WorkloadKind::ReplicaSet,
            "po" | "pod" | "pods" => return t.workload.is_none() && name == t.name,
            _ => return false,
        };
        return t.workload == Some(kind) && name == t.name;
    }
    match snap
        .pods
        .iter()
        .find(|p| p.namespace == *t.namespace && p.name == pod)
    {
        Some(p) => owned_by(snap, p, t),
        None => match t.workload {
            None => pod == t.name,
            // `<deployment>-<rs hash>-<pod hash>`, `<daemonset>-<hash>`, `<statefulset>-<n>`.
            Some(WorkloadKind::Deployment) => pod
                .rsplitn(3, '-')
                .nth(2)
                .is_some_and(|base| base == t.name),
            Some(_) => pod.rsplit_once('-').is_some_and(|(base, _)| base == t.name),
        },
    }
}

fn owned_by(snap: &Snapshot, p: &Pod, t: &Target<'_>) -> bool {
    match (t.workload, snap.controller_of(p)) {
        (None, None) => p.name == *t.name,
        (Some(k), Some((pk, pn))) => k == pk && pn == t.name,
        _ => false,
    }
}

/// The image, if it is a release of a well-known controller (or hosts one).
pub fn controller_image(spec: &PodSpec, container: &Container) -> Option<ImageMatch<'static>> {
    controller_image_with(spec, container, &mut |image| {
        knowledge().identify_image(image)
    })
}

/// [`controller_image`] with images identified by `identify` (a memo over the images of
/// a large cluster, where thousands of pods run the same few images).
pub fn controller_image_with<'i>(
    spec: &'i PodSpec,
    container: &'i Container,
    identify: &mut impl FnMut(&'i str) -> Option<ImageMatch<'static>>,
) -> Option<ImageMatch<'static>> {
    let image = container.image.as_deref()?;
    let m = identify(image)?;
    // A host image (velero) runs the controller's code only with its plugin present.
    if m.by == irsa_knowledge::MatchedBy::Host {
        let plugin = spec.all_containers().find_map(|c| {
            let i = identify(c.image.as_deref()?)?;
            (i.controller.id == m.controller.id && i.by != irsa_knowledge::MatchedBy::Host)
                .then_some(i)
        })?;
        return Some(plugin);
    }
    Some(m)
}

/// AWS CLI images (`amazon/aws-cli:<version>`) name the CLI version in their tag.
pub fn cli_image_component(container: &Container) -> Option<Component> {
    let image = container.image.as_deref()?;
    // Both repositories end in `aws-cli`: an image without it is neither, and is not
    // parsed (this runs for every container of every pod).
    if !image.contains("aws-cli") {
        return None;
    }
    let r = irsa_knowledge::ImageRef::parse(image);
    let known =
        r.repository.ends_with("amazon/aws-cli") || r.repository.ends_with("aws-cli/aws-cli");
    let tag = r
        .tag
        .filter(|t| known && t.starts_with(|c: char| c.is_ascii_digit()))?;
    let version = irsa_knowledge::Version::parse(&tag)?;
    Some(Component {
        ecosystem: Ecosystem::Cli,
        name: "aws-cli".into(),
        version: Some(irsa_knowledge::VersionSpec::Exact(version)),
    })
}

/// The one command that would show a container's SDK: `kubectl exec` into `container`
/// of `kind` (`Pod`, or a workload kind: `kubectl exec deployment/NAME` picks one of its
/// pods) `namespace`/`name`, running `inner` (what [`evidence_exec`] gives for the
/// container's image).
pub fn exec_command(
    kind: &str,
    namespace: &str,
    name: &str,
    container: &str,
    inner: &str,
) -> String {
    use irsa_model::command::shell_quote_into as sh_into;
    // (Written each time a report renders the gap: one string, none per word.)
    let mut out = String::with_capacity(
        40 + kind.len() + namespace.len() + name.len() + container.len() + inner.len(),
    );
    out.push_str("kubectl exec -n ");
    sh_into(&mut out, namespace);
    out.push(' ');
    match kind {
        "Pod" => sh_into(&mut out, name),
        _ => sh_into(&mut out, &format!("{}/{name}", kind.to_lowercase())),
    }
    out.push_str(" -c ");
    sh_into(&mut out, container);
    out.push_str(" -- ");
    out.push_str(inner);
    out
}

/// What to run in a container of `image` to show its SDK: by the language the image
/// suggests, else a command that prints every kind this tool reads.
pub fn evidence_exec(image: Option<&str>) -> String {
    let image = image.unwrap_or("").to_ascii_lowercase();
    let last = image.rsplit('/').next().unwrap_or("");
    let hint = knowledge().sdks.iter().find(|s| {
        s.evidence.images.iter().any(|i| {
            last.starts_with(i.as_str())
                || occurs(last, i, |at| last[at + i.len()..].starts_with(':'))
                || occurs(last, i, |at| last[..at].ends_with('-'))
        })
    });
    let inner = match hint {
        Some(s) if !s.evidence.command.contains('<') => s.evidence.command.clone(),
        _ => "sh -c 'aws --version; pip list; npm ls --all; gem list aws-sdk; composer show; ls /app /app/lib /opt/app/lib' 2>&1".into(),
    };
    if inner.contains(['|', ';', '>', '\'']) && !inner.starts_with("sh -c") {
        format!("sh -c {}", sh(&inner))
    } else {
        inner
    }
}

/// Whether `needle` occurs in `hay` at an offset where `at` holds, overlapping
/// occurrences included: `occurs(h, n, |i| h[i + n.len()..].starts_with(':'))` is
/// `h.contains(&format!("{n}:"))` without building that string (this runs for every
/// container of a large cluster).
fn occurs(hay: &str, needle: &str, at: impl Fn(usize) -> bool) -> bool {
    let mut from = 0;
    while let Some(i) = hay[from..].find(needle) {
        let i = from + i;
        if at(i) {
            return true;
        }
        match hay[i..].chars().next() {
            Some(c) => from = i + c.len_utf8(),
            None => return false,
        }
    }
    false
}

/// How to bring an SDK (or a missing module) to a version, in its ecosystem.
pub fn upgrade_hint(
    sdk: &Sdk,
    ecosystem: Option<Ecosystem>,
    package: &str,
    minimum: &str,
) -> String {
    match ecosystem {
        Some(Ecosystem::Pypi) => format!("pip install --upgrade '{package}>={minimum}'"),
        Some(Ecosystem::Npm) => format!("npm install {package}@^{minimum}"),
        Some(Ecosystem::Go) => format!("go get {package}@v{minimum}"),
        Some(Ecosystem::Rubygems) => format!("bundle update {package} (to >= {minimum})"),
        Some(Ecosystem::Nuget) => format!("dotnet add package {package} --version {minimum}"),
        Some(Ecosystem::Composer) => format!("composer require {package}:^{minimum}"),
        Some(Ecosystem::Maven) => {
            let coords = match package.split_once(':') {
                Some((g, a)) => format!("{g}:{a}"),
                None => format!("com.amazonaws:{package}"),
            };
            format!("set {coords} to {minimum} or later in the build (pom.xml / build.gradle)")
        }
        Some(Ecosystem::Cli) => format!("install {} {minimum} or later in the image", sdk.name),
        None => format!("upgrade {} to {minimum} or later", sdk.name),
    }
}

#[cfg(test)]
mod occurs_tests {
    use super::occurs;

    /// `occurs` agrees with building the string and searching for it, overlaps included.
    #[test]
    fn occurs_is_contains_of_the_built_string() {
        let hays = [
            "aaa:",
            "x-aa",
            "python:3",
            "my-python-app",
            "aa",
            "",
            "é-a:b",
            "a:a:",
        ];
        let needles = ["a", "aa", "python", "b", "é"];
        for h in hays {
            for n in needles {
                let after = occurs(h, n, |i| h[i + n.len()..].starts_with(':'));
                let before = occurs(h, n, |i| h[..i].ends_with('-'));
                assert_eq!(after, h.contains(&format!("{n}:")), "{h} {n}");
                assert_eq!(before, h.contains(&format!("-{n}")), "{h} {n}");
            }
        }
    }
}
