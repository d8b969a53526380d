//! The proof of an inferred profile: every fetched page extracted with it, field by field.

use super::{FetchedPage, Note};
use crate::config::Source;

/// The longest value shown per field.
const SHOWN_CHARS: usize = 70;

/// What one page gave with the inferred profile.
#[derive(Debug, Clone)]
pub struct PageProof {
    pub url: String,
    /// Field name and value; `Err` holds why the page could not be read.
    pub fields: Result<Vec<(&'static str, FieldValue)>, String>,
}

/// One field's value, shortened for display; `None` when the page gave nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldValue(pub Option<String>);

/// Extracts the list page and each article with `source`.
pub fn prove(source: &Source, list: &FetchedPage, articles: &[FetchedPage]) -> Vec<PageProof> {
    let mut out = Vec::new();
    out.push(PageProof {
        url: list.url.to_string(),
        fields: crate::read_list(&list.page(), source)
            .map(|list| {
                let dated = list.items.iter().filter(|i| i.published.is_some()).count();
                let summed = list.items.iter().filter(|i| i.summary.is_some()).count();
                vec![
                    ("items", some(list.items.len().to_string())),
                    (
                        "first item",
                        FieldValue(list.items.first().map(|i| shorten(&i.title))),
                    ),
                    (
                        "items dated",
                        some(format!("{dated} of {}", list.items.len())),
                    ),
                    (
                        "items with summary",
                        some(format!("{summed} of {}", list.items.len())),
                    ),
                    ("next page", FieldValue(list.next_page.clone())),
                ]
            })
            .map_err(|err| crate::describe(&err)),
    });
    let section = source.sections[0].id.to_string();
    for page in articles {
        let read = crate::read_article_noted(&page.page(), source, &section, None);
        out.push(PageProof {
            url: page.url.to_string(),
            fields: read
                .map(|read| {
                    let a = read.article;
                    let paragraphs: Vec<&str> = a.body_text.split("\n\n").collect();
                    vec![
                        ("id", some(a.id.to_string())),
                        ("url", some(a.url.clone())),
                        ("title", some(shorten(&a.title))),
                        (
                            "published",
                            FieldValue(a.published.map(|p| {
                                let note = if a.published_inferred {
                                    " (no time)"
                                } else {
                                    ""
                                };
                                format!("{}{note}", p.to_rfc3339())
                            })),
                        ),
                        (
                            "summary",
                            FieldValue(Some(shorten(&a.summary)).filter(|s| !s.is_empty())),
                        ),
                        (
                            "body",
                            FieldValue((!a.body_text.is_empty()).then(|| {
                                format!(
                                    "{} paragraphs, first: {}",
                                    paragraphs.len(),
                                    shorten(paragraphs[0])
                                )
                            })),
                        ),
                        ("category", FieldValue(a.category.clone())),
                        ("credit", FieldValue(a.credit.clone())),
                        ("images", some(a.images.len().to_string())),
                        (
                            "attachments",
                            some(
                                a.attachments
                                    .iter()
                                    .map(|f| f.url.rsplit('/').next().unwrap_or(&f.url).to_string())
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            ),
                        ),
                    ]
                })
                .map_err(|err| crate::describe(&err)),
        });
    }
    out
}

/// Fields the fetched articles left empty on some pages, and pages that could not be read.
pub fn doubts(proof: &[PageProof], articles: usize) -> Vec<Note> {
    let mut notes = Vec::new();
    for page in proof {
        if let Err(err) = &page.fields {
            notes.push(Note::new("page", format!("{}: {err}", page.url)));
        }
    }
    for field in ["published", "category", "credit"] {
        let empty = proof
            .iter()
            .skip(1)
            .filter_map(|p| p.fields.as_ref().ok())
            .filter(|fields| {
                fields
                    .iter()
                    .any(|(name, v)| *name == field && v.0.is_none())
            })
            .count();
        if empty > 0 && empty < articles {
            notes.push(Note::new(
                match field {
                    "published" => "article.published",
                    "category" => "article.category",
                    _ => "article.credit",
                },
                format!("empty on {empty} of {articles} articles (the page may have none)"),
            ));
        }
    }
    notes
}

/// The proof as a table: one block per page, one line per field.
pub fn render(proof: &[PageProof]) -> String {
    let mut out = String::new();
    for page in proof {
        out.push_str(&page.url);
        out.push('\n');
        match &page.fields {
            Ok(fields) => {
                for (name, value) in fields {
                    let value = value.0.as_deref().unwrap_or("—");
                    out.push_str(&format!("  {name:<18} {value}\n"));
                }
            }
            Err(err) => out.push_str(&format!("  cannot be read: {err}\n")),
        }
    }
    out
}

fn some(text: String) -> FieldValue {
    FieldValue(Some(text))
}

fn shorten(text: &str) -> String {
    crate::normalize::text::shorten(text, SHOWN_CHARS)
}
