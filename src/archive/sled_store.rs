//! The archive on sled: one tree per kind of record, an article and its indexes written in one
//! transaction.

use std::path::Path;

use chrono::{DateTime, FixedOffset};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use sled::{Db, Tree};

use super::{Archive, ArchiveError, ExportEntry, Query, Stored, Validators};
use crate::model::{Archived, Article, ArticleId, Capture, Revision, RunReport};

/// Bumped when the layout of the trees changes; checked on open.
pub const SCHEMA_VERSION: &str = "1";
pub const DEFAULT_CACHE_CAPACITY: u64 = 64 * 1024 * 1024;
pub const DEFAULT_FLUSH_EVERY_MS: u64 = 1000;
const ZSTD_LEVEL: i32 = 3;

/// The sled archive.
pub struct SledArchive {
    db: Db,
    articles: Tree,
    revisions: Tree,
    captures: Tree,
    by_url: Tree,
    by_time: Tree,
    validators: Tree,
    state: Tree,
    runs: Tree,
}

type TxError = ConflictableTransactionError<ArchiveError>;

impl SledArchive {
    /// Opens or creates the archive at `path`. A directory that holds something else, or an
    /// archive of another schema, is refused and left as it is.
    pub fn open(
        path: &Path,
        cache_capacity: u64,
        flush_every_ms: u64,
    ) -> Result<SledArchive, ArchiveError> {
        let shown = path.display().to_string();
        let fresh = check_directory(path, &shown)?;
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_capacity)
            .flush_every_ms(Some(flush_every_ms).filter(|ms| *ms > 0))
            .open()
            .map_err(|err| ArchiveError::Open {
                path: shown.clone(),
                detail: err.to_string(),
            })?;
        let meta = db.open_tree("meta").map_err(storage)?;
        match meta.get("schema_version").map_err(storage)? {
            Some(found) if found.as_ref() == SCHEMA_VERSION.as_bytes() => {}
            Some(found) => {
                return Err(ArchiveError::Schema {
                    path: shown,
                    found: String::from_utf8_lossy(&found).into_owned(),
                    expected: SCHEMA_VERSION.into(),
                });
            }
            None if fresh || db.tree_names().len() <= 2 => {
                meta.insert("schema_version", SCHEMA_VERSION)
                    .map_err(storage)?;
                db.flush().map_err(storage)?;
            }
            None => {
                return Err(ArchiveError::Foreign {
                    path: shown,
                    reason: "a sled database, but not a gazette archive".into(),
                });
            }
        }
        let tree = |name: &str| db.open_tree(name).map_err(storage);
        Ok(SledArchive {
            articles: tree("articles")?,
            revisions: tree("revisions")?,
            captures: tree("captures")?,
            by_url: tree("by_url")?,
            by_time: tree("by_time")?,
            validators: tree("validators")?,
            state: tree("state")?,
            runs: tree("runs")?,
            db,
        })
    }

    /// Bytes the archive takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, ArchiveError> {
        self.db.size_on_disk().map_err(storage)
    }
}

/// True when the directory is new or empty; an error when it holds something not sled's.
fn check_directory(path: &Path, shown: &str) -> Result<bool, ArchiveError> {
    if !path.exists() {
        return Ok(true);
    }
    if !path.is_dir() {
        return Err(ArchiveError::Foreign {
            path: shown.into(),
            reason: "not a directory".into(),
        });
    }
    let entries: Vec<String> = std::fs::read_dir(path)
        .map_err(|err| ArchiveError::Open {
            path: shown.into(),
            detail: err.to_string(),
        })?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    if entries.is_empty() {
        return Ok(true);
    }
    let sled_file =
        |name: &str| name == "conf" || name == "db" || name == "blobs" || name.starts_with("snap.");
    if !entries.iter().any(|e| e == "conf") || !entries.iter().all(|e| sled_file(e)) {
        return Err(ArchiveError::Foreign {
            path: shown.into(),
            reason: "the directory holds files that are not a gazette archive".into(),
        });
    }
    // sled panics on some malformed `conf` files; look at it first so damage is an error.
    let conf = std::fs::read(path.join("conf")).map_err(|err| ArchiveError::Open {
        path: shown.into(),
        detail: format!("conf: {err}"),
    })?;
    if !String::from_utf8_lossy(&conf).starts_with("segment_size: ") {
        return Err(ArchiveError::Open {
            path: shown.into(),
            detail: "its conf file is damaged".into(),
        });
    }
    Ok(false)
}

fn storage(err: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Storage(err.to_string())
}

fn tx_error(err: TransactionError<ArchiveError>) -> ArchiveError {
    match err {
        TransactionError::Abort(err) => err,
        TransactionError::Storage(err) => storage(err),
    }
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, ArchiveError> {
    serde_json::from_slice(bytes).map_err(|err| ArchiveError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        detail: err.to_string(),
    })
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("archive records serialise")
}

/// `<id>\0<revision, big-endian>`: revisions of an article sort together, in order.
fn revision_key(id: &ArticleId, number: u32) -> Vec<u8> {
    let mut key = id.0.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&number.to_be_bytes());
    key
}

fn revision_prefix(id: &ArticleId) -> Vec<u8> {
    let mut key = id.0.as_bytes().to_vec();
    key.push(0);
    key
}

/// Section ids are `[a-z0-9-]+`, so this never collides with one: it marks the source-wide index.
const ALL_SECTIONS: &str = "*";

/// `<source>\0<section>\0<inverted time>\0<id>`, for the article's section and for the whole
/// source (`*`): newest first, ties by id.
fn time_keys(archived: &Archived) -> [Vec<u8>; 2] {
    let article = &archived.article;
    let key = |section: &str| {
        let mut key = time_prefix(&article.source, section);
        key.extend_from_slice(&inverted(archived.sort_time()));
        key.push(0);
        key.extend_from_slice(article.id.0.as_bytes());
        key
    };
    [key(&article.section), key(ALL_SECTIONS)]
}

fn time_prefix(source: &str, section: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(source.len() + section.len() + 2);
    for part in [source.as_bytes(), section.as_bytes()] {
        key.extend_from_slice(part);
        key.push(0);
    }
    key
}

fn inverted(time: DateTime<FixedOffset>) -> [u8; 8] {
    (i64::MAX - time.timestamp()).to_be_bytes()
}

/// A capture as stored: its head as JSON, then the body zstd-compressed.
fn encode_capture(capture: &Capture) -> Result<Vec<u8>, ArchiveError> {
    let head = encode(capture);
    thread_local! {
        // A compression context is costly to create; each thread keeps one.
        static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> = const { std::cell::RefCell::new(None) };
    }
    let body = COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = match slot.as_mut() {
            Some(compressor) => compressor,
            None => slot.insert(zstd::bulk::Compressor::new(ZSTD_LEVEL)?),
        };
        compressor.compress(&capture.body)
    });
    let body = body.map_err(storage)?;
    let mut out = Vec::with_capacity(4 + head.len() + body.len());
    out.extend_from_slice(&(head.len() as u32).to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(&body);
    Ok(out)
}

fn decode_capture(key: &[u8], bytes: &[u8]) -> Result<Capture, ArchiveError> {
    let corrupt = |detail: String| ArchiveError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        detail,
    };
    let head_len = bytes
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| corrupt("short capture".into()))?;
    let head = bytes
        .get(4..4 + head_len)
        .ok_or_else(|| corrupt("short capture head".into()))?;
    let mut capture: Capture = decode(key, head)?;
    capture.body =
        zstd::stream::decode_all(&bytes[4 + head_len..]).map_err(|e| corrupt(e.to_string()))?;
    Ok(capture)
}

impl SledArchive {
    /// Writes an article's current record, one revision with its capture and the indexes, at once.
    fn write(
        &self,
        previous: Option<&Archived>,
        archived: &Archived,
        revision: &Revision,
        capture: Option<&[u8]>,
    ) -> Result<(), ArchiveError> {
        let record = encode(archived);
        let rev_key = revision_key(&archived.article.id, revision.number);
        let rev = encode(revision);
        let new_time_keys = time_keys(archived);
        let old_time_keys = previous.map(time_keys);
        (
            &self.articles,
            &self.revisions,
            &self.captures,
            &self.by_url,
            &self.by_time,
        )
            .transaction(|(articles, revisions, captures, by_url, by_time)| {
                articles.insert(archived.article.id.0.as_bytes(), record.as_slice())?;
                revisions.insert(rev_key.as_slice(), rev.as_slice())?;
                if let Some(capture) = capture {
                    captures.insert(rev_key.as_slice(), capture)?;
                }
                by_url.insert(
                    archived.article.url.as_bytes(),
                    archived.article.id.0.as_bytes(),
                )?;
                for old in old_time_keys.iter().flatten() {
                    if !new_time_keys.contains(old) {
                        by_time.remove(old.as_slice())?;
                    }
                }
                for new in &new_time_keys {
                    by_time.insert(new.as_slice(), archived.article.id.0.as_bytes())?;
                }
                Ok::<(), TxError>(())
            })
            .map_err(tx_error)
    }

    fn put_record(&self, previous: &Archived, archived: &Archived) -> Result<(), ArchiveError> {
        let record = encode(archived);
        let old_keys = time_keys(previous);
        let new_keys = time_keys(archived);
        (&self.articles, &self.by_time)
            .transaction(|(articles, by_time)| {
                articles.insert(archived.article.id.0.as_bytes(), record.as_slice())?;
                for old in &old_keys {
                    if !new_keys.contains(old) {
                        by_time.remove(old.as_slice())?;
                    }
                }
                for new in &new_keys {
                    by_time.insert(new.as_slice(), archived.article.id.0.as_bytes())?;
                }
                Ok::<(), TxError>(())
            })
            .map_err(tx_error)
    }
}

impl Archive for SledArchive {
    fn article(&self, id: &ArticleId) -> Result<Option<Archived>, ArchiveError> {
        match self.articles.get(id.0.as_bytes()).map_err(storage)? {
            Some(bytes) => decode(id.0.as_bytes(), &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn id_for_url(&self, canonical_url: &str) -> Result<Option<ArticleId>, ArchiveError> {
        Ok(self
            .by_url
            .get(canonical_url.as_bytes())
            .map_err(storage)?
            .map(|id| ArticleId(String::from_utf8_lossy(&id).into_owned())))
    }

    fn store(
        &self,
        article: &Article,
        capture: &Capture,
        fetched_at: DateTime<FixedOffset>,
    ) -> Result<Stored, ArchiveError> {
        let previous = self.article(&article.id)?;
        let capture = encode_capture(capture)?;
        match previous {
            None => {
                let archived = Archived {
                    article: article.clone(),
                    first_seen: fetched_at,
                    updated: fetched_at,
                    revisions: 1,
                    gone_at: None,
                };
                let revision = Revision {
                    number: 1,
                    fetched_at,
                    article: article.clone(),
                };
                self.write(None, &archived, &revision, Some(&capture))?;
                Ok(Stored::New)
            }
            Some(previous) if previous.article.content_hash == article.content_hash => {
                if previous.gone_at.is_some() {
                    // It answers again: no longer gone, same content.
                    let archived = Archived {
                        gone_at: None,
                        ..previous.clone()
                    };
                    self.put_record(&previous, &archived)?;
                }
                Ok(Stored::Unchanged)
            }
            Some(previous) => {
                let number = previous.revisions + 1;
                let archived = Archived {
                    article: article.clone(),
                    first_seen: previous.first_seen,
                    updated: fetched_at,
                    revisions: number,
                    gone_at: None,
                };
                let revision = Revision {
                    number,
                    fetched_at,
                    article: article.clone(),
                };
                self.write(Some(&previous), &archived, &revision, Some(&capture))?;
                Ok(Stored::Revised(number))
            }
        }
    }

    fn mark_gone(&self, id: &ArticleId, at: DateTime<FixedOffset>) -> Result<bool, ArchiveError> {
        let Some(previous) = self.article(id)? else {
            return Ok(false);
        };
        if previous.gone_at.is_some() {
            return Ok(false);
        }
        let archived = Archived {
            gone_at: Some(at),
            ..previous.clone()
        };
        self.put_record(&previous, &archived)?;
        Ok(true)
    }

    fn revisions(&self, id: &ArticleId) -> Result<Vec<Revision>, ArchiveError> {
        self.revisions
            .scan_prefix(revision_prefix(id))
            .map(|entry| {
                let (key, value) = entry.map_err(storage)?;
                decode(&key, &value)
            })
            .collect()
    }

    fn capture(&self, id: &ArticleId, revision: u32) -> Result<Option<Capture>, ArchiveError> {
        let key = revision_key(id, revision);
        match self.captures.get(&key).map_err(storage)? {
            Some(bytes) => decode_capture(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn articles(&self, query: &Query) -> Result<Vec<Archived>, ArchiveError> {
        let Some(source) = &query.source else {
            // Every source: each one's own index, merged by time.
            let mut sources: Vec<String> = Vec::new();
            for entry in self.by_time.iter() {
                let (key, _) = entry.map_err(storage)?;
                let mut parts = key.splitn(3, |b| *b == 0);
                let (Some(src), Some(section)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let src = String::from_utf8_lossy(src).into_owned();
                if section == ALL_SECTIONS.as_bytes() && !sources.contains(&src) {
                    sources.push(src);
                }
            }
            let mut found = Vec::new();
            for source in sources {
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
        let prefix = time_prefix(source, query.section.as_deref().unwrap_or(ALL_SECTIONS));
        // Newest first: start at `until`, stop at `since` or the limit.
        let mut start = prefix.clone();
        if let Some(until) = query.until {
            start.extend_from_slice(&inverted(until));
        }
        let mut end = prefix.clone();
        end.extend_from_slice(&[0xff; 9]);
        let limit = query.limit.unwrap_or(usize::MAX);
        let mut found: Vec<Archived> = Vec::new();
        for entry in self.by_time.range(start..end) {
            if found.len() >= limit {
                break;
            }
            let (_, id) = entry.map_err(storage)?;
            let Some(archived) = self.articles.get(&id).map_err(storage)? else {
                continue;
            };
            let archived: Archived = decode(&id, &archived)?;
            let time = archived.sort_time();
            if query.since.is_some_and(|since| time < since) {
                break;
            }
            if query.until.is_some_and(|until| time > until) {
                continue;
            }
            found.push(archived);
        }
        Ok(found)
    }

    fn newest_before(
        &self,
        source: &str,
        before: DateTime<FixedOffset>,
    ) -> Result<Option<DateTime<FixedOffset>>, ArchiveError> {
        let prefix = time_prefix(source, ALL_SECTIONS);
        let mut start = prefix.clone();
        start.extend_from_slice(&inverted(before - chrono::Duration::seconds(1)));
        let mut end = prefix.clone();
        end.extend_from_slice(&[0xff; 9]);
        let Some(entry) = self.by_time.range(start..end).next() else {
            return Ok(None);
        };
        let (key, _) = entry.map_err(storage)?;
        let Some(bytes) = key.get(prefix.len()..prefix.len() + 8) else {
            return Ok(None);
        };
        let inverted = i64::from_be_bytes(bytes.try_into().unwrap_or([0; 8]));
        Ok(chrono::DateTime::from_timestamp(i64::MAX - inverted, 0).map(|t| t.fixed_offset()))
    }

    fn all(&self) -> Result<Vec<Archived>, ArchiveError> {
        self.articles
            .iter()
            .map(|entry| {
                let (key, value) = entry.map_err(storage)?;
                decode(&key, &value)
            })
            .collect()
    }

    fn validators(&self, url: &str) -> Result<Option<Validators>, ArchiveError> {
        match self.validators.get(url.as_bytes()).map_err(storage)? {
            Some(bytes) => decode(url.as_bytes(), &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn set_validators(&self, url: &str, validators: &Validators) -> Result<(), ArchiveError> {
        self.validators
            .insert(url.as_bytes(), encode(validators))
            .map_err(storage)?;
        Ok(())
    }

    fn state(&self, key: &str) -> Result<Option<String>, ArchiveError> {
        Ok(self
            .state
            .get(key.as_bytes())
            .map_err(storage)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn set_state(&self, key: &str, value: Option<&str>) -> Result<(), ArchiveError> {
        match value {
            Some(value) => self
                .state
                .insert(key.as_bytes(), value.as_bytes())
                .map(drop),
            None => self.state.remove(key.as_bytes()).map(drop),
        }
        .map_err(storage)
    }

    fn record_run(&self, run: &RunReport) -> Result<(), ArchiveError> {
        let mut key = run.source.as_bytes().to_vec();
        key.push(0);
        let started = run.started.map_or(0, |t| t.timestamp_micros());
        key.extend_from_slice(&(i64::MAX - started).to_be_bytes());
        self.runs.insert(key, encode(run)).map_err(storage)?;
        Ok(())
    }

    fn runs(&self, source: &str, limit: usize) -> Result<Vec<RunReport>, ArchiveError> {
        let mut prefix = source.as_bytes().to_vec();
        prefix.push(0);
        self.runs
            .scan_prefix(prefix)
            .take(limit)
            .map(|entry| {
                let (key, value) = entry.map_err(storage)?;
                decode(&key, &value)
            })
            .collect()
    }

    fn restore(&self, entry: &ExportEntry) -> Result<(), ArchiveError> {
        let id = &entry.archived.article.id;
        if self.article(id)?.is_some() {
            return Err(ArchiveError::Import(format!(
                "article {id} is already in the archive"
            )));
        }
        for exported in &entry.revisions {
            let revision = Revision {
                number: exported.number,
                fetched_at: exported.fetched_at,
                article: exported.article.clone(),
            };
            let key = revision_key(id, exported.number);
            self.revisions
                .insert(key.as_slice(), encode(&revision))
                .map_err(storage)?;
            if let Some(capture) = exported.capture()? {
                self.captures
                    .insert(key.as_slice(), encode_capture(&capture)?)
                    .map_err(storage)?;
            }
        }
        // The current record and indexes last: an interrupted import shows no half article.
        let archived = &entry.archived;
        let revision = entry
            .revisions
            .iter()
            .find(|r| r.number == archived.revisions)
            .map(|r| Revision {
                number: r.number,
                fetched_at: r.fetched_at,
                article: r.article.clone(),
            })
            .ok_or_else(|| {
                ArchiveError::Import(format!(
                    "article {id}: its latest revision {} is missing",
                    archived.revisions
                ))
            })?;
        self.write(None, archived, &revision, None)
    }

    fn is_empty(&self) -> Result<bool, ArchiveError> {
        Ok(self.articles.is_empty())
    }

    fn flush(&self) -> Result<(), ArchiveError> {
        self.db.flush().map(drop).map_err(storage)
    }
}
