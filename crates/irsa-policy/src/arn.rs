//! IAM role and OIDC provider ARNs: strict parsing plus a diagnosis of the
//! near-misses people actually type (seed 003's extra colons, seed 000's space
//! after `role/`, `role:` for `role/`, a provider or user ARN where a role belongs).
//!
//! Grammar (IAM user guide, "IAM identifiers"):
//! `arn:<partition>:iam::<12-digit account>:role/<path without leading slash><name>`;
//! name 1-64 chars of `[A-Za-z0-9+=,.@_-]`; path `/` or `/…/` of U+0021-U+007E, ≤ 512.

use crate::partition::Partition;
use serde::Serialize;
use std::fmt;

/// A well-formed IAM role ARN.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RoleArn {
    /// Partition (`aws`, `aws-cn`, ...).
    pub partition: Partition,
    /// 12-digit account id.
    pub account: String,
    /// Role path: `/` or `/a/b/`.
    pub path: String,
    /// Role name (last path segment).
    pub name: String,
}

impl RoleArn {
    /// Parses a role ARN, returning every problem found when it is not valid.
    pub fn parse(input: &str) -> Result<RoleArn, RoleArnError> {
        diagnose_role_arn(input)
    }

    /// The ARN text.
    pub fn arn(&self) -> String {
        self.to_string()
    }

    /// The `assumed-role` ARN STS returns for a session of this role (the path is dropped).
    pub fn assumed_role_arn(&self, session: &str) -> String {
        format!(
            "arn:{}:sts::{}:assumed-role/{}/{}",
            self.partition, self.account, self.name, session
        )
    }
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:iam::{}:role{}{}",
            self.partition, self.account, self.path, self.name
        )
    }
}

/// One thing wrong with a string that should be a role ARN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RoleArnProblem {
    /// The value is empty.
    Empty,
    /// The value contains white space (leading, trailing or inside, e.g. `role/ Name`).
    Whitespace {
        /// Byte offset of the first white-space character.
        offset: usize,
    },
    /// The value does not start with `arn:` (for example a bare role name).
    NotAnArn,
    /// More `:` separators than an ARN has (`arn:aws:iam::::123…`).
    ExtraColons {
        /// How many separators were found (a role ARN has 5).
        found: usize,
    },
    /// Fewer `:` separators than an ARN has (e.g. the empty region field is missing).
    MissingColons {
        /// How many separators were found.
        found: usize,
    },
    /// `role:Name` was written instead of `role/Name`.
    RoleColon,
    /// The partition field is not a known partition.
    UnknownPartition {
        /// The field as written.
        found: String,
    },
    /// The service field is not `iam` (e.g. an `sts` assumed-role ARN).
    WrongService {
        /// The field as written.
        found: String,
    },
    /// IAM ARNs have an empty region field.
    RegionNotEmpty {
        /// The field as written.
        found: String,
    },
    /// The account field is not 12 digits.
    BadAccount {
        /// The field as written.
        found: String,
    },
    /// The resource is not a role (`user/`, `oidc-provider/`, `instance-profile/`, ...).
    NotARole {
        /// Resource type found before the first `/`.
        resource_type: String,
    },
    /// The role name is empty, too long or has characters IAM does not allow.
    BadName {
        /// The name as written.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The path has characters outside U+0021-U+007E or is too long.
    BadPath {
        /// The path as written.
        path: String,
    },
}

impl fmt::Display for RoleArnProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoleArnProblem::Empty => write!(f, "the value is empty"),
            RoleArnProblem::Whitespace { offset } => {
                write!(f, "it contains white space (at character {})", offset + 1)
            }
            RoleArnProblem::NotAnArn => write!(f, "it does not start with `arn:`"),
            RoleArnProblem::ExtraColons { found } => write!(
                f,
                "it has {found} `:` separators where a role ARN has 5 (extra colon)"
            ),
            RoleArnProblem::MissingColons { found } => write!(
                f,
                "it has {found} `:` separators where a role ARN has 5 (the empty region field `::` is missing?)"
            ),
            RoleArnProblem::RoleColon => write!(f, "it says `role:` where `role/` belongs"),
            RoleArnProblem::UnknownPartition { found } => {
                write!(f, "`{found}` is not an AWS partition (aws, aws-cn, aws-us-gov, ...)")
            }
            RoleArnProblem::WrongService { found } => {
                write!(f, "service `{found}` where a role ARN says `iam`")
            }
            RoleArnProblem::RegionNotEmpty { found } => {
                write!(f, "IAM ARNs have an empty region field, this one says `{found}`")
            }
            RoleArnProblem::BadAccount { found } => {
                write!(f, "account `{found}` is not 12 digits")
            }
            RoleArnProblem::NotARole { resource_type } => {
                write!(f, "it names a `{resource_type}`, not a role")
            }
            RoleArnProblem::BadName { name, reason } => {
                write!(f, "role name `{name}` {reason}")
            }
            RoleArnProblem::BadPath { path } => write!(f, "role path `{path}` is not valid"),
        }
    }
}

/// Why a string is not a valid role ARN, with a corrected value where one can be derived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleArnError {
    /// The value as given.
    pub input: String,
    /// Every problem found, most fundamental first.
    pub problems: Vec<RoleArnProblem>,
    /// A corrected ARN when the repair is unambiguous and yields a valid ARN.
    pub suggestion: Option<String>,
}

impl fmt::Display for RoleArnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a valid IAM role ARN: ", self.input)?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RoleArnError {}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

/// Checks the structure of an ARN whose separators are already right.
fn check_fields(parts: &[&str], problems: &mut Vec<RoleArnProblem>) -> Option<RoleArn> {
    debug_assert_eq!(parts.len(), 6);
    let mut ok = true;
    let partition = Partition::from_name(parts[1]);
    if partition.is_none() {
        problems.push(RoleArnProblem::UnknownPartition {
            found: parts[1].to_string(),
        });
        ok = false;
    }
    if parts[2] != "iam" {
        problems.push(RoleArnProblem::WrongService {
            found: parts[2].to_string(),
        });
        ok = false;
    }
    if !parts[3].is_empty() {
        problems.push(RoleArnProblem::RegionNotEmpty {
            found: parts[3].to_string(),
        });
        ok = false;
    }
    let account = parts[4];
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        problems.push(RoleArnProblem::BadAccount {
            found: account.to_string(),
        });
        ok = false;
    }
    let resource = parts[5];
    let (rtype, rest) = match resource.split_once('/') {
        Some((t, r)) => (t, r),
        None => (resource, ""),
    };
    if rtype != "role" {
        problems.push(RoleArnProblem::NotARole {
            resource_type: rtype.to_string(),
        });
        return None;
    }
    let (path, name) = match rest.rfind('/') {
        Some(i) => (format!("/{}", &rest[..=i]), &rest[i + 1..]),
        None => ("/".to_string(), rest),
    };
    if name.is_empty() {
        problems.push(RoleArnProblem::BadName {
            name: name.to_string(),
            reason: "is empty".into(),
        });
        ok = false;
    } else if name.chars().count() > 64 {
        problems.push(RoleArnProblem::BadName {
            name: name.to_string(),
            reason: "is longer than 64 characters".into(),
        });
        ok = false;
    } else if let Some(c) = name.chars().find(|c| !is_name_char(*c)) {
        problems.push(RoleArnProblem::BadName {
            name: name.to_string(),
            reason: format!("contains `{c}`, IAM allows only letters, digits and +=,.@_-"),
        });
        ok = false;
    }
    if path.len() > 512
        || path.contains("//")
        || !path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c))
    {
        problems.push(RoleArnProblem::BadPath { path: path.clone() });
        ok = false;
    }
    if ok {
        Some(RoleArn {
            partition: partition.expect("checked"),
            account: account.to_string(),
            path,
            name: name.to_string(),
        })
    } else {
        None
    }
}

/// Repairs the separator structure of an ARN-like string, if that is unambiguous.
fn repair_separators(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() < 3 || parts[0] != "arn" {
        return None;
    }
    // `...:role:Name` → `...:role/Name`
    if parts.len() == 7 && parts[5] == "role" {
        return Some(format!("{}/{}", parts[..6].join(":"), parts[6]));
    }
    // Keep arn, partition, service; then the non-empty fields must be account and resource.
    let rest: Vec<&str> = parts[3..]
        .iter()
        .copied()
        .filter(|p| !p.is_empty())
        .collect();
    let (region, account, resource) = match rest.as_slice() {
        [account, resource] => ("", *account, *resource),
        [region, account, resource] if crate::partition::looks_like_region(region) => {
            (*region, *account, *resource)
        }
        _ => return None,
    };
    let _ = region; // IAM ARNs never carry a region: drop it in the suggestion.
    Some(format!(
        "arn:{}:{}::{}:{}",
        parts[1], parts[2], account, resource
    ))
}

/// Parses `input` as a role ARN, diagnosing every near-miss.
pub fn diagnose_role_arn(input: &str) -> Result<RoleArn, RoleArnError> {
    let mut problems = Vec::new();
    let fail = |problems: Vec<RoleArnProblem>, suggestion: Option<String>| RoleArnError {
        input: input.to_string(),
        problems,
        suggestion,
    };
    if input.trim().is_empty() {
        return Err(fail(vec![RoleArnProblem::Empty], None));
    }
    let mut s: String = input.to_string();
    if let Some(offset) = input.find(|c: char| c.is_whitespace()) {
        problems.push(RoleArnProblem::Whitespace { offset });
        s = input.chars().filter(|c| !c.is_whitespace()).collect();
    }
    if !s.starts_with("arn:") {
        problems.push(RoleArnProblem::NotAnArn);
        return Err(fail(problems, None));
    }
    let separators = s.matches(':').count();
    let parts: Vec<&str> = s.split(':').collect();
    let mut repaired = None;
    if parts.len() == 7 && parts[5] == "role" {
        problems.push(RoleArnProblem::RoleColon);
        repaired = repair_separators(&s);
    } else if separators > 5 {
        problems.push(RoleArnProblem::ExtraColons { found: separators });
        repaired = repair_separators(&s);
    } else if separators < 5 {
        problems.push(RoleArnProblem::MissingColons { found: separators });
        repaired = repair_separators(&s);
    }
    let candidate = repaired.clone().unwrap_or_else(|| s.clone());
    let candidate_parts: Vec<&str> = candidate.split(':').collect();
    if candidate_parts.len() != 6 {
        return Err(fail(problems, None));
    }
    // Field problems of the repaired candidate are real problems of the input too.
    let mut field_problems = Vec::new();
    let parsed = check_fields(&candidate_parts, &mut field_problems);
    problems.extend(field_problems);
    match parsed {
        Some(arn) if problems.is_empty() => Ok(arn),
        Some(arn) => Err(fail(problems, Some(arn.to_string()))),
        None => Err(fail(problems, None)),
    }
}

/// An IAM OIDC identity provider ARN: `arn:<p>:iam::<acct>:oidc-provider/<host+path>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct OidcProviderArn {
    /// Partition.
    pub partition: Partition,
    /// Account that owns the provider.
    pub account: String,
    /// Provider URL without `https://` (case-sensitive).
    pub url: String,
}

impl OidcProviderArn {
    /// Parses a provider ARN; `None` when it is not one.
    pub fn parse(s: &str) -> Option<OidcProviderArn> {
        let rest = s.strip_prefix("arn:")?;
        let mut it = rest.splitn(5, ':');
        let partition = Partition::from_name(it.next()?)?;
        if it.next()? != "iam" || !it.next()?.is_empty() {
            return None;
        }
        let account = it.next()?;
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let url = it.next()?.strip_prefix("oidc-provider/")?;
        if url.is_empty() {
            return None;
        }
        Some(OidcProviderArn {
            partition,
            account: account.to_string(),
            url: url.to_string(),
        })
    }

    /// Builds the provider ARN for an issuer URL in an account.
    pub fn for_issuer(partition: Partition, account: &str, issuer_host_path: &str) -> Self {
        OidcProviderArn {
            partition,
            account: account.to_string(),
            url: issuer_host_path.to_string(),
        }
    }
}

impl fmt::Display for OidcProviderArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:iam::{}:oidc-provider/{}",
            self.partition, self.account, self.url
        )
    }
}

/// Account id from any ARN (`arn:p:svc:region:account:...`), if it has one.
pub fn account_of(arn: &str) -> Option<&str> {
    let mut it = arn.split(':');
    if it.next()? != "arn" {
        return None;
    }
    let account = it.nth(3)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(s: &str) -> Vec<RoleArnProblem> {
        diagnose_role_arn(s).unwrap_err().problems
    }

    #[test]
    fn valid_role_arns() {
        let a = RoleArn::parse("arn:aws:iam::123456789012:role/S3Access").unwrap();
        assert_eq!(a.name, "S3Access");
        assert_eq!(a.path, "/");
        let b = RoleArn::parse(
            "arn:aws:iam::123456789012:role/application_abc/component_xyz/RDSAccess",
        )
        .unwrap();
        assert_eq!(b.path, "/application_abc/component_xyz/");
        assert_eq!(b.name, "RDSAccess");
        assert_eq!(
            b.to_string(),
            "arn:aws:iam::123456789012:role/application_abc/component_xyz/RDSAccess"
        );
        assert_eq!(
            b.assumed_role_arn("s"),
            "arn:aws:sts::123456789012:assumed-role/RDSAccess/s"
        );
        let c = RoleArn::parse("arn:aws-cn:iam::123456789012:role/x+=,.@_-y").unwrap();
        assert_eq!(c.partition, Partition::AwsCn);
    }

    #[test]
    fn seed_003_extra_colons() {
        let e = diagnose_role_arn("arn:aws:iam::::1234567890:role/example").unwrap_err();
        assert_eq!(e.problems[0], RoleArnProblem::ExtraColons { found: 7 });
        assert!(e.problems.contains(&RoleArnProblem::BadAccount {
            found: "1234567890".into()
        }));
        assert_eq!(e.suggestion, None, "account still invalid: no suggestion");
        let e = diagnose_role_arn("arn:aws:iam::::123456789012:role/example").unwrap_err();
        assert_eq!(
            e.suggestion.as_deref(),
            Some("arn:aws:iam::123456789012:role/example")
        );
    }

    #[test]
    fn seed_000_space_after_role() {
        let e =
            diagnose_role_arn("arn:aws:iam::123456789012:role/ AMAZON_EKS_LBC_ROLE").unwrap_err();
        assert_eq!(e.problems, vec![RoleArnProblem::Whitespace { offset: 31 }]);
        assert_eq!(
            e.suggestion.as_deref(),
            Some("arn:aws:iam::123456789012:role/AMAZON_EKS_LBC_ROLE")
        );
        assert_eq!(
            problems(" arn:aws:iam::123456789012:role/x"),
            vec![RoleArnProblem::Whitespace { offset: 0 }]
        );
    }

    #[test]
    fn role_colon_and_missing_colons() {
        let e = diagnose_role_arn("arn:aws:iam::123456789012:role:MyRole").unwrap_err();
        assert_eq!(e.problems, vec![RoleArnProblem::RoleColon]);
        assert_eq!(
            e.suggestion.as_deref(),
            Some("arn:aws:iam::123456789012:role/MyRole")
        );
        let e = diagnose_role_arn("arn:aws:iam:123456789012:role/MyRole").unwrap_err();
        assert_eq!(e.problems, vec![RoleArnProblem::MissingColons { found: 4 }]);
        assert_eq!(
            e.suggestion.as_deref(),
            Some("arn:aws:iam::123456789012:role/MyRole")
        );
    }

    #[test]
    fn wrong_resource_types() {
        assert_eq!(
            problems(
                "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/AB"
            ),
            vec![RoleArnProblem::NotARole {
                resource_type: "oidc-provider".into()
            }]
        );
        assert_eq!(
            problems("arn:aws:iam::123456789012:user/alice"),
            vec![RoleArnProblem::NotARole {
                resource_type: "user".into()
            }]
        );
        assert_eq!(
            problems("arn:aws:iam::123456789012:instance-profile/x"),
            vec![RoleArnProblem::NotARole {
                resource_type: "instance-profile".into()
            }]
        );
        let p = problems("arn:aws:sts::123456789012:assumed-role/x/s");
        assert!(p.contains(&RoleArnProblem::WrongService {
            found: "sts".into()
        }));
    }

    #[test]
    fn field_problems() {
        assert_eq!(
            problems("arn:aws-china:iam::123456789012:role/x"),
            vec![RoleArnProblem::UnknownPartition {
                found: "aws-china".into()
            }]
        );
        assert_eq!(
            problems("arn:aws:iam:us-east-1:123456789012:role/x"),
            vec![RoleArnProblem::RegionNotEmpty {
                found: "us-east-1".into()
            }]
        );
        assert_eq!(problems(""), vec![RoleArnProblem::Empty]);
        assert_eq!(problems("my-role"), vec![RoleArnProblem::NotAnArn]);
        let long = format!("arn:aws:iam::123456789012:role/{}", "a".repeat(65));
        assert!(matches!(problems(&long)[0], RoleArnProblem::BadName { .. }));
        assert!(matches!(
            problems("arn:aws:iam::123456789012:role/a*b")[0],
            RoleArnProblem::BadName { .. }
        ));
        assert!(matches!(
            problems("arn:aws:iam::123456789012:role/")[0],
            RoleArnProblem::BadName { .. }
        ));
    }

    #[test]
    fn provider_arns() {
        let p = OidcProviderArn::parse(
            "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC",
        )
        .unwrap();
        assert_eq!(p.account, "111122223333");
        assert_eq!(p.url, "oidc.eks.us-west-2.amazonaws.com/id/ABC");
        assert_eq!(
            p.to_string(),
            "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC"
        );
        assert!(OidcProviderArn::parse("arn:aws:iam::111122223333:role/x").is_none());
        assert!(OidcProviderArn::parse("arn:aws:iam::1111:oidc-provider/x").is_none());
        assert_eq!(
            account_of("arn:aws:eks:us-east-2:391252439823:cluster/x"),
            Some("391252439823")
        );
        assert_eq!(account_of("nope"), None);
    }
}
