//! Reparse: each archived article's latest capture extracted again with the source's current
//! profile (extract -> normalize -> archive, without fetching). An article that reads
//! differently gets a new revision caused by reparse, or, in a dry run, is only counted.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use thiserror::Error;
use url::Url;

use crate::archive::{Archive, ArchiveError, Query, Reextracted, Stored};
use crate::config::Source;
use crate::extract::ExtractError;
use crate::model::{Article, ArticleId, Capture, Page};
use crate::normalize::date::Published;

/// Examples of changes kept per field.
pub const EXAMPLES_PER_FIELD: usize = 3;

/// The longest text an example shows of a value, in characters.
const EXAMPLE_CHARS: usize = 80;

/// The fields reparse compares, in the order it reports them.
pub const COMPARED_FIELDS: [&str; 10] = [
    "url",
    "title",
    "published",
    "summary",
    "body",
    "category",
    "credit",
    "images",
    "attachments",
    "section",
];

/// One article's field as it was and as it reads now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub id: ArticleId,
    pub old: String,
    pub new: String,
}

/// How many articles a field changed in, with the first few.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldChanges {
    pub articles: usize,
    pub examples: Vec<FieldChange>,
}

/// What a reparse found, and did unless it was a dry run.
#[derive(Debug, Clone, Default)]
pub struct Reparsed {
    /// Articles whose latest capture was read again.
    pub articles: usize,
    /// Of those, the ones that read differently.
    pub changed: usize,
    /// New revisions written (0 in a dry run).
    pub revisions: usize,
    /// Per field of [`COMPARED_FIELDS`] that changed somewhere.
    pub fields: BTreeMap<&'static str, FieldChanges>,
    /// Articles not read again, and why (no capture, extraction failed, another id).
    pub skipped: Vec<String>,
}

/// Reads the latest capture of every archived article of `sources` again; with `apply`, stores
/// each that reads differently as a new revision made by reparse at `at`.
pub fn reparse(
    archive: &dyn Archive,
    sources: &[&Source],
    apply: bool,
    at: DateTime<FixedOffset>,
) -> Result<Reparsed, ArchiveError> {
    let mut reparsed = Reparsed::default();
    for source in sources {
        let profile = super::profile(source);
        let articles = archive.articles(&Query {
            source: Some(source.id.to_string()),
            ..Query::default()
        })?;
        for archived in articles {
            let before = archived.article;
            let Some(capture) = archive.capture(&before.id, archived.revisions)? else {
                reparsed
                    .skipped
                    .push(format!("{}: its latest revision has no capture", before.id));
                continue;
            };
            reparsed.articles += 1;
            let after = match read_again(source, &capture, &before) {
                Ok(after) => after,
                Err(error) => {
                    reparsed
                        .skipped
                        .push(format!("{}: {}", before.id, crate::describe(&error)));
                    continue;
                }
            };
            if after.id != before.id {
                reparsed.skipped.push(format!(
                    "{}: now reads as another article ({}); left as it is",
                    before.id, after.id
                ));
                continue;
            }
            let changes = changed_fields(&before, &after);
            if changes.is_empty() {
                continue;
            }
            reparsed.changed += 1;
            for (field, old, new) in changes {
                let entry = reparsed.fields.entry(field).or_default();
                entry.articles += 1;
                if entry.examples.len() < EXAMPLES_PER_FIELD {
                    entry.examples.push(FieldChange {
                        id: before.id.clone(),
                        old,
                        new,
                    });
                }
            }
            if apply {
                let stored = archive.store_reextracted(Reextracted {
                    article: after,
                    at,
                    profile: Some(profile.clone()),
                })?;
                reparsed.revisions += usize::from(matches!(stored, Stored::Revised(_)));
            }
        }
    }
    if apply && reparsed.revisions > 0 {
        archive.flush()?;
    }
    Ok(reparsed)
}

/// Why a stored capture could not be read again.
#[derive(Debug, Error)]
pub enum ReadAgainError {
    #[error("its capture's address {url:?} is not a URL")]
    NotUrl {
        url: String,
        #[source]
        source: url::ParseError,
    },
    #[error("the current profile does not read it")]
    Extract(#[source] ExtractError),
}

/// A captured page read again with the source's current profile.
pub fn read_again(
    source: &Source,
    capture: &Capture,
    before: &Article,
) -> Result<Article, ReadAgainError> {
    let url = Url::parse(&capture.url).map_err(|source| ReadAgainError::NotUrl {
        url: capture.url.clone(),
        source,
    })?;
    let page = Page {
        url: &url,
        content_type: capture.content_type(),
        bytes: &capture.body,
    };
    // When the page shows no time, the one kept before stands: the list page it was found on
    // showed it, and that page is not captured.
    let kept = before.published.map(|at| Published {
        at,
        inferred: before.published_inferred,
    });
    crate::read_article_noted(&page, source, &before.section, kept)
        .map(|read| read.article)
        .map_err(ReadAgainError::Extract)
}

/// The fields of [`COMPARED_FIELDS`] that differ, each shown as it was and as it is now.
pub fn changed_fields(before: &Article, after: &Article) -> Vec<(&'static str, String, String)> {
    COMPARED_FIELDS
        .into_iter()
        .filter_map(|field| {
            let (old, new) = (shown(before, field), shown(after, field));
            (old != new).then(|| (field, short(&old), short(&new)))
        })
        .collect()
}

/// A field of an article as text, to compare and to show.
fn shown(article: &Article, field: &str) -> String {
    let optional = |text: &Option<String>| text.clone().unwrap_or_default();
    match field {
        "url" => article.url.clone(),
        "title" => article.title.clone(),
        "published" => article
            .published
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
        "summary" => article.summary.clone(),
        "body" => article.body_html.clone(),
        "category" => optional(&article.category),
        "credit" => optional(&article.credit),
        "images" => article
            .images
            .iter()
            .map(|i| i.url.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        "attachments" => article
            .attachments
            .iter()
            .map(|a| a.url.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        "section" => article.section.clone(),
        _ => String::new(),
    }
}

fn short(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(EXAMPLE_CHARS).collect();
    match chars.next() {
        Some(_) => format!("{head}…"),
        None => head,
    }
}
