//! The archive directory's layout: what may be in it, a schema-1 archive told apart, the index's
//! sled files looked at before sled opens them, and the settings sled opens them with.

use std::path::Path;

use super::ArchiveError;
use crate::config::StorageConfig;

/// True when the directory is new or empty; an error when it holds something not ours, or an
/// archive of the schema-1 layout (a sled directory at the top).
pub(super) fn check_directory(path: &Path, shown: &str) -> Result<bool, ArchiveError> {
    if !path.exists() {
        let mut kept = path.as_os_str().to_os_string();
        kept.push(".schema1");
        if Path::new(&kept).exists() {
            // A migration stopped between its two renames: never begin an empty archive here.
            return Err(ArchiveError::Open {
                path: shown.into(),
                detail: format!(
                    "missing, and {} is there: a migration was interrupted; run gazette migrate again after moving {shown}.schema1 back to {shown}",
                    Path::new(&kept).display()
                ),
            });
        }
        return Ok(true);
    }
    if !path.is_dir() {
        return Err(ArchiveError::Foreign {
            path: shown.into(),
            reason: "not a directory".into(),
        });
    }
    let entries: Vec<String> = std::fs::read_dir(path)
        .map_err(|err| ArchiveError::OpenFailed {
            path: shown.into(),
            source: Box::new(err),
        })?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    if entries.is_empty() {
        return Ok(true);
    }
    let sled_file =
        |name: &str| name == "conf" || name == "db" || name == "blobs" || name.starts_with("snap.");
    if entries.iter().any(|e| e == "conf") && entries.iter().all(|e| sled_file(e)) {
        // The index of an archive, named instead of the archive.
        if let Some(archive) = path.parent().filter(|parent| {
            path.file_name().is_some_and(|name| name == "db") && parent.join("warc").is_dir()
        }) {
            return Err(ArchiveError::Foreign {
                path: shown.into(),
                reason: format!(
                    "the index inside the archive at {}: set storage.path to that directory",
                    archive.display()
                ),
            });
        }
        return Err(ArchiveError::Schema1 {
            path: shown.into(),
            config: String::new(),
        });
    }
    // `search`: the search index, derived from the archive and kept beside it.
    let ours = |name: &str| matches!(name, "db" | "warc" | "db.rebuild" | "db.old" | "search");
    if !entries.iter().all(|e| ours(e)) {
        return Err(ArchiveError::Foreign {
            path: shown.into(),
            reason: "the directory holds files that are not a gazette archive".into(),
        });
    }
    if !path.join("db").is_dir() {
        return Err(ArchiveError::Open {
            path: shown.into(),
            detail: "its index (db/) is missing: run gazette rebuild".into(),
        });
    }
    Ok(false)
}

/// The config file a message tells the user to pass.
pub(super) fn config_shown(storage: &StorageConfig) -> String {
    storage
        .config_file
        .as_ref()
        .map_or_else(|| "<file>".to_string(), |f| f.display().to_string())
}

/// sled panics on some malformed `conf` files; look at it first so damage is an error.
pub(super) fn check_conf(db_dir: &Path, shown: &str) -> Result<(), ArchiveError> {
    let conf = std::fs::read(db_dir.join("conf")).map_err(|err| ArchiveError::Open {
        path: shown.into(),
        detail: format!(
            "db/conf: {err}; gazette rebuild makes the index again from the WARC files"
        ),
    })?;
    if !String::from_utf8_lossy(&conf).starts_with("segment_size: ") {
        return Err(ArchiveError::Open {
            path: shown.into(),
            detail: "its index's conf file is damaged; gazette rebuild makes the index again from the WARC files".into(),
        });
    }
    Ok(())
}

/// zstd level of the pages of an index made compressed (from 2026-11-27 to 2026-12-07), which
/// keeps that setting: sled cannot change it on an existing index.
const INDEX_COMPRESSION_LEVEL: i32 = 3;

/// The sled settings for the index at `db_dir`. A new index is uncompressed: sled 0.34 replays
/// its log at open with a zstd decoder made per message, so after a kill a compressed index of
/// 100,000 articles took 4.5 s to open against 0.3 s uncompressed (at about 470 bytes more an
/// article on disk; BENCHMARKS.md). One made compressed keeps the setting it was made with, until
/// `gazette rebuild` makes it again.
pub(super) fn index_config(db_dir: &Path) -> sled::Config {
    // The conf file is text followed by a binary checksum.
    let compressed = match std::fs::read(db_dir.join("conf")) {
        Ok(conf) => String::from_utf8_lossy(&conf)
            .lines()
            .any(|line| line.trim() == "use_compression: true"),
        Err(_) => false,
    };
    sled::Config::new()
        .path(db_dir)
        .use_compression(compressed)
        .compression_factor(INDEX_COMPRESSION_LEVEL)
        .flush_every_ms(None)
}
