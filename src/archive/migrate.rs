//! `gazette migrate`: a schema-1 archive copied into the WARC layout in a new directory, swapped
//! in at the end; the old directory is kept beside it as `<path>.schema1`. An archive of schema 2
//! (the WARC layout with its first, larger index) has its index rebuilt from the WARC files. An
//! archive of this schema whose revision notes are of the first form, filed under the page's URL
//! (which replay tools took for a capture of the page), has its WARC files rewritten with each
//! note under its URN, checked record by record, and its index rebuilt over them.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::notes::{NOTE_URN, Note};
use super::schema1::Schema1;
use super::warc::{self, ParsedRecord, RecordType};
use super::write::{Change, Outcome};
use super::{ArchiveError, SledArchive};
use crate::config::StorageConfig;

/// Articles restored per group: each group is synced once.
const GROUP: usize = 256;

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub from: Migration,
    pub articles: usize,
    pub revisions: usize,
    /// Where the old files were kept: the schema-1 directory, or the WARC files whose notes were
    /// rewritten (a schema-2 archive keeps its WARC files in place).
    pub kept_at: Option<PathBuf>,
}

/// What was migrated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Migration {
    Schema1,
    Schema2,
    /// Revision notes filed under their page's URL: `notes` of them, in `files` WARC files.
    NotesAtPageUrls {
        files: usize,
        notes: usize,
    },
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
        from: Migration::Schema1,
        articles,
        revisions,
        kept_at: Some(kept_at),
    })
}

/// A schema-2 archive: the same WARC files, a new index. An archive of this schema has its
/// notes of the first form rewritten, if it has any.
fn from_schema2(storage: &StorageConfig) -> Result<Migrated, ArchiveError> {
    match SledArchive::open(storage) {
        Err(ArchiveError::OldIndex { .. }) => {}
        Ok(archive) => {
            // Closed before the files are looked at: the rewrite below rebuilds the index.
            drop(archive);
            return notes_to_urns(storage);
        }
        Err(err) => return Err(err),
    }
    let rebuilt = super::rebuild::rebuild(storage, None)?;
    Ok(Migrated {
        from: Migration::Schema2,
        articles: rebuilt.articles,
        revisions: rebuilt.revisions,
        kept_at: None,
    })
}

/// Rewrites the WARC files holding revision notes of the first form into `<path>.migrating`,
/// each note under its URN ([`Note::target_uri`]) and, for a note written with its page,
/// `WARC-Concurrent-To` that page; checks every copy against its original (same records, ids
/// and blocks, digests matching); then moves the old files to `<path>.notes-v1` and the copies
/// into the archive, and rebuilds the index over them. A failure before the move changes
/// nothing; a failed rebuild moves the old files back.
fn notes_to_urns(storage: &StorageConfig) -> Result<Migrated, ArchiveError> {
    let root = storage.path.clone();
    let shown = root.display().to_string();
    let refuse = |detail: String| ArchiveError::Open {
        path: shown.clone(),
        detail,
    };
    let warc_dir = root.join("warc");
    let mut old_files = Vec::new();
    for name in warc::files(&warc_dir)? {
        if holds_old_notes(&warc_dir, &name)? {
            old_files.push(name);
        }
    }
    if old_files.is_empty() {
        return Err(refuse(format!(
            "already of archive schema {} with every note under its own URN; nothing to migrate",
            super::SCHEMA_VERSION
        )));
    }
    if storage.object_store.is_some() {
        return Err(refuse(format!(
            "{} WARC file(s) hold notes of the first form, and the archive's files are also in \
             the object store, which a rewrite here would leave behind; migrate on a node \
             without [storage.object_store] and upload the files again",
            old_files.len()
        )));
    }
    let kept_at = sibling(&root, "notes-v1");
    if kept_at.exists() {
        return Err(refuse(format!(
            "{} exists: an earlier migration kept it; move it away first",
            kept_at.display()
        )));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ArchiveError::Io { path, source }
    };
    let staging = sibling(&root, "migrating");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    std::fs::create_dir_all(&staging).map_err(io(&staging))?;
    let mut notes = 0;
    for name in &old_files {
        let done = warc::rewrite_file(&warc_dir, name, &staging, &mut note_under_urn)?;
        notes += done.changed;
        warc::verify_rewrite(&warc_dir, &staging, name)?;
        std::fs::write(
            staging.join(super::cdxj::file_name(name)),
            super::cdxj::index(&staging, name)?,
        )
        .map_err(io(&staging))?;
    }
    // The old files (and their CDXJ) move out, the copies in; the other files stay.
    std::fs::create_dir_all(&kept_at).map_err(io(&kept_at))?;
    let mut moved = Vec::new();
    let mut move_in = || -> Result<(), ArchiveError> {
        for name in &old_files {
            for file in [name.clone(), super::cdxj::file_name(name)] {
                let (live, kept) = (warc_dir.join(&file), kept_at.join(&file));
                if live.exists() {
                    std::fs::rename(&live, &kept).map_err(io(&live))?;
                    moved.push(file.clone());
                }
                std::fs::rename(staging.join(&file), &live).map_err(io(&live))?;
            }
        }
        Ok(())
    };
    let swapped = move_in();
    let rebuilt = swapped.and_then(|()| super::rebuild::rebuild(storage, None));
    match rebuilt {
        Ok(rebuilt) => {
            let _ = std::fs::remove_dir_all(&staging);
            Ok(Migrated {
                from: Migration::NotesAtPageUrls {
                    files: old_files.len(),
                    notes,
                },
                articles: rebuilt.articles,
                revisions: rebuilt.revisions,
                kept_at: Some(kept_at),
            })
        }
        Err(err) => {
            // The index still points into the old files: they go back where they were.
            for file in &moved {
                let _ = std::fs::rename(kept_at.join(file), warc_dir.join(file));
            }
            let _ = std::fs::remove_dir(&kept_at);
            Err(err)
        }
    }
}

/// Whether the file holds a revision note filed under its page's URL.
fn holds_old_notes(dir: &Path, name: &str) -> Result<bool, ArchiveError> {
    for item in warc::scan_file(dir, name) {
        let (_, record) = item?;
        if is_old_note(&record) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn is_old_note(record: &ParsedRecord) -> bool {
    record.kind() == &RecordType::Metadata
        && !record
            .target_uri()
            .is_some_and(|uri| uri.starts_with(NOTE_URN))
}

/// The headers of a note of the first form, filed under its URN; `None` for any other record
/// (and a note whose JSON does not read, left as it is for `verify` to report).
fn note_under_urn(record: &ParsedRecord) -> Option<warc::Headers> {
    if !is_old_note(record) {
        return None;
    }
    let note: Note = serde_json::from_slice(record.block()).ok()?;
    let mut headers: Vec<(String, String)> = record.headers().to_vec();
    for (name, value) in &mut headers {
        if name.eq_ignore_ascii_case("WARC-Target-URI") {
            *value = note.target_uri();
        }
    }
    let with_its_page = matches!(&note, Note::Revision(r) if r.cause.is_portal());
    if with_its_page
        && record.concurrent_to().is_none()
        && let Some(page) = record.refers_to()
    {
        headers.push(("WARC-Concurrent-To".into(), page.to_string()));
    }
    Some(headers)
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
