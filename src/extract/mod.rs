//! Pure extraction: a page's bytes and a source's profile in, the raw pieces of an article or a
//! list page out. Nothing here touches the network or the archive.
//!
//! Any page is read within fixed limits ([`MAX_DEPTH`], [`MAX_ELEMENTS`], [`MAX_ATTRIBUTES`]):
//! structure past them is flattened and its text kept; an answer that is not HTML is refused.

mod attributes;
mod body;
mod charset;
mod image;
mod parse;
mod readability;
mod sniff;

use std::collections::HashSet;

use ego_tree::NodeId;
use scraper::{ElementRef, Html, Selector};
use thiserror::Error;
use url::Url;

pub use body::{Block, Cell, Figure, Inline, Row};
pub use charset::decode;
pub use parse::{MAX_ATTRIBUTES, MAX_ELEMENTS};

/// The deepest a page's elements are kept as structure. Deeper start tags are left out while
/// parsing, and the body walk reads anything deeper as text of the block around it (images
/// that deep are not kept), so no page can make a walk over its tree recurse further. The
/// result says so: [`RawArticle::flattened`]. The recorded portal pages nest under 20 deep.
pub const MAX_DEPTH: usize = 256;

use crate::config::{BodyFallback, Css, Source};
use crate::model::Page;

/// Why a page could not be read as what the profile describes.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ExtractError {
    #[error(
        "no element matches the {field} selector `{selector}`: the page is not {kind} of this source, or the profile is out of date"
    )]
    NoMatch {
        field: &'static str,
        selector: String,
        /// What the page was read as, with its article: "an article page", "a list page".
        kind: &'static str,
    },
    #[error("the {field} selector `{selector}` matches, but the element has no text")]
    Empty {
        field: &'static str,
        selector: String,
    },
    #[error(
        "the list.link selector `{selector}` matches no link with an href in any of the {items} list items"
    )]
    NoLinks { selector: String, items: usize },
    /// The answer is an image, a PDF or another kind of file, by its `Content-Type` or its bytes.
    #[error("not an HTML page ({media_type})")]
    NotHtml { media_type: String },
    /// The body selector matched nothing and the readability fallback found no content either.
    #[error(
        "no element matches the article.body selector `{selector}`, and readability found no main content: {reason}"
    )]
    NoReadableBody { selector: String, reason: String },
}

/// An article page as found, before normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct RawArticle {
    /// The address the page was fetched from.
    pub url: Url,
    /// What relative URLs resolve against: `<base href>` or the page's address.
    pub base: Url,
    /// The encoding the page was decoded with, as a lowercase label (`utf-8`, `windows-1258`).
    pub charset: String,
    pub title: String,
    pub published: Option<String>,
    pub summary: Option<String>,
    pub category: Option<String>,
    pub credit: Option<String>,
    pub body: Vec<Block>,
    pub attachments: Vec<RawLink>,
    /// True when the page nested deeper than [`MAX_DEPTH`] or held more than [`MAX_ELEMENTS`]
    /// elements: the excess structure was flattened, its text kept.
    pub flattened: bool,
    /// The body selector matched nothing and `fallback = "readability"` found the body.
    pub readability: bool,
}

/// A link as written in the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawLink {
    pub href: String,
    pub text: String,
}

/// A category list page as found, before normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct RawList {
    pub url: Url,
    pub base: Url,
    pub items: Vec<RawListItem>,
    pub next_page: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawListItem {
    pub href: String,
    pub title: String,
    pub published: Option<String>,
    pub summary: Option<String>,
}

/// A parsed page with the profile's `remove` selectors applied.
struct Document {
    html: Html,
    removed: HashSet<NodeId>,
    base: Url,
    charset: String,
    /// Parsing left out structure past the limits.
    flattened: bool,
}

impl Document {
    fn parse(page: &Page<'_>, remove: &[Css]) -> Result<Document, ExtractError> {
        if let Some(media_type) = sniff::not_html(page.bytes, page.content_type) {
            return Err(ExtractError::NotHtml { media_type });
        }
        let (text, encoding) = decode(page.bytes, page.content_type);
        let parse::Parsed { html, flattened } = parse::document(&text);
        let mut removed = HashSet::new();
        for css in remove {
            removed.extend(html.select(css.selector()).map(|e| e.id()));
        }
        let base = base_url(&html, page.url);
        Ok(Document {
            html,
            removed,
            base,
            charset: encoding.name().to_ascii_lowercase(),
            flattened,
        })
    }

    /// The first match of a selector. `remove` does not hide elements from selectors: an
    /// element removed from the body (an attachments box, a credit line) is still found.
    fn first(&self, css: &Css) -> Option<ElementRef<'_>> {
        self.html.select(css.selector()).next()
    }

    /// The value of the first match of an optional selector: its text (without what `remove`
    /// matches inside it), or the attribute the selector names (`@datetime`).
    fn text_of(&self, css: Option<&Css>) -> Option<String> {
        let css = css?;
        value_of(self.first(css)?, css, &self.removed)
    }
}

/// An element's value for a field: the attribute the selector names, else its text without
/// the removed elements inside it (the element itself is read even when removed).
fn value_of(element: ElementRef<'_>, css: &Css, removed: &HashSet<NodeId>) -> Option<String> {
    match css.attribute() {
        Some(name) => element.value().attr(name).map(str::to_string),
        None => Some(body::text(element, removed)),
    }
}

/// A page parsed within the limits of this module, for tools that look at its whole tree
/// (`gazette init`); an answer that is not HTML is refused.
pub fn document(page: &Page<'_>) -> Result<Html, ExtractError> {
    Document::parse(page, &[]).map(|doc| doc.html)
}

/// The text of an element as every field reads it: `<br>` and block edges as spaces.
pub fn element_text(element: ElementRef<'_>) -> String {
    body::text(element, &HashSet::new())
}

/// Extracts an article page with the source's article profile.
pub fn article(page: &Page<'_>, source: &Source) -> Result<RawArticle, ExtractError> {
    let profile = &source.article;
    let doc = Document::parse(page, &profile.remove)?;
    let title_element = doc
        .first(&profile.title)
        .ok_or_else(|| ExtractError::NoMatch {
            field: "article.title",
            selector: profile.title.to_string(),
            kind: "an article page",
        })?;
    let title = body::text(title_element, &doc.removed);
    if title.chars().all(|c| c.is_whitespace() || c.is_control()) {
        return Err(ExtractError::Empty {
            field: "article.title",
            selector: profile.title.to_string(),
        });
    }
    let attachments = match &profile.attachments {
        Some(css) => links(&doc, css),
        None => Vec::new(),
    };
    let scope = body::Scope::new(&doc.removed);
    let (body, readability) = match doc.first(&profile.body) {
        Some(body_element) => (body::blocks(body_element, &scope), false),
        None => match profile.fallback {
            Some(BodyFallback::Readability) => (readability::body(page, profile)?, true),
            None => {
                return Err(ExtractError::NoMatch {
                    field: "article.body",
                    selector: profile.body.to_string(),
                    kind: "an article page",
                });
            }
        },
    };
    Ok(RawArticle {
        url: page.url.clone(),
        base: doc.base.clone(),
        charset: doc.charset.clone(),
        title,
        published: doc.text_of(profile.published.as_ref()),
        summary: doc.text_of(profile.summary.as_ref()),
        category: doc.text_of(profile.category.as_ref()),
        credit: doc.text_of(profile.credit.as_ref()),
        body,
        attachments,
        flattened: doc.flattened || scope.flattened(),
        readability,
    })
}

/// Extracts a category list page with the source's list profile.
pub fn list(page: &Page<'_>, source: &Source) -> Result<RawList, ExtractError> {
    let profile = &source.list;
    let doc = Document::parse(page, &source.article.remove)?;
    let mut found = 0;
    let mut items = Vec::new();
    for item in doc.html.select(profile.item.selector()) {
        found += 1;
        let Some(link) = item
            .select(profile.link.selector())
            .find(|a| a.value().attr("href").is_some())
        else {
            continue;
        };
        let within = |css: Option<&Css>| {
            let css = css?;
            value_of(item.select(css.selector()).next()?, css, &doc.removed)
        };
        items.push(RawListItem {
            href: link
                .value()
                .attr("href")
                .unwrap_or_default()
                .trim()
                .to_string(),
            title: body::text(link, &doc.removed),
            published: within(profile.published.as_ref()),
            summary: within(profile.summary.as_ref()),
        });
    }
    if found == 0 {
        return Err(ExtractError::NoMatch {
            field: "list.item",
            selector: profile.item.to_string(),
            kind: "a list page",
        });
    }
    if items.is_empty() {
        return Err(ExtractError::NoLinks {
            selector: profile.link.to_string(),
            items: found,
        });
    }
    let next_page = profile
        .next_page
        .as_ref()
        .and_then(|css| doc.first(css))
        .and_then(|a| a.value().attr("href"))
        .map(|href| href.trim().to_string())
        .filter(|href| {
            !href.is_empty()
                && !href.starts_with('#')
                && !href.to_ascii_lowercase().starts_with("javascript:")
        });
    Ok(RawList {
        url: page.url.clone(),
        base: doc.base.clone(),
        items,
        next_page,
    })
}

/// The links an attachments selector picks: the matched `<a>`s, or the links inside the matches.
fn links(doc: &Document, css: &Css) -> Vec<RawLink> {
    static ANCHOR: std::sync::LazyLock<Selector> =
        std::sync::LazyLock::new(|| Selector::parse("a[href]").expect("constant selector"));
    let mut out = Vec::new();
    for matched in doc.html.select(css.selector()) {
        let anchors: Vec<ElementRef<'_>> = if matched.value().name() == "a" {
            vec![matched]
        } else {
            matched.select(&ANCHOR).collect()
        };
        for anchor in anchors {
            if let Some(href) = anchor.value().attr("href") {
                out.push(RawLink {
                    href: href.trim().to_string(),
                    text: body::text(anchor, &doc.removed),
                });
            }
        }
    }
    out
}

/// `<base href>` resolved against the page's address, or the address itself.
fn base_url(html: &Html, url: &Url) -> Url {
    static BASE: std::sync::LazyLock<Selector> =
        std::sync::LazyLock::new(|| Selector::parse("base[href]").expect("constant selector"));
    html.select(&BASE)
        .next()
        .and_then(|base| base.value().attr("href"))
        .and_then(|href| url.join(href.trim()).ok())
        .filter(|base| matches!(base.scheme(), "http" | "https"))
        .unwrap_or_else(|| url.clone())
}
