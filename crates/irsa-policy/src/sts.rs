//! Predicts what STS answers to `AssumeRoleWithWebIdentity`, in AWS's exact
//! words, following the order of facts §3.5 (the order is inferred [INF]; each
//! outcome and its text is sourced):
//! 1. the role ARN is valid (`ValidationError`);
//! 2. the token carries `sub` and `aud`;
//! 3. an IAM OIDC provider for `iss` exists **in the role's account** (URL match,
//!    case-sensitive);
//! 4. the token audience is in the provider's ClientIDList;
//! 5. (JWKS/TLS and expiry are live facts: `probe` checks them, not this module);
//! 6. the trust policy allows.
//!
//! A step whose facts are unknown stops the prediction as *undetermined*: the
//! prediction never guesses past a gap.

use crate::arn::{diagnose_role_arn, RoleArn, RoleArnError};
use crate::evaluate::Decision;
use serde::Serialize;

/// The claims of the web-identity token that matter to STS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenClaims {
    /// `iss`: the cluster's issuer URL (with `https://`).
    pub iss: String,
    /// `sub`.
    pub sub: Option<String>,
    /// `aud` (EKS: one value).
    pub aud: Vec<String>,
}

/// What we know about one IAM OIDC provider in the role's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderFacts {
    /// Provider URL without `https://`.
    pub url: String,
    /// ClientIDList, if it was read.
    pub client_ids: Option<Vec<String>>,
}

/// A fact that may be missing, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Known<T> {
    /// Known.
    Known(T),
    /// Not known: why (e.g. "the OIDC providers of account 1111… were not listed").
    Unknown(String),
}

/// The STS step an outcome comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StsStep {
    /// Parameter validation.
    RoleArn,
    /// Token claims.
    Claims,
    /// OIDC provider lookup.
    Provider,
    /// Audience check.
    Audience,
    /// Trust policy evaluation.
    TrustPolicy,
    /// The caller's own permission to make the call (EKS Pod Identity: the node role's
    /// `eks-auth:AssumeRoleForPodIdentity`, which the agent calls EKS Auth with).
    CallerPermissions,
}

/// An error response from STS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StsError {
    /// Error code as on the wire (`AccessDenied`, `InvalidIdentityToken`, ...).
    pub code: &'static str,
    /// Message as STS words it.
    pub message: String,
    /// HTTP status.
    pub status: u16,
    /// Which step fails.
    pub step: StsStep,
}

impl StsError {
    /// `Code: Message`, the form users see in most SDK wrappers.
    pub fn text(&self) -> String {
        format!("{}: {}", self.code, self.message)
    }

    /// The trust-policy denial.
    pub fn access_denied() -> StsError {
        StsError {
            code: "AccessDenied",
            message: "Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
            status: 403,
            step: StsStep::TrustPolicy,
        }
    }

    /// No provider for the issuer in the role's account.
    pub fn no_provider(iss: &str) -> StsError {
        StsError {
            code: "InvalidIdentityToken",
            message: format!("No OpenIDConnect provider found in your account for {iss}"),
            status: 400,
            step: StsStep::Provider,
        }
    }

    /// Audience not in ClientIDList.
    pub fn incorrect_audience() -> StsError {
        StsError {
            code: "InvalidIdentityToken",
            message: "Incorrect token audience".into(),
            status: 400,
            step: StsStep::Audience,
        }
    }

    /// Role ARN rejected by parameter validation.
    pub fn invalid_arn(role_arn: &str) -> StsError {
        if role_arn.chars().count() < 20 {
            return StsError {
                code: "ValidationError",
                message: format!(
                    "1 validation error detected: Value '{role_arn}' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
                ),
                status: 400,
                step: StsStep::RoleArn,
            };
        }
        StsError {
            code: "ValidationError",
            message: "Request ARN is invalid".into(),
            status: 400,
            step: StsStep::RoleArn,
        }
    }
}

/// The predicted answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum StsPrediction {
    /// STS returns credentials for this role.
    Success {
        /// The role.
        role: String,
    },
    /// STS returns this error.
    Error(StsError),
    /// Cannot be predicted: the step that lacks facts, and why.
    Undetermined {
        /// Step.
        step: StsStep,
        /// Why.
        why: String,
    },
}

/// Inputs to the prediction.
#[derive(Debug, Clone)]
pub struct StsQuestion<'a> {
    /// The role ARN as the pod would send it (the annotation value).
    pub role_arn: &'a str,
    /// Token claims.
    pub token: &'a TokenClaims,
    /// Providers in the role's account and partition.
    pub providers: Known<&'a [ProviderFacts]>,
    /// The trust decision for this token; `Known(None)` = the role does not exist.
    pub trust: Known<Option<&'a Decision>>,
}

/// Predicts the STS answer.
pub fn predict(q: &StsQuestion<'_>) -> StsPrediction {
    let role: RoleArn = match diagnose_role_arn(q.role_arn) {
        Ok(r) => r,
        Err(RoleArnError { .. }) => return StsPrediction::Error(StsError::invalid_arn(q.role_arn)),
    };
    for (claim, missing) in [
        ("sub", q.token.sub.is_none()),
        ("aud", q.token.aud.is_empty()),
    ] {
        if missing {
            return StsPrediction::Error(StsError {
                code: "InvalidIdentityToken",
                message: format!("Missing a required claim: {claim}"),
                status: 400,
                step: StsStep::Claims,
            });
        }
    }
    let url = q.token.iss.strip_prefix("https://").unwrap_or(&q.token.iss);
    let provider = match &q.providers {
        Known::Unknown(why) => {
            return StsPrediction::Undetermined {
                step: StsStep::Provider,
                why: why.clone(),
            }
        }
        Known::Known(list) => match list.iter().find(|p| p.url == url) {
            Some(p) => p,
            None => return StsPrediction::Error(StsError::no_provider(&q.token.iss)),
        },
    };
    match &provider.client_ids {
        None => {
            return StsPrediction::Undetermined {
                step: StsStep::Audience,
                why: format!("the ClientIDList of provider {url} was not read"),
            }
        }
        Some(ids) if !q.token.aud.iter().any(|a| ids.contains(a)) => {
            return StsPrediction::Error(StsError::incorrect_audience())
        }
        Some(_) => {}
    }
    match &q.trust {
        Known::Unknown(why) => StsPrediction::Undetermined {
            step: StsStep::TrustPolicy,
            why: why.clone(),
        },
        // STS does not reveal whether a role exists: a missing role is assumed to
        // answer like a denying trust policy [UNV, facts §3.2].
        Known::Known(None) => StsPrediction::Error(StsError::access_denied()),
        Known::Known(Some(Decision::Allow { .. })) => StsPrediction::Success {
            role: role.to_string(),
        },
        Known::Known(Some(Decision::ImplicitDeny | Decision::ExplicitDeny { .. })) => {
            StsPrediction::Error(StsError::access_denied())
        }
        // Denied, explicitly or implicitly (which is not known offline). The answer is
        // the same either way: "No Allow, or an explicit Deny → AccessDenied: Not
        // authorized to perform sts:AssumeRoleWithWebIdentity" (facts §3.5 step 7,
        // §3.2; IAM user guide, "Policy evaluation logic": both end in a deny). So the
        // error is predicted; the trust findings say which Deny may also apply.
        Known::Known(Some(Decision::DenyKindUnknown { .. })) => {
            StsPrediction::Error(StsError::access_denied())
        }
        Known::Known(Some(Decision::Undetermined { .. })) => StsPrediction::Undetermined {
            step: StsStep::TrustPolicy,
            why: "the trust policy's decision depends on values not known offline".into(),
        },
    }
}
