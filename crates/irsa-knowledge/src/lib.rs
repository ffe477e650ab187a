//! What irsa-doctor knows about the software in pods, as data: one file per AWS
//! SDK (`data/sdks/`) and per well-known controller (`data/controllers/`), every
//! row with its source (release notes, `go.mod` at a tag, a changelog line, the
//! upstream IAM policy file at a tag). A newcomer adds an SDK or a controller by
//! adding a file; `data/README.md` describes the format and
//! `tools/knowledge/regenerate.py` regenerates the per-release rows from a
//! checkout.
//!
//! Pure: the data is compiled in, nothing is read at run time.

#![warn(missing_docs)]

pub mod controller;
pub mod managed_policy;
pub mod sdk;
pub mod version;

pub use controller::{
    AtVersion, BundledSdk, Controller, MatchedBy, OwnCredentials, PermissionRow, PolicyInfo,
    RequiredStatement, RuntimeRow,
};
pub use managed_policy::{documented_policies, documented_policy, DocumentedPolicy};
pub use sdk::{Ecosystem, Feature, Level, Sdk, Verdict};
pub use version::{Version, VersionRange, VersionSpec};

use serde::Serialize;
use std::sync::OnceLock;

mod files {
    include!(concat!(env!("OUT_DIR"), "/data_files.rs"));
}

/// IAM-style wildcard match (`*`, `?`), shared with the policy engine.
pub(crate) fn glob_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    irsa_policy::glob::wildcard_match(pattern, text, ignore_case)
}

/// A data file that did not load, or a rule of the format it breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataError {
    /// The file (`sdks/botocore.toml`).
    pub file: String,
    /// What is wrong.
    pub error: String,
}

/// Everything known.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    /// SDKs, by file name order.
    pub sdks: Vec<Sdk>,
    /// Controllers, by file name order.
    pub controllers: Vec<Controller>,
    /// Files that did not load or break a rule (empty in a release: a test keeps it so).
    pub errors: Vec<DataError>,
}

/// Data files as (file name, text).
pub type DataFiles = &'static [(&'static str, &'static str)];

/// The compiled-in data files: SDKs, then controllers.
pub fn embedded_files() -> (DataFiles, DataFiles) {
    (files::SDK_FILES, files::CONTROLLER_FILES)
}

/// The compiled-in knowledge, parsed once.
pub fn knowledge() -> &'static Knowledge {
    static K: OnceLock<Knowledge> = OnceLock::new();
    K.get_or_init(|| Knowledge::from_files(files::SDK_FILES, files::CONTROLLER_FILES))
}

/// A software component found in a container (a package, a jar, a module).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Component {
    /// Where it was found.
    pub ecosystem: Ecosystem,
    /// Name as the ecosystem writes it.
    pub name: String,
    /// Version, if shown.
    pub version: Option<VersionSpec>,
}

/// An SDK found in a container, and what it supports.
#[derive(Debug, Clone, Serialize)]
pub struct SdkAssessment<'k> {
    /// The SDK.
    #[serde(serialize_with = "sdk_id")]
    pub sdk: &'k Sdk,
    /// The version found (several when several are installed), as written.
    pub versions: Vec<String>,
    /// IRSA.
    pub web_identity: Verdict,
    /// EKS Pod Identity.
    pub pod_identity: Verdict,
}

fn sdk_id<S: serde::Serializer>(sdk: &&Sdk, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&sdk.id)
}

impl SdkAssessment<'_> {
    /// The verdict for a feature.
    pub fn verdict(&self, f: Feature) -> &Verdict {
        match f {
            Feature::WebIdentity => &self.web_identity,
            Feature::PodIdentity => &self.pod_identity,
        }
    }
}

/// A recognised image.
#[derive(Debug, Clone, Serialize)]
pub struct ImageMatch<'k> {
    /// The controller.
    #[serde(serialize_with = "controller_id")]
    pub controller: &'k Controller,
    /// How it was recognised.
    pub by: MatchedBy,
    /// The tag, if any.
    pub tag: Option<String>,
    /// The release the tag names, if it names one.
    pub version: Option<Version>,
}

fn controller_id<S: serde::Serializer>(c: &&Controller, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&c.id)
}

/// What one component of a release does with one feature.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentVerdict {
    /// The component (`AWS SDK for Go v1 1.35.4`, `Fluent Bit core plugins`).
    pub component: String,
    /// The verdict.
    pub verdict: Verdict,
}

/// A controller release judged for one feature.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseJudgement {
    /// Per component (empty when undetermined).
    pub components: Vec<ComponentVerdict>,
    /// Why nothing could be judged, if so.
    pub undetermined: Option<String>,
    /// The source of the row used.
    pub source: Option<String>,
    /// The release is newer than the data: the newest row is assumed to apply.
    pub beyond_known: bool,
}

impl ReleaseJudgement {
    /// The first failing component.
    pub fn failure(&self) -> Option<&ComponentVerdict> {
        self.components.iter().find(|c| c.verdict.fails())
    }
}

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry and repository, normalised (`docker.io/library/nginx`).
    pub repository: String,
    /// Tag, if any.
    pub tag: Option<String>,
}

impl ImageRef {
    /// Parses `registry/repo:tag@sha256:…` (Docker Hub short forms normalised).
    pub fn parse(image: &str) -> ImageRef {
        let without_digest = image.trim().split('@').next().unwrap_or("");
        let last_slash = without_digest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (repo, tag) = match without_digest[last_slash..].rfind(':') {
            Some(i) => (
                &without_digest[..last_slash + i],
                Some(without_digest[last_slash + i + 1..].to_string()),
            ),
            None => (without_digest, None),
        };
        let repo = repo.to_ascii_lowercase();
        let first = repo.split('/').next().unwrap_or("");
        let has_registry =
            repo.contains('/') && (first.contains(['.', ':']) || first == "localhost");
        let repository = if has_registry {
            repo.replacen("index.docker.io/", "docker.io/", 1)
        } else if repo.contains('/') {
            format!("docker.io/{repo}")
        } else {
            format!("docker.io/library/{repo}")
        };
        ImageRef {
            repository,
            tag: tag.filter(|t| !t.is_empty()),
        }
    }
}

impl Knowledge {
    /// Parses data files, collecting every error (a bad file is left out).
    pub fn from_files(sdks: &[(&str, &str)], controllers: &[(&str, &str)]) -> Knowledge {
        let mut k = Knowledge::default();
        for (name, text) in sdks {
            match toml::from_str::<Sdk>(text) {
                Ok(s) => k.sdks.push(s),
                Err(e) => k.errors.push(DataError {
                    file: format!("sdks/{name}"),
                    error: e.to_string(),
                }),
            }
        }
        for (name, text) in controllers {
            match toml::from_str::<Controller>(text) {
                Ok(c) => k.controllers.push(c),
                Err(e) => k.errors.push(DataError {
                    file: format!("controllers/{name}"),
                    error: e.to_string(),
                }),
            }
        }
        let problems = k.validate();
        k.errors.extend(problems);
        k
    }

    /// The format's rules: ids unique and equal to the file name, sources present,
    /// rows strictly increasing in version, SDKs referenced exist.
    fn validate(&self) -> Vec<DataError> {
        let mut errors = Vec::new();
        let mut err = |file: String, error: String| errors.push(DataError { file, error });
        let mut ids = std::collections::BTreeSet::new();
        for s in &self.sdks {
            let file = format!("sdks/{}.toml", s.id);
            if !ids.insert(format!("sdk:{}", s.id)) {
                err(file.clone(), "duplicate id".into());
            }
            for feature in [Feature::WebIdentity, Feature::PodIdentity] {
                let mins: Vec<&sdk::Minimum> = s.minimums_of(feature).collect();
                for m in &mins {
                    if m.source.trim().is_empty() {
                        err(file.clone(), format!("a {feature:?} minimum has no source"));
                    }
                    let kinds = usize::from(m.version.is_some())
                        + usize::from(m.unsupported)
                        + usize::from(m.all_versions);
                    if kinds != 1 {
                        err(
                            file.clone(),
                            "a minimum has exactly one of version, unsupported, all_versions"
                                .into(),
                        );
                    }
                }
                for w in mins.windows(2) {
                    if let (Some(a), Some(b)) = (&w[0].version, &w[1].version) {
                        if a >= b {
                            err(
                                file.clone(),
                                format!("{feature:?} minimums not increasing: {a} then {b}"),
                            );
                        }
                    }
                }
            }
            // Pod Identity came years after web identity: its minimum cannot be lower.
            let first = |f| {
                s.minimums_of(f)
                    .find(|m| m.level == Level::Required)
                    .and_then(|m| m.version.clone())
            };
            if let (Some(w), Some(p)) = (first(Feature::WebIdentity), first(Feature::PodIdentity)) {
                if p < w {
                    err(
                        file.clone(),
                        format!("Pod Identity minimum {p} is below the web identity minimum {w}"),
                    );
                }
            }
            for r in &s.requires {
                if r.source.trim().is_empty() {
                    err(
                        file.clone(),
                        format!("requirement {} has no source", r.module),
                    );
                }
            }
        }
        for c in &self.controllers {
            let file = format!("controllers/{}.toml", c.id);
            if !ids.insert(format!("controller:{}", c.id)) {
                err(file.clone(), "duplicate id".into());
            }
            if c.images.is_empty() && c.hosts.is_empty() {
                err(file.clone(), "no image".into());
            }
            for w in c.runtimes.windows(2) {
                if w[0].since >= w[1].since {
                    err(
                        file.clone(),
                        format!(
                            "runtime rows not increasing: {} then {}",
                            w[0].since, w[1].since
                        ),
                    );
                }
            }
            for w in c.permissions.windows(2) {
                if w[0].since >= w[1].since {
                    err(
                        file.clone(),
                        format!(
                            "permission rows not increasing: {} then {}",
                            w[0].since, w[1].since
                        ),
                    );
                }
            }
            for r in &c.runtimes {
                if r.source.trim().is_empty() {
                    err(
                        file.clone(),
                        format!("runtime row {} has no source", r.since),
                    );
                }
                if r.sdks.is_empty() && r.credentials.is_empty() && c.calls_aws {
                    err(
                        file.clone(),
                        format!("runtime row {} names nothing", r.since),
                    );
                }
                for b in &r.sdks {
                    if self.sdk(&b.sdk).is_none() {
                        err(
                            file.clone(),
                            format!("runtime row {} names unknown SDK `{}`", r.since, b.sdk),
                        );
                    }
                }
            }
            for p in &c.permissions {
                if p.source.trim().is_empty() {
                    err(
                        file.clone(),
                        format!("permission row {} has no source", p.since),
                    );
                }
                for s in &p.statements {
                    if s.actions.is_empty() || s.resources.is_empty() {
                        err(
                            file.clone(),
                            format!(
                                "permission row {}: a statement without actions or resources",
                                p.since
                            ),
                        );
                    }
                    for a in &s.actions {
                        if !a.contains(':') {
                            err(file.clone(), format!("`{a}` is not service:Action"));
                        }
                    }
                    if let Some(cond) = &s.condition {
                        if !matches!(
                            serde_json::from_str::<serde_json::Value>(cond),
                            Ok(serde_json::Value::Object(_))
                        ) {
                            err(
                                file.clone(),
                                format!("condition is not a JSON object: {cond}"),
                            );
                        }
                    }
                }
            }
        }
        errors
    }

    /// An SDK by id.
    pub fn sdk(&self, id: &str) -> Option<&Sdk> {
        self.sdks.iter().find(|s| s.id == id)
    }

    /// An SDK by a name `--sdk` accepts (case-insensitive).
    pub fn sdk_for_cli_name(&self, name: &str) -> Option<&Sdk> {
        self.sdks
            .iter()
            .find(|s| s.cli_names.iter().any(|n| n.eq_ignore_ascii_case(name)))
    }

    /// A controller by id.
    pub fn controller(&self, id: &str) -> Option<&Controller> {
        self.controllers.iter().find(|c| c.id == id)
    }

    /// Whether any SDK or controller cares about a package name in an ecosystem
    /// (parsers keep only these).
    pub fn is_relevant_package(&self, ecosystem: Ecosystem, name: &str) -> bool {
        self.sdks.iter().any(|s| {
            s.packages
                .iter()
                .any(|p| p.ecosystem == ecosystem && sdk::names_equal(ecosystem, &p.name, name))
                || s.requires.iter().any(|r| {
                    r.ecosystem == ecosystem
                        && r.satisfied_by
                            .iter()
                            .any(|x| sdk::names_equal(ecosystem, x, name))
                })
        })
    }

    /// Recognises an image: a controller's published repository, a host of its
    /// code, or (weaker) its name in a private mirror.
    pub fn identify_image(&self, image: &str) -> Option<ImageMatch<'_>> {
        let r = ImageRef::parse(image);
        let version = r.tag.as_deref().and_then(Version::parse);
        let make = |controller, by| ImageMatch {
            controller,
            by,
            tag: r.tag.clone(),
            version: version.clone(),
        };
        // The repository is lowercased by the parse: folding ASCII case while matching
        // compares it with the pattern lowercased, without lowercasing every pattern of
        // every controller for every container.
        let matches =
            |patterns: &[String]| patterns.iter().any(|p| glob_match(p, &r.repository, true));
        if let Some(c) = self.controllers.iter().find(|c| matches(&c.images)) {
            return Some(make(c, MatchedBy::Repository));
        }
        if let Some(c) = self.controllers.iter().find(|c| matches(&c.hosts)) {
            return Some(make(c, MatchedBy::Host));
        }
        let last = r.repository.rsplit('/').next().unwrap_or("");
        self.controllers
            .iter()
            .find(|c| c.image_names.iter().any(|n| n.eq_ignore_ascii_case(last)))
            .map(|c| make(c, MatchedBy::Name))
    }

    /// Judges what a container holds: each SDK found, for both features.
    /// `complete` = the evidence lists everything installed in its scope (a jar
    /// directory), so a required module that is absent is missing.
    pub fn assess(&self, components: &[Component], complete: bool) -> Vec<SdkAssessment<'_>> {
        let mut out = Vec::new();
        for s in &self.sdks {
            let found: Vec<(&Component, &sdk::Package)> = components
                .iter()
                .filter_map(|c| {
                    s.package_for(c.ecosystem, &c.name, c.version.as_ref())
                        .map(|p| (c, p))
                })
                .collect();
            if found.is_empty() {
                continue;
            }
            let mut versions: Vec<&VersionSpec> = found
                .iter()
                .filter(|(_, p)| p.versioned)
                .filter_map(|(c, _)| c.version.as_ref())
                .collect();
            versions.sort_by_key(|v| v.text());
            versions.dedup();
            let judge = |f: Feature| -> Verdict {
                let verdict = match versions.as_slice() {
                    [] => Verdict::Undetermined {
                        why: format!("{} is present but its version is not shown", s.name),
                    },
                    [one] => s.judge(f, one),
                    many => {
                        let all: Vec<Verdict> = many.iter().map(|v| s.judge(f, v)).collect();
                        if all.iter().all(Verdict::fails) {
                            all[0].clone()
                        } else if all.iter().any(Verdict::fails) {
                            Verdict::Undetermined {
                                why: format!(
                                    "several versions of {} are installed ({}); which one is loaded is not known",
                                    s.name,
                                    many.iter().map(|v| v.text()).collect::<Vec<_>>().join(", ")
                                ),
                            }
                        } else {
                            all[0].clone()
                        }
                    }
                };
                if verdict.fails() || !complete {
                    return verdict;
                }
                for r in s.requires.iter().filter(|r| r.feature == f) {
                    let present = components.iter().any(|c| {
                        c.ecosystem == r.ecosystem
                            && r.satisfied_by
                                .iter()
                                .any(|n| sdk::names_equal(r.ecosystem, n, &c.name))
                    }) || found
                        .iter()
                        .any(|(_, p)| p.provides.iter().any(|x| x == &r.module));
                    if !present {
                        return Verdict::MissingModule {
                            module: r.module.clone(),
                            error: r.error.clone(),
                            source: r.source.clone(),
                        };
                    }
                }
                verdict
            };
            out.push(SdkAssessment {
                sdk: s,
                versions: versions.iter().map(|v| v.text()).collect(),
                web_identity: judge(Feature::WebIdentity),
                pod_identity: judge(Feature::PodIdentity),
            });
        }
        out
    }

    /// Judges a controller release for one feature, from what it bundles.
    pub fn judge_release(
        &self,
        c: &Controller,
        version: Option<&Version>,
        tag: Option<&str>,
        feature: Feature,
    ) -> ReleaseJudgement {
        let undetermined = |why: String| ReleaseJudgement {
            components: vec![],
            undetermined: Some(why),
            source: None,
            beyond_known: false,
        };
        let Some(version) = version else {
            return undetermined(match tag {
                Some(t) => format!("the image tag `{t}` does not name a {} release", c.name),
                None => format!("the image has no tag naming a {} release", c.name),
            });
        };
        let Some(at) = c.runtime_at(version) else {
            return undetermined(format!(
                "{} {version} is older than the releases the data covers",
                c.name
            ));
        };
        let mut components = Vec::new();
        for b in &at.row.sdks {
            let Some(s) = self.sdk(&b.sdk) else { continue };
            let label = match &b.component {
                Some(comp) => format!("{comp} ({} {})", s.name, b.version),
                None => format!("{} {}", s.name, b.version),
            };
            components.push(ComponentVerdict {
                component: label,
                verdict: s.judge(feature, &VersionSpec::Exact(b.version.clone())),
            });
        }
        for o in &at.row.credentials {
            components.push(ComponentVerdict {
                component: o.component.clone(),
                verdict: if o.supports(feature) {
                    Verdict::Supported
                } else {
                    Verdict::Unsupported {
                        source: at.row.source.clone(),
                    }
                },
            });
        }
        if at.row.unverified && !components.iter().any(|c| c.verdict.fails()) {
            return ReleaseJudgement {
                components: vec![],
                undetermined: Some(format!(
                    "what {} {version} bundles is not verified ({})",
                    c.name, at.row.source
                )),
                source: Some(at.row.source.clone()),
                beyond_known: at.beyond_known,
            };
        }
        ReleaseJudgement {
            components,
            undetermined: None,
            source: Some(at.row.source.clone()),
            beyond_known: at.beyond_known,
        }
    }

    /// The first release of a controller whose bundled code supports a feature
    /// (and every later known release does too), for upgrade advice.
    pub fn first_release_supporting<'c>(
        &self,
        c: &'c Controller,
        feature: Feature,
    ) -> Option<&'c Version> {
        let ok = |r: &RuntimeRow| {
            let j = self.judge_release(c, Some(&r.since), None, feature);
            j.undetermined.is_none() && j.failure().is_none()
        };
        let mut candidate = None;
        for r in &c.runtimes {
            if ok(r) {
                candidate.get_or_insert(&r.since);
            } else {
                candidate = None;
            }
        }
        candidate
    }

    /// Which controllers' documented policies grant `action`, and from which release
    /// (for `explain`: "X is needed by ExternalDNS since v0.13.0").
    pub fn controllers_needing(&self, action: &str) -> Vec<(&Controller, &Version)> {
        self.controllers
            .iter()
            .filter_map(|c| c.first_version_needing(action).map(|v| (c, v)))
            .collect()
    }

    /// The controller a ServiceAccount name usually belongs to.
    pub fn controller_for_service_account(&self, name: &str) -> Option<&Controller> {
        self.controllers
            .iter()
            .find(|c| c.service_accounts.iter().any(|s| s == name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        let r = ImageRef::parse("public.ecr.aws/eks/aws-load-balancer-controller:v2.7.1@sha256:ab");
        assert_eq!(
            r.repository,
            "public.ecr.aws/eks/aws-load-balancer-controller"
        );
        assert_eq!(r.tag.as_deref(), Some("v2.7.1"));
        assert_eq!(
            ImageRef::parse("nginx").repository,
            "docker.io/library/nginx"
        );
        assert_eq!(
            ImageRef::parse("amazon/aws-cli:2.15.0").repository,
            "docker.io/amazon/aws-cli"
        );
        let r = ImageRef::parse("localhost:5000/x/y:1");
        assert_eq!(r.repository, "localhost:5000/x/y");
        assert_eq!(r.tag.as_deref(), Some("1"));
        assert_eq!(ImageRef::parse("registry:5000/app").tag, None);
        assert_eq!(ImageRef::parse("").repository, "docker.io/library/");
    }
}
