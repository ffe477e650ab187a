//! Shared by the trust-policy rules: turns the policy engine's near misses into
//! messages, and reports them with the predicted STS error and the verified fix.

use crate::context::{Context, Out, SaIrsa};
use crate::finding::{Fix, Severity};
use crate::fixes::trust_policy_fix;
use crate::messages::Message;
use crate::registry::RuleMeta;
use irsa_policy::{IssuerDifference, NearMiss, SubjectMiss, WebIdentityRequest};

/// The STS answer to a trust-policy denial.
pub const ACCESS_DENIED: &str =
    "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity";

/// Values as a report lists them: `` `a`, `b` ``.
pub(crate) fn list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Describes issuer differences in words.
pub fn describe_differences(diffs: &[IssuerDifference]) -> String {
    diffs
        .iter()
        .map(|d| match d {
            IssuerDifference::CaseOnly => {
                "differs only in letter case (provider URLs are case-sensitive)".to_string()
            }
            IssuerDifference::TrailingSlash => "has a trailing `/`".to_string(),
            IssuerDifference::Scheme => "includes `https://`".to_string(),
            IssuerDifference::Region { found, expected } => {
                format!("region `{found}` instead of `{expected}`")
            }
            IssuerDifference::ClusterId { found, expected } => {
                format!("cluster id `{found}` instead of this cluster's `{expected}`")
            }
            IssuerDifference::Other { found, .. } => format!("issuer `{found}`"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn subject_detail(miss: &SubjectMiss, closest: &str, request: &WebIdentityRequest) -> String {
    let (ns, name) = request
        .sub
        .strip_prefix("system:serviceaccount:")
        .and_then(|r| r.split_once(':'))
        .unwrap_or(("", ""));
    match miss {
        SubjectMiss::Whitespace => match closest.find(char::is_whitespace) {
            Some(0) => format!("note the leading white space in `{closest}`"),
            Some(i)
                if i + closest[i..].trim_start().len() == closest.len()
                    && closest[i..].trim().is_empty() =>
            {
                format!("note the trailing white space in `{closest}`")
            }
            Some(i) => format!("note the space after `{}`", &closest[..i]),
            None => "note the white space".into(),
        },
        SubjectMiss::Case => {
            "it differs only in letter case, and the comparison is case-sensitive".into()
        }
        SubjectMiss::Swapped => "namespace and name are swapped".into(),
        SubjectMiss::Prefix => {
            "the `system:serviceaccount:` prefix is missing or misspelled".into()
        }
        SubjectMiss::Namespace { found, distance } if *distance <= 2 => {
            format!("namespace `{found}` is a typo of `{ns}`")
        }
        SubjectMiss::Namespace { found, .. } => {
            format!("it names namespace `{found}`, but the ServiceAccount is in `{ns}`")
        }
        SubjectMiss::Name { found, distance } if *distance <= 2 => {
            format!("ServiceAccount name `{found}` is a typo of `{name}`")
        }
        SubjectMiss::Name { found, .. } => {
            format!("it names ServiceAccount `{found}`, not `{name}`")
        }
        SubjectMiss::Other => "it names another ServiceAccount".into(),
    }
}

/// The message for a near miss.
pub fn describe(
    miss: &NearMiss,
    statement: Option<usize>,
    irsa: &SaIrsa<'_>,
    request: &WebIdentityRequest,
) -> Message {
    let st = statement
        .map(|s| s.to_string())
        .unwrap_or_else(|| "-".into());
    let role = irsa.role_text();
    match miss {
        NearMiss::NoAllowStatement => Message::new("trust-no-allow").arg("role", role),
        NearMiss::ActionIsAssumeRole { found } => Message::new("trust-action-assume-role")
            .arg("statement", st)
            .arg("found", list(found)),
        NearMiss::ActionMissing { found } => Message::new("trust-action-missing")
            .arg("statement", st)
            .arg("found", list(found)),
        NearMiss::ServicePrincipal { services } => Message::new("trust-principal-service")
            .arg("statement", st)
            .arg("found", list(services))
            .arg("expected", &request.provider_arn),
        NearMiss::AwsPrincipal { values } => Message::new("trust-principal-aws")
            .arg("statement", st)
            .arg("found", list(values))
            .arg("expected", &request.provider_arn),
        NearMiss::FederatedOtherProvider {
            found,
            expected,
            account_differs,
            partition_differs,
            url,
        } => {
            let mut parts = Vec::new();
            if *partition_differs {
                parts.push("another partition".to_string());
            }
            if *account_differs {
                let acct = |a: &str| irsa_policy::arn::account_of(a).unwrap_or("?").to_string();
                parts.push(format!(
                    "account {} instead of {}",
                    acct(found),
                    acct(expected)
                ));
            }
            if !url.is_empty() {
                parts.push(describe_differences(url));
            }
            Message::new("trust-principal-other")
                .arg("statement", st)
                .arg("found", found)
                .arg("expected", expected)
                .arg("difference", parts.join("; "))
        }
        NearMiss::FederatedMalformed { found } => Message::new("trust-principal-malformed")
            .arg("statement", st)
            .arg("found", found)
            .arg("expected", &request.provider_arn),
        NearMiss::NoPrincipal => Message::new("trust-principal-none").arg("statement", st),
        NearMiss::KeyHasScheme { key } => Message::new("trust-key-scheme").arg("key", key),
        NearMiss::KeyIsArn { key } => Message::new("trust-key-arn").arg("key", key),
        NearMiss::KeyForeignIssuer { key, differences } => Message::new("trust-key-foreign")
            .arg("key", key)
            .arg("difference", describe_differences(differences))
            .arg("issuer", &request.issuer_host_path),
        NearMiss::KeyMisspelledClaim { key, meant } => Message::new("trust-key-claim")
            .arg("key", key)
            .arg("claim", key.rsplit(':').next().unwrap_or(""))
            .arg(
                "meant",
                meant
                    .as_ref()
                    .map(|m| format!(" (meant `:{m}`?)"))
                    .unwrap_or_default(),
            ),
        NearMiss::KeyAbsent { key } => Message::new("trust-key-absent").arg("key", key),
        NearMiss::SubMismatch {
            values,
            closest,
            miss,
            expected,
            ..
        } => Message::new("trust-sub-mismatch")
            .arg("values", list(values))
            .arg("expected", format!("`{expected}`"))
            .arg("detail", subject_detail(miss, closest, request)),
        NearMiss::SubExcluded { operator, value } => Message::new("trust-sub-excluded")
            .arg("statement", st)
            .arg("expected", &request.sub)
            .arg("operator", operator)
            .arg("value", value),
        NearMiss::WildcardUnderStringEquals {
            key,
            operator,
            value,
        } => Message::new("trust-wildcard-equals")
            .arg("operator", operator)
            .arg("value", value)
            .arg("key", key),
        NearMiss::AudCarriesSub { value } => Message::new("trust-aud-carries-sub")
            .arg("value", value)
            .arg("expected", list(&request.aud)),
        NearMiss::AudMismatch { values, expected } => Message::new("trust-aud-mismatch")
            .arg("values", list(values))
            .arg("expected", list(expected)),
        NearMiss::ConditionFalse {
            key,
            operator,
            values,
        } => Message::new("trust-condition-false")
            .arg("key", key)
            .arg("operator", operator)
            .arg("values", list(values)),
        NearMiss::UnknownOperator { operator } => {
            Message::new("trust-unknown-operator").arg("operator", operator)
        }
        NearMiss::DenyApplies { statement } => {
            Message::new("trust-deny").arg("statement", statement.to_string())
        }
        NearMiss::Undetermined { key, why } => Message::new("trust-undetermined")
            .arg("sub", &request.sub)
            .arg("key", key)
            .arg("why", why),
        NearMiss::NoSubCondition => Message::new("trust-no-sub").arg("statement", st),
        NearMiss::SubWildcardAll { value } => Message::new("trust-sub-wildcard-all")
            .arg("value", value)
            .arg("role", role),
        NearMiss::SubWildcardNamespace { value } => Message::new("trust-sub-wildcard-namespace")
            .arg("value", value)
            .arg("role", role),
        NearMiss::NoAudCondition => Message::new("trust-aud-absent")
            .arg("statement", st)
            .arg("audience", list(&request.aud)),
        NearMiss::PrincipalWildcard => Message::new("trust-principal-star").arg("statement", st),
        NearMiss::ForAllValuesWithAllow { key } => {
            Message::new("trust-for-all-values").arg("key", key)
        }
        NearMiss::NegatedOnAbsentKey {
            key,
            operator,
            deny,
        } => Message::new("trust-negated-absent")
            .arg("key", key)
            .arg("operator", operator)
            .arg(
                "deny",
                if *deny {
                    ": this Deny always applies"
                } else {
                    ""
                },
            ),
        NearMiss::ResourceInTrustPolicy => Message::new("trust-resource").arg("statement", st),
        NearMiss::NotPrincipalInTrustPolicy => {
            Message::new("trust-not-principal").arg("statement", st)
        }
        NearMiss::MalformedAction { action, problem } => Message::new("trust-action-malformed")
            .arg("statement", st)
            .arg("action", action)
            .arg("problem", problem.describe()),
        NearMiss::DenyMayApply {
            statement,
            key,
            why,
        } => Message::new("trust-deny-may-apply")
            .arg("statement", statement.to_string())
            .arg("key", key)
            .arg("why", why),
    }
}

/// When the trust policy has Allow statements but none about web identity, a description
/// of them (`statement 0 lets service ec2.amazonaws.com sts:AssumeRole`).
fn other_mechanism_statements(
    irsa: &SaIrsa<'_>,
    diagnosis: &irsa_policy::Diagnosis,
) -> Option<String> {
    let crate::context::RoleState::Found(r) = &irsa.role else {
        return None;
    };
    let doc = r.trust.as_ref()?.as_ref().ok()?;
    let (request, _) = irsa.diagnosis()?;
    diagnosis.closest?;
    let allows: Vec<&irsa_policy::Statement> = doc
        .statements
        .iter()
        .filter(|s| s.effect == irsa_policy::Effect::Allow)
        .collect();
    if allows.is_empty()
        || allows
            .iter()
            .any(|s| irsa_policy::diagnose::is_web_identity_statement(s, &request.issuer_host_path))
    {
        return None;
    }
    let described: Vec<String> = allows
        .iter()
        .map(|s| {
            let who = match &s.principal {
                Some(irsa_policy::Principal::Any) => "anyone".to_string(),
                Some(p) => ["Service", "AWS", "Federated", "CanonicalUser"]
                    .iter()
                    .flat_map(|k| {
                        let kind = match *k {
                            "Service" => "service",
                            "AWS" => "AWS principal",
                            _ => "principal",
                        };
                        p.values_of(k)
                            .into_iter()
                            .map(move |v| format!("{kind} {v}"))
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                None => "no principal".to_string(),
            };
            let actions = s
                .action
                .as_ref()
                .map(|a| a.join(", "))
                .unwrap_or_else(|| "every action but its NotAction".into());
            format!("statement {} lets {who} call {actions}", s.index)
        })
        .collect();
    Some(described.join("; "))
}

/// How to correct a document IAM refuses: the replacement, in this role's terms.
fn document_fix(
    miss: &NearMiss,
    statement: Option<usize>,
    irsa: &SaIrsa<'_>,
    request: &WebIdentityRequest,
) -> Fix {
    let st = statement
        .map(|s| s.to_string())
        .unwrap_or_else(|| "-".into());
    let what = match miss {
        NearMiss::NotPrincipalInTrustPolicy => format!(
            "in statement {st}, replace `NotPrincipal` with `\"Principal\": {{\"Federated\": \"{}\"}}` (a trust policy names who may assume the role; it cannot exclude)",
            request.provider_arn
        ),
        NearMiss::MalformedAction { action, .. } => format!(
            "in statement {st}, replace `{action}` with `sts:AssumeRoleWithWebIdentity` (wildcards may follow `sts:`, never replace it)"
        ),
        _ => "correct the trust policy".to_string(),
    };
    let role = irsa
        .role_arn
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_else(|_| "<role-name>".into());
    Fix::advice(format!(
        "{what}, then write it with `aws iam update-assume-role-policy --role-name {role} --policy-document file://trust.json`"
    ))
}

/// Reports the near misses `pick` selects: reasons of a denial as errors (with the
/// predicted error and the verified fix), hygiene warnings at the severity `pick` gives.
pub fn report_trust(
    cx: &Context<'_>,
    out: &mut Out,
    meta: &RuleMeta,
    pick: fn(&NearMiss) -> Option<Severity>,
) {
    for irsa in &cx.irsa {
        let Some((request, diagnosis)) = irsa.diagnosis() else {
            continue;
        };
        let denied = diagnosis.evaluation.decision.is_deny();
        if denied {
            if let Some(others) = other_mechanism_statements(irsa, diagnosis) {
                // No statement is about web identity: the closest one is for another
                // mechanism (EC2, EKS Pod Identity) and is right as it is. One finding,
                // about the statement that is missing, never about that one.
                if meta.cause == crate::finding::Cause::TrustAction {
                    let f = out.report(
                        meta,
                        irsa.subject(),
                        Message::new("trust-no-web-identity")
                            .arg("role", irsa.role_text())
                            .arg("others", others),
                    );
                    f.role(irsa.role_text()).predicts(ACCESS_DENIED);
                    if let Some(fx) = trust_policy_fix(irsa) {
                        f.fix(fx);
                    }
                }
                continue;
            }
        }
        let mut fix = None;
        for located in &diagnosis.findings {
            let Some(severity) = pick(&located.miss) else {
                continue;
            };
            let is_reason = !located.miss.is_hygiene();
            if is_reason && !denied {
                continue;
            }
            let msg = describe(&located.miss, located.statement, irsa, request);
            let f = out.report(meta, irsa.subject(), msg);
            f.role(irsa.role_text());
            if is_reason {
                f.severity(Severity::Error).predicts(ACCESS_DENIED);
                let fix = fix.get_or_insert_with(|| trust_policy_fix(irsa));
                if let Some(fx) = fix {
                    f.fix(fx.clone());
                }
            } else {
                f.severity(severity);
            }
            if let Some(error) = located.miss.refused_by_iam() {
                f.predicts(error);
                f.fix(document_fix(
                    &located.miss,
                    located.statement,
                    irsa,
                    request,
                ));
            }
        }
    }
}
