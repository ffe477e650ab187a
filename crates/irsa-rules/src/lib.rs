//! IRSA diagnosis rules. Every step of the troubleshooting articles is a rule
//! (one per file under `rules/`), reporting typed findings with a stable cause,
//! AWS's exact error where STS is involved, and a copy-pasteable fix.
//!
//! Pure: reads a [`irsa_model::Snapshot`], does no I/O.

#![warn(missing_docs)]

pub mod context;
pub mod explain;
pub mod finding;
pub mod fix_target;
pub mod fixes;
pub mod messages;
pub mod node_role;
pub mod pod_identity;
pub mod registry;
pub mod rules;
pub mod scope;
pub mod verdict;

pub use context::{Context, Options, Scope};
pub use finding::{Cause, Finding, Fix, FixCluster, Pass, Severity, Subject};
pub use messages::Message;
pub use registry::{all_rules, rule_by_code, Rule, RuleMeta};
pub use verdict::{NotChecked, Status, Verdict};

use irsa_model::Snapshot;
use irsa_policy::StsPrediction;
use serde::Serialize;
use std::collections::BTreeSet;

/// The end-to-end verdict for one ServiceAccount: what STS would answer its pods, then
/// what the SDK in those pods actually does.
#[derive(Debug, Clone, Serialize)]
pub struct Chain {
    /// The ServiceAccount.
    pub subject: Subject,
    /// The annotated role (as written).
    pub role_arn: irsa_model::Text,
    /// Pods running as it.
    pub pods: usize,
    /// Predicted STS answer.
    pub prediction: StsPrediction,
    /// The outcome for its pods (STS, then the SDK in the pod).
    pub verdict: Verdict,
    /// The ServiceAccount object was not read: its role is the one its pods carry.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub from_pods: bool,
    /// How its pods get credentials: the IRSA annotation, or an EKS Pod Identity
    /// association (which wins when both exist: the webhook then injects the Pod
    /// Identity variables and not `AWS_ROLE_ARN`, aws/amazon-eks-pod-identity-webhook
    /// `pkg/handler/handler.go`, `buildPodPatchConfig`).
    pub mechanism: Mechanism,
}

/// How a ServiceAccount's pods get AWS credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    /// IAM roles for service accounts (web identity).
    Irsa,
    /// EKS Pod Identity (container credentials from the agent).
    PodIdentity,
}

impl Mechanism {
    /// The id (`irsa`, `pod-identity`).
    pub fn id(self) -> &'static str {
        match self {
            Mechanism::Irsa => "irsa",
            Mechanism::PodIdentity => "pod-identity",
        }
    }
}

/// What was actually evaluated, end to end (so CI can tell "clean" from "blind").
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Checked {
    /// ServiceAccounts in scope examined (with or without a role).
    pub serviceaccounts: usize,
    /// ServiceAccounts with a role whose verdict was decided (not "not checked").
    pub chains: usize,
    /// Roles whose existence and trust policy were evaluated.
    pub roles: usize,
    /// Accounts whose OIDC providers were evaluated.
    pub providers: usize,
    /// Clusters whose issuer was known.
    pub clusters: usize,
    /// Pods in scope examined.
    pub pods: usize,
    /// Workloads (Deployments, DaemonSets, …) in scope examined.
    pub workloads: usize,
}

/// Severity counts, and what was checked.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Errors.
    pub error: usize,
    /// Warnings.
    pub warning: usize,
    /// Infos.
    pub info: usize,
    /// What was evaluated end to end.
    pub checked: Checked,
    /// Links in scope that could not be evaluated (see [`Report::not_checked`]).
    pub not_checked: usize,
}

/// The result of a check.
#[derive(Debug, Clone)]
pub struct Report {
    /// Findings, in data-flow order (cluster → role → ServiceAccount → pods).
    pub findings: Vec<Finding>,
    /// Checks that passed.
    pub passes: Vec<Pass>,
    /// Per-ServiceAccount verdicts.
    pub chains: Vec<Chain>,
    /// Counts.
    pub summary: Summary,
    /// What in scope could not be evaluated, and why: every gap at warning (a gap at
    /// warning is one that prevents evaluating a link of a chain in scope), and every
    /// chain whose verdict is "not checked".
    pub not_checked: Vec<NotChecked>,
    /// Set when nothing in scope could be evaluated: one line naming what is missing.
    pub nothing_checked: Option<String>,
    /// Inputs that could not be read.
    pub rejected_inputs: usize,
}

/// What a run amounts to; the CLI maps it to an exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'r> {
    /// Nothing in scope could be evaluated (the one-line reason).
    NothingChecked(&'r str),
    /// Some inputs could not be read (how many).
    RejectedInputs(usize),
    /// Links in scope could not be evaluated, and gaps were not allowed.
    Incomplete(&'r [NotChecked]),
    /// Findings at the level asked for.
    Findings,
    /// Everything in scope was evaluated; no finding at the level asked for.
    Clean,
}

impl Report {
    /// Whether any finding is at least as severe as `level`.
    pub fn fails_at(&self, level: Severity) -> bool {
        self.findings.iter().any(|f| f.severity <= level)
    }

    /// The outcome: nothing checked and rejected inputs first (they are never "clean"),
    /// then gaps unless `allow_gaps`, then findings at `fail_on`.
    pub fn outcome(&self, fail_on: Severity, allow_gaps: bool) -> Outcome<'_> {
        if let Some(why) = &self.nothing_checked {
            return Outcome::NothingChecked(why);
        }
        if self.rejected_inputs > 0 {
            return Outcome::RejectedInputs(self.rejected_inputs);
        }
        if !allow_gaps && !self.not_checked.is_empty() {
            return Outcome::Incomplete(&self.not_checked);
        }
        if self.fails_at(fail_on) {
            Outcome::Findings
        } else {
            Outcome::Clean
        }
    }
}

/// Parses the compiled-in knowledge tables (SDK minimums, controllers, documented
/// policies) on another thread, now: a command that reads a snapshot calls this first,
/// so that they load while its files are read rather than before (a rule that needs
/// them waits for them if they are not loaded yet).
pub fn preload_knowledge() {
    // On one thread (or without a thread to spare) they load when first needed, as
    // without this call.
    if irsa_model::threads() <= 1 {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("knowledge".into())
        .spawn(|| {
            irsa_knowledge::knowledge();
            irsa_knowledge::managed_policy::documented_policies();
        });
}

/// Runs every rule.
pub fn check(snap: &Snapshot, scope: &Scope, options: &Options) -> Report {
    check_with(snap, scope, options, |_| ()).0
}

/// [`check`], and what `inspect` reads of the context the rules ran on (built once for
/// both: `lint` counts the trust policies evaluated).
pub fn check_with<R>(
    snap: &Snapshot,
    scope: &Scope,
    options: &Options,
    inspect: impl FnOnce(&Context<'_>) -> R,
) -> (Report, R) {
    let inferred = context::service_accounts_from_pods(snap);
    let mut cx = Context::with_inferred(snap, &inferred, scope, options);
    if let Some(miss) = scope::scope_miss(snap, scope) {
        let report = Report {
            findings: Vec::new(),
            passes: Vec::new(),
            chains: Vec::new(),
            summary: Summary::default(),
            not_checked: Vec::new(),
            nothing_checked: Some(miss),
            rejected_inputs: snap.inputs.rejected.len(),
        };
        return (report, inspect(&cx));
    }
    // What `inspect` reads is the context as built.
    let inspected = inspect(&cx);
    // The rules are independent and read the context only: they run on every core, and
    // their findings are joined in the rules' order (the report does not depend on the
    // threads' timing). The few that read the trust policies' diagnoses run first; those
    // are then freed (7 MB at ten thousand ServiceAccounts), before the rules that grow
    // with the pods write most of the report, which then takes their room.
    let rules = all_rules();
    let (first, then): (Vec<usize>, Vec<usize>) = registry::start_order(&rules)
        .into_iter()
        .partition(|&i| registry::reads_trust_diagnoses(rules[i]));
    let run = |cx: &Context<'_>, i: usize| {
        let mut out = context::Out::default();
        rules[i].check(cx, &mut out);
        // At their length before they are joined: the joined copy and these are held
        // together for a moment.
        out.findings.shrink_to_fit();
        out.passes.shrink_to_fit();
        out
    };
    // In report order.
    let mut outs: Vec<context::Out> = std::iter::repeat_with(context::Out::default)
        .take(rules.len())
        .collect();
    for (&i, out) in first
        .iter()
        .zip(irsa_model::map_dynamic(&first, |&i| run(&cx, i)))
    {
        outs[i] = out;
    }
    cx.release_trust();
    for (&i, out) in then
        .iter()
        .zip(irsa_model::map_dynamic(&then, |&i| run(&cx, i)))
    {
        outs[i] = out;
    }
    // What only the rules read is freed before the report is joined.
    cx.release_indexes();
    // The findings, then the passes, each rule's list freed once moved into the joined
    // one: one kind at a time is held twice while it is joined (joining both at once
    // held every finding and pass twice for a moment, a report's largest).
    let mut out = context::Out {
        findings: Vec::with_capacity(outs.iter().map(|o| o.findings.len()).sum()),
        passes: Vec::new(),
    };
    for o in &mut outs {
        out.findings.append(&mut std::mem::take(&mut o.findings));
    }
    out.passes = Vec::with_capacity(outs.iter().map(|o| o.passes.len()).sum());
    for o in outs {
        out.passes.extend(o.passes);
    }
    dedup(&mut out.findings);
    fix_target::finish(&mut out.findings, snap);
    let mut summary = Summary::default();
    for f in &out.findings {
        match f.severity {
            Severity::Error => summary.error += 1,
            Severity::Warning => summary.warning += 1,
            Severity::Info => summary.info += 1,
        }
    }
    let index = verdict::FindingIndex::new(&out.findings);
    let pi_chains = cx.pod_identity_chains();
    let associated: irsa_model::keys::FastSet<(&str, &str)> = pi_chains
        .iter()
        .map(|c| (c.assoc.namespace.as_str(), c.assoc.service_account.as_str()))
        .collect();
    let has_association = |ns: &str, sa: &str| associated.contains(&(ns, sa));
    // The association decides what the webhook injects: one verdict, Pod Identity's.
    let irsa_chains: Vec<&context::SaIrsa<'_>> = cx
        .irsa
        .iter()
        .filter(|i| !has_association(&i.sa.namespace, &i.sa.name))
        .collect();
    // One verdict per ServiceAccount, on every core, in order.
    let mut chains: Vec<Chain> = irsa_model::map_items(&irsa_chains, |i| {
        let (verdict, pods) = verdict::verdict(&cx, i, &index);
        Chain {
            subject: i.subject(),
            role_arn: i.annotation.clone(),
            pods,
            prediction: i.prediction.clone(),
            verdict,
            from_pods: i.inferred,
            mechanism: Mechanism::Irsa,
        }
    });
    // The node roles' findings, which a Pod Identity verdict reads when its pods' node
    // role is refused or unknown.
    let node_role: Vec<&Finding> = match pi_chains {
        [] => Vec::new(),
        _ => out
            .findings
            .iter()
            .filter(|f| f.rule == "IRSA608")
            .collect(),
    };
    for c in pi_chains {
        let (verdict, pods) = pod_identity::verdict(&cx, c, &index, &node_role);
        chains.push(Chain {
            subject: c.subject(),
            role_arn: c.role_text().into(),
            pods,
            prediction: pod_identity::prediction(c),
            verdict,
            from_pods: false,
            mechanism: Mechanism::PodIdentity,
        });
    }
    let not_checked = not_checked(&out.findings, &chains);
    summary.checked = checked(&cx, &chains, pi_chains);
    summary.not_checked = not_checked.len();
    let c = summary.checked;
    // Without a ServiceAccount, pod or workload no chain is evaluated; a problem found
    // all the same (Kubernetes' own report of a missing ServiceAccount) is a result, advice is not.
    let evaluated_something = c.serviceaccounts + c.pods + c.workloads > 0
        || out.findings.iter().any(|f| {
            f.cause != Cause::CollectionGap
                && f.subject.kind != "Input"
                && f.severity <= Severity::Warning
        });
    let report = Report {
        findings: out.findings,
        passes: out.passes,
        chains,
        summary,
        not_checked,
        nothing_checked: (!evaluated_something).then(|| blind(snap)),
        rejected_inputs: snap.inputs.rejected.len(),
    };
    (report, inspected)
}

/// Drops a finding equal to an earlier one in rule, subject and rendered message (two
/// rules' paths to one problem), keeping the first. A large cluster has tens of
/// thousands of findings: the set holds a hash of each kept finding, not a copy of its
/// subject and text; findings whose hashes meet are compared in full, so a hash
/// collision never drops a finding.
fn dedup(findings: &mut Vec<Finding>) {
    use std::hash::BuildHasher;
    // foldhash, seeded per process (SipHash took most of this pass at a hundred thousand
    // ServiceAccounts); which findings are kept does not depend on the hashes.
    let state = irsa_model::keys::FastState::default();
    // Only a finding that shares its rule and subject with another can be a duplicate:
    // those alone are rendered (most findings of a large cluster are alone on their
    // subject). Findings whose (rule, subject) hashes meet are candidates, so a
    // collision only adds one.
    let group = |f: &Finding| state.hash_one((f.rule, &f.subject));
    let groups: Vec<u64> = irsa_model::map_items(findings, group);
    let mut seen: irsa_model::keys::FastMap<u64, u32> =
        irsa_model::keys::FastMap::with_capacity_and_hasher(findings.len(), Default::default());
    for &g in &groups {
        *seen.entry(g).or_default() += 1;
    }
    let candidates: Vec<usize> = (0..findings.len())
        .filter(|&i| seen[&groups[i]] > 1)
        .collect();
    drop((groups, seen));
    let key = |f: &Finding, text: &str| state.hash_one((f.rule, &f.subject, text));
    // The first kept finding of each hash; the rare later ones that share a hash.
    let mut first: irsa_model::keys::FastMap<u64, usize> =
        irsa_model::keys::FastMap::with_capacity_and_hasher(candidates.len(), Default::default());
    let mut shared_hash: Vec<(u64, usize)> = Vec::new();
    let mut keep = vec![true; findings.len()];
    // Rendering and hashing each candidate is most of the work: on every core.
    let hashes = irsa_model::map_items(&candidates, |&i| {
        key(&findings[i], &findings[i].message.render())
    });
    for (&i, &h) in candidates.iter().zip(&hashes) {
        let f = &findings[i];
        let duplicate = match first.get(&h) {
            None => {
                first.insert(h, i);
                false
            }
            Some(&j) => {
                let text = f.message.render();
                let equal = |k: usize| {
                    let g: &Finding = &findings[k];
                    g.rule == f.rule && g.subject == f.subject && g.message.render() == text
                };
                let duplicate = equal(j) || shared_hash.iter().any(|&(hk, k)| hk == h && equal(k));
                if !duplicate {
                    shared_hash.push((h, i));
                }
                duplicate
            }
        };
        keep[i] = !duplicate;
    }
    let mut flags = keep.into_iter();
    findings.retain(|_| flags.next().unwrap_or(true));
}

/// Gaps at warning, then chains left "not checked" that no gap names.
fn not_checked(findings: &[Finding], chains: &[Chain]) -> Vec<NotChecked> {
    let mut out: Vec<NotChecked> = findings
        .iter()
        .filter(|f| f.cause == Cause::CollectionGap && f.severity <= Severity::Warning)
        .map(|f| NotChecked {
            subject: f.subject.clone(),
            rule: Some(f.rule),
            why: f.message.render(),
        })
        .collect();
    // The subjects named so far, for a lookup per chain (a snapshot without its roles
    // has a gap and a chain left unchecked per ServiceAccount: a scan of the list per
    // chain was quadratic, 0.3 s at 10,000).
    let mut named: std::collections::HashSet<Subject> =
        out.iter().map(|n| n.subject.clone()).collect();
    for c in chains
        .iter()
        .filter(|c| c.verdict.status == Status::NotChecked)
    {
        if named.insert(c.subject.clone()) {
            out.push(NotChecked {
                subject: c.subject.clone(),
                rule: None,
                why: c.verdict.reason.clone(),
            });
        }
    }
    out
}

fn checked(cx: &Context<'_>, chains: &[Chain], pi: &[pod_identity::PiChain<'_>]) -> Checked {
    let snap = cx.snap;
    let serviceaccounts = snap
        .service_accounts
        .values()
        .chain(cx.inferred_service_accounts().iter())
        .filter(|s| cx.sa_in_scope(&s.namespace, &s.name))
        .count();
    // Borrowed, and each account's provider looked up once (a large cluster has
    // thousands of ServiceAccounts in a few accounts).
    let roles: BTreeSet<&str> = cx
        .irsa
        .iter()
        .filter(|i| matches!(i.role, context::RoleState::NotFound(_)) || i.trust_evaluated())
        .map(|i| i.role_shown.as_str())
        .chain(
            pi.iter()
                .flat_map(|c| c.first.iter().chain(c.target.iter()))
                .filter(|h| {
                    matches!(h.role, context::RoleState::NotFound(_)) || h.evaluation().is_some()
                })
                .map(|h| h.arn.as_str()),
        )
        .collect();
    let providers: usize = match &cx.cluster.issuer {
        Some(issuer) => cx
            .irsa
            .iter()
            .filter_map(|i| i.role_arn.as_ref().ok())
            .map(|r| r.account.as_str())
            .collect::<BTreeSet<&str>>()
            .into_iter()
            .filter(|account| snap.provider_known(account, &issuer.host_path))
            .count(),
        None => 0,
    };
    Checked {
        serviceaccounts,
        chains: chains
            .iter()
            .filter(|c| c.verdict.status != Status::NotChecked)
            .count(),
        roles: roles.len(),
        providers,
        clusters: usize::from(cx.cluster.issuer.is_some() || snap.cluster().is_some()),
        pods: cx.pods_in_scope().count(),
        workloads: cx
            .workloads_in_scope()
            .filter(|w| w.owner.is_none())
            .count(),
    }
}

/// Why nothing could be evaluated, in one line naming what is missing (plurals resolved).
fn blind(snap: &Snapshot) -> String {
    messages::plurals(&blind_reason(snap))
}

fn blind_reason(snap: &Snapshot) -> String {
    let i = &snap.inputs;
    // Failed reads first: a live run whose every call failed has recorded failures and
    // no file, and is not an empty snapshot.
    if i.objects == 0 && !i.collection_failures.is_empty() {
        // The cluster's side first: without it no chain exists to check.
        let f = i
            .collection_failures
            .iter()
            .find(|f| f.command.starts_with("kubectl"))
            .unwrap_or(&i.collection_failures[0]);
        return format!(
            "nothing was checked: every read failed ({} recorded failure(s){}; first: `{}`: {})",
            i.collection_failures.len(),
            if i.rejected.is_empty() {
                String::new()
            } else {
                format!(", {} rejected input(s)", i.rejected.len())
            },
            f.command,
            f.error
        );
    }
    if i.files == 0 && i.rejected.is_empty() {
        return "nothing was checked: the snapshot holds no file".into();
    }
    if i.objects == 0 && !i.rejected.is_empty() {
        return format!(
            "nothing was checked: every input was rejected ({} file(s); first: {})",
            i.rejected.len(),
            i.rejected[0]
        );
    }
    if i.objects == 0 {
        let skipped: Vec<String> = i
            .skipped
            .iter()
            .map(|(what, n)| format!("{n} {what}"))
            .collect();
        return format!(
            "nothing was checked: no input is kubectl or AWS CLI output that irsa-doctor reads ({} file(s) read; skipped: {}); add the outputs the README lists under \"Make your own snapshot\"",
            i.files,
            if skipped.is_empty() {
                "none".to_string()
            } else {
                skipped.join(", ")
            }
        );
    }
    // The reads that would have held them failed: name the first such failure.
    let kubernetes_failure = i.collection_failures.iter().find(|f| {
        f.command.starts_with("kubectl get ")
            && ["serviceaccount", "pod", "deployment", "sa "]
                .iter()
                .any(|w| f.command.contains(w))
    });
    if let Some(f) = kubernetes_failure {
        return format!(
            "nothing was checked: no ServiceAccount, pod or workload could be read ({} read(s) failed; first: `{}`: {})",
            i.collection_failures.len(),
            f.command,
            f.error
        );
    }
    format!(
        "nothing was checked: the snapshot holds no ServiceAccount, pod or workload ({} other object(s) read); add `kubectl get serviceaccounts -A -o json` and `kubectl get pods -A -o json`",
        i.objects
    )
}

#[cfg(test)]
mod not_checked_tests {
    use super::*;
    use crate::finding::Subject;
    use crate::messages::Message;
    use crate::verdict::{Status, Verdict};

    fn sa(name: &str) -> Subject {
        Subject::namespaced("ServiceAccount", "ns", name)
    }

    fn gap(name: &str, severity: Severity) -> Finding {
        Finding {
            rule: "IRSA103",
            cause: Cause::CollectionGap,
            severity,
            subject: sa(name),
            role_arn: None,
            message: Message::new("no-such-template").arg("id", format!("gap of {name}")),
            predicted_error: None,
            fix: Vec::new(),
        }
    }

    fn chain(name: &str, status: Status) -> Chain {
        Chain {
            subject: sa(name),
            role_arn: Default::default(),
            pods: 1,
            prediction: StsPrediction::Undetermined {
                step: irsa_policy::sts::StsStep::RoleArn,
                why: String::new(),
            },
            verdict: Verdict {
                status,
                sts: "".into(),
                sdk: "".into(),
                reason: format!("chain of {name}"),
                cause: None,
                rule: None,
            },
            from_pods: false,
            mechanism: Mechanism::Irsa,
        }
    }

    #[test]
    fn gaps_first_then_each_unchecked_chain_no_gap_names_once() {
        let findings = vec![
            gap("a", Severity::Warning),
            gap("info-only", Severity::Info),
            gap("b", Severity::Error),
        ];
        let chains = vec![
            chain("b", Status::NotChecked),
            chain("c", Status::NotChecked),
            chain("works", Status::Works),
            chain("c", Status::NotChecked),
            chain("info-only", Status::NotChecked),
        ];
        let got: Vec<(String, Option<&str>, String)> = not_checked(&findings, &chains)
            .into_iter()
            .map(|n| (n.subject.name.to_string(), n.rule, n.why))
            .collect();
        let want = [
            ("a", Some("IRSA103"), "gap of a"),
            ("b", Some("IRSA103"), "gap of b"),
            ("c", None, "chain of c"),
            ("info-only", None, "chain of info-only"),
        ];
        assert_eq!(got, want.map(|(n, r, w)| (n.to_string(), r, w.to_string())));
    }
}

#[cfg(test)]
mod dedup_tests {
    use super::*;
    use crate::finding::Subject;
    use crate::messages::Message;

    fn finding(rule: &'static str, ns: &str, message: Message) -> Finding {
        Finding {
            rule,
            cause: Cause::RoleNotFound,
            severity: Severity::Error,
            subject: Subject::namespaced("ServiceAccount", ns, "sa"),
            role_arn: None,
            message,
            predicted_error: None,
            fix: Vec::new(),
        }
    }

    #[test]
    fn dedup_keeps_the_first_of_equal_findings_in_order() {
        // Enough findings to be hashed on several threads; every third repeats an
        // earlier one (same rule, subject and text, by another message id for some).
        let mut findings = Vec::new();
        let mut expected = Vec::new();
        for i in 0..3000 {
            let ns = format!("ns-{}", i / 3);
            let f = match i % 3 {
                0 => finding("IRSA103", &ns, Message::new("role-found").arg("role", "r")),
                1 => finding(
                    "IRSA103",
                    &ns,
                    Message::new("role-found").arg("role", "other"),
                ),
                // The text of i - 2's message, by another message id (one without a
                // template renders its `id` parameter).
                _ => finding(
                    "IRSA103",
                    &ns,
                    Message::new("no-such-template").arg("id", "role r exists"),
                ),
            };
            if i % 3 != 2 {
                expected.push(f.message.render());
            }
            findings.push(f);
        }
        // Same text under another rule or subject: kept.
        findings.push(finding(
            "IRSA104",
            "ns-0",
            Message::new("role-found").arg("role", "r"),
        ));
        findings.push(finding(
            "IRSA103",
            "ns-x",
            Message::new("role-found").arg("role", "r"),
        ));
        expected.push("role r exists".into());
        expected.push("role r exists".into());
        dedup(&mut findings);
        let kept: Vec<String> = findings.iter().map(|f| f.message.render()).collect();
        assert_eq!(kept, expected);
        assert_eq!(findings[0].subject.namespace.as_deref(), Some("ns-0"));
        assert_eq!(findings[2000].rule, "IRSA104");
    }
}
