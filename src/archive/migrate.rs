//! `gazette migrate`: a schema-1 archive copied into the WARC layout in a new directory, swapped
//! in at the end; the old directory is kept beside it as `<path>.schema1`. An archive of schema 2
//! (the WARC layout with its first, larger index) has its index rebuilt from the WARC files.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::schema1::Schema1;
use super::write::{Change, Outcome};
use super::{ArchiveError, SledArchive};
use crate::config::StorageConfig;

/// Articles restored per group: each group is synced once.
const GROUP: usize = 256;

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub articles: usize,
    pub revisions: usize,
    /// Where the schema-1 directory was kept (a schema-2 archive keeps its WARC files in place).
    pub kept_at: Option<PathBuf>,
}

/// Migrates the schema-1 archive at `storage.path`.
pub fn migrate(storage: &StorageConfig) -> Result<Migrated, ArchiveError> {
    let root = storage.path.clone();
    let shown = root.display().to_string();
    if root.join("db").join("conf").is_file() && root.join("warc").is_dir() {
        return from_schema2(storage);
    }
    if !root.join("conf").is_file() {
        return Err(ArchiveError::Open {
            path: shown,
            detail: "not a schema-1 archive (no sled directory here); nothing to migrate".into(),
        });
    }
    let kept_at = sibling(&root, "schema1");
    if kept_at.exists() {
        return Err(ArchiveError::Open {
            path: shown,
            detail: format!(
                "{} exists: an earlier migration kept it; move it away first",
                kept_at.display()
            ),
        });
    }
    let fresh = sibling(&root, "migrating");
    if fresh.exists() {
        std::fs::remove_dir_all(&fresh).map_err(|source| ArchiveError::Io {
            path: fresh.clone(),
            source,
        })?;
    }
    let (articles, revisions) = {
        let old = Schema1::open(&root)?;
        let new = SledArchive::open(&StorageConfig {
            path: fresh.clone(),
            ..storage.clone()
        })?;
        copy(&old, &new)?
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ArchiveError::Io { path, source }
    };
    std::fs::rename(&root, &kept_at).map_err(io(&root))?;
    std::fs::rename(&fresh, &root).map_err(io(&fresh))?;
    Ok(Migrated {
        articles,
        revisions,
        kept_at: Some(kept_at),
    })
}

/// A schema-2 archive: the same WARC files, a new index. Refused unless its index says 2.
fn from_schema2(storage: &StorageConfig) -> Result<Migrated, ArchiveError> {
    let shown = storage.path.display().to_string();
    match SledArchive::open(storage) {
        Err(ArchiveError::OldIndex { .. }) => {}
        Ok(_) => {
            return Err(ArchiveError::Open {
                path: shown,
                detail: format!(
                    "already of archive schema {}; nothing to migrate",
                    super::SCHEMA_VERSION
                ),
            });
        }
        Err(err) => return Err(err),
    }
    let rebuilt = super::rebuild::rebuild(storage, None)?;
    Ok(Migrated {
        articles: rebuilt.articles,
        revisions: rebuilt.revisions,
        kept_at: None,
    })
}

fn copy(old: &Schema1, new: &SledArchive) -> Result<(usize, usize), ArchiveError> {
    let (mut articles, mut revisions) = (0, 0);
    let mut entries = old.entries();
    loop {
        let mut group = Vec::with_capacity(GROUP);
        for entry in entries.by_ref().take(GROUP) {
            let mut entry = entry?;
            articles += 1;
            revisions += entry.revisions.len();
            for revision in &mut entry.revisions {
                revision.raw_base64 = revision.capture.as_ref().map(|c| STANDARD.encode(&c.body));
            }
            group.push(Change::Restore(Box::new(entry)));
        }
        if group.is_empty() {
            break;
        }
        for answer in new.commit(group) {
            answer?;
        }
    }
    let mut rest: Vec<Change> = Vec::new();
    for (url, validators) in old.validators()? {
        rest.push(Change::Validators { url, validators });
    }
    for (key, value) in old.state()? {
        rest.push(Change::State {
            key,
            value: Some(value),
        });
    }
    for run in old.runs()? {
        rest.push(Change::Run(Box::new(run)));
    }
    rest.push(Change::Flush);
    for answer in new.commit(rest) {
        let _: Outcome = answer?;
    }
    Ok((articles, revisions))
}

/// `<path>.<suffix>` beside `path`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}
