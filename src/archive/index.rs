//! The sled index: its trees, the compact records it keeps per article and per revision, and
//! the keys of its indexes. Everything an article is lives in the WARC files; this only finds it.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use sled::{Db, Tree};

use super::ArchiveError;
use super::warc::{Location, RecordId};
use crate::model::ArticleId;

/// The trees of the index.
#[derive(Clone)]
pub(super) struct Trees {
    pub articles: Tree,
    pub revisions: Tree,
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
pub(super) const REVISIONS: usize = 1;
pub(super) const BY_URL: usize = 2;
pub(super) const BY_TIME: usize = 3;
pub(super) const VALIDATORS: usize = 4;
pub(super) const STATE: usize = 5;
pub(super) const RUNS: usize = 6;
pub(super) const ASSETS: usize = 7;
pub(super) const PAYLOADS: usize = 8;
pub(super) const WEBSUB: usize = 9;
pub(super) const TREES: usize = 10;

impl Trees {
    pub fn open(db: &Db) -> Result<Trees, sled::Error> {
        let tree = |name: &str| db.open_tree(name);
        Ok(Trees {
            articles: tree("articles")?,
            revisions: tree("revisions")?,
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
            self.revisions.clone(),
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

/// Per article: what listing and ordering need, and where its latest revision is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Entry {
    #[serde(rename = "s")]
    pub source: String,
    #[serde(rename = "c")]
    pub section: String,
    #[serde(rename = "u")]
    pub url: String,
    #[serde(rename = "p")]
    pub published: Option<DateTime<FixedOffset>>,
    #[serde(rename = "f")]
    pub first_seen: DateTime<FixedOffset>,
    #[serde(rename = "d")]
    pub updated: DateTime<FixedOffset>,
    #[serde(rename = "n")]
    pub revisions: u32,
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub gone_at: Option<DateTime<FixedOffset>>,
    #[serde(rename = "h")]
    pub content_hash: String,
    /// The metadata record of the latest revision.
    #[serde(rename = "l")]
    pub latest: Span,
}

impl Entry {
    /// The time the article is ordered by: published, or first seen when the portal gave none.
    pub fn sort_time(&self) -> DateTime<FixedOffset> {
        self.published.unwrap_or(self.first_seen)
    }
}

/// Per revision: when, what content, and where its records are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RevisionEntry {
    #[serde(rename = "t")]
    pub fetched_at: DateTime<FixedOffset>,
    #[serde(rename = "h")]
    pub content_hash: String,
    #[serde(rename = "i")]
    pub metadata_id: RecordId,
    #[serde(rename = "m")]
    pub metadata: Span,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Span>,
    #[serde(rename = "q", default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Span>,
}

/// A [`Location`] in few bytes: file, offset, length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Span(pub String, pub u64, pub u64);

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

/// `<id>\0<revision, big-endian>`: revisions of an article sort together, in order.
pub(super) fn revision_key(id: &ArticleId, number: u32) -> Vec<u8> {
    let mut key = revision_prefix(id);
    key.extend_from_slice(&number.to_be_bytes());
    key
}

pub(super) fn revision_prefix(id: &ArticleId) -> Vec<u8> {
    let mut key = id.0.as_bytes().to_vec();
    key.push(0);
    key
}

/// Section ids are `[a-z0-9-]+`, so this never collides with one: it marks the source-wide index.
pub(super) const ALL_SECTIONS: &str = "*";

/// `<source>\0<section>\0<inverted time>\0<id>`, for the article's section and for the whole
/// source (`*`): newest first, ties by id.
pub(super) fn time_keys(id: &ArticleId, entry: &Entry) -> [Vec<u8>; 2] {
    let key = |section: &str| {
        let mut key = time_prefix(&entry.source, section);
        key.extend_from_slice(&inverted(entry.sort_time()));
        key.push(0);
        key.extend_from_slice(id.0.as_bytes());
        key
    };
    [key(&entry.section), key(ALL_SECTIONS)]
}

pub(super) fn time_prefix(source: &str, section: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(source.len() + section.len() + 2);
    for part in [source.as_bytes(), section.as_bytes()] {
        key.extend_from_slice(part);
        key.push(0);
    }
    key
}

pub(super) fn inverted(time: DateTime<FixedOffset>) -> [u8; 8] {
    (i64::MAX - time.timestamp()).to_be_bytes()
}

/// `<source>\0<inverted start>`: a source's runs, newest first.
pub(super) fn run_key(source: &str, started: Option<DateTime<FixedOffset>>) -> Vec<u8> {
    let mut key = source.as_bytes().to_vec();
    key.push(0);
    let started = started.map_or(0, |t| t.timestamp_micros());
    key.extend_from_slice(&(i64::MAX - started).to_be_bytes());
    key
}
