//! Pure renderers: archived articles and what a document says about itself in, feed bytes out.
//!
//! One file per format: [`rss()`] (RSS 2.0), [`atom()`] (Atom 1.0), [`json()`] (JSON Feed 1.1) and
//! [`opml()`] (OPML 2.0, a list of feeds). Every renderer follows `docs/FEEDS.md`: ids that never
//! change, every date in the source's zone with its offset, no character XML 1.0 forbids, RFC 5005
//! archive links, enclosures, RFC 6721 tombstones and WebSub hub links. A renderer never panics;
//! if its writer fails it logs and returns an empty feed.

mod atom;
mod content;
mod enclosure;
mod format;
mod json;
mod opml;
mod rss;

use std::collections::HashSet;

use chrono::{DateTime, FixedOffset, SubsecRound};

use crate::model::{Archived, ArticleId};
use crate::normalize::text::clean_markup;

pub use self::atom::atom;
pub use self::content::{ATTACHMENTS_HEADING, content_html};
pub use self::enclosure::{AssetFacts, Assets, Enclosure, linked_files, type_of_url};
pub use self::format::Format;
pub use self::json::json;
pub use self::opml::{OpmlFeed, opml};
pub use self::rss::rss;

/// The namespace of RFC 5005 (`fh:archive`).
pub const HISTORY_NAMESPACE: &str = "http://purl.org/syndication/history/1.0";

/// The year minted into every `tag:` URI: fixed forever, since ids must never change.
const TAG_DATE: &str = "2026";

/// What a feed document says about itself.
#[derive(Debug, Clone)]
pub struct FeedMeta {
    /// E.g. "Ban Quản lý Khu kinh tế tỉnh Kiên Giang — Tin Ban Quản lý".
    pub title: String,
    pub description: String,
    /// The source's language tag, e.g. `vi`.
    pub language: String,
    /// The portal page of the source or section (`rel="alternate" type="text/html"`).
    pub home_page: url::Url,
    /// The exact URL this document is served at (`rel="self"`).
    pub self_url: url::Url,
    /// Authority of the `tag:` URIs, e.g. `bqlkkt.kiengiang.gov.vn`.
    pub tag_authority: String,
    /// What the feed is, e.g. `bqlkkt`, `bqlkkt/tin-ban-quan-ly` or `bqlkkt/archive/2020-07`.
    pub feed_key: String,
    /// The source's name: the feed-level author.
    pub author: String,
    /// The newest change: [`newest_change`] of the items (never the clock), or, for a document
    /// without items, the newest change of its source.
    pub updated: DateTime<FixedOffset>,
    /// RSS `ttl`, matching the Cache-Control max-age the document is served with.
    pub ttl_minutes: u32,
    /// The source's zone: every date is written in it.
    pub zone: chrono_tz::Tz,
    /// RFC 5005 links.
    pub history: History,
    /// WebSub hubs to advertise (`rel="hub"`); none by default.
    pub hubs: Vec<url::Url>,
    /// What the archive knows of the files the items link (type and length for enclosures).
    pub assets: Assets,
}

/// RFC 5005 links of a document.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// True for an archive document (`<fh:archive/>`).
    pub archive: bool,
    /// `rel="current"`: archives link to the subscription feed.
    pub current: Option<url::Url>,
    /// `rel="prev-archive"`: the next older archive document.
    pub prev_archive: Option<url::Url>,
    /// `rel="next-archive"`: the next newer archive document.
    pub next_archive: Option<url::Url>,
    /// JSON Feed `next_url`: the next page of older items of this same feed.
    pub next_page: Option<url::Url>,
}

impl History {
    /// The links to write, as `(rel, href)`, in a fixed order.
    fn links(&self) -> impl Iterator<Item = (&'static str, &url::Url)> {
        [
            ("current", self.current.as_ref()),
            ("prev-archive", self.prev_archive.as_ref()),
            ("next-archive", self.next_archive.as_ref()),
        ]
        .into_iter()
        .filter_map(|(rel, url)| url.map(|url| (rel, url)))
    }
}

/// A `tag:` URI (RFC 4151): `tag:{authority},{date}:{specific}`.
///
/// Characters a tag URI cannot hold in its specific part are percent-encoded, so any id gives
/// a valid IRI; the ids gazette makes (`bqlkkt:1234`) are written as they are.
pub fn tag_uri(authority: &str, date: &str, specific: &str) -> String {
    let mut out = format!("tag:{authority},{date}:");
    for byte in specific.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&byte);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The id of an article in every feed: a `tag:` URI that never changes (not on re-crawl, not when
/// the article is edited, not across releases).
pub fn entry_id(meta: &FeedMeta, id: &ArticleId) -> String {
    tag_uri(&clean_markup(&meta.tag_authority), TAG_DATE, &id.0)
}

/// The id of the feed itself (Atom `feed/id`): a `tag:` URI made of the feed key.
pub fn feed_id(meta: &FeedMeta) -> String {
    tag_uri(
        &clean_markup(&meta.tag_authority),
        TAG_DATE,
        &format!("feed/{}", meta.feed_key),
    )
}

/// When an article last changed as readers see it: when it was published for its first
/// revision, and the time its latest revision was fetched for later ones (never before it was
/// published). A re-crawl that finds it unchanged changes nothing, nor does a reparse revision
/// that leaves title and body as they were (it keeps `updated`, the first sighting's time).
pub fn entry_updated(item: &Archived) -> DateTime<FixedOffset> {
    let published = item.sort_time();
    if item.revisions <= 1 || item.updated <= item.first_seen {
        published
    } else {
        item.updated.max(published)
    }
}

/// The newest change among `items`: the latest [`entry_updated`], or, in a live feed (where a
/// withdrawn article changes the document), the latest withdrawal (`gone_at`).
pub fn newest_change(items: &[Archived], live: bool) -> Option<DateTime<FixedOffset>> {
    items
        .iter()
        .flat_map(|item| [Some(entry_updated(item)), item.gone_at.filter(|_| live)])
        .flatten()
        .max()
}

/// One article as every format writes it: deduplicated, cleaned, dates in the source's zone.
struct Entry {
    id: String,
    url: String,
    title: String,
    /// `None` when the archive has no summary: an empty element helps no reader.
    summary: Option<String>,
    /// RSS `description`: HTML, the escaped summary, else the first caption, else the title.
    description_html: String,
    /// The body with its figures laid out and the attachments listed ([`content_html`]).
    content_html: String,
    category: Option<String>,
    credit: Option<String>,
    published: DateTime<FixedOffset>,
    updated: DateTime<FixedOffset>,
    /// The attachments, in page order.
    enclosures: Vec<Enclosure>,
    /// The first image of the body (JSON Feed `image`).
    image: Option<String>,
    /// When the portal withdrew the article (RFC 6721 `when`).
    gone_at: Option<DateTime<FixedOffset>>,
}

/// The entries of a document in the given order; a repeated article id is kept once (the first).
fn entries(meta: &FeedMeta, items: &[Archived]) -> Vec<Entry> {
    let mut seen = HashSet::new();
    items
        .iter()
        .filter(|item| seen.insert(&item.article.id))
        .map(|item| {
            let article = &item.article;
            let summary = Some(text(&article.summary)).filter(|s| !s.trim().is_empty());
            let title = text(&article.title);
            let caption = article
                .images
                .iter()
                .find_map(|image| nonempty(image.caption.as_deref()));
            let description = summary.clone().or(caption).unwrap_or_else(|| title.clone());
            Entry {
                id: entry_id(meta, &article.id),
                url: text(&article.url),
                title,
                summary,
                description_html: crate::html::escape(&description),
                content_html: text(&content_html(&article.body_html, &article.attachments)),
                category: nonempty(article.category.as_deref()),
                credit: nonempty(article.credit.as_deref()),
                published: local(meta, item.sort_time()),
                updated: local(meta, entry_updated(item)),
                enclosures: article
                    .attachments
                    .iter()
                    .map(|a| {
                        let mut enclosure = enclosure::enclosure(&meta.assets, a);
                        enclosure.url = text(&enclosure.url);
                        enclosure.title = text(&enclosure.title);
                        enclosure
                    })
                    .collect(),
                image: article.images.first().map(|image| text(&image.url)),
                gone_at: item.gone_at.map(|at| local(meta, at)),
            }
        })
        .collect()
}

/// Text as it may reach a document: the characters XML 1.0 forbids removed (before any escaping),
/// NFC.
fn text(value: &str) -> String {
    clean_markup(value)
}

fn nonempty(value: Option<&str>) -> Option<String> {
    value.map(text).filter(|v| !v.trim().is_empty())
}

/// A time in the source's zone, whole seconds: what every format writes.
fn local(meta: &FeedMeta, time: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
    time.with_timezone(&meta.zone)
        .fixed_offset()
        .trunc_subsecs(0)
}

/// RFC 822 as RSS and OPML want it: `Wed, 08 Jul 2020 13:54:00 +0700` (English names, numeric zone).
fn rfc822(time: DateTime<FixedOffset>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S %z").to_string()
}

/// RFC 3339 with an uppercase `T` and the offset: `2020-07-08T13:54:00+07:00`.
fn rfc3339(time: DateTime<FixedOffset>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// The bytes of a rendered document, or of the same document without items when rendering failed
/// (an empty valid feed is better to a reader than an error page), or nothing.
fn or_empty<E: std::fmt::Display>(
    format: Format,
    rendered: Result<Vec<u8>, E>,
    empty: impl FnOnce() -> Result<Vec<u8>, E>,
) -> Vec<u8> {
    rendered.unwrap_or_else(|err| {
        tracing::error!(format = format.extension(), error = %err, "feed could not be written; serving it without items");
        empty().unwrap_or_else(|err| {
            tracing::error!(format = format.extension(), error = %err, "empty feed could not be written either");
            Vec::new()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_uri_keeps_gazette_ids_and_encodes_the_rest() {
        assert_eq!(
            tag_uri("bqlkkt.kiengiang.gov.vn", "2026", "bqlkkt:1234"),
            "tag:bqlkkt.kiengiang.gov.vn,2026:bqlkkt:1234"
        );
        assert_eq!(
            tag_uri("a.b", "2026", "x y#ệ"),
            "tag:a.b,2026:x%20y%23%E1%BB%87"
        );
    }

    #[test]
    fn rfc822_has_english_names_and_a_numeric_zone() {
        let time = DateTime::parse_from_rfc3339("2020-07-08T13:54:00+07:00").unwrap();
        assert_eq!(rfc822(time), "Wed, 08 Jul 2020 13:54:00 +0700");
        assert_eq!(rfc3339(time), "2020-07-08T13:54:00+07:00");
    }
}
