//! How right an inferred profile is: a recorded portal's pages (a directory with
//! `manifest.tsv` and `expected.json`, as in `fixtures/`) extracted with it, field by field.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};
use url::Url;

use crate::config::Source;
use crate::model::Page;

/// The fields compared for each article of `expected.json`.
pub const ARTICLE_FIELDS: &[&str] = &[
    "url",
    "title",
    "published",
    "category",
    "first_paragraph",
    "last_paragraph",
    "images",
    "attachments",
    "source_credit",
];

/// One field of one page: what was expected and what the profile gave.
#[derive(Debug, Clone)]
pub struct FieldCheck {
    pub page: String,
    pub field: String,
    pub expected: Value,
    pub actual: Value,
}

impl FieldCheck {
    pub fn right(&self) -> bool {
        self.expected == self.actual
    }
}

/// Every field checked.
#[derive(Debug, Clone, Default)]
pub struct Accuracy {
    pub checks: Vec<FieldCheck>,
}

impl Accuracy {
    pub fn right(&self) -> usize {
        self.checks.iter().filter(|c| c.right()).count()
    }

    pub fn share(&self) -> f64 {
        if self.checks.is_empty() {
            0.0
        } else {
            self.right() as f64 / self.checks.len() as f64
        }
    }

    /// Right and checked, per field, in [`ARTICLE_FIELDS`] order then the list's fields.
    pub fn by_field(&self) -> Vec<(String, usize, usize)> {
        let mut order: Vec<String> = Vec::new();
        let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
        for check in &self.checks {
            if !order.contains(&check.field) {
                order.push(check.field.clone());
            }
            let entry = counts.entry(check.field.clone()).or_default();
            entry.0 += usize::from(check.right());
            entry.1 += 1;
        }
        order
            .into_iter()
            .map(|f| {
                let (right, all) = counts[&f];
                (f, right, all)
            })
            .collect()
    }

    /// The wrong fields, one line each, for a failing test's message.
    pub fn wrong(&self) -> String {
        self.checks
            .iter()
            .filter(|c| !c.right())
            .map(|c| {
                format!(
                    "{} {}: expected {}, got {}\n",
                    c.page, c.field, c.expected, c.actual
                )
            })
            .collect()
    }
}

/// Why a recording could not be scored.
#[derive(Debug, thiserror::Error)]
pub enum AccuracyError {
    #[error("cannot read {file}")]
    Read {
        file: String,
        #[source]
        cause: std::io::Error,
    },
    #[error("{file} is not valid JSON")]
    Json {
        file: String,
        #[source]
        cause: serde_json::Error,
    },
}

/// Scores `source` on the recording in `dir`, served as `origin`: each article of
/// `expected.json` by [`ARTICLE_FIELDS`], and each list entry (`"list": true`) by its items
/// and next page.
pub fn score(source: &Source, dir: &Path, origin: &Url) -> Result<Accuracy, AccuracyError> {
    let read = |name: &str| {
        let file = dir.join(name);
        std::fs::read(&file).map_err(|cause| AccuracyError::Read {
            file: file.display().to_string(),
            cause,
        })
    };
    let manifest = String::from_utf8_lossy(&read("manifest.tsv")?).into_owned();
    let rows: Vec<(String, String, String)> = manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut cols = l.split('\t');
            Some((
                cols.next()?.into(),
                cols.next()?.into(),
                cols.next()?.into(),
            ))
        })
        .collect();
    let expected_file = dir.join("expected.json");
    let expected: Value =
        serde_json::from_slice(&read("expected.json")?).map_err(|cause| AccuracyError::Json {
            file: expected_file.display().to_string(),
            cause,
        })?;
    let empty = serde_json::Map::new();
    let expected = expected.as_object().unwrap_or(&empty);
    let section = source.sections[0].id.to_string();
    // A page served at several addresses is read at its last row's: the address its list links.
    let load = |file: &str| -> Result<Option<(Url, String, Vec<u8>)>, AccuracyError> {
        let Some((path, _, content_type)) = rows.iter().rev().find(|(_, f, _)| f == file) else {
            return Ok(None);
        };
        let Ok(url) = origin.join(path) else {
            return Ok(None);
        };
        Ok(Some((url, content_type.clone(), read(file)?)))
    };
    // What the list pages say of each article: its time, when the page itself shows none.
    let mut listed = HashMap::new();
    for (_, file, _) in rows.iter().filter(|(_, f, _)| f.starts_with("list")) {
        if let Some((url, content_type, bytes)) = load(file)? {
            let page = Page {
                url: &url,
                content_type: Some(&content_type),
                bytes: &bytes,
            };
            if let Ok(list) = crate::read_list(&page, source) {
                for item in list.items {
                    listed.insert(item.url.clone(), (item.published, item.published_inferred));
                }
            }
        }
    }
    let mut checks = Vec::new();
    for (file, want) in expected {
        let Some((url, content_type, bytes)) = load(file)? else {
            continue;
        };
        let page = Page {
            url: &url,
            content_type: Some(&content_type),
            bytes: &bytes,
        };
        let mut check = |field: &str, expected: Value, actual: Value| {
            checks.push(FieldCheck {
                page: file.clone(),
                field: field.to_string(),
                expected,
                actual,
            });
        };
        if want["list"] == json!(true) {
            let list = crate::read_list(&page, source).ok();
            let items: Vec<String> = list
                .iter()
                .flat_map(|l| l.items.iter().map(|i| i.url.clone()))
                .collect();
            check("list items", want["items"].clone(), json!(items));
            check(
                "list next_page",
                want["next_page"].clone(),
                json!(list.and_then(|l| l.next_page)),
            );
            continue;
        }
        let article = crate::read_article(&page, source, &section).ok();
        for field in ARTICLE_FIELDS {
            let actual = match &article {
                None => Value::Null,
                Some(a) => {
                    let paragraphs: Vec<&str> = a.body_text.split("\n\n").collect();
                    match *field {
                        "url" => json!(a.url),
                        "title" => json!(a.title),
                        "published" => {
                            let (at, inferred) = match a.published {
                                Some(at) => (Some(at), a.published_inferred),
                                None => listed.get(&a.url).copied().unwrap_or((None, false)),
                            };
                            let at = json!(at.map(|p| p.to_rfc3339()));
                            match want.get("published_inferred") {
                                Some(_)
                                    if inferred != (want["published_inferred"] == json!(true)) =>
                                {
                                    json!({"published": at, "published_inferred": inferred})
                                }
                                _ => at,
                            }
                        }
                        "category" => json!(a.category),
                        "first_paragraph" => json!(paragraphs.first()),
                        "last_paragraph" => json!(paragraphs.last()),
                        "images" => json!(a.images),
                        "attachments" => json!(a.attachments),
                        _ => json!(a.credit),
                    }
                }
            };
            // Paragraphs are compared as text: whitespace runs are one space.
            let (expected, actual) = if field.ends_with("paragraph") {
                (squeeze(&want[*field]), squeeze(&actual))
            } else {
                (want[*field].clone(), actual)
            };
            check(field, expected, actual);
        }
    }
    Ok(Accuracy { checks })
}

fn squeeze(value: &Value) -> Value {
    match value.as_str() {
        Some(text) => json!(text.split_whitespace().collect::<Vec<_>>().join(" ")),
        None => value.clone(),
    }
}
