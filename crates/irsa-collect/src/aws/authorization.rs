//! The whole account's roles and customer managed policies in a handful of calls:
//! `GetAccountAuthorizationDetails` with `Filter` `Role` and `LocalManagedPolicy`,
//! paginated (`MaxItems` 1000, the largest page the API allows). Each role comes with
//! its trust policy, its inline policies (with their documents), its attached managed
//! policies and its permissions boundary; each customer managed policy with its
//! versions (with their documents).
//! Source: IAM API reference, "GetAccountAuthorizationDetails"
//! (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html):
//! `Filter` values `User | Role | Group | LocalManagedPolicy | AWSManagedPolicy`,
//! `MaxItems` 1–1000 (default 100), `IsTruncated`/`Marker` pagination; the documents
//! are URL-encoded (RFC 3986), as `GetRole` and `GetPolicyVersion` return them.
//!
//! The controller reads the roles it watches from it when the credentials may call it
//! (`iam:GetAccountAuthorizationDetails`), and falls back to the per-role reads
//! otherwise. [`role_files`] and [`policy_files`] turn one role or one policy into
//! the very files [`Aws::roles`], `inline_policy` and `managed_policy` write (same
//! names, commands and shapes: the rules read them the same way), except
//! `MaxSessionDuration`, which the details do not carry (null; no rule reads it).

use super::{all_pages, date, Attempts, Aws, Service};
use crate::{envelope, Stats};
use aws_sdk_iam::types::{EntityType, ManagedPolicyDetail, RoleDetail};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One account's roles (by name) and customer managed policies (by ARN).
#[derive(Debug, Clone, Default)]
pub struct AccountDetails {
    /// Each role, by its name (unique in an account, as `GetRole` looks it up).
    pub roles: BTreeMap<String, RoleDetail>,
    /// Each customer managed policy, by its ARN.
    pub policies: BTreeMap<String, ManagedPolicyDetail>,
}

/// The largest page `GetAccountAuthorizationDetails` gives.
const MAX_ITEMS: i32 = 1000;

impl Aws {
    /// `GetAccountAuthorizationDetails` (`Role`, `LocalManagedPolicy`), every page;
    /// the error (worded, e.g. `AccessDenied: …`) when one page cannot be read (a
    /// partial list is never used).
    pub async fn account_details(&self, stats: &Stats) -> Result<AccountDetails, String> {
        let pages = all_pages("iam:GetAccountAuthorizationDetails", |marker| async move {
            let o = call!(
                self,
                stats,
                Service::Iam,
                self.iam
                    .get_account_authorization_details()
                    .filter(EntityType::Role)
                    .filter(EntityType::LocalManagedPolicy)
                    .max_items(MAX_ITEMS)
                    .set_marker(marker)
            )?;
            let next = o.is_truncated().then(|| o.marker().map(String::from));
            Ok((vec![o], next.flatten()))
        })
        .await?;
        let mut out = AccountDetails::default();
        for page in pages {
            for r in page.role_detail_list() {
                if let Some(name) = r.role_name() {
                    out.roles.insert(name.to_string(), r.clone());
                }
            }
            for p in page.policies() {
                if let Some(arn) = p.arn() {
                    out.policies.insert(arn.to_string(), p.clone());
                }
            }
        }
        Ok(out)
    }
}

/// The files of one role as [`Aws::roles`] writes them (`get-role`,
/// `list-attached-role-policies`, `list-role-policies`), then one `get-role-policy`
/// per inline policy as `inline_policy` writes it.
pub fn role_files(r: &RoleDetail) -> Vec<(String, Value)> {
    let name = r.role_name().unwrap_or_default();
    let get = envelope(
        &format!("aws iam get-role --role-name {name}"),
        json!({"Role": {
            "Path": r.path(), "RoleName": r.role_name(), "RoleId": r.role_id(), "Arn": r.arn(),
            "CreateDate": date(r.create_date()),
            "AssumeRolePolicyDocument": r.assume_role_policy_document(),
            // Not in the account's details (no rule reads it).
            "MaxSessionDuration": Value::Null,
            "PermissionsBoundary": r.permissions_boundary().map(|b| json!({
                "PermissionsBoundaryType": b.permissions_boundary_type().map(|t| t.as_str()),
                "PermissionsBoundaryArn": b.permissions_boundary_arn(),
            })),
        }}),
    );
    let attached: Vec<Value> = r
        .attached_managed_policies()
        .iter()
        .map(|p| json!({"PolicyName": p.policy_name(), "PolicyArn": p.policy_arn()}))
        .collect();
    let inline: Vec<&str> = r
        .role_policy_list()
        .iter()
        .filter_map(|p| p.policy_name())
        .collect();
    let mut files = vec![
        (format!("iam-get-role-{name}.json"), get),
        (
            format!("iam-list-attached-role-policies-{name}.json"),
            envelope(
                &format!("aws iam list-attached-role-policies --role-name {name}"),
                json!({"AttachedPolicies": attached}),
            ),
        ),
        (
            format!("iam-list-role-policies-{name}.json"),
            envelope(
                &format!("aws iam list-role-policies --role-name {name}"),
                json!({"PolicyNames": inline}),
            ),
        ),
    ];
    for p in r.role_policy_list() {
        let policy = p.policy_name().unwrap_or_default();
        files.push((
            super::policies::inline_file(name, policy),
            envelope(
                &super::policies::inline_command(name, policy),
                json!({"RoleName": name, "PolicyName": policy, "PolicyDocument": p.policy_document()}),
            ),
        ));
    }
    files
}

/// The files of one customer managed policy as `managed_policy` writes them
/// (`get-policy`, then `get-policy-version` of its default version).
pub fn policy_files(p: &ManagedPolicyDetail) -> Vec<(String, Value)> {
    let arn = p.arn().unwrap_or_default();
    let mut files = vec![super::policies::policy_meta_file(
        arn,
        json!({"Policy": {
            "PolicyName": p.policy_name(), "PolicyId": p.policy_id(), "Arn": p.arn(),
            "Path": p.path(), "DefaultVersionId": p.default_version_id(),
            "AttachmentCount": p.attachment_count(),
            "PermissionsBoundaryUsageCount": p.permissions_boundary_usage_count(),
            "IsAttachable": p.is_attachable(),
        }}),
    )];
    let Some(version) = p.default_version_id() else {
        return files;
    };
    let (file, cmd) = super::policies::version_file(arn, version);
    files.push(
        match p
            .policy_version_list()
            .iter()
            .find(|v| v.version_id() == Some(version))
        {
            Some(v) => (file, super::policies::version_envelope(&cmd, v)),
            None => (
                file,
                crate::envelope_error(
                    &cmd,
                    "the account's authorization details list no default version of this policy",
                ),
            ),
        },
    );
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::types::{AttachedPolicy, PolicyDetail, PolicyVersion};

    fn role() -> RoleDetail {
        RoleDetail::builder()
            .path("/team/")
            .role_name("app")
            .role_id("AROAEXAMPLE")
            .arn("arn:aws:iam::111122223333:role/team/app")
            .create_date(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .assume_role_policy_document("%7B%22Version%22%3A%222012-10-17%22%7D")
            .role_policy_list(
                PolicyDetail::builder()
                    .policy_name("s3-read")
                    .policy_document("%7B%7D")
                    .build(),
            )
            .attached_managed_policies(
                AttachedPolicy::builder()
                    .policy_name("team-access")
                    .policy_arn("arn:aws:iam::111122223333:policy/team-access")
                    .build(),
            )
            .build()
    }

    #[test]
    fn a_role_of_the_details_is_the_files_of_the_per_role_reads() {
        let files = role_files(&role());
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "iam-get-role-app.json",
                "iam-list-attached-role-policies-app.json",
                "iam-list-role-policies-app.json",
                "iam-get-role-policy-app-s3-read.json",
            ]
        );
        let get = &files[0].1;
        assert_eq!(get["command"], "aws iam get-role --role-name app");
        assert_eq!(
            get["output"]["Role"]["Arn"],
            "arn:aws:iam::111122223333:role/team/app"
        );
        assert_eq!(
            get["output"]["Role"]["AssumeRolePolicyDocument"],
            "%7B%22Version%22%3A%222012-10-17%22%7D"
        );
        assert!(get["output"]["Role"]["PermissionsBoundary"].is_null());
        assert_eq!(
            files[3].1["command"],
            "aws iam get-role-policy --role-name app --policy-name s3-read"
        );
        assert_eq!(files[3].1["output"]["PolicyDocument"], "%7B%7D");
        // What the policy reads would then ask for: the inline one is here already.
        let w = super::super::wanted(&files);
        assert_eq!(
            w.managed.into_iter().collect::<Vec<_>>(),
            ["arn:aws:iam::111122223333:policy/team-access"]
        );
        assert_eq!(
            w.inline.into_iter().collect::<Vec<_>>(),
            [("app".to_string(), "s3-read".to_string())]
        );
    }

    #[test]
    fn a_policy_of_the_details_gives_its_default_version_only() {
        let version = |id: &str, default: bool| {
            PolicyVersion::builder()
                .version_id(id)
                .is_default_version(default)
                .document(format!("doc-{id}"))
                .build()
        };
        let p = ManagedPolicyDetail::builder()
            .policy_name("team-access")
            .arn("arn:aws:iam::111122223333:policy/team-access")
            .default_version_id("v2")
            .policy_version_list(version("v1", false))
            .policy_version_list(version("v2", true))
            .build();
        let files = policy_files(&p);
        assert_eq!(files[0].0, "iam-get-policy-team-access.json");
        assert_eq!(files[0].1["output"]["Policy"]["DefaultVersionId"], "v2");
        assert_eq!(files[1].0, "iam-get-policy-version-team-access-v2.json");
        assert_eq!(
            files[1].1["command"],
            "aws iam get-policy-version --policy-arn arn:aws:iam::111122223333:policy/team-access --version-id v2"
        );
        assert_eq!(files[1].1["output"]["PolicyVersion"]["Document"], "doc-v2");
        // A default version the details do not carry is said, never guessed.
        let p = ManagedPolicyDetail::builder()
            .arn("arn:aws:iam::111122223333:policy/x")
            .default_version_id("v3")
            .policy_version_list(version("v1", false))
            .build();
        assert!(policy_files(&p)[1].1["error"].is_string());
    }
}
