//! Subcommands: validate flags, load inputs, run the pure core, render.

use crate::cli::ProbeArgs;
use crate::cli::{
    CheckArgs, Cli, CollectArgs, Command, ContextArgs, ExplainArgs, Format, LiveArgs, RuleArgs,
    RulesArgs, SourceArgs,
};
use crate::render;
use anyhow::{bail, Context as _, Result};
use clap::{ArgMatches, Args as _, CommandFactory as _};
use irsa_model::{load_paths, ContextFlags, Snapshot};
use irsa_rules::{all_rules, rule_by_code, Options, Outcome, Scope, Severity};
use std::io::{IsTerminal, Read, Write};

/// Runs a parsed command line; returns the exit status.
pub fn run(cli: Cli, matches: &ArgMatches) -> Result<u8> {
    reject_ignored(matches)?;
    let verbose = cli.global.out.verbose;
    match cli.command {
        Command::Check(args) => check(args),
        Command::Explain(args) => explain(args),
        Command::Collect(args) => collect(args, verbose, matches),
        Command::Probe(args) => probe(args),
        Command::Controller(args) => crate::controller::run(args, verbose),
        Command::Lint(args) => crate::lint::lint(args),
        Command::Rules(args) => rules(args),
        Command::Rule(args) => rule(args),
        Command::Completions(args) => {
            // For the `irsa-doctor` command (a shell function name cannot hold the space
            // of `kubectl irsa-doctor`).
            let mut cmd = crate::cli::command("irsa-doctor");
            let mut out = Vec::new();
            clap_complete::generate(args.shell, &mut cmd, "irsa-doctor", &mut out);
            print_stdout(&String::from_utf8_lossy(&out))?;
            Ok(0)
        }
        Command::Man(args) => man(args),
    }
}

fn man(args: crate::cli::ManArgs) -> Result<u8> {
    let cmd = crate::cli::command("irsa-doctor");
    match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("--dir: creating {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("--dir: writing the pages to {}", dir.display()))?;
            eprintln!("irsa-doctor: wrote the manual pages to {}", dir.display());
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .context("rendering the manual page")?;
            print_stdout(&String::from_utf8_lossy(&out))?;
        }
    }
    Ok(0)
}

/// Whether the user gave this flag (not a default).
fn given(m: &ArgMatches, id: &str) -> bool {
    matches!(
        m.value_source(id),
        Some(clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable)
    )
}

/// `-n/--namespace` as the user would write it.
fn flag_name(a: &clap::Arg) -> String {
    match (a.get_short(), a.get_long()) {
        (Some(s), Some(l)) => format!("-{s}/--{l}"),
        (None, Some(l)) => format!("--{l}"),
        (Some(s), None) => format!("-{s}"),
        (None, None) => a.get_id().to_string(),
    }
}

/// Global flags that this subcommand reads from the top level although it does not
/// flatten their group.
const READS_GLOBAL: [(&str, &str); 2] = [("collect", "verbose"), ("controller", "verbose")];

/// Rejects flags the subcommand would ignore: a global flag whose group the subcommand
/// does not take (`rules --context`), and the live-mode flags next to `--snapshot`.
fn reject_ignored(matches: &ArgMatches) -> Result<()> {
    let Some((name, sub)) = matches.subcommand() else {
        return Ok(());
    };
    // Unbuilt: each subcommand holds only its own flags, not the propagated globals.
    let top = Cli::command();
    let own: Vec<String> = top
        .find_subcommand(name)
        .map(|c| c.get_arguments().map(|a| a.get_id().to_string()).collect())
        .unwrap_or_default();
    for a in top.get_arguments().filter(|a| a.is_global_set()) {
        let id = a.get_id().as_str();
        if own.iter().any(|o| o == id) || READS_GLOBAL.contains(&(name, id)) {
            continue;
        }
        if given(sub, id) {
            let why = match (name, id) {
                ("collect", "output") => {
                    " (collect writes JSON files to --output-dir/-d DIR; -o is the report format)"
                }
                _ => "",
            };
            bail!("{} does not apply to `{name}`{why}; drop it", flag_name(a));
        }
    }
    let snapshot = own.iter().any(|o| o == "snapshot")
        && sub
            .get_many::<std::path::PathBuf>("snapshot")
            .is_some_and(|mut v| v.next().is_some());
    if snapshot {
        let live = LiveArgs::augment_args(clap::Command::new("live"));
        for a in live.get_arguments() {
            if given(sub, a.get_id().as_str()) {
                bail!(
                    "{} is a live-mode flag and does nothing with --snapshot (the snapshot is \
                     read, no cluster or account is); drop it, or drop --snapshot to run live",
                    flag_name(a)
                );
            }
        }
    }
    Ok(())
}

/// A hint after a clap error: `collect -o DIR` (the old spelling) → `-d DIR`.
pub fn tip_for(e: &clap::Error, argv: &[std::ffi::OsString]) -> Option<String> {
    let collect = argv.iter().any(|a| a == "collect");
    let output = e
        .get(clap::error::ContextKind::InvalidArg)
        .is_some_and(|v| v.to_string().contains("--output"));
    (collect && output && e.kind() == clap::error::ErrorKind::InvalidValue).then(|| {
        "tip: collect writes its files to --output-dir/-d DIR; -o/--output is the format of \
         check, explain and probe"
            .to_string()
    })
}

/// The facts given on the command line, for the loader.
pub(crate) fn context_flags(c: &ContextArgs) -> ContextFlags {
    ContextFlags {
        issuer: c.issuer.clone(),
        region: c.region.clone(),
        account: c.account.clone(),
        kubernetes_version: c.kubernetes_version.clone(),
        cluster: c.cluster.clone(),
    }
}

fn validate_source(s: &SourceArgs) -> Result<()> {
    if let Some(v) = std::env::var_os(irsa_model::THREADS_ENV) {
        let v = v.to_string_lossy();
        if irsa_model::parse_threads(&v).is_none() {
            bail!(
                "{}: `{v}` is not a number of threads from 1 to 64 (unset it to use every core)",
                irsa_model::THREADS_ENV
            );
        }
    }
    validate_context(&s.context)?;
    for p in &s.snapshot {
        match irsa_model::files::parse_role_path(&p.to_string_lossy()) {
            Some(Err(e)) => bail!("--snapshot {}: {e}", p.display()),
            Some(Ok((_, file))) if !file.is_file() => {
                bail!(
                    "--snapshot {}: {} is not a file",
                    p.display(),
                    file.display()
                )
            }
            Some(Ok(_)) => {}
            None if !p.exists() => bail!("--snapshot: {} does not exist", p.display()),
            None => {}
        }
    }
    Ok(())
}

/// `--issuer`, `--account`, `--region`, `--kubernetes-version`: well-formed.
pub(crate) fn validate_context(s: &ContextArgs) -> Result<()> {
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
    Ok(())
}

fn load(s: &SourceArgs) -> Snapshot {
    load_paths(&s.snapshot, context_flags(&s.context))
}

fn collect_options(
    live: &LiveArgs,
    cluster: &Option<String>,
    region: &Option<String>,
    issuer: &Option<String>,
    namespace: &Option<String>,
    verbose: u8,
) -> irsa_collect::Options {
    let timeout = std::time::Duration::from_secs(live.timeout.max(1));
    irsa_collect::Options {
        kube: irsa_collect::kubernetes::KubeOptions {
            kubeconfig: live.kubeconfig.clone(),
            context: live.context.clone(),
            timeout: Some(timeout),
            verbose,
            watch: false,
        },
        aws: irsa_collect::aws::AwsOptions {
            profile: live.profile.clone(),
            region: region.clone(),
            cluster: cluster.clone(),
            timeout: Some(timeout),
            issuer: issuer.clone(),
            concurrency: live.concurrency,
            verbose,
        },
        namespace: namespace.clone(),
        deadline: Some(std::time::Duration::from_secs(live.deadline.max(1))),
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
        .map_err(|e| anyhow::anyhow!("{e}"))?;
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
    if verbose > 2 {
        // What was collected, as `collect` writes it: the same allow-list (no value
        // outside it ever reaches a log).
        for (name, v) in &collection.files {
            eprintln!("irsa-doctor: collected {name}: {v}");
        }
    }
    Ok(collection)
}

/// Loads a live collection through the very loader snapshots use.
fn load_collection(c: &irsa_collect::Collection, s: &SourceArgs) -> Snapshot {
    let mut l = irsa_model::Loader::new(ContextFlags {
        cluster: None,
        ..context_flags(&s.context)
    });
    for (name, v) in &c.files {
        l.add_text(name, &v.to_string());
    }
    let mut snap = l.finish();
    // Each read is one input, as `collect` writes it (a run whose reads all failed is
    // "every read failed", never "no file").
    snap.inputs.files = c.files.len();
    snap
}

/// Snapshot or live: the snapshot, what it is, and a fatal reachability error.
fn gather(
    s: &SourceArgs,
    namespace: &Option<String>,
    verbose: u8,
) -> Result<(Snapshot, String, Option<String>)> {
    if !s.snapshot.is_empty() {
        return Ok((load(s), sources(s), None));
    }
    let c = &s.context;
    let opts = collect_options(
        &s.live, &c.cluster, &c.region, &c.issuer, namespace, verbose,
    );
    let c = run_collect(&opts, verbose)?;
    let label = format!("live: {}", c.server.clone().unwrap_or_default());
    Ok((load_collection(&c, s), label, c.unreachable.clone()))
}

fn sources(s: &SourceArgs) -> String {
    let names: Vec<String> = s.snapshot.iter().map(|p| p.display().to_string()).collect();
    format!("snapshot {}", names.join(", "))
}

pub(crate) fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("writing to standard output"),
    }
}

/// Parses `--sdk NAME=VERSION`, rejecting names the SDK table does not know.
fn parse_sdks(given: &[String]) -> Result<Vec<(String, String)>> {
    if given.is_empty() {
        // Without loading the SDK table (the loading rules do it, later, off this thread).
        return Ok(Vec::new());
    }
    let known = irsa_rules::rules::sdk_too_old::known_sdk_names();
    let mut sdks = Vec::new();
    for s in given {
        let Some((name, version)) = s.split_once('=') else {
            bail!("--sdk: `{s}` is not NAME=VERSION (e.g. boto3=1.9.220)");
        };
        let (name, version) = (name.trim(), version.trim());
        if !known.iter().any(|k| k.eq_ignore_ascii_case(name)) {
            bail!("--sdk: unknown SDK `{name}`; known: {}", known.join(", "));
        }
        if version.is_empty()
            || !version.starts_with(|c: char| c.is_ascii_digit())
            || !version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            bail!("--sdk: `{version}` is not a version like 1.9.220 (in `{s}`)");
        }
        sdks.push((name.to_string(), version.to_string()));
    }
    Ok(sdks)
}

/// SARIF is lint's format: other subcommands refuse it rather than print text.
fn refuse_sarif(out: &crate::cli::OutputArgs, command: &str) -> Result<()> {
    if out.output == Format::Sarif {
        bail!("--output sarif: `{command}` writes text, json or yaml; SARIF is for `irsa-doctor lint`");
    }
    Ok(())
}

/// Prints a serialisable document as JSON or YAML.
pub(crate) fn print_document<T: serde::Serialize>(format: Format, doc: &T) -> Result<()> {
    match format {
        Format::Yaml => {
            let v = serde_json::to_value(doc)?;
            print_stdout(&serde_yaml_ng::to_string(&v)?)
        }
        _ => write_stdout(|out| serde_json::to_writer_pretty(out, doc).map_err(Into::into)),
    }
}

/// Writes to standard output as `write` goes, then a newline (streamed: a report of a
/// large cluster is tens of megabytes).
fn write_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = write(&mut out)
        .and_then(|_| out.write_all(b"\n"))
        .and_then(|_| out.flush());
    match written {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("writing to standard output"),
    }
}

fn check(args: CheckArgs) -> Result<u8> {
    refuse_sarif(&args.out, "check")?;
    if args.report.errors_only && args.out.output != Format::Text {
        bail!(
            "-q/--errors-only shapes the text report; -o {} always carries every finding \
             (filter it instead, e.g. jq '.findings[] | select(.severity == \"error\")'); drop one",
            match args.out.output {
                Format::Yaml => "yaml",
                _ => "json",
            }
        );
    }
    validate_source(&args.source)?;
    let sdks = parse_sdks(&args.sdk)?;
    irsa_rules::preload_knowledge();
    let (mut snap, label, fatal) = gather(&args.source, &args.scope.namespace, args.out.verbose)?;
    let scope = Scope {
        namespace: args.scope.namespace.clone(),
        service_account: args.service_account.clone(),
        pod: args.pod.clone(),
    };
    let options = Options { sdks };
    let report = irsa_rules::check(&snap, &scope, &options);
    let inputs = std::mem::take(&mut snap.inputs);
    // The process ends after the report: freeing the snapshot (a large cluster's is
    // millions of small allocations, 7 % of a run) would only cost time, the operating
    // system takes the memory back at exit. The report is written as it is serialised,
    // so it needs no memory the snapshot would have given back.
    std::mem::forget(snap);
    match args.out.output {
        Format::Json => write_stdout(|out| render::json::write_report(out, &report, &inputs))?,
        Format::Yaml => print_document(Format::Yaml, &render::json::report(&report, &inputs))?,
        Format::Text | Format::Sarif => print_stdout(&render::human::report(
            &report,
            &inputs,
            &label,
            &render::human::Options {
                color: render::use_color(args.out.color),
                width: render::width(),
                verbose: args.out.verbose > 0,
                errors_only: args.report.errors_only,
            },
        ))?,
    }
    for r in &inputs.rejected {
        eprintln!("irsa-doctor: rejected input {r}");
    }
    if let Some(f) = fatal {
        eprintln!("irsa-doctor: {f}");
        return Ok(2);
    }
    let status = exit_status(
        &report,
        args.report.fail_level(),
        args.report.allow_gaps,
        &label,
    );
    // Not freed either, for the same reason (the process exits next).
    std::mem::forget(report);
    std::mem::forget(inputs);
    Ok(status)
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
            let line = format!(
                "irsa-doctor: incomplete: {} link(s) in scope could not be checked (first: {}: {}); the report names them; pass --allow-gaps to accept",
                gaps.len(),
                gaps[0].subject.display(),
                gaps[0].why
            );
            eprintln!("{}", irsa_rules::messages::plurals(&line));
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
    refuse_sarif(&args.out, "explain")?;
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
        Some(gather(&args.source, &args.scope.namespace, args.out.verbose)?.0)
    };
    let scope = Scope {
        namespace: args.scope.namespace.clone(),
        service_account: args.service_account.clone(),
        pod: None,
    };
    let result = irsa_rules::explain::explain_bytes(&bytes, context.as_ref(), &scope);
    match args.out.output {
        Format::Json | Format::Yaml => print_document(args.out.output, &result)?,
        Format::Text | Format::Sarif => print_stdout(&irsa_rules::explain::render_text(&result))?,
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

fn collect_script(args: &CollectArgs, matches: &ArgMatches) -> Result<u8> {
    for id in ["timeout", "concurrency"] {
        if matches
            .subcommand_matches("collect")
            .is_some_and(|m| given(m, id))
        {
            bail!("--{id} does not apply to `collect --script` (the script runs kubectl and aws)");
        }
    }
    let s = crate::script::render(&crate::script::ScriptOptions {
        namespace: args.scope.namespace.clone(),
        cluster: args.cluster.clone(),
        region: args.region.clone(),
        profile: args.live.profile.clone(),
        context: args.live.context.clone(),
        kubeconfig: args
            .live
            .kubeconfig
            .as_ref()
            .map(|k| k.display().to_string()),
    });
    print_stdout(&s)?;
    Ok(0)
}

fn collect(args: CollectArgs, verbose: u8, matches: &ArgMatches) -> Result<u8> {
    if args.script {
        return collect_script(&args, matches);
    }
    let Some(dir) = &args.output_dir else {
        bail!("collect: pass --output-dir/-d DIR (or --script)");
    };
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
        &args.scope.namespace,
        verbose,
    );
    let c = run_collect(&opts, verbose)?;
    private_dir(dir).with_context(|| format!("--output-dir: creating {}", dir.display()))?;
    for (name, v) in &c.files {
        let path = dir.join(name);
        let text = serde_json::to_string_pretty(v)?;
        private_file(&path, format!("{text}\n").as_bytes())
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

/// A bundle directory only its owner can read (0700).
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        b.mode(0o700);
        b.create(dir)?;
        // An existing (empty) directory keeps its mode otherwise.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    b.create(dir)
}

/// A bundle file only its owner can read (0600), created new.
fn private_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)?.write_all(bytes)
}

fn probe(args: ProbeArgs) -> Result<u8> {
    refuse_sarif(&args.out, "probe")?;
    if let Some(ca) = &args.ca_file {
        if !ca.exists() {
            bail!("--ca-file: {} does not exist", ca.display());
        }
    }
    if let Some(i) = &args.issuer {
        irsa_policy::Issuer::parse(i).map_err(|e| anyhow::anyhow!("--issuer: {e}"))?;
    }
    if args.scope.all_namespaces {
        bail!("-A/--all-namespaces does not apply to `probe`: it probes one ServiceAccount (-n NAMESPACE)");
    }
    let namespace = args.namespace();
    let opts = collect_options(
        &args.live,
        &args.cluster,
        &args.region,
        &args.issuer,
        &Some(namespace.clone()),
        args.out.verbose,
    );
    let collection = run_collect(&opts, args.out.verbose)?;
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
            .find(|p| p.namespace == namespace && &p.name == pod)
        {
            Some(p) => p.spec.effective_service_account().to_string(),
            None => {
                // A failed pod list proves nothing about the pod: say so, not "not found".
                let failed = snap
                    .inputs
                    .collection_failures
                    .iter()
                    .find(|f| f.command.starts_with("kubectl get pods"));
                match failed {
                    Some(f) => bail!(
                        "--pod: the pods of namespace {namespace} could not be read (`{}`: {}); pass --service-account NAME instead",
                        f.command,
                        f.error
                    ),
                    None => bail!("--pod: pod {pod} not found in namespace {namespace}"),
                }
            }
        },
        (None, None) => bail!("pass --service-account NAME or --pod NAME"),
    };
    let timeout = std::time::Duration::from_secs(args.live.timeout.max(1));
    let probe_opts = irsa_collect::probe::ProbeOptions {
        namespace: namespace.clone(),
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
    let deadline =
        irsa_collect::Deadline::after(std::time::Duration::from_secs(args.live.deadline.max(1)));
    let report = rt.block_on(async {
        let kube = irsa_collect::kubernetes::connect(&opts.kube, deadline).await?;
        let aws = irsa_collect::aws::connect(&opts.aws, Some(&kube.server), deadline).await;
        Ok::<_, irsa_collect::CollectError>(
            irsa_collect::probe::probe(&kube, &aws, &snap, &probe_opts, &stats).await,
        )
    })?;
    if args.out.verbose > 0 {
        eprintln!("irsa-doctor: probe made {}", stats.summary());
    }
    let explained = pod_identity_explained(&report, &snap);
    match args.out.output {
        Format::Json | Format::Yaml => {
            let mut v = serde_json::to_value(&report)?;
            if let Some(ex) = &explained {
                v["explained"] = serde_json::to_value(ex)?;
            }
            print_document(args.out.output, &v)?
        }
        Format::Text | Format::Sarif => {
            let color = render::use_color(args.out.color);
            let mut text = render::probe::report(&report, color);
            if let Some(ex) = &explained {
                text.push_str(&render::probe::explained(ex, color));
            }
            print_stdout(&text)?
        }
    }
    Ok(if report.healthy() { 0 } else { 1 })
}

/// EKS Auth's error, explained with the error catalog (the same texts and causes as
/// `irsa-doctor explain`), confirmed against what was collected.
fn pod_identity_explained(
    report: &irsa_collect::probe::ProbeReport,
    snap: &irsa_model::Snapshot,
) -> Option<irsa_rules::explain::Explanation> {
    if report.mechanism != Some("pod-identity") {
        return None;
    }
    let Some(irsa_collect::probe::StsAnswer::Error { error }) = &report.sts else {
        return None;
    };
    let ex = irsa_rules::explain::explain(
        &format!("AssumeRoleForPodIdentity (EKS Auth): {error}"),
        Some(snap),
        &irsa_rules::context::Scope {
            namespace: report
                .service_account
                .split_once('/')
                .map(|x| x.0.to_string()),
            service_account: report
                .service_account
                .split_once('/')
                .map(|x| x.1.to_string()),
            pod: None,
        },
    );
    ex.recognised.then_some(ex)
}

/// The rules, sorted by code.
fn sorted_rules() -> Vec<&'static irsa_rules::RuleMeta> {
    let mut metas: Vec<_> = all_rules().into_iter().map(|r| r.meta()).collect();
    metas.sort_by_key(|m| m.code);
    metas
}

/// One rule as `irsa-doctor/rules/v1` lists it.
fn rule_json(m: &irsa_rules::RuleMeta, with_doc: bool) -> serde_json::Value {
    let mut v = serde_json::json!({
        "code": m.code,
        "name": m.name,
        "cause": m.cause.id(),
        "severity": m.severity.name(),
        "summary": m.summary,
    });
    if with_doc {
        v["doc"] = serde_json::json!(m.doc);
        v["links"] = serde_json::json!(render::markdown::links(m.doc)
            .into_iter()
            .map(|(text, url)| serde_json::json!({"text": text, "url": url}))
            .collect::<Vec<_>>());
    }
    v
}

fn rules(args: RulesArgs) -> Result<u8> {
    refuse_sarif(&args.out, "rules")?;
    let metas = sorted_rules();
    match args.out.output {
        Format::Json | Format::Yaml => print_document(
            args.out.output,
            &serde_json::json!({
                "schema": "irsa-doctor/rules/v1",
                "rules": metas.iter().map(|m| rule_json(m, false)).collect::<Vec<_>>(),
            }),
        )?,
        Format::Text | Format::Sarif => {
            let mut s = format!(
                "{:<8} {:<26} {:<25} {:<8} {}\n",
                "CODE", "NAME", "CAUSE", "SEVERITY", "SUMMARY"
            );
            for m in metas {
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

fn rule(args: RuleArgs) -> Result<u8> {
    refuse_sarif(&args.out, "rule")?;
    let code = &args.code;
    let Some(r) = rule_by_code(code) else {
        bail!("rule `{code}` does not exist; `irsa-doctor rules` lists them");
    };
    let m = r.meta();
    match args.out.output {
        Format::Json | Format::Yaml => print_document(
            args.out.output,
            &serde_json::json!({
                "schema": "irsa-doctor/rules/v1",
                "rules": [rule_json(m, true)],
            }),
        )?,
        Format::Text | Format::Sarif => {
            let color = render::use_color(args.out.color);
            let title = format!("# {} {}\n\n{}\n\n", m.code, m.name, m.summary);
            let meta = format!(
                "Cause `{}`, severity {}.\n\n",
                m.cause.id(),
                m.severity.name()
            );
            print_stdout(&render::markdown::render(
                &format!("{title}{meta}{}", m.doc),
                render::width(),
                color,
            ))?;
        }
    }
    Ok(0)
}
