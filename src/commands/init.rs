//! `gazette init`: infers a portal's profile, writes the config, prints the proof.

use std::io::Write;

use anyhow::Context;
use gazette::config::CrawlerConfig;
use gazette::fetch::Fetcher;
use gazette::init::{InitOptions, save_fixtures};
use url::Url;

use super::{UsageError, runtime};
use crate::cli::InitArgs;

pub fn init(args: &InitArgs) -> anyhow::Result<()> {
    let list_url = Url::parse(&args.url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| {
            UsageError(format!(
                "--url: expected an absolute http(s) URL, got {:?}",
                args.url
            ))
        })?;
    if let Some(id) = &args.id {
        gazette::config::Slug::try_from(id.clone())
            .map_err(|e| UsageError(format!("--id: {e}")))?;
    }
    let options = InitOptions {
        list_url,
        id: args.id.clone(),
        name: args.name.clone(),
    };
    let fetcher = Fetcher::new(&CrawlerConfig::default())?;
    eprintln!(
        "gazette init: fetching {} and up to {} of its articles (one request a second)",
        options.list_url,
        gazette::init::ARTICLES_SAMPLED
    );
    let inferred = runtime()?.block_on(gazette::init::infer(&options, &fetcher))?;
    let mut report = String::new();
    report.push_str(
        "Each field: the selector written, on how many sampled pages it filled, a sample:\n",
    );
    report.push_str(&inferred.fields_table());
    report.push_str("\nWhat the config extracts from each page fetched:\n");
    report.push_str(&inferred.proof_table());
    if inferred.unsure.is_empty() {
        report.push_str("\nNothing unsure: every field was found on every page.\n");
    } else {
        report.push_str("\nUnsure (check these in the config):\n");
        for note in &inferred.unsure {
            report.push_str(&format!("  {note}\n"));
        }
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, &inferred.config_text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            print!("{report}");
            println!(
                "\nConfig written to {}; check it with `gazette check --config {}`.",
                path.display(),
                path.display()
            );
        }
        None => {
            std::io::stdout().write_all(inferred.config_text.as_bytes())?;
            eprint!("{report}");
        }
    }
    if let Some(dir) = &args.save_fixtures {
        let files = save_fixtures(&inferred, dir)?;
        eprintln!(
            "Saved {} files in {}: review each .json before keeping it.",
            files.len(),
            dir.display()
        );
    }
    Ok(())
}
