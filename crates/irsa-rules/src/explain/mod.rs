//! `explain`: an error text copied from a log, in whatever shape it arrives, →
//! the errors in it, each recognised by its message family and ranked into
//! causes; with a snapshot (or live), the causes the cluster and account confirm,
//! with the full fix for the ServiceAccount concerned.
//!
//! - [`decode`]: bytes → text (UTF-16 by BOM, invalid bytes replaced, never rejected).
//! - [`segment`]: the paste → records (JSON lines, logfmt, klog, stack traces, tracebacks).
//! - [`catalog`]: the message families, as data with a source per row.
//! - [`extract`]: code, message, operation, status, ARNs, endpoint, who was denied what.
//! - [`rank`]: families → causes with likelihoods.
//! - `render`: the human text.
//!
//! Pure: no I/O; the caller passes the text and, optionally, a snapshot.

pub mod catalog;
pub mod decode;
pub mod extract;
pub mod rank;
mod render;
pub mod segment;

pub use decode::InputNote;
pub use extract::{Denied, Extracted};
pub use render::render_text;

use crate::context::Scope;
use crate::finding::{Cause, Fix, Severity};
use catalog::{catalog, Catalog, Tier};
use irsa_model::Snapshot;
use irsa_policy::StsPrediction;
use serde::Serialize;

/// The JSON schema name of [`Explanation`].
pub const SCHEMA: &str = "irsa-doctor/explain/v1";

/// One ranked cause.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedCause {
    /// Cause id.
    pub cause: Cause,
    /// 0.0–1.0. For one error they add up to the match's confidence (1.0 for an
    /// exact wording, less for a cut text or a paraphrase).
    pub likelihood: f64,
    /// Why, in one line.
    pub why: String,
    /// The rules that check this cause (`irsa-doctor rule CODE` documents each).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<&'static str>,
    /// The command of the AWS troubleshooting articles that shows the evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// What confirms it, in one line (rules and evidence together).
    pub confirm: String,
}

/// A family that matched, and where its wording comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchedFamily {
    /// Family id.
    pub id: String,
    /// The message as users know it.
    pub title: String,
    /// `service`, `provider`, `chain`, `keyword`.
    pub tier: &'static str,
    /// Who prints the matched wording.
    pub printed_by: String,
    /// The upstream file or page the wording was read from.
    pub source: String,
}

/// One error found in the paste.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorReport {
    /// 1-based, in paste order.
    pub index: usize,
    /// 1-based line where it starts.
    pub line: usize,
    /// How many times it occurs.
    pub repeated: usize,
    /// The families it matched.
    pub families: Vec<MatchedFamily>,
    /// How sure the match is (0–1).
    pub confidence: f64,
    /// What was read out of it.
    pub extracted: Extracted,
    /// Its ranked causes.
    pub causes: Vec<RankedCause>,
}

/// A cause the snapshot confirms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confirmed {
    /// Cause.
    pub cause: Cause,
    /// The rule whose finding confirms it.
    pub rule: &'static str,
    /// The finding's subject (`ServiceAccount ns/name`, `Role arn:…`).
    pub subject: String,
    /// The ServiceAccount concerned (`namespace/name`), when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// What the check found.
    pub message: String,
    /// The first fix's command (or summary), whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Every fix, in the order to apply them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<Fix>,
}

/// A command to run next, ready to paste.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextStep {
    /// What it tells.
    pub why: String,
    /// The command.
    pub command: String,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// `irsa-doctor/explain/v1`.
    pub schema: &'static str,
    /// Whether the text matched a known error family.
    pub recognised: bool,
    /// `high` (the exact wording), `medium` (cut or partial), `low` (a
    /// paraphrase, matched by keywords).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<&'static str>,
    /// The family the explained error matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<MatchedFamily>,
    /// What was extracted from the explained error.
    pub extracted: Extracted,
    /// Its ranked causes, most likely first.
    pub causes: Vec<RankedCause>,
    /// Every recognised error in the paste, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorReport>,
    /// Index (1-based) of the explained error: the most specific one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<usize>,
    /// Index (1-based) of the error that comes first in the paste.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<usize>,
    /// With context: causes the snapshot confirms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub confirmed: Vec<Confirmed>,
    /// With context: the state contradicts the error (why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contradiction: Option<String>,
    /// When not recognised: the nearest known families.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nearest: Vec<String>,
    /// What to run next, ready to paste.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub next: Vec<NextStep>,
    /// How the input was decoded, when that is worth knowing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<InputNote>,
    /// Other remarks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Extracts the fields of the most specific error in `text` (or of the text).
pub fn extract(text: &str) -> Extracted {
    explain(text, None, &Scope::default()).extracted
}

/// A paste worth one automaton pass per record (long, or many records).
fn is_large(text: &str, recs: &[segment::Record]) -> bool {
    text.len() > 32 * 1024 || recs.len() > 48
}

fn extracted(r: &segment::Record, m: &[rank::FamilyMatch<'_>], cat: &Catalog) -> Extracted {
    let mut e = extract::extract(&r.text, &r.raw, cat);
    let lead = m
        .iter()
        .min_by(|a, b| {
            a.family
                .tier
                .cmp(&b.family.tier)
                .then(b.confidence.total_cmp(&a.confidence))
        })
        .expect("non-empty");
    if e.code.is_none() {
        if let Some(c) = lead.family.code {
            e.code = Some(c.to_string());
            e.code_inferred = true;
        }
    }
    if e.operation.is_none() {
        e.operation = lead.family.operation.map(str::to_string);
    }
    if e.sdk.is_none()
        && cat
            .sdks
            .iter()
            .any(|s| s.id == lead.sdk && !s.markers.is_empty())
    {
        e.sdk = Some(lead.sdk.to_string());
    }
    e
}

/// Explains raw bytes (any encoding [`decode`] knows); see [`explain`].
pub fn explain_bytes(bytes: &[u8], context: Option<&Snapshot>, scope: &Scope) -> Explanation {
    let (text, note) = decode::decode(bytes);
    let mut ex = explain(&text, context, scope);
    if note.noteworthy() {
        ex.input = Some(note);
    }
    ex
}

/// Explains `text`; with a snapshot, confirms against it.
pub fn explain(text: &str, context: Option<&Snapshot>, scope: &Scope) -> Explanation {
    let cat = catalog();
    let recs = segment::records(text);
    let large = is_large(text, &recs);
    let mut errors: Vec<(ErrorReport, Tier)> = Vec::new();
    for r in &recs {
        let m = rank::families(&r.text, cat, large);
        if m.is_empty() {
            continue;
        }
        let e = extracted(r, &m, cat);
        let scored = rank::score(&m, &e, cat);
        let tier = m
            .iter()
            .map(|x| x.family.tier)
            .min()
            .unwrap_or(Tier::Keyword);
        let mut m = m;
        m.sort_by(|a, b| {
            a.family
                .tier
                .cmp(&b.family.tier)
                .then(b.confidence.total_cmp(&a.confidence))
        });
        let families: Vec<MatchedFamily> = m
            .iter()
            .map(|x| MatchedFamily {
                id: x.family.id.to_string(),
                title: x.family.title.to_string(),
                tier: x.family.tier.name(),
                printed_by: cat.sdk_name(x.sdk).to_string(),
                source: x.source.to_string(),
            })
            .collect();
        // The same error logged again (another timestamp, another request id) is
        // counted, not listed twice.
        let same = |x: &ErrorReport| {
            x.families
                .iter()
                .map(|f| &f.id)
                .eq(families.iter().map(|f| &f.id))
                && x.extracted.code == e.code
                && x.extracted.message == e.message
                && x.extracted.role_arn == e.role_arn
                && x.extracted
                    .denied
                    .as_ref()
                    .map(|d| (&d.principal, &d.action))
                    == e.denied.as_ref().map(|d| (&d.principal, &d.action))
        };
        if let Some((seen, _)) = errors.iter_mut().find(|(x, _)| same(x)) {
            seen.repeated += r.repeated;
            continue;
        }
        let causes = scored
            .into_iter()
            .map(|s| ranked(s.cause, s.likelihood, s.why, &e))
            .collect();
        errors.push((
            ErrorReport {
                index: errors.len() + 1,
                line: r.line,
                repeated: r.repeated,
                families,
                confidence: rank::confidence(&m),
                extracted: e,
                causes,
            },
            tier,
        ));
    }
    let mut ex = Explanation {
        schema: SCHEMA,
        recognised: !errors.is_empty(),
        confidence: None,
        family: None,
        extracted: Extracted::default(),
        causes: vec![],
        errors: vec![],
        primary: None,
        first: None,
        confirmed: vec![],
        contradiction: None,
        nearest: vec![],
        next: vec![],
        input: None,
        notes: vec![],
    };
    if errors.is_empty() {
        ex.extracted = extract::extract(text, text, cat);
        ex.nearest = nearest(text, cat);
        ex.next = next_steps(&ex, context, scope);
        return ex;
    }
    // The explained error is the most specific one (an STS error beats the chain
    // summary that follows it), the earlier one on a tie.
    let primary = errors
        .iter()
        .min_by(|(a, ta), (b, tb)| {
            ta.cmp(tb)
                .then(b.confidence.total_cmp(&a.confidence))
                .then(a.index.cmp(&b.index))
        })
        .map(|(e, _)| e.index)
        .expect("non-empty");
    let p = &errors[primary - 1].0;
    ex.confidence = Some(match p.confidence {
        c if c >= 0.95 => "high",
        c if c >= 0.7 => "medium",
        _ => "low",
    });
    ex.family = p.families.first().cloned();
    ex.extracted = p.extracted.clone();
    ex.causes = p.causes.clone();
    if errors.len() > 1 {
        ex.primary = Some(primary);
        ex.first = Some(1);
        ex.errors = errors.into_iter().map(|(e, _)| e).collect();
    }
    if let Some(snap) = context {
        confirm(&mut ex, snap, scope);
    }
    ex.next = next_steps(&ex, context, scope);
    if let Some(d) = ex.extracted.denied.clone() {
        if rank::principal_kind(&ex.extracted) == rank::PrincipalKind::WorkloadRole {
            denied_notes(&mut ex, &d, context);
        }
    }
    ex
}

/// A later call denied to the workload's role: who uses that role (from the
/// snapshot), and what the controller knowledge says about the action.
///
/// With the snapshot, the ServiceAccounts whose annotation (or Pod Identity
/// association) names the role, and the controller releases their pods and workloads
/// run (from the images): for each, whether the release's documented IAM policy
/// includes the action, from which release on (an upgrade that started needing it),
/// and the documented statement to add, narrowed to that action. Without one, the
/// known controllers whose documented policies include it, and since which release.
fn denied_notes(ex: &mut Explanation, d: &Denied, context: Option<&Snapshot>) {
    let k = irsa_knowledge::knowledge();
    let role = d.role.as_deref().unwrap_or_default();
    let partition = d
        .principal
        .strip_prefix("arn:")
        .and_then(|r| r.split(':').next())
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
        .to_string();
    let reason = d.reason.as_deref().unwrap_or("");
    let explicit = reason.contains("explicit deny");
    let mut releases: Vec<(
        &'static irsa_knowledge::Controller,
        Option<irsa_knowledge::Version>,
        String,
    )> = Vec::new();
    if let Some(snap) = context {
        let mut sas: Vec<(String, String)> = snap
            .service_accounts
            .values()
            .filter(|s| {
                s.annotations
                    .get("eks.amazonaws.com/role-arn")
                    .is_some_and(|a| a.trim().rsplit('/').next() == Some(role))
            })
            .map(|s| (s.namespace.to_string(), s.name.to_string()))
            .collect();
        for a in &snap.pod_identity {
            if a.role_arn.as_deref().and_then(|r| r.rsplit('/').next()) == Some(role) {
                sas.push((a.namespace.clone(), a.service_account.clone()));
            }
        }
        sas.sort();
        sas.dedup();
        for (ns, name) in &sas {
            let specs: Vec<&irsa_model::PodSpec> = snap
                .pods_of(ns, name)
                .map(|p| &p.spec)
                .chain(
                    snap.workloads
                        .iter()
                        .filter(|w| {
                            w.namespace == *ns
                                && w.owner.is_none()
                                && w.template.effective_service_account() == name
                        })
                        .map(|w| &w.template),
                )
                .collect();
            let mut images: Vec<String> = specs
                .iter()
                .flat_map(|s| {
                    s.containers
                        .iter()
                        .filter_map(|c| c.image.as_ref().map(|i| i.to_string()))
                })
                .collect();
            images.sort();
            images.dedup();
            ex.notes.push(format!(
                "role `{role}` is the role of ServiceAccount {ns}/{name}{}",
                if images.is_empty() {
                    String::new()
                } else {
                    format!(" (its pods run {})", images.join(", "))
                }
            ));
            for spec in specs {
                for c in spec.all_containers() {
                    let Some(m) = crate::rules::sdk_evidence::controller_image(spec, c) else {
                        continue;
                    };
                    let tag = m.tag.clone().unwrap_or_else(|| "(no tag)".into());
                    if !releases
                        .iter()
                        .any(|(x, _, t)| x.id == m.controller.id && *t == tag)
                    {
                        releases.push((m.controller, m.version.clone(), tag));
                    }
                }
            }
        }
    }
    let mut step: Option<NextStep> = None;
    for (c, version, tag) in &releases {
        let (note, grant) = release_note(c, version.as_ref(), tag, d, &partition, explicit);
        ex.notes.push(note);
        if step.is_none() {
            step = grant.map(|statements| {
                let command =
                    put_role_policy(role, &format!("{}-{}", c.id, d.action), &statements);
                let account = d
                    .principal
                    .split(':')
                    .nth(4)
                    .filter(|a| !a.is_empty())
                    .map(|a| format!(", with credentials of account {a}"))
                    .unwrap_or_default();
                let placeholders = if command.contains("${") {
                    "; replace the ${…} placeholders with your names first"
                } else {
                    ""
                };
                NextStep {
                    why: format!(
                        "grants role {role} what {} {tag} documents for `{}` (its published statement, narrowed to this action; the complete fix is its whole policy for {tag}){account}{placeholders}",
                        c.name, d.action
                    ),
                    command,
                }
            });
        }
    }
    let confirmed = ex
        .confirmed
        .iter()
        .any(|c| c.cause == Cause::RolePermissions);
    if let Some(step) = step.filter(|_| !confirmed) {
        // The documented statement (its resources and conditions) replaces the
        // generic "exactly this action on this resource" grant.
        ex.next
            .retain(|n| !n.command.starts_with("aws iam put-role-policy "));
        ex.next.insert(0, step);
    }
    if !releases.is_empty() {
        return;
    }
    let needing = k.controllers_needing(&d.action);
    if needing.is_empty() {
        let known: Vec<&str> = k
            .controllers
            .iter()
            .filter(|c| !c.permissions.is_empty())
            .map(|c| c.name.as_str())
            .collect();
        ex.notes.push(format!(
            "`{}` is in none of the documented IAM policies irsa-doctor knows ({}): the call comes from the application itself, whose policy is yours to extend",
            d.action,
            known.join(", ")
        ));
        return;
    }
    let list: Vec<String> = needing
        .iter()
        .map(|(c, v)| format!("{} (since {v})", c.name))
        .collect();
    ex.notes.push(format!(
        "`{}` is in the documented IAM policy of {}: if role `{role}` serves one of them, the release it runs decides (with a snapshot, `irsa-doctor explain --snapshot DIR` names it from the pods' images)",
        d.action,
        list.join(", ")
    ));
}

/// What one controller release's documented policy says about a denied action, and
/// the statements to grant (when adding an Allow is the fix).
fn release_note(
    c: &irsa_knowledge::Controller,
    version: Option<&irsa_knowledge::Version>,
    tag: &str,
    d: &Denied,
    partition: &str,
    explicit: bool,
) -> (String, Option<Vec<serde_json::Value>>) {
    let action = &d.action;
    if !c.calls_aws {
        return (
            format!(
                "the pods run {} {tag}, which makes no AWS call with its ServiceAccount: `{action}` comes from another container",
                c.name
            ),
            None,
        );
    }
    if c.permissions.is_empty() {
        return (
            format!(
                "the pods run {} {tag}; irsa-doctor has no documented IAM policy of it, so which release needs `{action}` is not known: its install guide for {tag} has the policy",
                c.name
            ),
            None,
        );
    }
    let Some(v) = version else {
        let first = c.first_version_needing(action);
        return (
            match first {
                Some(f) => format!(
                    "the pods run {} with tag {tag}, not a release number: its documented IAM policy includes `{action}` from {f} on",
                    c.name
                ),
                None => format!(
                    "the pods run {} with tag {tag}, not a release number; no documented IAM policy of it includes `{action}`",
                    c.name
                ),
            },
            None,
        );
    };
    let Some(at) = c.permissions_at(v) else {
        let first = &c.permissions[0];
        return (
            format!(
                "the pods run {} {tag}, older than {}, the first release whose IAM policy irsa-doctor knows",
                c.name, first.since
            ),
            None,
        );
    };
    let beyond = if at.beyond_known {
        format!(
            " (newer than {}, the newest release read: its policy is assumed unchanged)",
            c.scan
                .as_ref()
                .map(|s| s.through.to_string())
                .unwrap_or_default()
        )
    } else {
        String::new()
    };
    let Some(since) = c.needed_since(v, action) else {
        let later = c.next_release_needing(v, action);
        let optional = c
            .optional_for(action)
            .map(|o| format!("; it is optional, for {}", o.needed_for))
            .unwrap_or_default();
        return (
            match later {
                Some(r) => format!(
                    "the pods run {} {tag}{beyond}, whose documented IAM policy ({}) does not include `{action}`; it is needed from {} on ({}){optional}: the error comes from a newer release than these pods run (the log is newer than the snapshot, or another workload with this role runs it), or from another container",
                    c.name, at.row.source, r.since, r.source
                ),
                None => format!(
                    "the pods run {} {tag}{beyond}, whose documented IAM policy ({}) does not include `{action}`{optional}: the call comes from a configuration that policy does not cover, or from another container",
                    c.name, at.row.source
                ),
            },
            None,
        );
    };
    let origin = at
        .row
        .url
        .clone()
        .or_else(|| at.row.doc.clone())
        .unwrap_or_else(|| at.row.source.clone());
    let statements = at.row.statements_granting(action, partition);
    let lines: Vec<String> = statements
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_default())
        .collect();
    let started = if since == &c.permissions[0].since {
        format!("every documented release since {since} needs it")
    } else {
        let source = c
            .permissions
            .iter()
            .find(|r| &r.since == since)
            .map(|r| r.source.as_str())
            .unwrap_or_default();
        format!("{since} is the release that started needing it ({source})")
    };
    if explicit {
        return (
            format!(
                "the pods run {} {tag}{beyond}, which needs `{action}`: {started}; an explicit deny blocks it, so adding the documented statement ({}) is not enough: the deny must go",
                c.name,
                lines.join(" ")
            ),
            None,
        );
    }
    (
        format!(
            "the pods run {} {tag}{beyond}, which needs `{action}`: {started}. The policy line to add (its documented statement, narrowed to this action): {}; the whole policy for {tag}: {origin}",
            c.name,
            lines.join(" ")
        ),
        (!statements.is_empty()).then_some(statements),
    )
}

/// `aws iam put-role-policy` with these statements, quoted for a POSIX shell.
fn put_role_policy(role: &str, name: &str, statements: &[serde_json::Value]) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
    format!(
        "aws iam put-role-policy --role-name {} --policy-name {} --policy-document {}",
        irsa_model::command::shell_quote(role),
        irsa_model::command::shell_quote(&name),
        irsa_model::command::shell_quote(&doc.to_string())
    )
}

/// The rules that check a cause, from the registry.
pub fn rules_for(cause: Cause) -> Vec<&'static str> {
    crate::all_rules()
        .into_iter()
        .map(|r| r.meta())
        .filter(|m| m.cause == cause)
        .map(|m| m.code)
        .collect()
}

fn role_name(e: &Extracted) -> Option<String> {
    if let Some(a) = &e.role_arn {
        return a.rsplit('/').next().map(str::to_string);
    }
    e.denied.as_ref().and_then(|d| d.role.clone())
}

/// The AWS troubleshooting articles' command that shows a cause's evidence,
/// filled in with what the error names.
fn evidence(cause: Cause, e: &Extracted) -> Option<String> {
    let role = role_name(e).unwrap_or_else(|| "<role-name>".into());
    let (ns, sa) = match e.service_account.as_deref().and_then(|s| s.split_once('/')) {
        Some((n, s)) => (n.to_string(), s.to_string()),
        None => ("<namespace>".into(), "<serviceaccount>".into()),
    };
    let issuer = e.issuer.clone().unwrap_or_else(|| "<issuer-url>".into());
    Some(match cause {
        Cause::ClusterNoOidcIssuer => "aws eks describe-cluster --name <cluster> --query cluster.identity.oidc.issuer --output text".into(),
        Cause::OidcProviderMissing => format!(
            "aws iam list-open-id-connect-providers --query \"OpenIDConnectProviderList[?ends_with(Arn, '{}')]\"",
            issuer.trim_start_matches("https://")
        ),
        Cause::OidcProviderAudience => "aws iam get-open-id-connect-provider --open-id-connect-provider-arn <provider-arn> --query ClientIDList".into(),
        Cause::OidcProviderThumbprint => format!("irsa-doctor probe -n {ns} --service-account {sa}"),
        Cause::RoleNotFound => format!("aws iam get-role --role-name {role} --query Role.Arn"),
        Cause::RolePermissions => format!(
            "aws iam list-attached-role-policies --role-name {role} && aws iam list-role-policies --role-name {role}"
        ),
        Cause::TrustAction | Cause::TrustPrincipal | Cause::TrustSub | Cause::TrustAud | Cause::TrustConditionKey
        | Cause::TrustOperator | Cause::TrustDeny | Cause::TrustTooBroad | Cause::TrustPolicySize => {
            format!("aws iam get-role --role-name {role} --query Role.AssumeRolePolicyDocument")
        }
        Cause::SaMissing => format!("kubectl get serviceaccount {sa} -n {ns}"),
        Cause::SaAnnotationMissing | Cause::SaAnnotationMalformed | Cause::SaAnnotationOptions => {
            format!("kubectl get serviceaccount {sa} -n {ns} -o jsonpath='{{.metadata.annotations}}'")
        }
        Cause::PodServiceAccount => format!("kubectl get pods -n {ns} -o custom-columns=POD:.metadata.name,SERVICEACCOUNT:.spec.serviceAccountName"),
        Cause::PodNotMutated | Cause::PodStaleRole | Cause::EnvPresetConflict | Cause::PodTokenMount
        | Cause::PodIdentityNotInjected | Cause::MechanismConflict => format!(
            "kubectl get pods -n {ns} -o jsonpath='{{range .items[*]}}{{.metadata.name}}{{\" \"}}{{.spec.serviceAccountName}}{{\" \"}}{{.spec.containers[*].env[*].name}}{{\"\\n\"}}{{end}}'"
        ),
        Cause::WebhookMissing => "kubectl get mutatingwebhookconfiguration pod-identity-webhook -o yaml".into(),
        Cause::CredentialPrecedence => format!("kubectl exec -n {ns} <pod> -- env | grep -E '^AWS_(ACCESS_KEY_ID|PROFILE|SHARED_CREDENTIALS_FILE|CONTAINER_CREDENTIALS_FULL_URI|ROLE_ARN)='"),
        Cause::TokenFilePermission => format!("kubectl exec -n {ns} <pod> -- sh -c 'id; ls -l /var/run/secrets/eks.amazonaws.com/serviceaccount/'"),
        Cause::SdkTooOld => format!("irsa-doctor check -n {ns} --service-account {sa} --sdk <name>=<version>"),
        Cause::ChinaRegion | Cause::RegionalSts => format!("kubectl exec -n {ns} <pod> -- env | grep -E '^AWS_(REGION|DEFAULT_REGION|STS_REGIONAL_ENDPOINTS)='"),
        Cause::PodIdentityAssociation => "aws eks list-pod-identity-associations --cluster-name <cluster>".into(),
        Cause::PodIdentityAgent => "kubectl get daemonset eks-pod-identity-agent -n kube-system -o wide".into(),
        Cause::PodIdentityTrust | Cause::PodIdentitySessionTags => {
            format!("aws iam get-role --role-name {role} --query Role.AssumeRolePolicyDocument")
        }
        Cause::CollectionGap => return None,
    })
}

fn ranked(cause: Cause, likelihood: f64, why: String, e: &Extracted) -> RankedCause {
    let rules = rules_for(cause);
    let evidence = evidence(cause, e);
    let confirm = match (rules.is_empty(), &evidence) {
        (false, Some(ev)) => format!("rule {}; evidence: `{ev}`", rules.join(", ")),
        (false, None) => format!("rule {}", rules.join(", ")),
        (true, Some(ev)) => format!("evidence: `{ev}`"),
        (true, None) => "irsa-doctor check".into(),
    };
    RankedCause {
        cause,
        likelihood,
        why,
        rules,
        evidence,
        confirm,
    }
}

/// The known families whose titles share the most words with the text.
fn nearest(text: &str, cat: &Catalog) -> Vec<String> {
    let words: std::collections::HashSet<String> = catalog::normalise(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 3)
        .map(String::from)
        .collect();
    let mut scored: Vec<(usize, &str)> = cat
        .families
        .iter()
        .filter(|f| f.tier != Tier::Keyword)
        .map(|f| {
            let n = catalog::normalise(f.title)
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() > 3 && words.contains(*w))
                .count();
            (n, f.title)
        })
        .filter(|(n, _)| *n > 0)
        .collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    scored.dedup_by_key(|s| s.1);
    scored
        .into_iter()
        .take(3)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// The ServiceAccount concerned: from the flags, the text, or the snapshot's
/// ServiceAccount whose role the error names.
fn service_account(
    ex: &Explanation,
    context: Option<&Snapshot>,
    scope: &Scope,
) -> Option<(String, String)> {
    if let (Some(ns), Some(sa)) = (&scope.namespace, &scope.service_account) {
        return Some((ns.clone(), sa.clone()));
    }
    if let Some((ns, sa)) = ex
        .extracted
        .service_account
        .as_deref()
        .and_then(|s| s.split_once('/'))
    {
        return Some((ns.to_string(), sa.to_string()));
    }
    let snap = context?;
    let role = role_name(&ex.extracted)?;
    let mut found = snap.service_accounts.values().filter(|s| {
        s.annotations
            .get("eks.amazonaws.com/role-arn")
            .is_some_and(|a| a.trim().rsplit('/').next() == Some(role.as_str()))
    });
    let first = found.next()?;
    // Only when the role names one ServiceAccount: several would be a guess.
    if found.next().is_some() {
        return None;
    }
    Some((first.namespace.to_string(), first.name.to_string()))
}

fn next_steps(ex: &Explanation, context: Option<&Snapshot>, scope: &Scope) -> Vec<NextStep> {
    let mut out = Vec::new();
    if !ex.confirmed.is_empty() {
        return out;
    }
    if let Some(d) = &ex.extracted.denied {
        if rank::principal_kind(&ex.extracted) == rank::PrincipalKind::WorkloadRole {
            if let Some(step) = denied_step(d) {
                out.push(step);
            }
        }
    }
    let sa = service_account(ex, context, scope);
    match &sa {
        Some((ns, name)) => {
            out.push(NextStep {
                why: format!(
                    "checks every link for {ns}/{name} against the cluster and account (read-only)"
                ),
                command: format!("irsa-doctor check -n {ns} --service-account {name}"),
            });
            out.push(NextStep {
                why: "proves web identity end to end: a real token for that ServiceAccount, the issuer, the keys, STS".into(),
                command: format!("irsa-doctor probe -n {ns} --service-account {name}"),
            });
        }
        None => {
            if let Some(arn) = &ex.extracted.role_arn {
                out.push(NextStep {
                    why: "finds the ServiceAccounts annotated with the role the error names".into(),
                    command: format!(
                        "kubectl get serviceaccounts -A -o jsonpath='{{range .items[?(@.metadata.annotations.eks\\.amazonaws\\.com/role-arn==\"{arn}\")]}}{{.metadata.namespace}}{{\"/\"}}{{.metadata.name}}{{\"\\n\"}}{{end}}'"
                    ),
                });
            } else {
                out.push(NextStep {
                    why: "each pod's ServiceAccount and the role injected into it: the pod that logged the error names its ServiceAccount".into(),
                    command: "kubectl get pods -A -o custom-columns='NAMESPACE:.metadata.namespace,POD:.metadata.name,SERVICEACCOUNT:.spec.serviceAccountName,ROLE:.spec.containers[*].env[?(@.name==\"AWS_ROLE_ARN\")].value'".into(),
                });
            }
            out.push(NextStep {
                why: "checks every link for that ServiceAccount against the cluster and account"
                    .into(),
                command: "irsa-doctor check -n <namespace> --service-account <serviceaccount>"
                    .into(),
            });
            out.push(NextStep {
                why: "proves web identity end to end: a real token for that ServiceAccount, the issuer, the keys, STS".into(),
                command: "irsa-doctor probe -n <namespace> --service-account <serviceaccount>"
                    .into(),
            });
        }
    }
    out
}

/// For a later call denied to the workload's role: grant exactly that action, or,
/// when AWS says an explicit deny (SCP, boundary, policy) decided, where to look.
fn denied_step(d: &Denied) -> Option<NextStep> {
    let role = d.role.as_deref()?;
    let reason = d.reason.as_deref().unwrap_or("");
    if reason.contains("explicit deny") || reason.contains("no permissions boundary") {
        let (why, command) = if reason.contains("service control policy")
            || reason.contains("resource control policy")
        {
            (
                "an organization policy denies it: list the policies that apply to the account (run in the management account)",
                "aws organizations list-policies-for-target --target-id <account-id> --filter SERVICE_CONTROL_POLICY".to_string(),
            )
        } else if reason.contains("permissions boundary") {
            (
                "the role's permissions boundary decides it: show the boundary",
                format!("aws iam get-role --role-name {role} --query Role.PermissionsBoundary"),
            )
        } else {
            ("a Deny statement decides it: list the role's policies", format!("aws iam list-attached-role-policies --role-name {role} && aws iam list-role-policies --role-name {role}"))
        };
        return Some(NextStep {
            why: why.into(),
            command,
        });
    }
    let resource = d
        .resource
        .as_deref()
        .filter(|r| r.starts_with("arn:"))
        .unwrap_or("*");
    let name: String = d
        .action
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    Some(NextStep {
        why: format!("grants role {role} exactly the denied action (least privilege; review the resource before running)"),
        command: format!(
            "aws iam put-role-policy --role-name {role} --policy-name allow-{name} --policy-document '{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"{}\",\"Resource\":\"{resource}\"}}]}}'",
            d.action
        ),
    })
}

fn confirm(ex: &mut Explanation, snap: &Snapshot, scope: &Scope) {
    // Every recognised error's causes, the explained one's first.
    let mut ranked: Vec<Cause> = ex.causes.iter().map(|c| c.cause).collect();
    for e in &ex.errors {
        for c in &e.causes {
            if !ranked.contains(&c.cause) {
                ranked.push(c.cause);
            }
        }
    }
    let report = crate::check(snap, scope, &crate::Options::default());
    let want_role = ex.extracted.role_arn.clone();
    let want_name = role_name(&ex.extracted);
    let want_sa = ex.extracted.service_account.clone();
    let relevant_role = |role: &Option<String>| match (&want_role, &want_name, role) {
        (Some(want), _, Some(have)) => want == have,
        (None, Some(name), Some(have)) => have.rsplit('/').next() == Some(name.as_str()),
        _ => true,
    };
    let sa_of = |f: &crate::Finding| -> Option<String> {
        if f.subject.kind == "ServiceAccount" {
            return f
                .subject
                .namespace
                .as_ref()
                .map(|ns| format!("{ns}/{}", f.subject.name));
        }
        if f.subject.kind == "Pod" {
            let ns = f.subject.namespace.as_deref()?;
            let pod = snap
                .pods
                .iter()
                .find(|p| p.namespace == ns && p.name == f.subject.name)?;
            return Some(format!("{ns}/{}", pod.spec.effective_service_account()));
        }
        let role = f.role_arn.as_deref()?;
        report
            .chains
            .iter()
            .find(|c| c.role_arn == role)
            .and_then(|c| {
                c.subject
                    .namespace
                    .as_ref()
                    .map(|ns| format!("{ns}/{}", c.subject.name))
            })
    };
    for f in &report.findings {
        if f.severity != Severity::Error
            || !ranked.contains(&f.cause)
            || !relevant_role(&f.role_arn)
        {
            continue;
        }
        let sa = sa_of(f);
        if let (Some(want), Some(have)) = (&want_sa, &sa) {
            if want != have {
                continue;
            }
        }
        if ex
            .confirmed
            .iter()
            .any(|c| c.rule == f.rule && c.subject == f.subject.display())
        {
            continue;
        }
        ex.confirmed.push(Confirmed {
            cause: f.cause,
            rule: f.rule,
            subject: f.subject.display(),
            service_account: sa,
            message: f.message.render(),
            fix: f
                .fix
                .first()
                .map(|x| x.command.clone().unwrap_or_else(|| x.summary.clone())),
            fixes: f.fix.clone(),
        });
    }
    ex.confirmed.sort_by_key(|c| {
        ranked
            .iter()
            .position(|r| *r == c.cause)
            .unwrap_or(usize::MAX)
    });
    if !ex.confirmed.is_empty() {
        return;
    }
    let chains: Vec<_> = report
        .chains
        .iter()
        .filter(|c| want_role.as_ref().is_none_or(|r| &c.role_arn == r))
        .filter(|c| {
            want_name
                .as_ref()
                .is_none_or(|n| c.role_arn.rsplit('/').next() == Some(n.as_str()))
        })
        .collect();
    let all_succeed = !chains.is_empty()
        && chains
            .iter()
            .all(|c| matches!(c.prediction, StsPrediction::Success { .. }));
    ex.contradiction = Some(if all_succeed {
        "the snapshot's configuration would succeed now: the error may predate a fix (recreate the pods: `kubectl rollout restart`), or the snapshot is of another cluster/account".into()
    } else if chains.is_empty() {
        "no ServiceAccount in the snapshot uses the role named in the error; add the ServiceAccount and the role to the snapshot".into()
    } else {
        "none of the ranked causes is confirmed by the snapshot; what it lacks is listed as not checked by `irsa-doctor check`".into()
    });
}

/// Whether nothing in scope could be evaluated against the context: no chain of
/// the snapshot concerns the error (for the exit status).
pub fn unconfirmable(ex: &Explanation) -> bool {
    ex.confirmed.is_empty()
        && ex
            .contradiction
            .as_deref()
            .is_some_and(|c| c.starts_with("no ServiceAccount in the snapshot"))
}
