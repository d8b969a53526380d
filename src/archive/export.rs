//! Backup and migration: every article with all revisions as JSON Lines, and back.

use std::io::{BufRead, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::{Archive, ArchiveError};
use crate::model::{Archived, Article, Capture};

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
        let body = STANDARD.decode(raw).map_err(|err| {
            ArchiveError::Import(format!("revision {}: raw_base64: {err}", self.number))
        })?;
        Ok(Some(Capture {
            body,
            ..head.clone()
        }))
    }
}

/// Writes every article, in id order; returns how many.
pub fn export(
    archive: &dyn Archive,
    raw: bool,
    out: &mut dyn Write,
) -> Result<usize, ArchiveError> {
    let all = archive.all()?;
    for archived in &all {
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
                article: revision.article,
                raw_base64: capture.as_ref().map(|c| STANDARD.encode(&c.body)),
                capture,
            });
        }
        let entry = ExportEntry {
            archived: archived.clone(),
            revisions,
        };
        serde_json::to_writer(&mut *out, &entry).map_err(|err| ArchiveError::Output(err.into()))?;
        out.write_all(b"\n").map_err(ArchiveError::Output)?;
    }
    out.flush().map_err(ArchiveError::Output)?;
    Ok(all.len())
}

/// Restores an export into an empty archive; returns how many articles.
pub fn import(archive: &dyn Archive, input: &mut dyn BufRead) -> Result<usize, ArchiveError> {
    if !archive.is_empty()? {
        return Err(ArchiveError::Import(
            "the archive is not empty: import restores into an empty archive only".into(),
        ));
    }
    let mut count = 0;
    for (index, line) in input.lines().enumerate() {
        let line =
            line.map_err(|err| ArchiveError::Import(format!("line {}: {err}", index + 1)))?;
        if line.trim().is_empty() {
            continue;
        }
        let entry: ExportEntry = serde_json::from_str(&line)
            .map_err(|err| ArchiveError::Import(format!("line {}: {err}", index + 1)))?;
        archive.restore(&entry)?;
        count += 1;
    }
    archive.flush()?;
    Ok(count)
}
