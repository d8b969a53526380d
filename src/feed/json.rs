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
    /// Older items: JSON Feed's paging, so it follows RFC 5005's `prev-archive`.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<String>,
    language: String,
    authors: Vec<Author>,
    items: Vec<JsonItem>,
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    authors: Vec<Author>,
}

/// A JSON Feed 1.1 document of `items`, in the given order (newest first).
///
/// Ids are [`super::entry_id`] strings; dates are RFC 3339 with the source's offset; authors are
/// arrays (the credit, else the source). `next_url` is the RFC 5005 `prev-archive` when given.
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
        next_url: meta.history.prev_archive.as_ref().map(ToString::to_string),
        language: text(&meta.language),
        authors: vec![Author {
            name: author.clone(),
        }],
        items: entries(meta, items)
            .into_iter()
            .map(|entry| item(entry, &author))
            .collect(),
    }
}

fn item(entry: Entry, feed_author: &str) -> JsonItem {
    JsonItem {
        id: entry.id,
        url: entry.url,
        title: entry.title,
        content_html: entry.body_html,
        summary: entry.summary,
        date_published: rfc3339(entry.published),
        date_modified: rfc3339(entry.updated),
        tags: entry.category.into_iter().collect(),
        authors: vec![Author {
            name: entry.credit.unwrap_or_else(|| feed_author.to_string()),
        }],
    }
}
