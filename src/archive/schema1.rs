//! A read-only reader of schema-1 archives (one sled directory holding every article, revision
//! and zstd-compressed capture), for `gazette migrate`.

use std::path::Path;

use sled::{Db, Tree};

use super::{ArchiveError, ExportEntry, ExportedRevision};
use crate::model::{Archived, Capture, Revision, RunReport, Validators};

/// A schema-1 archive, opened to be read once.
pub struct Schema1 {
    _db: Db,
    articles: Tree,
    revisions: Tree,
    captures: Tree,
    validators: Tree,
    state: Tree,
    runs: Tree,
}

impl Schema1 {
    /// Opens the schema-1 archive at `path`; anything else is refused.
    pub fn open(path: &Path) -> Result<Schema1, ArchiveError> {
        let shown = path.display().to_string();
        let db = super::layout::index_config(path)
            .open()
            .map_err(|err| super::write::storage_error(path, err))?;
        let tree = |name: &str| db.open_tree(name).map_err(ArchiveError::Storage);
        let meta = tree("meta")?;
        let version = meta.get("schema_version").map_err(ArchiveError::Storage)?;
        if version.as_deref() != Some(b"1".as_slice()) {
            return Err(ArchiveError::Foreign {
                path: shown,
                reason: "not a schema-1 gazette archive".into(),
            });
        }
        Ok(Schema1 {
            articles: tree("articles")?,
            revisions: tree("revisions")?,
            captures: tree("captures")?,
            validators: tree("validators")?,
            state: tree("state")?,
            runs: tree("runs")?,
            _db: db,
        })
    }

    /// Every article with its revisions and captures, in id order.
    pub fn entries(&self) -> impl Iterator<Item = Result<ExportEntry, ArchiveError>> + '_ {
        self.articles.iter().map(move |item| {
            let (key, value) = item.map_err(ArchiveError::Storage)?;
            let archived: Archived = decode(&key, &value)?;
            let mut prefix = key.to_vec();
            prefix.push(0);
            let mut revisions = Vec::new();
            for item in self.revisions.scan_prefix(&prefix) {
                let (rev_key, value) = item.map_err(ArchiveError::Storage)?;
                let revision: Revision = decode(&rev_key, &value)?;
                let capture = match self.captures.get(&rev_key).map_err(ArchiveError::Storage)? {
                    Some(bytes) => Some(decode_capture(&rev_key, &bytes)?),
                    None => None,
                };
                revisions.push(ExportedRevision {
                    number: revision.number,
                    fetched_at: revision.fetched_at,
                    cause: revision.cause,
                    article: revision.article,
                    raw_base64: None,
                    capture,
                });
            }
            Ok(ExportEntry {
                archived,
                revisions,
            })
        })
    }

    /// Validators by URL.
    pub fn validators(&self) -> Result<Vec<(String, Validators)>, ArchiveError> {
        self.validators
            .iter()
            .map(|item| {
                let (key, value) = item.map_err(ArchiveError::Storage)?;
                Ok((
                    String::from_utf8_lossy(&key).into_owned(),
                    decode(&key, &value)?,
                ))
            })
            .collect()
    }

    /// Crawl state by key.
    pub fn state(&self) -> Result<Vec<(String, String)>, ArchiveError> {
        self.state
            .iter()
            .map(|item| {
                let (key, value) = item.map_err(ArchiveError::Storage)?;
                Ok((
                    String::from_utf8_lossy(&key).into_owned(),
                    String::from_utf8_lossy(&value).into_owned(),
                ))
            })
            .collect()
    }

    /// Every run recorded.
    pub fn runs(&self) -> Result<Vec<RunReport>, ArchiveError> {
        self.runs
            .iter()
            .map(|item| {
                let (key, value) = item.map_err(ArchiveError::Storage)?;
                decode(&key, &value)
            })
            .collect()
    }
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, ArchiveError> {
    super::index::decode(key, bytes)
}

/// A capture as schema 1 stored it: the head's length (u32, big-endian), the head as JSON, then
/// the body zstd-compressed.
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
