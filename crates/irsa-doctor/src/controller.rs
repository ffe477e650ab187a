//! `irsa-doctor controller`: flags validated as `check` validates them, then the
//! controller runs until stopped.

use crate::cli::ControllerArgs;
use anyhow::{bail, Context as _, Result};
use irsa_model::ContextFlags;

/// Runs the controller; returns the exit status.
pub fn run(args: ControllerArgs, verbose: u8) -> Result<u8> {
    crate::commands::validate_context(&args.context)?;
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
            region: args.context.region.clone(),
            cluster: args.context.cluster.clone(),
            timeout: Some(timeout),
            issuer: args.context.issuer.clone(),
            concurrency: args.live.concurrency,
            verbose: 0,
        },
        // The cluster is named to the AWS reads above; the loader sees one cluster.
        flags: ContextFlags {
            cluster: None,
            ..crate::commands::context_flags(&args.context)
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
