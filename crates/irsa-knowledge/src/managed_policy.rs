//! AWS managed policies as AWS documents them (`data/managed-policies/*.toml`, one file
//! per policy, each with its source: the AWS Managed Policy Reference page and the
//! version it shows).
//!
//! Two ways a rule learns what an AWS managed policy attached to a role grants, in this
//! order: the policy's own document from the snapshot (`aws iam get-policy` +
//! `get-policy-version`, or `get-account-authorization-details`), which is what IAM
//! evaluates; else, only when that document was not collected, the documented copy
//! here, and then only to grant (the real default version may differ from the documented
//! one, so a documented copy that does not grant decides nothing) and saying so.

use irsa_policy::PolicyDocument;
use serde::Deserialize;
use std::sync::OnceLock;

/// One documented AWS managed policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentedPolicy {
    /// `AmazonEKSWorkerNodePolicy` (= the file name).
    pub name: String,
    /// The policy's path (`/` for most).
    pub path: String,
    /// The default version the source shows (`v3`).
    pub version: String,
    /// When the source says it was last edited (ISO date).
    pub edited: String,
    /// Where the document comes from.
    pub source: String,
    /// The JSON document, as the source prints it.
    pub document: String,
}

impl DocumentedPolicy {
    /// The ARN in a partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn arn(&self, partition: &str) -> String {
        format!("arn:{partition}:iam::aws:policy{}{}", self.path, self.name)
    }
    /// The parsed document.
    pub fn parsed(&self) -> Result<PolicyDocument, irsa_policy::PolicyError> {
        PolicyDocument::parse(&self.document)
    }
}

/// Parses the embedded files; errors as (file, message).
pub fn from_files(files: &[(&str, &str)]) -> (Vec<DocumentedPolicy>, Vec<crate::DataError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (file, text) in files {
        let err = |e: String| crate::DataError {
            file: format!("managed-policies/{file}"),
            error: e,
        };
        match toml::from_str::<DocumentedPolicy>(text) {
            Ok(p) => {
                if format!("{}.toml", p.name) != *file {
                    errors.push(err(format!("name {} is not the file name", p.name)));
                } else if p.source.trim().is_empty() {
                    errors.push(err("no source".into()));
                } else if let Err(e) = p.parsed() {
                    errors.push(err(format!("document does not parse: {e}")));
                } else {
                    out.push(p);
                }
            }
            Err(e) => errors.push(err(e.to_string())),
        }
    }
    (out, errors)
}

/// The compiled-in documented policies (files that fail to load are left out; a test
/// keeps that list empty).
pub fn documented_policies() -> &'static [DocumentedPolicy] {
    static P: OnceLock<Vec<DocumentedPolicy>> = OnceLock::new();
    P.get_or_init(|| from_files(crate::files::MANAGED_POLICY_FILES).0)
}

/// The documented copy of an AWS managed policy, by ARN (any partition).
pub fn documented_policy(arn: &str) -> Option<&'static DocumentedPolicy> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some("aws"), Some(_)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    documented_policies()
        .iter()
        .find(|p| p.arn(partition) == arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_loads_with_a_source() {
        let (ok, errors) = from_files(crate::files::MANAGED_POLICY_FILES);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(ok.len(), crate::files::MANAGED_POLICY_FILES.len());
    }

    #[test]
    fn lookup_by_arn_in_every_partition_and_only_aws_managed() {
        for partition in ["aws", "aws-cn", "aws-us-gov"] {
            let arn = format!("arn:{partition}:iam::aws:policy/AmazonEKSWorkerNodePolicy");
            assert_eq!(documented_policy(&arn).unwrap().version, "v3");
        }
        // A customer-managed policy of the same name is not the AWS one.
        assert!(
            documented_policy("arn:aws:iam::111122223333:policy/AmazonEKSWorkerNodePolicy")
                .is_none()
        );
        assert!(documented_policy("AmazonEKSWorkerNodePolicy").is_none());
        assert!(documented_policy("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess").is_none());
    }

    #[test]
    fn a_file_without_source_or_with_a_bad_document_is_refused() {
        let bad = "name = \"X\"\npath = \"/\"\nversion = \"v1\"\nedited = \"2024-01-01\"\nsource = \"\"\ndocument = '{}'\n";
        let (ok, errors) = from_files(&[("X.toml", bad)]);
        assert!(ok.is_empty());
        assert_eq!(errors.len(), 1);
        let broken = bad
            .replace("source = \"\"", "source = \"s\"")
            .replace("'{}'", "'{'");
        let (ok, errors) = from_files(&[("X.toml", &broken)]);
        assert!(
            ok.is_empty() && errors[0].error.contains("does not parse"),
            "{errors:?}"
        );
    }
}
