//! IRSA102: the role's permission policies grant what its workload needs. For a
//! well-known controller, every action the documented policy of the running release
//! grants is evaluated against the role's attached (default versions) and inline
//! policies and its permissions boundary; a missing action is an error naming the
//! release that needs it, fixed with that release's policy.

use crate::context::{Context, Out, RoleState};
use crate::declare_rule;
use crate::finding::{Cause, Fix, Severity, Subject};
use crate::fixes::sh;
use crate::messages::Message;
use crate::registry::Rule;
use crate::rules::sdk_evidence::controller_image;
use irsa_knowledge::{knowledge, Controller, PermissionRow, Version};
use irsa_model::{BoundaryState, Role, RolePolicies};
use irsa_policy::identity::Unknown;
use irsa_policy::{
    IdentityDecision, IdentityEvaluator, IdentityPolicies, IdentityRequest, OUT_OF_VIEW,
};
use std::collections::BTreeSet;

declare_rule!(RolePermissionsRule, code: "IRSA102", name: "role-permissions", cause: RolePermissions, severity: Warning,
    summary: "The role's permission policies grant what its workload needs (each action of a known controller's release).",
    doc: include_str!("role_permissions.md"));

/// AWS-managed policies of well-known controllers, in the role's partition.
fn managed_policy(c: Option<&Controller>, role_arn: &str) -> Option<String> {
    let partition = role_arn.split(':').nth(1).unwrap_or("aws");
    let path = c?.policy.as_ref()?.managed.as_ref()?;
    Some(format!("arn:{partition}:iam::aws:policy/{path}"))
}

/// The controllers (and releases) that run as a ServiceAccount, from their images;
/// else the one its name usually belongs to (release unknown).
fn controllers_of(
    cx: &Context<'_>,
    ns: &str,
    sa: &str,
) -> Vec<(&'static Controller, Option<Version>, Option<String>)> {
    let mut out: Vec<(&'static Controller, Option<Version>, Option<String>)> = Vec::new();
    let specs = cx
        .workloads_of_sa(ns, sa)
        .filter(|w| w.owner.is_none())
        .map(|w| &w.template)
        .chain(
            cx.pods_of_sa(ns, sa)
                .filter(|p| p.owner.is_none())
                .map(|p| &p.spec),
        );
    for spec in specs {
        for c in spec.all_containers() {
            if let Some(m) = controller_image(spec, c) {
                if !out
                    .iter()
                    .any(|(x, v, _)| x.id == m.controller.id && *v == m.version)
                {
                    out.push((m.controller, m.version.clone(), m.tag.clone()));
                }
            }
        }
    }
    if out.is_empty() {
        if let Some(c) = knowledge().controller_for_service_account(sa) {
            out.push((c, None, None));
        }
    }
    out
}

impl Rule for RolePermissionsRule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let mut seen = BTreeSet::new();
        let mut checked = BTreeSet::new();
        for i in &cx.irsa {
            let RoleState::Found(r) = &i.role else {
                continue;
            };
            check_role(
                cx,
                out,
                r,
                &i.sa.namespace,
                &i.sa.name,
                &mut seen,
                &mut checked,
            );
        }
        // EKS Pod Identity: the association's role serves the same workloads; with a
        // target role, the pods get the target role's credentials (EKS assumes it with
        // the association role's), so that is the role whose permissions they use.
        for a in &cx.snap.pod_identity {
            if !cx.sa_in_scope(&a.namespace, &a.service_account) {
                continue;
            }
            let used = a.target_role_arn.as_deref().or(a.role_arn.as_deref());
            let Some(r) = used.and_then(|arn| cx.snap.role(arn)) else {
                continue;
            };
            check_role(
                cx,
                out,
                r,
                &a.namespace,
                &a.service_account,
                &mut seen,
                &mut checked,
            );
        }
    }
}

type Checked = BTreeSet<(String, String, Option<String>)>;

fn check_role(
    cx: &Context<'_>,
    out: &mut Out,
    r: &Role,
    namespace: &str,
    service_account: &str,
    seen: &mut BTreeSet<String>,
    checked: &mut Checked,
) {
    let meta = &RolePermissionsRule::META;
    let sa_subject = Subject::namespaced("ServiceAccount", namespace, service_account);
    let subject = Subject::global("Role", &r.arn);
    let controllers = controllers_of(cx, namespace, service_account);
    let (Some(attached), Some(inline)) = (&r.attached_policies, &r.inline_policies) else {
        if seen.insert(r.arn.clone()) {
            let f = out.report(
                meta,
                subject,
                Message::new("gap-role-policies")
                    .arg("role", &r.arn)
                    .arg("name", sh(&r.name)),
            );
            f.cause = Cause::CollectionGap;
            f.severity(Severity::Info).role(&r.arn);
        }
        return;
    };
    let names: Vec<String> = attached
        .iter()
        .map(|p| p.name.clone())
        .chain(inline.iter().cloned())
        .collect();
    if names.is_empty() {
        if seen.insert(r.arn.clone()) {
            let controller = controllers.first().map(|(c, ..)| *c);
            out.report(meta, subject, Message::new("role-no-policies").arg("role", &r.arn))
                .role(&r.arn)
                .fix(match managed_policy(controller, &r.arn) {
                    Some(policy) => Fix::command(
                        format!("attach {policy}, the AWS-managed policy this controller uses"),
                        format!(
                            "aws iam attach-role-policy --role-name {} --policy-arn {policy}",
                            sh(&r.name)
                        ),
                    ),
                    None => Fix::advice(format!(
                        "attach the policy the workload needs: aws iam attach-role-policy --role-name {} --policy-arn <its ARN>",
                        sh(&r.name)
                    )),
                });
        }
        return;
    }
    let policies = cx.snap.role_policies(r);
    let mut judged_any = false;
    for (c, version, tag) in &controllers {
        if c.permissions.is_empty() {
            continue;
        }
        if !checked.insert((r.arn.clone(), c.id.clone(), tag.clone())) {
            continue;
        }
        judged_any = true;
        check_controller(
            cx,
            out,
            r,
            &sa_subject,
            c,
            version.as_ref(),
            tag.as_deref(),
            &policies,
            &names,
        );
    }
    if !judged_any && seen.insert(r.arn.clone()) {
        out.pass(
            meta,
            subject,
            Message::new("role-policies-ok")
                .arg("role", &r.arn)
                .arg("policies", names.join(", ")),
        );
    }
}

/// What the role does with one required action.
enum Outcome {
    Granted,
    /// Granted by a statement whose conditions are the upstream policy's own (keys).
    GrantedAsUpstream,
    Missing(String),
    Undetermined(String),
}

#[allow(clippy::too_many_arguments)]
fn check_controller(
    cx: &Context<'_>,
    out: &mut Out,
    role: &Role,
    sa_subject: &Subject,
    c: &Controller,
    version: Option<&Version>,
    tag: Option<&str>,
    policies: &RolePolicies<'_>,
    names: &[String],
) {
    let meta = &RolePermissionsRule::META;
    let base = |id: &'static str| {
        Message::new(id)
            .arg("role", &role.arn)
            .arg("controller", &c.name)
            .arg("release", tag.unwrap_or("(release unknown)"))
    };
    let Some(version) = version else {
        // Name-based guess, or an image tag that names no release: the old name check.
        if let Some(p) = &c.policy {
            let lower = p.name.to_lowercase();
            if !names.iter().any(|n| n.to_lowercase().contains(&lower)) {
                out.report(
                    meta,
                    sa_subject.clone(),
                    Message::new("role-controller-policy")
                        .arg("role", &role.arn)
                        .arg("controller", &c.name)
                        .arg("expected", &p.name)
                        .arg("policies", names.join(", ")),
                )
                .severity(Severity::Info)
                .role(&role.arn);
            }
        }
        let f = out.report(
            meta,
            sa_subject.clone(),
            base("gap-controller-release").arg(
                "why",
                match tag {
                    Some(t) => format!("the image tag `{t}` names no release"),
                    None => {
                        "no container of it was found (a workload or pod running its image)".into()
                    }
                },
            ),
        );
        f.cause = Cause::CollectionGap;
        f.severity(Severity::Info).role(&role.arn);
        return;
    };
    let Some(at) = c.permissions_at(version) else {
        let f = out.report(
            meta,
            sa_subject.clone(),
            base("gap-controller-release").arg(
                "why",
                format!(
                    "{} {version} is older than the releases whose policy the data covers",
                    c.name
                ),
            ),
        );
        f.cause = Cause::CollectionGap;
        f.severity(Severity::Info).role(&role.arn);
        return;
    };
    let row = at.row;
    if policies.documents.is_empty() && !policies.missing.is_empty() {
        let commands: Vec<String> = policies
            .missing
            .iter()
            .flat_map(|m| m.commands.clone())
            .collect();
        let f = out.report(
            meta,
            Subject::global("Role", &role.arn),
            base("gap-policy-documents")
                .arg(
                    "policies",
                    policies
                        .missing
                        .iter()
                        .map(|m| m.name.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                )
                .arg("commands", commands.join("`, `")),
        );
        f.cause = Cause::CollectionGap;
        f.severity(Severity::Info).role(&role.arn);
        return;
    }
    let partition = role.arn.split(':').nth(1).unwrap_or("aws");
    let account = role.arn.split(':').nth(4).unwrap_or("");
    let known = Known::of(cx, account);
    let missing_names: Vec<&str> = policies.missing.iter().map(|m| m.name.as_str()).collect();
    let set = IdentityPolicies {
        policies: policies.named(),
        not_collected: missing_names,
        boundary: policies.evaluated_boundary(),
    };
    let evaluator = IdentityEvaluator::new(&set);
    let mut missing: Vec<(String, String)> = Vec::new(); // (action, why)
    let mut optional_missing: Vec<(String, String)> = Vec::new();
    let mut undetermined: Vec<(String, String)> = Vec::new();
    let mut granted = 0usize;
    let mut as_upstream = 0usize;
    let mut done = BTreeSet::new();
    for st in &row.statements {
        for action in &st.actions {
            for resource in &st.resources {
                let resource = irsa_knowledge::controller::in_partition(
                    &widen_placeholders(&known.fill(resource)),
                    partition,
                );
                if !done.insert((action.to_lowercase(), resource.clone())) {
                    continue;
                }
                let req = IdentityRequest::new(action.clone(), resource.clone())
                    .with_key("aws:PrincipalArn", &[role.arn.as_str()])
                    .with_key("aws:PrincipalAccount", &[account]);
                let outcome = match evaluator.evaluate(&req) {
                    IdentityDecision::Allowed { .. } => Outcome::Granted,
                    IdentityDecision::NotAllowed => {
                        Outcome::Missing("no policy of the role allows it".into())
                    }
                    IdentityDecision::BoundaryDoesNotAllow { .. } => {
                        Outcome::Missing("the role's permissions boundary does not allow it".into())
                    }
                    IdentityDecision::ExplicitDeny { by, .. } => Outcome::Missing(format!(
                        "explicitly denied by statement {} of {}",
                        by.sid.clone().unwrap_or_else(|| by.statement.to_string()),
                        by.policy
                    )),
                    IdentityDecision::Undetermined { why } => {
                        // Granted as the documentation grants it: an Allow whose only
                        // unknowns are conditions on keys the documented policy itself
                        // conditions this action on, nothing uncollected, no Deny that
                        // may apply.
                        let upstream_keys =
                            required_keys(row, action, &resource, partition, &known);
                        let blocked = why.iter().any(|u| match u {
                            Unknown::Condition { deny, .. }
                            | Unknown::PartialMatch { deny, .. } => *deny,
                            Unknown::PolicyNotCollected { .. }
                            | Unknown::BoundaryNotCollected { .. } => true,
                        });
                        let as_documented = why.iter().any(|u| match u {
                            Unknown::Condition {
                                deny: false, keys, ..
                            } => keys
                                .iter()
                                .all(|k| upstream_keys.contains(&k.to_lowercase())),
                            _ => false,
                        });
                        if as_documented && !blocked {
                            Outcome::GrantedAsUpstream
                        } else {
                            Outcome::Undetermined(describe_unknowns(&why))
                        }
                    }
                };
                let label = if resource == "*" {
                    action.clone()
                } else {
                    format!("{action} on {resource}")
                };
                match outcome {
                    Outcome::Granted => granted += 1,
                    Outcome::GrantedAsUpstream => as_upstream += 1,
                    Outcome::Missing(why) => {
                        // The release that started needing it (an action dropped and
                        // added back counts from its return).
                        let since = c
                            .needed_since(version, action)
                            .or_else(|| c.first_version_needing(action))
                            .map(|v| v.to_string())
                            .unwrap_or_default();
                        let text = format!("{label} (needed since {since}; {why})");
                        match c.optional_for(action) {
                            Some(o) => optional_missing.push((text, o.needed_for.clone())),
                            None => missing.push((action.clone(), text)),
                        }
                    }
                    Outcome::Undetermined(why) => undetermined.push((label, why)),
                }
            }
        }
    }
    let release = tag.unwrap_or("");
    let beyond = if at.beyond_known {
        format!(
            " (newer than the data; the policy of {} is assumed)",
            row.since
        )
    } else {
        String::new()
    };
    if !missing.is_empty() {
        let first = &missing[0].0;
        let session = format!(
            "arn:{partition}:sts::{account}:assumed-role/{}/<session>",
            role.name
        );
        let f = out.report(
            meta,
            sa_subject.clone(),
            base("role-missing-actions")
                .arg("count", missing.len().to_string())
                .arg(
                    "actions",
                    missing
                        .iter()
                        .map(|(_, t)| t.as_str())
                        .collect::<Vec<_>>()
                        .join("; "),
                )
                .arg("source", format!("{}{beyond}", row.source)),
        );
        f.severity(Severity::Error).role(&role.arn);
        f.predicts(format!(
            "AccessDenied: User: {session} is not authorized to perform: {first} because no identity-based policy allows the {first} action"
        ));
        for fix in policy_fixes(cx, role, c, row, release, policies, partition, account) {
            f.fix(fix);
        }
    }
    if !optional_missing.is_empty() {
        out.report(
            meta,
            sa_subject.clone(),
            base("role-missing-optional-actions")
                .arg("actions", optional_missing.iter().map(|(a, n)| format!("{a}, needed for {n}")).collect::<Vec<_>>().join("; "))
                .arg("source", row.source.clone()),
        )
        .severity(Severity::Warning)
        .role(&role.arn)
        .fix(Fix::advice(format!(
            "if this {} uses those features, grant the actions (the documented policy of the release does: {})",
            c.name,
            row.url.clone().or_else(|| row.doc.clone()).unwrap_or_default()
        )));
    }
    if !undetermined.is_empty() {
        let shown: Vec<String> = undetermined
            .iter()
            .take(12)
            .map(|(a, w)| format!("{a}: {w}"))
            .collect();
        let more = undetermined.len().saturating_sub(shown.len());
        let mut commands: Vec<String> = policies
            .missing
            .iter()
            .flat_map(|m| m.commands.clone())
            .collect();
        if let BoundaryState::Unknown { commands: more, .. } = &policies.boundary {
            commands.extend(more.iter().cloned());
        }
        let f = out.report(
            meta,
            sa_subject.clone(),
            base("role-actions-undetermined")
                .arg("count", undetermined.len().to_string())
                .arg(
                    "actions",
                    format!(
                        "{}{}",
                        shown.join("; "),
                        if more > 0 {
                            format!("; and {more} more")
                        } else {
                            String::new()
                        }
                    ),
                )
                .arg(
                    "add",
                    if commands.is_empty() {
                        "run `irsa-doctor probe` or IAM's policy simulator for the real answer"
                            .to_string()
                    } else {
                        format!("add `{}`", commands.join("`, `"))
                    },
                ),
        );
        f.cause = Cause::CollectionGap;
        f.severity(Severity::Info).role(&role.arn);
    }
    if missing.is_empty() && undetermined.is_empty() {
        out.pass(
            meta,
            sa_subject.clone(),
            base("role-grants-release")
                .arg("count", (granted + as_upstream).to_string())
                .arg(
                    "note",
                    if as_upstream > 0 {
                        format!(" ({as_upstream} under the documented policy's own conditions, which the controller meets by design)")
                    } else {
                        String::new()
                    },
                )
                .arg("source", format!("{}{beyond}", row.source))
                .arg("out_of_view", OUT_OF_VIEW),
        );
    }
}

/// The condition keys the documented policy puts on an action and resource, over
/// every statement that grants it (lower-case).
fn required_keys(
    row: &PermissionRow,
    action: &str,
    resource: &str,
    partition: &str,
    known: &Known,
) -> Vec<String> {
    let mut keys = Vec::new();
    for st in &row.statements {
        let grants = st.actions.iter().any(|a| a.eq_ignore_ascii_case(action))
            && st.resources.iter().any(|r| {
                irsa_knowledge::controller::in_partition(
                    &widen_placeholders(&known.fill(r)),
                    partition,
                ) == resource
            });
        if grants {
            keys.extend(st.condition_keys().iter().map(|k| known.fill_lower(k)));
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// What the snapshot tells about the placeholders of a documented template
/// (Karpenter's `${ClusterName}`, `${Region}`, `${AccountId}`): a requirement scoped
/// to this cluster is checked as such; what is not known stays a placeholder (any).
struct Known {
    values: Vec<(&'static str, String)>,
}

impl Known {
    fn of(cx: &Context<'_>, account: &str) -> Known {
        let mut values = Vec::new();
        if let Some(c) = cx.snap.cluster() {
            values.push(("${ClusterName}", c.name.clone()));
        }
        if let Some(r) = cx.snap.region() {
            values.push(("${Region}", r));
        }
        if !account.is_empty() {
            values.push(("${AccountId}", account.to_string()));
        }
        Known { values }
    }

    fn fill(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (k, v) in &self.values {
            out = out.replace(k, v);
        }
        out
    }

    /// For lower-cased condition keys.
    fn fill_lower(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (k, v) in &self.values {
            out = out.replace(&k.to_lowercase(), &v.to_lowercase());
        }
        out
    }
}

/// `${BUCKET}`-style placeholders of documentation (not IAM policy variables, which
/// contain `:`) stand for a name the user chose: any.
fn widen_placeholders(resource: &str) -> String {
    let mut out = String::new();
    let mut rest = resource;
    while let Some(start) = rest.find("${") {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let inner = &rest[start + 2..start + end];
        out.push_str(&rest[..start]);
        if inner.contains(':') {
            out.push_str(&rest[start..start + end + 1]);
        } else {
            out.push('*');
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

pub(crate) fn describe_unknowns(why: &[Unknown]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for u in why {
        let p = match u {
            Unknown::Condition {
                statement, keys, ..
            } => format!(
                "statement {} of {} depends on {}",
                statement
                    .sid
                    .clone()
                    .unwrap_or_else(|| statement.statement.to_string()),
                statement.policy,
                keys.iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Unknown::PartialMatch { statement, .. } => format!(
                "statement {} of {} covers only some of the resources",
                statement
                    .sid
                    .clone()
                    .unwrap_or_else(|| statement.statement.to_string()),
                statement.policy
            ),
            Unknown::PolicyNotCollected { policy } => format!("{policy} is not in the snapshot"),
            Unknown::BoundaryNotCollected { why } => why.clone(),
        };
        if !parts.contains(&p) {
            parts.push(p);
        }
    }
    parts.join(", ")
}

/// The fix: the documented policy of the release, on the role, in its account.
#[allow(clippy::too_many_arguments)]
fn policy_fixes(
    cx: &Context<'_>,
    role: &Role,
    c: &Controller,
    row: &PermissionRow,
    release: &str,
    policies: &RolePolicies<'_>,
    partition: &str,
    account: &str,
) -> Vec<Fix> {
    let _ = policies;
    if let Some(managed) = managed_policy(Some(c), &role.arn) {
        return vec![Fix::command(
            format!(
                "attach {managed}, the AWS-managed policy for {} (in account {account})",
                c.name
            ),
            format!(
                "aws iam attach-role-policy --role-name {} --policy-arn {managed}",
                sh(&role.name)
            ),
        )];
    }
    let base_name = c
        .policy
        .as_ref()
        .map(|p| p.name.clone())
        .unwrap_or_else(|| format!("{}-policy", c.id));
    let version_label = release
        .trim_start_matches(|ch: char| !ch.is_ascii_digit())
        .replace(
            |ch: char| !(ch.is_ascii_alphanumeric() || ch == '.' || ch == '-'),
            "-",
        );
    let file = format!("{base_name}-{version_label}.json");
    // The template's parameters the snapshot knows (cluster, region, account) filled in.
    let doc = Known::of(cx, account)
        .fill(&serde_json::to_string_pretty(&row.policy_document(partition)).unwrap_or_default());
    let placeholders = doc.contains("${") && {
        let d = widen_placeholders(&doc);
        d != doc
    };
    let origin = row
        .url
        .clone()
        .or_else(|| row.doc.clone())
        .unwrap_or_else(|| row.source.clone());
    let write = format!("cat > {file} <<'EOF'\n{doc}\nEOF");
    // The attached customer-managed policy that is the controller's, if any: a new
    // default version of it (as the controller's upgrade guides do).
    let lower = base_name.to_lowercase();
    let own = role.attached_policies.iter().flatten().find(|p| {
        p.name.to_lowercase().contains(&lower)
            && p.arn
                .as_deref()
                .is_some_and(|a| !a.contains(":iam::aws:policy/"))
    });
    let mut summary = format!(
        "apply the policy {} documents for {release} ({origin}) to role {}, in account {account}",
        c.name, role.name
    );
    if placeholders {
        summary.push_str(": replace the ${…} placeholders with your names first");
    }
    let command = match own.and_then(|p| p.arn.clone()) {
        Some(arn) => format!(
            "{write}\n# IAM keeps 5 versions: if it has 5, delete the oldest non-default one first (aws iam list-policy-versions --policy-arn {a})\naws iam create-policy-version --policy-arn {a} --policy-document file://{file} --set-as-default",
            a = sh(&arn)
        ),
        None => {
            let name = format!("{base_name}-{version_label}");
            format!(
                "{write}\naws iam create-policy --policy-name {n} --policy-document file://{file}\naws iam attach-role-policy --role-name {r} --policy-arn arn:{partition}:iam::{account}:policy/{n}",
                n = sh(&name),
                r = sh(&role.name)
            )
        }
    };
    vec![Fix::command(summary, command)]
}
