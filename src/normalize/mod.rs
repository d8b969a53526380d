//! Pure normalisation: raw extracted pieces in, a clean `Article` or `ListPage` out (NFC text,
//! dates in the source's zone, sanitised body, absolute URLs, canonical URL and stable id).

mod body;
pub mod date;
pub mod text;
pub mod url;

use std::collections::HashSet;

pub use self::url::{article_id, canonical_url, resolve};
use crate::config::Source;
use crate::extract::{RawArticle, RawList};
/// The hash lives with `Article`: import checks it too.
pub use crate::model::content_hash;
use crate::model::{Article, Attachment, ListItem, ListPage};

/// The longest summary, in characters, `…` included.
pub const SUMMARY_MAX_CHARS: usize = 300;

/// Credit lines start with one of these; the prefix is not part of the credit.
const CREDIT_PREFIXES: &[&str] = &["nguồn:", "nguồn :", "source:"];

/// Normalises an extracted article of `source`, listed in `section`. Its published time is the
/// one its page shows, else `listed` (the time the list page it was found on shows).
pub fn article(
    raw: &RawArticle,
    source: &Source,
    section: &str,
    listed: Option<date::Published>,
) -> Article {
    let canonical = canonical_url(&raw.url, source);
    let id = article_id(&canonical, source);
    let title = text::clean(&raw.title);
    let published = raw
        .published
        .as_deref()
        .and_then(|t| date::parse(&text::clean(t), source.tz(), &source.article.date_formats))
        .or(listed);
    let body_html = body::html(&raw.body, &raw.base);
    let body_text = body::paragraphs(&raw.body, &raw.base).join("\n\n");
    let summary = text::clean_option(raw.summary.as_deref())
        .or_else(|| body::first_paragraph(&raw.body))
        .map(|s| text::shorten(&s, SUMMARY_MAX_CHARS))
        .unwrap_or_default();
    let mut attachments: Vec<Attachment> = Vec::new();
    // Each file once, named by the first link that has text: a file-type icon linking the same
    // file just before its name does not name it.
    let mut untitled = HashSet::new();
    for link in &raw.attachments {
        let Some(url) = resolve(&raw.base, &link.href) else {
            continue;
        };
        let url = url.to_string();
        let text = text::clean_option(Some(&link.text));
        match attachments.iter_mut().find(|a| a.url == url) {
            Some(known) => {
                if let Some(text) = text.filter(|_| untitled.contains(&url)) {
                    known.title = text;
                    untitled.remove(&url);
                }
            }
            None => {
                let title = match text {
                    Some(text) => text,
                    None => {
                        untitled.insert(url.clone());
                        ::url::Url::parse(&url).map_or_else(|_| url.clone(), |u| file_name(&u))
                    }
                };
                attachments.push(Attachment { url, title });
            }
        }
    }
    let published_at = published.map(|p| p.at);
    let content_hash = content_hash(&title, published_at.as_ref(), &body_text);
    Article {
        id,
        source: source.id.to_string(),
        section: section.to_string(),
        url: canonical.to_string(),
        title,
        published: published_at,
        published_inferred: published.is_some_and(|p| p.inferred),
        category: text::clean_option(raw.category.as_deref()),
        credit: credit(raw.credit.as_deref()),
        summary,
        images: body::images(&raw.body, &raw.base),
        body_html,
        body_text,
        attachments,
        content_hash,
    }
}

/// Normalises an extracted list page; an article listed twice is kept once.
pub fn list(raw: &RawList, source: &Source) -> ListPage {
    let mut items: Vec<ListItem> = Vec::new();
    let mut seen = HashSet::new();
    for item in &raw.items {
        let Some(url) = resolve(&raw.base, &item.href) else {
            continue;
        };
        let url = canonical_url(&url, source).to_string();
        if !seen.insert(url.clone()) {
            continue;
        }
        let published = item
            .published
            .as_deref()
            .and_then(|t| date::parse(&text::clean(t), source.tz(), &source.article.date_formats));
        items.push(ListItem {
            url,
            title: text::clean(&item.title),
            published: published.map(|p| p.at),
            published_inferred: published.is_some_and(|p| p.inferred),
            summary: text::clean_option(item.summary.as_deref()),
        });
    }
    let next_page = raw
        .next_page
        .as_deref()
        .and_then(|href| resolve(&raw.base, href))
        .map(|u| u.to_string());
    ListPage { items, next_page }
}

fn credit(raw: Option<&str>) -> Option<String> {
    let credit = text::clean_option(raw)?;
    let lower = credit.to_lowercase();
    let rest = CREDIT_PREFIXES
        .iter()
        .find(|prefix| lower.starts_with(*prefix))
        .and_then(|prefix| credit.get(prefix.len()..))
        .unwrap_or(&credit);
    text::clean_option(Some(rest))
}

fn file_name(url: &::url::Url) -> String {
    url.path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|s| !s.is_empty())
        .unwrap_or(url.as_str())
        .to_string()
}
