//! The types every stage passes on: what a page yields and what the archive keeps.

use std::fmt;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
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

/// One article as a category list page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListItem {
    /// Canonical URL of the article.
    pub url: String,
    pub title: String,
    pub published: Option<DateTime<FixedOffset>>,
    pub summary: Option<String>,
}

/// A category list page: its articles in page order and the next page, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPage {
    pub items: Vec<ListItem>,
    pub next_page: Option<String>,
}
