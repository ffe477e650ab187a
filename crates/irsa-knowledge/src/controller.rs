//! Well-known controllers and add-ons: the images they ship as, the SDK (or own
//! credential code) each release bundles, and the IAM permissions each release's
//! documented policy grants.
//!
//! One data file per controller under `data/controllers/`; see `data/README.md`.

use crate::sdk::Feature;
use crate::version::Version;
use serde::{Deserialize, Serialize};

/// One controller (a data file).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Controller {
    /// Stable id (`aws-load-balancer-controller`).
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Upstream repository.
    pub repository: String,
    /// Image repositories, fully qualified, without tag; `*` matches any run of
    /// characters (`*.dkr.ecr.*.amazonaws.com/amazon/aws-load-balancer-controller`).
    pub images: Vec<String>,
    /// Last path segments of the image that identify it in a private mirror
    /// (`aws-load-balancer-controller`): a weaker match, said so in reports.
    #[serde(default)]
    pub image_names: Vec<String>,
    /// Images of containers that run this code although it ships in another image
    /// (velero runs the AWS plugin copied in by an init container).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// The ServiceAccount names its install guides use.
    #[serde(default)]
    pub service_accounts: Vec<String>,
    /// The EKS add-on that installs it (`aws eks update-addon --addon-name …`), if any.
    #[serde(default)]
    pub eks_addon: Option<String>,
    /// Whether it calls AWS APIs with the pod's credentials at all.
    #[serde(default = "yes")]
    pub calls_aws: bool,
    /// A note for people (what varies, what is not covered).
    #[serde(default)]
    pub note: Option<String>,
    /// How its documentation grants permissions (for fixes).
    #[serde(default)]
    pub policy: Option<PolicyInfo>,
    /// Actions the documented policy grants that only some configurations use.
    #[serde(default)]
    pub optional: Vec<OptionalActions>,
    /// Inputs of `tools/knowledge/regenerate.py` (not read here).
    #[serde(default)]
    pub generate: Option<toml::Table>,
    /// What the generator scanned.
    #[serde(default)]
    pub scan: Option<Scan>,
    /// What each release bundles, in increasing `since` order.
    #[serde(default, rename = "runtime")]
    pub runtimes: Vec<RuntimeRow>,
    /// What each release's documented policy grants, in increasing `since` order.
    #[serde(default, rename = "permissions")]
    pub permissions: Vec<PermissionRow>,
}

fn yes() -> bool {
    true
}

/// How a controller's documentation names its IAM policy.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyInfo {
    /// The policy name its install guide creates (`AWSLoadBalancerControllerIAMPolicy`).
    pub name: String,
    /// AWS-managed policy that grants the same, as `arn:<partition>:iam::aws:policy/<this>`
    /// (`service-role/AmazonEBSCSIDriverPolicy`).
    #[serde(default)]
    pub managed: Option<String>,
}

/// Actions needed only for a feature (their absence is a warning, not an error).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OptionalActions {
    /// The actions.
    pub actions: Vec<String>,
    /// The feature that needs them.
    pub needed_for: String,
    /// Where this comes from.
    pub source: String,
}

/// What the generator scanned.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scan {
    /// The newest release tag read.
    pub through: Version,
    /// How many release tags were read.
    pub tags: usize,
}

/// What releases from `since` on bundle (until the next row).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeRow {
    /// First release (tag) this row describes.
    pub since: Version,
    /// AWS SDKs compiled in.
    #[serde(default)]
    pub sdks: Vec<BundledSdk>,
    /// Credential code of its own (not an AWS SDK), with what it supports.
    #[serde(default)]
    pub credentials: Vec<OwnCredentials>,
    /// Where this comes from (`go.mod at v2.7.0`).
    pub source: String,
    /// `true` when the source does not settle it (say why in `source`).
    #[serde(default)]
    pub unverified: bool,
}

/// An AWS SDK a release bundles.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BundledSdk {
    /// SDK id (`go`, `go2`).
    pub sdk: String,
    /// Its version (for modular SDKs, the module named in the SDK's data file).
    pub version: Version,
    /// Which part of the image uses it, when several do (`cloudwatch Go plugin`).
    #[serde(default)]
    pub component: Option<String>,
}

/// Credential code that is not an AWS SDK (Fluent Bit's C core, minio-go).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OwnCredentials {
    /// Which part (`Fluent Bit 1.9.10 core output plugins`).
    pub component: String,
    /// Reads `AWS_WEB_IDENTITY_TOKEN_FILE`.
    pub web_identity: bool,
    /// Reads EKS Pod Identity container credentials.
    pub pod_identity: bool,
}

impl OwnCredentials {
    /// Whether it supports a feature.
    pub fn supports(&self, f: Feature) -> bool {
        match f {
            Feature::WebIdentity => self.web_identity,
            Feature::PodIdentity => self.pod_identity,
        }
    }
}

/// The permissions releases from `since` on document (until the next row).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionRow {
    /// First release (tag) with this policy.
    pub since: Version,
    /// Where this comes from (`docs/install/iam_policy.json at v2.7.0`).
    pub source: String,
    /// Raw URL of the policy JSON file at `since` (same content for every release of
    /// the row), when the policy is a file.
    #[serde(default)]
    pub url: Option<String>,
    /// Page showing the policy at `since`, when it is embedded in documentation.
    #[serde(default)]
    pub doc: Option<String>,
    /// The policy's statements.
    #[serde(rename = "statement")]
    pub statements: Vec<RequiredStatement>,
}

/// One statement of a documented policy.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredStatement {
    /// Actions.
    pub actions: Vec<String>,
    /// Resources.
    pub resources: Vec<String>,
    /// The `Condition` block as JSON, if any.
    #[serde(default)]
    pub condition: Option<String>,
}

impl RequiredStatement {
    /// The condition keys it uses (lower-case).
    pub fn condition_keys(&self) -> Vec<String> {
        let Some(text) = &self.condition else {
            return vec![];
        };
        let Ok(serde_json::Value::Object(ops)) = serde_json::from_str::<serde_json::Value>(text)
        else {
            return vec![];
        };
        let mut keys: Vec<String> = ops
            .values()
            .filter_map(|v| v.as_object())
            .flat_map(|m| m.keys().map(|k| k.to_lowercase()))
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

impl PermissionRow {
    /// The documented statements that grant `action`, narrowed to it (Allow, its
    /// resources in `partition`, the statement's condition as upstream wrote it):
    /// the least a role needs to add for that one call.
    pub fn statements_granting(&self, action: &str, partition: &str) -> Vec<serde_json::Value> {
        self.statements
            .iter()
            .filter(|s| s.actions.iter().any(|a| crate::glob_match(a, action, true)))
            .map(|s| {
                let narrowed = RequiredStatement {
                    actions: vec![action.to_string()],
                    resources: s.resources.clone(),
                    condition: s.condition.clone(),
                };
                let one = PermissionRow {
                    since: self.since.clone(),
                    source: String::new(),
                    url: None,
                    doc: None,
                    statements: vec![narrowed],
                };
                one.policy_document(partition)["Statement"][0].clone()
            })
            .collect()
    }

    /// Every action of every statement (as written).
    pub fn actions(&self) -> impl Iterator<Item = &str> {
        self.statements
            .iter()
            .flat_map(|s| s.actions.iter().map(String::as_str))
    }

    /// The policy document these statements make, for a partition
    /// (`arn:aws:` resources rewritten to `arn:<partition>:`).
    pub fn policy_document(&self, partition: &str) -> serde_json::Value {
        let statements: Vec<serde_json::Value> = self
            .statements
            .iter()
            .map(|s| {
                let mut m = serde_json::Map::new();
                m.insert("Effect".into(), "Allow".into());
                m.insert("Action".into(), one_or_many(&s.actions));
                let resources: Vec<String> = s
                    .resources
                    .iter()
                    .map(|r| in_partition(r, partition))
                    .collect();
                m.insert("Resource".into(), one_or_many(&resources));
                if let Some(c) = s
                    .condition
                    .as_deref()
                    .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
                {
                    m.insert("Condition".into(), c);
                }
                serde_json::Value::Object(m)
            })
            .collect();
        serde_json::json!({"Version": "2012-10-17", "Statement": statements})
    }
}

/// `arn:aws:…` in another partition.
pub fn in_partition(resource: &str, partition: &str) -> String {
    match resource.strip_prefix("arn:aws:") {
        Some(rest) if partition != "aws" => format!("arn:{partition}:{rest}"),
        _ => resource.to_string(),
    }
}

fn one_or_many(v: &[String]) -> serde_json::Value {
    if v.len() == 1 {
        serde_json::Value::String(v[0].clone())
    } else {
        serde_json::Value::Array(v.iter().cloned().map(serde_json::Value::String).collect())
    }
}

/// How an image was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchedBy {
    /// Its registry and repository are the controller's published ones.
    Repository,
    /// Only its last path segment matches (a private mirror, or a look-alike).
    Name,
    /// It hosts the controller's code (velero running the AWS plugin).
    Host,
}

/// A row chosen for a version, and how sure the choice is.
#[derive(Debug, Clone, Copy)]
pub struct AtVersion<'a, T> {
    /// The row.
    pub row: &'a T,
    /// The version is newer than the newest release the data was generated from:
    /// the newest row is assumed to still apply.
    pub beyond_known: bool,
}

impl Controller {
    /// The runtime row that applies to a release.
    pub fn runtime_at(&self, version: &Version) -> Option<AtVersion<'_, RuntimeRow>> {
        at(&self.runtimes, |r| &r.since, version).map(|row| AtVersion {
            row,
            beyond_known: self.beyond_known(version),
        })
    }

    /// The permission row that applies to a release.
    pub fn permissions_at(&self, version: &Version) -> Option<AtVersion<'_, PermissionRow>> {
        at(&self.permissions, |r| &r.since, version).map(|row| AtVersion {
            row,
            beyond_known: self.beyond_known(version),
        })
    }

    fn beyond_known(&self, version: &Version) -> bool {
        self.scan
            .as_ref()
            .is_some_and(|s| version.release() > s.through.release())
    }

    /// The first release whose documented policy grants `action` (case-insensitive,
    /// wildcards in the policy honoured).
    pub fn first_version_needing(&self, action: &str) -> Option<&Version> {
        self.permissions
            .iter()
            .find(|row| row.actions().any(|a| crate::glob_match(a, action, true)))
            .map(|row| &row.since)
    }

    /// For a release whose documented policy grants `action`: the first release of
    /// the unbroken run of documented policies that grant it up to this one (an
    /// action dropped and added back again counts from when it came back). `None`
    /// when the release's policy does not grant it.
    pub fn needed_since(&self, version: &Version, action: &str) -> Option<&Version> {
        let grants = |r: &PermissionRow| r.actions().any(|a| crate::glob_match(a, action, true));
        let upto = self
            .permissions
            .iter()
            .take_while(|r| &r.since <= version)
            .count();
        let rows = &self.permissions[..upto];
        if !rows.last().is_some_and(grants) {
            return None;
        }
        let run = rows.iter().rev().take_while(|r| grants(r)).count();
        Some(&rows[upto - run].since)
    }

    /// The first documented policy after `version` that grants `action` (an upgrade
    /// that starts needing it).
    pub fn next_release_needing(&self, version: &Version, action: &str) -> Option<&PermissionRow> {
        self.permissions
            .iter()
            .filter(|r| &r.since > version)
            .find(|r| r.actions().any(|a| crate::glob_match(a, action, true)))
    }

    /// The feature an optional action is needed for, if it is optional.
    pub fn optional_for(&self, action: &str) -> Option<&OptionalActions> {
        self.optional
            .iter()
            .find(|o| o.actions.iter().any(|a| crate::glob_match(a, action, true)))
    }

    /// Whether the release's documented policy grants `action`.
    pub fn version_needs(&self, version: &Version, action: &str) -> bool {
        self.permissions_at(version)
            .is_some_and(|p| p.row.actions().any(|a| crate::glob_match(a, action, true)))
    }
}

/// The row with the greatest `since` ≤ `version` (rows sorted by `since`).
fn at<'a, T>(rows: &'a [T], since: impl Fn(&T) -> &Version, version: &Version) -> Option<&'a T> {
    rows.iter().take_while(|r| since(r) <= version).last()
}
