//! `/feeds/...`: RSS, Atom and JSON Feed per source and section, JSON Feed pages, RFC 5005
//! monthly archives (OPML is in `opml.rs`). Documents come from the [`FeedCache`](super::FeedCache); answers carry ETag (one per
//! content encoding), Last-Modified, Cache-Control and Vary, and conditional requests get 304.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, FixedOffset, Utc};

use super::conditional::{self, Encoding};
use super::feed_cache::{Document, Rendered};
use super::query::{self, Cursor, Params};
use super::{AppState, DEFAULT_FEED_ITEMS, months};
use crate::archive::Query as ArchiveQuery;
use crate::config::{Section, Source};
use crate::feed::{self, AssetFacts, Assets, FeedMeta, Format, History};
use crate::model::Archived;
use crate::server::ApiError;

/// Month archives: they should not change, but a backfill can find an older article late, so
/// they are revalidated by ETag once a day rather than marked immutable.
const ARCHIVE_CACHE: &str = "public, max-age=86400";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/feeds/{file}", get(source_feed))
        .route("/feeds/{source}/{file}", get(section_feed))
        .route("/feeds/{source}/archive/{file}", get(archive_feed))
}

fn split_file(file: &str) -> Result<(&str, Format), ApiError> {
    let (stem, ext) = file
        .rsplit_once('.')
        .ok_or_else(|| ApiError::NotFound(format!("feed {file:?}")))?;
    let format = Format::from_extension(ext)
        .ok_or_else(|| ApiError::NotFound(format!("feed format {ext:?}")))?;
    Ok((stem, format))
}

/// `limit`, and `before` (a page of older items), which only JSON Feed's `next_url` writes.
fn live_params(query: Option<&str>, format: Format) -> Result<(usize, Option<Cursor>), ApiError> {
    let allowed: &[&'static str] = if format == Format::Json {
        &["limit", "before"]
    } else {
        &["limit"]
    };
    let params = Params::parse(query, allowed)?;
    let limit = params.limit(DEFAULT_FEED_ITEMS)?;
    let before = params
        .get("before")
        .map(|text| Cursor::parse("before", text))
        .transpose()?;
    Ok((limit, before))
}

async fn source_feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (source_id, format) = split_file(&file)?;
    let saved = Params::parse(query.as_deref(), &["q", "limit", "before"])
        .ok()
        .and_then(|params| params.get("q").map(str::to_string));
    if let Some(text) = saved {
        return search_feed(state, source_id, format, query.as_deref(), &text, headers).await;
    }
    let (limit, before) = live_params(query.as_deref(), format)?;
    let source = state.source(source_id)?.clone();
    let key = Document::Source {
        source: source.id.to_string(),
        format,
        limit,
        before: before.clone(),
    };
    let worker_key = key.clone();
    serve(&state, &key, &headers, move |state| {
        let key = worker_key;
        let query = ArchiveQuery {
            source: Some(source.id.to_string()),
            ..ArchiveQuery::default()
        };
        let (items, next) = query::page(
            state.archive.blocking().as_ref(),
            query,
            before.as_ref(),
            limit,
        )?;
        let months = months::finished(state.archive.blocking().as_ref(), &source)?;
        let history = History {
            prev_archive: months
                .last()
                .map(|m| archive_url(state, &source, *m, format)),
            next_page: next_page(state, format, next, |before| Document::Source {
                source: source.id.to_string(),
                format,
                limit,
                before: Some(before),
            }),
            ..History::default()
        };
        let meta = meta(state, &source, None, &items, history, &key)?;
        Ok(document(format, &meta, &items, live(state)))
    })
    .await
}

/// `/feeds/{source}.{format}?q=`: a saved search as a feed, newest first.
async fn search_feed(
    state: AppState,
    source_id: &str,
    format: Format,
    query: Option<&str>,
    text: &str,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(query, &["q", "limit"])?;
    let limit = params.limit(DEFAULT_FEED_ITEMS)?;
    let source = state.source(source_id)?.clone();
    let text = super::search::saved_query(text)?;
    if state.search.get().is_none() {
        return Err(ApiError::Unavailable("search".into()));
    }
    let key = Document::Search {
        source: source.id.to_string(),
        query: text.clone(),
        format,
        limit,
    };
    let worker_key = key.clone();
    serve(&state, &key, &headers, move |state| {
        let request = crate::search::Request {
            text: text.clone(),
            source: Some(source.id.to_string()),
            limit,
            newest_first: true,
            ..crate::search::Request::default()
        };
        let found = super::search::blocking(state, &request)?;
        let items: Vec<Archived> = found.hits.into_iter().map(|hit| hit.archived).collect();
        let mut meta = meta(
            state,
            &source,
            None,
            &items,
            History::default(),
            &worker_key,
        )?;
        meta.title = format!("{} — tìm “{text}”", meta.title);
        Ok(document(format, &meta, &items, live(state)))
    })
    .await
}

async fn section_feed(
    State(state): State<AppState>,
    Path((source_id, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (section_id, format) = split_file(&file)?;
    let (limit, before) = live_params(query.as_deref(), format)?;
    let source = state.source(&source_id)?.clone();
    let section = source
        .section(section_id)
        .ok_or_else(|| ApiError::NotFound(format!("section {section_id:?} of {source_id:?}")))?
        .clone();
    let key = Document::Section {
        source: source.id.to_string(),
        section: section.id.to_string(),
        format,
        limit,
        before: before.clone(),
    };
    let worker_key = key.clone();
    serve(&state, &key, &headers, move |state| {
        let key = worker_key;
        let query = ArchiveQuery {
            source: Some(source.id.to_string()),
            section: Some(section.id.to_string()),
            ..ArchiveQuery::default()
        };
        let (items, next) = query::page(
            state.archive.blocking().as_ref(),
            query,
            before.as_ref(),
            limit,
        )?;
        let history = History {
            next_page: next_page(state, format, next, |before| Document::Section {
                source: source.id.to_string(),
                section: section.id.to_string(),
                format,
                limit,
                before: Some(before),
            }),
            ..History::default()
        };
        let meta = meta(state, &source, Some(&section), &items, history, &key)?;
        Ok(document(format, &meta, &items, live(state)))
    })
    .await
}

/// JSON Feed `next_url`: the same feed from after the last item, when there are older items.
fn next_page(
    state: &AppState,
    format: Format,
    next: Option<Cursor>,
    document: impl FnOnce(Cursor) -> Document,
) -> Option<url::Url> {
    let next = next.filter(|_| format == Format::Json)?;
    Some(state.public(&document(next).path()))
}

async fn archive_feed(
    State(state): State<AppState>,
    Path((source_id, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    let (month_text, format) = split_file(&file)?;
    let source = state.source(&source_id)?.clone();
    let month = months::parse(month_text)
        .ok_or_else(|| ApiError::NotFound(format!("archive {month_text:?}: expected YYYY-MM")))?;
    let key = Document::Archive {
        source: source.id.to_string(),
        month,
        format,
    };
    let worker_key = key.clone();
    serve(&state, &key, &headers, move |state| {
        let key = worker_key;
        let months = months::finished(state.archive.blocking().as_ref(), &source)?;
        let Some(at) = months.iter().position(|m| *m == month) else {
            return Err(ApiError::NotFound(format!(
                "archive {} of {} (no articles, or the month has not ended)",
                month.format("%Y-%m"),
                source.id
            )));
        };
        let (since, until) = months::bounds(source.tz(), month);
        let query = ArchiveQuery {
            source: Some(source.id.to_string()),
            since: Some(since),
            until: Some(until),
            ..ArchiveQuery::default()
        };
        let items = state.archive.blocking().articles(&query)?;
        let prev_archive = at
            .checked_sub(1)
            .map(|i| archive_url(state, &source, months[i], format));
        let history = History {
            archive: true,
            current: Some(state.public(&format!("/feeds/{}.{}", source.id, format.extension()))),
            // JSON Feed has no archive links: its `next_url` leads on to the older month.
            next_page: prev_archive.clone().filter(|_| format == Format::Json),
            prev_archive,
            next_archive: months
                .get(at + 1)
                .map(|m| archive_url(state, &source, *m, format)),
        };
        let mut meta = meta(state, &source, None, &items, history, &key)?;
        meta.title = format!("{} — {}", meta.title, month.format("%m/%Y"));
        meta.feed_key = format!("{}/archive/{}", source.id, month.format("%Y-%m"));
        Ok(document(format, &meta, &items, ARCHIVE_CACHE.to_string()))
    })
    .await
}

/// The newest change of a source: its live feed's newest entry (or withdrawal), else its last
/// finished crawl.
pub(super) fn last_change(
    state: &AppState,
    source: &Source,
) -> Result<Option<DateTime<FixedOffset>>, ApiError> {
    let items = state.archive.blocking().articles(&ArchiveQuery {
        source: Some(source.id.to_string()),
        limit: Some(DEFAULT_FEED_ITEMS),
        ..ArchiveQuery::default()
    })?;
    if let Some(newest) = feed::newest_change(&items, true) {
        return Ok(Some(newest));
    }
    let runs = state.archive.blocking().runs(source.id.as_str(), 1)?;
    Ok(runs.first().and_then(|run| run.finished))
}

pub(super) fn live(state: &AppState) -> String {
    format!(
        "public, max-age={}",
        u64::from(state.config.server.feed_ttl_minutes) * 60
    )
}

fn document(
    format: Format,
    meta: &FeedMeta,
    items: &[Archived],
    cache_control: String,
) -> Rendered {
    Rendered::new(
        format.render(meta, items),
        meta.updated,
        format.content_type(),
        cache_control,
        format.extension(),
    )
}

/// What a document says about itself, with what the archive knows of the files its items link.
///
/// `updated` is the newest change of the items; a document without items takes its source's
/// newest change, so that no date is made up from the clock or the epoch while there is one.
fn meta(
    state: &AppState,
    source: &Source,
    section: Option<&Section>,
    items: &[Archived],
    history: History,
    key: &Document,
) -> Result<FeedMeta, ApiError> {
    let tz = source.tz();
    let updated = match feed::newest_change(items, !history.archive) {
        Some(newest) => newest,
        None => last_change(state, source)?
            .unwrap_or_else(|| DateTime::<Utc>::UNIX_EPOCH.fixed_offset()),
    }
    .with_timezone(&tz)
    .fixed_offset();
    let (title, home_page, feed_key) = match section {
        Some(section) => (
            format!("{} — {}", source.name, section.name),
            source.list_url(section),
            format!("{}/{}", source.id, section.id),
        ),
        None => (
            source.name.clone(),
            source.base_url().clone(),
            source.id.to_string(),
        ),
    };
    Ok(FeedMeta {
        description: format!("Tin bài của {title}, do gazette thu thập"),
        title,
        language: source.language.clone(),
        home_page,
        self_url: state.public(&key.path()),
        tag_authority: source
            .base_url()
            .host_str()
            .unwrap_or("gazette.invalid")
            .to_string(),
        feed_key,
        author: source.name.clone(),
        updated,
        ttl_minutes: state.config.server.feed_ttl_minutes,
        zone: tz,
        history,
        hubs: state.hubs.clone(),
        assets: assets(state, items)?,
    })
}

/// The captured facts (type, length) of the files `items` link, looked up in the archive's index.
fn assets(state: &AppState, items: &[Archived]) -> Result<Assets, ApiError> {
    let mut assets = Assets::new();
    for url in feed::linked_files(items) {
        if assets.contains_key(url) {
            continue;
        }
        if let Some(info) = state.archive.blocking().asset(url)? {
            assets.insert(
                url.to_string(),
                AssetFacts {
                    mime_type: info.mime_type,
                    length: info.length,
                },
            );
        }
    }
    Ok(assets)
}

fn archive_url(
    state: &AppState,
    source: &Source,
    month: chrono::NaiveDate,
    format: Format,
) -> url::Url {
    let key = Document::Archive {
        source: source.id.to_string(),
        month,
        format,
    };
    state.public(&key.path())
}

/// The WebSub discovery header (W3C WebSub §4): every hub, then the document's own URL as
/// `rel="self"`, the same URL its body names; `None` without hubs.
fn websub_links(state: &AppState, key: &Document) -> Option<String> {
    // A list of feeds is no topic.
    if state.hubs.is_empty() || matches!(key, Document::Opml { .. } | Document::Diff { .. }) {
        return None;
    }
    let mut links: Vec<String> = state
        .hubs
        .iter()
        .map(|hub| format!("<{hub}>; rel=\"hub\""))
        .collect();
    links.push(format!("<{}>; rel=\"self\"", state.public(&key.path())));
    Some(links.join(", "))
}

/// Answers from the cache, rendering on a miss; a 304 needs no compressed form.
pub(super) async fn serve<F>(
    state: &AppState,
    key: &Document,
    headers: &HeaderMap,
    build: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(&AppState) -> Result<Rendered, ApiError> + Send + 'static,
{
    let worker = state.clone();
    let cached = state.cache.document(key, move || build(&worker)).await?;
    let rendered = &cached.rendered;
    let encoding = Encoding::negotiate(headers);
    let etag = encoding.etag(&rendered.tag);
    let not_modified = conditional::not_modified(headers, &etag, rendered.last_modified);
    crate::metrics::METRICS.feed_request(rendered.kind, not_modified);
    let mut out = HeaderMap::new();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            out.insert(name, value);
        }
    };
    set(header::ETAG, &etag);
    set(
        header::LAST_MODIFIED,
        &httpdate::fmt_http_date(rendered.last_modified),
    );
    set(header::CACHE_CONTROL, &rendered.cache_control);
    set(header::VARY, "Accept-Encoding");
    if let Some(links) = websub_links(state, key) {
        set(header::LINK, &links);
    }
    if not_modified {
        return Ok(conditional::not_modified_response(out));
    }
    set(header::CONTENT_TYPE, rendered.content_type);
    if let Some(token) = encoding.token() {
        set(header::CONTENT_ENCODING, token);
    }
    let body = state.cache.encoded(key, &cached, encoding).await?;
    Ok((StatusCode::OK, out, body).into_response())
}
