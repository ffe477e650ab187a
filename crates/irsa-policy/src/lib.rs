//! IAM trust-policy engine for IRSA: parses policy documents, ARNs and issuer
//! URLs, decides `sts:AssumeRoleWithWebIdentity` exactly as IAM does (three-valued,
//! so what cannot be known offline is never a pass), names the near miss, and
//! predicts STS's answer in AWS's own words.
//!
//! Pure: no I/O, no async, no AWS SDK.

#![warn(missing_docs)]

pub mod arn;
pub mod condition;
pub mod context;
pub mod diagnose;
pub mod document;
pub mod evaluate;
pub mod glob;
pub mod identity;
pub mod issuer;
pub mod operator;
pub mod partition;
pub mod pod_identity;
pub mod size;
pub mod sts;

pub use arn::{diagnose_role_arn, OidcProviderArn, RoleArn, RoleArnError, RoleArnProblem};
pub use context::{RequestError, WebIdentityRequest};
pub use diagnose::{diagnose, service_account_subject, Diagnosis, Located, NearMiss, SubjectMiss};
pub use document::{Condition, Effect, PolicyDocument, PolicyError, Principal, Statement};
pub use evaluate::{evaluate, Decision, Evaluation, Tri, WEB_IDENTITY_ACTION};
pub use identity::{
    evaluate_identity, Boundary, IdentityDecision, IdentityEvaluator, IdentityPolicies,
    IdentityRequest, NamedPolicy, StatementRef, OUT_OF_VIEW,
};
pub use issuer::{Issuer, IssuerDifference};
pub use partition::Partition;
pub use sts::{predict, Known, ProviderFacts, StsError, StsPrediction, StsQuestion, TokenClaims};

/// The audience the pod identity webhook projects by default.
pub const DEFAULT_AUDIENCE: &str = "sts.amazonaws.com";
