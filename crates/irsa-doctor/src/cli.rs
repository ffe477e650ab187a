//! Command-line flags (parsed without side effects; validated in `main`).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Diagnose IAM Roles for Service Accounts (IRSA) on Amazon EKS: names the broken
/// link, the error STS returns, and the fix.
#[derive(Debug, Parser)]
#[command(name = "irsa-doctor", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Diagnose IRSA from a snapshot of kubectl/aws outputs.
    Check(CheckArgs),
    /// Paste an SDK error; get the likely causes (confirmed against a snapshot if given).
    Explain(ExplainArgs),
    /// Write a redacted snapshot of the cluster and account (read-only), for offline use.
    Collect(CollectArgs),
    /// Prove IRSA end to end: TokenRequest → issuer/JWKS/TLS checks → STS, compared with the prediction.
    Probe(ProbeArgs),
    /// List every rule: code, cause, severity, summary.
    Rules(OutputArgs),
    /// Show one rule's documentation.
    Rule {
        /// Rule code (IRSA203) or name (trust-sub).
        code: String,
    },
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable report.
    Text,
    /// Machine-readable report (irsa-doctor/report/v1).
    Json,
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

/// `--output` and `--color`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// Colour.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Where facts come from.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Snapshot files or directories (raw kubectl/aws CLI output); repeatable.
    #[arg(short = 's', long = "snapshot", value_name = "PATH")]
    pub snapshot: Vec<PathBuf>,
    /// Cluster OIDC issuer URL, when the snapshot lacks describe-cluster.
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// AWS region of the cluster, when the snapshot lacks it.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS account of the cluster, when the snapshot lacks it.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Kubernetes version (e.g. 1.29), when the snapshot lacks it.
    #[arg(long = "kubernetes-version", value_name = "1.XX")]
    pub kubernetes_version: Option<String>,
    /// Which EKS cluster (snapshot: when several are described; live: else discovered
    /// by matching the API server URL).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Live mode connection.
    #[command(flatten)]
    pub live: LiveArgs,
}

/// Live mode: the kubeconfig and the AWS credential chain (read-only).
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Path to the kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// AWS profile (default: the standard credential chain).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Timeout of each Kubernetes request and AWS operation, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// Role reads running at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
    /// Log API call counts to stderr.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `collect` flags.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Directory to write (created; must be empty).
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    pub output_dir: PathBuf,
    /// Only this namespace.
    #[arg(
        short = 'n',
        long,
        value_name = "NAMESPACE",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,
    /// All namespaces (the default).
    #[arg(short = 'A', long = "all-namespaces")]
    pub all_namespaces: bool,
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
    /// Only this namespace.
    #[arg(
        short = 'n',
        long,
        value_name = "NAMESPACE",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,
    /// All namespaces (the default for snapshots).
    #[arg(short = 'A', long = "all-namespaces")]
    pub all_namespaces: bool,
    /// Only this ServiceAccount.
    #[arg(long = "service-account", value_name = "NAME")]
    pub service_account: Option<String>,
    /// Only this pod (and its ServiceAccount).
    #[arg(long, value_name = "NAME", conflicts_with = "service_account")]
    pub pod: Option<String>,
    /// The AWS SDK the workload uses, to check its version (e.g. boto3=1.9.100); repeatable.
    #[arg(long = "sdk", value_name = "NAME=VERSION")]
    pub sdk: Vec<String>,
    /// Exit 1 when a finding of this severity or worse is reported.
    #[arg(long = "fail-on", value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Accept a run in which some links in scope could not be checked (not collected,
    /// read failed): exit on the findings alone instead of 2. Never makes a run that
    /// checked nothing, or one with rejected input, exit 0.
    #[arg(long = "allow-gaps")]
    pub allow_gaps: bool,
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
    /// Namespace of the workload that logged the error.
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
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
    /// Namespace of the ServiceAccount (or pod).
    #[arg(short = 'n', long, value_name = "NAMESPACE", default_value = "default")]
    pub namespace: String,
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
