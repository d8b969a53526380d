//! JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>), written with serde.

use serde::Serialize;

use super::{Entry, FeedMeta, Format, entries, or_empty, rfc3339, text};
use crate::model::Archived;

/// The version URL every document names.
const VERSION: &str = "https://jsonfeed.org/version/1.1";

#[derive(Serialize)]
struct JsonFeed {
    version: &'static str,
    title: String,
    home_page_url: String,
    feed_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// The next page of older items of this same feed.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<String>,
    language: String,
    authors: Vec<Author>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub>,
    items: Vec<JsonItem>,
}

#[derive(Serialize)]
struct Hub {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Attachment {
    url: String,
    mime_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_in_bytes: Option<u64>,
}

#[derive(Serialize)]
struct Author {
    name: String,
}

#[derive(Serialize)]
struct JsonItem {
    id: String,
    url: String,
    title: String,
    content_html: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    date_published: String,
    date_modified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    authors: Vec<Author>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment>,
}

/// A JSON Feed 1.1 document of `items`, in the given order (newest first).
///
/// Ids are [`super::entry_id`] strings; dates are RFC 3339 with the source's offset; authors are
/// arrays (the credit, else the source); the first image is `image`, the attachments are
/// `attachments` (with the first image too). `next_url` is `meta.history.next_page`, the next page
/// of older items of the same feed; `hubs` the WebSub hubs. In a live feed (not an archive) a
/// withdrawn article is left out.
pub fn json(meta: &FeedMeta, items: &[Archived]) -> Vec<u8> {
    or_empty(
        Format::Json,
        serde_json::to_vec_pretty(&document(meta, items)),
        || serde_json::to_vec_pretty(&document(meta, &[])),
    )
}

fn document(meta: &FeedMeta, items: &[Archived]) -> JsonFeed {
    let author = text(&meta.author);
    JsonFeed {
        version: VERSION,
        title: text(&meta.title),
        home_page_url: meta.home_page.to_string(),
        feed_url: meta.self_url.to_string(),
        description: Some(text(&meta.description)).filter(|d| !d.trim().is_empty()),
        next_url: meta.history.next_page.as_ref().map(ToString::to_string),
        language: text(&meta.language),
        authors: vec![Author {
            name: author.clone(),
        }],
        hubs: meta
            .hubs
            .iter()
            .map(|hub| Hub {
                kind: "WebSub",
                url: hub.to_string(),
            })
            .collect(),
        items: entries(meta, items)
            .into_iter()
            .filter(|entry| entry.gone_at.is_none() || meta.history.archive)
            .map(|entry| item(meta, entry, &author))
            .collect(),
    }
}

fn item(meta: &FeedMeta, entry: Entry, feed_author: &str) -> JsonItem {
    let image = entry.image.as_ref().map(|url| {
        let (mime_type, size_in_bytes) = super::enclosure::facts(&meta.assets, url);
        Attachment {
            url: url.clone(),
            mime_type,
            title: None,
            size_in_bytes,
        }
    });
    let attachments = entry
        .enclosures
        .into_iter()
        .map(|e| Attachment {
            url: e.url,
            mime_type: e.mime_type,
            title: Some(e.title).filter(|t| !t.trim().is_empty()),
            size_in_bytes: e.length,
        })
        .chain(image)
        .collect();
    JsonItem {
        id: entry.id,
        url: entry.url,
        title: entry.title,
        content_html: entry.content_html,
        summary: entry.summary,
        date_published: rfc3339(entry.published),
        date_modified: rfc3339(entry.updated),
        image: entry.image,
        tags: entry.category.into_iter().collect(),
        authors: vec![Author {
            name: entry.credit.unwrap_or_else(|| feed_author.to_string()),
        }],
        attachments,
    }
}
