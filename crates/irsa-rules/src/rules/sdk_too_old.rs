//! IRSA408: the SDK is recent enough to read the web identity token.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Fix, Subject};
use crate::messages::Message;
use crate::registry::Rule;
use crate::rules::pod_helpers::version_lt;

declare_rule!(SdkTooOld, code: "IRSA408", name: "sdk-too-old", cause: SdkTooOld, severity: Error,
    summary: "The AWS SDK (or AWS CLI image) supports web identity credentials.",
    doc: include_str!("sdk_too_old.md"));

/// (name accepted by --sdk, display name, minimum version).
pub const MINIMUM_SDK_VERSIONS: [(&str, &str, &str); 13] = [
    ("java2", "AWS SDK for Java v2", "2.10.11"),
    ("java", "AWS SDK for Java v1", "1.11.704"),
    ("go", "AWS SDK for Go v1", "1.23.13"),
    ("boto3", "boto3", "1.9.220"),
    ("botocore", "botocore", "1.12.200"),
    ("awscli", "AWS CLI v1", "1.16.232"),
    ("js2", "AWS SDK for JavaScript v2", "2.525.0"),
    ("js3", "AWS SDK for JavaScript v3", "3.27.0"),
    ("node", "AWS SDK for JavaScript v2", "2.525.0"),
    ("ruby", "AWS SDK for Ruby v3", "3.58.0"),
    ("cpp", "AWS SDK for C++", "1.7.174"),
    ("dotnet", "AWS SDK for .NET", "3.3.659.1"),
    ("php", "AWS SDK for PHP v3", "3.110.7"),
];

fn cli_image_version(image: &str) -> Option<&str> {
    let (repo, tag) = image.rsplit_once(':')?;
    let known = repo.ends_with("amazon/aws-cli") || repo.ends_with("aws-cli/aws-cli");
    (known && tag.starts_with(|c: char| c.is_ascii_digit())).then_some(tag)
}

impl Rule for SdkTooOld {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        // Workloads, and pods whose workload is not in the snapshot.
        for (kind, namespace, name, spec) in cx.pod_specs() {
            let annotated = cx
                .role_annotation(namespace, spec.effective_service_account())
                .is_some();
            if !annotated {
                continue;
            }
            for c in spec.all_containers() {
                let Some(v) = c.image.as_deref().and_then(cli_image_version) else {
                    continue;
                };
                if v.starts_with("1.") && version_lt(v, "1.16.232") {
                    out.report(
                        &Self::META,
                        Subject::namespaced(kind, namespace, name),
                        Message::new("sdk-too-old")
                            .arg("container", &c.name)
                            .arg("kind", kind)
                            .arg("namespace", namespace)
                            .arg("name", name)
                            .arg("sdk", "AWS CLI")
                            .arg("version", v)
                            .arg("minimum", "1.16.232"),
                    )
                    .fix(Fix::command(
                        "use a current AWS CLI image",
                        format!(
                            "kubectl set image {}/{} -n {} {}=amazon/aws-cli:latest",
                            kind.to_lowercase(),
                            name,
                            namespace,
                            c.name
                        ),
                    ));
                }
            }
        }
        for (name, version) in &cx.options.sdks {
            let Some((_, display, minimum)) = MINIMUM_SDK_VERSIONS
                .iter()
                .find(|(n, ..)| n.eq_ignore_ascii_case(name))
            else {
                continue;
            };
            if version_lt(version, minimum) {
                let (ns, sa) = cx
                    .selected_service_account()
                    .unwrap_or_else(|| ("-".into(), "(workload)".into()));
                out.report(
                    &Self::META,
                    Subject::namespaced("ServiceAccount", &ns, &sa),
                    Message::new("sdk-too-old")
                        .arg("container", "(given by --sdk)")
                        .arg("kind", "ServiceAccount")
                        .arg("namespace", &ns)
                        .arg("name", &sa)
                        .arg("sdk", *display)
                        .arg("version", version)
                        .arg("minimum", *minimum),
                )
                .fix(Fix::advice(format!(
                    "upgrade {display} to {minimum} or later"
                )));
            }
        }
    }
}
