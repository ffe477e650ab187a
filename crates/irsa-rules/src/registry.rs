//! The rule registry: every rule's metadata (code, cause, severity, summary, doc)
//! in one table, and the order rules run in (as the data flows: cluster & provider
//! → role → ServiceAccount → pods).

use crate::context::{Context, Out};
use crate::finding::{Cause, Severity};
use crate::rules;

/// A rule's identity and documentation.
#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    /// Code (`IRSA203`).
    pub code: &'static str,
    /// Short name (`trust-sub`).
    pub name: &'static str,
    /// Cause of its findings.
    pub cause: Cause,
    /// Default severity.
    pub severity: Severity,
    /// One line.
    pub summary: &'static str,
    /// The full doc, Markdown kept beside the rule (What it checks / Why it matters /
    /// Example / Fix / In the AWS troubleshooting articles).
    pub doc: &'static str,
}

/// A rule.
pub trait Rule: Sync {
    /// Metadata.
    fn meta(&self) -> &'static RuleMeta;
    /// Runs the rule.
    fn check(&self, cx: &Context<'_>, out: &mut Out);
}

/// Declares a rule: a unit struct documented with `doc`, and its `META`.
#[macro_export]
macro_rules! declare_rule {
    ($ty:ident, code: $code:literal, name: $name:literal, cause: $cause:ident, severity: $sev:ident,
     summary: $summary:literal, doc: $doc:expr $(,)?) => {
        #[doc = $summary]
        #[doc = ""]
        #[doc = $doc]
        pub struct $ty;
        impl $ty {
            /// This rule's metadata.
            pub const META: $crate::registry::RuleMeta = $crate::registry::RuleMeta {
                code: $code,
                name: $name,
                cause: $crate::finding::Cause::$cause,
                severity: $crate::finding::Severity::$sev,
                summary: $summary,
                doc: $doc,
            };
        }
    };
}

/// Every rule, in report order.
pub fn all_rules() -> Vec<&'static dyn Rule> {
    vec![
        &rules::cluster_issuer::ClusterIssuer,
        &rules::oidc_provider_exists::OidcProviderExists,
        &rules::oidc_provider_audience::OidcProviderAudience,
        &rules::oidc_provider_thumbprint::OidcProviderThumbprint,
        &rules::role_exists::RoleExists,
        &rules::trust_action::TrustActionRule,
        &rules::trust_principal::TrustPrincipalRule,
        &rules::trust_sub::TrustSubRule,
        &rules::trust_aud::TrustAudRule,
        &rules::trust_condition_key::TrustConditionKeyRule,
        &rules::trust_operator::TrustOperatorRule,
        &rules::trust_deny::TrustDenyRule,
        &rules::trust_too_broad::TrustTooBroadRule,
        &rules::trust_policy_size::TrustPolicySizeRule,
        &rules::trust_undetermined::TrustUndetermined,
        &rules::role_permissions::RolePermissionsRule,
        &rules::sa_exists::SaExists,
        &rules::sa_annotation_missing::SaAnnotationMissing,
        &rules::sa_annotation_malformed::SaAnnotationMalformed,
        &rules::sa_annotation_options::SaAnnotationOptions,
        &rules::pod_service_account::PodServiceAccountRule,
        &rules::webhook::WebhookRule,
        &rules::pod_not_mutated::PodNotMutated,
        &rules::pod_stale_role::PodStaleRole,
        &rules::pod_token_mount::PodTokenMount,
        &rules::pod_token_audience::PodTokenAudience,
        &rules::env_preset_conflict::EnvPresetConflict,
        &rules::credential_precedence::CredentialPrecedenceRule,
        &rules::token_file_permission::TokenFilePermission,
        &rules::sdk_too_old::SdkTooOld,
        &rules::china_region::ChinaRegion,
        &rules::regional_sts::RegionalStsRule,
        &rules::pod_identity_association::PodIdentityAssociationRule,
        &rules::pod_identity_trust::PodIdentityTrustRule,
        &rules::pod_identity_session_tags::PodIdentitySessionTags,
        &rules::pod_identity_agent::PodIdentityAgent,
        &rules::pod_identity_node_role::PodIdentityNodeRole,
        &rules::pod_identity_not_injected::PodIdentityNotInjected,
        &rules::pod_identity_sdk::PodIdentitySdk,
        &rules::mechanism_conflict::MechanismConflict,
        &rules::inputs::Inputs,
    ]
}

/// The rules whose work grows with the pods, heaviest first: the rules start in this
/// order, then the others in report order, so that on more than one core no heavy rule
/// is left to run alone at the end while the other cores idle (the report is joined in
/// report order whatever the start order). Single-core times on the scale benchmark's
/// small-pod snapshot (`bench/scale.sh`: 20,000 pods, 10,000 ServiceAccounts), in ms:
/// sdk-too-old 34–41, pod-token-audience 27–33, pod-not-mutated 24–28, pod-token-mount
/// 21–32, role-permissions 13–18, pod-stale-role 12–16, webhook 11–18,
/// pod-service-account 10–21, credential-precedence 9–11, sa-exists 8–15,
/// env-preset-conflict 7–9; every other rule under 8.
const HEAVIEST_FIRST: &[&str] = &[
    "sdk-too-old",
    "pod-token-audience",
    "pod-not-mutated",
    "pod-token-mount",
    "role-permissions",
    "pod-stale-role",
    "webhook",
    "pod-service-account",
    "credential-precedence",
    "sa-exists",
    "env-preset-conflict",
];

/// The rules that read the ServiceAccounts' trust policy diagnoses
/// ([`crate::context::SaIrsa::diagnosis`]): they run before the others, and the
/// diagnoses are freed before the others run (debug builds check that no other rule
/// reads one).
const READS_TRUST_DIAGNOSES: &[&str] = &[
    "trust-action",
    "trust-principal",
    "trust-sub",
    "trust-aud",
    "trust-condition-key",
    "trust-operator",
    "trust-deny",
    "trust-too-broad",
    "trust-not-checked",
];

/// Whether `rule` reads the trust policy diagnoses (see [`READS_TRUST_DIAGNOSES`]).
pub fn reads_trust_diagnoses(rule: &dyn Rule) -> bool {
    READS_TRUST_DIAGNOSES.contains(&rule.meta().name)
}

/// The order the rules of `rules` start in (indexes into
/// `rules`): [`HEAVIEST_FIRST`], then the others in their order.
pub fn start_order(rules: &[&'static dyn Rule]) -> Vec<usize> {
    let rank = |i: usize| {
        HEAVIEST_FIRST
            .iter()
            .position(|n| *n == rules[i].meta().name)
            .unwrap_or(HEAVIEST_FIRST.len())
    };
    let mut order: Vec<usize> = (0..rules.len()).collect();
    // Stable: the unlisted rules keep their report order.
    order.sort_by_key(|&i| rank(i));
    order
}

/// A rule by code (case-insensitive).
pub fn rule_by_code(code: &str) -> Option<&'static dyn Rule> {
    all_rules()
        .into_iter()
        .find(|r| r.meta().code.eq_ignore_ascii_case(code) || r.meta().name == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_named_as_reading_trust_diagnoses_exists() {
        // A renamed rule would run after the diagnoses are freed (debug builds would
        // then stop at its first read).
        let rules = all_rules();
        for name in READS_TRUST_DIAGNOSES {
            assert!(rules.iter().any(|r| r.meta().name == *name), "{name}");
        }
    }

    #[test]
    fn every_heavy_rule_named_exists() {
        // A renamed rule would silently drop to the end of the start order.
        let rules = all_rules();
        for name in HEAVIEST_FIRST {
            assert!(
                rules.iter().any(|r| r.meta().name == *name),
                "{name} in HEAVIEST_FIRST is no rule"
            );
        }
    }

    #[test]
    fn start_order_is_every_rule_once_heaviest_first() {
        let rules = all_rules();
        let order = start_order(&rules);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..rules.len()).collect::<Vec<_>>());
        let names: Vec<&str> = order.iter().map(|&i| rules[i].meta().name).collect();
        assert_eq!(&names[..HEAVIEST_FIRST.len()], HEAVIEST_FIRST);
        // The rest keep report order.
        let rest = &order[HEAVIEST_FIRST.len()..];
        assert!(rest.windows(2).all(|w| w[0] < w[1]));
    }
}
