//! AWS SDKs: how evidence names them, the first version that reads each kind of
//! pod credentials, the modules they cannot work without; and the verdict for
//! what a pod was found to contain.
//!
//! One data file per SDK under `data/sdks/`; see `data/README.md`.

use crate::version::{Version, VersionSpec};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a component was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ecosystem {
    /// A command-line tool's own version (`aws --version`).
    Cli,
    /// Python packages (`pip show`, `pip list`, `pip freeze`).
    Pypi,
    /// Java artifacts (jar file names, Maven coordinates).
    Maven,
    /// Go modules (`go version -m`, `go.mod`).
    Go,
    /// JavaScript packages (`npm ls`, `package-lock.json`, `package.json`).
    Npm,
    /// Ruby gems (`gem list`, `Gemfile.lock`).
    Rubygems,
    /// .NET packages (`dotnet list package`).
    Nuget,
    /// PHP packages (`composer show`, `composer.lock`).
    Composer,
}

impl Ecosystem {
    /// Lower-case name, as in the data files.
    pub fn name(self) -> &'static str {
        match self {
            Ecosystem::Cli => "cli",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Maven => "maven",
            Ecosystem::Go => "go",
            Ecosystem::Npm => "npm",
            Ecosystem::Rubygems => "rubygems",
            Ecosystem::Nuget => "nuget",
            Ecosystem::Composer => "composer",
        }
    }
    /// Whether package names compare case-insensitively (PyPI, NuGet).
    pub fn case_insensitive(self) -> bool {
        matches!(self, Ecosystem::Pypi | Ecosystem::Nuget)
    }
}

/// The two ways a pod gets credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    /// IRSA: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` → `AssumeRoleWithWebIdentity`.
    WebIdentity,
    /// EKS Pod Identity: container credentials at `169.254.170.23` with an auth token file.
    PodIdentity,
}

impl Feature {
    /// Name for people.
    pub fn describe(self) -> &'static str {
        match self {
            Feature::WebIdentity => "IAM roles for service accounts (web identity)",
            Feature::PodIdentity => "EKS Pod Identity (container credentials at 169.254.170.23)",
        }
    }
}

/// One SDK (a data file).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Sdk {
    /// Stable id (`java1`, `botocore`, `go2`).
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Names accepted by `--sdk NAME=VERSION`.
    #[serde(default)]
    pub cli_names: Vec<String>,
    /// How evidence names it.
    #[serde(default, rename = "package")]
    pub packages: Vec<Package>,
    /// First versions with each feature, in increasing version order per feature.
    #[serde(default, rename = "minimum")]
    pub minimums: Vec<Minimum>,
    /// Modules that must be installed beside it for a feature to work.
    #[serde(default)]
    pub requires: Vec<Requirement>,
    /// How to find out which version a container has.
    pub evidence: EvidenceHint,
}

/// A package (artifact, module, gem...) that is this SDK, or part of it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// Ecosystem.
    pub ecosystem: Ecosystem,
    /// Name (`aws-java-sdk-core`, `github.com/aws/aws-sdk-go`).
    pub name: String,
    /// Only versions with this major version are this SDK (`aws-cli` 1 vs 2).
    #[serde(default)]
    pub major: Option<u64>,
    /// Its version is the SDK's version (else it only shows the SDK is present, e.g. a
    /// module that is versioned on its own).
    #[serde(default = "yes")]
    pub versioned: bool,
    /// Modules this package contains (an uber-jar contains `aws-java-sdk-sts`).
    #[serde(default)]
    pub provides: Vec<String>,
}

fn yes() -> bool {
    true
}

/// The first version that supports a feature (or the statement that none does).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Minimum {
    /// Which feature.
    pub feature: Feature,
    /// The first version with it; absent with `unsupported` or `all_versions`.
    #[serde(default)]
    pub version: Option<Version>,
    /// No version supports it. With `level = "documented"`: AWS's documentation says
    /// so while the rows before it (from the SDK's own changelog) say versions from
    /// their minimum work: judged a warning, not a failure (the sources disagree).
    #[serde(default)]
    pub unsupported: bool,
    /// Every version supports it.
    #[serde(default)]
    pub all_versions: bool,
    /// `required` (older versions fail) or `documented` (AWS documents this later
    /// minimum; older versions work but are outside the documented support).
    #[serde(default)]
    pub level: Level,
    /// Where this comes from.
    pub source: String,
    /// `true` when the source does not settle it (say why in `source`).
    #[serde(default)]
    pub unverified: bool,
}

/// How binding a minimum is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Older versions do not work.
    #[default]
    Required,
    /// AWS documents it; older versions are outside the documented support.
    Documented,
}

/// A module the SDK needs beside it for a feature.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// For which feature.
    pub feature: Feature,
    /// Ecosystem of the module.
    pub ecosystem: Ecosystem,
    /// The module's name as installed (`aws-java-sdk-sts`).
    pub module: String,
    /// Packages whose presence satisfies it (the module itself, bundles).
    pub satisfied_by: Vec<String>,
    /// What the SDK says when it is missing.
    pub error: String,
    /// Where this comes from.
    pub source: String,
}

/// How to collect evidence of this SDK from a container.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceHint {
    /// The command to run in the container (`pip list`).
    pub command: String,
    /// Image name fragments that suggest this SDK's language (`python`, `node`).
    #[serde(default)]
    pub images: Vec<String>,
}

impl Sdk {
    /// The minimums of one feature, in increasing order.
    pub fn minimums_of(&self, feature: Feature) -> impl Iterator<Item = &Minimum> {
        self.minimums.iter().filter(move |m| m.feature == feature)
    }

    /// Whether a package entry names (ecosystem, name, version).
    pub fn package_for(
        &self,
        ecosystem: Ecosystem,
        name: &str,
        version: Option<&VersionSpec>,
    ) -> Option<&Package> {
        self.packages.iter().find(|p| {
            p.ecosystem == ecosystem
                && names_equal(ecosystem, &p.name, name)
                && match (p.major, version) {
                    (None, _) => true,
                    (Some(m), Some(VersionSpec::Exact(v))) => v.major() == m,
                    (Some(m), Some(VersionSpec::Range(r))) => {
                        r.lowest.as_ref().is_some_and(|v| v.major() == m)
                    }
                    (Some(_), None) => false,
                }
        })
    }

    /// Judges one version for one feature.
    pub fn judge(&self, feature: Feature, version: &VersionSpec) -> Verdict {
        let mut verdict = Verdict::Supported;
        // The last minimum this version meets (the evidence that it works).
        let mut met: Option<&Minimum> = None;
        for m in self.minimums_of(feature) {
            if m.unsupported && m.level == Level::Documented {
                // The earlier rows passed: it works by the SDK's own account, while
                // AWS's documentation calls it unsupported. Both sources are named.
                if verdict == Verdict::Supported {
                    verdict = Verdict::DocumentedUnsupported {
                        source: match met {
                            Some(w) => format!("{}; {}", w.source, m.source),
                            None => m.source.clone(),
                        },
                    };
                }
                continue;
            }
            if m.unsupported {
                return Verdict::Unsupported {
                    source: m.source.clone(),
                };
            }
            if m.all_versions {
                continue;
            }
            let Some(min) = &m.version else { continue };
            match (version.at_least(min), m.level) {
                (Some(true), _) => met = Some(m),
                (Some(false), Level::Required) => {
                    return Verdict::TooOld {
                        minimum: min.clone(),
                        source: m.source.clone(),
                    }
                }
                (Some(false), Level::Documented) => {
                    verdict = Verdict::BelowDocumented {
                        minimum: min.clone(),
                        source: m.source.clone(),
                    }
                }
                (None, _) => {
                    return Verdict::Undetermined {
                        why: format!(
                        "`{version}` allows versions older than {min}, the first that supports {}",
                        feature.describe()
                    ),
                    }
                }
            }
        }
        verdict
    }
}

/// Whether two package names are the same in an ecosystem.
pub fn names_equal(ecosystem: Ecosystem, a: &str, b: &str) -> bool {
    if ecosystem.case_insensitive() {
        // PyPI normalises `-`, `_` and `.` (PEP 503).
        let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '.'], "-");
        norm(a) == norm(b)
    } else {
        a == b
    }
}

/// The answer for one SDK and one feature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// Supported.
    Supported,
    /// Older than the first version that supports it: credentials silently come
    /// from elsewhere (the node role) or are missing.
    TooOld {
        /// The first version with the feature.
        minimum: Version,
        /// Its source.
        source: String,
    },
    /// Works, but older than the version AWS documents today.
    BelowDocumented {
        /// The documented minimum.
        minimum: Version,
        /// Its source.
        source: String,
    },
    /// Works by the SDK's own changelog, but AWS's documentation says no version of
    /// this SDK supports it (the sources disagree: a warning, never a pass).
    DocumentedUnsupported {
        /// Both sources, as the data file cites them.
        source: String,
    },
    /// No version of this SDK supports it.
    Unsupported {
        /// Its source.
        source: String,
    },
    /// A module the feature needs is not installed.
    MissingModule {
        /// The module.
        module: String,
        /// What the SDK says.
        error: String,
        /// Its source.
        source: String,
    },
    /// Cannot be decided from the evidence (why).
    Undetermined {
        /// Why.
        why: String,
    },
}

impl Verdict {
    /// Whether the feature does not work.
    pub fn fails(&self) -> bool {
        matches!(
            self,
            Verdict::TooOld { .. } | Verdict::Unsupported { .. } | Verdict::MissingModule { .. }
        )
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
