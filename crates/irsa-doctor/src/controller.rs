//! `irsa-doctor controller`: flags validated as `check` validates them, then the
//! controller runs until stopped.

use crate::cli::ControllerArgs;
use anyhow::{bail, Context as _, Result};
use irsa_model::ContextFlags;

/// Runs the controller; returns the exit status.
pub fn run(args: ControllerArgs, verbose: u8) -> Result<u8> {
    if let Some(i) = &args.issuer {
        irsa_policy::Issuer::parse(i).map_err(|e| {
            anyhow::anyhow!(
                "--issuer: {e}; expected https://oidc.eks.<region>.amazonaws.com/id/<ID>"
            )
        })?;
    }
    if let Some(a) = &args.account {
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            bail!("--account: `{a}` is not a 12-digit AWS account id");
        }
    }
    if let Some(r) = &args.region {
        if !irsa_policy::partition::looks_like_region(r) {
            bail!("--region: `{r}` is not an AWS region name (e.g. us-east-1)");
        }
    }
    if let Some(v) = &args.kubernetes_version {
        if irsa_model::parse_minor_version(v).is_none() {
            bail!("--kubernetes-version: `{v}` is not a version like 1.29");
        }
    }
    if let Some(k) = &args.live.kubeconfig {
        if !k.exists() {
            bail!("--kubeconfig: {} does not exist", k.display());
        }
    }
    if args.aws_calls_per_minute == 0 {
        bail!("--aws-calls-per-minute: at least 1");
    }
    let timeout = std::time::Duration::from_secs(args.live.timeout.max(1));
    let config = irsa_controller::Config {
        kube: irsa_collect::kubernetes::KubeOptions {
            kubeconfig: args.live.kubeconfig.clone(),
            context: args.live.context.clone(),
            // Watches stay open for minutes: no read timeout on the connection (`watch`).
            timeout: Some(timeout),
            // The controller logs JSON lines (tracing), not check's `-vv` stderr lines.
            verbose: 0,
            watch: true,
        },
        aws: irsa_collect::aws::AwsOptions {
            profile: args.live.profile.clone(),
            region: args.region.clone(),
            cluster: args.cluster.clone(),
            timeout: Some(timeout),
            issuer: args.issuer.clone(),
            concurrency: args.live.concurrency,
            verbose: 0,
        },
        flags: ContextFlags {
            issuer: args.issuer.clone(),
            region: args.region.clone(),
            account: args.account.clone(),
            kubernetes_version: args.kubernetes_version.clone(),
            cluster: None,
        },
        namespace: args.scope.namespace.clone(),
        metrics_bind_address: args.metrics_bind_address,
        refresh_interval: args.refresh_interval,
        events: !args.no_events,
        policy_reports: !args.no_policy_reports,
        aws_calls_per_minute: args.aws_calls_per_minute,
        // A refresh must end before the next is due, and gets at least --deadline.
        refresh_deadline: args
            .refresh_interval
            .max(std::time::Duration::from_secs(args.live.deadline.max(1))),
        leader_election: (!args.no_leader_election).then(|| irsa_controller::LeaderElection {
            namespace: args.leader_election_namespace.clone(),
            name: args.leader_election_id.clone(),
            timing: Default::default(),
        }),
        identity: irsa_controller::controller::default_identity(),
        debounce: std::time::Duration::from_millis(20),
        timeout,
    };
    irsa_controller::logging::init(verbose);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match rt.block_on(irsa_controller::run(config)) {
        Ok(()) => Ok(0),
        Err(irsa_controller::Error::Lost(e)) => {
            irsa_controller::tracing::error!(error = %e, "stopping: a restart stands by again");
            Ok(1)
        }
        Err(e) => Err(e.into()),
    }
}
