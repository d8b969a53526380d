//! The proof of an inferred profile: every fetched page extracted with it, field by field.

use super::{FetchedPage, Note};
use crate::config::{Css, Source};

/// The longest value shown per field.
const SHOWN_CHARS: usize = 70;

/// What one page gave with the inferred profile.
#[derive(Debug, Clone)]
pub struct PageProof {
    pub url: String,
    /// Field name and value; `Err` holds why the page could not be read.
    pub fields: Result<Vec<(&'static str, FieldValue)>, String>,
}

/// One written selector, run on every sampled page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFill {
    /// `list.item`, `article.title`, …
    pub field: &'static str,
    pub selector: String,
    /// Pages where it filled its field, of those it ran on.
    pub filled: usize,
    pub of: usize,
    /// What it gave on the first page it filled.
    pub sample: Option<String>,
}

/// Each written selector of `source`, with on how many of the pages of `proof` it filled its
/// field (the list's on the list page, the article's on the articles).
pub fn fields(source: &Source, proof: &[PageProof], articles: usize) -> Vec<FieldFill> {
    let mut out = Vec::new();
    let list = proof.first().and_then(|p| p.fields.as_ref().ok());
    let value = |fields: &[(&'static str, FieldValue)], name: &str| -> Option<String> {
        fields
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.0.clone())
            .filter(|v| !v.is_empty() && v != "0")
    };
    let l = &source.list;
    let list_fields: [(&'static str, Option<&Css>, &str); 4] = [
        ("list.item", Some(&l.item), "first item"),
        ("list.published", l.published.as_ref(), "items dated"),
        ("list.summary", l.summary.as_ref(), "items with summary"),
        ("list.next_page", l.next_page.as_ref(), "next page"),
    ];
    for (field, css, name) in list_fields {
        let Some(css) = css else { continue };
        // "0 of 8" items dated is none.
        let sample = list
            .and_then(|f| value(f, name))
            .filter(|v| !v.starts_with("0 of"));
        out.push(FieldFill {
            field,
            selector: css.to_string(),
            filled: usize::from(sample.is_some()),
            of: 1,
            sample,
        });
    }
    let a = &source.article;
    let article_fields: [(&'static str, Option<&Css>, &str); 7] = [
        ("article.title", Some(&a.title), "title"),
        ("article.published", a.published.as_ref(), "published"),
        ("article.summary", a.summary.as_ref(), "summary"),
        ("article.body", Some(&a.body), "body"),
        ("article.category", a.category.as_ref(), "category"),
        ("article.credit", a.credit.as_ref(), "credit"),
        ("article.attachments", a.attachments.as_ref(), "attachments"),
    ];
    for (field, css, name) in article_fields {
        let Some(css) = css else { continue };
        let values: Vec<Option<String>> = proof
            .iter()
            .skip(1)
            .map(|p| p.fields.as_ref().ok().and_then(|f| value(f, name)))
            .collect();
        out.push(FieldFill {
            field,
            selector: css.to_string(),
            filled: values.iter().flatten().count(),
            of: articles,
            sample: values.into_iter().flatten().next(),
        });
    }
    out
}

/// The fields as a table: field, pages filled, selector, sample.
pub fn render_fields(fields: &[FieldFill]) -> String {
    let mut out = String::new();
    for f in fields {
        out.push_str(&format!(
            "  {:<20} {:>2}/{:<2} {}\n{:<29}e.g. {}\n",
            f.field,
            f.filled,
            f.of,
            f.selector,
            "",
            f.sample.as_deref().unwrap_or("—")
        ));
    }
    out
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

/// Pages that could not be read, and written selectors that did not fill their field on all
/// sampled pages but one.
pub fn doubts(proof: &[PageProof], fields: &[FieldFill]) -> Vec<Note> {
    let mut notes = Vec::new();
    for page in proof {
        if let Err(err) = &page.fields {
            notes.push(Note::new("page", format!("{}: {err}", page.url)));
        }
    }
    for f in fields {
        if f.filled + 1 < f.of || (f.of == 1 && f.filled == 0) {
            let why = match f.field {
                "article.credit" | "article.attachments" | "article.category" => {
                    " (pages without one leave it empty)"
                }
                _ => "",
            };
            notes.push(Note::new(
                f.field,
                format!(
                    "`{}` filled on {} of {} sampled pages{why}",
                    f.selector, f.filled, f.of
                ),
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
