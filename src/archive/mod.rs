//! The archive: every article with every revision and the page each was captured from. The only
//! module that touches sled and the WARC files; the rest of gazette sees the [`Archive`] trait.
//!
//! Layout (schema 3, [`SCHEMA_VERSION`]) under `storage.path`: `warc/*.warc.gz` hold everything an
//! article is (the request and response of each fetched page, and a `metadata` record per revision
//! or change of state, see [`notes`]); `db/` is a sled index over them holding only what finding
//! and listing need, the [`warc::Location`]s of the records, crawl state and the run log. The WARC
//! files alone rebuild the index. `search/` beside them is [`crate::search`]'s, derived from the
//! archive. `docs/ARCHIVE-FORMAT.md` describes the format for its readers.

mod assets;
pub mod cdxj;
mod compact;
mod export;
mod handle;
mod index;
mod layout;
mod migrate;
pub mod notes;
mod rebuild;
pub mod remote;
mod schema1;
mod sled_store;
pub mod upload;
mod verify;
pub mod wacz;
pub mod warc;
mod watchdog;
mod websub;
mod write;
mod writer_thread;

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use thiserror::Error;

pub use assets::{AssetIngest, mime_type};
pub use index::url_key;

/// Article ids read from the archive as they are asked for.
pub type Ids<'a> = Box<dyn Iterator<Item = Result<ArticleId, ArchiveError>> + Send + 'a>;
pub use crate::model::Subscription;
pub use export::{ExportEntry, ExportedRevision, export, import, restore_lines, validate_lines};
pub use handle::Handle;
pub use migrate::{Migrated, Migration, migrate};
pub use notes::Profile;
pub use rebuild::{Rebuilt, Reparse, rebuild};
pub use sled_store::{SCHEMA_VERSION, SledArchive};
pub use verify::{Damage, Verified};

use crate::model::{
    Archived, Article, ArticleId, AssetInfo, Capture, Revision, RevisionCapture, RunReport,
    Validators,
};

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
    #[error(
        "{path}: its index is of archive schema {found}: run gazette migrate --config {config} (it rebuilds the index from the WARC files)"
    )]
    OldIndex {
        path: String,
        found: String,
        config: String,
    },
    #[error("{path}: archive schema 1: run gazette migrate --config {config}")]
    Schema1 { path: String, config: String },
    #[error("{path}: cannot open the archive: {detail}")]
    Open { path: String, detail: String },
    /// The directory or its index could not be opened; the cause says why.
    #[error("{path}: cannot open the archive")]
    OpenFailed {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A capture in an export whose bytes do not decode.
    #[error("revision {revision}: raw_base64 does not decode")]
    RawCapture {
        revision: u32,
        #[source]
        source: base64::DecodeError,
    },
    #[error("cannot read the export")]
    Input(#[source] std::io::Error),
    #[error("archive index failed")]
    Storage(#[source] sled::Error),
    #[error("cannot read or write {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the WARC files")]
    Warc(#[from] warc::WarcError),
    #[error("the object store")]
    Remote(#[source] Box<remote::RemoteError>),
    #[error("no space left on device at {}", path.display())]
    NoSpace { path: PathBuf },
    #[error("archive record {key:?} is unreadable: {detail}")]
    Corrupt { key: String, detail: String },
    #[error("the archive writer stopped: {0}")]
    Writer(String),
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
    #[error("cannot write the export")]
    Output(#[source] std::io::Error),
    /// In a cluster, the write was not taken by the stream every node applies (NATS unreachable,
    /// say): nothing was stored; the run that made it stops and is retried.
    #[error("the cluster did not take the write")]
    Replication(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Work sent to a blocking thread through [`Handle::run`] panicked or was cancelled.
    #[error("an archive task ended abnormally")]
    Task(#[source] tokio::task::JoinError),
}

impl From<remote::RemoteError> for ArchiveError {
    fn from(err: remote::RemoteError) -> Self {
        ArchiveError::Remote(Box::new(err))
    }
}

impl ArchiveError {
    /// A record proven damaged (see [`warc::WarcError::is_damage`]), or an index entry that
    /// does not decode: the article it holds is left out of listings and searches, and named
    /// when read on its own. Any other failure (a read that failed, out of files) fails the
    /// answer instead, which is then neither cached nor pushed.
    fn is_damaged_record(&self) -> bool {
        match self {
            ArchiveError::Corrupt { .. } => true,
            ArchiveError::Warc(err) => err.is_damage(),
            _ => false,
        }
    }

    /// True when the disk is full: the one failure a user can fix without reading further.
    pub fn is_no_space(&self) -> bool {
        match self {
            ArchiveError::NoSpace { .. } => true,
            ArchiveError::Warc(err) => err.is_storage_full(),
            ArchiveError::Io { source, .. } => source.kind() == std::io::ErrorKind::StorageFull,
            ArchiveError::Storage(sled::Error::Io(err)) => {
                err.kind() == std::io::ErrorKind::StorageFull
            }
            _ => false,
        }
    }
}

/// Opens the archive a config names, creating it when the directory is absent or empty.
pub fn open(storage: &crate::config::StorageConfig) -> Result<SledArchive, ArchiveError> {
    SledArchive::open(storage)
}

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

/// Opens the archive once more, and closes it, after a command that wrote much (a backfill, an
/// import, a rebuild). sled replays at open every log message written since it last opened, and
/// records its state then; settling takes that replay now (seconds after 100,000 articles), so the
/// next start, `serve`'s first feed above all, need not. A failure changes nothing: the next open
/// replays instead.
pub fn settle(storage: &crate::config::StorageConfig) {
    if let Err(err) = open_existing(storage) {
        tracing::debug!(error = %err, "the archive was not settled; its next open replays its log");
    }
}

/// What storing a fetched article did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    Revised(u32),
    Unchanged,
}

/// One fetched article to store, with what produced it.
#[derive(Debug, Clone)]
pub struct Ingest {
    pub article: Article,
    pub capture: Capture,
    pub fetched_at: DateTime<FixedOffset>,
    /// The profile the article was extracted with, written beside each revision.
    pub profile: Option<Profile>,
    /// The `User-Agent` the page was fetched with, for the request record.
    pub user_agent: String,
    /// Validators to keep for a URL (the listed one), written with the article, at once.
    pub validators: Option<(String, Validators)>,
}

/// An article read again from its latest capture with the current profile (`gazette reparse`).
#[derive(Debug, Clone)]
pub struct Reextracted {
    pub article: Article,
    /// When it was read again: the article's `updated` when its title or body changed.
    pub at: DateTime<FixedOffset>,
    /// The profile it was read with.
    pub profile: Option<Profile>,
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

/// An article read, or none when its record is damaged (logged with where the damage is).
fn unless_damaged(
    id: &ArticleId,
    read: Result<Option<Archived>, ArchiveError>,
) -> Result<Option<Archived>, ArchiveError> {
    match read {
        Err(err) if err.is_damaged_record() => {
            tracing::error!(
                %id,
                error = %crate::describe(&err),
                "an article's record is damaged: it is left out"
            );
            Ok(None)
        }
        read => read,
    }
}

/// Articles with their revisions and the pages they were read from: what a crawl stores and
/// every listing, feed and search reads.
pub trait ArticleStore: Send + Sync {
    fn article(&self, id: &ArticleId) -> Result<Option<Archived>, ArchiveError>;
    /// [`ArticleStore::article`], with an article whose record is damaged taken as absent
    /// (logged with where the damage is): what listings and searches read, so one damaged record
    /// leaves out its article, not every answer that would hold it.
    fn readable_article(&self, id: &ArticleId) -> Result<Option<Archived>, ArchiveError> {
        unless_damaged(id, self.article(id))
    }
    /// When the article was marked gone, read from the index alone.
    fn gone_at(&self, id: &ArticleId) -> Result<Option<DateTime<FixedOffset>>, ArchiveError>;
    fn id_for_url(&self, canonical_url: &str) -> Result<Option<ArticleId>, ArchiveError>;
    /// Stores fetched articles, each a new revision only when its content hash changed. Every
    /// answer means "on disk": the records are synced and the index flushed before it returns.
    fn store_many(&self, items: Vec<Ingest>) -> Result<Vec<Stored>, ArchiveError>;
    /// Stores one capture of an article (see [`ArticleStore::store_many`]).
    fn store(
        &self,
        article: &Article,
        capture: &Capture,
        fetched_at: DateTime<FixedOffset>,
    ) -> Result<Stored, ArchiveError> {
        let stored = self.store_many(vec![Ingest {
            article: article.clone(),
            capture: capture.clone(),
            fetched_at,
            profile: None,
            user_agent: crate::config::DEFAULT_USER_AGENT.to_string(),
            validators: None,
        }])?;
        Ok(stored.into_iter().next().unwrap_or(Stored::Unchanged))
    }
    /// Stores an article read again from its latest capture as a new revision caused by reparse
    /// (the revision names that capture); `Unchanged` when it reads as before or is unknown.
    fn store_reextracted(&self, reextracted: Reextracted) -> Result<Stored, ArchiveError>;
    /// Marks an article gone (404/410) once; it is never deleted. True when newly marked.
    fn mark_gone(&self, id: &ArticleId, at: DateTime<FixedOffset>) -> Result<bool, ArchiveError>;
    fn revisions(&self, id: &ArticleId) -> Result<Vec<Revision>, ArchiveError>;
    fn capture(&self, id: &ArticleId, revision: u32) -> Result<Option<Capture>, ArchiveError>;
    /// When each revision's page was fetched, oldest first, from the index alone (no revision
    /// is read): empty for an unknown article.
    fn revision_captures(&self, id: &ArticleId) -> Result<Vec<RevisionCapture>, ArchiveError>;
    /// Articles matching the query, newest first.
    fn articles(&self, query: &Query) -> Result<Vec<Archived>, ArchiveError>;
    /// The time of the newest article of `source` strictly before `before`, read from the index
    /// alone (whole seconds): months and other spans are found by hopping, not by reading all.
    fn newest_before(
        &self,
        source: &str,
        before: DateTime<FixedOffset>,
    ) -> Result<Option<DateTime<FixedOffset>>, ArchiveError>;
    /// Every article, in id order, all at once (small archives and tests; export walks
    /// [`ArticleStore::ids`]).
    fn all(&self) -> Result<Vec<Archived>, ArchiveError>;
    /// Every article's id, in id order, read as it goes: for walking a large archive one
    /// article at a time.
    fn ids(&self) -> Ids<'_>;
    /// Restores one exported article with its revisions and captures.
    fn restore(&self, entry: &ExportEntry) -> Result<(), ArchiveError>;
    fn is_empty(&self) -> Result<bool, ArchiveError>;
}

/// What a crawl keeps between its runs: the validators of the pages it fetched, its state (a
/// backfill's cursor), and the log of its runs.
pub trait CrawlLog: Send + Sync {
    fn validators(&self, url: &str) -> Result<Option<Validators>, ArchiveError>;
    fn set_validators(&self, url: &str, validators: &Validators) -> Result<(), ArchiveError>;
    /// Crawl state such as a backfill cursor.
    fn state(&self, key: &str) -> Result<Option<String>, ArchiveError>;
    fn set_state(&self, key: &str, value: Option<&str>) -> Result<(), ArchiveError>;
    fn record_run(&self, run: &RunReport) -> Result<(), ArchiveError>;
    /// The latest runs of a source, newest first.
    fn runs(&self, source: &str, limit: usize) -> Result<Vec<RunReport>, ArchiveError>;
}

/// The attachments and images captured beside articles.
pub trait AssetStore: Send + Sync {
    /// Stores a fetched attachment or image: a `response`, or a `revisit` when its payload is
    /// already stored. Answers once it is on disk.
    fn store_asset(&self, asset: AssetIngest) -> Result<AssetInfo, ArchiveError>;
    /// What is known of a captured asset URL, from the index alone.
    fn asset(&self, url: &str) -> Result<Option<AssetInfo>, ArchiveError>;
    /// The validators an asset URL was last captured with, for a conditional fetch.
    fn asset_validators(&self, url: &str) -> Result<Option<Validators>, ArchiveError>;
    /// A captured asset's bytes and headers, read back from its WARC record (after a revisit,
    /// the response it refers to: the same bytes, that capture's headers).
    fn asset_capture(&self, url: &str) -> Result<Option<Capture>, ArchiveError>;
}

/// The builtin WebSub hub's verified subscriptions.
pub trait SubscriptionStore: Send + Sync {
    fn subscriptions(&self) -> Result<Vec<Subscription>, ArchiveError>;
    /// Keeps (`Some`) or drops (`None`) the subscription of `callback` to `topic`; answers once
    /// it is on disk.
    fn set_subscription(
        &self,
        topic: &str,
        callback: &str,
        kept: Option<&Subscription>,
    ) -> Result<(), ArchiveError>;
}

/// The whole archive, as the crawl and the server hold it: each part above, and the store's
/// own health. Code that needs one part takes that trait; another engine implements them all
/// and nothing else changes.
pub trait Archive: ArticleStore + CrawlLog + AssetStore + SubscriptionStore {
    /// Returns once everything written before is on disk.
    fn flush(&self) -> Result<(), ArchiveError>;
    /// Why the archive is stalled (a write or flush stuck past `storage.stall_timeout_secs`),
    /// once it has been; a stalled archive stays so until the process restarts.
    fn stalled(&self) -> Option<String>;
}

/// The archive's traits, for `use crate::archive::prelude::*` where code calls several of them.
pub mod prelude {
    pub use super::{Archive, ArticleStore, AssetStore, CrawlLog, SubscriptionStore};
}
