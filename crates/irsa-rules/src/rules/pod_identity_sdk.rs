//! IRSA606: the SDK of pods that use EKS Pod Identity accepts the agent's address
//! (container credentials from 169.254.170.23).

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Fix, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::pod_identity::{association_of, associations};
use crate::registry::Rule;
use crate::rules::pod_helpers::version_lt;
use irsa_model::PodSpec;

declare_rule!(PodIdentitySdk, code: "IRSA606", name: "pod-identity-sdk", cause: SdkTooOld, severity: Error,
    summary: "The AWS SDK (or AWS CLI image) of pods that use EKS Pod Identity supports it.",
    doc: include_str!("pod_identity_sdk.md"));

/// Minimum versions for EKS Pod Identity: (name accepted by `--sdk`, display name,
/// minimum; `None` = never supported). Source:
/// https://docs.aws.amazon.com/eks/latest/userguide/pod-id-minimum-sdk.html (facts §1.6;
/// Java v1 "does not support" per the same page, whose earlier listing of 1.12.746 was
/// withdrawn). Date-versioned SDKs (Go v2 `release-2023-11-14`, Rust
/// `release-2024-03-13`) are compared as dates.
pub const MINIMUM_POD_IDENTITY_SDK: [(&str, &str, Option<&str>); 16] = [
    ("java2", "AWS SDK for Java v2", Some("2.21.30")),
    ("java", "AWS SDK for Java v1", None),
    ("go", "AWS SDK for Go v1", Some("1.47.11")),
    ("go2", "AWS SDK for Go v2", Some("2023-11-14")),
    ("boto3", "boto3", Some("1.34.41")),
    ("botocore", "botocore", Some("1.34.41")),
    ("awscli", "AWS CLI v1", Some("1.30.0")),
    ("awscli2", "AWS CLI v2", Some("2.15.0")),
    ("js2", "AWS SDK for JavaScript v2", Some("2.1550.0")),
    ("node", "AWS SDK for JavaScript v2", Some("2.1550.0")),
    ("js3", "AWS SDK for JavaScript v3", Some("3.458.0")),
    ("rust", "AWS SDK for Rust", Some("2024-03-13")),
    ("cpp", "AWS SDK for C++", Some("1.11.263")),
    ("dotnet", "AWS SDK for .NET", Some("3.7.734.0")),
    ("php", "AWS SDK for PHP v3", Some("3.287.1")),
    ("ruby", "AWS SDK for Ruby v3", Some("3.188.0")),
];

/// `release-2023-11-14` / `2023-11-14` → `2023.11.14` (so dotted comparison works).
fn normalise(v: &str) -> String {
    v.trim().trim_start_matches("release-").replace('-', ".")
}

/// Whether `version` is older than `minimum` (`None`: never supported).
pub fn too_old(version: &str, minimum: Option<&str>) -> bool {
    match minimum {
        None => true,
        Some(m) => version_lt(&normalise(version), &normalise(m)),
    }
}

fn cli_image(image: &str) -> Option<(&'static str, &str)> {
    let (repo, tag) = image.rsplit_once(':')?;
    let known = repo.ends_with("amazon/aws-cli") || repo.ends_with("aws-cli/aws-cli");
    if !known || !tag.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((
        if tag.starts_with("1.") {
            "awscli"
        } else {
            "awscli2"
        },
        tag,
    ))
}

fn images(out: &mut Out, kind: &str, ns: &str, name: &str, spec: &PodSpec) {
    for c in spec.all_containers() {
        let Some((sdk, v)) = c.image.as_deref().and_then(cli_image) else {
            continue;
        };
        let (_, display, minimum) = MINIMUM_POD_IDENTITY_SDK
            .iter()
            .find(|(n, ..)| *n == sdk)
            .expect("listed");
        if !too_old(v, *minimum) {
            continue;
        }
        let f = out.report(
            &PodIdentitySdk::META,
            Subject::namespaced(kind, ns, name),
            Message::new("pi-sdk-too-old")
                .arg("sdk", *display)
                .arg("version", v)
                .arg("minimum", minimum.unwrap_or_default())
                .arg("container", &c.name)
                .arg("kind", kind)
                .arg("namespace", ns)
                .arg("name", name),
        );
        if kind == "Pod" {
            f.fix(Fix::advice(
                "use amazon/aws-cli 2.15.0 or later in the pod's workload",
            ));
        } else {
            f.fix(Fix::command(
                "use an AWS CLI image that supports EKS Pod Identity",
                format!(
                    "kubectl set image {}/{} -n {} {}=amazon/aws-cli:latest",
                    kind.to_lowercase(),
                    sh(name),
                    sh(ns),
                    sh(&c.name)
                ),
            ));
        }
    }
}

impl Rule for PodIdentitySdk {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let mut seen = std::collections::BTreeSet::new();
        for w in cx.workloads_in_scope().filter(|w| w.owner.is_none()) {
            if association_of(cx, &w.namespace, w.template.effective_service_account()).is_some() {
                seen.insert((w.namespace.clone(), w.name.clone()));
                images(out, w.kind.name(), &w.namespace, &w.name, &w.template);
            }
        }
        for p in cx.pods_in_scope() {
            if association_of(cx, &p.namespace, p.spec.effective_service_account()).is_none() {
                continue;
            }
            let covered = cx
                .snap
                .controller_of(p)
                .is_some_and(|(_, n)| seen.contains(&(p.namespace.clone(), n)));
            if !covered {
                images(out, "Pod", &p.namespace, &p.name, &p.spec);
            }
        }
        // `--sdk NAME=VERSION`: the SDK of the selected ServiceAccount's workload, or of
        // every ServiceAccount in scope that uses Pod Identity.
        let targets: Vec<(String, String)> = match cx.selected_service_account() {
            Some((ns, sa)) => association_of(cx, &ns, &sa)
                .map(|_| vec![(ns, sa)])
                .unwrap_or_default(),
            None => associations(cx)
                .into_iter()
                .map(|a| (a.namespace.clone(), a.service_account.clone()))
                .collect(),
        };
        for (name, version) in &cx.options.sdks {
            let Some((_, display, minimum)) = MINIMUM_POD_IDENTITY_SDK
                .iter()
                .find(|(n, ..)| n.eq_ignore_ascii_case(name))
            else {
                continue;
            };
            if !too_old(version, *minimum) {
                continue;
            }
            for (ns, sa) in &targets {
                let message = match minimum {
                    Some(m) => Message::new("pi-sdk-too-old")
                        .arg("version", version)
                        .arg("minimum", *m),
                    None => Message::new("pi-sdk-unsupported"),
                };
                out.report(
                    &Self::META,
                    Subject::namespaced("ServiceAccount", ns, sa),
                    message
                        .arg("sdk", *display)
                        .arg("container", "(given by --sdk)")
                        .arg("kind", "ServiceAccount")
                        .arg("namespace", ns)
                        .arg("name", sa),
                )
                .fix(Fix::advice(match minimum {
                    Some(m) => format!("upgrade {display} to {m} or later"),
                    None => format!("{display} cannot use EKS Pod Identity: move to its successor SDK, or use IRSA for this ServiceAccount"),
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::too_old;

    #[test]
    fn versions() {
        assert!(too_old("1.34.40", Some("1.34.41")));
        assert!(!too_old("1.35.0", Some("1.34.41")));
        assert!(too_old("release-2023-10-01", Some("2023-11-14")));
        assert!(!too_old("release-2024-01-02", Some("2023-11-14")));
        assert!(too_old("1.12.800", None));
    }
}
