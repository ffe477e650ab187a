//! Trust policy size against the IAM quota: 2,048 characters by default,
//! adjustable up to 4,096 (IAM quotas page). IAM does not count white space;
//! whether that also holds for trust policies is not verified [UNV], so the
//! compact length (white space outside strings removed) is what we compare, and
//! the pretty length is reported beside it.

use serde::Serialize;
use serde_json::Value;

/// Default quota for a role trust policy.
pub const DEFAULT_QUOTA: usize = 2048;
/// Highest quota IAM grants on request.
pub const MAX_QUOTA: usize = 4096;

/// Sizes of a trust policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PolicySize {
    /// Characters without white space outside strings (what IAM counts).
    pub compact: usize,
}

impl PolicySize {
    /// Measures a parsed policy value.
    pub fn of(raw: &Value) -> PolicySize {
        PolicySize::of_text(&serde_json::to_string(raw).unwrap_or_default())
    }

    /// Measures a policy's compact text ([`crate::PolicyDocument::raw`]).
    pub fn of_text(compact: &str) -> PolicySize {
        PolicySize {
            compact: compact.chars().count(),
        }
    }

    /// Characters left under `quota` (negative when over).
    pub fn headroom(&self, quota: usize) -> i64 {
        quota as i64 - self.compact as i64
    }

    /// Approximate size of one more IRSA statement for a cluster (what adding
    /// another cluster to a shared role costs): measured from a typical statement.
    pub fn typical_statement_cost(issuer_host_path: &str) -> usize {
        // {"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::<12>:oidc-provider/<issuer>"},
        //  "Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"<issuer>:sub":"system:serviceaccount:<ns>:<sa>","<issuer>:aud":"sts.amazonaws.com"}}}
        160 + 3 * issuer_host_path.len() + 40
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_space_is_not_counted() {
        let pretty: Value =
            serde_json::from_str("{\n  \"Version\" :  \"2012-10-17\",\n  \"Statement\": [ ]\n}")
                .unwrap();
        assert_eq!(
            PolicySize::of(&pretty).compact,
            r#"{"Statement":[],"Version":"2012-10-17"}"#.len()
        );
        let with_space_in_string: Value = serde_json::from_str(r#"{"a": "x y"}"#).unwrap();
        assert_eq!(
            PolicySize::of(&with_space_in_string).compact,
            r#"{"a":"x y"}"#.len()
        );
        assert_eq!(PolicySize { compact: 2000 }.headroom(DEFAULT_QUOTA), 48);
    }
}
