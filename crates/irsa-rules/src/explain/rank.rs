//! One error's families → its ranked causes. Each matched family contributes its
//! causes' weights times how sure the match is (an exact wording 1.0, a cut one
//! less, a paraphrase at most 0.5); the sum is normalised to the best match's
//! confidence, so likelihoods add up to 1 only when the wording was recognised
//! exactly, and a paraphrase can never look certain.

use super::catalog::{match_row, Catalog, Dynamic, Family, Hay, Tier};
use super::extract::Extracted;
use crate::finding::Cause;

/// A family that matched one error.
#[derive(Debug, Clone)]
pub struct FamilyMatch<'c> {
    /// The family.
    pub family: &'c Family,
    /// Best row confidence.
    pub confidence: f64,
    /// The SDK of the best row.
    pub sdk: &'c str,
    /// The source of the best row.
    pub source: &'c str,
}

/// The families one error matches, after the more specific ones silenced the rest.
/// `large`: the paste is large (see [`Hay::new`]); a text of a large paste with
/// no catalog word in it is not matched further.
pub fn families<'c>(text: &str, catalog: &'c Catalog, large: bool) -> Vec<FamilyMatch<'c>> {
    let hay = Hay::new(text, catalog, large);
    if large && !hay.worth_matching() {
        return Vec::new();
    }
    let mut found: Vec<FamilyMatch<'c>> = Vec::new();
    for f in &catalog.families {
        let mut best: Option<(f64, &'c str, &'c str)> = None;
        for r in &f.rows {
            if let Some(c) = match_row(r, &hay, catalog) {
                if best.is_none_or(|(b, _, _)| c > b) {
                    best = Some((c, r.sdk, r.source));
                }
            }
        }
        if let Some((confidence, sdk, source)) = best {
            found.push(FamilyMatch {
                family: f,
                confidence,
                sdk,
                source,
            });
        }
    }
    let ids: Vec<&str> = found.iter().map(|m| m.family.id).collect();
    found.retain(|m| !m.family.unless.iter().any(|u| ids.contains(u)));
    let best_tier = found.iter().map(|m| m.family.tier).min();
    found.retain(|m| {
        !matches!(
            (best_tier, m.family.tier),
            (
                Some(Tier::Service | Tier::Provider),
                Tier::Chain | Tier::Keyword
            ) | (Some(Tier::Chain), Tier::Keyword)
        )
    });
    found
}

/// How much of the answer the match supports.
pub fn confidence(matches: &[FamilyMatch<'_>]) -> f64 {
    matches.iter().map(|m| m.confidence).fold(0.0, f64::max)
}

/// A ranked cause before rendering.
#[derive(Debug, Clone)]
pub struct Scored {
    /// Cause.
    pub cause: Cause,
    /// 0..1.
    pub likelihood: f64,
    /// Why (from the family that weighs most for it).
    pub why: String,
}

/// Scores causes for one error.
pub fn score(matches: &[FamilyMatch<'_>], e: &Extracted, catalog: &Catalog) -> Vec<Scored> {
    let mut scores: Vec<(Cause, f64, f64, String)> = Vec::new();
    let mut add = |cause: Cause, w: f64, why: &str| match scores.iter_mut().find(|s| s.0 == cause) {
        Some(s) => {
            s.1 += w;
            if w > s.2 {
                s.2 = w;
                s.3 = why.to_string();
            }
        }
        None => scores.push((cause, w, w, why.to_string())),
    };
    for m in matches {
        let f = m.family;
        let causes: Vec<(Cause, f64, String)> = match f.dynamic {
            Some(Dynamic::DeniedPrincipal) => denied_causes(f, e),
            _ => f
                .causes
                .iter()
                .map(|c| (c.cause, c.weight, c.why.to_string()))
                .collect(),
        };
        for (cause, mut w, why) in causes {
            match (f.dynamic, cause) {
                (Some(Dynamic::OptInRegion), Cause::RegionalSts) if opt_in_region(e, catalog) => {
                    w *= 3.0
                }
                (Some(Dynamic::ChinaHost), Cause::ChinaRegion) if china_host_without_cn(e) => {
                    w *= 6.0
                }
                _ => {}
            }
            add(cause, w * m.confidence, &why);
        }
    }
    let total: f64 = scores.iter().map(|s| s.1).sum();
    let conf = confidence(matches);
    scores.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scores
        .into_iter()
        .map(|(cause, w, _, why)| Scored {
            cause,
            likelihood: if total > 0.0 {
                (w / total * conf * 100.0).round() / 100.0
            } else {
                0.0
            },
            why,
        })
        .filter(|s| s.likelihood > 0.0)
        .collect()
}

/// Whether the region named in the text is an opt-in one (enabled by default are
/// the regions launched before 20 March 2019; every later `aws` region is opt-in).
pub fn opt_in_region(e: &Extracted, catalog: &Catalog) -> bool {
    e.region.as_deref().is_some_and(|r| {
        !r.starts_with("cn-")
            && !r.starts_with("us-gov-")
            && !r.starts_with("us-iso")
            && !catalog.default_regions.contains(&r)
    })
}

fn china_host_without_cn(e: &Extracted) -> bool {
    e.endpoint
        .as_deref()
        .is_some_and(|h| h.contains(".cn-") && h.ends_with(".amazonaws.com"))
}

/// What kind of principal a later call was denied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The node's instance role (`…/i-0123…` session, or a node role name).
    NodeRole,
    /// An assumed role with a web-identity or SDK session name: IRSA worked.
    WorkloadRole,
    /// An IAM user: static keys.
    User,
    /// No credentials at all.
    Anonymous,
    /// Something else.
    Unknown,
}

/// Classifies the denied principal.
pub fn principal_kind(e: &Extracted) -> PrincipalKind {
    let Some(d) = &e.denied else {
        return PrincipalKind::Unknown;
    };
    if d.principal == "anonymous" || d.principal.ends_with(" anonymous") {
        return PrincipalKind::Anonymous;
    }
    if d.principal.contains(":user/") {
        return PrincipalKind::User;
    }
    let Some(role) = d.role.as_deref() else {
        return PrincipalKind::Unknown;
    };
    let session = d.session.as_deref().unwrap_or("");
    let instance_session = session.starts_with("i-")
        && session.len() >= 10
        && session[2..].bytes().all(|b| b.is_ascii_hexdigit());
    let r = role.to_ascii_lowercase();
    if instance_session
        || r.contains("nodeinstancerole")
        || r.contains("nodegroup")
        || r.contains("noderole")
        || r.contains("-node-")
    {
        PrincipalKind::NodeRole
    } else {
        PrincipalKind::WorkloadRole
    }
}

fn denied_causes(f: &Family, e: &Extracted) -> Vec<(Cause, f64, String)> {
    let kind = principal_kind(e);
    let action_is_admin = e
        .denied
        .as_ref()
        .is_some_and(|d| d.action.starts_with("iam:") || d.action.starts_with("eks:"));
    let list: Vec<(Cause, f64, &str)> = match kind {
        PrincipalKind::NodeRole => vec![
            (Cause::PodNotMutated, 0.32, "the call was made with the node's instance role: the pod has no web identity (created before the annotation, or skipped by the webhook)"),
            (Cause::SaAnnotationMissing, 0.28, "the ServiceAccount has no eks.amazonaws.com/role-arn annotation, so the SDK fell back to the node role"),
            (Cause::PodServiceAccount, 0.2, "the pod runs as another ServiceAccount than the annotated one (often `default`)"),
            (Cause::WebhookMissing, 0.12, "the pod identity webhook did not inject the pod"),
            (Cause::SdkTooOld, 0.08, "the SDK predates web identity and went straight to the node role"),
        ],
        PrincipalKind::User if action_is_admin => vec![(
            Cause::CollectionGap,
            1.0,
            "your own IAM user lacks this permission: run the read or the fix with an identity that has it (the least-privilege policy is in the README)",
        )],
        PrincipalKind::User => vec![
            (Cause::CredentialPrecedence, 0.85, "the call was signed with an IAM user's static keys, which come before IRSA in every SDK's chain (AWS_ACCESS_KEY_ID in the pod, or a mounted credentials file)"),
            (Cause::RolePermissions, 0.15, "the static keys belong to a user that lacks this action"),
        ],
        PrincipalKind::Anonymous => vec![
            (Cause::PodNotMutated, 0.35, "the request carried no credentials at all: the pod has neither web identity nor a reachable fallback"),
            (Cause::SaAnnotationMissing, 0.3, "the ServiceAccount has no role annotation"),
            (Cause::PodServiceAccount, 0.2, "the pod runs as another ServiceAccount"),
            (Cause::WebhookMissing, 0.15, "the pod identity webhook did not inject the pod"),
        ],
        PrincipalKind::WorkloadRole | PrincipalKind::Unknown => {
            let why = if e.denied.as_ref().and_then(|d| d.reason.as_deref()).is_some_and(|r| r.contains("session policy")) {
                "the role was assumed, but a session policy (an EKS Pod Identity association's `policy`) does not allow this action"
            } else {
                "IRSA worked (the role was assumed); the role's permission policies lack this action, or a boundary/SCP denies it"
            };
            vec![
                (Cause::RolePermissions, 0.8, why),
                (Cause::PodStaleRole, 0.2, "the pod assumed an older role than the ServiceAccount now names (pods keep the role they were created with)"),
            ]
        }
    };
    if list.is_empty() {
        return f
            .causes
            .iter()
            .map(|c| (c.cause, c.weight, c.why.to_string()))
            .collect();
    }
    list.into_iter()
        .map(|(c, w, why)| (c, w, why.to_string()))
        .collect()
}
