//! The `gazette` binary: parses the command line, calls the library, maps errors to exit codes.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;
use gazette::config::{self, Config, ConfigError};
use gazette::model::Page;
use url::Url;

use cli::{Cli, Command, ExtractArgs};

/// A mistake in how gazette was called: exit code 2, like a bad config.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Extract(args) => extract(&args),
        Command::Check { config } => check(&config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gazette: {err:#}");
            if err.downcast_ref::<ConfigError>().is_some()
                || err.downcast_ref::<UsageError>().is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn extract(args: &ExtractArgs) -> anyhow::Result<()> {
    let config = config::load(&args.config)?;
    let source = find_source(&config, &args.source)?;
    let section = match &args.section {
        Some(id) => source
            .section(id)
            .ok_or_else(|| UsageError(format!("source {:?} has no section {id:?}", args.source)))?,
        None => &source.sections[0],
    };
    let url =
        Url::parse(&args.url).map_err(|err| UsageError(format!("--url {:?}: {err}", args.url)))?;
    let Some(file) = &args.file else {
        bail!(UsageError(
            "fetching --url over the network is not available yet: save the page and pass it with --file".into()
        ));
    };
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let page = Page {
        url: &url,
        content_type: args.content_type.as_deref(),
        bytes: &bytes,
    };
    let json = if args.list {
        serde_json::to_string_pretty(&gazette::read_list(&page, source)?)?
    } else {
        serde_json::to_string_pretty(&gazette::read_article(&page, source, section.id.as_str())?)?
    };
    print(&json)
}

fn check(path: &std::path::Path) -> anyhow::Result<()> {
    let config = config::load(path)?;
    let mut out = format!(
        "{}: ok, {} source(s)\n",
        path.display(),
        config.sources.len()
    );
    for source in &config.sources {
        out.push_str(&format!(
            "source {} ({}): {} timezone {} language {} schedule \"{}\"\n",
            source.id,
            source.name,
            source.base_url(),
            source.tz(),
            source.language,
            source.schedule.as_str()
        ));
        for section in &source.sections {
            out.push_str(&format!(
                "  section {} ({}): {}\n",
                section.id,
                section.name,
                source.list_url(section)
            ));
        }
    }
    print(out.trim_end())
}

fn find_source<'c>(config: &'c Config, id: &str) -> anyhow::Result<&'c config::Source> {
    config.source(id).ok_or_else(|| {
        let known: Vec<&str> = config.sources.iter().map(|s| s.id.as_str()).collect();
        UsageError(format!(
            "no source {id:?} in the config (it has: {})",
            known.join(", ")
        ))
        .into()
    })
}

/// Prints to stdout; a closed pipe is not an error worth a panic.
fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}") {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}
