//! `irsa-doctor lint PATH…`: validate flags, find the config, lint, render, and map the
//! outcome to the exit status of the report contract.

use crate::cli::{Format, LintArgs};
use crate::commands::{context_flags, print_document, print_stdout, validate_context};
use crate::render;
use anyhow::{bail, Context as _, Result};
use irsa_lint::{Config, LintOptions, Outcome};
use std::path::{Path, PathBuf};

/// The config: `--config`, else `irsa-doctor.toml` in the current directory or above.
fn config(explicit: Option<&Path>) -> Result<Option<(PathBuf, Config)>> {
    let path = match explicit {
        Some(p) => {
            if !p.is_file() {
                bail!("--config: {} does not exist", p.display());
            }
            p.to_path_buf()
        }
        None => {
            let cwd = std::env::current_dir().context("reading the current directory")?;
            match cwd
                .ancestors()
                .map(|d| d.join(irsa_lint::config::FILE_NAME))
                .find(|p| p.is_file())
            {
                Some(p) => p,
                None => return Ok(None),
            }
        }
    };
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let c = Config::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Some((path, c)))
}

/// Runs `lint`.
pub fn lint(args: LintArgs) -> Result<u8> {
    validate_context(&args.context)?;
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut cfg = config(args.config.as_deref())?
        .map(|(_, c)| c)
        .unwrap_or_default();
    cfg.allow_gaps |= args.report.allow_gaps;
    let options = LintOptions {
        flags: context_flags(&args.context),
        namespace: args.scope.namespace.clone(),
        config: cfg,
    };
    if args.report.errors_only && args.out.output != Format::Text {
        bail!(
            "-q/--errors-only shapes the text report; -o {} always carries every finding; drop one",
            match args.out.output {
                Format::Yaml => "yaml",
                Format::Sarif => "sarif",
                _ => "json",
            }
        );
    }
    let r = irsa_lint::lint_paths(&paths, &options);
    match args.out.output {
        Format::Text => print_stdout(&render::lint::human(
            &r,
            render::use_color(args.out.color),
            render::lint::Shown {
                errors_only: args.report.errors_only,
                verbose: args.out.verbose > 0,
            },
        ))?,
        Format::Json | Format::Yaml => print_document(args.out.output, &render::lint::json(&r))?,
        Format::Sarif => print_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&irsa_lint::sarif::log(&r, env!("CARGO_PKG_VERSION")))?
        ))?,
    }
    for x in &r.inputs.rejected {
        eprintln!("irsa-doctor: rejected input {x}");
    }
    let level = args.report.fail_level();
    Ok(match r.outcome(level) {
        Outcome::NothingChecked(why) => {
            eprintln!("irsa-doctor: {why}");
            2
        }
        Outcome::RejectedInputs(n) => {
            eprintln!(
                "{}",
                irsa_rules::messages::plurals(&format!(
                    "irsa-doctor: {n} input(s) could not be read; fix them (the rest was linted)"
                ))
            );
            2
        }
        Outcome::Incomplete(n) => {
            eprintln!(
                "irsa-doctor: {} could not be checked (the `not checked` warnings name {} and what settles each); --allow-gaps, or `allow-gaps = true` in irsa-doctor.toml, lets the findings alone decide",
                if n == 1 { "1 thing".to_string() } else { format!("{n} things") },
                if n == 1 { "it" } else { "them" }
            );
            2
        }
        Outcome::Findings => 1,
        Outcome::Clean => 0,
    })
}
