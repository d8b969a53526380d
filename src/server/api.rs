//! `/api/...`: sources, articles with cursor paging, revisions, captured pages, and starting a
//! crawl (admin); the export (admin) is in `export.rs`. Captured pages are the portal's bytes, so they are served sandboxed.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use serde_json::{Value, json};

use super::AppState;
use super::memento::Captures;
use super::query::{self, Cursor, Params, Scope};
use crate::archive::Query as ArchiveQuery;
use crate::feed::Format;
use crate::model::{Archived, ArticleId, Capture, Revision};
use crate::server::ApiError;

/// Articles in a page of `/api/articles` when `limit` is not given.
pub const DEFAULT_PAGE: usize = 50;

/// What a captured page may do when opened: nothing of its own runs, nothing is fetched but
/// images and styles, and it gets a unique origin (`sandbox`), not gazette's.
pub(super) const CAPTURE_POLICY: &str =
    "sandbox; default-src 'none'; img-src * data:; style-src * 'unsafe-inline'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sources", get(sources))
        .route("/api/articles", get(articles))
        .route("/api/articles/{id}", get(article))
        .route("/api/articles/{id}/revisions", get(revisions))
        .route("/api/articles/{id}/revisions/{n}", get(revision))
        .route("/api/articles/{id}/raw", get(raw))
        .route("/api/sources/{id}/crawl", post(crawl))
}

async fn sources(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    let status = state.status.snapshot();
    let feeds = |path: String| {
        let urls: serde_json::Map<String, Value> = Format::ALL
            .into_iter()
            .map(|format| {
                let url = state.public(&format!("{path}.{}", format.extension()));
                (format.extension().to_string(), json!(url))
            })
            .collect();
        Value::Object(urls)
    };
    let list: Vec<Value> = state
        .config
        .sources
        .iter()
        .map(|source| {
            json!({
                "id": source.id.as_str(),
                "name": source.name,
                "base_url": source.base_url(),
                "language": source.language,
                "timezone": source.tz().name(),
                "schedule": source.schedule.as_str(),
                "feeds": feeds(format!("/feeds/{}", source.id)),
                "sections": source.sections.iter().map(|section| json!({
                    "id": section.id.as_str(),
                    "name": section.name,
                    "list_url": source.list_url(section),
                    "feeds": feeds(format!("/feeds/{}/{}", source.id, section.id)),
                })).collect::<Vec<_>>(),
                "status": status.get(source.id.as_str()),
                "health": super::health::source_health(status.get(source.id.as_str())),
            })
        })
        .collect();
    Ok(Json(json!({ "sources": list })))
}

#[derive(Debug, Serialize)]
struct ArticlesPage {
    articles: Vec<Archived>,
    next_cursor: Option<String>,
}

fn parse_date(
    param: &'static str,
    text: &str,
    tz: chrono_tz::Tz,
    end_of_day: bool,
) -> Result<DateTime<FixedOffset>, ApiError> {
    crate::normalize::date::parse_bound(text, tz, end_of_day)
        .map_err(|detail| ApiError::bad(param, detail))
}

async fn articles(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<ArticlesPage>, ApiError> {
    let params = Params::parse(
        query.as_deref(),
        &["source", "section", "since", "until", "limit", "cursor"],
    )?;
    let scope = Scope::of(&state, &params)?;
    let tz = scope.tz;
    let since = params
        .get("since")
        .map(|d| parse_date("since", d, tz, false))
        .transpose()?;
    let until = params
        .get("until")
        .map(|d| parse_date("until", d, tz, true))
        .transpose()?;
    let limit = params.limit(DEFAULT_PAGE)?;
    let cursor = params
        .get("cursor")
        .map(|text| Cursor::parse("cursor", text))
        .transpose()?;
    let query = ArchiveQuery {
        source: scope.source.map(|s| s.id.to_string()),
        section: scope.section.map(str::to_string),
        since,
        until,
        limit: None,
    };
    let (articles, next) = state
        .blocking(move |state| {
            query::page(
                state.archive.blocking().as_ref(),
                query,
                cursor.as_ref(),
                limit,
            )
        })
        .await?;
    let next_cursor = next.map(|c| c.encode());
    Ok(Json(ArticlesPage {
        articles,
        next_cursor,
    }))
}

async fn article(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    state
        .blocking(move |state| article_of(state, ArticleId(id)))
        .await
        .map(Json)
}

/// An article with its revisions and captured files, as `/api/articles/{id}` gives it.
fn article_of(state: &AppState, id: ArticleId) -> Result<Value, ApiError> {
    let archive = state.archive.blocking();
    let archived = archive
        .article(&id)?
        .ok_or_else(|| ApiError::NotFound(format!("article {id}")))?;
    let revisions: Vec<Value> = archive
        .revisions(&id)?
        .into_iter()
        .map(|r| {
            json!({
                "number": r.number,
                "fetched_at": r.fetched_at,
                "cause": r.cause,
                "content_hash": r.article.content_hash,
                "title": r.article.title,
                "url": state.public(&format!("/api/articles/{id}/revisions/{}", r.number)),
                "raw_url": state.public(&format!("/api/articles/{id}/raw?rev={}", r.number)),
            })
        })
        .collect();
    let assets = captured_assets(state, &archived.article)?;
    Ok(json!({ "article": archived, "revisions": revisions, "assets": assets }))
}

/// What is captured of the article's attachments and images, with where to download each.
fn captured_assets(
    state: &AppState,
    article: &crate::model::Article,
) -> Result<Vec<Value>, ApiError> {
    let linked = article
        .attachments
        .iter()
        .map(|a| &a.url)
        .chain(article.images.iter().map(|i| &i.url));
    let mut assets = Vec::new();
    for url in linked {
        if let Some(info) = state.archive.blocking().asset(url)? {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("url", url)
                .finish();
            let mut value = serde_json::to_value(&info).unwrap_or(Value::Null);
            value["download_url"] = json!(state.public(&format!("/api/assets?{query}")));
            assets.push(value);
        }
    }
    Ok(assets)
}

/// Every revision of an article, whole, oldest first: what `gazette show --revisions` prints.
async fn revisions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<Revision>>, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    let id = ArticleId(id);
    let revisions = state
        .blocking(move |state| {
            let archive = state.archive.blocking();
            if archive.article(&id)?.is_none() {
                return Err(ApiError::NotFound(format!("article {id}")));
            }
            Ok(archive.revisions(&id)?)
        })
        .await?;
    Ok(Json(revisions))
}

fn revision_number(param: &'static str, text: &str) -> Result<u32, ApiError> {
    text.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
        ApiError::bad(
            param,
            format!("expected a revision number from 1, got {text:?}"),
        )
    })
}

async fn revision(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    let number = revision_number("n", &n)?;
    let id = ArticleId(id);
    let revisions = state
        .archive
        .run({
            let id = id.clone();
            move |archive| archive.revisions(&id)
        })
        .await?;
    let revision = revisions
        .into_iter()
        .find(|r| r.number == number)
        .ok_or_else(|| ApiError::NotFound(format!("revision {number} of article {id}")))?;
    Ok(Json(serde_json::to_value(revision).unwrap_or(Value::Null)))
}

async fn raw(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &["rev"])?;
    let id = ArticleId(id);
    let asked = params
        .get("rev")
        .map(|text| revision_number("rev", text))
        .transpose()?;
    // Never closed.
    let _turn = state.downloads.acquire().await.ok();
    let (number, capture, memento_headers) = state
        .blocking({
            let id = id.clone();
            move |state| {
                let archive = state.archive.blocking();
                let archived = archive
                    .article(&id)?
                    .ok_or_else(|| ApiError::NotFound(format!("article {id}")))?;
                let number = asked.unwrap_or(archived.revisions);
                let capture = archive.capture(&id, number)?.ok_or_else(|| {
                    ApiError::NotFound(format!("capture of revision {number} of article {id}"))
                })?;
                // The capture is a memento of the article's URL (RFC 7089): say so, and where
                // its TimeGate and TimeMap are.
                let captures = Captures::of_article(archive.as_ref(), &archived.article.url, &id)?;
                let headers = captures
                    .map(|captures| captures.revision_headers(state, number))
                    .unwrap_or_default();
                Ok((number, capture, headers))
            }
        })
        .await?;
    let mut response = captured_page(capture, &format!("{id}-r{number}"));
    response.headers_mut().extend(memento_headers);
    Ok(response)
}

/// A captured page as an answer: its bytes and its own media type, sandboxed (see
/// [`captured_headers`]), offered inline as `{stem}.{extension of its type}`.
pub(super) fn captured_page(capture: Capture, stem: &str) -> Response {
    let content_type = capture
        .content_type()
        .unwrap_or("application/octet-stream")
        .to_string();
    let disposition = format!(
        "inline; filename=\"{}.{}\"",
        safe_file_name(stem),
        extension_of(&content_type)
    );
    let headers = captured_headers(&content_type, &disposition);
    (StatusCode::OK, headers, capture.body).into_response()
}

/// The headers of bytes captured from the portal: their own media type, sandboxed, never
/// sniffed (nosniff is on every answer), offered under a file name.
pub(super) fn captured_headers(content_type: &str, disposition: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CAPTURE_POLICY),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if let Ok(value) = HeaderValue::from_str(disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers
}

/// Text as a file name: letters, digits, `-`, `_` and `.` kept, anything else `_`.
pub(super) fn safe_file_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The file extension of a captured page's media type.
fn extension_of(content_type: &str) -> &'static str {
    let essence = crate::fetch::media_type(content_type);
    match essence.as_str() {
        "text/html" => "html",
        "application/xhtml+xml" => "xhtml",
        "text/plain" => "txt",
        "application/xml" | "text/xml" => "xml",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}

async fn crawl(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let source = state.source(&id)?;
    let started = state
        .crawl
        .as_ref()
        .is_some_and(|start| start(source.id.as_str()));
    if !started {
        return Err(ApiError::Busy(source.id.to_string()));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "started": true, "source": source.id.as_str() })),
    )
        .into_response())
}

/// Admits a request with the admin bearer token; without a configured token the admin
/// endpoints do not exist (404).
pub(super) fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &state.admin_token else {
        return Err(ApiError::NotFound(
            "this endpoint (no admin token is configured)".into(),
        ));
    };
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme's name is case-insensitive (RFC 9110, 11.1).
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token);
    if !offered.is_some_and(|offered| constant_time_eq(offered.trim().as_bytes(), token.as_bytes()))
    {
        return Err(ApiError::Unauthorized);
    }
    Ok(())
}

/// Compares secrets without an early exit that would time how much of them matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
