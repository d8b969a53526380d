//! The archive's upkeep commands: rebuild its index from the WARC files, verify it, migrate an
//! archive of the older layout.

use std::path::Path;

use anyhow::bail;
use gazette::archive::{self, ArchiveError, Migration, Rebuilt};
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
    let path = config.storage.path.display();
    let (articles, revisions) = (migrated.articles, migrated.revisions);
    let kept_at = migrated
        .kept_at
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    match migrated.from {
        Migration::Schema1 => println!(
            "migrated {path} to archive schema {}: {articles} articles, {revisions} revisions; \
             the schema-1 archive is kept at {kept_at}",
            archive::SCHEMA_VERSION
        ),
        Migration::Schema2 => println!(
            "migrated {path} to archive schema {}: {articles} articles, {revisions} revisions; \
             its index was rebuilt from its WARC files",
            archive::SCHEMA_VERSION
        ),
        Migration::NotesAtPageUrls { files, notes } => println!(
            "migrated {path}: {notes} metadata records in {files} WARC files now under their own \
             urn:gazette:article: URIs (every copied record checked against its original); \
             index rebuilt: {articles} articles, {revisions} revisions; the old files are kept \
             at {kept_at} (remove them once you no longer need them)"
        ),
    }
    Ok(())
}
