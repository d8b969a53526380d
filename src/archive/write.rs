//! Writing: every WARC append, every index write and every flush goes through one [`Writer`],
//! a group of changes at a time. A group's records are appended and synced once, then its index
//! writes applied in one transaction and flushed once, then every change of the group answered:
//! an answer means "on disk".

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use sled::{Batch, Db};
use url::Url;

use super::assets::{self, AssetIngest, PayloadEntry};
use super::index::{
    self, ARTICLES, ASSETS, BY_TIME, BY_URL, Entry, PAYLOADS, RUNS, RevisionEntry, STATE, Span,
    TREES, Trees, VALIDATORS, WEBSUB,
};
use super::notes::{Note, RevisionNote};
use super::remote::Records;
use super::warc::{Location, Record, RecordId, WarcError, WarcWriter, payload_digest};
use super::{ArchiveError, ExportEntry, Ingest, Reextracted, Stored};
use crate::config::StorageConfig;
use crate::model::{ArticleId, AssetInfo, Capture, RevisionCause, RunReport, Validators};

/// One change to the archive.
pub(super) enum Change {
    Store(Box<Ingest>),
    MarkGone {
        id: ArticleId,
        at: DateTime<FixedOffset>,
    },
    Restore(Box<ExportEntry>),
    Validators {
        url: String,
        validators: Validators,
    },
    State {
        key: String,
        value: Option<String>,
    },
    Run(Box<RunReport>),
    /// An article read again from its latest capture ([`super::Reextracted`]).
    Reparse(Box<Reextracted>),
    Asset(Box<AssetIngest>),
    /// Keeps (`Some`) or drops (`None`) a WebSub subscription ([`super::websub`]).
    Subscription {
        key: Vec<u8>,
        value: Option<Vec<u8>>,
    },
    /// Nothing to write: answered once everything before it is on disk, and the open WARC
    /// file's CDXJ index brought up to date (the end of a crawl run, of a command, of `serve`).
    Flush,
}

/// What a change did.
#[derive(Debug)]
pub(super) enum Outcome {
    Stored(Stored),
    Marked(bool),
    Asset(Box<AssetInfo>),
    Done,
}

/// The one writer of an archive.
pub(super) struct Writer {
    pub(super) root: PathBuf,
    warc_dir: PathBuf,
    /// Reads records back, from the object store once a file is no longer on the disk.
    records: Records,
    warc_max_bytes: u64,
    /// Carried in new WARC files' names (`storage.node_id`).
    node_id: Option<String>,
    /// Opened at the first append, so reading an archive creates no file.
    warc: Option<WarcWriter>,
    db: Db,
    trees: Trees,
}

/// A group being written: the index writes so far and the records they overlay.
struct Group {
    batches: [Batch; TREES],
    entries: HashMap<ArticleId, Entry>,
    /// Payloads first stored in this group, by digest.
    payloads: HashMap<String, PayloadEntry>,
    appended: bool,
    /// A [`Change::Flush`] came: the open file's CDXJ is updated once the group is written.
    index_open_file: bool,
}

impl Writer {
    pub fn new(
        root: &Path,
        storage: &StorageConfig,
        records: Records,
        db: Db,
        trees: Trees,
    ) -> Writer {
        Writer {
            root: root.to_path_buf(),
            warc_dir: records.dir().to_path_buf(),
            records,
            warc_max_bytes: storage.warc_max_bytes,
            node_id: storage.node_id.clone(),
            warc: None,
            db,
            trees,
        }
    }

    /// Writes a group of changes and answers each, in order. A failed append ends the group:
    /// the changes after it are not tried.
    pub fn commit(&mut self, changes: Vec<Change>) -> Vec<Result<Outcome, ArchiveError>> {
        let mut group = Group {
            batches: Default::default(),
            entries: HashMap::new(),
            payloads: HashMap::new(),
            appended: false,
            index_open_file: false,
        };
        let mut answers: Vec<Result<Outcome, ArchiveError>> = Vec::with_capacity(changes.len());
        let mut stopped: Option<ArchiveError> = None;
        for change in changes {
            if let Some(err) = &stopped {
                answers.push(Err(self.again(err)));
                continue;
            }
            let answer = self.plan(change, &mut group);
            if let Err(err) = &answer
                && matches!(err, ArchiveError::Warc(_) | ArchiveError::NoSpace { .. })
            {
                stopped = Some(self.again(err));
            }
            answers.push(answer);
        }
        if let Err(err) = self.finish(group) {
            let again = self.again(&err);
            let mut first = Some(err);
            for answer in answers.iter_mut().filter(|a| a.is_ok()) {
                *answer = Err(first.take().unwrap_or_else(|| self.again(&again)));
            }
        }
        answers
    }

    /// Syncs the group's records, applies its index writes at once and flushes.
    fn finish(&mut self, group: Group) -> Result<(), ArchiveError> {
        if group.appended
            && let Some(warc) = self.warc.as_mut()
        {
            warc.sync().map_err(|err| warc_error(&self.root, err))?;
        }
        let trees = self.trees.all();
        let batches = group.batches;
        trees[..]
            .transaction(|views| {
                for (view, batch) in views.iter().zip(&batches) {
                    view.apply_batch(batch)?;
                }
                Ok::<(), ConflictableTransactionError<ArchiveError>>(())
            })
            .map_err(|err| match err {
                TransactionError::Abort(err) => err,
                TransactionError::Storage(err) => storage_error(&self.root, err),
            })?;
        self.db
            .flush()
            .map_err(|err| storage_error(&self.root, err))?;
        if group.index_open_file {
            self.index_open_file();
        }
        Ok(())
    }

    /// Brings the open WARC file's CDXJ up to date. A failure is logged, not returned: the
    /// index is derived from the file, and the next flush (or `gazette rebuild`) makes it again.
    fn index_open_file(&self) {
        if let Some(warc) = &self.warc {
            self.index_file(warc.current_file());
        }
    }

    fn index_file(&self, name: &str) {
        if let Err(err) = super::cdxj::update_beside(&self.warc_dir, name) {
            tracing::warn!(
                file = %name,
                error = %crate::describe(&err),
                "cannot write the CDXJ index beside a WARC file"
            );
        }
    }

    /// The error a change gets when an earlier one of its group failed.
    fn again(&self, err: &ArchiveError) -> ArchiveError {
        if err.is_no_space() {
            ArchiveError::NoSpace {
                path: self.root.clone(),
            }
        } else {
            ArchiveError::Writer(crate::describe(err))
        }
    }

    fn plan(&mut self, change: Change, group: &mut Group) -> Result<Outcome, ArchiveError> {
        match change {
            Change::Store(ingest) => self.store(*ingest, group).map(Outcome::Stored),
            Change::MarkGone { id, at } => self.mark_gone(&id, at, group).map(Outcome::Marked),
            Change::Restore(entry) => self.restore(&entry, group).map(|()| Outcome::Done),
            Change::Validators { url, validators } => {
                group.batches[VALIDATORS].insert(url.as_bytes(), index::encode(&validators));
                Ok(Outcome::Done)
            }
            Change::State { key, value } => {
                match value {
                    Some(value) => group.batches[STATE].insert(key.as_bytes(), value.as_bytes()),
                    None => group.batches[STATE].remove(key.as_bytes()),
                }
                Ok(Outcome::Done)
            }
            Change::Run(run) => {
                let key = index::run_key(&run.source, run.started);
                group.batches[RUNS].insert(key, index::encode(&*run));
                Ok(Outcome::Done)
            }
            Change::Reparse(reextracted) => self.reparse(*reextracted, group).map(Outcome::Stored),
            Change::Asset(asset) => self
                .asset(*asset, group)
                .map(|info| Outcome::Asset(Box::new(info))),
            Change::Subscription { key, value } => {
                match value {
                    Some(value) => group.batches[WEBSUB].insert(key, value),
                    None => group.batches[WEBSUB].remove(key),
                }
                Ok(Outcome::Done)
            }
            Change::Flush => {
                group.index_open_file = true;
                Ok(Outcome::Done)
            }
        }
    }

    fn store(&mut self, mut ingest: Ingest, group: &mut Group) -> Result<Stored, ArchiveError> {
        let validators = ingest.validators.take();
        let id = ingest.article.id.clone();
        let page = ingest.article.url.clone();
        let stored = self.store_article(ingest, group)?;
        if let Some((url, validators)) = validators {
            match self.entry(&id, group)? {
                // The article's own page: in its record, written again only when they changed.
                Some(mut entry) if url == page => {
                    if entry.validators.as_ref() != Some(&validators) {
                        entry.validators = Some(validators);
                        group.batches[ARTICLES].insert(id.0.as_bytes(), entry.pack());
                        group.entries.insert(id, entry);
                    }
                }
                _ => {
                    group.batches[VALIDATORS].insert(url.as_bytes(), index::encode(&validators));
                }
            }
        }
        Ok(stored)
    }

    fn store_article(&mut self, ingest: Ingest, group: &mut Group) -> Result<Stored, ArchiveError> {
        let id = ingest.article.id.clone();
        let previous = self.entry(&id, group)?;
        let (number, first_seen) = match &previous {
            None => (1, ingest.fetched_at),
            Some(previous) if previous.content_hash == ingest.article.content_hash => {
                if let Some(gone_at) = previous.gone_at {
                    // It answers again: no longer gone, same content.
                    let note = Note::Back {
                        id: id.clone(),
                        at: ingest.fetched_at.max(gone_at),
                    };
                    self.write_state(previous.clone(), note, group)?;
                }
                return Ok(Stored::Unchanged);
            }
            Some(previous) => (previous.revisions + 1, previous.first_seen),
        };
        let note = RevisionNote {
            revision: number,
            fetched_at: ingest.fetched_at,
            source: ingest.article.source.clone(),
            section: ingest.article.section.clone(),
            first_seen,
            updated: ingest.fetched_at,
            profile: ingest.profile,
            capture: Some(ingest.capture.clone()),
            cause: RevisionCause::Portal,
            article: ingest.article,
        };
        self.write_revision(
            previous.as_ref(),
            note,
            Some(&ingest.capture),
            &ingest.user_agent,
            None,
            group,
        )?;
        Ok(if number == 1 {
            Stored::New
        } else {
            Stored::Revised(number)
        })
    }

    /// Stores an article read again from its latest capture as a new revision caused by reparse:
    /// a metadata record naming that capture's response, indexed with the capture's records.
    /// The article's `updated` moves only when its title or body changed.
    fn reparse(
        &mut self,
        reextracted: Reextracted,
        group: &mut Group,
    ) -> Result<Stored, ArchiveError> {
        let Reextracted {
            article,
            at,
            profile,
        } = reextracted;
        let id = article.id.clone();
        let Some(previous) = self.entry(&id, group)? else {
            return Ok(Stored::Unchanged);
        };
        let Some(base) = previous.kept.get(&previous.revisions).cloned() else {
            return Err(ArchiveError::Corrupt {
                key: id.to_string(),
                detail: format!("revision {} is not indexed", previous.revisions),
            });
        };
        let record = self.records.read(&base.metadata.location())?;
        let response_id = record.refers_to();
        let before = match serde_json::from_slice::<Note>(record.block()) {
            Ok(Note::Revision(note)) => note,
            _ => {
                return Err(ArchiveError::Corrupt {
                    key: id.to_string(),
                    detail: "its latest metadata record holds no revision".into(),
                });
            }
        };
        if before.article == article {
            return Ok(Stored::Unchanged);
        }
        let read_differently =
            before.article.title != article.title || before.article.body_html != article.body_html;
        let number = previous.revisions + 1;
        let note = RevisionNote {
            revision: number,
            fetched_at: base.fetched_at,
            source: article.source.clone(),
            section: article.section.clone(),
            first_seen: previous.first_seen,
            updated: if read_differently {
                at
            } else {
                previous.updated
            },
            profile,
            capture: before.capture.clone(),
            cause: RevisionCause::Reparse,
            article,
        };
        let url = note.article.url.clone();
        let entry = Entry {
            source: note.source.clone(),
            section: note.section.clone(),
            published: note.article.published,
            first_seen: note.first_seen,
            updated: note.updated,
            revisions: number,
            gone_at: previous.gone_at,
            content_hash: note.article.content_hash.clone(),
            latest: Span(String::new(), 0, 0),
            kept: previous.kept.clone(),
            validators: previous.validators.clone(),
        };
        let note = Note::Revision(Box::new(note));
        let metadata = Record::note(note.to_json(), response_id.as_ref(), &note.target_uri(), at);
        // A gone article stays gone: the note after the revision says so to a rebuild too.
        let gone = previous.gone_at.map(|gone_at| {
            let note = Note::Gone {
                id: id.clone(),
                at: gone_at,
            };
            Record::note(note.to_json(), Some(metadata.id()), &note.target_uri(), at)
        });
        let mut records = vec![metadata];
        records.extend(gone);
        let locations = self.append(&records)?;
        group.appended = true;
        let span = locations
            .first()
            .map(Span::from)
            .unwrap_or(Span(String::new(), 0, 0));
        let mut entry = entry;
        entry.latest = span.clone();
        entry.kept.insert(
            number,
            RevisionEntry {
                fetched_at: base.fetched_at,
                metadata: span,
                response: base.response.clone(),
                request: base.request.clone(),
            },
        );
        self.index_entry(&id, Some(&previous), &entry, Some(&url), group);
        Ok(Stored::Revised(number))
    }

    /// Appends an asset's records, a revisit when its payload is already stored, and indexes it.
    fn asset(&mut self, ingest: AssetIngest, group: &mut Group) -> Result<AssetInfo, ArchiveError> {
        let digest = payload_digest(&ingest.capture.body);
        let original = match group.payloads.get(&digest) {
            Some(found) => Some(found.clone()),
            None => match self
                .trees
                .payloads
                .get(digest.as_bytes())
                .map_err(|err| storage_error(&self.root, err))?
            {
                Some(bytes) => Some(index::decode(digest.as_bytes(), &bytes)?),
                None => None,
            },
        };
        let records = assets::records(&ingest, original.as_ref());
        let locations = self.append(&records)?;
        group.appended = true;
        let (entry, first) = assets::indexed(&ingest, &digest, original, &records, &locations)?;
        group.batches[ASSETS].insert(ingest.url.as_bytes(), index::encode(&entry));
        if let Some(first) = first {
            group.batches[PAYLOADS].insert(digest.as_bytes(), index::encode(&first));
            group.payloads.insert(digest, first);
        }
        Ok(entry.info)
    }

    fn mark_gone(
        &mut self,
        id: &ArticleId,
        at: DateTime<FixedOffset>,
        group: &mut Group,
    ) -> Result<bool, ArchiveError> {
        let Some(previous) = self.entry(id, group)? else {
            return Ok(false);
        };
        if previous.gone_at.is_some() {
            return Ok(false);
        }
        let note = Note::Gone { id: id.clone(), at };
        self.write_state(previous, note, group)?;
        Ok(true)
    }

    fn restore(&mut self, exported: &ExportEntry, group: &mut Group) -> Result<(), ArchiveError> {
        let archived = &exported.archived;
        let id = &archived.article.id;
        if self.entry(id, group)?.is_some() {
            return Err(ArchiveError::Import(format!(
                "article {id} is already in the archive"
            )));
        }
        let Some(latest) = exported
            .revisions
            .iter()
            .find(|r| r.number == archived.revisions)
        else {
            return Err(ArchiveError::Import(format!(
                "article {id}: its latest revision {} is missing",
                archived.revisions
            )));
        };
        let mut previous: Option<Entry> = None;
        for revision in exported
            .revisions
            .iter()
            .filter(|r| r.number != latest.number)
            .chain([latest])
        {
            let capture = revision.capture()?;
            let is_latest = revision.number == latest.number;
            let note = RevisionNote {
                revision: revision.number,
                fetched_at: revision.fetched_at,
                source: revision.article.source.clone(),
                section: revision.article.section.clone(),
                first_seen: archived.first_seen,
                updated: if is_latest {
                    archived.updated
                } else {
                    revision.fetched_at
                },
                profile: None,
                capture: capture.clone(),
                cause: revision.cause,
                article: if is_latest {
                    archived.article.clone()
                } else {
                    revision.article.clone()
                },
            };
            let user_agent = crate::config::DEFAULT_USER_AGENT;
            let written = self.write_revision(
                previous.as_ref(),
                note,
                capture.as_ref(),
                user_agent,
                Some(is_latest),
                group,
            )?;
            previous = Some(written);
        }
        if let (Some(gone_at), Some(previous)) = (archived.gone_at, previous) {
            let note = Note::Gone {
                id: id.clone(),
                at: gone_at,
            };
            self.write_state(previous, note, group)?;
        }
        Ok(())
    }

    /// Appends a revision's records (request, response, metadata) and indexes it. `latest` says
    /// whether it becomes the article's current record (`None`: when it is the newest).
    fn write_revision(
        &mut self,
        previous: Option<&Entry>,
        note: RevisionNote,
        capture: Option<&Capture>,
        user_agent: &str,
        latest: Option<bool>,
        group: &mut Group,
    ) -> Result<Entry, ArchiveError> {
        let date = note.fetched_at;
        let response = capture.map(|capture| Record::response(capture, date));
        let request = response.as_ref().and_then(|response| {
            let url = Url::parse(&capture?.url).ok()?;
            Some(Record::request(&url, user_agent, date, response.id()))
        });
        let id = note.article.id.clone();
        let number = note.revision;
        let content_hash = note.article.content_hash.clone();
        let url = note.article.url.clone();
        let entry = Entry {
            source: note.article.source.clone(),
            section: note.article.section.clone(),
            published: note.article.published,
            first_seen: note.first_seen,
            updated: note.updated,
            revisions: number.max(previous.map_or(0, |p| p.revisions)),
            gone_at: None,
            content_hash: content_hash.clone(),
            latest: Span(String::new(), 0, 0),
            kept: Default::default(),
            validators: previous.and_then(|p| p.validators.clone()),
        };
        let note = Note::Revision(Box::new(note));
        let metadata = Record::note(
            note.to_json(),
            response.as_ref().map(Record::id),
            &note.target_uri(),
            date,
        );
        let metadata = match &response {
            Some(response) => metadata.concurrent_to(response.id()),
            None => metadata,
        };
        let mut records: Vec<Record> = Vec::with_capacity(3);
        records.extend(request);
        let has_request = records.len() == 1;
        records.extend(response);
        let has_response = capture.is_some();
        records.push(metadata);
        let locations = self.append(&records)?;
        group.appended = true;
        let span = |i: usize| locations.get(i).map(Span::from);
        let revision = RevisionEntry {
            fetched_at: date,
            metadata: span(locations.len() - 1).unwrap_or(Span(String::new(), 0, 0)),
            response: has_response
                .then(|| span(usize::from(has_request)))
                .flatten(),
            request: has_request.then(|| span(0)).flatten(),
        };
        let mut kept = previous.map(|p| p.kept.clone()).unwrap_or_default();
        let latest_span = revision.metadata.clone();
        kept.insert(number, revision);
        let becomes_latest = latest.unwrap_or(true);
        let entry = if becomes_latest {
            let entry = Entry {
                latest: latest_span,
                kept,
                ..entry
            };
            self.index_entry(&id, previous, &entry, Some(&url), group);
            entry
        } else {
            // Restored out of order: indexed with the latest revision, which comes last.
            Entry {
                kept,
                ..previous.cloned().unwrap_or(entry)
            }
        };
        Ok(entry)
    }

    /// Appends a note on a change of state and indexes the article's new state.
    fn write_state(
        &mut self,
        previous: Entry,
        note: Note,
        group: &mut Group,
    ) -> Result<(), ArchiveError> {
        let id = note.id().clone();
        let (date, gone_at) = match &note {
            Note::Gone { at, .. } => (*at, Some(*at)),
            Note::Back { at, .. } => (*at, None),
            Note::Revision(note) => (note.fetched_at, None),
        };
        let latest = self.latest_of(&previous)?;
        let record = Record::note(note.to_json(), Some(&latest), &note.target_uri(), date);
        self.append(&[record])?;
        group.appended = true;
        let entry = Entry {
            gone_at,
            ..previous.clone()
        };
        self.index_entry(&id, Some(&previous), &entry, None, group);
        Ok(())
    }

    /// The id of the article's latest revision's metadata record (already written to the file,
    /// synced or not).
    fn latest_of(&self, entry: &Entry) -> Result<RecordId, ArchiveError> {
        let at = entry.latest.location();
        let record = self.records.read(&at)?;
        match serde_json::from_slice::<Note>(record.block()) {
            Ok(Note::Revision(_)) => Ok(record.id().clone()),
            _ => Err(ArchiveError::Corrupt {
                key: format!("{} at byte {}", at.file, at.offset),
                detail: "not the metadata record of a revision".into(),
            }),
        }
    }

    /// Indexes an article's entry; `url` is given when it is new or may have changed.
    fn index_entry(
        &self,
        id: &ArticleId,
        previous: Option<&Entry>,
        entry: &Entry,
        url: Option<&str>,
        group: &mut Group,
    ) {
        let key = id.0.as_bytes();
        group.batches[ARTICLES].insert(key, entry.pack());
        if let Some(url) = url {
            group.batches[BY_URL].insert(&index::url_key(url)[..], key);
        }
        let new_key = index::time_key(id, entry);
        if let Some(previous) = previous {
            let old = index::time_key(id, previous);
            if old != new_key {
                group.batches[BY_TIME].remove(old);
            }
        }
        group.batches[BY_TIME].insert(new_key, Vec::new());
        group.entries.insert(id.clone(), entry.clone());
    }

    fn entry(&self, id: &ArticleId, group: &Group) -> Result<Option<Entry>, ArchiveError> {
        if let Some(entry) = group.entries.get(id) {
            return Ok(Some(entry.clone()));
        }
        let key = id.0.as_bytes();
        match self
            .trees
            .articles
            .get(key)
            .map_err(|err| storage_error(&self.root, err))?
        {
            Some(bytes) => Entry::unpack(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn append(&mut self, records: &[Record]) -> Result<Vec<Location>, ArchiveError> {
        let warc = match &mut self.warc {
            Some(warc) => warc,
            None => {
                let opened = WarcWriter::open_as(
                    &self.warc_dir,
                    self.warc_max_bytes,
                    self.node_id.as_deref(),
                )
                .map_err(|err| warc_error(&self.root, err))?;
                self.warc.insert(opened)
            }
        };
        let before = warc.current_file().to_string();
        let group_appended = warc
            .append(records)
            .map_err(|err| warc_error(&self.root, err))?;
        if warc.current_file() != before {
            // `before` was closed (synced, never appended to again): its index is final.
            self.index_file(&before);
        }
        Ok(group_appended)
    }
}

/// A WARC failure; a full disk is told apart.
fn warc_error(root: &Path, err: WarcError) -> ArchiveError {
    if err.is_storage_full() {
        ArchiveError::NoSpace {
            path: root.to_path_buf(),
        }
    } else {
        ArchiveError::Warc(err)
    }
}

/// A sled failure of the archive at `root`; a full disk is told apart, and an I/O failure keeps
/// its cause (sled's own message for one is a debug dump).
pub(super) fn storage_error(root: &Path, err: sled::Error) -> ArchiveError {
    match err {
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::StorageFull => {
            ArchiveError::NoSpace {
                path: root.to_path_buf(),
            }
        }
        sled::Error::Io(source) => ArchiveError::Io {
            path: root.join("db"),
            source,
        },
        // sled's own message for this is a debug dump with a backtrace.
        sled::Error::Corruption { .. } => ArchiveError::Corrupt {
            key: root.join("db").display().to_string(),
            detail:
                "the index holds corrupted data; gazette rebuild makes it again from the WARC files"
                    .into(),
        },
        err => ArchiveError::Storage(err),
    }
}
