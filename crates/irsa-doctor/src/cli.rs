//! Command-line flags (parsed without side effects; validated in `commands`).
//!
//! Each flag is defined once, in one struct (`ScopeArgs`, `OutputArgs`, `LiveArgs`,
//! `SourceArgs`), and means one thing in every subcommand. The first three are also
//! flattened into the top level as `global = true`, so they work before the subcommand
//! as with kubectl (`irsa-doctor -n kube-system check …`); a subcommand that does not
//! flatten a group rejects its flags when given (see `commands::reject_ignored`).
//! clap propagates a global flag's value into the subcommand's matches, so a value
//! given before the subcommand lands in the subcommand's own struct.

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The version line: the crate version and, when built from a git checkout, the commit
/// (see build.rs).
pub const VERSION: &str = env!("IRSA_DOCTOR_VERSION");

/// Diagnose IAM Roles for Service Accounts (IRSA) on Amazon EKS: names the broken
/// link, the error STS returns, and the fix.
#[derive(Debug, Parser)]
#[command(
    name = "irsa-doctor",
    version = VERSION,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "Global options also work before the subcommand: irsa-doctor -n kube-system check …"
)]
pub struct Cli {
    /// Flags accepted before or after the subcommand.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The flags that work before the subcommand (kubectl style).
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Namespace scope.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Output format, colour, verbosity.
    #[command(flatten)]
    pub out: OutputArgs,
    /// Live-mode connection.
    #[command(flatten)]
    pub live: LiveArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Diagnose IRSA: live against your cluster and AWS account (read-only) by default;
    /// offline from kubectl/aws outputs with --snapshot.
    #[command(
        long_about = "Diagnose IRSA and name the broken link, the error STS returns, and the fix.\n\n\
Without --snapshot, check runs live: it reads the cluster with your kubeconfig (--kubeconfig, \
--context) and AWS with the standard credential chain (--profile), read-only.\n\
With --snapshot DIR|FILE it reads only those kubectl/aws outputs (no cluster or AWS call); the \
live-mode flags are then rejected."
    )]
    Check(CheckArgs),
    /// Paste an SDK error; get the likely causes (confirmed against a snapshot if given).
    Explain(ExplainArgs),
    /// Write a redacted snapshot of the cluster and account (read-only), for offline use;
    /// or, with --script, print a shell script that writes one with kubectl and aws.
    Collect(CollectArgs),
    /// Prove IRSA end to end: TokenRequest → issuer/JWKS/TLS checks → STS, compared with the prediction
    /// (EKS Pod Identity: TokenRequest → EKS Auth AssumeRoleForPodIdentity).
    Probe(ProbeArgs),
    /// Run in the cluster: watch, re-evaluate on change, export Prometheus metrics,
    /// Kubernetes Events and PolicyReports (see deploy/).
    Controller(ControllerArgs),
    /// Lint manifests and infrastructure code before deploy (Kubernetes YAML, `helm
    /// template`/kustomize output, Terraform plan JSON, CloudFormation/CDK templates,
    /// eksctl configs): offline, no credentials; SARIF for code scanning.
    Lint(LintArgs),
    /// List every rule: code, cause, severity, summary (sorted by code).
    Rules(RulesArgs),
    /// Show one rule's documentation.
    Rule(RuleArgs),
    /// Print a shell completion script (e.g. `irsa-doctor completions bash > /etc/bash_completion.d/irsa-doctor`).
    Completions(CompletionsArgs),
    /// Print the manual page (roff; e.g. `irsa-doctor man | man -l -`), or write one
    /// page per subcommand with --dir.
    Man(ManArgs),
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable report.
    Text,
    /// JSON: check prints irsa-doctor/report/v1, explain irsa-doctor/explain/v1,
    /// probe irsa-doctor/probe/v1, rules and rule irsa-doctor/rules/v1.
    Json,
    /// The same document as `json`, as YAML.
    Yaml,
    /// SARIF 2.1.0, for GitHub/GitLab code scanning (lint only).
    Sarif,
}

/// Colour choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Severity threshold for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 1 on errors (default).
    Error,
    /// Exit 1 on warnings or errors.
    Warning,
    /// Exit 1 on any finding.
    Info,
}

/// `-n` / `-A`.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Only this namespace (lint: also the namespace of manifests that name none, as
    /// `kubectl apply -n` puts them).
    #[arg(
        short = 'n',
        long,
        value_name = "NAMESPACE",
        conflicts_with = "all_namespaces",
        global = true,
        help_heading = "Global options"
    )]
    pub namespace: Option<String>,
    /// All namespaces (the default of check, explain, collect and lint).
    #[arg(
        short = 'A',
        long = "all-namespaces",
        global = true,
        help_heading = "Global options"
    )]
    pub all_namespaces: bool,
}

/// `--output`, `--color` and `-v`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        value_name = "FORMAT",
        default_value_t = Format::Text,
        global = true,
        help_heading = "Global options"
    )]
    pub output: Format,
    /// Colour.
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value_t = ColorChoice::Auto,
        global = true,
        help_heading = "Global options"
    )]
    pub color: ColorChoice,
    /// More detail: the checks that passed and notes; in live mode the API call counts
    /// (-v), each request and retry (-vv), each collected object, redacted as `collect`
    /// writes it (-vvv).
    #[arg(
        short = 'v',
        long = "verbose",
        action = clap::ArgAction::Count,
        global = true,
        help_heading = "Global options"
    )]
    pub verbose: u8,
}

/// Where facts come from.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Snapshot files or directories (raw kubectl/aws CLI output); repeatable. A file
    /// whose subject cannot be told from its content: role=NAME:FILE. Without
    /// --snapshot: live mode.
    #[arg(short = 's', long = "snapshot", value_name = "PATH")]
    pub snapshot: Vec<PathBuf>,
    /// What the inputs may lack.
    #[command(flatten)]
    pub context: ContextArgs,
    /// Live mode connection.
    #[command(flatten)]
    pub live: LiveArgs,
}

/// Facts the inputs may lack (a snapshot, a repository for `lint`), defined once for
/// check, explain and lint.
#[derive(Debug, Args)]
pub struct ContextArgs {
    /// Cluster OIDC issuer URL, when the inputs lack it (a snapshot: describe-cluster;
    /// lint: a cluster not created yet or not in the repository).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// AWS region of the cluster (snapshot, lint: when the inputs lack it; live: else
    /// from the EKS endpoint, else the SDK's chain).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS account of the cluster (lint: of roles and AWS::AccountId), when the inputs
    /// lack it.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Kubernetes version (e.g. 1.29), when the inputs lack it.
    #[arg(long = "kubernetes-version", value_name = "1.XX")]
    pub kubernetes_version: Option<String>,
    /// Which EKS cluster (snapshot, lint: when several are described; live: else
    /// discovered by matching the API server URL).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
}

/// Live mode: the kubeconfig and the AWS credential chain (read-only). These flags are
/// rejected with --snapshot, which reads no cluster and no account.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Path to the kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(
        long,
        value_name = "PATH",
        global = true,
        help_heading = "Live mode (global)"
    )]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(
        long,
        value_name = "NAME",
        global = true,
        help_heading = "Live mode (global)"
    )]
    pub context: Option<String>,
    /// AWS profile (default: the standard credential chain).
    #[arg(
        long,
        value_name = "NAME",
        global = true,
        help_heading = "Live mode (global)"
    )]
    pub profile: Option<String>,
    /// Timeout of each Kubernetes request and AWS operation, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 30,
        global = true,
        help_heading = "Live mode (global)"
    )]
    pub timeout: u64,
    /// Deadline of the whole run, in seconds: what is unfinished by then is reported
    /// as not checked (retries included).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 120,
        global = true,
        help_heading = "Live mode (global)"
    )]
    pub deadline: u64,
    /// Role reads running at once.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 8,
        global = true,
        help_heading = "Live mode (global)"
    )]
    pub concurrency: usize,
}

/// `collect` flags.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Directory to write (created; must be empty).
    #[arg(
        short = 'd',
        long = "output-dir",
        value_name = "DIR",
        required_unless_present = "script"
    )]
    pub output_dir: Option<PathBuf>,
    /// Instead, print a POSIX shell script of the AWS troubleshooting articles' kubectl
    /// and aws commands that writes a snapshot folder (for where this binary cannot run):
    /// `irsa-doctor collect --script --cluster NAME > collect.sh; sh collect.sh DIR`.
    #[arg(long, conflicts_with = "output_dir")]
    pub script: bool,
    /// Namespace scope.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// The EKS cluster (else discovered by matching the API server URL).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// AWS region (else from the EKS endpoint, else the SDK's chain).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Connection.
    #[command(flatten)]
    pub live: LiveArgs,
}

/// `check` flags.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Facts.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Namespace scope.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Only this ServiceAccount.
    #[arg(long = "service-account", value_name = "NAME")]
    pub service_account: Option<String>,
    /// Only this pod (and its ServiceAccount).
    #[arg(long, value_name = "NAME", conflicts_with = "service_account")]
    pub pod: Option<String>,
    /// The AWS SDK the workload uses, to check its version (e.g. boto3=1.9.100); repeatable.
    #[arg(long = "sdk", value_name = "NAME=VERSION")]
    pub sdk: Vec<String>,
    /// What the report shows and what its exit status means.
    #[command(flatten)]
    pub report: ReportArgs,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// The report's contents and exit policy (the report contract): which findings are
/// shown, which fail the run, and whether gaps do. Defined once, flattened where a
/// report with findings and gaps is printed.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Exit 1 when a finding of this severity or worse is reported.
    #[arg(
        long = "fail-on",
        value_enum,
        value_name = "SEVERITY",
        default_value_t = FailOn::Error,
        help_heading = "Report and exit status"
    )]
    pub fail_on: FailOn,
    /// Errors only: the failing ServiceAccounts, the errors and their fixes (text output).
    #[arg(
        short = 'q',
        long = "errors-only",
        conflicts_with = "verbose",
        help_heading = "Report and exit status"
    )]
    pub errors_only: bool,
    /// Accept a run in which some links in scope could not be checked (not collected,
    /// read failed): exit on the findings alone (0 or 1) instead of 2. Never makes a run
    /// that checked nothing, or one with rejected input, exit 0.
    #[arg(long = "allow-gaps", help_heading = "Report and exit status")]
    pub allow_gaps: bool,
}

impl ReportArgs {
    /// The `--fail-on` threshold as a severity.
    pub fn fail_level(&self) -> irsa_rules::Severity {
        match self.fail_on {
            FailOn::Error => irsa_rules::Severity::Error,
            FailOn::Warning => irsa_rules::Severity::Warning,
            FailOn::Info => irsa_rules::Severity::Info,
        }
    }
}

/// `lint` flags.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Files and directories to lint (directories: every *.yaml, *.yml, *.json,
    /// *.template inside, hidden ones skipped); default: the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// What the inputs may lack: --issuer, --region, --account, --kubernetes-version.
    #[command(flatten)]
    pub context: ContextArgs,
    /// Namespace scope: -n NAMESPACE reports only that namespace, as check does, and a
    /// manifest that names no namespace is in it (as `kubectl apply -n` puts it);
    /// without -n, every namespace, and such a manifest is in `default`.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Config file (default: irsa-doctor.toml in the current directory or above).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// What the report shows and what its exit status means.
    #[command(flatten)]
    pub report: ReportArgs,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `explain` flags.
#[derive(Debug, Args)]
#[command(
    after_help = "Input: the text as an argument; `-` or nothing reads standard input (a pipe, or a paste ended by Ctrl-D); --file reads a file. UTF-8 or UTF-16 (by byte-order mark); invalid bytes are replaced, never fatal.\n\nExit status: 0 the error was recognised and its causes ranked (with a snapshot: none of them is an error there); 1 a snapshot (or live) confirms a cause as an error; 2 the text matches no known error family, or the snapshot holds nothing the error concerns (the two commands that would tell are printed), or the input could not be read."
)]
pub struct ExplainArgs {
    /// The error text; `-` (or nothing) reads standard input.
    #[arg(conflicts_with = "file")]
    pub text: Option<String>,
    /// Read the error text from a file (any log: JSON lines, klog, stack traces; UTF-8 or UTF-16).
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Facts to confirm the cause against.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Namespace of the workload that logged the error (-n), or -A.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// ServiceAccount of the workload that logged the error.
    #[arg(long = "service-account", value_name = "NAME")]
    pub service_account: Option<String>,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `probe` flags.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Namespace of the ServiceAccount or pod (-n; default `default`).
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// The ServiceAccount to probe.
    #[arg(
        long = "service-account",
        value_name = "NAME",
        required_unless_present = "pod",
        conflicts_with = "pod"
    )]
    pub service_account: Option<String>,
    /// Probe the ServiceAccount this pod runs as.
    #[arg(long, value_name = "NAME")]
    pub pod: Option<String>,
    /// Token lifetime to ask for, in seconds (the API minimum is 600).
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub expiration: i64,
    /// Extra CA bundle (PEM) to trust for the issuer's HTTPS (a proxy, a private issuer).
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Also run the awscli test pod as the ServiceAccount (creates and deletes a pod).
    #[arg(long = "test-pod")]
    pub test_pod: bool,
    /// Image of the test pod.
    #[arg(
        long,
        value_name = "IMAGE",
        default_value = "public.ecr.aws/aws-cli/aws-cli:latest"
    )]
    pub image: String,
    /// How long the test pod may take, in seconds.
    #[arg(
        long = "test-pod-timeout",
        value_name = "SECONDS",
        default_value_t = 120
    )]
    pub test_pod_timeout: u64,
    /// The EKS cluster (else discovered by matching the API server URL).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// AWS region (else from the EKS endpoint, else the SDK's chain).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The cluster's OIDC issuer, when DescribeCluster cannot be read.
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// Connection.
    #[command(flatten)]
    pub live: LiveArgs,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `--refresh-interval`: `30s`, `5m`, `1h30m`; at least 10 seconds.
fn refresh_interval(text: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("{e}; expected a duration such as 30s, 5m or 1h"))?;
    if d < std::time::Duration::from_secs(10) {
        return Err("at least 10s (AWS is read on this interval)".into());
    }
    Ok(d)
}

/// `controller` flags: the live flags of `check`, and the controller's own.
#[derive(Debug, Args)]
#[command(
    after_help = "Runs until stopped (SIGTERM, Ctrl-C). Logs are JSON lines on standard error. Exit status: 0 stopped, 1 the leader Lease was lost (a restart stands by again), 2 bad flags or configuration.\n\nKubernetes is watched read-only; the only writes are Events (events.k8s.io), PolicyReports (wgpolicyk8s.io/v1alpha2; the CRD is a prerequisite) and the leader Lease. deploy/ holds the manifests, the least-privilege RBAC and the IAM policy."
)]
pub struct ControllerArgs {
    /// Watch only this namespace (-n; then a Role in it suffices); default: every namespace.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Facts the cluster's reads may lack (`--cluster`, `--region`, `--issuer`,
    /// `--account`, `--kubernetes-version`), with check's meaning.
    #[command(flatten)]
    pub context: ContextArgs,
    /// Connection.
    #[command(flatten)]
    pub live: LiveArgs,
    /// Where /metrics, /healthz and /readyz are served.
    #[arg(
        long = "metrics-bind-address",
        value_name = "ADDR:PORT",
        default_value = "0.0.0.0:8080"
    )]
    pub metrics_bind_address: std::net::SocketAddr,
    /// How often the AWS side (roles, OIDC providers, associations) is read again
    /// (±10 % jitter); roles named for the first time are read at once.
    #[arg(
        long = "refresh-interval",
        value_name = "DURATION",
        default_value = "5m",
        value_parser = refresh_interval
    )]
    pub refresh_interval: std::time::Duration,
    /// Publish no Kubernetes Events.
    #[arg(long = "no-events")]
    pub no_events: bool,
    /// Write no PolicyReports (when the wgpolicyk8s.io CRDs are not installed).
    #[arg(long = "no-policy-reports")]
    pub no_policy_reports: bool,
    /// Cap on AWS API calls per minute.
    #[arg(long = "aws-calls-per-minute", value_name = "N", default_value_t = 600)]
    pub aws_calls_per_minute: u32,
    /// Namespace of the leader Lease.
    #[arg(
        long = "leader-election-namespace",
        value_name = "NAMESPACE",
        env = "POD_NAMESPACE",
        default_value = "default"
    )]
    pub leader_election_namespace: String,
    /// Name of the leader Lease.
    #[arg(
        long = "leader-election-id",
        value_name = "NAME",
        default_value = "irsa-doctor"
    )]
    pub leader_election_id: String,
    /// Run without leader election (one replica only).
    #[arg(long = "no-leader-election")]
    pub no_leader_election: bool,
}

impl ProbeArgs {
    /// The namespace probed (`-n`, else `default`).
    pub fn namespace(&self) -> String {
        self.scope
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into())
    }
}

/// `rules` flags.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `rule` flags.
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Rule code (IRSA203) or name (trust-sub).
    pub code: String,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `completions` flags.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `man` flags.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write irsa-doctor.1 and one page per subcommand (irsa-doctor-check.1, …) here.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The name the user typed: `kubectl irsa-doctor` when run as the kubectl plugin
/// `kubectl-irsa_doctor` (kubectl maps `_` in a plugin's file name to `-`), else the
/// file name of argv[0] without `.exe`.
pub fn bin_name(argv0: Option<&std::ffi::OsStr>) -> String {
    let file = argv0
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| "irsa-doctor".into());
    let file = file.strip_suffix(".exe").unwrap_or(&file).to_string();
    match file.strip_prefix("kubectl-") {
        Some(plugin) if !plugin.is_empty() => format!("kubectl {}", plugin.replace('_', "-")),
        _ => "irsa-doctor".into(),
    }
}

/// The clap command with the bin name of this invocation.
pub fn command(bin_name: &str) -> clap::Command {
    Cli::command().bin_name(bin_name.to_string())
}
