//! OIDC issuer URLs, EKS issuer structure, and how two issuers (or provider
//! URLs, or condition-key prefixes) differ.
//!
//! EKS issuers look like `https://oidc.eks.<region>.<dns suffix>/id/<ID>` (seen as
//! 32 upper-case hex characters; the id format is not documented, so any
//! non-empty id is accepted). IAM provider URLs are the issuer without
//! `https://` and are case-sensitive.

use crate::partition::Partition;
use serde::Serialize;

/// A parsed issuer URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issuer {
    /// The URL exactly as the cluster reports it (what the token's `iss` carries).
    pub url: String,
    /// The URL without `https://`: the IAM provider URL and the condition-key prefix.
    pub host_path: String,
    /// EKS structure, when the issuer is an EKS one.
    pub eks: Option<EksIssuer>,
}

/// The parts of an EKS issuer URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EksIssuer {
    /// Region in the host name.
    pub region: String,
    /// Partition derived from the DNS suffix.
    pub partition: Partition,
    /// The cluster's OIDC id (last path segment).
    pub id: String,
}

/// Why an issuer URL is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssuerError {
    /// The URL does not use `https://`.
    #[error("issuer `{0}` does not start with https://")]
    NotHttps(String),
    /// Nothing after the scheme.
    #[error("issuer `{0}` has no host")]
    NoHost(String),
}

impl Issuer {
    /// Parses an issuer URL (`https://host/path`).
    pub fn parse(url: &str) -> Result<Issuer, IssuerError> {
        let trimmed = url.trim();
        let host_path = trimmed
            .strip_prefix("https://")
            .ok_or_else(|| IssuerError::NotHttps(url.to_string()))?;
        if host_path.is_empty() || host_path.starts_with('/') {
            return Err(IssuerError::NoHost(url.to_string()));
        }
        Ok(Issuer {
            url: trimmed.to_string(),
            host_path: host_path.to_string(),
            eks: parse_eks_host_path(host_path),
        })
    }

    /// Parses a provider URL as IAM stores it (no scheme) or an issuer (with scheme).
    pub fn from_provider_url(url: &str) -> Result<Issuer, IssuerError> {
        if url.starts_with("https://") {
            Issuer::parse(url)
        } else {
            Issuer::parse(&format!("https://{url}"))
        }
    }
}

/// Parses `oidc.eks.<region>.<suffix>/id/<ID>` (no scheme).
pub fn parse_eks_host_path(host_path: &str) -> Option<EksIssuer> {
    let (host, path) = host_path.split_once('/')?;
    let rest = host.strip_prefix("oidc.eks.")?;
    let (region, suffix) = rest.split_once('.')?;
    let partition = Partition::ALL
        .into_iter()
        .find(|p| p.dns_suffix() == suffix)?;
    let id = path.strip_prefix("id/")?;
    if id.is_empty() || id.contains('/') {
        return None;
    }
    // amazonaws.com is shared by aws and aws-us-gov: the region decides.
    let partition = if partition == Partition::Aws {
        Partition::for_region(region)
    } else {
        partition
    };
    Some(EksIssuer {
        region: region.to_string(),
        partition,
        id: id.to_string(),
    })
}

/// One way two issuer host+path strings differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum IssuerDifference {
    /// Identical except for letter case (IAM provider URLs are case-sensitive).
    CaseOnly,
    /// Identical except for a trailing `/`.
    TrailingSlash,
    /// The other side carries a `https://` scheme.
    Scheme,
    /// Different region in the EKS host.
    Region {
        /// Region found.
        found: String,
        /// Region expected.
        expected: String,
    },
    /// Different cluster id.
    ClusterId {
        /// Id found.
        found: String,
        /// Id expected.
        expected: String,
    },
    /// Not comparable piecewise (not an EKS issuer, or everything differs).
    Other {
        /// Value found.
        found: String,
        /// Value expected.
        expected: String,
    },
}

/// How `found` differs from `expected` (both host+path, scheme tolerated on `found`).
/// Empty when they are equal.
pub fn issuer_differences(found: &str, expected: &str) -> Vec<IssuerDifference> {
    if found == expected {
        return vec![];
    }
    let mut out = Vec::new();
    let mut f = found;
    if let Some(stripped) = f.strip_prefix("https://") {
        out.push(IssuerDifference::Scheme);
        f = stripped;
    }
    if let Some(stripped) = f.strip_suffix('/') {
        if stripped.eq_ignore_ascii_case(expected) || stripped == expected {
            out.push(IssuerDifference::TrailingSlash);
            f = stripped;
        }
    }
    if f == expected {
        return out;
    }
    if f.eq_ignore_ascii_case(expected) {
        out.push(IssuerDifference::CaseOnly);
        return out;
    }
    match (parse_eks_host_path(f), parse_eks_host_path(expected)) {
        (Some(a), Some(b)) => {
            if a.region != b.region {
                out.push(IssuerDifference::Region {
                    found: a.region,
                    expected: b.region.clone(),
                });
            }
            if a.id != b.id {
                if a.id.eq_ignore_ascii_case(&b.id) {
                    out.push(IssuerDifference::CaseOnly);
                } else {
                    out.push(IssuerDifference::ClusterId {
                        found: a.id,
                        expected: b.id,
                    });
                }
            }
            if out.is_empty() {
                out.push(IssuerDifference::Other {
                    found: f.to_string(),
                    expected: expected.to_string(),
                });
            }
        }
        _ => out.push(IssuerDifference::Other {
            found: f.to_string(),
            expected: expected.to_string(),
        }),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_eks_issuers() {
        let i = Issuer::parse(
            "https://oidc.eks.us-east-2.amazonaws.com/id/C9013FD37C32992483E5BAA666194EC2",
        )
        .unwrap();
        assert_eq!(
            i.host_path,
            "oidc.eks.us-east-2.amazonaws.com/id/C9013FD37C32992483E5BAA666194EC2"
        );
        let e = i.eks.unwrap();
        assert_eq!(e.region, "us-east-2");
        assert_eq!(e.partition, Partition::Aws);
        assert_eq!(e.id, "C9013FD37C32992483E5BAA666194EC2");

        let cn = Issuer::parse(
            "https://oidc.eks.cn-northwest-1.amazonaws.com.cn/id/D00332FAF339AE6D708DF119B2EEEDB1",
        )
        .unwrap();
        assert_eq!(cn.eks.unwrap().partition, Partition::AwsCn);
        let gov = Issuer::parse("https://oidc.eks.us-gov-west-1.amazonaws.com/id/AB").unwrap();
        assert_eq!(gov.eks.unwrap().partition, Partition::AwsUsGov);
    }

    #[test]
    fn non_eks_and_bad_issuers() {
        let i = Issuer::parse("https://token.actions.githubusercontent.com").unwrap();
        assert!(i.eks.is_none());
        assert!(matches!(
            Issuer::parse("http://oidc.eks.us-east-1.amazonaws.com/id/A"),
            Err(IssuerError::NotHttps(_))
        ));
        assert!(matches!(
            Issuer::parse("https://"),
            Err(IssuerError::NoHost(_))
        ));
        let p = Issuer::from_provider_url("oidc.eks.us-east-1.amazonaws.com/id/A").unwrap();
        assert_eq!(p.url, "https://oidc.eks.us-east-1.amazonaws.com/id/A");
    }

    #[test]
    fn differences() {
        let exp = "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF";
        assert!(issuer_differences(exp, exp).is_empty());
        assert_eq!(
            issuer_differences("https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF", exp),
            vec![IssuerDifference::Scheme]
        );
        assert_eq!(
            issuer_differences("oidc.eks.us-east-1.amazonaws.com/id/ABCDEF/", exp),
            vec![IssuerDifference::TrailingSlash]
        );
        assert_eq!(
            issuer_differences("oidc.eks.us-east-1.amazonaws.com/id/abcdef", exp),
            vec![IssuerDifference::CaseOnly]
        );
        assert_eq!(
            issuer_differences("oidc.eks.us-west-2.amazonaws.com/id/ABCDEF", exp),
            vec![IssuerDifference::Region {
                found: "us-west-2".into(),
                expected: "us-east-1".into()
            }]
        );
        assert_eq!(
            issuer_differences("oidc.eks.us-east-1.amazonaws.com/id/999999", exp),
            vec![IssuerDifference::ClusterId {
                found: "999999".into(),
                expected: "ABCDEF".into()
            }]
        );
        assert!(matches!(
            issuer_differences("example.com", exp)[0],
            IssuerDifference::Other { .. }
        ));
    }
}
