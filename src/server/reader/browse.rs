//! `/`, `/sources/{id}` and `/sources/{id}/{YYYY-MM}`: the newest articles, by month and section.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Datelike, NaiveDate, Utc};

use super::{FeedLink, Layout, failed, portal_time, render, source_feeds};
use crate::archive::{Archive, Query};
use crate::config::Source;
use crate::model::Archived;
use crate::server::query::{self, Cursor, Params};
use crate::server::{ApiError, AppState, months};

/// Articles of a source on the index page.
const NEWEST: usize = 20;
/// Articles in a page of a source or a month.
const PAGE: usize = 50;
/// The most months listed for a source.
const MAX_MONTHS: usize = 240;

/// An article in a list.
#[derive(Debug, Clone)]
pub struct Item {
    pub href: String,
    pub title: String,
    pub date: String,
    pub section: String,
    pub revisions: u32,
    /// HTML (escaped, matches in `<mark>`); empty outside search results.
    pub snippet: String,
}

impl Item {
    pub fn of(state: &AppState, archived: &Archived, snippet: String) -> Item {
        let article = &archived.article;
        let source = state.config.source(&article.source);
        let section = source
            .and_then(|s| s.section(&article.section))
            .map_or_else(|| article.section.clone(), |s| s.name.clone());
        Item {
            href: format!("/articles/{}", path_segment(&article.id.0)),
            title: article.title.clone(),
            date: portal_time(archived.sort_time(), source),
            section,
            revisions: archived.revisions,
            snippet,
        }
    }
}

/// Text as one path segment.
pub fn path_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%3A", ":")
        .replace("%2D", "-")
        .replace("%5F", "_")
}

#[derive(Debug, Clone)]
pub struct Month {
    pub href: String,
    pub label: String,
}

/// Months of `source` holding articles, newest first: one index seek a month.
fn months_of(archive: &dyn Archive, source: &Source) -> Result<Vec<Month>, ApiError> {
    let now = Utc::now().with_timezone(&source.tz());
    let current = NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap_or_default();
    let found = months::with_articles(archive, source, months::following(current), MAX_MONTHS)?;
    Ok(found
        .into_iter()
        .map(|month| Month {
            href: format!("/sources/{}/{}", source.id, month.format("%Y-%m")),
            label: format!("Tháng {}/{}", month.month(), month.year()),
        })
        .collect())
}

struct SourceBlock {
    name: String,
    href: String,
    original: String,
    last_run: String,
    next_run: String,
    /// Set when the last run found the profile's selectors failing: what failed, in words.
    degraded: Option<String>,
    feeds: Vec<FeedLink>,
    items: Vec<Item>,
    months: Vec<Month>,
}

#[derive(askama::Template)]
#[template(path = "index.html")]
struct Index {
    layout: Layout,
    sources: Vec<SourceBlock>,
}

pub async fn index(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(err) = Params::parse(q.as_deref(), &[]) {
        return failed(&state, &headers, err);
    }
    let built = state
        .blocking(|state| -> Result<Index, ApiError> {
            let status = state.status.snapshot();
            let mut layout = Layout {
                title: "Lưu trữ tin bài".into(),
                ..Layout::default()
            };
            let mut sources = Vec::new();
            for source in &state.config.sources {
                let newest = state.archive.blocking().articles(&Query {
                    source: Some(source.id.to_string()),
                    limit: Some(NEWEST),
                    ..Query::default()
                })?;
                let status = status.get(source.id.as_str());
                let last_run = status.and_then(|s| s.last_run.as_ref()).map_or_else(
                    || "chưa có".to_string(),
                    |run| {
                        format!(
                            "{}, {} bài mới, {} bài sửa, {} lỗi{}",
                            run.finished
                                .map_or_else(String::new, |t| portal_time(t, Some(source))),
                            run.new,
                            run.revised,
                            run.failed,
                            if run.complete { "" } else { " (chưa xong)" }
                        )
                    },
                );
                let next_run = status.and_then(|s| s.next_run).map_or_else(
                    || "chưa lên lịch".to_string(),
                    |t| format!("lúc {}", portal_time(t, Some(source))),
                );
                let degraded = status
                    .and_then(|s| s.last_run.as_ref())
                    .and_then(|run| run.health.as_ref())
                    .filter(|health| health.degraded)
                    .map(|health| {
                        let mut failing: Vec<String> = health
                            .degraded_fields()
                            .map(|f| match &f.selector {
                                Some(selector) => format!("{} ({selector})", f.field),
                                None => f.field.clone(),
                            })
                            .collect();
                        if !health.empty_list_pages.is_empty() {
                            failing.push(format!(
                                "danh sách trống ở {} trang",
                                health.empty_list_pages.len()
                            ));
                        }
                        failing.join(", ")
                    });
                let feeds = source_feeds(state, source);
                layout.feeds.extend(feeds.iter().cloned());
                sources.push(SourceBlock {
                    name: source.name.clone(),
                    href: format!("/sources/{}", source.id),
                    original: source.base_url().to_string(),
                    last_run,
                    next_run,
                    degraded,
                    feeds: feeds
                        .into_iter()
                        .take(crate::feed::Format::ALL.len())
                        .collect(),
                    items: newest
                        .iter()
                        .map(|a| Item::of(state, a, String::new()))
                        .collect(),
                    months: months_of(state.archive.blocking().as_ref(), source)?,
                });
            }
            Ok(Index { layout, sources })
        })
        .await;
    match built {
        Ok(page) => render(&headers, StatusCode::OK, &page),
        Err(err) => failed(&state, &headers, err),
    }
}

struct SectionLink {
    name: String,
    href: String,
    current: bool,
}

#[derive(askama::Template)]
#[template(path = "source.html")]
struct SourcePage {
    layout: Layout,
    heading: String,
    all_href: String,
    section: String,
    sections: Vec<SectionLink>,
    items: Vec<Item>,
    next: String,
    months: Vec<Month>,
}

pub async fn source(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    listing(state, headers, id, None, q).await
}

pub async fn month(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, month)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    listing(state, headers, id, Some(month), q).await
}

/// A source's articles, of one month when given, of one section when `?section=` says so.
async fn listing(
    state: AppState,
    headers: HeaderMap,
    id: String,
    month: Option<String>,
    q: Option<String>,
) -> Response {
    let built = async {
        let params = Params::parse(q.as_deref(), &["section", "cursor"])?;
        let source = state.source(&id)?.clone();
        let section = params
            .get("section")
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        if let Some(section) = &section
            && source.section(section).is_none()
        {
            return Err(ApiError::NotFound(format!("chuyên mục {section}")));
        }
        let month = match &month {
            Some(text) => Some(
                months::parse(text).ok_or_else(|| ApiError::NotFound(format!("tháng {text}")))?,
            ),
            None => None,
        };
        let cursor = params
            .get("cursor")
            .map(|c| Cursor::parse("cursor", c))
            .transpose()?;
        let bounds = month.map(|m| months::bounds(source.tz(), m));
        let archive_query = Query {
            source: Some(source.id.to_string()),
            section: section.clone(),
            since: bounds.map(|(since, _)| since),
            until: bounds.map(|(_, until)| until),
            limit: None,
        };
        let source_for_months = source.clone();
        let (articles, next, all_months) = state
            .blocking(move |state| {
                let archive = state.archive.blocking();
                let (articles, next) =
                    query::page(archive.as_ref(), archive_query, cursor.as_ref(), PAGE)?;
                let all_months = months_of(archive.as_ref(), &source_for_months)?;
                Ok((articles, next, all_months))
            })
            .await?;
        let base = match month {
            Some(m) => format!("/sources/{}/{}", source.id, m.format("%Y-%m")),
            None => format!("/sources/{}", source.id),
        };
        let with = |section: Option<&str>, cursor: Option<&str>| {
            let mut pairs = url::form_urlencoded::Serializer::new(String::new());
            if let Some(section) = section {
                pairs.append_pair("section", section);
            }
            if let Some(cursor) = cursor {
                pairs.append_pair("cursor", cursor);
            }
            let query = pairs.finish();
            if query.is_empty() {
                base.clone()
            } else {
                format!("{base}?{query}")
            }
        };
        let heading = match month {
            Some(m) => format!("{} — tháng {}/{}", source.name, m.month(), m.year()),
            None => source.name.clone(),
        };
        Ok(SourcePage {
            layout: Layout {
                title: heading.clone(),
                feeds: source_feeds(&state, &source),
                query: String::new(),
            },
            heading,
            all_href: with(None, None),
            section: section.clone().unwrap_or_default(),
            sections: source
                .sections
                .iter()
                .map(|s| SectionLink {
                    name: s.name.clone(),
                    href: with(Some(s.id.as_str()), None),
                    current: section.as_deref() == Some(s.id.as_str()),
                })
                .collect(),
            items: articles
                .iter()
                .map(|a| Item::of(&state, a, String::new()))
                .collect(),
            next: next
                .map(|c| with(section.as_deref(), Some(&c.encode())))
                .unwrap_or_default(),
            months: all_months,
        })
    }
    .await;
    match built {
        Ok(page) => render(&headers, StatusCode::OK, &page),
        Err(err) => failed(&state, &headers, err),
    }
}
