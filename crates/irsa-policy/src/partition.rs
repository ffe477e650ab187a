//! AWS partitions and how regions map to them.
//!
//! Account ids, IAM entities and OIDC providers live in one partition; the
//! partition of a role ARN must match the partition of the cluster's region.

use serde::Serialize;
use std::fmt;

/// An AWS partition (the second field of every ARN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Partition {
    /// Commercial regions.
    Aws,
    /// China (Beijing, Ningxia).
    AwsCn,
    /// AWS GovCloud (US).
    AwsUsGov,
    /// US ISO East/West.
    AwsIso,
    /// US ISOB.
    AwsIsoB,
    /// EU ISOE.
    AwsIsoE,
    /// US ISOF.
    AwsIsoF,
    /// European Sovereign Cloud.
    AwsEusc,
}

impl Partition {
    /// Every partition, in a stable order.
    pub const ALL: [Partition; 8] = [
        Partition::Aws,
        Partition::AwsCn,
        Partition::AwsUsGov,
        Partition::AwsIso,
        Partition::AwsIsoB,
        Partition::AwsIsoE,
        Partition::AwsIsoF,
        Partition::AwsEusc,
    ];

    /// The partition's name as it appears in ARNs.
    pub fn name(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsIso => "aws-iso",
            Partition::AwsIsoB => "aws-iso-b",
            Partition::AwsIsoE => "aws-iso-e",
            Partition::AwsIsoF => "aws-iso-f",
            Partition::AwsEusc => "aws-eusc",
        }
    }

    /// Parses an ARN partition field (case-sensitive, as IAM is).
    pub fn from_name(name: &str) -> Option<Partition> {
        Partition::ALL.into_iter().find(|p| p.name() == name)
    }

    /// DNS suffix of the partition's endpoints.
    pub fn dns_suffix(self) -> &'static str {
        match self {
            Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
            Partition::AwsCn => "amazonaws.com.cn",
            Partition::AwsIso => "c2s.ic.gov",
            Partition::AwsIsoB => "sc2s.sgov.gov",
            Partition::AwsIsoE => "cloud.adc-e.uk",
            Partition::AwsIsoF => "csp.hci.ic.gov",
            Partition::AwsEusc => "amazonaws.eu",
        }
    }

    /// The partition a region belongs to. Regions that match no other
    /// partition's pattern are commercial (`aws`), as the SDKs and moto assume:
    /// new commercial regions appear every year and must not be rejected.
    pub fn for_region(region: &str) -> Partition {
        let r = region.to_ascii_lowercase();
        if r.starts_with("cn-") {
            Partition::AwsCn
        } else if r.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else if r.starts_with("us-isob-") {
            Partition::AwsIsoB
        } else if r.starts_with("us-isof-") {
            Partition::AwsIsoF
        } else if r.starts_with("us-iso-") {
            Partition::AwsIso
        } else if r.starts_with("eu-isoe-") {
            Partition::AwsIsoE
        } else if r.starts_with("eusc-") {
            Partition::AwsEusc
        } else {
            Partition::Aws
        }
    }

    /// The regional STS endpoint host for `region` in this partition.
    pub fn sts_regional_host(self, region: &str) -> String {
        format!("sts.{region}.{}", self.dns_suffix())
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// True when `s` has the shape of an AWS region name (`us-east-2`, `cn-north-1`,
/// `us-gov-west-1`, `eusc-de-east-1`): lower-case words joined by `-`, ending in a number.
pub fn looks_like_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() < 3 {
        return false;
    }
    let (last, words) = parts.split_last().expect("len >= 3");
    !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_map_to_partitions() {
        let cases = [
            ("us-east-2", Partition::Aws),
            ("il-central-1", Partition::Aws),
            ("mx-central-1", Partition::Aws),
            ("cn-north-1", Partition::AwsCn),
            ("cn-northwest-1", Partition::AwsCn),
            ("us-gov-west-1", Partition::AwsUsGov),
            ("us-iso-east-1", Partition::AwsIso),
            ("us-isob-east-1", Partition::AwsIsoB),
            ("eu-isoe-west-1", Partition::AwsIsoE),
            ("us-isof-south-1", Partition::AwsIsoF),
            ("eusc-de-east-1", Partition::AwsEusc),
        ];
        for (region, want) in cases {
            assert_eq!(Partition::for_region(region), want, "{region}");
        }
    }

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for p in Partition::ALL {
            assert_eq!(Partition::from_name(p.name()), Some(p));
        }
        assert_eq!(Partition::from_name("AWS"), None);
        assert_eq!(Partition::from_name("aws-china"), None);
    }

    #[test]
    fn region_shape() {
        assert!(looks_like_region("us-east-1"));
        assert!(looks_like_region("us-gov-west-1"));
        assert!(!looks_like_region("us-east"));
        assert!(!looks_like_region("US-EAST-1"));
        assert!(!looks_like_region("region"));
    }

    #[test]
    fn sts_hosts() {
        assert_eq!(
            Partition::AwsCn.sts_regional_host("cn-north-1"),
            "sts.cn-north-1.amazonaws.com.cn"
        );
    }
}
