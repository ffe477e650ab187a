//! The permission policy documents of the roles read: once per distinct policy,
//! whatever the number of roles or pods. From the role outputs already collected:
//! each attached managed policy and each permissions boundary gets `GetPolicy` (its
//! default version) then `GetPolicyVersion`; each inline policy `GetRolePolicy`.
//! Every read is an envelope naming its command, as `aws` prints it; a failed read
//! names its error, and the rules report what it leaves unchecked.
//!
//! The calls go through `call!`, like every AWS read: counted, under the run's deadline
//! and the standard retries, their failures worded for people.

use super::{Attempts, Aws, Service};
use crate::{envelope, envelope_error, Stats};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// What the role outputs ask to read.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Managed policy ARNs (attached, or boundaries).
    pub managed: BTreeSet<String>,
    /// (role name, inline policy name).
    pub inline: BTreeSet<(String, String)>,
}

/// Reads the wanted policies from the envelopes of `get-role`,
/// `list-attached-role-policies` and `list-role-policies`.
pub fn wanted(files: &[(String, Value)]) -> Wanted {
    let mut w = Wanted::default();
    for (_, v) in files {
        let command = v["command"].as_str().unwrap_or("");
        let output = &v["output"];
        if command.starts_with("aws iam list-attached-role-policies") {
            for p in output["AttachedPolicies"].as_array().into_iter().flatten() {
                if let Some(arn) = p["PolicyArn"].as_str() {
                    w.managed.insert(arn.to_string());
                }
            }
        } else if command.starts_with("aws iam list-role-policies") {
            let Some(role) = command
                .split_whitespace()
                .skip_while(|w| *w != "--role-name")
                .nth(1)
            else {
                continue;
            };
            for n in output["PolicyNames"].as_array().into_iter().flatten() {
                if let Some(n) = n.as_str() {
                    w.inline.insert((role.to_string(), n.to_string()));
                }
            }
        } else if command.starts_with("aws iam get-role") {
            if let Some(arn) =
                output["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"].as_str()
            {
                w.managed.insert(arn.to_string());
            }
        }
    }
    w
}

/// A file name from an ARN's resource part (`policy/path/name` → `path_name`).
fn slug(arn: &str) -> String {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    let resource = resource.strip_prefix("policy/").unwrap_or(resource);
    resource
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `get-role-policy`'s file name for one inline policy.
pub(crate) fn inline_file(role: &str, policy: &str) -> String {
    format!("iam-get-role-policy-{}-{}.json", slug(role), slug(policy))
}

/// `get-role-policy`'s command for one inline policy.
pub(crate) fn inline_command(role: &str, policy: &str) -> String {
    format!("aws iam get-role-policy --role-name {role} --policy-name {policy}")
}

/// `get-policy`'s file for one managed policy, with its output.
pub(crate) fn policy_meta_file(arn: &str, output: Value) -> (String, Value) {
    (
        format!("iam-get-policy-{}.json", slug(arn)),
        envelope(&format!("aws iam get-policy --policy-arn {arn}"), output),
    )
}

/// `get-policy-version`'s file name and command for one version of a managed policy.
/// The envelope of one policy version, as `aws iam get-policy-version` prints it
/// (GetPolicyVersion and GetAccountAuthorizationDetails return the same type).
pub(crate) fn version_envelope(cmd: &str, v: &aws_sdk_iam::types::PolicyVersion) -> Value {
    envelope(
        cmd,
        json!({"PolicyVersion": {
            // The raw API returns the URL-encoded document; the loader reads both forms.
            "Document": v.document(), "VersionId": v.version_id(),
            "IsDefaultVersion": v.is_default_version(),
        }}),
    )
}

pub(crate) fn version_file(arn: &str, version: &str) -> (String, String) {
    (
        format!("iam-get-policy-version-{}-{version}.json", slug(arn)),
        format!("aws iam get-policy-version --policy-arn {arn} --version-id {version}"),
    )
}

/// The default version's document read before, when it is still the default one:
/// the `get-policy-version` file of `previous` for `version`, if it was read.
fn known_version<'p>(
    previous: Option<&'p [(String, Value)]>,
    arn: &str,
    version: &str,
) -> Option<&'p (String, Value)> {
    let (file, _) = version_file(arn, version);
    previous?
        .iter()
        .find(|(name, v)| *name == file && v.get("error").is_none() && v.get("output").is_some())
}

impl Aws {
    /// One managed policy: `GetPolicy` for its default version, then that version.
    pub async fn managed_policy(&self, arn: &str, stats: &Stats) -> Vec<(String, Value)> {
        self.managed_policy_since(arn, None, stats).await
    }

    /// One managed policy, knowing what it was (`previous`: its files as read before):
    /// `GetPolicy` for its default version, then `GetPolicyVersion` only when that
    /// version is not the one read before (a policy version never changes: a new
    /// document is a new version, <https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html>).
    pub async fn managed_policy_since(
        &self,
        arn: &str,
        previous: Option<&[(String, Value)]>,
        stats: &Stats,
    ) -> Vec<(String, Value)> {
        let cmd = format!("aws iam get-policy --policy-arn {arn}");
        let meta = call!(
            self,
            stats,
            Service::Iam,
            self.iam.get_policy().policy_arn(arn)
        );
        let policy = match meta {
            Ok(o) => match o.policy() {
                Some(p) => p.clone(),
                None => {
                    return vec![(
                        format!("iam-get-policy-{}.json", slug(arn)),
                        envelope_error(&cmd, "GetPolicy returned no policy"),
                    )]
                }
            },
            Err(e) => {
                return vec![(
                    format!("iam-get-policy-{}.json", slug(arn)),
                    envelope_error(&cmd, &e),
                )]
            }
        };
        let mut files = vec![policy_meta_file(
            arn,
            json!({"Policy": {
                "PolicyName": policy.policy_name(), "PolicyId": policy.policy_id(), "Arn": policy.arn(),
                "Path": policy.path(), "DefaultVersionId": policy.default_version_id(),
                "AttachmentCount": policy.attachment_count(),
                "PermissionsBoundaryUsageCount": policy.permissions_boundary_usage_count(),
                "IsAttachable": policy.is_attachable(),
            }}),
        )];
        let Some(version) = policy.default_version_id() else {
            return files;
        };
        if let Some(known) = known_version(previous, arn, version) {
            files.push(known.clone());
            return files;
        }
        let (file, cmd) = version_file(arn, version);
        let read = call!(
            self,
            stats,
            Service::Iam,
            self.iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(version)
        );
        files.push(match read {
            Ok(o) => match o.policy_version() {
                Some(v) => (file, version_envelope(&cmd, v)),
                None => (
                    file,
                    envelope_error(&cmd, "GetPolicyVersion returned no version"),
                ),
            },
            Err(e) => (file, envelope_error(&cmd, &e)),
        });
        files
    }

    /// One inline policy of a role.
    pub async fn inline_policy(&self, role: &str, policy: &str, stats: &Stats) -> (String, Value) {
        let cmd = inline_command(role, policy);
        let file = inline_file(role, policy);
        match call!(
            self,
            stats,
            Service::Iam,
            self.iam
                .get_role_policy()
                .role_name(role)
                .policy_name(policy)
        ) {
            Ok(o) => (
                file,
                envelope(
                    &cmd,
                    json!({"RoleName": o.role_name(), "PolicyName": o.policy_name(), "PolicyDocument": o.policy_document()}),
                ),
            ),
            Err(e) => (file, envelope_error(&cmd, &e)),
        }
    }

    /// Every policy document the collected role outputs name, `concurrency` at a time.
    pub async fn policy_documents(
        &self,
        role_files: &[(String, Value)],
        concurrency: usize,
        stats: &Stats,
    ) -> Vec<(String, Value)> {
        let w = wanted(role_files);
        let managed = stream::iter(w.managed.iter().map(|arn| self.managed_policy(arn, stats)))
            .buffer_unordered(concurrency.max(1))
            .collect::<Vec<_>>();
        let inline = stream::iter(
            w.inline
                .iter()
                .map(|(r, p)| self.inline_policy(r, p, stats)),
        )
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>();
        let (m, i) = futures::join!(managed, inline);
        let mut files: Vec<(String, Value)> = m.into_iter().flatten().collect();
        files.extend(i);
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_wanted_once_each() {
        let files = vec![
            (
                "a".into(),
                json!({"command": "aws iam list-attached-role-policies --role-name r1",
                "output": {"AttachedPolicies": [{"PolicyName": "p", "PolicyArn": "arn:aws:iam::1:policy/p"}]}}),
            ),
            (
                "b".into(),
                json!({"command": "aws iam list-attached-role-policies --role-name r2",
                "output": {"AttachedPolicies": [{"PolicyName": "p", "PolicyArn": "arn:aws:iam::1:policy/p"},
                                                 {"PolicyName": "q", "PolicyArn": "arn:aws:iam::aws:policy/service-role/q"}]}}),
            ),
            (
                "c".into(),
                json!({"command": "aws iam list-role-policies --role-name r1", "output": {"PolicyNames": ["i1", "i2"]}}),
            ),
            (
                "d".into(),
                json!({"command": "aws iam get-role --role-name r1", "output": {"Role": {
                "PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": "arn:aws:iam::1:policy/p"}}}}),
            ),
            (
                "e".into(),
                json!({"command": "aws iam list-role-policies --role-name r3", "error": "AccessDenied"}),
            ),
        ];
        let w = wanted(&files);
        assert_eq!(
            w.managed.into_iter().collect::<Vec<_>>(),
            vec![
                "arn:aws:iam::1:policy/p",
                "arn:aws:iam::aws:policy/service-role/q"
            ]
        );
        assert_eq!(
            w.inline.into_iter().collect::<Vec<_>>(),
            vec![
                ("r1".to_string(), "i1".to_string()),
                ("r1".to_string(), "i2".to_string())
            ]
        );
        assert_eq!(
            slug("arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"),
            "service-role_AmazonEBSCSIDriverPolicy"
        );
    }
}
