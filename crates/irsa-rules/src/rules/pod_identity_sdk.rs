//! IRSA606: the SDK of pods that use EKS Pod Identity accepts the agent's address
//! (container credentials from 169.254.170.23).

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Fix, Subject};
use crate::messages::Message;
use crate::pod_identity::associations;
use crate::registry::Rule;
use irsa_knowledge::{knowledge, Feature, Verdict, VersionSpec};

declare_rule!(PodIdentitySdk, code: "IRSA606", name: "pod-identity-sdk", cause: SdkTooOld, severity: Error,
    summary: "The SDK given by `--sdk NAME=VERSION` supports EKS Pod Identity, for every ServiceAccount with an association (images: IRSA408).",
    doc: include_str!("pod_identity_sdk.md"));

/// The Pod Identity judgement of SDK `name` (a `--sdk` name, the same names as
/// `sdk-too-old`: `irsa_knowledge::known_sdk_names`) at `version`, from the SDK data
/// files of `irsa-knowledge` (each row cites the EKS user guide's minimum SDK page,
/// https://docs.aws.amazon.com/eks/latest/userguide/pod-id-minimum-sdk.html):
/// `Some((display name, Some(minimum)))` when older than the minimum,
/// `Some((display name, None))` when no version supports it, `None` when it does, when
/// the sources disagree (a warning, reported by sdk-too-old: Java v1 from 1.12.746), or
/// when the name or the version is unknown (not judged here).
pub fn too_old(name: &str, version: &str) -> Option<(&'static str, Option<String>)> {
    let sdk = knowledge().sdk_for_cli_name(name)?;
    let v = irsa_knowledge::Version::parse(version)?;
    match sdk.judge(Feature::PodIdentity, &VersionSpec::Exact(v)) {
        Verdict::TooOld { minimum, .. } => Some((sdk.name.as_str(), Some(minimum.to_string()))),
        Verdict::Unsupported { .. } => Some((sdk.name.as_str(), None)),
        _ => None,
    }
}

impl Rule for PodIdentitySdk {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        // Container images (the AWS CLI's among them) are judged by sdk-too-old
        // (IRSA408) with the mechanism each ServiceAccount uses: not reported twice.
        // `--sdk NAME=VERSION`: the SDK of every ServiceAccount in scope that uses Pod
        // Identity. A selected ServiceAccount is judged by sdk-too-old (IRSA408), which
        // reads the same data for the mechanism it uses: not reported twice.
        let targets: Vec<(String, String)> = match cx.selected_service_account() {
            Some(_) => Vec::new(),
            None => associations(cx)
                .into_iter()
                .map(|a| (a.namespace.clone(), a.service_account.clone()))
                .collect(),
        };
        for (name, version) in &cx.options.sdks {
            let Some((display, minimum)) = too_old(name, version) else {
                continue;
            };
            for (ns, sa) in &targets {
                let message = match &minimum {
                    Some(m) => Message::new("pi-sdk-too-old")
                        .arg("version", version)
                        .arg("minimum", m),
                    None => Message::new("pi-sdk-unsupported"),
                };
                out.report(
                    &Self::META,
                    Subject::namespaced("ServiceAccount", ns, sa),
                    message
                        .arg("sdk", display)
                        .arg("container", "(given by --sdk)")
                        .arg("kind", "ServiceAccount")
                        .arg("namespace", ns)
                        .arg("name", sa),
                )
                .fix(Fix::advice(match &minimum {
                    Some(m) => format!("upgrade {display} to {m} or later"),
                    None => format!("{display} cannot use EKS Pod Identity: move to its successor SDK, or use IRSA for this ServiceAccount"),
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{too_old, PodIdentitySdk};

    #[test]
    fn summary_and_doc_say_what_it_judges() {
        // It judges `--sdk` only; images are sdk-too-old's (IRSA408).
        let m = PodIdentitySdk::META;
        assert!(m.summary.contains("--sdk"), "{}", m.summary);
        assert!(
            !m.summary.to_lowercase().contains("image of"),
            "{}",
            m.summary
        );
        assert!(m.doc.contains("IRSA408"));
        let fix = m.doc.split("## Fix").nth(1).unwrap();
        assert!(fix.contains("--sdk"), "{fix}");
    }

    #[test]
    fn versions_from_the_knowledge_data() {
        // boto3: the first release whose botocore accepts the agent's address is the
        // required minimum (1.29.0); below the documented 1.34.41 it works (sdk-too-old
        // says so as a warning), so this rule, an error, stays quiet there.
        assert_eq!(
            too_old("boto3", "1.28.85"),
            Some(("boto3", Some("1.29.0".into())))
        );
        assert_eq!(too_old("boto3", "1.34.40"), None);
        assert_eq!(too_old("boto3", "1.35.0"), None);
        // Go v2 is judged by its config module (the data file's package).
        assert!(too_old("go2", "1.24.0").is_some());
        assert_eq!(too_old("go2", "1.25.0"), None);
        // Java v1: below 1.12.746 (the SDK's changelog) it fails; from it on the EKS user
        // guide's "unsupported" and the changelog disagree: a warning (sdk-too-old), not
        // this rule's error. See java1.toml.
        assert!(too_old("java", "1.12.745").is_some());
        assert_eq!(too_old("java", "1.12.746"), None);
        assert!(too_old("awscli2", "2.13.0").is_some());
        assert_eq!(too_old("awscli2", "2.15.0"), None);
        // Unknown names and versions are not judged here.
        assert_eq!(too_old("cobol", "1.0"), None);
        assert_eq!(too_old("boto3", "latest"), None);
    }
}
