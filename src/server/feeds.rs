//! `/feeds/...`: RSS, Atom and JSON Feed per source and section, RFC 5005 monthly archives, and
//! OPML. Rendered documents are cached until the archive changes; answers carry ETag (one per
//! content encoding), Last-Modified, Cache-Control and Vary, and conditional requests get 304.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};
use sha2::{Digest, Sha256};

use super::{AppState, DEFAULT_FEED_ITEMS, MAX_FEED_ITEMS};
use crate::archive::Query as ArchiveQuery;
use crate::config::Source;
use crate::feed::{self, FeedMeta, History, OpmlFeed};
use crate::model::Archived;
use crate::server::ApiError;

/// A year, for documents that never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The feed formats and what they are served as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    fn from_extension(ext: &str) -> Option<Format> {
        match ext {
            "rss" => Some(Format::Rss),
            "atom" => Some(Format::Atom),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }

    fn render(self, meta: &FeedMeta, items: &[Archived]) -> Vec<u8> {
        match self {
            Format::Rss => feed::rss(meta, items),
            Format::Atom => feed::atom(meta, items),
            Format::Json => feed::json(meta, items),
        }
    }
}

/// A rendered document with its validators; compressed forms are made on first request.
pub struct Rendered {
    body: Vec<u8>,
    gzip: OnceLock<Vec<u8>>,
    brotli: OnceLock<Vec<u8>>,
    tag: String,
    last_modified: SystemTime,
    content_type: &'static str,
    cache_control: String,
    format: &'static str,
}

impl Rendered {
    fn new(
        body: Vec<u8>,
        last_modified: DateTime<FixedOffset>,
        content_type: &'static str,
        cache_control: String,
        format: &'static str,
    ) -> Rendered {
        let tag = hex::encode(&Sha256::digest(&body)[..8]);
        Rendered {
            body,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
            tag,
            last_modified: SystemTime::from(last_modified.with_timezone(&Utc)),
            content_type,
            cache_control,
            format,
        }
    }
}

/// Rendered feeds by request path and query, dropped whenever the archive changes.
#[derive(Default)]
pub struct FeedCache {
    entries: RwLock<HashMap<String, Arc<Rendered>>>,
}

impl FeedCache {
    /// Forgets every rendered document (after a crawl run).
    pub fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn get(&self, key: &str) -> Option<Arc<Rendered>> {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    fn put(&self, key: String, rendered: Arc<Rendered>) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, rendered);
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/feeds.opml", get(opml))
        .route("/feeds/{file}", get(source_feed))
        .route("/feeds/{source}/{file}", get(section_feed))
        .route("/feeds/{source}/archive/{file}", get(archive_feed))
}

#[derive(Debug, serde::Deserialize)]
struct FeedParams {
    limit: Option<String>,
}

fn split_file(file: &str) -> Result<(&str, Format), ApiError> {
    let (stem, ext) = file
        .rsplit_once('.')
        .ok_or_else(|| ApiError::NotFound(format!("feed {file:?}")))?;
    let format = Format::from_extension(ext)
        .ok_or_else(|| ApiError::NotFound(format!("feed format {ext:?}")))?;
    Ok((stem, format))
}

fn limit(params: &FeedParams) -> Result<usize, ApiError> {
    match params.limit.as_deref() {
        None => Ok(DEFAULT_FEED_ITEMS),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_FEED_ITEMS).contains(&n) => Ok(n),
            _ => Err(ApiError::bad(
                "limit",
                format!("expected a whole number from 1 to {MAX_FEED_ITEMS}, got {text:?}"),
            )),
        },
    }
}

async fn source_feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(params): Query<FeedParams>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (source_id, format) = split_file(&file)?;
    let source = state.source(source_id)?.clone();
    let limit = limit(&params)?;
    let self_path = path_of(&uri);
    serve(&state, &uri, &headers, move |state| {
        let items = state.archive.articles(&ArchiveQuery {
            source: Some(source.id.to_string()),
            limit: Some(limit),
            ..ArchiveQuery::default()
        })?;
        let months = finished_months(state, &source)?;
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
    Query(params): Query<FeedParams>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (section_id, format) = split_file(&file)?;
    let source = state.source(&source_id)?.clone();
    let section = source
        .section(section_id)
        .ok_or_else(|| ApiError::NotFound(format!("section {section_id:?} of {source_id:?}")))?
        .clone();
    let limit = limit(&params)?;
    let self_path = path_of(&uri);
    serve(&state, &uri, &headers, move |state| {
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
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (month_text, format) = split_file(&file)?;
    let month_text = month_text.to_string();
    if format == Format::Json {
        return Err(ApiError::NotFound(
            "JSON Feed archives (archives are Atom and RSS)".into(),
        ));
    }
    let source = state.source(&source_id)?.clone();
    let month = NaiveDate::parse_from_str(&format!("{month_text}-01"), "%Y-%m-%d")
        .map_err(|_| ApiError::NotFound(format!("archive {month_text:?}: expected YYYY-MM")))?;
    let self_path = path_of(&uri);
    serve(&state, &uri, &headers, move |state| {
        let months = finished_months(state, &source)?;
        let Some(at) = months.iter().position(|m| *m == month) else {
            return Err(ApiError::NotFound(format!(
                "archive {month_text} of {} (no articles, or the month has not ended)",
                source.id
            )));
        };
        let tz = source.tz();
        let start = local_midnight(tz, month);
        let end = local_midnight(tz, next_month(month));
        let query = ArchiveQuery {
            source: Some(source.id.to_string()),
            since: Some(start),
            until: Some(end - chrono::Duration::seconds(1)),
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
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(&state, &uri, &headers, |state| {
        let mut feeds = Vec::new();
        for source in &state.config.sources {
            for format in [Format::Rss, Format::Atom, Format::Json] {
                feeds.push(OpmlFeed {
                    title: format!("{} ({})", source.name, format_name(format)),
                    xml_url: state.public(&format!("/feeds/{}.{}", source.id, format.extension())),
                    html_url: source.base_url().clone(),
                    kind: format.extension(),
                });
                for section in &source.sections {
                    feeds.push(OpmlFeed {
                        title: format!(
                            "{} — {} ({})",
                            source.name,
                            section.name,
                            format_name(format)
                        ),
                        xml_url: state.public(&format!(
                            "/feeds/{}/{}.{}",
                            source.id,
                            section.id,
                            format.extension()
                        )),
                        html_url: source.list_url(section),
                        kind: format.extension(),
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

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Rss => "RSS",
        Format::Atom => "Atom",
        Format::Json => "JSON Feed",
    }
}

fn live(state: &AppState) -> String {
    format!(
        "public, max-age={}",
        u64::from(state.config.server.feed_ttl_minutes) * 60
    )
}

fn path_of(uri: &Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_string(), |pq| pq.as_str().to_string())
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
    section: Option<&crate::config::Section>,
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

/// Months that have articles and have ended in the source's zone, oldest first: one index
/// seek a month, whatever the archive holds.
fn finished_months(state: &AppState, source: &Source) -> Result<Vec<NaiveDate>, ApiError> {
    let tz = source.tz();
    let now = Utc::now().with_timezone(&tz);
    let mut month = NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap_or_default();
    let mut months = Vec::new();
    while let Some(newest) = state
        .archive
        .newest_before(source.id.as_str(), local_midnight(tz, month))?
    {
        let local = newest.with_timezone(&tz);
        month = NaiveDate::from_ymd_opt(local.year(), local.month(), 1).unwrap_or_default();
        months.push(month);
    }
    months.reverse();
    Ok(months)
}

fn archive_url(state: &AppState, source: &Source, month: NaiveDate, format: Format) -> url::Url {
    state.public(&format!(
        "/feeds/{}/archive/{}.{}",
        source.id,
        month.format("%Y-%m"),
        format.extension()
    ))
}

fn next_month(month: NaiveDate) -> NaiveDate {
    month
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(month)
}

fn local_midnight(tz: chrono_tz::Tz, day: NaiveDate) -> DateTime<FixedOffset> {
    let naive = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&naive).earliest().map_or_else(
        || Utc.from_utc_datetime(&naive).fixed_offset(),
        |t| t.fixed_offset(),
    )
}

/// Answers from the cache, rendering (off the async threads) on a miss.
async fn serve<F>(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    build: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(&AppState) -> Result<Rendered, ApiError> + Send + 'static,
{
    let key = path_of(uri);
    let rendered = match state.cache.get(&key) {
        Some(rendered) => rendered,
        None => {
            let worker = state.clone();
            let rendered = tokio::task::spawn_blocking(move || build(&worker))
                .await
                .map_err(|err| {
                    ApiError::Archive(crate::archive::ArchiveError::Storage(format!(
                        "rendering stopped: {err}"
                    )))
                })??;
            let rendered = Arc::new(rendered);
            state.cache.put(key, rendered.clone());
            rendered
        }
    };
    Ok(respond(&rendered, headers))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

/// The best encoding the client accepts: brotli, then gzip, then none.
fn negotiate(headers: &HeaderMap) -> Encoding {
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let accepts = |name: &str| {
        accept.split(',').any(|part| {
            let mut pieces = part.split(';');
            let coding = pieces.next().unwrap_or_default().trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            coding.eq_ignore_ascii_case(name) && q > 0.0
        })
    };
    if accepts("br") {
        Encoding::Brotli
    } else if accepts("gzip") {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

fn respond(rendered: &Rendered, headers: &HeaderMap) -> Response {
    let encoding = negotiate(headers);
    let etag = match encoding {
        Encoding::Identity => format!("\"{}\"", rendered.tag),
        Encoding::Gzip => format!("\"{}-gzip\"", rendered.tag),
        Encoding::Brotli => format!("\"{}-br\"", rendered.tag),
    };
    let last_modified = httpdate::fmt_http_date(rendered.last_modified);
    let not_modified = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(tags) => etag_matches(tags, &etag),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| since >= truncate_to_second(rendered.last_modified)),
    };
    crate::metrics::METRICS.feed_request(rendered.format, not_modified);
    let mut out = HeaderMap::new();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            out.insert(name, value);
        }
    };
    set(header::ETAG, &etag);
    set(header::LAST_MODIFIED, &last_modified);
    set(header::CACHE_CONTROL, &rendered.cache_control);
    set(header::VARY, "Accept-Encoding");
    if not_modified {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    set(header::CONTENT_TYPE, rendered.content_type);
    let body = match encoding {
        Encoding::Identity => rendered.body.clone(),
        Encoding::Gzip => {
            set(header::CONTENT_ENCODING, "gzip");
            rendered.gzip.get_or_init(|| gzip(&rendered.body)).clone()
        }
        Encoding::Brotli => {
            set(header::CONTENT_ENCODING, "br");
            rendered
                .brotli
                .get_or_init(|| brotli(&rendered.body))
                .clone()
        }
    };
    (StatusCode::OK, out, body).into_response()
}

/// `If-None-Match` by weak comparison: `W/` prefixes are ignored, `*` matches anything.
fn etag_matches(header: &str, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_string();
    header
        .split(',')
        .any(|tag| tag.trim() == "*" || opaque(tag) == opaque(etag))
}

fn truncate_to_second(time: SystemTime) -> SystemTime {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    match encoder.write_all(body).and_then(|_| encoder.finish()) {
        Ok(out) => out,
        Err(err) => {
            tracing::error!(%err, "gzip failed");
            Vec::new()
        }
    }
}

fn brotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 9,
        ..Default::default()
    };
    if let Err(err) = brotli::BrotliCompress(&mut &body[..], &mut out, &params) {
        tracing::error!(%err, "brotli failed");
    }
    out
}
