//! The types every stage passes on: what a page yields and what the archive keeps.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

/// A fetched or saved page: the bytes as received, with the address and header they came with.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    pub url: &'a Url,
    /// The HTTP `Content-Type` header, if any: its charset wins over everything in the page.
    pub content_type: Option<&'a str>,
    pub bytes: &'a [u8],
}

/// An article's id: `<source>:<value>`, stable for its canonical URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ArticleId(pub String);

impl fmt::Display for ArticleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An image of the body, with its caption when the page gives one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub url: String,
    pub caption: Option<String>,
}

/// A file linked from the article's attachments block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub url: String,
    pub title: String,
}

/// One normalised article, as archived and republished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    pub id: ArticleId,
    pub source: String,
    pub section: String,
    /// Canonical URL: only the identifying query keys, no fragment.
    pub url: String,
    pub title: String,
    /// In the source's zone; `None` when the page gives no date.
    pub published: Option<DateTime<FixedOffset>>,
    /// True when the time of day was not given and midnight was assumed.
    pub published_inferred: bool,
    pub category: Option<String>,
    pub credit: Option<String>,
    pub summary: String,
    pub body_html: String,
    pub body_text: String,
    pub images: Vec<Image>,
    pub attachments: Vec<Attachment>,
    /// Hex SHA-256 of title, published and body_text: a new value is a new revision.
    pub content_hash: String,
}

/// Hex SHA-256 of what makes a revision: title, published instant and body text.
pub fn content_hash(
    title: &str,
    published: Option<&chrono::DateTime<chrono::FixedOffset>>,
    body_text: &str,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(title.as_bytes());
    hasher.update(b"\n");
    hasher.update(
        published
            .map(|p| p.to_rfc3339())
            .unwrap_or_default()
            .as_bytes(),
    );
    hasher.update(b"\n");
    hasher.update(body_text.as_bytes());
    hex::encode(hasher.finalize())
}

/// One article as a category list page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListItem {
    /// Canonical URL of the article.
    pub url: String,
    pub title: String,
    pub published: Option<DateTime<FixedOffset>>,
    /// The list showed a date without a time of day: midnight was assumed.
    #[serde(default)]
    pub published_inferred: bool,
    pub summary: Option<String>,
}

/// A category list page: its articles in page order and the next page, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPage {
    pub items: Vec<ListItem>,
    pub next_page: Option<String>,
}

/// The page as it was received: what an archivist needs to see the source of a revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    /// The address finally answered (after redirects).
    pub url: String,
    pub status: u16,
    /// Response headers in the order received.
    pub headers: Vec<(String, String)>,
    /// The body bytes exactly as received.
    #[serde(skip)]
    pub body: Vec<u8>,
}

impl Capture {
    /// The `Content-Type` header, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str())
    }
}

/// One version of an article: a new one is kept each time its `content_hash` changes, or when
/// `gazette reparse` reads its capture differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// 1 for the first capture, then 2, 3, …
    pub number: u32,
    /// When the page it was read from was fetched.
    pub fetched_at: DateTime<FixedOffset>,
    #[serde(default)]
    pub cause: RevisionCause,
    pub article: Article,
}

/// When a revision's page was fetched, read from the index alone: what a Memento TimeMap lists
/// without reading any revision whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevisionCapture {
    pub number: u32,
    /// The fetch time, the `WARC-Date` of the page's response record. A revision made by
    /// `gazette reparse` has the time of the capture it read again.
    pub fetched_at: DateTime<FixedOffset>,
    /// False when the revision was restored without its page (an export made without `--raw`).
    pub page_kept: bool,
}

/// What made a revision: the portal's page changed, or the profile did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevisionCause {
    /// A fetch of the page read differently (what every revision was before reparse).
    #[default]
    Portal,
    /// `gazette reparse` read the stored capture differently with the current profile.
    Reparse,
}

impl RevisionCause {
    pub fn is_portal(&self) -> bool {
        *self == RevisionCause::Portal
    }
}

/// An archived article: its current revision and its history in brief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archived {
    pub article: Article,
    pub first_seen: DateTime<FixedOffset>,
    /// When the latest revision was fetched.
    pub updated: DateTime<FixedOffset>,
    pub revisions: u32,
    /// When the portal first answered 404/410 for it; the article is kept.
    pub gone_at: Option<DateTime<FixedOffset>>,
}

impl Archived {
    /// The time the article is ordered by: published, or first seen when the portal gave none.
    pub fn sort_time(&self) -> DateTime<FixedOffset> {
        self.article.published.unwrap_or(self.first_seen)
    }
}

/// What one crawl of one source did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub source: String,
    pub started: Option<DateTime<FixedOffset>>,
    pub finished: Option<DateTime<FixedOffset>>,
    pub backfill: bool,
    pub pages_fetched: u64,
    pub new: u64,
    pub revised: u64,
    pub unchanged: u64,
    pub gone: u64,
    pub failed: u64,
    /// True when every section's list could be read.
    pub complete: bool,
    pub errors: Vec<String>,
    /// Articles archived flattened: they nested too deep or held too many elements, so part of
    /// their structure was read as plain text.
    #[serde(default)]
    pub flattened: Vec<String>,
    /// Articles whose body selector matched nothing and whose body Readability found
    /// (`article.fallback = "readability"`).
    #[serde(default)]
    pub readability: Vec<String>,
    /// Attachments and images captured: a new payload, or a revisit of one already kept.
    #[serde(default)]
    pub assets_captured: u64,
    /// Assets not stored again: unchanged (304) or captured within `recheck_days`.
    #[serde(default)]
    pub assets_unchanged: u64,
    /// Assets not fetched or not kept on purpose: off-host, disallowed, over `max_asset_bytes`.
    #[serde(default)]
    pub assets_skipped: u64,
    /// Assets that could not be fetched; their articles are archived all the same.
    #[serde(default)]
    pub assets_failed: u64,
    /// Assets waiting for a later run when this one ended: past `max_assets_per_run`, kept in
    /// the archive's crawl state and fetched first by the next run.
    #[serde(default)]
    pub assets_deferred: u64,
    /// One line per skipped or failed asset, naming its URL.
    #[serde(default)]
    pub asset_errors: Vec<String>,
    /// Article pages read in this run: stored (new, revised or unchanged), or refused because
    /// the title or body selector matched nothing.
    #[serde(default)]
    pub articles_read: u64,
    /// Per [`HEALTH_FIELDS`] field, how many pages were judged and how many had it filled (a
    /// page whose body selector matched nothing says nothing of its other fields but the title).
    #[serde(default)]
    pub filled: BTreeMap<String, Fill>,
    /// Items found on each list page read, in the order read.
    #[serde(default)]
    pub list_items: Vec<ListCount>,
    /// The source's selector health after this run; `None` in runs recorded before it existed.
    #[serde(default)]
    pub health: Option<Health>,
}

impl RunReport {
    /// The share of the pages judged for `field` that had it filled; `None` when none was.
    pub fn fill(&self, field: &str) -> Option<f64> {
        let fill = self.filled.get(field)?;
        (fill.read > 0).then(|| fill.filled as f64 / fill.read as f64)
    }
}

/// How many article pages were judged for one field, and how many had it filled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    pub read: u64,
    pub filled: u64,
}

/// The article fields whose fill a run counts, in the order reports show them.
pub const HEALTH_FIELDS: [&str; 7] = [
    "title",
    "published",
    "body",
    "summary",
    "category",
    "credit",
    "images",
];

/// How many items one list page gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListCount {
    pub url: String,
    pub items: u64,
}

/// Whether a source's selectors still find what they used to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// A field fell below half its median fill, or a list page gave no items.
    pub degraded: bool,
    /// Earlier runs (with articles read) the fill shares were compared with.
    pub runs_compared: usize,
    /// Every counted field, in [`HEALTH_FIELDS`] order.
    pub fields: Vec<FieldHealth>,
    /// List pages of this run that gave no items.
    pub empty_list_pages: Vec<String>,
    /// The list item selector, named when a list page was empty.
    pub list_selector: Option<String>,
}

impl Health {
    /// The fields that marked the source degraded.
    pub fn degraded_fields(&self) -> impl Iterator<Item = &FieldHealth> {
        self.fields.iter().filter(|f| f.degraded)
    }
}

/// One field's fill in the latest run against its median over earlier runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldHealth {
    pub field: String,
    /// The profile selector that fills it; `None` when the profile has none.
    pub selector: Option<String>,
    /// Share of the run's articles with the field filled (0 to 1); `None` when the run read
    /// no article, and then the verdict is the previous run's.
    pub fill: Option<f64>,
    /// Median of the earlier runs' shares; `None` without earlier runs.
    pub median: Option<f64>,
    pub degraded: bool,
}

/// A file an article links (attachment or image), as captured: what a feed enclosure or a
/// download needs, from the index alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetInfo {
    pub url: String,
    /// The essence of the `Content-Type` header (`application/pdf`), else sniffed from the bytes
    /// or the URL's extension.
    pub mime_type: String,
    /// Bytes of the payload.
    pub length: u64,
    /// `sha1:` and base32, as in `WARC-Payload-Digest`.
    pub digest: String,
    /// When this URL was last captured.
    pub captured_at: DateTime<FixedOffset>,
    /// The WARC record holding the bytes: this capture's response, or the earlier response a
    /// revisit refers to.
    pub record: RecordLocation,
    /// True when the last capture was a `revisit` (the bytes were already kept).
    pub revisit: bool,
}

/// Where a WARC record is: a gzip member of a file of the archive's `warc/` directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordLocation {
    pub file: String,
    pub offset: u64,
    pub length: u64,
}

/// The validators of a fetched URL, for conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A verified subscription of a callback to a topic (one of gazette's feed URLs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub topic: String,
    pub callback: String,
    /// The `hub.secret` the subscriber gave: deliveries are signed with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// When the lease ends; the subscription is dropped then.
    pub expires: DateTime<FixedOffset>,
    /// Deliveries failed in a row (each after its retries); reset by a delivery that succeeds.
    #[serde(default)]
    pub failures: u32,
}

impl Subscription {
    /// `<topic>\0<callback>`: one subscription per pair, a topic's subscribers together.
    pub fn key(topic: &str, callback: &str) -> Vec<u8> {
        let mut key = Vec::with_capacity(topic.len() + callback.len() + 1);
        key.extend_from_slice(topic.as_bytes());
        key.push(0);
        key.extend_from_slice(callback.as_bytes());
        key
    }
}
