//! The archive: every article with every revision and the page each was captured from. The only
//! module that touches storage; the rest of gazette sees the [`Archive`] trait.

mod export;
mod sled_store;
pub mod warc;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use export::{ExportEntry, ExportedRevision, export, import, restore_lines, validate_lines};
pub use sled_store::{DEFAULT_CACHE_CAPACITY, DEFAULT_FLUSH_EVERY_MS, SCHEMA_VERSION, SledArchive};

use crate::model::{Archived, Article, ArticleId, Capture, Revision, RunReport};

#[derive(Debug, Error)]
pub enum ArchiveError {
    #[error("{path}: {reason}; gazette leaves it untouched")]
    Foreign { path: String, reason: String },
    #[error("{path}: archive schema version {found}, this gazette reads version {expected}")]
    Schema {
        path: String,
        found: String,
        expected: String,
    },
    #[error("{path}: cannot open the archive: {detail}")]
    Open { path: String, detail: String },
    #[error("archive storage failed: {0}")]
    Storage(String),
    #[error("archive record {key:?} is unreadable: {detail}")]
    Corrupt { key: String, detail: String },
    #[error("{0}")]
    Import(String),
    /// A line of an export that cannot be restored; nothing was restored.
    #[error("import: line {line}: {reason}")]
    ImportLine { line: usize, reason: String },
    /// Restoring stopped partway (a full disk, say) after `restored` articles.
    #[error("import stopped after {restored} article(s)")]
    Restore {
        restored: usize,
        #[source]
        cause: Box<ArchiveError>,
    },
    #[error("no archive at {path} (crawl first, or check storage.path)")]
    Missing { path: String },
    /// Another process has the archive open: sled allows one at a time.
    #[error("{path}: the archive is open in another gazette process")]
    Locked { path: String },
}

/// Opens the archive a config names, creating it when the directory is absent or empty.
pub fn open(storage: &crate::config::StorageConfig) -> Result<SledArchive, ArchiveError> {
    SledArchive::open(
        &storage.path,
        storage.cache_capacity,
        storage.flush_every_ms,
    )
    .map_err(|err| match err {
        ArchiveError::Open { path, detail } if detail.contains(SLED_LOCK_HELD) => {
            ArchiveError::Locked { path }
        }
        other => other,
    })
}

/// How sled 0.34 words a lock held by another process: an `io::ErrorKind::Other` (not
/// `WouldBlock`) whose text alone tells it apart, `could not acquire lock on "…/db": Os { … }`.
const SLED_LOCK_HELD: &str = "could not acquire lock on";

/// Opens the archive a config names only if there is one: reading never creates an archive.
pub fn open_existing(storage: &crate::config::StorageConfig) -> Result<SledArchive, ArchiveError> {
    let empty = match std::fs::read_dir(&storage.path) {
        Ok(mut entries) => entries.next().is_none(),
        Err(err) => err.kind() == std::io::ErrorKind::NotFound,
    };
    if empty {
        return Err(ArchiveError::Missing {
            path: storage.path.display().to_string(),
        });
    }
    open(storage)
}

/// What storing a fetched article did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    Revised(u32),
    Unchanged,
}

/// The validators of a fetched URL, for conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// Which archived articles to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub source: Option<String>,
    pub section: Option<String>,
    pub since: Option<DateTime<FixedOffset>>,
    pub until: Option<DateTime<FixedOffset>>,
    pub limit: Option<usize>,
}

/// The storage gazette needs; another engine implements this and nothing else changes.
pub trait Archive: Send + Sync {
    fn article(&self, id: &ArticleId) -> Result<Option<Archived>, ArchiveError>;
    fn id_for_url(&self, canonical_url: &str) -> Result<Option<ArticleId>, ArchiveError>;
    /// Stores a capture of an article: a new revision only when its content hash changed.
    fn store(
        &self,
        article: &Article,
        capture: &Capture,
        fetched_at: DateTime<FixedOffset>,
    ) -> Result<Stored, ArchiveError>;
    /// Marks an article gone (404/410) once; it is never deleted. True when newly marked.
    fn mark_gone(&self, id: &ArticleId, at: DateTime<FixedOffset>) -> Result<bool, ArchiveError>;
    fn revisions(&self, id: &ArticleId) -> Result<Vec<Revision>, ArchiveError>;
    fn capture(&self, id: &ArticleId, revision: u32) -> Result<Option<Capture>, ArchiveError>;
    /// Articles matching the query, newest first.
    fn articles(&self, query: &Query) -> Result<Vec<Archived>, ArchiveError>;
    /// The time of the newest article of `source` strictly before `before`, read from the index
    /// alone (whole seconds): months and other spans are found by hopping, not by reading all.
    fn newest_before(
        &self,
        source: &str,
        before: DateTime<FixedOffset>,
    ) -> Result<Option<DateTime<FixedOffset>>, ArchiveError>;
    /// Every article, in id order (for export).
    fn all(&self) -> Result<Vec<Archived>, ArchiveError>;
    fn validators(&self, url: &str) -> Result<Option<Validators>, ArchiveError>;
    fn set_validators(&self, url: &str, validators: &Validators) -> Result<(), ArchiveError>;
    /// Crawl state such as a backfill cursor.
    fn state(&self, key: &str) -> Result<Option<String>, ArchiveError>;
    fn set_state(&self, key: &str, value: Option<&str>) -> Result<(), ArchiveError>;
    fn record_run(&self, run: &RunReport) -> Result<(), ArchiveError>;
    /// The latest runs of a source, newest first.
    fn runs(&self, source: &str, limit: usize) -> Result<Vec<RunReport>, ArchiveError>;
    /// Restores one exported article with its revisions and captures.
    fn restore(&self, entry: &ExportEntry) -> Result<(), ArchiveError>;
    fn is_empty(&self) -> Result<bool, ArchiveError>;
    fn flush(&self) -> Result<(), ArchiveError>;
}
