//! `export --wacz` and `export --cdxj`: the WARC records as web-archive tools open them. Both
//! read the WARC files alone, so they run while `serve` holds the archive's index.

use std::path::{Path, PathBuf};

use anyhow::bail;
use gazette::archive::{cdxj, wacz, warc};
use gazette::config::{self, Config};

use super::backup::{beside, write_file, write_whole};
use crate::cli::{ExportArgs, ScopeArgs};

pub fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let config = config::load(&args.config)?;
    let warc_dir = warc_dir(&config)?;
    if config.storage.object_store.is_some() {
        eprintln!(
            "note: only the WARC files on this disk ({}) are read; those trimmed from it after \
             their upload to the object store are left out",
            warc_dir.display()
        );
    }
    if let Some(path) = &args.wacz {
        let scope = ScopeArgs {
            source: args.source.clone(),
            section: None,
            since: args.since.clone(),
            until: args.until.clone(),
        };
        let (since, until) = super::time_range(&config, &scope)?;
        let scope = wacz::Scope {
            source: args.source.clone(),
            since,
            until,
        };
        let software = format!("gazette {}", env!("CARGO_PKG_VERSION"));
        let work = work_dir(path);
        let packed = write_file(path, |out| {
            Ok(wacz::package(&warc_dir, &scope, &work, &software, out)?)
        })?;
        eprintln!(
            "packaged {} record(s) of {} WARC file(s), {} page(s), into {}",
            packed.records,
            packed.files,
            packed.pages,
            path.display()
        );
    }
    if let Some(path) = &args.cdxj {
        let work = work_dir(path);
        let files = warc::files(&warc_dir)?.len();
        let lines = write_whole(path, |out| Ok(cdxj::index_all(&warc_dir, &work, out)?))?;
        eprintln!(
            "indexed {lines} record(s) of {files} WARC file(s) into {}",
            path.display()
        );
    }
    Ok(())
}

/// The archive's WARC directory, which must be there.
fn warc_dir(config: &Config) -> anyhow::Result<PathBuf> {
    let dir = config.storage.path.join("warc");
    if !dir.is_dir() {
        bail!(
            "{}: no WARC files there (crawl first, or check storage.path)",
            dir.display()
        );
    }
    Ok(dir)
}

/// Where an index too large to sort in memory is sorted: beside the output file, on the disk
/// chosen for it, or in the temporary directory when the output is not a file.
fn work_dir(output: &Path) -> PathBuf {
    let name = format!(".sort-{}", std::process::id());
    match std::fs::metadata(output) {
        Ok(meta) if !meta.is_file() => std::env::temp_dir().join(format!("gazette{name}")),
        _ => beside(output, &name),
    }
}
