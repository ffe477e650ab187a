//! IRSA408: the software in each container reads the pod's credentials (web
//! identity for IRSA, container credentials for EKS Pod Identity).
//!
//! Evidence, first found wins per container: exec outputs (`aws --version`,
//! `pip list`, jar listings, `go version -m`, `npm ls`, `gem list`, `dotnet list
//! package`, `composer show` …), else the release of a well-known controller its
//! image names (what that release bundles, from the knowledge data), else an AWS CLI
//! image tag. `--sdk NAME=VERSION` judges the selected ServiceAccount. Without any,
//! the container is reported as not checked, with the one command to run.

use crate::context::{Context, Out};
use crate::declare_rule;
use crate::finding::{Cause, Fix, Severity, Subject};
use crate::fixes::sh;
use crate::messages::{Message, Value};
use crate::registry::Rule;
use crate::rules::sdk_evidence::{
    cli_image_component, controller_image_with, evidence_exec, exec_software, targets,
    upgrade_hint, Target,
};
use irsa_knowledge::{
    knowledge, Component, Ecosystem, Feature, ImageMatch, SdkAssessment, Verdict, VersionSpec,
};
use irsa_model::{Container, Text};
use std::collections::HashMap;

declare_rule!(SdkTooOld, code: "IRSA408", name: "sdk-too-old", cause: SdkTooOld, severity: Error,
    summary: "The AWS SDK (or the controller release) in each container reads the pod's credentials.",
    doc: include_str!("sdk_too_old.md"));

/// What reads the pod's credentials in one feature's words.
fn reads(f: Feature) -> &'static str {
    match f {
        Feature::WebIdentity => "reads AWS_WEB_IDENTITY_TOKEN_FILE (IRSA)",
        Feature::PodIdentity => {
            "reads EKS Pod Identity credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI at 169.254.170.23)"
        }
    }
}

fn consequence(f: Feature) -> &'static str {
    match f {
        Feature::WebIdentity => "it falls back to the node's role (or finds no credentials)",
        Feature::PodIdentity => {
            "it finds no Pod Identity credentials and falls back to the node's role (or fails)"
        }
    }
}

struct Where<'a> {
    t: &'a Target<'a>,
    container: &'a Container,
}

impl Where<'_> {
    fn subject(&self) -> Subject {
        self.t.subject()
    }
    fn message(&self, id: &'static str) -> Message {
        // Room for these six and the two a gap adds (one message per container).
        Message::with_room(id, 8)
            .arg("container", &self.container.name)
            .arg_static("kind", self.t.kind)
            .arg("namespace", self.t.namespace)
            .arg("name", self.t.name)
            .arg_static("reads", reads(self.t.feature))
            .arg_static("consequence", consequence(self.t.feature))
    }
    fn restart(&self) -> Option<Fix> {
        let k = self.t.workload.filter(|k| k.restartable())?;
        Some(Fix::command(
            format!(
                "then recreate the pods of {} {}/{}",
                k.name(),
                self.t.namespace,
                self.t.name
            ),
            format!(
                "kubectl rollout restart {}/{} -n {}",
                k.name().to_lowercase(),
                sh(self.t.name),
                sh(self.t.namespace)
            ),
        ))
    }
}

impl Rule for SdkTooOld {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let targets = targets(cx);
        let mut memo = Images::default();
        for t in &targets {
            for c in t.spec.all_containers() {
                let w = Where { t, container: c };
                judge_container(cx, &w, &mut memo, out);
            }
        }
        flags(cx, out);
    }
}

/// What is known of each image, worked out once per image: thousands of pods of a large
/// cluster run the same few images.
#[derive(Default)]
struct Images<'a> {
    identified: HashMap<&'a str, Option<ImageMatch<'static>>>,
    exec: HashMap<Option<&'a str>, Text>,
    /// Why an image is not checked, once per image (thousands of pods run one image).
    unknown: HashMap<Option<&'a str>, Text>,
}

fn judge_container<'a>(cx: &Context<'_>, w: &Where<'a>, memo: &mut Images<'a>, out: &mut Out) {
    // 1. Exec evidence from the container itself.
    let evidence = exec_software(cx.snap, w.t, w.container);
    let mut listed_none: Vec<&str> = Vec::new();
    for e in &evidence {
        let assessed = knowledge().assess(&e.software.components, e.software.complete);
        let what = e
            .software
            .sources
            .iter()
            .map(|s| format!("`{}`", s.describe()))
            .collect::<Vec<_>>()
            .join(", ");
        if assessed.is_empty() {
            listed_none.extend(e.software.sources.iter().map(|s| s.describe()));
            continue;
        }
        for a in &assessed {
            report_assessment(w, a, &what, e.pod, &e.software.components, out);
        }
        return;
    }
    // 2. The release of a well-known controller.
    let identified = &mut memo.identified;
    if let Some(m) = controller_image_with(w.t.spec, w.container, &mut |image| {
        identified
            .entry(image)
            .or_insert_with(|| knowledge().identify_image(image))
            .clone()
    }) {
        report_release(w, &m, out);
        return;
    }
    // 3. An AWS CLI image names its version.
    if let Some(comp) = cli_image_component(w.container) {
        let assessed = knowledge().assess(std::slice::from_ref(&comp), false);
        for a in &assessed {
            report_assessment(w, a, "the image tag", "-", std::slice::from_ref(&comp), out);
        }
        return;
    }
    // 4. `--sdk` speaks for the selected ServiceAccount.
    if !cx.options.sdks.is_empty() && cx.selected_service_account().is_some() {
        return;
    }
    let image = w.container.image.as_deref().unwrap_or("(none)");
    let why: Text = if listed_none.is_empty() {
        memo.unknown
            .entry(w.container.image.as_deref())
            .or_insert_with(|| format!("image `{image}` is not a release this tool knows").into())
            .clone()
    } else {
        format!(
            "image `{image}` is not a release this tool knows, and {} lists no AWS SDK",
            listed_none
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into()
    };
    let f = out.report(
        &SdkTooOld::META,
        w.subject(),
        // The command's `kubectl exec` is written from the message's own names when it
        // is rendered: only what runs in the container is held, once per image.
        w.message("gap-sdk").arg("why", why).arg(
            "command",
            Value::exec_in_container(
                memo.exec
                    .entry(w.container.image.as_deref())
                    .or_insert_with(|| evidence_exec(w.container.image.as_deref()).into())
                    .clone(),
            ),
        ),
    );
    f.cause = Cause::CollectionGap;
    f.severity(Severity::Info);
}

fn report_assessment(
    w: &Where<'_>,
    a: &SdkAssessment<'_>,
    evidence: &str,
    pod: &str,
    components: &[Component],
    out: &mut Out,
) {
    let f = w.t.feature;
    let version = a.versions.join(", ");
    let base = |id: &'static str| {
        w.message(id)
            .arg("sdk", &a.sdk.name)
            .arg("version", &version)
            .arg("evidence", evidence)
            .arg("pod", pod)
    };
    // The package whose version decides, for the upgrade hint.
    let decisive = components.iter().find(|c| {
        a.sdk
            .package_for(c.ecosystem, &c.name, c.version.as_ref())
            .is_some_and(|p| p.versioned)
    });
    match a.verdict(f) {
        Verdict::Supported => out.pass(&SdkTooOld::META, w.subject(), base("sdk-ok")),
        Verdict::TooOld { minimum, source } => {
            let hint = upgrade_hint(
                a.sdk,
                decisive.map(|c| c.ecosystem),
                decisive.map(|c| c.name.as_str()).unwrap_or(&a.sdk.name),
                &minimum.to_string(),
            );
            let fix = upgrade_fix(decisive, &hint, &minimum.to_string(), w);
            let fnd = out.report(
                &SdkTooOld::META,
                w.subject(),
                base("sdk-too-old")
                    .arg("minimum", minimum.to_string())
                    .arg("source", source),
            );
            fnd.fix(fix);
            if let Some(r) = w.restart() {
                fnd.fix(r);
            }
        }
        Verdict::Unsupported { source } => {
            let fnd = out.report(
                &SdkTooOld::META,
                w.subject(),
                base("sdk-unsupported").arg("source", source),
            );
            fnd.fix(Fix::advice(match f {
                Feature::PodIdentity => format!(
                    "{} does not support EKS Pod Identity: move to an SDK that does, or use IRSA (annotate the ServiceAccount with eks.amazonaws.com/role-arn and delete the Pod Identity association)",
                    a.sdk.name
                ),
                Feature::WebIdentity => format!("{} does not support web identity: use an SDK that does", a.sdk.name),
            }));
        }
        Verdict::MissingModule {
            module,
            error,
            source,
        } => {
            let fnd = out.report(
                &SdkTooOld::META,
                w.subject(),
                base("sdk-missing-module")
                    .arg("module", module)
                    .arg("error", error)
                    .arg("source", source),
            );
            fnd.predicts(error.clone());
            fnd.fix(missing_module_fix(a, module, &version));
            if let Some(r) = w.restart() {
                fnd.fix(r);
            }
        }
        Verdict::DocumentedUnsupported { source } => {
            // The sources disagree (the SDK's changelog: it works from its minimum;
            // AWS's documentation: unsupported): a warning that says both, never a pass.
            out.report(
                &SdkTooOld::META,
                w.subject(),
                base("sdk-documented-unsupported").arg("source", source),
            )
            .severity(Severity::Warning)
            .fix(Fix::advice(documented_unsupported_fix(&a.sdk.name, f)));
        }
        Verdict::BelowDocumented { minimum, source } => {
            out.report(
                &SdkTooOld::META,
                w.subject(),
                base("sdk-below-documented")
                    .arg("minimum", minimum.to_string())
                    .arg("source", source),
            )
            .severity(Severity::Warning)
            .fix(Fix::advice(format!(
                "upgrade {} to {minimum} or later, the version AWS documents",
                a.sdk.name
            )));
        }
        Verdict::Undetermined { why } => {
            let fnd = out.report(
                &SdkTooOld::META,
                w.subject(),
                base("sdk-undetermined").arg("why", why),
            );
            fnd.cause = Cause::CollectionGap;
            fnd.severity(Severity::Info);
        }
    }
}

/// The way out when AWS documents an SDK as unsupported for a feature that its own
/// changelog says works.
fn documented_unsupported_fix(sdk: &str, f: Feature) -> String {
    match f {
        Feature::PodIdentity => format!(
            "to stay within AWS's documented support, move from {sdk} to an SDK the EKS user guide lists for EKS Pod Identity, or use IRSA for this ServiceAccount (annotate it with eks.amazonaws.com/role-arn and delete the Pod Identity association)"
        ),
        Feature::WebIdentity => format!(
            "to stay within AWS's documented support, move from {sdk} to an SDK AWS documents for web identity"
        ),
    }
}

fn upgrade_fix(decisive: Option<&Component>, hint: &str, minimum: &str, w: &Where<'_>) -> Fix {
    let summary = format!(
        "rebuild the image of container `{}` with the SDK at {minimum} or later",
        w.container.name
    );
    match decisive.map(|c| (c.ecosystem, c.name.as_str())) {
        Some((Ecosystem::Maven, name)) => {
            let (g, a) = name.split_once(':').unwrap_or(("com.amazonaws", name));
            Fix::command(
                summary,
                format!("mvn versions:use-dep-version -Dincludes={g}:{a} -DdepVersion={minimum} -DforceVersion=true"),
            )
        }
        Some((Ecosystem::Cli, _)) => Fix::command(
            format!(
                "use a current AWS CLI image in container `{}`",
                w.container.name
            ),
            match w.t.workload {
                Some(k) => format!(
                    "kubectl set image {}/{} -n {} {}=amazon/aws-cli:latest",
                    k.name().to_lowercase(),
                    sh(w.t.name),
                    sh(w.t.namespace),
                    sh(&w.container.name)
                ),
                None => "install the AWS CLI version 2 in the image".to_string(),
            },
        ),
        Some(_) => Fix::command(summary, hint.to_string()),
        None => Fix::advice(format!("{summary}: {hint}")),
    }
}

fn missing_module_fix(a: &SdkAssessment<'_>, module: &str, version: &str) -> Fix {
    match a.sdk.id.as_str() {
        "java1" => Fix::command(
            format!("add com.amazonaws:{module} (same version as the SDK) to the application's dependencies"),
            format!(
                "<dependency>\n  <groupId>com.amazonaws</groupId>\n  <artifactId>{module}</artifactId>\n  <version>{version}</version>\n</dependency>"
            ),
        ),
        "java2" => Fix::command(
            format!("add software.amazon.awssdk:{module} (same version as the SDK) to the application's dependencies"),
            format!(
                "<dependency>\n  <groupId>software.amazon.awssdk</groupId>\n  <artifactId>{module}</artifactId>\n  <version>{version}</version>\n</dependency>"
            ),
        ),
        "dotnet" => Fix::command(
            format!("add the {module} package to the project"),
            format!("dotnet add package {module}"),
        ),
        _ => Fix::advice(format!("install {module} beside {}", a.sdk.name)),
    }
}

fn report_release(w: &Where<'_>, m: &ImageMatch<'_>, out: &mut Out) {
    let c = m.controller;
    let tag = m.tag.as_deref().unwrap_or("");
    let base = |id: &'static str| {
        let by = match m.by {
            irsa_knowledge::MatchedBy::Repository => String::new(),
            irsa_knowledge::MatchedBy::Name => " (recognised by its image name only)".into(),
            irsa_knowledge::MatchedBy::Host => " (run by this container from its plugin)".into(),
        };
        w.message(id)
            .arg("controller", format!("{}{by}", c.name))
            .arg("release", if tag.is_empty() { "(untagged)" } else { tag })
    };
    if !c.calls_aws {
        out.pass(&SdkTooOld::META, w.subject(), base("sdk-release-no-aws"));
        return;
    }
    let k = knowledge();
    let mut j = k.judge_release(c, m.version.as_ref(), m.tag.as_deref(), w.t.feature);
    // Newer than the newest release the data was read from, and the newest known one
    // fails: a later release may have caught up, so this is unknown, not an error.
    if j.beyond_known && j.undetermined.is_none() {
        if let Some(fail) = j.failure() {
            let through = c
                .scan
                .as_ref()
                .map(|s| s.through.to_string())
                .unwrap_or_default();
            j.undetermined = Some(format!(
                "{tag} is newer than {through}, the newest release the data was read from, whose {} does not: whether a later release caught up is in its release notes",
                fail.component
            ));
        }
    }
    if let Some(fail) = j.failure().filter(|_| j.undetermined.is_none()) {
        let (minimum, source) = match &fail.verdict {
            Verdict::TooOld { minimum, source } => (minimum.to_string(), source.clone()),
            Verdict::Unsupported { source } => ("(no version)".to_string(), source.clone()),
            other => (String::new(), format!("{other:?}")),
        };
        let first = k.first_release_supporting(c, w.t.feature);
        let fnd = out.report(
            &SdkTooOld::META,
            w.subject(),
            base("sdk-release-too-old")
                .arg("component", &fail.component)
                .arg("minimum", minimum)
                .arg(
                    "source",
                    format!("{}; {source}", j.source.clone().unwrap_or_default()),
                ),
        );
        match first {
            Some(v) => {
                let release = release_tag(tag, v);
                fnd.fix(release_fix(w, m, &release));
            }
            None => {
                fnd.fix(Fix::advice(format!(
                    "no {} release this tool knows reads these credentials: {}",
                    c.name,
                    match w.t.feature {
                        Feature::PodIdentity => "use IRSA for it (annotate its ServiceAccount with eks.amazonaws.com/role-arn and delete the Pod Identity association)",
                        Feature::WebIdentity => "check its documentation for IRSA support",
                    }
                )));
            }
        }
        if let Some(r) = w.restart() {
            fnd.fix(r);
        }
        return;
    }
    if let Some(why) = &j.undetermined {
        let fnd = out.report(
            &SdkTooOld::META,
            w.subject(),
            base("sdk-release-undetermined").arg("why", why),
        );
        fnd.cause = Cause::CollectionGap;
        fnd.severity(Severity::Info);
        return;
    }
    let components = j
        .components
        .iter()
        .map(|c| c.component.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let note = if j.beyond_known {
        " (newer than the releases the data covers: assumed to bundle at least the newest known)"
    } else {
        ""
    };
    out.pass(
        &SdkTooOld::META,
        w.subject(),
        base("sdk-release-ok").arg("components", format!("{components}{note}")),
    );
}

/// A release written in the style of the running tag (`v2.7.0` vs `2.7.0`).
fn release_tag(current: &str, first: &irsa_knowledge::Version) -> String {
    let numbers = first.release().to_string();
    if current.starts_with('v') {
        format!("v{numbers}")
    } else {
        numbers
    }
}

fn release_fix(w: &Where<'_>, m: &ImageMatch<'_>, release: &str) -> Fix {
    let c = m.controller;
    let image = w.container.image.as_deref().unwrap_or("");
    // The repository as written (registry kept), without tag or digest.
    let no_digest = image.split('@').next().unwrap_or(image);
    let repo = match no_digest.rfind(':') {
        Some(p) if p > no_digest.rfind('/').unwrap_or(0) => &no_digest[..p],
        _ => no_digest,
    };
    if let (Some(addon), true) = (&c.eks_addon, image.contains(".dkr.ecr.")) {
        return Fix::command(
            format!(
                "update the {addon} EKS add-on to a version that ships {} {release} or later",
                c.name
            ),
            format!(
                "aws eks describe-addon-versions --addon-name {a} --query 'addons[].addonVersions[].addonVersion'\naws eks update-addon --cluster-name <cluster> --addon-name {a} --addon-version <a listed version>",
                a = sh(addon)
            ),
        );
    }
    match w.t.workload {
        Some(k) => Fix::command(
            format!(
                "run {} {release} or later (or upgrade the Helm chart that installs it to that release)",
                c.name
            ),
            format!(
                "kubectl set image {}/{} -n {} {}={}",
                k.name().to_lowercase(),
                sh(w.t.name),
                sh(w.t.namespace),
                sh(&w.container.name),
                sh(&format!("{repo}:{release}"))
            ),
        ),
        None => Fix::advice(format!("run {} {release} or later", c.name)),
    }
}

/// The names `--sdk NAME=VERSION` accepts (every SDK data file's `cli_names`).
pub fn known_sdk_names() -> Vec<&'static str> {
    knowledge()
        .sdks
        .iter()
        .flat_map(|s| s.cli_names.iter().map(String::as_str))
        .collect()
}

/// `--sdk NAME=VERSION`: judges the selected ServiceAccount (as before evidence
/// could be read from the snapshot).
fn flags(cx: &Context<'_>, out: &mut Out) {
    let k = knowledge();
    let selected = cx.selected_service_account();
    let feature = selected
        .as_ref()
        .map(|(ns, sa)| {
            if cx.associations_of(ns, sa).next().is_some() {
                Feature::PodIdentity
            } else {
                Feature::WebIdentity
            }
        })
        .unwrap_or(Feature::WebIdentity);
    for (name, version) in &cx.options.sdks {
        let Some(sdk) = k.sdk_for_cli_name(name) else {
            continue;
        };
        let Some(v) = irsa_knowledge::Version::parse(version) else {
            continue;
        };
        let verdict = sdk.judge(feature, &VersionSpec::Exact(v));
        let (ns, sa) = selected
            .clone()
            .unwrap_or_else(|| ("-".into(), "(workload)".into()));
        let msg = |id: &'static str| {
            Message::new(id)
                .arg("container", "(given by --sdk)")
                .arg("kind", "ServiceAccount")
                .arg("namespace", &ns)
                .arg("name", &sa)
                .arg("sdk", &sdk.name)
                .arg("version", version)
                .arg("evidence", "--sdk")
                .arg("pod", "-")
                .arg("reads", reads(feature))
                .arg("consequence", consequence(feature))
        };
        let subject = Subject::namespaced("ServiceAccount", &ns, &sa);
        match verdict {
            Verdict::TooOld { minimum, source } => {
                out.report(
                    &SdkTooOld::META,
                    subject,
                    msg("sdk-too-old")
                        .arg("minimum", minimum.to_string())
                        .arg("source", source),
                )
                .fix(Fix::advice(format!(
                    "upgrade {} to {minimum} or later",
                    sdk.name
                )));
            }
            Verdict::Unsupported { source } => {
                out.report(
                    &SdkTooOld::META,
                    subject,
                    msg("sdk-unsupported").arg("source", source),
                )
                .fix(Fix::advice(format!(
                    "{} does not support these credentials: use an SDK that does",
                    sdk.name
                )));
            }
            Verdict::DocumentedUnsupported { source } => {
                out.report(
                    &SdkTooOld::META,
                    subject,
                    msg("sdk-documented-unsupported").arg("source", source),
                )
                .severity(Severity::Warning)
                .fix(Fix::advice(documented_unsupported_fix(&sdk.name, feature)));
            }
            Verdict::BelowDocumented { minimum, source } => {
                out.report(
                    &SdkTooOld::META,
                    subject,
                    msg("sdk-below-documented")
                        .arg("minimum", minimum.to_string())
                        .arg("source", source),
                )
                .severity(Severity::Warning)
                .fix(Fix::advice(format!(
                    "upgrade {} to {minimum} or later, the version AWS documents",
                    sdk.name
                )));
            }
            Verdict::Supported => out.pass(&SdkTooOld::META, subject, msg("sdk-ok")),
            Verdict::MissingModule { .. } | Verdict::Undetermined { .. } => {}
        }
    }
}
