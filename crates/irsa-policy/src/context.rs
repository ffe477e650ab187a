//! The request context of an `sts:AssumeRoleWithWebIdentity` call, as IAM sees it
//! when it evaluates the role's trust policy.
//!
//! Four kinds of key, and the difference matters for correctness:
//! - **present** with a known value: `<issuer>:sub`, `<issuer>:aud`, `aws:SecureTransport`,
//!   `aws:ViaAWSService`, `aws:ResourceAccount`;
//! - **present, value unknowable offline**: `aws:CurrentTime`, `aws:UserAgent`,
//!   `sts:RoleSessionName` (chosen by the SDK), … A comparison on them is
//!   *undetermined*, never assumed to pass; `Null` on them is decided (present);
//! - **presence unknown**: `aws:SourceIp` (absent through a VPC endpoint), keys whose
//!   availability for this call the documentation does not settle: any condition on
//!   them, `Null` included, is undetermined;
//! - **absent**: every other key: another issuer's `:sub` (a key naming another
//!   cluster never exists in this request, facts §4 [INF]), and the global keys the
//!   documentation says an unsigned, anonymous call such as `AssumeRoleWithWebIdentity`
//!   does not carry (`aws:PrincipalArn`, `aws:PrincipalTag/*`, …; see [`GLOBAL_KEYS`]).
//!
//! Which global key is in this request is data, one row per key with its source: see
//! [`GLOBAL_KEYS`].

use crate::arn::OidcProviderArn;
use serde::Serialize;
use std::fmt;

/// A key's presence and value in the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Lookup<'a> {
    /// Present with these values (one for single-valued keys).
    Present(&'a [String]),
    /// Present, but its value cannot be known offline (why).
    Unknown(&'static str),
    /// Whether the key is present at all is not known offline (why); its value neither.
    Uncertain(&'static str),
    /// Not in the request context.
    Missing,
}

/// Looks condition keys up in a request context. The condition evaluator
/// ([`crate::condition`]) works on any implementation, so other request kinds
/// (identity policies, other STS calls) reuse it.
pub trait KeyLookup {
    /// Looks a key up; `key_lower` is already lower-case (keys are case-insensitive).
    fn lookup(&self, key_lower: &str) -> Lookup<'_>;
}

/// The request being evaluated. Build it with [`WebIdentityRequest::new`], which
/// validates it; a value built field by field with an invalid `issuer_host_path` makes
/// every OIDC key *undetermined* (never silently missing).
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

/// Why a [`WebIdentityRequest`] cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RequestError {
    /// The issuer carries a URL scheme; condition keys never do (they are
    /// `<host/path>:<claim>`, IAM user guide, "Available keys for AWS web identity
    /// federation"), so every OIDC key would silently be missing.
    #[error("issuer `{issuer}` must be given without its scheme (`{}`), as the prefix of the OIDC condition keys", strip_scheme(.issuer))]
    IssuerHasScheme {
        /// The value given.
        issuer: String,
    },
    /// The issuer is empty, starts with `/` or contains white space.
    #[error("issuer `{issuer}` is not a host/path (expected e.g. `oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE`)")]
    IssuerMalformed {
        /// The value given.
        issuer: String,
    },
    /// The provider ARN is not an IAM OIDC provider ARN.
    #[error("`{arn}` is not an IAM OIDC provider ARN (arn:<partition>:iam::<account>:oidc-provider/<issuer host/path>)")]
    ProviderArnMalformed {
        /// The value given.
        arn: String,
    },
    /// The provider ARN names another issuer than `issuer_host_path`.
    #[error("provider `{arn}` is for issuer `{provider_url}`, not `{issuer}`")]
    ProviderIssuerMismatch {
        /// The provider ARN.
        arn: String,
        /// The URL in the provider ARN.
        provider_url: String,
        /// The issuer given.
        issuer: String,
    },
}

fn strip_scheme(s: &str) -> &str {
    s.strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s)
}

/// Why an issuer host/path cannot prefix condition keys, if it cannot.
fn issuer_problem(issuer: &str) -> Option<RequestError> {
    if issuer.contains("://") {
        return Some(RequestError::IssuerHasScheme {
            issuer: issuer.to_string(),
        });
    }
    if issuer.is_empty() || issuer.starts_with('/') || issuer.contains(char::is_whitespace) {
        return Some(RequestError::IssuerMalformed {
            issuer: issuer.to_string(),
        });
    }
    None
}

impl WebIdentityRequest {
    /// Builds a validated request: `issuer_host_path` is the issuer without scheme
    /// (`oidc.eks.<region>.amazonaws.com/id/<ID>`), `provider_arn` the OIDC provider
    /// for exactly that issuer.
    pub fn new(
        provider_arn: impl Into<String>,
        issuer_host_path: impl Into<String>,
        sub: impl Into<String>,
        aud: Vec<String>,
        region: Option<String>,
    ) -> Result<WebIdentityRequest, RequestError> {
        let request = WebIdentityRequest {
            provider_arn: provider_arn.into(),
            issuer_host_path: issuer_host_path.into(),
            sub: sub.into(),
            aud,
            region,
        };
        request.validate()?;
        Ok(request)
    }

    /// Checks the invariants [`WebIdentityRequest::new`] enforces.
    pub fn validate(&self) -> Result<(), RequestError> {
        if let Some(e) = issuer_problem(&self.issuer_host_path) {
            return Err(e);
        }
        let provider = OidcProviderArn::parse(&self.provider_arn).ok_or_else(|| {
            RequestError::ProviderArnMalformed {
                arn: self.provider_arn.clone(),
            }
        })?;
        if provider.url != self.issuer_host_path {
            return Err(RequestError::ProviderIssuerMismatch {
                arn: self.provider_arn.clone(),
                provider_url: provider.url,
                issuer: self.issuer_host_path.clone(),
            });
        }
        Ok(())
    }

    /// Builds the context IAM evaluates.
    pub fn context(&self) -> RequestContext {
        let prefix = self.issuer_host_path.to_lowercase();
        let invalid_issuer = issuer_problem(&self.issuer_host_path).map(|_| {
            "the issuer given for this request is not a host/path without scheme, so which OIDC keys it carries is not known"
        });
        let mut entries = vec![
            (
                format!("{prefix}:sub"),
                Entry::Known(vec![self.sub.clone()]),
            ),
            (format!("{prefix}:aud"), Entry::Known(self.aud.clone())),
        ];
        match &self.region {
            Some(r) => entries.push(("aws:requestedregion".into(), Entry::Known(vec![r.clone()]))),
            None => entries.push((
                "aws:requestedregion".into(),
                Entry::Unknown("the STS region the SDK calls is not known"),
            )),
        }
        // STS looks the provider up in the role's account (facts §3.5 step 3), so when
        // the trust policy is evaluated the role's account is the provider's.
        if let Some(p) = OidcProviderArn::parse(&self.provider_arn) {
            entries.push(("aws:resourceaccount".into(), Entry::Known(vec![p.account])));
        }
        for g in GLOBAL_KEYS {
            if let Presence::Value(v) = g.presence {
                entries.push((g.key.to_string(), Entry::Known(vec![v.to_string()])));
            }
        }
        RequestContext {
            entries,
            invalid_issuer,
        }
    }
}

/// Evaluation-ready context (keys lower-cased once).
#[derive(Debug, Clone)]
pub struct RequestContext {
    entries: Vec<(String, Entry)>,
    invalid_issuer: Option<&'static str>,
}

#[derive(Debug, Clone)]
enum Entry {
    Known(Vec<String>),
    Unknown(&'static str),
}

/// Whether a global key is in the context of `AssumeRoleWithWebIdentity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Presence {
    /// Present with this value.
    Value(&'static str),
    /// Present; the value is not known offline (why).
    Unknown(&'static str),
    /// Presence not known offline (why).
    Uncertain(&'static str),
    /// Not in the request.
    Absent,
}

/// One row of [`GLOBAL_KEYS`].
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GlobalKey {
    /// The key, lower-case; a trailing `/` matches every key with that prefix
    /// (`aws:principaltag/` covers `aws:PrincipalTag/team`).
    pub key: &'static str,
    /// Its presence in `AssumeRoleWithWebIdentity`.
    pub presence: Presence,
    /// The documentation it comes from, and the reading.
    pub source: &'static str,
}

const GK: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html";
const STSK: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-sts";

/// `AssumeRoleWithWebIdentity` is an unsigned call: its caller is anonymous to IAM
/// (it presents a web-identity token, not AWS credentials). Each row gives the key's
/// presence for that call from the key's **Availability** in the IAM user guide,
/// "AWS global condition context keys" (read at awsdocs/iam-user-guide e2b8637a,
/// doc_source/reference_policies_condition-keys.md, and the live page).
///
/// Where the documentation does not settle the question the row is `Uncertain` or
/// `Unknown` (a condition on it is undetermined, never a pass), with the reason:
/// - `aws:PrincipalAccount`, `aws:userid`, `aws:PrincipalType`: the 2023 page says
///   "included … for all requests, including anonymous requests", while the current
///   page describes principal keys as "included … for all signed requests"; the two
///   versions disagree, so presence is uncertain.
/// - Global `aws:` keys not listed here: not modelled, so uncertain.
pub const GLOBAL_KEYS: &[GlobalKey] = &[
    // Principal keys: "Anonymous requests do not include this key".
    GlobalKey { key: "aws:principalarn", presence: Presence::Absent, source: "aws:PrincipalArn: \"included in the request context for all signed requests. Anonymous requests do not include this key.\"" },
    GlobalKey { key: "aws:principalisawsservice", presence: Presence::Absent, source: "aws:PrincipalIsAWSService: \"present … for all signed API requests that use AWS credentials. Anonymous requests do not include this key.\"" },
    GlobalKey { key: "aws:principalorgid", presence: Presence::Absent, source: "aws:PrincipalOrgID: \"only if the principal is a member of an organization. Anonymous requests do not include this key.\"" },
    GlobalKey { key: "aws:principalorgpaths", presence: Presence::Absent, source: "aws:PrincipalOrgPaths: \"only if the principal is a member of an organization. Anonymous requests do not include this key.\"" },
    GlobalKey { key: "aws:principaltag/", presence: Presence::Absent, source: "aws:PrincipalTag/*: \"if the principal is using an IAM user … or role with attached tags … Anonymous requests do not include this key.\"" },
    GlobalKey { key: "aws:principalservicename", presence: Presence::Absent, source: "aws:PrincipalServiceName: \"present … when the call is made by an AWS service principal … not present … if the call is made by an anonymous requester\"" },
    GlobalKey { key: "aws:principalservicenameslist", presence: Presence::Absent, source: "aws:PrincipalServiceNamesList: as aws:PrincipalServiceName" },
    GlobalKey { key: "aws:username", presence: Presence::Absent, source: "aws:username: \"always included … for IAM users. Anonymous requests and requests … using … IAM roles do not include this key.\"" },
    GlobalKey { key: "aws:principalaccount", presence: Presence::Uncertain("the IAM documentation versions disagree on whether anonymous requests such as AssumeRoleWithWebIdentity carry aws:PrincipalAccount"), source: "aws:PrincipalAccount: 2023 \"all requests, including anonymous requests\"; current: signed requests" },
    GlobalKey { key: "aws:userid", presence: Presence::Uncertain("the IAM documentation versions disagree on whether anonymous requests such as AssumeRoleWithWebIdentity carry aws:userid"), source: "aws:userid: 2023 \"all requests, including anonymous requests\"; current: signed requests" },
    GlobalKey { key: "aws:principaltype", presence: Presence::Uncertain("the IAM documentation does not say whether AssumeRoleWithWebIdentity carries aws:PrincipalType, nor its value"), source: "aws:PrincipalType: 2023 \"all requests, including anonymous requests\"; the value for a web-identity caller is not documented" },
    // Credentials of the caller: an unsigned call uses none.
    GlobalKey { key: "aws:multifactorauthpresent", presence: Presence::Absent, source: "aws:MultiFactorAuthPresent: \"only when the principal uses temporary credentials to make the request\"; AssumeRoleWithWebIdentity is not signed with credentials" },
    GlobalKey { key: "aws:multifactorauthage", presence: Presence::Absent, source: "aws:MultiFactorAuthAge: \"only if the principal making the call was authenticated using MFA\"" },
    GlobalKey { key: "aws:tokenissuetime", presence: Presence::Absent, source: "aws:TokenIssueTime: \"only when the principal uses temporary credentials to make the request\"" },
    GlobalKey { key: "aws:federatedprovider", presence: Presence::Absent, source: "aws:FederatedProvider: \"present when the principal is a role session principal\" issued by an IdP; the caller of AssumeRoleWithWebIdentity is not a role session yet" },
    GlobalKey { key: "aws:sourceidentity", presence: Presence::Absent, source: "aws:SourceIdentity: present \"after a source identity has been set when a role is assumed\"; the caller has assumed no role" },
    GlobalKey { key: "aws:ec2instancesourcevpc", presence: Presence::Absent, source: "aws:Ec2InstanceSourceVpc: \"whenever the requester is signing requests with an Amazon EC2 role credential\"" },
    GlobalKey { key: "aws:ec2instancesourceprivateipv4", presence: Presence::Absent, source: "aws:Ec2InstanceSourcePrivateIPv4: \"whenever the requester is signing requests with an Amazon EC2 role credential\"" },
    // Service-to-service calls: the pod calls STS directly.
    GlobalKey { key: "aws:calledvia", presence: Presence::Absent, source: "aws:CalledVia: \"not present when the principal makes the call directly\"" },
    GlobalKey { key: "aws:calledviafirst", presence: Presence::Absent, source: "aws:CalledViaFirst: \"not present when the principal makes the call directly\"" },
    GlobalKey { key: "aws:calledvialast", presence: Presence::Absent, source: "aws:CalledViaLast: \"not present when the principal makes the call directly\"" },
    GlobalKey { key: "aws:viaawsservice", presence: Presence::Value("false"), source: "aws:ViaAWSService: \"always included\"; \"returns false when the principal makes the call directly\"" },
    GlobalKey { key: "aws:sourceaccount", presence: Presence::Absent, source: "aws:SourceAccount: \"only if accessing a resource triggers an AWS service to call another service on behalf of the resource owner\"" },
    GlobalKey { key: "aws:sourcearn", presence: Presence::Absent, source: "aws:SourceArn: as aws:SourceAccount" },
    GlobalKey { key: "aws:sourceorgid", presence: Presence::Absent, source: "aws:SourceOrgID: as aws:SourceAccount" },
    GlobalKey { key: "aws:sourceorgpaths", presence: Presence::Absent, source: "aws:SourceOrgPaths: as aws:SourceAccount" },
    GlobalKey { key: "aws:referer", presence: Presence::Absent, source: "aws:referer: \"not included for programmatic requests\"; SDKs call STS programmatically" },
    // Session tags come from the token's `https://aws.amazon.com/tags` claim
    // (IAM user guide, id_session-tags: "Passing session tags using
    // AssumeRoleWithWebIdentity"); the projected EKS token carries no such claim.
    GlobalKey { key: "aws:requesttag/", presence: Presence::Absent, source: "aws:RequestTag/*: \"when tag key-value pairs are passed in the request\"; EKS tokens pass none" },
    GlobalKey { key: "aws:tagkeys", presence: Presence::Uncertain("the IAM documentation includes aws:TagKeys \"if the operation supports passing tags\", which AssumeRoleWithWebIdentity does, without saying what it holds when no tag is passed"), source: "aws:TagKeys: \"included in the request context if the operation supports passing tags in the request\"" },
    // Network.
    GlobalKey { key: "aws:sourceip", presence: Presence::Uncertain("aws:SourceIp is absent when the pod reaches STS through a VPC endpoint, and its value is not known offline"), source: "aws:SourceIp: \"included … except when the requester uses a VPC endpoint\"" },
    GlobalKey { key: "aws:sourcevpc", presence: Presence::Uncertain("aws:SourceVpc is present only when the pod reaches STS through a VPC endpoint, which is not known offline"), source: "aws:SourceVpc: \"only if the requester uses a VPC endpoint\"" },
    GlobalKey { key: "aws:sourcevpce", presence: Presence::Uncertain("aws:SourceVpce is present only when the pod reaches STS through a VPC endpoint, which is not known offline"), source: "aws:SourceVpce: \"only if the requester uses a VPC endpoint\"" },
    GlobalKey { key: "aws:vpcsourceip", presence: Presence::Uncertain("aws:VpcSourceIp is present only when the pod reaches STS through a VPC endpoint, which is not known offline"), source: "aws:VpcSourceIp: \"only if the request is made using a VPC endpoint\"" },
    GlobalKey { key: "aws:securetransport", presence: Presence::Value("true"), source: "aws:SecureTransport: \"always included\"; STS serves AssumeRoleWithWebIdentity over HTTPS only" },
    // Always present, value not known offline.
    GlobalKey { key: "aws:currenttime", presence: Presence::Unknown("the time of the call is not known offline"), source: "aws:CurrentTime: \"always included\"" },
    GlobalKey { key: "aws:epochtime", presence: Presence::Unknown("the time of the call is not known offline"), source: "aws:EpochTime: \"always included\"" },
    GlobalKey { key: "aws:useragent", presence: Presence::Unknown("the SDK's user agent is not known offline"), source: "aws:UserAgent: \"always included\"" },
    // The resource is the role (aws:ResourceAccount is set from the request, above).
    GlobalKey { key: "aws:resourcetag/", presence: Presence::Uncertain("the role's tags are not part of the evaluated request model"), source: "aws:ResourceTag/*: \"when the requested resource already has attached tags\"" },
    GlobalKey { key: "aws:resourceorgid", presence: Presence::Uncertain("whether the role's account belongs to an organization is not known offline"), source: "aws:ResourceOrgID: \"only if the account that owns the resource is a member of an organization\"" },
    GlobalKey { key: "aws:resourceorgpaths", presence: Presence::Uncertain("whether the role's account belongs to an organization is not known offline"), source: "aws:ResourceOrgPaths: as aws:ResourceOrgID" },
    // STS keys (IAM user guide, "Available keys for AWS STS").
    GlobalKey { key: "sts:rolesessionname", presence: Presence::Unknown("the role session name is chosen by the SDK at run time"), source: "sts:RoleSessionName: present when the role is assumed; AssumeRoleWithWebIdentity requires RoleSessionName" },
    GlobalKey { key: "sts:externalid", presence: Presence::Absent, source: "sts:ExternalId: \"present … when the principal provides an external ID\"; AssumeRoleWithWebIdentity has no ExternalId parameter" },
    GlobalKey { key: "sts:sourceidentity", presence: Presence::Absent, source: "sts:SourceIdentity: \"present … when the principal provides a source identity\"; EKS tokens carry no source-identity claim" },
    GlobalKey { key: "sts:transitivetagkeys", presence: Presence::Absent, source: "sts:TransitiveTagKeys: \"present … when you make a request using temporary security credentials\"" },
    GlobalKey { key: "sts:awsservicename", presence: Presence::Absent, source: "sts:AWSServiceName: \"present in requests that get a bearer token\"" },
    GlobalKey { key: "sts:durationseconds", presence: Presence::Absent, source: "sts:DurationSeconds: \"not present for AWS STS assume-role operations\"" },
];

impl GlobalKey {
    fn matches(&self, key_lower: &str) -> bool {
        if self.key.ends_with('/') {
            key_lower.starts_with(self.key)
        } else {
            key_lower == self.key
        }
    }
}

/// The documentation pages the rows of [`GLOBAL_KEYS`] cite.
pub const GLOBAL_KEYS_SOURCES: [&str; 2] = [GK, STSK];

impl KeyLookup for RequestContext {
    fn lookup(&self, key_lower: &str) -> Lookup<'_> {
        RequestContext::lookup(self, key_lower)
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
        let global = key_lower.starts_with("aws:") || key_lower.starts_with("sts:");
        if !global {
            // An OIDC key of this issuer, of another one, or a misspelling.
            return match self.invalid_issuer {
                Some(why) => Lookup::Uncertain(why),
                None => Lookup::Missing,
            };
        }
        match GLOBAL_KEYS.iter().find(|g| g.matches(key_lower)) {
            Some(g) => match g.presence {
                // Rows with a value are entries of the context (see `context`).
                Presence::Value(_) => Lookup::Uncertain("not modelled"),
                Presence::Unknown(why) => Lookup::Unknown(why),
                Presence::Uncertain(why) => Lookup::Uncertain(why),
                Presence::Absent => Lookup::Missing,
            },
            None => Lookup::Uncertain(
                "whether AssumeRoleWithWebIdentity carries this global condition key is not modelled",
            ),
        }
    }
}

impl fmt::Display for Presence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Presence::Value(v) => write!(f, "present: {v}"),
            Presence::Unknown(_) => f.write_str("present, value not known offline"),
            Presence::Uncertain(_) => f.write_str("presence not known offline"),
            Presence::Absent => f.write_str("absent"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "oidc.eks.us-east-1.amazonaws.com/id/ABC";
    const PROV: &str =
        "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";

    fn req() -> WebIdentityRequest {
        WebIdentityRequest::new(
            PROV,
            ISS,
            "system:serviceaccount:ns:sa",
            vec!["sts.amazonaws.com".into()],
            None,
        )
        .unwrap()
    }

    #[test]
    fn lookups() {
        let c = req().context();
        assert_eq!(
            c.lookup("oidc.eks.us-east-1.amazonaws.com/id/abc:sub"),
            Lookup::Present(&["system:serviceaccount:ns:sa".to_string()])
        );
        assert!(matches!(c.lookup("aws:sourceip"), Lookup::Uncertain(_)));
        assert!(matches!(c.lookup("aws:currenttime"), Lookup::Unknown(_)));
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
        assert_eq!(c.lookup("aws:principalarn"), Lookup::Missing);
        assert_eq!(c.lookup("aws:principaltag/team"), Lookup::Missing);
        assert_eq!(
            c.lookup("aws:securetransport"),
            Lookup::Present(&["true".to_string()])
        );
        assert_eq!(
            c.lookup("aws:viaawsservice"),
            Lookup::Present(&["false".to_string()])
        );
        assert_eq!(
            c.lookup("aws:resourceaccount"),
            Lookup::Present(&["111122223333".to_string()])
        );
        assert!(matches!(
            c.lookup("aws:principalaccount"),
            Lookup::Uncertain(_)
        ));
        assert!(matches!(
            c.lookup("aws:somefuturekey"),
            Lookup::Uncertain(_)
        ));
        assert!(matches!(
            c.lookup("sts:somefuturekey"),
            Lookup::Uncertain(_)
        ));
    }

    #[test]
    fn every_global_row_is_lower_case_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for g in GLOBAL_KEYS {
            assert_eq!(g.key, g.key.to_lowercase(), "{}", g.key);
            assert!(seen.insert(g.key), "duplicate row {}", g.key);
            assert!(!g.source.is_empty());
            assert!(
                !(g.key.ends_with('/') && matches!(g.presence, Presence::Value(_))),
                "a prefix row cannot carry a value: {}",
                g.key
            );
        }
    }

    #[test]
    fn construction_is_validated() {
        let e =
            WebIdentityRequest::new(PROV, format!("https://{ISS}"), "s", vec!["a".into()], None)
                .unwrap_err();
        assert!(matches!(e, RequestError::IssuerHasScheme { .. }));
        assert!(e.to_string().contains(&format!("`{ISS}`")), "{e}");
        assert!(matches!(
            WebIdentityRequest::new(PROV, "", "s", vec![], None),
            Err(RequestError::IssuerMalformed { .. })
        ));
        assert!(matches!(
            WebIdentityRequest::new("arn:aws:iam::1:role/x", ISS, "s", vec![], None),
            Err(RequestError::ProviderArnMalformed { .. })
        ));
        assert!(matches!(
            WebIdentityRequest::new(
                PROV,
                "oidc.eks.us-east-1.amazonaws.com/id/XYZ",
                "s",
                vec![],
                None
            ),
            Err(RequestError::ProviderIssuerMismatch { .. })
        ));
    }

    #[test]
    fn an_invalid_issuer_built_by_hand_makes_oidc_keys_uncertain_not_missing() {
        let r = WebIdentityRequest {
            issuer_host_path: format!("https://{ISS}"),
            ..req()
        };
        assert!(r.validate().is_err());
        let c = r.context();
        assert!(matches!(
            c.lookup("oidc.eks.us-east-1.amazonaws.com/id/abc:sub"),
            Lookup::Uncertain(_)
        ));
        // Global keys are unaffected.
        assert_eq!(c.lookup("aws:principalarn"), Lookup::Missing);
    }
}
