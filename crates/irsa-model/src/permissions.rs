//! The permission policies of roles, as collected: managed policy documents
//! (`aws iam get-policy` + `get-policy-version`, or the `Policies` of
//! `get-account-authorization-details`), inline policy documents
//! (`aws iam get-role-policy`, or `RolePolicyList`), and permissions boundaries
//! (`PermissionsBoundary` of `get-role` / `RoleDetailList`).
//!
//! The loader hands these outputs over at its dispatch points; cross-file
//! references (a role named only by name) are resolved when the snapshot is built.

use crate::command::{shell_quote as sh, CommandInfo};
use crate::model::{Role, Snapshot};
use irsa_policy::{PolicyDocument, PolicyError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A managed policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManagedPolicy {
    /// ARN.
    pub arn: String,
    /// Name, when read.
    pub name: Option<String>,
    /// The default version's id (`v3`), when known.
    pub default_version: Option<String>,
    /// Documents read, by version id.
    #[serde(skip)]
    pub versions: BTreeMap<String, Result<PolicyDocument, PolicyError>>,
}

impl ManagedPolicy {
    /// The default version's document, if read.
    pub fn default_document(&self) -> Option<&Result<PolicyDocument, PolicyError>> {
        self.versions.get(self.default_version.as_deref()?)
    }
}

/// Permission policies in the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Permissions {
    /// Managed policies by ARN.
    pub managed: BTreeMap<String, ManagedPolicy>,
    /// Inline policy documents by role ARN, then policy name.
    #[serde(skip)]
    pub inline: BTreeMap<String, BTreeMap<String, Result<PolicyDocument, PolicyError>>>,
    /// Permissions boundaries of roles whose source reports them (`get-role`,
    /// account details): the boundary policy ARN, or `None` for no boundary.
    /// A role absent here was only listed (`list-roles` does not show boundaries).
    pub boundaries: BTreeMap<String, Option<String>>,
}

/// Outputs waiting for the roles they name.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    inline_by_role_name: Vec<(String, String, Result<PolicyDocument, PolicyError>)>,
    permissions: Permissions,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BoundaryRef {
    permissions_boundary_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleBoundary {
    arn: Option<String>,
    permissions_boundary: Option<BoundaryRef>,
    #[serde(default)]
    role_policy_list: Vec<InlineDetail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InlineDetail {
    policy_name: String,
    policy_document: Option<Value>,
}

#[derive(Deserialize)]
struct GetRole {
    #[serde(rename = "Role")]
    role: RoleBoundary,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AuthDetails {
    #[serde(default)]
    role_detail_list: Vec<RoleBoundary>,
    #[serde(default)]
    policies: Vec<PolicyDetail>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyDetail {
    arn: String,
    policy_name: Option<String>,
    default_version_id: Option<String>,
    #[serde(default)]
    policy_version_list: Vec<PolicyVersion>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyVersion {
    document: Option<Value>,
    version_id: Option<String>,
    #[serde(default)]
    is_default_version: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetPolicy {
    policy: PolicyMeta,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyMeta {
    arn: String,
    policy_name: Option<String>,
    default_version_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetPolicyVersion {
    policy_version: PolicyVersion,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetRolePolicy {
    role_name: Option<String>,
    policy_name: Option<String>,
    policy_document: Value,
}

fn err(what: &str, e: serde_json::Error) -> String {
    let s = e.to_string();
    format!("{what}: {}", s.split(" at line ").next().unwrap_or(&s))
}

impl Pending {
    /// `aws iam get-role`: the boundary (or its absence).
    pub(crate) fn get_role(&mut self, text: &str) {
        if let Ok(r) = serde_json::from_str::<GetRole>(text) {
            self.role(r.role);
        }
    }

    /// `get-account-authorization-details`: boundaries, inline documents, managed policies.
    pub(crate) fn account_details(&mut self, text: &str) -> Result<(), String> {
        let d: AuthDetails = serde_json::from_str(text)
            .map_err(|e| err("aws iam get-account-authorization-details output", e))?;
        for r in d.role_detail_list {
            self.role(r);
        }
        for p in d.policies {
            let mut m = ManagedPolicy {
                arn: p.arn.clone(),
                name: p.policy_name,
                default_version: p.default_version_id,
                versions: BTreeMap::new(),
            };
            for v in p.policy_version_list {
                let (Some(id), Some(doc)) = (v.version_id, v.document) else {
                    continue;
                };
                if v.is_default_version && m.default_version.is_none() {
                    m.default_version = Some(id.clone());
                }
                m.versions.insert(id, PolicyDocument::from_value(doc));
            }
            self.merge_managed(m);
        }
        Ok(())
    }

    fn role(&mut self, r: RoleBoundary) {
        let Some(arn) = r.arn else { return };
        self.permissions.boundaries.insert(
            arn.clone(),
            r.permissions_boundary
                .and_then(|b| b.permissions_boundary_arn),
        );
        for p in r.role_policy_list {
            if let Some(doc) = p.policy_document {
                self.permissions
                    .inline
                    .entry(arn.clone())
                    .or_default()
                    .insert(p.policy_name, PolicyDocument::from_value(doc));
            }
        }
    }

    /// `aws iam get-policy --policy-arn A`.
    pub(crate) fn get_policy(&mut self, text: &str) -> Result<(), String> {
        let p: GetPolicy =
            serde_json::from_str(text).map_err(|e| err("aws iam get-policy output", e))?;
        self.merge_managed(ManagedPolicy {
            arn: p.policy.arn,
            name: p.policy.policy_name,
            default_version: p.policy.default_version_id,
            versions: BTreeMap::new(),
        });
        Ok(())
    }

    /// `aws iam get-policy-version --policy-arn A --version-id V` (the ARN is only in
    /// the command). A bare document (`--query PolicyVersion.Document`) works too.
    pub(crate) fn get_policy_version(
        &mut self,
        text: &str,
        command: Option<&CommandInfo>,
    ) -> Result<(), String> {
        let Some(arn) = command.and_then(|c| c.policy_arn.clone()) else {
            return Err("aws iam get-policy-version output without its command: wrap it in an envelope naming --policy-arn".into());
        };
        let v: PolicyVersion = match serde_json::from_str::<GetPolicyVersion>(text) {
            Ok(v) => v.policy_version,
            Err(e) => {
                // A bare document, with the version from the command.
                let doc: Value = serde_json::from_str(text)
                    .map_err(|_| err("aws iam get-policy-version output", e))?;
                PolicyVersion {
                    document: Some(doc),
                    version_id: command.and_then(|c| c.version_id.clone()),
                    is_default_version: false,
                }
            }
        };
        let Some(id) = v
            .version_id
            .or_else(|| command.and_then(|c| c.version_id.clone()))
        else {
            return Err("aws iam get-policy-version output without a VersionId".into());
        };
        let Some(doc) = v.document else {
            return Err("aws iam get-policy-version output without a Document".into());
        };
        let mut m = ManagedPolicy {
            arn,
            name: None,
            default_version: v.is_default_version.then(|| id.clone()),
            versions: BTreeMap::new(),
        };
        m.versions.insert(id, PolicyDocument::from_value(doc));
        self.merge_managed(m);
        Ok(())
    }

    /// `aws iam get-role-policy --role-name R --policy-name P` (the object, or a bare
    /// document with `--query PolicyDocument`).
    pub(crate) fn get_role_policy(
        &mut self,
        text: &str,
        command: Option<&CommandInfo>,
    ) -> Result<(String, String), String> {
        let (role, name, doc) = match serde_json::from_str::<GetRolePolicy>(text) {
            Ok(p) => (
                p.role_name
                    .or_else(|| command.and_then(|c| c.role_name.clone())),
                p.policy_name
                    .or_else(|| command.and_then(|c| c.policy_name.clone())),
                p.policy_document,
            ),
            Err(e) => {
                let doc: Value = serde_json::from_str(text)
                    .map_err(|_| err("aws iam get-role-policy output", e))?;
                (
                    command.and_then(|c| c.role_name.clone()),
                    command.and_then(|c| c.policy_name.clone()),
                    doc,
                )
            }
        };
        let (Some(role), Some(name)) = (role, name) else {
            return Err("aws iam get-role-policy output that names no role or policy: wrap it in an envelope naming --role-name and --policy-name".into());
        };
        self.inline_by_role_name.push((
            role.clone(),
            name.clone(),
            PolicyDocument::from_value(doc),
        ));
        Ok((role, name))
    }

    fn merge_managed(&mut self, m: ManagedPolicy) {
        match self.permissions.managed.get_mut(&m.arn) {
            Some(e) => {
                e.name = e.name.take().or(m.name);
                if m.default_version.is_some() {
                    e.default_version = m.default_version;
                }
                e.versions.extend(m.versions);
            }
            None => {
                self.permissions.managed.insert(m.arn.clone(), m);
            }
        }
    }

    /// Resolves role names to ARNs; returns documents whose role is not in the
    /// snapshot (for the input report).
    pub(crate) fn finish(self, roles: &BTreeMap<String, Role>) -> (Permissions, usize) {
        let mut p = self.permissions;
        let mut orphans = 0;
        for (role_name, policy, doc) in self.inline_by_role_name {
            match roles.values().find(|r| r.name == role_name) {
                Some(r) => {
                    p.inline
                        .entry(r.arn.clone())
                        .or_default()
                        .insert(policy, doc);
                }
                None => orphans += 1,
            }
        }
        (p, orphans)
    }
}

/// A policy that governs the role but whose document is not in the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingPolicy {
    /// How reports name it.
    pub name: String,
    /// The commands whose outputs would add it.
    pub commands: Vec<String>,
}

/// The role's permissions boundary, as far as the snapshot tells.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BoundaryState<'s> {
    /// The role has none.
    None,
    /// The role has this one, read.
    Read {
        /// Its name for reports.
        name: String,
        /// Its default version's document.
        #[serde(skip)]
        document: &'s PolicyDocument,
    },
    /// Not known (why; and the commands that would tell).
    Unknown {
        /// Why.
        why: String,
        /// The commands.
        commands: Vec<String>,
    },
}

/// Everything collected that governs a role's calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolePolicies<'s> {
    /// Documents read: (name for reports, document).
    #[serde(skip)]
    pub documents: Vec<(String, &'s PolicyDocument)>,
    /// Policies attached but not read (or not parsed).
    pub missing: Vec<MissingPolicy>,
    /// The boundary.
    pub boundary: BoundaryState<'s>,
    /// Whether the lists of attached and inline policies are known.
    pub lists_known: bool,
}

impl<'s> RolePolicies<'s> {
    /// The documents read, as the identity evaluator takes them.
    pub fn named(&self) -> Vec<irsa_policy::NamedPolicy<'_>> {
        self.documents
            .iter()
            .map(|(name, document)| irsa_policy::NamedPolicy { name, document })
            .collect()
    }

    /// The boundary, as the identity evaluator takes it.
    pub fn evaluated_boundary(&self) -> irsa_policy::Boundary<'_> {
        match &self.boundary {
            BoundaryState::None => irsa_policy::Boundary::None,
            BoundaryState::Read { name, document } => {
                irsa_policy::Boundary::Policy(irsa_policy::NamedPolicy { name, document })
            }
            BoundaryState::Unknown { why, .. } => irsa_policy::Boundary::NotCollected(why),
        }
    }
}

/// The commands that read a managed policy's default document.
fn get_policy_commands(arn: &str, default_version: Option<&str>) -> Vec<String> {
    match default_version {
        Some(v) => vec![format!(
            "aws iam get-policy-version --policy-arn {} --version-id {}",
            sh(arn),
            sh(v)
        )],
        None => vec![
            format!("aws iam get-policy --policy-arn {}", sh(arn)),
            format!(
                "aws iam get-policy-version --policy-arn {} --version-id <DefaultVersionId from get-policy>",
                sh(arn)
            ),
        ],
    }
}

impl Snapshot {
    /// The collected policies that govern a role's calls.
    pub fn role_policies(&self, role: &Role) -> RolePolicies<'_> {
        let perms = &self.permissions;
        let mut documents = Vec::new();
        let mut missing = Vec::new();
        for a in role.attached_policies.iter().flatten() {
            let Some(arn) = a.arn.as_deref() else {
                missing.push(MissingPolicy {
                    name: format!("managed policy {}", a.name),
                    commands: vec![format!(
                        "aws iam list-attached-role-policies --role-name {}",
                        sh(&role.name)
                    )],
                });
                continue;
            };
            let m = perms.managed.get(arn);
            let label = |v: Option<&str>| match v {
                Some(v) => format!("managed policy {} ({v})", a.name),
                None => format!("managed policy {}", a.name),
            };
            match m.and_then(|m| m.default_document().map(|d| (m, d))) {
                Some((m, Ok(doc))) => documents.push((label(m.default_version.as_deref()), doc)),
                Some((m, Err(e))) => missing.push(MissingPolicy {
                    name: format!(
                        "{} (its document does not parse: {e})",
                        label(m.default_version.as_deref())
                    ),
                    commands: vec![format!(
                        "aws iam get-policy-version --policy-arn {} --version-id {}",
                        sh(arn),
                        sh(m.default_version.as_deref().unwrap_or("<default version>"))
                    )],
                }),
                None => missing.push(MissingPolicy {
                    name: label(m.and_then(|m| m.default_version.as_deref())),
                    commands: get_policy_commands(
                        arn,
                        m.and_then(|m| m.default_version.as_deref()),
                    ),
                }),
            }
        }
        let inline_docs = perms.inline.get(&role.arn);
        for name in role.inline_policies.iter().flatten() {
            match inline_docs.and_then(|m| m.get(name)) {
                Some(Ok(doc)) => documents.push((format!("inline policy {name}"), doc)),
                other => missing.push(MissingPolicy {
                    name: match other {
                        Some(Err(e)) => {
                            format!("inline policy {name} (its document does not parse: {e})")
                        }
                        _ => format!("inline policy {name}"),
                    },
                    commands: vec![format!(
                        "aws iam get-role-policy --role-name {} --policy-name {}",
                        sh(&role.name),
                        sh(name)
                    )],
                }),
            }
        }
        // Inline documents read although the name list was not collected.
        if role.inline_policies.is_none() {
            for (name, doc) in inline_docs.into_iter().flatten() {
                if let Ok(doc) = doc {
                    documents.push((format!("inline policy {name}"), doc));
                }
            }
        }
        let boundary = match perms.boundaries.get(&role.arn) {
            None => BoundaryState::Unknown {
                why: "whether the role has a permissions boundary is not in the snapshot (list-roles does not show it)".into(),
                commands: vec![format!("aws iam get-role --role-name {}", sh(&role.name))],
            },
            Some(None) => BoundaryState::None,
            Some(Some(arn)) => match perms.managed.get(arn).and_then(|m| m.default_document()) {
                Some(Ok(doc)) => BoundaryState::Read {
                    name: format!("permissions boundary {}", arn.rsplit('/').next().unwrap_or(arn)),
                    document: doc,
                },
                _ => BoundaryState::Unknown {
                    why: format!("the role's permissions boundary {arn} is not in the snapshot"),
                    commands: get_policy_commands(arn, perms.managed.get(arn).and_then(|m| m.default_version.as_deref())),
                },
            },
        };
        RolePolicies {
            documents,
            missing,
            boundary,
            lists_known: role.attached_policies.is_some() && role.inline_policies.is_some(),
        }
    }
}
