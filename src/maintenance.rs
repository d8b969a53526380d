//! The archive's upkeep commands: rebuild its index from the WARC files, verify it, migrate an
//! archive of the older layout.

use std::path::Path;

use anyhow::bail;
use gazette::archive::{self, ArchiveError, Rebuilt};
use gazette::config::{self, Config};
use gazette::model::{Article, Capture};

use crate::cli::RebuildArgs;
use crate::commands;

pub fn rebuild(args: &RebuildArgs) -> anyhow::Result<()> {
    let config = config::load(&args.config)?;
    if let Some(store) = &config.storage.object_store {
        // The index is made from every file, uploaded ones included.
        let (files, bytes) = archive::remote::download_missing(&config.storage)?;
        if files > 0 {
            println!(
                "copied {files} WARC files ({bytes} bytes) from {}",
                store.url
            );
        }
    }
    let reparse = |capture: &Capture, before: &Article| reparse(&config, capture, before);
    let rebuilt = archive::rebuild(
        &config.storage,
        args.reparse.then_some(&reparse as archive::Reparse<'_>),
    )
    .map_err(|err| refused(&config, err, " before rebuilding"))?;
    archive::settle(&config.storage);
    print_rebuilt(&config, &rebuilt, args.reparse);
    Ok(())
}

fn print_rebuilt(config: &Config, rebuilt: &Rebuilt, reparse: bool) {
    println!(
        "rebuilt the index of {} from {} WARC records: {} articles, {} revisions",
        config.storage.path.display(),
        rebuilt.records,
        rebuilt.articles,
        rebuilt.revisions
    );
    if rebuilt.assets > 0 {
        println!("{} attachments and images", rebuilt.assets);
    }
    if reparse {
        println!(
            "extracted again: {} revisions read differently and got a new metadata record",
            rebuilt.reparsed
        );
        for failure in &rebuilt.reparse_failures {
            eprintln!("  not extracted again (kept as it was): {failure}");
        }
    }
    match rebuilt.kept {
        Some(kept) => println!(
            "validators, crawl state (backfill cursors) and the run log taken over from the old index: {kept} records"
        ),
        None => println!(
            "validators, crawl state (backfill cursors) and the run log are not in the WARC files and the old index could not be read: they start empty"
        ),
    }
}

/// An upkeep command's error; a held archive is named by who holds it, and `serve` is to be
/// stopped `before` the command (nothing it serves does the same work).
fn refused(config: &Config, err: ArchiveError, before: &str) -> anyhow::Error {
    match err {
        ArchiveError::Locked { path } => commands::held(config, &path, before),
        err => err.into(),
    }
}

/// A captured page read again with the source's current profile.
fn reparse(config: &Config, capture: &Capture, before: &Article) -> Result<Article, String> {
    let source = config
        .source(&before.source)
        .ok_or_else(|| format!("source {} is not in the config", before.source))?;
    gazette::crawl::reparse::read_again(source, capture, before)
        .map_err(|err| gazette::describe(&err))
}

pub fn verify(path: &Path) -> anyhow::Result<()> {
    let config = config::load(path)?;
    let archive = commands::open_alone(&config, "")?;
    let verified = archive.verify()?;
    if let Some(damage) = &verified.damage {
        bail!("verify: {damage}");
    }
    println!(
        "verified {}: {} records in {} WARC files, digests match; {} articles and {} revisions indexed, every location holds its record",
        config.storage.path.display(),
        verified.records,
        verified.files,
        verified.articles,
        verified.revisions
    );
    Ok(())
}

pub fn migrate(path: &Path) -> anyhow::Result<()> {
    let config = config::load(path)?;
    let migrated = archive::migrate(&config.storage)
        .map_err(|err| refused(&config, err, " before migrating"))?;
    archive::settle(&config.storage);
    print!(
        "migrated {} to archive schema {}: {} articles, {} revisions",
        config.storage.path.display(),
        archive::SCHEMA_VERSION,
        migrated.articles,
        migrated.revisions,
    );
    match &migrated.kept_at {
        Some(kept_at) => println!("; the schema-1 archive is kept at {}", kept_at.display()),
        None => println!("; its index was rebuilt from its WARC files"),
    }
    Ok(())
}
