//! Subcommands: validate flags, load inputs, run the pure core, render.

use crate::cli::ProbeArgs;
use crate::cli::{
    CheckArgs, Cli, CollectArgs, Command, ExplainArgs, FailOn, Format, LiveArgs, OutputArgs,
    SourceArgs,
};
use crate::render;
use anyhow::{bail, Context as _, Result};
use irsa_model::{load_paths, ContextFlags, Snapshot};
use irsa_rules::{all_rules, rule_by_code, Options, Outcome, Scope, Severity};
use std::io::{IsTerminal, Read, Write};

/// Runs a parsed command line; returns the exit status.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Check(args) => check(args),
        Command::Explain(args) => explain(args),
        Command::Collect(args) => collect(args),
        Command::Probe(args) => probe(args),
        Command::Rules(out) => rules(out),
        Command::Rule { code } => rule(&code),
    }
}

fn validate_source(s: &SourceArgs) -> Result<()> {
    if let Some(i) = &s.issuer {
        irsa_policy::Issuer::parse(i).map_err(|e| {
            anyhow::anyhow!(
                "--issuer: {e}; expected https://oidc.eks.<region>.amazonaws.com/id/<ID>"
            )
        })?;
    }
    if let Some(a) = &s.account {
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            bail!("--account: `{a}` is not a 12-digit AWS account id");
        }
    }
    if let Some(r) = &s.region {
        if !irsa_policy::partition::looks_like_region(r) {
            bail!("--region: `{r}` is not an AWS region name (e.g. us-east-1)");
        }
    }
    if let Some(v) = &s.kubernetes_version {
        if irsa_model::parse_minor_version(v).is_none() {
            bail!("--kubernetes-version: `{v}` is not a version like 1.29");
        }
    }
    for p in &s.snapshot {
        if !p.exists() {
            bail!("--snapshot: {} does not exist", p.display());
        }
    }
    Ok(())
}

fn load(s: &SourceArgs) -> Snapshot {
    load_paths(
        &s.snapshot,
        ContextFlags {
            issuer: s.issuer.clone(),
            region: s.region.clone(),
            account: s.account.clone(),
            kubernetes_version: s.kubernetes_version.clone(),
            cluster: s.cluster.clone(),
        },
    )
}

fn collect_options(
    live: &LiveArgs,
    cluster: &Option<String>,
    region: &Option<String>,
    issuer: &Option<String>,
    namespace: &Option<String>,
) -> irsa_collect::Options {
    let timeout = std::time::Duration::from_secs(live.timeout.max(1));
    irsa_collect::Options {
        kube: irsa_collect::kubernetes::KubeOptions {
            kubeconfig: live.kubeconfig.clone(),
            context: live.context.clone(),
            timeout: Some(timeout),
        },
        aws: irsa_collect::aws::AwsOptions {
            profile: live.profile.clone(),
            region: region.clone(),
            cluster: cluster.clone(),
            timeout: Some(timeout),
            issuer: issuer.clone(),
            concurrency: live.concurrency,
        },
        namespace: namespace.clone(),
    }
}

/// Runs the read-only collectors; prints progress on a terminal and counts at `-v`.
fn run_collect(opts: &irsa_collect::Options, verbose: u8) -> Result<irsa_collect::Collection> {
    if let Some(k) = &opts.kube.kubeconfig {
        if !k.exists() {
            bail!("--kubeconfig: {} does not exist", k.display());
        }
    }
    let tty = std::io::stderr().is_terminal();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let started = std::time::Instant::now();
    let stats = std::sync::Arc::new(irsa_collect::Stats::default());
    let collection = rt
        .block_on(async {
            let work = irsa_collect::collect(opts, stats.clone());
            tokio::pin!(work);
            loop {
                tokio::select! {
                    done = &mut work => break done,
                    _ = tokio::time::sleep(std::time::Duration::from_millis(250)), if tty => {
                        eprint!("\rcollecting (read-only): {} ", stats.summary());
                    }
                }
            }
        })
        .map_err(|e| anyhow::anyhow!("{e}; check --kubeconfig/--context"))?;
    if tty {
        eprint!("\r{:100}\r", "");
    }
    if verbose > 0 {
        eprintln!(
            "irsa-doctor: collected from {} in {:.2}s: {}",
            collection.server.as_deref().unwrap_or("?"),
            started.elapsed().as_secs_f64(),
            collection.stats.summary()
        );
    }
    Ok(collection)
}

/// Loads a live collection through the very loader snapshots use.
fn load_collection(c: &irsa_collect::Collection, s: &SourceArgs) -> Snapshot {
    let mut l = irsa_model::Loader::new(ContextFlags {
        issuer: s.issuer.clone(),
        region: s.region.clone(),
        account: s.account.clone(),
        kubernetes_version: s.kubernetes_version.clone(),
        cluster: None,
    });
    for (name, v) in &c.files {
        l.add_text(name, &v.to_string());
    }
    l.finish()
}

/// Snapshot or live: the snapshot, what it is, and a fatal reachability error.
fn gather(
    s: &SourceArgs,
    namespace: &Option<String>,
) -> Result<(Snapshot, String, Option<String>)> {
    if !s.snapshot.is_empty() {
        return Ok((load(s), sources(s), None));
    }
    let opts = collect_options(&s.live, &s.cluster, &s.region, &s.issuer, namespace);
    let c = run_collect(&opts, s.live.verbose)?;
    let label = format!("live: {}", c.server.clone().unwrap_or_default());
    Ok((load_collection(&c, s), label, c.unreachable.clone()))
}

fn sources(s: &SourceArgs) -> String {
    let names: Vec<String> = s.snapshot.iter().map(|p| p.display().to_string()).collect();
    format!("snapshot {}", names.join(", "))
}

fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("writing to standard output"),
    }
}

fn check(args: CheckArgs) -> Result<u8> {
    validate_source(&args.source)?;
    let mut sdks = Vec::new();
    for s in &args.sdk {
        let Some((name, version)) = s.split_once('=') else {
            bail!("--sdk: `{s}` is not NAME=VERSION (e.g. boto3=1.9.220)");
        };
        sdks.push((name.trim().to_string(), version.trim().to_string()));
    }
    let (snap, label, fatal) = gather(&args.source, &args.namespace)?;
    let scope = Scope {
        namespace: args.namespace.clone(),
        service_account: args.service_account.clone(),
        pod: args.pod.clone(),
    };
    let options = Options { sdks };
    let report = irsa_rules::check(&snap, &scope, &options);
    match args.out.output {
        Format::Json => print_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&render::json::report(&report, &snap.inputs))?
        ))?,
        Format::Text => print_stdout(&render::human::report(
            &report,
            &snap.inputs,
            &label,
            render::use_color(args.out.color),
        ))?,
    }
    for r in &snap.inputs.rejected {
        eprintln!("irsa-doctor: rejected input {r}");
    }
    if let Some(f) = fatal {
        eprintln!("irsa-doctor: {f}");
        return Ok(2);
    }
    let level = match args.fail_on {
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
        FailOn::Info => Severity::Info,
    };
    Ok(exit_status(&report, level, args.allow_gaps, &label))
}

/// The report contract's exit status: 2 when nothing was checked, input was rejected,
/// or links in scope could not be checked (unless `--allow-gaps`); else 1 on findings
/// at `--fail-on`, 0 when clean. A 2 comes with one line on stderr saying why.
fn exit_status(report: &irsa_rules::Report, level: Severity, allow_gaps: bool, source: &str) -> u8 {
    match report.outcome(level, allow_gaps) {
        Outcome::NothingChecked(why) => {
            // Scope misses name their flag; otherwise name the input.
            if why.starts_with('-') {
                eprintln!("irsa-doctor: {why}");
            } else {
                eprintln!("irsa-doctor: {source}: {why}");
            }
            2
        }
        // Each rejected input was named above, one line each.
        Outcome::RejectedInputs(_) => 2,
        Outcome::Incomplete(gaps) => {
            eprintln!(
                "irsa-doctor: incomplete: {} link(s) in scope could not be checked (first: {}: {}); the report names them; pass --allow-gaps to accept",
                gaps.len(),
                gaps[0].subject.display(),
                gaps[0].why
            );
            2
        }
        Outcome::Findings => 1,
        Outcome::Clean => 0,
    }
}

/// Reads the error text for `explain`: the argument, a file, or standard input
/// (with a prompt when it is a terminal). Bytes, so UTF-16 logs can be decoded.
fn explain_input(args: &ExplainArgs) -> Result<Vec<u8>> {
    if let Some(path) = &args.file {
        return std::fs::read(path)
            .with_context(|| format!("--file: cannot read {}", path.display()));
    }
    match args.text.as_deref() {
        Some(t) if t != "-" => Ok(t.as_bytes().to_vec()),
        _ => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprintln!(
                    "Paste the error text (any log lines), then press Ctrl-D on an empty line{}:",
                    if cfg!(windows) {
                        " (Ctrl-Z Enter on Windows)"
                    } else {
                        ""
                    }
                );
            }
            let mut b = Vec::new();
            stdin
                .lock()
                .read_to_end(&mut b)
                .context("reading the error text from standard input")?;
            Ok(b)
        }
    }
}

fn explain(args: ExplainArgs) -> Result<u8> {
    let bytes = explain_input(&args)?;
    if bytes.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
        bail!(
            "explain: the error text is empty (pass it as an argument, with --file, or pipe it in)"
        );
    }
    validate_source(&args.source)?;
    let live = args.source.live.kubeconfig.is_some() || args.source.live.context.is_some();
    let context = if args.source.snapshot.is_empty() && !live {
        None
    } else {
        Some(gather(&args.source, &args.namespace)?.0)
    };
    let scope = Scope {
        namespace: args.namespace.clone(),
        service_account: args.service_account.clone(),
        pod: None,
    };
    let result = irsa_rules::explain::explain_bytes(&bytes, context.as_ref(), &scope);
    match args.out.output {
        Format::Json => print_stdout(&format!("{}\n", serde_json::to_string_pretty(&result)?))?,
        Format::Text => print_stdout(&irsa_rules::explain::render_text(&result))?,
    }
    if !result.recognised {
        eprintln!("irsa-doctor: explain: the text matches no known error family; nothing was explained (see the two commands above)");
        return Ok(2);
    }
    if !result.confirmed.is_empty() {
        return Ok(1);
    }
    if context.is_some() && irsa_rules::explain::unconfirmable(&result) {
        eprintln!("irsa-doctor: explain: the snapshot holds no ServiceAccount using the role the error names; nothing could be confirmed");
        return Ok(2);
    }
    Ok(0)
}

fn collect(args: CollectArgs) -> Result<u8> {
    let dir = &args.output_dir;
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "--output-dir: {} exists and is not empty; choose a new or empty directory",
            dir.display()
        );
    }
    let opts = collect_options(
        &args.live,
        &args.cluster,
        &args.region,
        &None,
        &args.namespace,
    );
    let c = run_collect(&opts, args.live.verbose)?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--output-dir: creating {}", dir.display()))?;
    for (name, v) in &c.files {
        let path = dir.join(name);
        let text = serde_json::to_string_pretty(v)?;
        std::fs::write(&path, format!("{text}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let failures = c
        .files
        .iter()
        .filter(|(_, v)| v.get("error").is_some())
        .count();
    eprintln!(
        "irsa-doctor: wrote {} files to {} ({} reads failed and are recorded as such; {})",
        c.files.len(),
        dir.display(),
        failures,
        c.stats.summary()
    );
    if let Some(f) = c.unreachable {
        eprintln!("irsa-doctor: {f}");
        return Ok(2);
    }
    Ok(0)
}

fn probe(args: ProbeArgs) -> Result<u8> {
    if let Some(ca) = &args.ca_file {
        if !ca.exists() {
            bail!("--ca-file: {} does not exist", ca.display());
        }
    }
    if let Some(i) = &args.issuer {
        irsa_policy::Issuer::parse(i).map_err(|e| anyhow::anyhow!("--issuer: {e}"))?;
    }
    let opts = collect_options(
        &args.live,
        &args.cluster,
        &args.region,
        &args.issuer,
        &Some(args.namespace.clone()),
    );
    let collection = run_collect(&opts, args.live.verbose)?;
    if let Some(f) = &collection.unreachable {
        bail!("{f}");
    }
    let mut l = irsa_model::Loader::new(ContextFlags {
        issuer: args.issuer.clone(),
        region: args.region.clone(),
        ..ContextFlags::default()
    });
    for (name, v) in &collection.files {
        l.add_text(name, &v.to_string());
    }
    let snap = l.finish();
    let service_account = match (&args.service_account, &args.pod) {
        (Some(sa), _) => sa.clone(),
        (None, Some(pod)) => match snap
            .pods
            .iter()
            .find(|p| p.namespace == args.namespace && &p.name == pod)
        {
            Some(p) => p.spec.effective_service_account().to_string(),
            None => bail!("--pod: pod {pod} not found in namespace {}", args.namespace),
        },
        (None, None) => bail!("pass --service-account NAME or --pod NAME"),
    };
    let timeout = std::time::Duration::from_secs(args.live.timeout.max(1));
    let probe_opts = irsa_collect::probe::ProbeOptions {
        namespace: args.namespace.clone(),
        service_account,
        expiration_seconds: args.expiration,
        ca_file: args.ca_file.clone(),
        timeout,
        test_pod: args
            .test_pod
            .then(|| irsa_collect::probe::test_pod::TestPodOptions {
                image: args.image.clone(),
                timeout: std::time::Duration::from_secs(args.test_pod_timeout.max(1)),
            }),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let stats = irsa_collect::Stats::default();
    let report = rt.block_on(async {
        let kube = irsa_collect::kubernetes::connect(&opts.kube).await?;
        let aws = irsa_collect::aws::connect(&opts.aws, Some(&kube.server)).await;
        Ok::<_, irsa_collect::CollectError>(
            irsa_collect::probe::probe(&kube, &aws, &snap, &probe_opts, &stats).await,
        )
    })?;
    if args.live.verbose > 0 {
        eprintln!("irsa-doctor: probe made {}", stats.summary());
    }
    match args.out.output {
        Format::Json => print_stdout(&format!("{}\n", serde_json::to_string_pretty(&report)?))?,
        Format::Text => print_stdout(&render::probe::report(
            &report,
            render::use_color(args.out.color),
        ))?,
    }
    Ok(if report.healthy() { 0 } else { 1 })
}

fn rules(out: OutputArgs) -> Result<u8> {
    let rules = all_rules();
    match out.output {
        Format::Json => {
            let v: Vec<_> = rules
                .iter()
                .map(|r| {
                    let m = r.meta();
                    serde_json::json!({"code": m.code, "name": m.name, "cause": m.cause.id(), "severity": m.severity.name(), "summary": m.summary})
                })
                .collect();
            print_stdout(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
        }
        Format::Text => {
            let mut s = format!(
                "{:<8} {:<26} {:<25} {:<8} {}\n",
                "CODE", "NAME", "CAUSE", "SEVERITY", "SUMMARY"
            );
            for r in rules {
                let m = r.meta();
                s.push_str(&format!(
                    "{:<8} {:<26} {:<25} {:<8} {}\n",
                    m.code,
                    m.name,
                    m.cause.id(),
                    m.severity.name(),
                    m.summary
                ));
            }
            print_stdout(&s)?;
        }
    }
    Ok(0)
}

fn rule(code: &str) -> Result<u8> {
    let Some(r) = rule_by_code(code) else {
        bail!("rule `{code}` does not exist; `irsa-doctor rules` lists them");
    };
    let m = r.meta();
    print_stdout(&format!(
        "{} {} (cause {}, {})\n{}\n\n{}\n",
        m.code,
        m.name,
        m.cause.id(),
        m.severity.name(),
        m.summary,
        m.doc
    ))?;
    Ok(0)
}
