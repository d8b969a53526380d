//! Full-text search over the archive, Vietnamese-aware: "ha tien", "Hà Tiên", "HÀ TIÊN" and the
//! decomposed spelling find the same articles, and those with the tones as typed rank first.
//!
//! A tantivy index under `<storage.path>/search/`, derived from the archive (the source of
//! truth): brought up to date after each run, rebuilt by `gazette reindex`, and rebuilt on its
//! own when missing, damaged or of another [`schema::VERSION`]. It is held by one process.

pub mod analysis;
mod cursor;
mod find;
#[cfg(feature = "testing")]
pub mod judged;
pub mod query;
mod schema;
mod snippet;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term};
use thiserror::Error;

pub use cursor::SearchCursor;
pub use query::{Clause, QueryError, Ranking};

use crate::archive::{Archive, ArchiveError, Query as ArchiveQuery};
use crate::model::{Archived, ArticleId};
use analysis::{EXACT, FOLDED, PAIRS_EXACT, PAIRS_FOLDED, Vietnamese};
use schema::{Fields, VERSION};

/// The file beside the index naming its version.
const VERSION_FILE: &str = "gazette-search-version";
/// Articles read from the archive, and written to the index between two commits, at a time
/// (catching up or rebuilding): each is a whole article, so this bounds the memory either takes.
const BATCH: usize = 1024;
/// Memory the index writer may use before it writes a segment: tantivy's least for its one
/// thread. Runs add few articles; a daemon that also crawls a backfill stays small.
const WRITER_BYTES: usize = 16 * 1024 * 1024;
/// Snapshots kept for best-first paging: each holds its segments' files open until dropped.
const PINNED: std::num::NonZeroUsize = std::num::NonZeroUsize::new(16).expect("not zero");

#[derive(Debug, Error)]
pub enum SearchError {
    #[error("search index at {}", path.display())]
    Index {
        path: PathBuf,
        #[source]
        source: tantivy::TantivyError,
    },
    /// Another process has the index open for writing (tantivy's own lock).
    #[error("the search index at {} is in use by another gazette process", path.display())]
    Held { path: PathBuf },
    #[error("cannot write the search index at {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading the archive for the search index")]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("not a cursor this server gave out")]
    Cursor,
    #[error("the search index build was stopped; it is built again at the next open")]
    Stopped,
}

/// An error with its causes, one line: `search index at …: …`.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(current) = cause {
        text.push_str(": ");
        text.push_str(&current.to_string());
        cause = current.source();
    }
    text
}

/// One search result: the archived article as `query` lists it, its score and a snippet (HTML,
/// escaped, the matched syllables in `<mark>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hit {
    #[serde(flatten)]
    pub archived: Archived,
    pub score: f32,
    pub snippet: String,
}

/// Which articles to find, and how many.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub text: String,
    pub source: Option<String>,
    pub section: Option<String>,
    pub since: Option<DateTime<FixedOffset>>,
    pub until: Option<DateTime<FixedOffset>>,
    pub limit: usize,
    /// Newest first instead of best first.
    pub newest_first: bool,
    pub cursor: Option<SearchCursor>,
    /// How results are ranked best first.
    pub ranking: Ranking,
}

/// A page of results and where the next one starts.
#[derive(Debug, Clone)]
pub struct Found {
    pub hits: Vec<Hit>,
    pub next: Option<SearchCursor>,
}

/// Why an index on disk is not opened as it is.
enum Unusable {
    /// Not made yet (a first start, or a search directory deleted): made from the archive.
    Absent,
    /// Of another version (gazette was upgraded): rebuilt, as expected.
    Outdated(String),
    /// Damaged: rebuilt.
    Stale(String),
    /// Another process writes it.
    Held,
}

/// Why an index is made on a first start: there was none ([`Opened::Rebuilt`]'s reason).
pub const NO_INDEX: &str = "no search index";

/// How the index came to be open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    Existing,
    /// Rebuilt from the archive for this reason, with this many articles.
    Rebuilt {
        reason: String,
        articles: usize,
    },
}

/// The search index, open for reading and writing.
pub struct SearchIndex {
    dir: PathBuf,
    fields: Fields,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    /// Snapshots of the index that best-first cursors page through (see [`SearchCursor`]).
    pinned: Mutex<lru::LruCache<u64, tantivy::Searcher>>,
}

/// The search index beside the archive at `storage`, opened (or rebuilt) off the async workers;
/// `None`, logged, when it cannot be: the server then answers searches with 503. A rebuild stops
/// when `stop` is cancelled (a server shutting down), leaving it to the next open.
pub async fn open_beside(
    storage: &Path,
    archive: std::sync::Arc<dyn Archive>,
    stop: tokio_util::sync::CancellationToken,
) -> Option<std::sync::Arc<SearchIndex>> {
    let dir = SearchIndex::dir(storage);
    let opened = tokio::task::spawn_blocking(move || {
        SearchIndex::open_unless(&dir, archive.as_ref(), &|| stop.is_cancelled())
    })
    .await;
    match opened {
        Ok(Err(SearchError::Stopped)) => {
            tracing::info!("the search index build was stopped; the next start builds it");
            None
        }
        Ok(Ok((index, opened))) => {
            match opened {
                Opened::Rebuilt { reason, articles } if reason == NO_INDEX => {
                    tracing::info!(articles, "search index created");
                }
                Opened::Rebuilt { reason, articles } => {
                    tracing::info!(%reason, articles, "search index rebuilt");
                }
                Opened::Existing => {}
            }
            Some(std::sync::Arc::new(index))
        }
        Ok(Err(err)) => {
            tracing::error!(error = %chain(&err), "search is off");
            None
        }
        Err(panic) => {
            tracing::error!(%panic, "search is off: opening the index panicked");
            None
        }
    }
}

impl SearchIndex {
    /// The index directory of an archive at `storage`.
    pub fn dir(storage: &Path) -> PathBuf {
        storage.join("search")
    }

    /// Opens the index at `dir`, rebuilding it from `archive` (and logging why) when it is
    /// missing, damaged or of another version.
    pub fn open(dir: &Path, archive: &dyn Archive) -> Result<(SearchIndex, Opened), SearchError> {
        SearchIndex::open_unless(dir, archive, &|| false)
    }

    /// [`SearchIndex::open`], whose rebuild, if one is needed, ends with [`SearchError::Stopped`]
    /// as soon as `stopped` says so.
    pub fn open_unless(
        dir: &Path,
        archive: &dyn Archive,
        stopped: &dyn Fn() -> bool,
    ) -> Result<(SearchIndex, Opened), SearchError> {
        match SearchIndex::open_existing(dir) {
            Ok(index) => {
                let added = index.add_missing(archive, stopped)?;
                if added > 0 {
                    tracing::warn!(
                        dir = %dir.display(),
                        added,
                        "the search index lacked articles of the archive (a run stopped before \
                         they were indexed): added"
                    );
                }
                Ok((index, Opened::Existing))
            }
            // Held by another process: it is in use, not damaged, and is left alone.
            Err(Unusable::Held) => Err(SearchError::Held {
                path: dir.to_path_buf(),
            }),
            Err(Unusable::Absent) => {
                // A first start: nothing is wrong, the index is simply made.
                tracing::info!(dir = %dir.display(), "creating the search index from the archive");
                let reason = NO_INDEX.to_string();
                let (index, articles) = SearchIndex::rebuild_unless(dir, archive, stopped)?;
                Ok((index, Opened::Rebuilt { reason, articles }))
            }
            Err(Unusable::Outdated(reason)) => {
                // An upgrade that changed the fields or the analysis: nothing is wrong.
                tracing::info!(dir = %dir.display(), %reason, "rebuilding the search index");
                let (index, articles) = SearchIndex::rebuild_unless(dir, archive, stopped)?;
                Ok((index, Opened::Rebuilt { reason, articles }))
            }
            Err(Unusable::Stale(reason)) => {
                tracing::warn!(dir = %dir.display(), %reason, "rebuilding the search index");
                let (index, articles) = SearchIndex::rebuild_unless(dir, archive, stopped)?;
                Ok((index, Opened::Rebuilt { reason, articles }))
            }
        }
    }

    /// The index at `dir` as it is, or why it cannot be used.
    fn open_existing(dir: &Path) -> Result<SearchIndex, Unusable> {
        let stale = |reason: String| Unusable::Stale(reason);
        let made = dir.join(VERSION_FILE).exists() || dir.join("meta.json").exists();
        if !made {
            return Err(Unusable::Absent);
        }
        let version = std::fs::read_to_string(dir.join(VERSION_FILE))
            .map_err(|_| stale("no search index (or no version file)".to_string()))?;
        if version.trim() != VERSION {
            return Err(Unusable::Outdated(format!(
                "of version {:?}, not {VERSION:?}",
                version.trim()
            )));
        }
        let index = Index::open_in_dir(dir).map_err(|err| stale(format!("unreadable: {err}")))?;
        let damaged = index
            .validate_checksum()
            .map_err(|err| stale(format!("unreadable: {err}")))?;
        if !damaged.is_empty() {
            return Err(stale(format!("damaged files: {damaged:?}")));
        }
        let fields = Fields::new();
        if index.schema() != fields.schema {
            return Err(stale("of another schema".into()));
        }
        SearchIndex::with(dir, index, fields).map_err(|err| match err {
            SearchError::Held { .. } => Unusable::Held,
            other => stale(chain(&other)),
        })
    }

    fn with(dir: &Path, index: Index, fields: Fields) -> Result<SearchIndex, SearchError> {
        let failed = |source| SearchError::Index {
            path: dir.to_path_buf(),
            source,
        };
        for (name, fold, pairs) in [
            (EXACT, false, false),
            (FOLDED, true, false),
            (PAIRS_EXACT, false, true),
            (PAIRS_FOLDED, true, true),
        ] {
            index
                .tokenizers()
                .register(name, Vietnamese { fold, pairs });
        }
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(failed)?;
        let writer =
            index
                .writer_with_num_threads(1, WRITER_BYTES)
                .map_err(|source| match source {
                    tantivy::TantivyError::LockFailure(..) => SearchError::Held {
                        path: dir.to_path_buf(),
                    },
                    source => failed(source),
                })?;
        Ok(SearchIndex {
            dir: dir.to_path_buf(),
            fields,
            reader,
            writer: Mutex::new(writer),
            pinned: Mutex::new(lru::LruCache::new(PINNED)),
        })
    }

    /// A new index at `dir` (whatever was there is removed) holding every article of `archive`.
    pub fn rebuild(dir: &Path, archive: &dyn Archive) -> Result<(SearchIndex, usize), SearchError> {
        SearchIndex::rebuild_unless(dir, archive, &|| false)
    }

    /// [`SearchIndex::rebuild`], ended with [`SearchError::Stopped`] as soon as `stopped` says
    /// so: the index is then left without its version file, so its next open builds it again.
    fn rebuild_unless(
        dir: &Path,
        archive: &dyn Archive,
        stopped: &dyn Fn() -> bool,
    ) -> Result<(SearchIndex, usize), SearchError> {
        let io = |source| SearchError::Io {
            path: dir.to_path_buf(),
            source,
        };
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(io)?;
        }
        std::fs::create_dir_all(dir).map_err(io)?;
        let fields = Fields::new();
        let index = Index::create_in_dir(dir, fields.schema.clone()).map_err(|source| {
            SearchError::Index {
                path: dir.to_path_buf(),
                source,
            }
        })?;
        let search = SearchIndex::with(dir, index, fields)?;
        // One batch of articles in memory at a time, whatever the archive's size; searchers
        // see the index once it is whole.
        let mut count = 0;
        let mut batch = Vec::with_capacity(BATCH);
        let mut ids = archive.ids();
        loop {
            if stopped() {
                return Err(SearchError::Stopped);
            }
            let id = ids.next().transpose()?;
            if let Some(id) = &id {
                batch.extend(archive.readable_article(id)?);
            }
            if batch.len() == BATCH || (id.is_none() && !batch.is_empty()) {
                count += batch.len();
                search.add(&batch, false)?;
                batch.clear();
            }
            if id.is_none() {
                break;
            }
        }
        search.reader.reload().map_err(|e| search.failed(e))?;
        // Written last: an interrupted rebuild leaves no version file and is done again.
        std::fs::write(dir.join(VERSION_FILE), VERSION).map_err(io)?;
        Ok((search, count))
    }

    fn failed(&self, source: tantivy::TantivyError) -> SearchError {
        SearchError::Index {
            path: self.dir.clone(),
            source,
        }
    }

    /// Writes `articles` (replacing what the index held of them) and makes them searchable.
    pub fn write(&self, articles: &[Archived]) -> Result<(), SearchError> {
        self.add(articles, true)
    }

    /// Adds `articles`, first deleting what the index held of them when `replace`, and makes
    /// them searchable. A new index being built (not `replace`) holds nothing to replace (each
    /// delete is kept in memory until the next commit) and is searched once whole: reloading
    /// after each commit would hold every merged-away segment open until the next.
    fn add(&self, articles: &[Archived], replace: bool) -> Result<(), SearchError> {
        if articles.is_empty() {
            return Ok(());
        }
        let now = chrono::Utc::now().timestamp_micros();
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        for archived in articles {
            if replace {
                writer.delete_term(Term::from_field_text(
                    self.fields.id,
                    &archived.article.id.0,
                ));
            }
            writer
                .add_document(self.fields.document(archived, now))
                .map_err(|e| self.failed(e))?;
        }
        writer.commit().map_err(|e| self.failed(e))?;
        drop(writer);
        if replace {
            self.reader.reload().map_err(|e| self.failed(e))?;
        }
        Ok(())
    }

    /// The content hash the index holds for an article, if it holds it.
    /// Adds the archive's articles the index lacks: a run stopped, or the process killed,
    /// between storing articles and indexing them. Counted first, so an index as whole as the
    /// archive costs one pass over the archive's ids.
    fn add_missing(
        &self,
        archive: &dyn Archive,
        stopped: &dyn Fn() -> bool,
    ) -> Result<usize, SearchError> {
        let mut archived = 0;
        for id in archive.ids() {
            id?;
            archived += 1;
        }
        if archived <= self.len() {
            return Ok(0);
        }
        let searcher = self.reader.searcher();
        let mut missing = Vec::new();
        let mut added = 0;
        for id in archive.ids() {
            if stopped() {
                return Err(SearchError::Stopped);
            }
            let id = id?;
            let term = Term::from_field_text(self.fields.id, &id.0);
            if searcher.doc_freq(&term).map_err(|e| self.failed(e))? > 0 {
                continue;
            }
            missing.extend(archive.readable_article(&id)?);
            if missing.len() == BATCH {
                added += missing.len();
                self.write(&missing)?;
                missing.clear();
            }
        }
        added += missing.len();
        self.write(&missing)?;
        Ok(added)
    }

    fn indexed_hash(&self, id: &ArticleId) -> Result<Option<String>, SearchError> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(
            Term::from_field_text(self.fields.id, &id.0),
            IndexRecordOption::Basic,
        );
        let top = searcher
            .search(&query, &TopDocs::with_limit(1))
            .map_err(|e| self.failed(e))?;
        let Some((_, address)) = top.first() else {
            return Ok(None);
        };
        let doc: tantivy::TantivyDocument = searcher.doc(*address).map_err(|e| self.failed(e))?;
        Ok(doc
            .get_first(self.fields.hash)
            .and_then(|v| v.as_str())
            .map(str::to_string))
    }

    /// Brings the index up to date after a run of `source` that stored `changed` new or
    /// revised articles: reads the source's articles newest first until it has found that many
    /// the index does not hold as they are, or the end. Answers how many it wrote.
    pub fn catch_up(
        &self,
        archive: &dyn Archive,
        source: &str,
        changed: u64,
    ) -> Result<usize, SearchError> {
        let mut seen = HashSet::new();
        let mut stale = Vec::new();
        let mut written = 0;
        let mut until = None;
        let mut want = 64;
        while ((written + stale.len()) as u64) < changed {
            let batch = archive.articles(&ArchiveQuery {
                source: Some(source.to_string()),
                until,
                limit: Some(want),
                ..ArchiveQuery::default()
            })?;
            let full = batch.len() == want;
            let mut fresh = 0;
            for archived in batch {
                until = Some(archived.sort_time());
                if !seen.insert(archived.article.id.clone()) {
                    continue;
                }
                fresh += 1;
                let held = self.indexed_hash(&archived.article.id)?;
                if held.as_deref() != Some(archived.article.content_hash.as_str()) {
                    stale.push(archived);
                }
            }
            // Written as they come, so a backfill's catch-up holds a batch, not the backfill.
            if stale.len() >= BATCH {
                self.write(&stale)?;
                written += stale.len();
                stale.clear();
            }
            if !full || fresh == 0 {
                break;
            }
            want = (want * 4).min(BATCH);
        }
        self.write(&stale)?;
        Ok(written + stale.len())
    }

    /// [`SearchIndex::catch_up`] after a run, logging what it did or why it failed (the
    /// archive holds the articles all the same; `gazette reindex` makes the index whole).
    pub fn after_run(&self, archive: &dyn Archive, report: &crate::model::RunReport) {
        let changed = report.new + report.revised;
        if changed == 0 {
            return;
        }
        match self.catch_up(archive, &report.source, changed) {
            Ok(written) => {
                tracing::debug!(source = %report.source, written, "search index updated")
            }
            Err(err) => tracing::error!(
                source = %report.source,
                error = %crate::search::chain(&err),
                "the search index was not updated; gazette reindex rebuilds it"
            ),
        }
    }

    /// Articles in the index.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
