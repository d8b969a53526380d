//! The archive on WARC files and a sled index (schema 2): opening and checking the layout, and
//! every read. Writes go through the one [`Writer`](super::write::Writer).

use super::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, SubsecRound};
use lru::LruCache;
use sled::Db;

use super::assets::{self, AssetIngest};
use super::index::{self, Entry, RevisionEntry, Span, Trees};
use super::layout::{check_conf, check_directory, config_shown, index_config};
use super::notes::{Note, RevisionNote};
use super::remote::Records;
use super::write::{Change, Outcome, Writer, storage_error};
use super::writer_thread::WriterThread;
use super::{Archive, ArchiveError, ExportEntry, Ids, Ingest, Query, Reextracted, Stored};
use crate::config::StorageConfig;
use crate::model::{
    Archived, ArticleId, AssetInfo, Capture, Revision, RevisionCapture, RunReport, Validators,
};

/// Bumped when the layout changes; checked on open.
pub const SCHEMA_VERSION: &str = "3";
/// Bytes of decoded revisions kept in memory (counted as the size of their JSON): the articles
/// feeds and pages ask for again and again (rendered feeds are cached apart). Kept small: a pass
/// over the whole archive (a search rebuild, an export) fills it with articles read once.
const HOT_BYTES: usize = 4 * 1024 * 1024;

/// Decoded revisions, least recently used dropped first once they pass [`HOT_BYTES`].
struct Hot<V = Arc<RevisionNote>> {
    revisions: Option<LruCache<(String, u64), (V, usize)>>,
    bytes: usize,
}

impl<V> Default for Hot<V> {
    fn default() -> Self {
        Hot {
            revisions: None,
            bytes: 0,
        }
    }
}

impl<V: Clone> Hot<V> {
    fn get(&mut self, key: &(String, u64)) -> Option<V> {
        self.revisions
            .as_mut()?
            .get(key)
            .map(|(note, _)| note.clone())
    }

    fn put(&mut self, key: (String, u64), note: V, bytes: usize) {
        if bytes > HOT_BYTES {
            return;
        }
        let revisions = self.revisions.get_or_insert_with(LruCache::unbounded);
        if let Some((_, old)) = revisions.put(key, (note, bytes)) {
            self.bytes -= old;
        }
        self.bytes += bytes;
        while self.bytes > HOT_BYTES {
            match revisions.pop_lru() {
                Some((_, (_, dropped))) => self.bytes -= dropped,
                None => break,
            }
        }
    }
}

/// The archive: WARC files and the sled index over them.
pub struct SledArchive {
    root: PathBuf,
    /// Reads records from the WARC directory, or the object store for files no longer in it.
    records: Records,
    db: Db,
    trees: Trees,
    hot: Mutex<Hot>,
    writer: WriterThread,
}

/// How long an open waits for the index's lock before it reports the archive in use. A sled 0.34
/// database's lock outlives its drop for a moment (its I/O threads may hold the file a little
/// longer), and a child process started while the archive was open holds a copy of the locked
/// file until it runs its program. An open in that moment (settling the archive, `gazette crawl`
/// opening it again for the search index) would otherwise fail as if another process held it.
const LOCK_WAIT: Duration = Duration::from_millis(500);

/// How sled 0.34 words a lock held elsewhere: an `io::ErrorKind::Other` (not `WouldBlock`) whose
/// text alone tells it apart, `could not acquire lock on "…/db": Os { … }`.
const SLED_LOCK_HELD: &str = "could not acquire lock on";

/// Opens the sled index; a lock still held after [`LOCK_WAIT`] is [`ArchiveError::Locked`].
pub(super) fn open_index(storage: &StorageConfig, db_dir: &Path) -> Result<Db, ArchiveError> {
    let started = Instant::now();
    loop {
        match index_config(db_dir)
            .cache_capacity(storage.cache_capacity)
            .open()
        {
            Err(sled::Error::Io(err)) if err.to_string().contains(SLED_LOCK_HELD) => {
                if started.elapsed() >= LOCK_WAIT {
                    return Err(ArchiveError::Locked {
                        path: storage.path.display().to_string(),
                    });
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(err @ (sled::Error::Io(_) | sled::Error::Corruption { .. })) => {
                return Err(storage_error(&storage.path, err));
            }
            Err(err) => {
                return Err(ArchiveError::OpenFailed {
                    path: storage.path.display().to_string(),
                    source: Box::new(err),
                });
            }
            Ok(db) => return Ok(db),
        }
    }
}

impl SledArchive {
    /// Opens or creates the archive at `storage.path`. A directory that holds something else, or
    /// an archive of another schema, is refused and left as it is.
    pub fn open(storage: &StorageConfig) -> Result<SledArchive, ArchiveError> {
        let root = storage.path.clone();
        let shown = root.display().to_string();
        let fresh = check_directory(&root, &shown).map_err(|err| match err {
            ArchiveError::Schema1 { path, .. } => ArchiveError::Schema1 {
                path,
                config: config_shown(storage),
            },
            err => err,
        })?;
        let db_dir = root.join("db");
        if !fresh {
            check_conf(&db_dir, &shown)?;
        }
        let db = open_index(storage, &db_dir)?;
        let index_error = |err| storage_error(&root, err);
        let meta = db.open_tree("meta").map_err(index_error)?;
        match meta.get("schema_version").map_err(index_error)? {
            Some(found) if found.as_ref() == SCHEMA_VERSION.as_bytes() => {}
            Some(found) if found.as_ref() == b"2" => {
                return Err(ArchiveError::OldIndex {
                    path: shown,
                    found: "2".into(),
                    config: config_shown(storage),
                });
            }
            Some(found) => {
                return Err(ArchiveError::Schema {
                    path: shown,
                    found: String::from_utf8_lossy(&found).into_owned(),
                    expected: SCHEMA_VERSION.into(),
                });
            }
            None if fresh || db.tree_names().len() <= 2 => {
                meta.insert("schema_version", SCHEMA_VERSION)
                    .map_err(index_error)?;
                db.flush().map_err(index_error)?;
            }
            None => {
                return Err(ArchiveError::Foreign {
                    path: shown,
                    reason: "a sled database, but not a gazette archive".into(),
                });
            }
        }
        let trees = Trees::open(&db).map_err(index_error)?;
        let records = Records::open(storage).map_err(|err| ArchiveError::OpenFailed {
            path: shown.clone(),
            source: Box::new(err),
        })?;
        let writer = Writer::new(&root, storage, records.clone(), db.clone(), trees.clone());
        Ok(SledArchive {
            root,
            records,
            db,
            trees,
            hot: Mutex::new(Hot::default()),
            writer: WriterThread::start(writer, Duration::from_secs(storage.stall_timeout_secs))?,
        })
    }

    /// Bytes the archive takes on disk: the index and the WARC files.
    pub fn size_on_disk(&self) -> Result<u64, ArchiveError> {
        let index = self
            .db
            .size_on_disk()
            .map_err(|err| self.index_error(err))?;
        let mut warc = 0;
        if let Ok(entries) = std::fs::read_dir(self.warc_dir()) {
            for entry in entries.flatten() {
                warc += entry.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
        Ok(index + warc)
    }

    pub(super) fn warc_dir(&self) -> &Path {
        self.records.dir()
    }

    pub(super) fn records(&self) -> &Records {
        &self.records
    }

    pub(super) fn trees(&self) -> &Trees {
        &self.trees
    }

    pub(super) fn index_error(&self, err: sled::Error) -> ArchiveError {
        storage_error(&self.root, err)
    }

    /// The archive's directory (`storage.path`).
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Holds every write from now until [`SledArchive::release_writes`], as a disk that takes
    /// seconds to sync would: for the tests that show async callers do not wait on it.
    #[cfg(feature = "testing")]
    pub fn hold_writes(&self) {
        self.writer.gate().set(true);
    }

    /// Lets held writes go on.
    #[cfg(feature = "testing")]
    pub fn release_writes(&self) {
        self.writer.gate().set(false);
    }

    /// Groups of writes held now.
    #[cfg(feature = "testing")]
    pub fn writes_held(&self) -> usize {
        self.writer.gate().waiting()
    }

    pub(super) fn commit(&self, changes: Vec<Change>) -> Vec<Result<Outcome, ArchiveError>> {
        self.writer.commit(changes)
    }

    fn commit_one(&self, change: Change) -> Result<Outcome, ArchiveError> {
        self.commit(vec![change])
            .pop()
            .unwrap_or(Err(ArchiveError::Writer("no answer".into())))
    }

    fn entry(&self, id: &ArticleId) -> Result<Option<Entry>, ArchiveError> {
        let key = id.0.as_bytes();
        match self
            .trees
            .articles
            .get(key)
            .map_err(|err| self.index_error(err))?
        {
            Some(bytes) => Entry::unpack(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn revision_entry(
        &self,
        id: &ArticleId,
        number: u32,
    ) -> Result<Option<RevisionEntry>, ArchiveError> {
        Ok(self
            .entry(id)?
            .and_then(|mut entry| entry.kept.remove(&number)))
    }

    /// A revision's metadata record, decoded: one positioned read and one gzip member, or none
    /// when it is hot.
    fn note(&self, span: &Span) -> Result<Arc<RevisionNote>, ArchiveError> {
        let key = (span.0.clone(), span.1);
        if let Some(hit) = self.hot.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(hit);
        }
        let record = self.records.read(&span.location())?;
        let corrupt = |detail: String| ArchiveError::Corrupt {
            key: format!("{} at byte {}", span.0, span.1),
            detail,
        };
        let note: Note =
            serde_json::from_slice(record.block()).map_err(|err| corrupt(err.to_string()))?;
        let Note::Revision(note) = note else {
            return Err(corrupt("not the metadata record of a revision".into()));
        };
        let note: Arc<RevisionNote> = Arc::from(note);
        self.hot.lock().unwrap_or_else(|e| e.into_inner()).put(
            key,
            note.clone(),
            record.block().len(),
        );
        Ok(note)
    }

    fn archived(&self, entry: &Entry) -> Result<Archived, ArchiveError> {
        let note = self.note(&entry.latest)?;
        Ok(Archived {
            article: note.article.clone(),
            first_seen: entry.first_seen,
            updated: entry.updated,
            revisions: entry.revisions,
            gone_at: entry.gone_at,
        })
    }
}

impl ArticleStore for SledArchive {
    fn article(&self, id: &ArticleId) -> Result<Option<Archived>, ArchiveError> {
        match self.entry(id)? {
            Some(entry) => self.archived(&entry).map(Some),
            None => Ok(None),
        }
    }

    fn gone_at(&self, id: &ArticleId) -> Result<Option<DateTime<FixedOffset>>, ArchiveError> {
        Ok(self.entry(id)?.and_then(|entry| entry.gone_at))
    }

    fn id_for_url(&self, canonical_url: &str) -> Result<Option<ArticleId>, ArchiveError> {
        let Some(id) = self
            .trees
            .by_url
            .get(index::url_key(canonical_url))
            .map_err(|err| self.index_error(err))?
        else {
            return Ok(None);
        };
        Ok(Some(ArticleId(String::from_utf8_lossy(&id).into_owned())))
    }

    fn store_many(&self, items: Vec<Ingest>) -> Result<Vec<Stored>, ArchiveError> {
        let changes = items
            .into_iter()
            .map(|item| Change::Store(Box::new(item)))
            .collect();
        self.commit(changes)
            .into_iter()
            .map(|answer| match answer? {
                Outcome::Stored(stored) => Ok(stored),
                _ => Err(ArchiveError::Writer(
                    "a store was answered as another change".into(),
                )),
            })
            .collect()
    }

    fn store_reextracted(&self, reextracted: Reextracted) -> Result<Stored, ArchiveError> {
        match self.commit_one(Change::Reparse(Box::new(reextracted)))? {
            Outcome::Stored(stored) => Ok(stored),
            _ => Ok(Stored::Unchanged),
        }
    }

    fn mark_gone(&self, id: &ArticleId, at: DateTime<FixedOffset>) -> Result<bool, ArchiveError> {
        match self.commit_one(Change::MarkGone { id: id.clone(), at })? {
            Outcome::Marked(marked) => Ok(marked),
            _ => Ok(false),
        }
    }

    fn revisions(&self, id: &ArticleId) -> Result<Vec<Revision>, ArchiveError> {
        let Some(entry) = self.entry(id)? else {
            return Ok(Vec::new());
        };
        entry
            .kept
            .values()
            .map(|revision| {
                let note = self.note(&revision.metadata)?;
                Ok(Revision {
                    number: note.revision,
                    fetched_at: revision.fetched_at,
                    cause: note.cause,
                    article: note.article.clone(),
                })
            })
            .collect()
    }

    fn capture(&self, id: &ArticleId, revision: u32) -> Result<Option<Capture>, ArchiveError> {
        let Some(entry) = self.revision_entry(id, revision)? else {
            return Ok(None);
        };
        let Some(response) = &entry.response else {
            return Ok(None);
        };
        let note = self.note(&entry.metadata)?;
        let record = self.records.read(&response.location())?;
        let capture = record.capture().ok_or_else(|| ArchiveError::Corrupt {
            key: format!("{} at byte {}", response.0, response.1),
            detail: "the response record holds no HTTP response".into(),
        })?;
        // The head as received, where the note keeps it apart from the response record's.
        Ok(Some(match &note.capture {
            Some(head) => Capture {
                body: capture.body,
                ..head.clone()
            },
            None => capture,
        }))
    }

    fn revision_captures(&self, id: &ArticleId) -> Result<Vec<RevisionCapture>, ArchiveError> {
        let Some(entry) = self.entry(id)? else {
            return Ok(Vec::new());
        };
        Ok(entry
            .kept
            .iter()
            .map(|(number, revision)| RevisionCapture {
                number: *number,
                fetched_at: revision.fetched_at,
                page_kept: revision.response.is_some(),
            })
            .collect())
    }

    fn articles(&self, query: &Query) -> Result<Vec<Archived>, ArchiveError> {
        let Some(source) = &query.source else {
            // Every source: each one's own index, merged by time.
            let mut found = Vec::new();
            for source in self.sources()? {
                found.extend(self.articles(&Query {
                    source: Some(source),
                    section: None,
                    ..query.clone()
                })?);
            }
            found.sort_by(|a, b| {
                b.sort_time()
                    .cmp(&a.sort_time())
                    .then_with(|| a.article.id.cmp(&b.article.id))
            });
            if let Some(limit) = query.limit {
                found.truncate(limit);
            }
            return Ok(found);
        };
        let prefix = index::time_prefix(source);
        // Newest first: start at `until`, stop at `since` or the limit.
        let mut start = prefix.clone();
        if let Some(until) = query.until {
            start.extend_from_slice(&index::inverted(until));
        }
        let mut end = prefix.clone();
        end.extend_from_slice(&[0xff; 9]);
        let limit = query.limit.unwrap_or(usize::MAX);
        let section = query.section.as_deref().map(str::as_bytes);
        let mut found: Vec<Archived> = Vec::new();
        for item in self.trees.by_time.range(start..end) {
            if found.len() >= limit {
                break;
            }
            let (key, _) = item.map_err(|err| self.index_error(err))?;
            let Some((time, in_section, id)) = index::parse_time_key(&prefix, &key) else {
                continue;
            };
            if query
                .since
                .is_some_and(|since| time < since.trunc_subsecs(0))
            {
                break;
            }
            if section.is_some_and(|section| section != in_section) {
                continue;
            }
            let Some(bytes) = self
                .trees
                .articles
                .get(id)
                .map_err(|err| self.index_error(err))?
            else {
                continue;
            };
            let entry = Entry::unpack(id, &bytes)?;
            let time = entry.sort_time();
            if query.since.is_some_and(|since| time < since) {
                break;
            }
            if query.until.is_some_and(|until| time > until) {
                continue;
            }
            let id = ArticleId(String::from_utf8_lossy(id).into_owned());
            found.extend(super::unless_damaged(&id, self.archived(&entry).map(Some))?);
        }
        Ok(found)
    }

    fn newest_before(
        &self,
        source: &str,
        before: DateTime<FixedOffset>,
    ) -> Result<Option<DateTime<FixedOffset>>, ArchiveError> {
        let prefix = index::time_prefix(source);
        let mut start = prefix.clone();
        start.extend_from_slice(&index::inverted(before - chrono::Duration::seconds(1)));
        let mut end = prefix.clone();
        end.extend_from_slice(&[0xff; 9]);
        let Some(entry) = self.trees.by_time.range(start..end).next() else {
            return Ok(None);
        };
        let (key, _) = entry.map_err(|err| self.index_error(err))?;
        Ok(index::parse_time_key(&prefix, &key).map(|(time, _, _)| time))
    }

    fn all(&self) -> Result<Vec<Archived>, ArchiveError> {
        self.trees
            .articles
            .iter()
            .map(|item| {
                let (key, value) = item.map_err(|err| self.index_error(err))?;
                let entry = Entry::unpack(&key, &value)?;
                self.archived(&entry)
            })
            .collect()
    }

    fn ids(&self) -> Ids<'_> {
        Box::new(self.trees.articles.iter().keys().map(|key| {
            let key = key.map_err(|err| self.index_error(err))?;
            Ok(ArticleId(String::from_utf8_lossy(&key).into_owned()))
        }))
    }

    fn restore(&self, entry: &ExportEntry) -> Result<(), ArchiveError> {
        self.commit_one(Change::Restore(Box::new(entry.clone())))
            .map(drop)
    }

    fn is_empty(&self) -> Result<bool, ArchiveError> {
        Ok(self.trees.articles.is_empty())
    }
}

impl CrawlLog for SledArchive {
    fn validators(&self, url: &str) -> Result<Option<Validators>, ArchiveError> {
        if let Some(bytes) = self
            .trees
            .validators
            .get(url.as_bytes())
            .map_err(|err| self.index_error(err))?
        {
            return index::decode(url.as_bytes(), &bytes).map(Some);
        }
        // An article's page keeps them in the article's record.
        let Some(id) = self.id_for_url(url)? else {
            return Ok(None);
        };
        Ok(self.entry(&id)?.and_then(|entry| entry.validators))
    }

    fn set_validators(&self, url: &str, validators: &Validators) -> Result<(), ArchiveError> {
        self.commit_one(Change::Validators {
            url: url.to_string(),
            validators: validators.clone(),
        })
        .map(drop)
    }

    fn state(&self, key: &str) -> Result<Option<String>, ArchiveError> {
        Ok(self
            .trees
            .state
            .get(key.as_bytes())
            .map_err(|err| self.index_error(err))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn set_state(&self, key: &str, value: Option<&str>) -> Result<(), ArchiveError> {
        self.commit_one(Change::State {
            key: key.to_string(),
            value: value.map(str::to_string),
        })
        .map(drop)
    }

    fn record_run(&self, run: &RunReport) -> Result<(), ArchiveError> {
        self.commit_one(Change::Run(Box::new(run.clone())))
            .map(drop)
    }

    fn runs(&self, source: &str, limit: usize) -> Result<Vec<RunReport>, ArchiveError> {
        let mut prefix = source.as_bytes().to_vec();
        prefix.push(0);
        self.trees
            .runs
            .scan_prefix(prefix)
            .take(limit)
            .map(|entry| {
                let (key, value) = entry.map_err(|err| self.index_error(err))?;
                index::decode(&key, &value)
            })
            .collect()
    }
}

impl AssetStore for SledArchive {
    fn store_asset(&self, asset: AssetIngest) -> Result<AssetInfo, ArchiveError> {
        match self.commit_one(Change::Asset(Box::new(asset)))? {
            Outcome::Asset(info) => Ok(*info),
            other => Err(ArchiveError::Writer(format!("unexpected answer {other:?}"))),
        }
    }

    fn asset(&self, url: &str) -> Result<Option<AssetInfo>, ArchiveError> {
        Ok(self.asset_entry(url)?.map(|entry| entry.info))
    }

    fn asset_validators(&self, url: &str) -> Result<Option<Validators>, ArchiveError> {
        Ok(self.asset_entry(url)?.map(|entry| entry.validators))
    }

    fn asset_capture(&self, url: &str) -> Result<Option<Capture>, ArchiveError> {
        match self.asset_entry(url)? {
            Some(entry) => assets::read_capture(&self.records, &entry.info).map(Some),
            None => Ok(None),
        }
    }
}

impl SubscriptionStore for SledArchive {
    fn subscriptions(&self) -> Result<Vec<super::Subscription>, ArchiveError> {
        self.read_subscriptions()
    }

    fn set_subscription(
        &self,
        topic: &str,
        callback: &str,
        kept: Option<&super::Subscription>,
    ) -> Result<(), ArchiveError> {
        self.commit_one(super::websub::change(topic, callback, kept))
            .map(drop)
    }
}

impl Archive for SledArchive {
    fn flush(&self) -> Result<(), ArchiveError> {
        self.commit_one(Change::Flush).map(drop)
    }

    fn stalled(&self) -> Option<String> {
        self.writer.stalled()
    }
}

impl SledArchive {
    /// The sources that have articles: one seek per source, not a scan of the index.
    fn sources(&self) -> Result<Vec<String>, ArchiveError> {
        let mut sources = Vec::new();
        let mut from: Vec<u8> = Vec::new();
        while let Some(item) = self.trees.by_time.range(from.clone()..).next() {
            let (key, _) = item.map_err(|err| self.index_error(err))?;
            let Some(end) = key.iter().position(|b| *b == 0) else {
                break;
            };
            sources.push(String::from_utf8_lossy(&key[..end]).into_owned());
            // The next source sorts after every key of this one.
            from = key[..end].to_vec();
            from.push(1);
        }
        Ok(sources)
    }

    fn asset_entry(&self, url: &str) -> Result<Option<assets::AssetEntry>, ArchiveError> {
        match self
            .trees
            .assets
            .get(url.as_bytes())
            .map_err(|err| self.index_error(err))?
        {
            Some(bytes) => index::decode(url.as_bytes(), &bytes).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{HOT_BYTES, Hot};

    #[test]
    fn hot_revisions_stay_within_their_byte_budget_dropping_the_least_recently_used() {
        let mut hot = Hot::<u32>::default();
        let tenth = HOT_BYTES / 10;
        for n in 0..20u32 {
            hot.put(("f".into(), u64::from(n)), n, tenth);
            assert!(hot.bytes <= HOT_BYTES);
            // The first one is asked for again and again: it stays.
            assert_eq!(hot.get(&("f".into(), 0)), Some(0));
        }
        assert_eq!(hot.get(&("f".into(), 1)), None, "dropped");
        assert_eq!(hot.get(&("f".into(), 19)), Some(19));
        hot.put(("f".into(), 99), 99, HOT_BYTES + 1);
        assert_eq!(
            hot.get(&("f".into(), 99)),
            None,
            "larger than the budget: not kept"
        );
    }
}
