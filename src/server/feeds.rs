//! `/feeds/...`: RSS, Atom and JSON Feed per source and section, RFC 5005 monthly archives, and
//! OPML. Documents come from the [`FeedCache`](super::FeedCache); answers carry ETag (one per
//! content encoding), Last-Modified, Cache-Control and Vary, and conditional requests get 304.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, FixedOffset, Utc};

use super::conditional::{self, Encoding};
use super::feed_cache::{Document, Rendered};
use super::query::Params;
use super::{AppState, DEFAULT_FEED_ITEMS, months};
use crate::archive::Query as ArchiveQuery;
use crate::config::{Section, Source};
use crate::feed::{self, FeedMeta, Format, History, OpmlFeed};
use crate::model::Archived;
use crate::server::ApiError;

/// A year, for documents that never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/feeds.opml", get(opml))
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

async fn source_feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let limit = Params::parse(query.as_deref(), &["limit"])?.limit(DEFAULT_FEED_ITEMS)?;
    let (source_id, format) = split_file(&file)?;
    let source = state.source(source_id)?.clone();
    let key = Document::Source {
        source: source.id.to_string(),
        format,
        limit,
    };
    let self_path = key.path();
    serve(&state, &key, &headers, move |state| {
        let items = state.archive.articles(&ArchiveQuery {
            source: Some(source.id.to_string()),
            limit: Some(limit),
            ..ArchiveQuery::default()
        })?;
        let months = months::finished(state.archive.as_ref(), &source)?;
        let history = History {
            prev_archive: months
                .last()
                .map(|m| archive_url(state, &source, *m, format)),
            ..History::default()
        };
        let meta = meta(
            state,
            &source,
            None,
            &items,
            history,
            state.public(&self_path),
        );
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
    let limit = Params::parse(query.as_deref(), &["limit"])?.limit(DEFAULT_FEED_ITEMS)?;
    let (section_id, format) = split_file(&file)?;
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
    };
    let self_path = key.path();
    serve(&state, &key, &headers, move |state| {
        let query = ArchiveQuery {
            source: Some(source.id.to_string()),
            section: Some(section.id.to_string()),
            limit: Some(limit),
            ..ArchiveQuery::default()
        };
        let items = state.archive.articles(&query)?;
        let meta = meta(
            state,
            &source,
            Some(&section),
            &items,
            History::default(),
            state.public(&self_path),
        );
        Ok(document(format, &meta, &items, live(state)))
    })
    .await
}

async fn archive_feed(
    State(state): State<AppState>,
    Path((source_id, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    let (month_text, format) = split_file(&file)?;
    if format == Format::Json {
        return Err(ApiError::NotFound(
            "JSON Feed archives (archives are Atom and RSS)".into(),
        ));
    }
    let source = state.source(&source_id)?.clone();
    let month = months::parse(month_text)
        .ok_or_else(|| ApiError::NotFound(format!("archive {month_text:?}: expected YYYY-MM")))?;
    let key = Document::Archive {
        source: source.id.to_string(),
        month,
        format,
    };
    let self_path = key.path();
    serve(&state, &key, &headers, move |state| {
        let months = months::finished(state.archive.as_ref(), &source)?;
        let Some(at) = months.iter().position(|m| *m == month) else {
            return Err(ApiError::NotFound(format!(
                "archive {} of {} (no articles, or the month has not ended)",
                month.format("%Y-%m"),
                source.id
            )));
        };
        let tz = source.tz();
        let query = ArchiveQuery {
            source: Some(source.id.to_string()),
            since: Some(months::start(tz, month)),
            until: Some(months::end(tz, month) - chrono::Duration::seconds(1)),
            ..ArchiveQuery::default()
        };
        let items = state.archive.articles(&query)?;
        let history = History {
            archive: true,
            current: Some(state.public(&format!("/feeds/{}.{}", source.id, format.extension()))),
            prev_archive: at
                .checked_sub(1)
                .map(|i| archive_url(state, &source, months[i], format)),
            next_archive: months
                .get(at + 1)
                .map(|m| archive_url(state, &source, *m, format)),
        };
        let self_url = state.public(&self_path);
        let mut meta = meta(state, &source, None, &items, history, self_url);
        meta.title = format!("{} — {}", meta.title, month.format("%m/%Y"));
        meta.feed_key = format!("{}/archive/{}", source.id, month.format("%Y-%m"));
        Ok(document(format, &meta, &items, IMMUTABLE.to_string()))
    })
    .await
}

async fn opml(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Params::parse(query.as_deref(), &[])?;
    serve(&state, &Document::Opml, &headers, |state| {
        let mut feeds = Vec::new();
        for source in &state.config.sources {
            for format in Format::ALL {
                feeds.push(OpmlFeed {
                    title: format!("{} ({})", source.name, format.name()),
                    xml_url: state.public(&format!("/feeds/{}.{}", source.id, format.extension())),
                    html_url: source.base_url().clone(),
                    format,
                });
                for section in &source.sections {
                    feeds.push(OpmlFeed {
                        title: format!("{} — {} ({})", source.name, section.name, format.name()),
                        xml_url: state.public(&format!(
                            "/feeds/{}/{}.{}",
                            source.id,
                            section.id,
                            format.extension()
                        )),
                        html_url: source.list_url(section),
                        format,
                    });
                }
            }
        }
        let epoch = DateTime::<FixedOffset>::from(DateTime::<Utc>::UNIX_EPOCH);
        let body = feed::opml("gazette feeds", &feeds, epoch);
        Ok(Rendered::new(
            body,
            epoch,
            "text/x-opml; charset=utf-8",
            live(state),
            "opml",
        ))
    })
    .await
}

fn live(state: &AppState) -> String {
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

fn meta(
    state: &AppState,
    source: &Source,
    section: Option<&Section>,
    items: &[Archived],
    history: History,
    self_url: url::Url,
) -> FeedMeta {
    let tz = source.tz();
    let epoch = DateTime::<Utc>::UNIX_EPOCH
        .with_timezone(&tz)
        .fixed_offset();
    let updated = items
        .iter()
        .map(|a| a.updated)
        .max()
        .map_or(epoch, |u| u.with_timezone(&tz).fixed_offset());
    let (title, home_page, key) = match section {
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
    FeedMeta {
        description: format!("Tin bài của {title}, do gazette thu thập"),
        title,
        language: source.language.clone(),
        home_page,
        self_url,
        tag_authority: source
            .base_url()
            .host_str()
            .unwrap_or("gazette.invalid")
            .to_string(),
        feed_key: key,
        author: source.name.clone(),
        updated,
        ttl_minutes: state.config.server.feed_ttl_minutes,
        zone: tz,
        history,
    }
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

/// Answers from the cache, rendering on a miss; a 304 needs no compressed form.
async fn serve<F>(
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
