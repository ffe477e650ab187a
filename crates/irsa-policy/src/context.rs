//! The request context of an `sts:AssumeRoleWithWebIdentity` call, as IAM sees it
//! when it evaluates the role's trust policy.
//!
//! Three kinds of key, and the difference matters for correctness:
//! - **present** with a known value: `<issuer>:sub`, `<issuer>:aud`, `aws:SecureTransport`;
//! - **present but unknowable offline**: `aws:SourceIp`, `aws:CurrentTime`,
//!   `sts:RoleSessionName` (chosen by the SDK), … A condition on them is *undetermined*,
//!   never assumed to pass;
//! - **absent**: every other key, including another issuer's `:sub` (a key naming
//!   another cluster never exists in this request, so a positive operator on it is
//!   false; facts §4 [INF]).
//!
//! Global `aws:` keys we do not model are treated as present-but-unknown rather than
//! absent: claiming a condition false (or true) on a key we cannot see would risk a
//! wrong verdict either way.

use serde::Serialize;

/// A key's presence and value in the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Lookup<'a> {
    /// Present with these values (one for single-valued keys).
    Present(&'a [String]),
    /// Present, but its value cannot be known offline (why).
    Unknown(&'static str),
    /// Not in the request context.
    Missing,
}

/// Where condition keys are looked up: the trust-policy request here, or an
/// identity-policy request (`identity.rs`). Condition evaluation is written once,
/// against this trait.
pub trait KeyLookup {
    /// Looks a condition key up (`key_lower` must already be lower-case).
    fn lookup(&self, key_lower: &str) -> Lookup<'_>;
}

impl KeyLookup for RequestContext {
    fn lookup(&self, key_lower: &str) -> Lookup<'_> {
        RequestContext::lookup(self, key_lower)
    }
}

/// The request being evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebIdentityRequest {
    /// ARN of the IAM OIDC provider the token's issuer maps to (the `Federated` principal).
    pub provider_arn: String,
    /// Issuer without `https://`: the prefix of the OIDC condition keys.
    pub issuer_host_path: String,
    /// The token's `sub` claim: `system:serviceaccount:<namespace>:<name>` on EKS.
    pub sub: String,
    /// The token's `aud` claim (EKS projects exactly one audience).
    pub aud: Vec<String>,
    /// Region of the STS endpoint, if known (`aws:RequestedRegion`).
    pub region: Option<String>,
}

/// Evaluation-ready context (keys lower-cased once).
#[derive(Debug, Clone)]
pub struct RequestContext {
    entries: Vec<(String, Entry)>,
}

#[derive(Debug, Clone)]
enum Entry {
    Known(Vec<String>),
    Unknown(&'static str),
}

/// `sts:` keys that exist for AssumeRoleWithWebIdentity but are chosen by the caller.
const STS_UNKNOWN: [&str; 1] = ["sts:rolesessionname"];

impl WebIdentityRequest {
    /// Builds the context IAM evaluates.
    pub fn context(&self) -> RequestContext {
        let prefix = self.issuer_host_path.to_lowercase();
        let mut entries = vec![
            (
                format!("{prefix}:sub"),
                Entry::Known(vec![self.sub.clone()]),
            ),
            (format!("{prefix}:aud"), Entry::Known(self.aud.clone())),
            // AssumeRoleWithWebIdentity is only served over HTTPS.
            (
                "aws:securetransport".to_string(),
                Entry::Known(vec!["true".into()]),
            ),
        ];
        match &self.region {
            Some(r) => entries.push(("aws:requestedregion".into(), Entry::Known(vec![r.clone()]))),
            None => entries.push((
                "aws:requestedregion".into(),
                Entry::Unknown("the STS region the SDK calls is not known"),
            )),
        }
        RequestContext { entries }
    }
}

impl RequestContext {
    /// Looks a condition key up (`key_lower` must already be lower-case).
    pub fn lookup(&self, key_lower: &str) -> Lookup<'_> {
        for (k, v) in &self.entries {
            if k == key_lower {
                return match v {
                    Entry::Known(vals) => Lookup::Present(vals),
                    Entry::Unknown(why) => Lookup::Unknown(why),
                };
            }
        }
        if key_lower.starts_with("aws:") {
            return Lookup::Unknown("this global condition key's value is not known offline");
        }
        if STS_UNKNOWN.contains(&key_lower) {
            return Lookup::Unknown("the role session name is chosen by the SDK at run time");
        }
        Lookup::Missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> WebIdentityRequest {
        WebIdentityRequest {
            provider_arn:
                "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
                    .into(),
            issuer_host_path: "oidc.eks.us-east-1.amazonaws.com/id/ABC".into(),
            sub: "system:serviceaccount:ns:sa".into(),
            aud: vec!["sts.amazonaws.com".into()],
            region: None,
        }
    }

    #[test]
    fn lookups() {
        let c = req().context();
        assert_eq!(
            c.lookup("oidc.eks.us-east-1.amazonaws.com/id/abc:sub"),
            Lookup::Present(&["system:serviceaccount:ns:sa".to_string()])
        );
        assert!(matches!(c.lookup("aws:sourceip"), Lookup::Unknown(_)));
        assert!(matches!(
            c.lookup("aws:requestedregion"),
            Lookup::Unknown(_)
        ));
        assert!(matches!(
            c.lookup("sts:rolesessionname"),
            Lookup::Unknown(_)
        ));
        assert_eq!(
            c.lookup("oidc.eks.us-east-1.amazonaws.com/id/other:sub"),
            Lookup::Missing
        );
        assert_eq!(c.lookup("sts:externalid"), Lookup::Missing);
    }
}
