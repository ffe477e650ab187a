//! One rule per file. Shared helpers: `trust_report` (trust-policy rules) and
//! `pod_helpers` (pod rules).

pub mod china_region;
pub mod cluster_issuer;
pub mod credential_precedence;
pub mod env_preset_conflict;
pub mod inputs;
pub mod oidc_provider_audience;
pub mod oidc_provider_exists;
pub mod oidc_provider_thumbprint;
pub mod pod_helpers;
pub mod pod_not_mutated;
pub mod pod_service_account;
pub mod pod_stale_role;
pub mod regional_sts;
pub mod role_exists;
pub mod role_permissions;
pub mod sa_annotation_malformed;
pub mod sa_annotation_missing;
pub mod sa_annotation_options;
pub mod sa_exists;
pub mod sdk_evidence;
pub mod sdk_too_old;
pub mod token_file_permission;
pub mod trust_action;
pub mod trust_aud;
pub mod trust_condition_key;
pub mod trust_deny;
pub mod trust_operator;
pub mod trust_policy_size;
pub mod trust_principal;
pub mod trust_report;
pub mod trust_sub;
pub mod trust_too_broad;
pub mod trust_undetermined;
pub mod webhook;
