//! The sled index: its trees, the compact records it keeps per article and per revision, and
//! the keys of its indexes. Everything an article is lives in the WARC files; this only finds it.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use sled::{Db, Tree};

use super::warc::Location;
use super::{ArchiveError, compact};
use crate::model::{ArticleId, Validators};

/// The trees of the index.
#[derive(Clone)]
pub(super) struct Trees {
    pub articles: Tree,
    pub by_url: Tree,
    pub by_time: Tree,
    pub validators: Tree,
    pub state: Tree,
    pub runs: Tree,
    /// Asset URL -> its latest capture ([`super::assets`]).
    pub assets: Tree,
    /// Payload digest -> the first response record holding those bytes.
    pub payloads: Tree,
    /// `<topic>\0<callback>` -> a verified WebSub subscription ([`super::websub`]).
    pub websub: Tree,
}

/// Positions of the trees in [`Trees::all`], for batches written in one transaction.
pub(super) const ARTICLES: usize = 0;
pub(super) const BY_URL: usize = 1;
pub(super) const BY_TIME: usize = 2;
pub(super) const VALIDATORS: usize = 3;
pub(super) const STATE: usize = 4;
pub(super) const RUNS: usize = 5;
pub(super) const ASSETS: usize = 6;
pub(super) const PAYLOADS: usize = 7;
pub(super) const WEBSUB: usize = 8;
pub(super) const TREES: usize = 9;

impl Trees {
    pub fn open(db: &Db) -> Result<Trees, sled::Error> {
        let tree = |name: &str| db.open_tree(name);
        Ok(Trees {
            articles: tree("articles")?,
            by_url: tree("by_url")?,
            by_time: tree("by_time")?,
            validators: tree("validators")?,
            state: tree("state")?,
            runs: tree("runs")?,
            assets: tree("assets")?,
            payloads: tree("payloads")?,
            websub: tree("websub")?,
        })
    }

    pub fn all(&self) -> [Tree; TREES] {
        [
            self.articles.clone(),
            self.by_url.clone(),
            self.by_time.clone(),
            self.validators.clone(),
            self.state.clone(),
            self.runs.clone(),
            self.assets.clone(),
            self.payloads.clone(),
            self.websub.clone(),
        ]
    }
}

/// Per article: what listing and ordering need, and where its latest revision is. Stored with
/// [`compact::pack`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Entry {
    pub source: String,
    pub section: String,
    #[serde(with = "compact::optional_time")]
    pub published: Option<DateTime<FixedOffset>>,
    #[serde(with = "compact::time")]
    pub first_seen: DateTime<FixedOffset>,
    #[serde(with = "compact::time")]
    pub updated: DateTime<FixedOffset>,
    pub revisions: u32,
    /// Where each revision is, by number. Kept in the article's own record: sled's space on
    /// disk grows with every key far more than with the bytes of a value.
    pub kept: BTreeMap<u32, RevisionEntry>,
    /// The validators of the article's page (its canonical URL), for a conditional recheck:
    /// kept here rather than under the URL, which would take another key.
    pub validators: Option<Validators>,
    #[serde(with = "compact::optional_time")]
    pub gone_at: Option<DateTime<FixedOffset>>,
    #[serde(with = "compact::content_hash")]
    pub content_hash: String,
    /// The metadata record of the latest revision.
    pub latest: Span,
}

impl Entry {
    pub fn pack(&self) -> Vec<u8> {
        compact::pack(self)
    }

    pub fn unpack(key: &[u8], bytes: &[u8]) -> Result<Entry, ArchiveError> {
        compact::unpack(key, bytes)
    }

    /// The time the article is ordered by: published, or first seen when the portal gave none.
    pub fn sort_time(&self) -> DateTime<FixedOffset> {
        self.published.unwrap_or(self.first_seen)
    }
}

/// Per revision: when, and where its records are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RevisionEntry {
    #[serde(with = "compact::time")]
    pub fetched_at: DateTime<FixedOffset>,
    /// Its metadata record (which holds its content hash and names its response).
    pub metadata: Span,
    pub response: Option<Span>,
    pub request: Option<Span>,
}

/// A [`Location`] in few bytes: file, offset, length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Span(
    #[serde(with = "compact::file_name")] pub String,
    pub u64,
    pub u64,
);

impl From<&Location> for Span {
    fn from(at: &Location) -> Span {
        Span(at.file.clone(), at.offset, at.length)
    }
}

impl Span {
    pub fn location(&self) -> Location {
        Location {
            file: self.0.clone(),
            offset: self.1,
            length: self.2,
        }
    }
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(
    key: &[u8],
    bytes: &[u8],
) -> Result<T, ArchiveError> {
    serde_json::from_slice(bytes).map_err(|err| ArchiveError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        detail: err.to_string(),
    })
}

pub(super) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("index records serialise")
}

/// The `by_url` key of a canonical URL: the first 16 bytes of its SHA-256 (two URLs sharing one
/// is a 2^-64 chance even among billions of URLs). The URL itself is in the article's records.
pub fn url_key(url: &str) -> [u8; 16] {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(url.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// `<source>\0<inverted time><section>\0<id>`: one key per article, a source's articles newest
/// first, ties by section and id. A section's articles are the source's with that section.
pub(super) fn time_key(id: &ArticleId, entry: &Entry) -> Vec<u8> {
    let mut key = time_prefix(&entry.source);
    key.extend_from_slice(&inverted(entry.sort_time()));
    key.extend_from_slice(entry.section.as_bytes());
    key.push(0);
    key.extend_from_slice(id.0.as_bytes());
    key
}

pub(super) fn time_prefix(source: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(source.len() + 1);
    key.extend_from_slice(source.as_bytes());
    key.push(0);
    key
}

/// What a `by_time` key under `prefix` holds: the article's sort time (whole seconds), its
/// section and its id.
pub(super) fn parse_time_key<'k>(
    prefix: &[u8],
    key: &'k [u8],
) -> Option<(DateTime<FixedOffset>, &'k [u8], &'k [u8])> {
    let rest = key.strip_prefix(prefix)?;
    let (time, rest) = rest.split_at_checked(8)?;
    let inverted = i64::from_be_bytes(time.try_into().ok()?);
    let time = DateTime::from_timestamp(i64::MAX.wrapping_sub(inverted), 0)?.fixed_offset();
    let split = rest.iter().position(|b| *b == 0)?;
    Some((time, &rest[..split], &rest[split + 1..]))
}

/// Newer times give smaller keys. A time before 1970 wraps past `i64::MAX` into the keys above
/// every later one, still in order (keys compare as unsigned bytes), rather than overflowing:
/// a page may give any date, and a query any bound.
pub(super) fn inverted(time: DateTime<FixedOffset>) -> [u8; 8] {
    i64::MAX.wrapping_sub(time.timestamp()).to_be_bytes()
}

/// `<source>\0<inverted start>`: a source's runs, newest first.
pub(super) fn run_key(source: &str, started: Option<DateTime<FixedOffset>>) -> Vec<u8> {
    let mut key = source.as_bytes().to_vec();
    key.push(0);
    let started = started.map_or(0, |t| t.timestamp_micros());
    key.extend_from_slice(&(i64::MAX - started).to_be_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_put_newer_first_on_either_side_of_1970_and_read_back() {
        let times: Vec<DateTime<FixedOffset>> = [
            "2021-01-31T23:59:59+07:00",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "1900-01-01T00:00:00+07:00",
        ]
        .iter()
        .map(|t| DateTime::parse_from_rfc3339(t).unwrap())
        .collect();
        let keys: Vec<[u8; 8]> = times.iter().map(|t| inverted(*t)).collect();
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]), "{keys:?}");
        let prefix = time_prefix("s");
        for (time, key) in times.iter().zip(&keys) {
            let mut full = prefix.clone();
            full.extend_from_slice(key);
            full.extend_from_slice(b"section\0s:1");
            let (back, section, id) = parse_time_key(&prefix, &full).unwrap();
            assert_eq!((back, section, id), (*time, &b"section"[..], &b"s:1"[..]));
        }
    }
}
