//! `gazette rebuild`: a new index from the WARC files alone (their metadata records), built beside
//! the old one and swapped in at the end. Optionally each captured page is extracted again with
//! the current profile; a revision that reads differently gets a new metadata record.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use sled::Batch;

use super::assets;
use super::cdxj;
use super::index::{self, Entry, RevisionEntry, Span};
use super::notes::{Note, RevisionNote};
use super::warc::{self, Record, RecordId, RecordType, WarcWriter};
use super::write::storage_error;
use super::{ArchiveError, SCHEMA_VERSION};
use crate::config::StorageConfig;
use crate::model::{Article, ArticleId, Capture};

/// Extracts a captured page again: the capture and the article it gave before.
pub type Reparse<'a> = &'a dyn Fn(&Capture, &Article) -> Result<Article, String>;

/// What a rebuild found and wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rebuilt {
    pub records: usize,
    pub articles: usize,
    pub revisions: usize,
    /// Revisions whose page reads differently now (with `--reparse`): they got a new metadata
    /// record.
    pub reparsed: usize,
    /// Pages that could not be extracted again; their revision is kept as it was.
    pub reparse_failures: Vec<String>,
    /// Attachment and image URLs indexed.
    pub assets: usize,
    /// Validators, crawl state, run records and WebSub subscriptions taken over from the index replaced; `None` when
    /// there was no index to take them from or it could not be read (they then start empty).
    pub kept: Option<usize>,
}

/// A revision as the scan found it.
struct Found {
    fetched_at: chrono::DateTime<chrono::FixedOffset>,
    content_hash: String,
    metadata: Span,
    metadata_id: RecordId,
    response_id: Option<RecordId>,
}

#[derive(Default)]
struct ArticleState {
    entry: Option<Entry>,
    /// The canonical URL of the newest revision.
    url: String,
    revisions: BTreeMap<u32, Found>,
}

/// Rebuilds the index of the archive at `storage.path` from its WARC files.
pub fn rebuild(
    storage: &StorageConfig,
    reparse: Option<Reparse<'_>>,
) -> Result<Rebuilt, ArchiveError> {
    let root = storage.path.clone();
    let shown = root.display().to_string();
    if root.join("conf").exists() {
        return Err(ArchiveError::Schema1 {
            path: shown,
            config: super::layout::config_shown(storage),
        });
    }
    let warc_dir = root.join("warc");
    if !warc_dir.is_dir() {
        return Err(ArchiveError::Open {
            path: shown,
            detail: "it holds no WARC files (warc/)".into(),
        });
    }
    // The index being replaced stays open, and so locked, until the new one is in place: a
    // process that has the archive open refuses the rebuild, and none opens it meanwhile.
    let old = hold_index(storage, &root.join("db"))?;
    let mut rebuilt = Rebuilt::default();
    let mut articles: BTreeMap<ArticleId, ArticleState> = BTreeMap::new();
    let mut responses: HashMap<RecordId, Span> = HashMap::new();
    let mut requests: HashMap<RecordId, Span> = HashMap::new();
    let mut assets = assets::Found::default();
    // Each file's CDXJ index is written again whole from the same reading.
    let mut index_lines: (Option<String>, Vec<String>) = (None, Vec::new());
    for item in warc::scan(&warc_dir) {
        let (at, record) = item?;
        rebuilt.records += 1;
        if index_lines.0.as_deref() != Some(at.file.as_str()) {
            write_cdxj(&warc_dir, std::mem::take(&mut index_lines));
            index_lines.0 = Some(at.file.clone());
        }
        index_lines
            .1
            .extend(cdxj::line(&record, &at.file, at.offset, at.length));
        assets.see(&at, &record);
        match record.kind() {
            RecordType::Response => {
                responses.insert(record.id().clone(), Span::from(&at));
            }
            RecordType::Request => {
                if let Some(response) = record.concurrent_to() {
                    requests.insert(response, Span::from(&at));
                }
            }
            RecordType::Metadata => {
                // Metadata gazette did not write is not ours to index.
                let Ok(note) = serde_json::from_slice::<Note>(record.block()) else {
                    continue;
                };
                let state = articles.entry(note.id().clone()).or_default();
                apply(
                    state,
                    note,
                    Span::from(&at),
                    record.id(),
                    record.refers_to(),
                );
            }
            _ => {}
        }
    }
    write_cdxj(&warc_dir, index_lines);
    // WARC files gone or moved would otherwise make an empty index of a full one.
    let indexed = old
        .as_ref()
        .and_then(|db| db.open_tree("articles").ok())
        .map_or(0, |articles| articles.len());
    if articles.is_empty() && indexed > 0 {
        return Err(ArchiveError::Open {
            path: shown,
            detail: format!(
                "its WARC files hold no article, but its index names {indexed}: the index is left \
                 as it was (are the WARC files in {}?)",
                warc_dir.display()
            ),
        });
    }
    if let Some(reparse) = reparse {
        let mut writer = WarcWriter::open_as(
            &warc_dir,
            storage.warc_max_bytes,
            storage.node_id.as_deref(),
        )?;
        for state in articles.values_mut() {
            reparse_article(
                &warc_dir,
                &mut writer,
                state,
                &responses,
                reparse,
                &mut rebuilt,
            )?;
        }
        writer.sync()?;
        if let Err(err) = cdxj::update_beside(&warc_dir, writer.current_file()) {
            tracing::warn!(error = %crate::describe(&err), "cannot write the CDXJ index beside a WARC file");
        }
    }
    let fresh = root.join("db.rebuild");
    if fresh.exists() {
        std::fs::remove_dir_all(&fresh).map_err(|source| ArchiveError::Io {
            path: fresh.clone(),
            source,
        })?;
    }
    write_index(
        &root,
        &fresh,
        storage,
        old.as_ref(),
        &articles,
        &responses,
        &requests,
        assets,
        &mut rebuilt,
    )?;
    swap(&root, &fresh, old)?;
    Ok(rebuilt)
}

/// Writes a file's CDXJ index from its lines; a failure is logged, not returned (the index is
/// derived, and the WARC files are what a rebuild is for).
fn write_cdxj(warc_dir: &Path, (file, lines): (Option<String>, Vec<String>)) {
    let Some(file) = file else { return };
    if let Err(err) = cdxj::write_beside(warc_dir, &file, lines) {
        tracing::warn!(file = %file, error = %crate::describe(&err), "cannot write the CDXJ index beside a WARC file");
    }
}

/// The index at `db_dir` opened, when it can be read; refused ([`ArchiveError::Locked`]) when
/// another process has it open.
fn hold_index(storage: &StorageConfig, db_dir: &Path) -> Result<Option<sled::Db>, ArchiveError> {
    if !db_dir.join("conf").is_file() || super::layout::check_conf(db_dir, "").is_err() {
        return Ok(None);
    }
    match super::sled_store::open_index(storage, db_dir) {
        Ok(db) => Ok(Some(db)),
        Err(err @ ArchiveError::Locked { .. }) => Err(err),
        Err(err) => {
            tracing::debug!(error = %err, "the index being replaced cannot be read");
            Ok(None)
        }
    }
}

/// What is not in the WARC files (validators, crawl state, the run log, WebSub subscriptions),
/// copied from the index being replaced when it can be read: their encoding is the same in
/// schemas 2 and 3.
fn keep_side_trees(db: &sled::Db, trees: &index::Trees) -> Option<Kept> {
    let mut kept = Kept::default();
    for (name, into) in [
        ("validators", &trees.validators),
        ("state", &trees.state),
        ("runs", &trees.runs),
        ("websub", &trees.websub),
    ] {
        if !db
            .tree_names()
            .iter()
            .any(|t| t.as_ref() == name.as_bytes())
        {
            continue;
        }
        let from = db.open_tree(name).ok()?;
        let mut batch = Batch::default();
        for item in from.iter() {
            let (key, value) = item.ok()?;
            batch.insert(key, value);
            kept.records += 1;
        }
        into.apply_batch(batch).ok()?;
    }
    // Schema 3 keeps an article page's validators in the article's record.
    if let Ok(articles) = db.open_tree("articles") {
        for (key, value) in articles.iter().flatten() {
            if let Ok(Entry {
                validators: Some(validators),
                ..
            }) = Entry::unpack(&key, &value)
            {
                let id = ArticleId(String::from_utf8_lossy(&key).into_owned());
                kept.pages.insert(id, validators);
                kept.records += 1;
            }
        }
    }
    Some(kept)
}

/// What [`keep_side_trees`] took over.
#[derive(Default)]
struct Kept {
    records: usize,
    /// Article pages' validators, by article.
    pages: HashMap<ArticleId, crate::model::Validators>,
}

/// What one metadata record says, applied in file order: the last word on a revision wins.
fn apply(
    state: &mut ArticleState,
    note: Note,
    at: Span,
    id: &RecordId,
    refers_to: Option<RecordId>,
) {
    match note {
        Note::Revision(note) => {
            let newest = state
                .entry
                .as_ref()
                .is_none_or(|entry| note.revision >= entry.revisions);
            if newest {
                // The latest revision stated again (extracted again, by `reparse` or `rebuild
                // --reparse`) leaves a gone article gone; a new revision means it answered.
                let gone_at = state
                    .entry
                    .as_ref()
                    .filter(|entry| entry.revisions == note.revision)
                    .and_then(|entry| entry.gone_at);
                state.entry = Some(Entry {
                    gone_at,
                    ..entry_of(&note, at.clone())
                });
                state.url = note.article.url.clone();
            }
            state.revisions.insert(
                note.revision,
                Found {
                    fetched_at: note.fetched_at,
                    content_hash: note.article.content_hash.clone(),
                    metadata: at,
                    metadata_id: id.clone(),
                    response_id: refers_to,
                },
            );
        }
        Note::Gone { at, .. } => {
            if let Some(entry) = state.entry.as_mut() {
                entry.gone_at = Some(at);
            }
        }
        Note::Back { .. } => {
            if let Some(entry) = state.entry.as_mut() {
                entry.gone_at = None;
            }
        }
    }
}

fn entry_of(note: &RevisionNote, latest: Span) -> Entry {
    Entry {
        source: note.article.source.clone(),
        section: note.article.section.clone(),
        published: note.article.published,
        first_seen: note.first_seen,
        updated: note.updated,
        revisions: note.revision,
        gone_at: None,
        content_hash: note.article.content_hash.clone(),
        latest,
        kept: Default::default(),
        validators: None,
    }
}

/// Extracts each captured revision of an article again; one that reads differently gets a new
/// metadata record, which the index then names.
fn reparse_article(
    warc_dir: &Path,
    writer: &mut WarcWriter,
    state: &mut ArticleState,
    responses: &HashMap<RecordId, Span>,
    reparse: Reparse<'_>,
    rebuilt: &mut Rebuilt,
) -> Result<(), ArchiveError> {
    let latest = state.entry.as_ref().map(|e| e.revisions);
    for (number, found) in state.revisions.iter_mut() {
        let Some(response) = found.response_id.as_ref().and_then(|id| responses.get(id)) else {
            continue;
        };
        let record = warc::read(warc_dir, &found.metadata.location())?;
        let Ok(Note::Revision(mut note)) = serde_json::from_slice::<Note>(record.block()) else {
            continue;
        };
        let page = warc::read(warc_dir, &response.location())?;
        let Some(received) = page.capture() else {
            continue;
        };
        let capture = match note.capture.clone() {
            Some(head) => Capture {
                body: received.body,
                ..head
            },
            None => received,
        };
        let article = match reparse(&capture, &note.article) {
            Ok(article) => article,
            Err(error) => {
                rebuilt
                    .reparse_failures
                    .push(format!("{} revision {number}: {error}", note.article.id));
                continue;
            }
        };
        if article == note.article {
            continue;
        }
        note.article = article;
        let date = note.fetched_at;
        let refers_to = found.response_id.clone();
        let revision = Note::Revision(note.clone());
        let record = Record::note(
            revision.to_json(),
            refers_to.as_ref(),
            &revision.target_uri(),
            date,
        );
        let id = record.id().clone();
        let at = writer.append(&[record])?;
        let span = at.first().map(Span::from).unwrap_or(found.metadata.clone());
        found.metadata = span.clone();
        found.metadata_id = id;
        found.content_hash = note.article.content_hash.clone();
        if Some(*number) == latest
            && let Some(entry) = state.entry.as_mut()
        {
            let gone_at = entry.gone_at;
            *entry = Entry {
                gone_at,
                ..entry_of(&note, span)
            };
        }
        rebuilt.reparsed += 1;
    }
    Ok(())
}

// Everything the scan gathered goes in at once, so the new index is written in one place.
#[allow(clippy::too_many_arguments)]
fn write_index(
    root: &Path,
    fresh: &Path,
    storage: &StorageConfig,
    old: Option<&sled::Db>,
    articles: &BTreeMap<ArticleId, ArticleState>,
    responses: &HashMap<RecordId, Span>,
    requests: &HashMap<RecordId, Span>,
    assets: assets::Found,
    rebuilt: &mut Rebuilt,
) -> Result<(), ArchiveError> {
    let index_error = |err| storage_error(root, err);
    let db = super::layout::index_config(fresh)
        .cache_capacity(storage.cache_capacity)
        .open()
        .map_err(index_error)?;
    let meta = db.open_tree("meta").map_err(index_error)?;
    let trees = index::Trees::open(&db).map_err(index_error)?;
    let mut kept = old.and_then(|old| keep_side_trees(old, &trees));
    rebuilt.kept = kept.as_ref().map(|k| k.records);
    let mut entries = Batch::default();
    let mut by_url = Batch::default();
    let mut by_time = Batch::default();
    for (id, state) in articles {
        let Some(entry) = &state.entry else { continue };
        rebuilt.articles += 1;
        let mut entry = entry.clone();
        entry.validators = kept.as_mut().and_then(|k| k.pages.remove(id));
        for (number, found) in &state.revisions {
            rebuilt.revisions += 1;
            let response_id = found.response_id.as_ref();
            let revision = RevisionEntry {
                fetched_at: found.fetched_at,
                metadata: found.metadata.clone(),
                response: response_id.and_then(|r| responses.get(r)).cloned(),
                request: response_id.and_then(|r| requests.get(r)).cloned(),
            };
            entry.kept.insert(*number, revision);
        }
        let key = id.0.as_bytes();
        entries.insert(key, entry.pack());
        by_url.insert(&index::url_key(&state.url)[..], key);
        by_time.insert(index::time_key(id, &entry), Vec::new());
    }
    trees.articles.apply_batch(entries).map_err(index_error)?;
    trees.by_url.apply_batch(by_url).map_err(index_error)?;
    trees.by_time.apply_batch(by_time).map_err(index_error)?;
    let pages = articles
        .values()
        .flat_map(|state| state.revisions.values())
        .filter_map(|found| found.response_id.clone())
        .collect();
    let (mut asset_batch, mut payload_batch) = (Batch::default(), Batch::default());
    rebuilt.assets = assets.index(&pages, responses, &mut asset_batch, &mut payload_batch);
    trees.assets.apply_batch(asset_batch).map_err(index_error)?;
    trees
        .payloads
        .apply_batch(payload_batch)
        .map_err(index_error)?;
    meta.insert("schema_version", SCHEMA_VERSION)
        .map_err(index_error)?;
    db.flush().map_err(index_error)?;
    Ok(())
}

/// Puts the new index in place of the old one; the old one (`held` open until then) is closed
/// and removed only once the new one is in place.
fn swap(root: &Path, fresh: &Path, held: Option<sled::Db>) -> Result<(), ArchiveError> {
    let current = root.join("db");
    let old = root.join("db.old");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ArchiveError::Io { path, source }
    };
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    if current.exists() {
        std::fs::rename(&current, &old).map_err(io(&current))?;
    }
    std::fs::rename(fresh, &current).map_err(io(fresh))?;
    drop(held);
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}
