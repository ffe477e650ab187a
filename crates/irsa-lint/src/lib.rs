//! `irsa-doctor lint`: IRSA checked before deploy, from what a repository declares —
//! Kubernetes manifests (`helm template`, kustomize), Terraform plans (`terraform show
//! -json`), CloudFormation/CDK templates and eksctl ClusterConfigs — by the same rules
//! and policy engine as `check` ([`irsa_rules::check`] over an [`irsa_model::Snapshot`]
//! built through `check`'s own loader), each finding located at `file:line:column`.
//!
//! Pure: reads the text it is given (and files, in [`lint_paths`]); no network, no
//! cluster, no credentials.

#![warn(missing_docs)]

pub mod cloudformation;
pub mod config;
pub mod inputs;
pub mod locate;
pub mod model;
pub mod node;
pub mod sarif;
pub mod suppress;
pub mod terraform;

pub use config::{Config, ConfigError, Level};
pub use locate::Location;

use irsa_model::{ContextFlags, InputReport, Rejected};
use irsa_rules::{Cause, Finding, Message, Options, Report, Scope, Severity, Subject};
use model::{Built, Declared};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What lint is told besides the inputs.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// `--issuer`, `--region`, `--account`, `--kubernetes-version`, `--cluster`.
    pub flags: ContextFlags,
    /// `-n`: only this namespace is reported (as `check -n`), and manifests that name
    /// no namespace are in it (as `kubectl apply -n`); unset: every namespace, and such
    /// manifests are in `default`.
    pub namespace: Option<String>,
    /// `irsa-doctor.toml`.
    pub config: Config,
}

/// What was evaluated, so a clean run can be told from a blind one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Checked {
    /// ServiceAccounts the inputs declare.
    pub serviceaccounts: usize,
    /// ServiceAccounts only a trust policy names (checked against that policy).
    pub implied_serviceaccounts: usize,
    /// Roles whose trust policy was evaluated for a ServiceAccount.
    pub roles: usize,
    /// ServiceAccount → role links whose trust policy was evaluated.
    pub chains: usize,
    /// Workloads and pods.
    pub workloads: usize,
}

/// A lint run's result.
#[derive(Debug, Clone)]
pub struct LintReport {
    /// The findings (after configured levels and inline suppressions), sorted by location.
    pub report: Report,
    /// Where each finding is (same order as `report.findings`).
    pub locations: Vec<Option<Location>>,
    /// Other places each finding is about (the ServiceAccount a trust finding is for).
    pub related: Vec<Vec<Location>>,
    /// Inputs read, rejected and skipped.
    pub inputs: InputReport,
    /// Documents read, by kind.
    pub recognised: model::Recognised,
    /// What was evaluated.
    pub checked: Checked,
    /// Findings suppressed by `# irsa-doctor: ignore` comments.
    pub suppressed: usize,
    /// Whether "not checked" findings are accepted (`allow-gaps`).
    pub allow_gaps: bool,
    /// ServiceAccount→role links left "not checked" that no finding explains.
    pub unexplained_gaps: usize,
}

/// How a run ends (the CLI maps it to the exit status of the report contract).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing in the inputs could be evaluated (the one-line reason).
    NothingChecked(String),
    /// Inputs could not be read.
    RejectedInputs(usize),
    /// Something could not be checked (count), and gaps are not allowed.
    Incomplete(usize),
    /// Findings at the level asked for.
    Findings,
    /// Everything was evaluated; nothing at the level asked for.
    Clean,
}

impl LintReport {
    /// The outcome at `fail_on`: nothing checked and rejected inputs first (never
    /// clean), then gaps unless allowed, then findings.
    pub fn outcome(&self, fail_on: Severity) -> Outcome {
        let c = self.checked;
        if c.serviceaccounts + c.implied_serviceaccounts + c.chains + c.workloads == 0 {
            return Outcome::NothingChecked(irsa_rules::messages::plurals(&format!(
                "nothing to lint: no ServiceAccount, workload or web identity trust policy in {} file(s) read ({} Kubernetes object(s) of other kinds, {} other document(s))",
                self.inputs.files, self.recognised.kubernetes_other, self.recognised.other
            )));
        }
        if !self.inputs.rejected.is_empty() {
            return Outcome::RejectedInputs(self.inputs.rejected.len());
        }
        let gaps = self
            .report
            .findings
            .iter()
            .filter(|f| f.cause == Cause::CollectionGap && f.severity <= Severity::Warning)
            .count()
            + self.unexplained_gaps;
        if gaps > 0 && !self.allow_gaps {
            return Outcome::Incomplete(gaps);
        }
        if self.report.fails_at(fail_on) {
            Outcome::Findings
        } else {
            Outcome::Clean
        }
    }
}

/// One input: its path as shown, and its text.
pub struct Source {
    /// Path as given (relative paths stay relative: SARIF and compilers show them so).
    pub path: String,
    /// Text.
    pub text: String,
}

/// Reads files and directories: directories recursively in name order, hidden
/// entries skipped, and only `*.yaml`, `*.yml`, `*.json`, `*.template` files in them
/// (a file named on the command line is read whatever its name). Unreadable files are
/// returned as rejected.
pub fn read_paths(paths: &[PathBuf], exclude: &[String]) -> (Vec<Source>, Vec<Rejected>) {
    let mut sources = Vec::new();
    let mut rejected = Vec::new();
    let excluded = |p: &Path| {
        let s = p.to_string_lossy();
        let s = s.trim_start_matches("./");
        exclude
            .iter()
            .any(|e| !e.is_empty() && s.starts_with(e.trim_start_matches("./")))
    };
    let mut read = |p: &Path| {
        let shown = p.display().to_string();
        let reject = |error: String| Rejected {
            path: shown.clone(),
            line: None,
            column: None,
            error,
        };
        match std::fs::read(p) {
            Ok(bytes) => match decode(&bytes) {
                Ok(text) => sources.push(Source {
                    path: shown.clone(),
                    text,
                }),
                Err(why) => rejected.push(reject(why)),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => rejected.push(reject(
                "does not exist (lint takes files and directories)".into(),
            )),
            Err(e) => rejected.push(reject(format!("cannot read: {e}"))),
        }
    };
    for p in paths {
        if !p.is_dir() {
            read(p);
            continue;
        }
        let mut files: Vec<PathBuf> = walkdir::WalkDir::new(p)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                e.depth() == 0
                    || !(e.file_name().to_string_lossy().starts_with('.')
                        || e.file_type().is_dir()
                            && matches!(
                                e.file_name().to_str(),
                                Some("node_modules" | "target" | "vendor")
                            ))
            })
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .filter(|f| {
                matches!(
                    f.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml" | "json" | "template")
                )
            })
            .filter(|f| !excluded(f))
            .collect();
        files.sort();
        for f in files {
            read(&f);
        }
    }
    (sources, rejected)
}

/// eksctl creates the cluster's IAM OIDC provider only with `iam.withOIDC: true`
/// (default: disabled, eksctl `SetClusterConfigDefaults`), and refuses
/// `iam.serviceAccounts` without it (`ValidateClusterConfig`: "iam.withOIDC must be
/// enabled explicitly for iam.serviceAccounts to be created"; eksctl
/// pkg/apis/eksctl.io/v1alpha5/{defaults,validation}.go). Without a provider, STS
/// answers `InvalidIdentityToken: No OpenIDConnect provider found in your account`.
/// A ClusterConfig without iam.serviceAccounts may leave the provider to another tool
/// (`eksctl utils associate-iam-oidc-provider`, Terraform): a warning, and only when
/// the inputs use IRSA and declare no provider.
fn eksctl_oidc(d: &Declared) -> Vec<(Finding, Location)> {
    let Some(meta) = irsa_rules::rule_by_code("IRSA002").map(|r| *r.meta()) else {
        return Vec::new();
    };
    let users: Vec<String> = d
        .objects
        .iter()
        .filter(|o| o.kind == "ServiceAccount")
        .filter(|o| {
            o.json
                .pointer("/metadata/annotations/eks.amazonaws.com~1role-arn")
                .is_some()
        })
        .map(|o| format!("{}/{}", o.namespace, o.name))
        .collect();
    let mut out = Vec::new();
    for e in d.eksctl_oidc.iter().filter(|e| !e.enabled) {
        let how = match &e.written {
            Some(v) => format!("iam.withOIDC is `{v}`"),
            None => "iam.withOIDC is not set (eksctl's default: disabled)".to_string(),
        };
        let fix = vec![irsa_rules::Fix::advice(format!(
            "set `iam.withOIDC: true` in the ClusterConfig (a cluster that exists already: `eksctl utils associate-iam-oidc-provider --cluster {} --approve`)",
            e.cluster
        ))];
        let (message, severity, predicted) = if e.service_accounts > 0 {
            (
                Message::new("eksctl-without-oidc")
                    .arg("cluster", &e.cluster)
                    .arg("count", e.service_accounts.to_string())
                    .arg("how", &how),
                Severity::Error,
                "Error: iam.withOIDC must be enabled explicitly for iam.serviceAccounts to be created",
            )
        } else if !users.is_empty() && d.providers.is_empty() {
            let mut shown: Vec<String> = users.iter().take(3).cloned().collect();
            if users.len() > 3 {
                shown.push(format!("and {} more", users.len() - 3));
            }
            (
                Message::new("eksctl-oidc-not-created")
                    .arg("cluster", &e.cluster)
                    .arg("how", &how)
                    .arg(
                        "users",
                        format!(
                            "{} {}",
                            if users.len() == 1 {
                                "ServiceAccount"
                            } else {
                                "ServiceAccounts"
                            },
                            shown.join(", ")
                        ),
                    ),
                Severity::Warning,
                "InvalidIdentityToken: No OpenIDConnect provider found in your account for https://oidc.eks.<region>.amazonaws.com/id/<id>",
            )
        } else {
            continue;
        };
        out.push((
            Finding {
                rule: meta.code,
                cause: meta.cause,
                severity,
                subject: Subject::global("Cluster", &e.cluster),
                role_arn: None,
                message,
                predicted_error: Some(predicted.to_string()),
                fix,
            },
            Location::at(&e.at.path, e.at.node.start),
        ));
    }
    out
}

/// IRSA604 in a repository: the eks-pod-identity-agent is an EKS add-on, so where the
/// inputs declare it (Terraform `aws_eks_addon`, CloudFormation/CDK `AWS::EKS::Addon`,
/// eksctl `addons`) for the cluster of the associations, EKS installs its DaemonSet
/// (EKS user guide, "Set up the Amazon EKS Pod Identity Agent",
/// https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html): the rule's
/// "not checked" becomes a pass for that cluster; so does a cluster declared with EKS
/// Auto Mode, which has the agent built in (as the rule itself judges a described
/// Auto Mode cluster in `check`). Each cluster of the associations is
/// judged on its own: an add-on of another cluster settles nothing, and a cluster whose
/// add-on is not declared keeps the rule's "not checked". (The agent's DaemonSet in
/// the manifests is read by the loader itself, as `check` reads it, and judged by the
/// rule: no gap is left then.) An add-on whose cluster is decided only at deploy is
/// named by the gap, at its place (returned: the gap's text and where).
fn agent_addon(
    report: &mut Report,
    associations: &[model::DeclaredAssociation],
    addons: &[model::DeclaredAddon],
    scope: &Scope,
) -> Vec<(String, Location)> {
    let mut placed = Vec::new();
    let Some(i) = report
        .findings
        .iter()
        .position(|f| f.message.id == "lint-gap-pi-agent")
    else {
        return placed;
    };
    let gap = report.findings.remove(i);
    // The rule names the cluster it diagnosed, or `<cluster>` when no input names one.
    let diagnosed = Some(gap.subject.name.to_string()).filter(|n| n != "<cluster>");
    let mut clusters: Vec<Option<String>> = associations
        .iter()
        .filter(|a| scope.namespace_in(&a.namespace))
        .map(|a| a.cluster.clone().or_else(|| diagnosed.clone()))
        .filter(|c| diagnosed.is_none() || *c == diagnosed)
        .collect();
    clusters.sort();
    clusters.dedup();
    if clusters.is_empty() {
        clusters.push(diagnosed.clone());
    }
    report.not_checked.retain(|n| n.rule != Some(gap.rule));
    for c in clusters {
        let name = c.clone().unwrap_or_else(|| "<cluster>".into());
        let subject = Subject::global("Cluster", &name);
        // An add-on first: it is named at the add-on's own declaration.
        match addons
            .iter()
            .filter(|a| a.cluster == c)
            .min_by_key(|a| a.auto_mode)
        {
            Some(a) => report.passes.push(irsa_rules::Pass {
                rule: gap.rule,
                subject,
                message: Message::new(if a.auto_mode {
                    "lint-pi-agent-auto-mode"
                } else {
                    "lint-pi-agent-declared"
                })
                .arg("cluster", &name)
                .arg("at", Location::at(&a.at.path, a.at.node.start).display()),
            }),
            None => {
                let mut f = gap.clone();
                f.subject = subject;
                let undecided = addons.iter().find(|a| a.cluster.is_none() && !a.auto_mode);
                if let (Some(a), Some(_)) = (undecided, &c) {
                    let at = Location::at(&a.at.path, a.at.node.start);
                    f.message = Message::new("lint-gap-pi-agent-addon-cluster")
                        .arg("cluster", &name)
                        .arg("at", at.display());
                    placed.push((f.message.render(), at));
                }
                report.not_checked.push(irsa_rules::NotChecked {
                    subject: f.subject.clone(),
                    rule: Some(f.rule),
                    why: f.message.render(),
                });
                report.findings.push(f);
            }
        }
    }
    placed
}

/// A file's text: UTF-8, or UTF-16 when it starts with a byte-order mark (what
/// Windows PowerShell 5's `>` writes, e.g. `terraform show -json plan.out > plan.json`).
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    let utf16 = |rest: &[u8], unit: fn([u8; 2]) -> u16| {
        if !rest.len().is_multiple_of(2) {
            return Err("UTF-16 text of an odd number of bytes: save it as UTF-8".to_string());
        }
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
        String::from_utf16(&units).map_err(|_| "invalid UTF-16 text: save it as UTF-8".to_string())
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes),
        _ => String::from_utf8(bytes.to_vec()).map_err(|e| {
            format!(
                "not UTF-8 text (invalid byte at offset {}): save it as UTF-8",
                e.utf8_error().valid_up_to()
            )
        }),
    }
}

/// Lints files and directories.
pub fn lint_paths(paths: &[PathBuf], options: &LintOptions) -> LintReport {
    let (sources, rejected) = read_paths(paths, &options.config.exclude);
    lint(&sources, rejected, options)
}

/// Lints texts.
pub fn lint(sources: &[Source], mut rejected: Vec<Rejected>, options: &LintOptions) -> LintReport {
    let flags = &options.flags;
    let mut d = Declared {
        default_namespace: options
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into()),
        account: flags.account.clone(),
        region: flags.region.clone(),
        issuer: flags.issuer.clone(),
        ..Declared::default()
    };
    if let Some(a) = &flags.account {
        d.accounts.insert(a.clone());
    }
    let mut parsed: BTreeMap<String, Arc<str>> = BTreeMap::new();
    for s in sources {
        let path: Arc<str> = Arc::from(s.path.as_str());
        parsed.insert(s.path.clone(), path.clone());
        inputs::read_text(&mut d, &path, &s.text, &mut rejected);
    }
    let recognised = d.recognised.clone();
    let scope = Scope {
        namespace: options.namespace.clone(),
        ..Scope::default()
    };
    let declared_sas = d
        .objects
        .iter()
        .filter(|o| o.kind == "ServiceAccount" && scope.namespace_in(&o.namespace))
        .count();
    let workloads = d
        .objects
        .iter()
        .filter(|o| {
            o.kind != "ServiceAccount"
                && o.kind != "Namespace"
                && o.kind != "MutatingWebhookConfiguration"
                && scope.namespace_in(&o.namespace)
        })
        .count();
    let placed = eksctl_oidc(&d);
    let agent = (d.associations.clone(), d.agent_addons.clone());
    let generated: Vec<(String, String)> = d
        .roles
        .iter()
        .filter(|r| r.generated)
        .map(|r| (r.name.clone(), r.path.clone()))
        .collect();
    let (built, gaps) = model::build(d, flags.clone());
    let Built {
        snapshot: snap,
        anchors,
        trust_nodes,
        implied,
    } = built;
    let rule_options = Options::default();
    // With the links whose trust policy was evaluated, and the roles they evaluated
    // (of the ServiceAccounts the repository declares: not those known from pods only),
    // read from the context the rules ran on.
    let (mut report, (chains, roles_evaluated)) =
        irsa_rules::check_with(&snap, &scope, &rule_options, |cx| {
            let diagnosed: Vec<String> = cx
                .irsa
                .iter()
                .filter(|i| !i.inferred)
                .filter(|i| matches!(i.trust, irsa_rules::context::TrustState::Diagnosed { .. }))
                .map(|i| i.role_text())
                .collect();
            let roles: std::collections::BTreeSet<&String> = diagnosed.iter().collect();
            (diagnosed.len(), roles.len())
        });
    // lint's fixes are edits of the repository, checked by no live account or cluster:
    // the rules' own text, without the guards `check` adds for a pasted command.
    irsa_rules::fix_target::unguard(&mut report.findings);
    // Chains whose STS answer the verdicts leave "not checked" with no gap finding
    // naming why. (A chain without pods is no gap of a repository: pods exist only
    // once deployed, and the pod templates were checked by the rules.)
    let unexplained_gaps = report
        .not_checked
        .iter()
        .filter(|n| n.rule.is_none())
        .filter(|n| {
            report
                .chains
                .iter()
                .any(|c| c.subject == n.subject && c.verdict.sts.starts_with("not checked"))
        })
        .count();
    // What only a live cluster has (the EKS-managed webhook, a listing of every
    // ServiceAccount, what was skipped of a snapshot, whether the EKS Pod Identity agent
    // is ready on a node) is no gap of a repository.
    report.findings.retain(|f| {
        !matches!(
            f.message.id,
            "gap-webhook" | "gap-skipped" | "gap-no-irsa" | "gap-pi-agent-node"
        )
    });
    // Inputs lint could not read are reported once, by lint, with their position.
    report.findings.retain(|f| f.message.id != "gap-rejected");
    // What the rules ask a snapshot for, asked of a repository.
    for f in report.findings.iter_mut() {
        f.message.id = match f.message.id {
            "gap-no-cluster" => "lint-gap-no-cluster",
            "gap-providers" => "lint-gap-providers",
            "gap-provider-read" => "lint-gap-provider-read",
            "gap-role" => "lint-gap-role",
            "gap-role-policies" => "lint-gap-role-policies",
            "gap-sa" => "lint-gap-sa",
            "gap-k8s-version" => "lint-gap-k8s-version",
            // EKS Pod Identity (`gap-pi-trust` already speaks of the policy, not of a
            // snapshot; `gap-pi-agent-node`, a node's readiness, is dropped above).
            "gap-pi-described" => "lint-gap-pi-described",
            "gap-pi-role" => "lint-gap-pi-role",
            "gap-pi-listed" => "lint-gap-pi-listed",
            "gap-pi-agent" => "lint-gap-pi-agent",
            "gap-sdk" => "lint-gap-sdk",
            "gap-policy-documents" => "lint-gap-policy-documents",
            other => other,
        };
    }
    let addon_gaps = agent_addon(&mut report, &agent.0, &agent.1, &scope);
    let inputs_meta = irsa_rules::rule_by_code("IRSA900").map(|r| *r.meta());
    for g in &gaps {
        if g.subject
            .namespace
            .as_deref()
            .is_some_and(|n| !scope.namespace_in(n))
        {
            continue;
        }
        if let Some(meta) = &inputs_meta {
            report.findings.push(Finding {
                rule: meta.code,
                cause: Cause::CollectionGap,
                severity: if g.info { Severity::Info } else { Severity::Warning },
                subject: g.subject.clone(),
                role_arn: None,
                message: Message::new("gap-not-decided").arg("why", &g.why),
                predicted_error: None,
                fix: if g.info {
                    Vec::new()
                } else {
                    vec![irsa_rules::Fix::advice(
                        "pass the value with --issuer/--account/--region, or lint the rendered output (a plan made after the resources exist, `helm template`)",
                    )]
                },
            });
        }
    }
    for r in &rejected {
        if let Some(meta) = &inputs_meta {
            report.findings.push(Finding {
                rule: meta.code,
                cause: Cause::CollectionGap,
                severity: Severity::Warning,
                subject: Subject::global("Input", &r.path),
                role_arn: None,
                message: Message::new("gap-rejected")
                    .arg("path", &r.path)
                    .arg("error", &r.error),
                predicted_error: None,
                fix: vec![irsa_rules::Fix::advice(
                    "fix the syntax error at this position",
                )],
            });
        }
    }
    let texts: BTreeMap<&str, &str> = sources
        .iter()
        .map(|s| (s.path.as_str(), s.text.as_str()))
        .collect();
    let locator = locate::Locator {
        anchors: &anchors,
        trust_nodes: &trust_nodes,
        implied: &implied,
        texts: &texts,
    };
    let mut located: Vec<(Finding, Option<Location>, Vec<Location>)> = report
        .findings
        .drain(..)
        .map(|f| {
            let (p, r) = locator.locate(&f);
            (f, p, r)
        })
        .collect();
    // Gaps and rejected inputs carry their own positions.
    for (f, loc, _) in located.iter_mut() {
        // The agent's DaemonSet declared in the manifests: what IRSA604 says of it is
        // where it is written (its pod spec's `hostNetwork`, else the pod spec).
        if f.rule == "IRSA604" && f.message.id == "pi-agent-not-host-network" {
            let key = |k: &str| {
                f.message
                    .args
                    .get(k)
                    .map(|v| v.into_owned())
                    .unwrap_or_default()
            };
            if let Some(a) = anchors.get(&("DaemonSet".into(), key("namespace"), key("name"))) {
                let spec = a.node.at(&["spec", "template", "spec"]);
                let n = spec
                    .and_then(|s| s.get("hostNetwork"))
                    .or(spec)
                    .unwrap_or(&a.node);
                *loc = Some(Location::at(&a.path, n.start));
            }
        }
        if f.message.id == "lint-gap-pi-agent-addon-cluster" {
            if let Some((_, at)) = addon_gaps.iter().find(|(m, _)| *m == f.message.render()) {
                *loc = Some(at.clone());
            }
        }
        if f.message.id == "gap-not-decided" {
            if let Some(g) = gaps
                .iter()
                .find(|g| f.message.args.get("why").as_deref() == Some(g.why.as_str()))
            {
                *loc = Some(Location::at(&g.path, g.pos));
            }
        }
        if f.message.id == "gap-rejected" {
            if let Some(r) = rejected.iter().find(|r| f.subject.name == r.path) {
                *loc = Some(Location {
                    path: r.path.clone(),
                    line: r.line.unwrap_or(1),
                    column: r.column.unwrap_or(1),
                    end_line: r.line.unwrap_or(1),
                    end_column: r.column.unwrap_or(1),
                });
            }
        }
    }
    // lint fixes the repository: a command on the live cluster or account would be
    // undone by the next deploy (or fail: a plan's role does not exist yet), so each
    // fix of a located finding is an edit of the input at that place, with the
    // corrected trust policy when there is one (`check` prints the live commands).
    // A role CloudFormation names at deploy could not be named by a command anyway.
    for (f, loc, _) in located.iter_mut() {
        let Some(at) = loc.as_ref() else { continue };
        let generated_role = f.role_arn.as_ref().and_then(|arn| {
            generated
                .iter()
                .find(|(name, path)| arn.ends_with(&format!(":role{path}{name}")))
        });
        for fix in f.fix.iter_mut() {
            let Some(command) = fix.command.take() else {
                continue;
            };
            let document = command
                .split_once("<<'EOF'\n")
                .and_then(|(_, rest)| rest.split_once("\nEOF"))
                .and_then(|(doc, _)| serde_json::from_str::<serde_json::Value>(doc).ok())
                .map(|doc| format!("; the corrected policy: {doc}"))
                .unwrap_or_default();
            let note = match generated_role {
                Some((name, _)) => {
                    format!(" (resource {name}: CloudFormation names the role at deploy)")
                }
                None => String::new(),
            };
            fix.summary = format!("{}: edit {}{note}{document}", fix.summary, at.display());
        }
    }
    // Findings about what a reader saw, at the place it saw it.
    for (f, at) in placed {
        located.push((f, Some(at), Vec::new()));
    }
    // What no input states (no cluster at all) is about the run: the first input.
    let fallback = anchors
        .iter()
        .find(|((k, _, _), _)| k == "Cluster")
        .map(|(_, a)| Location::at(&a.path, a.node.start))
        .or_else(|| {
            sources.first().map(|s| {
                Location::at(
                    &s.path,
                    node::Pos {
                        line: 1,
                        column: 1,
                        index: 0,
                    },
                )
            })
        });
    for (_, loc, _) in located.iter_mut() {
        if loc.is_none() {
            loc.clone_from(&fallback);
        }
    }
    // Configured levels.
    located.retain_mut(|(f, _, _)| match options.config.level(f.rule) {
        Some(Level::Off) => false,
        Some(Level::Severity(s)) => {
            f.severity = s;
            true
        }
        None => true,
    });
    // Inline suppressions.
    let suppressions = suppress::Suppressions::scan(&texts);
    let before = located.len();
    located.retain(|(f, loc, rel)| {
        !std::iter::once(loc.as_ref())
            .flatten()
            .chain(rel.iter())
            .any(|l| suppressions.covers(l, f.rule))
    });
    let suppressed = before - located.len();
    located.sort_by(|a, b| {
        let key = |x: &(Finding, Option<Location>, Vec<Location>)| {
            x.1.as_ref()
                .map(|l| (l.path.clone(), l.line, l.column))
                .unwrap_or_default()
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| a.0.rule.cmp(b.0.rule))
            .then_with(|| a.0.message.render().cmp(&b.0.message.render()))
    });
    let mut findings = Vec::with_capacity(located.len());
    let mut locations = Vec::with_capacity(located.len());
    let mut related = Vec::with_capacity(located.len());
    for (f, l, r) in located {
        findings.push(f);
        locations.push(l);
        related.push(r);
    }
    report.summary.error = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    report.summary.warning = findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    report.summary.info = findings
        .iter()
        .filter(|f| f.severity == Severity::Info)
        .count();
    report.findings = findings;
    let mut inputs = snap.inputs.clone();
    inputs.files = sources.len() + rejected.iter().filter(|r| r.line.is_none()).count();
    inputs.rejected = rejected;
    inputs.skipped.clear();
    if recognised.other > 0 {
        inputs
            .skipped
            .insert("document of no kind lint reads".into(), recognised.other);
    }
    if recognised.kubernetes_other > 0 {
        inputs.skipped.insert(
            "Kubernetes object of a kind IRSA does not involve".into(),
            recognised.kubernetes_other,
        );
    }
    LintReport {
        report,
        locations,
        related,
        inputs,
        recognised,
        checked: Checked {
            serviceaccounts: declared_sas,
            implied_serviceaccounts: implied
                .keys()
                .filter(|(ns, _)| scope.namespace_in(ns))
                .count(),
            roles: roles_evaluated,
            chains,
            workloads,
        },
        suppressed,
        allow_gaps: options.config.allow_gaps,
        unexplained_gaps,
    }
}
