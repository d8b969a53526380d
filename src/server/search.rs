//! `/api/search`: full-text search with filters and a cursor; the reader's `/search` page and
//! the saved-search feeds (`?q=`) read their parameters the same way.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::query::{Params, Scope};
use super::{ApiError, AppState};
use crate::search::{Found, Hit, Ranking, Request, SearchCursor, SearchError};

/// Results in a page when `limit` is not given.
pub const DEFAULT_RESULTS: usize = 20;
/// The longest query text accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 512;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/search", get(search))
}

/// What `/api/search` answers.
#[derive(Debug, Serialize)]
struct Results {
    results: Vec<Hit>,
    next_cursor: Option<String>,
}

/// The parameters `/api/search` and `/search` take.
pub const PARAMETERS: &[&str] = &[
    "q", "source", "section", "since", "until", "limit", "cursor", "order",
];

/// The search `params` ask for (`q` required), checked against the config.
pub fn request(state: &AppState, params: &Params) -> Result<Request, ApiError> {
    let text = params
        .get("q")
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::bad("q", "give the words to search for"))?;
    if text.len() > MAX_QUERY_BYTES {
        return Err(ApiError::bad(
            "q",
            format!("longer than {MAX_QUERY_BYTES} bytes"),
        ));
    }
    let Scope {
        source,
        section,
        tz,
    } = Scope::of(state, params)?;
    let date = |param: &'static str, end: bool| {
        params
            .get(param)
            .filter(|d| !d.is_empty())
            .map(|d| {
                crate::normalize::date::parse_bound(d, tz, end)
                    .map_err(|detail| ApiError::bad(param, detail))
            })
            .transpose()
    };
    let newest_first = match params.get("order") {
        None | Some("" | "relevance") => false,
        Some("newest") => true,
        Some(other) => {
            return Err(ApiError::bad(
                "order",
                format!("expected relevance or newest, got {other:?}"),
            ));
        }
    };
    let cursor = params
        .get("cursor")
        .map(|c| {
            SearchCursor::parse(c)
                .map_err(|_| ApiError::bad("cursor", "not a cursor this server gave out"))
        })
        .transpose()?;
    Ok(Request {
        text: text.to_string(),
        source: source.map(|s| s.id.to_string()),
        section: section.map(str::to_string),
        since: date("since", false)?,
        until: date("until", true)?,
        limit: params.limit(DEFAULT_RESULTS)?,
        newest_first,
        cursor,
        ranking: Ranking::Pairs,
    })
}

/// Runs `request` off the async workers.
pub async fn run(state: &AppState, request: Request) -> Result<Found, ApiError> {
    state.blocking(move |state| blocking(state, &request)).await
}

/// Runs `request` on this thread (a blocking one).
pub fn blocking(state: &AppState, request: &Request) -> Result<Found, ApiError> {
    let search = state
        .search
        .get()
        .ok_or_else(|| ApiError::Unavailable("search".into()))?;
    search
        .search(state.archive.blocking().as_ref(), request)
        .map_err(|err| match err {
            SearchError::Query(err) => ApiError::bad("q", err.to_string()),
            SearchError::Cursor => ApiError::bad("cursor", "not a cursor this server gave out"),
            SearchError::Archive(err) => ApiError::Archive(err),
            other => {
                tracing::error!(error = %crate::search::chain(&other), "search failed");
                ApiError::Unavailable("search".into())
            }
        })
}

/// A saved search's query as one cache key: NFC, spaces collapsed, within [`MAX_QUERY_BYTES`].
pub fn saved_query(text: &str) -> Result<String, ApiError> {
    let text = crate::search::analysis::nfc(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if text.is_empty() {
        return Err(ApiError::bad("q", "give the words to search for"));
    }
    if text.len() > MAX_QUERY_BYTES {
        return Err(ApiError::bad(
            "q",
            format!("longer than {MAX_QUERY_BYTES} bytes"),
        ));
    }
    crate::search::query::parse(&text).map_err(|err| ApiError::bad("q", err.to_string()))?;
    Ok(text)
}

async fn search(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Results>, ApiError> {
    let params = Params::parse(query.as_deref(), PARAMETERS)?;
    let request = request(&state, &params)?;
    let found = run(&state, request).await?;
    Ok(Json(Results {
        results: found.hits,
        next_cursor: found.next.map(|c| c.encode()),
    }))
}
