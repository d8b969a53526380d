//! Backup and migration: every article with all revisions as JSON Lines, and back.

use std::io::{BufRead, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::{Archive, ArchiveError};
use crate::model::{Archived, Article, Capture, RevisionCause};

/// One line of an export: an article, its history and (with `--raw`) the captured pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportEntry {
    pub archived: Archived,
    pub revisions: Vec<ExportedRevision>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedRevision {
    pub number: u32,
    pub fetched_at: DateTime<FixedOffset>,
    #[serde(default, skip_serializing_if = "RevisionCause::is_portal")]
    pub cause: RevisionCause,
    pub article: Article,
    /// The capture's head; present with `--raw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<Capture>,
    /// The captured bytes, base64; present with `--raw`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_base64: Option<String>,
}

impl ExportedRevision {
    pub fn capture(&self) -> Result<Option<Capture>, ArchiveError> {
        let (Some(head), Some(raw)) = (&self.capture, &self.raw_base64) else {
            return Ok(None);
        };
        let body = STANDARD
            .decode(raw)
            .map_err(|source| ArchiveError::RawCapture {
                revision: self.number,
                source,
            })?;
        Ok(Some(Capture {
            body,
            ..head.clone()
        }))
    }
}

/// Writes every article, in id order, one at a time (memory does not grow with the archive);
/// returns how many.
pub fn export(
    archive: &dyn Archive,
    raw: bool,
    out: &mut dyn Write,
) -> Result<usize, ArchiveError> {
    let mut count = 0;
    for id in archive.ids() {
        let id = id?;
        // Listed a moment ago; gone only if the archive changed since, which export does not see.
        let Some(archived) = archive.article(&id)? else {
            continue;
        };
        count += 1;
        let id = &archived.article.id;
        let mut revisions = Vec::new();
        for revision in archive.revisions(id)? {
            let capture = if raw {
                archive.capture(id, revision.number)?
            } else {
                None
            };
            revisions.push(ExportedRevision {
                number: revision.number,
                fetched_at: revision.fetched_at,
                cause: revision.cause,
                article: revision.article,
                raw_base64: capture.as_ref().map(|c| STANDARD.encode(&c.body)),
                capture,
            });
        }
        let entry = ExportEntry {
            archived,
            revisions,
        };
        serde_json::to_writer(&mut *out, &entry).map_err(|err| ArchiveError::Output(err.into()))?;
        out.write_all(b"\n").map_err(ArchiveError::Output)?;
    }
    out.flush().map_err(ArchiveError::Output)?;
    Ok(count)
}

/// Restores an export into an empty archive, all or nothing: every line is checked before the
/// first is restored. Returns how many articles.
pub fn import(archive: &dyn Archive, input: &mut dyn BufRead) -> Result<usize, ArchiveError> {
    if !archive.is_empty()? {
        return Err(ArchiveError::Import(
            "the archive is not empty: import restores into an empty archive only".into(),
        ));
    }
    let mut text = Vec::new();
    input.read_to_end(&mut text).map_err(ArchiveError::Input)?;
    validate_lines(&mut text.as_slice())?;
    let count = restore_lines(archive, &mut text.as_slice())?;
    archive.flush()?;
    Ok(count)
}

/// Checks every line of an export as restoring it would (JSON, captures, the latest revision,
/// ids seen once) without writing anything; the first bad line is named. Returns how many
/// articles.
pub fn validate_lines(input: &mut dyn BufRead) -> Result<usize, ArchiveError> {
    let mut seen = std::collections::HashSet::new();
    let mut count = 0;
    for entry in entries(input) {
        let (line, entry) = entry?;
        if !seen.insert(entry.archived.article.id.0.clone()) {
            return Err(ArchiveError::ImportLine {
                line,
                reason: format!(
                    "article {} appears a second time",
                    entry.archived.article.id
                ),
            });
        }
        count += 1;
    }
    Ok(count)
}

/// Restores every line of an export already checked by [`validate_lines`]; a failure partway
/// says how many articles were restored.
pub fn restore_lines(
    archive: &dyn Archive,
    input: &mut dyn BufRead,
) -> Result<usize, ArchiveError> {
    let mut restored = 0;
    for entry in entries(input) {
        let stopped = |cause: ArchiveError| ArchiveError::Restore {
            restored,
            cause: Box::new(cause),
        };
        let (_, entry) = entry.map_err(stopped)?;
        archive.restore(&entry).map_err(stopped)?;
        restored += 1;
    }
    Ok(restored)
}

/// The entries of an export with their line numbers, blank lines skipped, each one checked.
fn entries(
    input: &mut dyn BufRead,
) -> impl Iterator<Item = Result<(usize, ExportEntry), ArchiveError>> + '_ {
    input
        .lines()
        .enumerate()
        .filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(|(index, line)| {
            let line_number = index + 1;
            let bad = |reason: String| ArchiveError::ImportLine {
                line: line_number,
                reason,
            };
            let line = line.map_err(|err| bad(err.to_string()))?;
            let entry: ExportEntry =
                serde_json::from_str(&line).map_err(|err| bad(err.to_string()))?;
            check(&entry).map_err(bad)?;
            Ok((line_number, entry))
        })
}

/// What [`Archive::restore`] needs of an entry, checked before anything is written.
fn check(entry: &ExportEntry) -> Result<(), String> {
    let archived = &entry.archived;
    let id = &archived.article.id;
    if id.0.trim().is_empty() {
        return Err("an article without an id".into());
    }
    if let Some(other) = entry.revisions.iter().find(|r| &r.article.id != id) {
        return Err(format!(
            "article {id}: revision {} is of article {}",
            other.number, other.article.id
        ));
    }
    if !entry
        .revisions
        .iter()
        .any(|r| r.number == archived.revisions)
    {
        return Err(format!(
            "article {}: its latest revision {} is missing",
            archived.article.id, archived.revisions
        ));
    }
    altered(&archived.article).map_err(|field| format!("article {id}: {field}"))?;
    for revision in &entry.revisions {
        altered(&revision.article)
            .map_err(|field| format!("article {id}: revision {}: {field}", revision.number))?;
        if revision.capture.is_some() != revision.raw_base64.is_some() {
            return Err(format!(
                "article {}: revision {} has only half a capture (capture and raw_base64 go together)",
                archived.article.id, revision.number
            ));
        }
        revision
            .capture()
            .map_err(|err| format!("article {}: {err}", archived.article.id))?;
    }
    Ok(())
}

/// An article whose `content_hash` is not the hash of its title, published time and body text
/// was changed after it was archived: restoring it would keep a hash that no longer says what
/// the revision holds. Refused rather than recomputed, since the text is what was altered.
fn altered(article: &Article) -> Result<(), String> {
    let hash = crate::model::content_hash(
        &article.title,
        article.published.as_ref(),
        &article.body_text,
    );
    if hash == article.content_hash {
        return Ok(());
    }
    Err(
        "content_hash does not match its title, published and body_text: \
         the line was altered after export"
            .to_string(),
    )
}
