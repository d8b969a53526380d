//! The reader: server-rendered pages in Vietnamese over the archive (askama templates, checked
//! at compile time, escaping everything but article bodies, which normalize sanitised). One
//! stylesheet, no script; every page has an ETag and the strict policy of [`PAGE_POLICY`].

mod article;
mod browse;
mod find;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, FixedOffset};
use sha2::{Digest, Sha256};

use super::conditional::{etag_matches, not_modified_response};
use super::{ApiError, AppState};
use crate::config::Source;
use crate::feed::Format;

/// Every page's policy: no script and no inline style, only what this server serves (its
/// stylesheet, captured images), forms sent only here (the search box), never framed.
pub const PAGE_POLICY: &str =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The stylesheet, compiled in.
const STYLESHEET: &str = include_str!("../../../templates/reader.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(browse::index))
        .route("/reader.css", get(stylesheet))
        .route("/sources/{id}", get(browse::source))
        .route("/sources/{id}/{month}", get(browse::month))
        .route("/articles/{id}", get(article::page))
        .route("/articles/{id}/diff", get(article::diff_page_route))
        .route("/api/articles/{id}/diff", get(article::diff_json))
        .route("/search", get(find::page))
}

/// What every page's frame shows: its title, its feeds (autodiscovery) and the search box.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub title: String,
    pub feeds: Vec<FeedLink>,
    pub query: String,
}

#[derive(Debug, Clone)]
pub struct FeedLink {
    pub title: String,
    pub name: &'static str,
    pub media_type: &'static str,
    pub href: String,
}

/// The feeds of `path` (`/feeds/bqlkkt`), one per format, `query` (`?q=…`) appended.
pub fn feeds(state: &AppState, path: &str, title: &str, query: &str) -> Vec<FeedLink> {
    Format::ALL
        .into_iter()
        .map(|format| FeedLink {
            title: format!("{title} ({})", format.name()),
            name: format.name(),
            media_type: format.media_type(),
            href: state
                .public(&format!("{path}.{}{query}", format.extension()))
                .to_string(),
        })
        .collect()
}

/// The feeds of a source and of each of its sections.
pub fn source_feeds(state: &AppState, source: &Source) -> Vec<FeedLink> {
    let mut links = feeds(state, &format!("/feeds/{}", source.id), &source.name, "");
    for section in &source.sections {
        links.extend(feeds(
            state,
            &format!("/feeds/{}/{}", source.id, section.id),
            &format!("{} — {}", source.name, section.name),
            "",
        ));
    }
    links
}

/// Each source's own feeds: what a page about no one source advertises.
pub fn site_feeds(state: &AppState) -> Vec<FeedLink> {
    state
        .config
        .sources
        .iter()
        .flat_map(|source| feeds(state, &format!("/feeds/{}", source.id), &source.name, ""))
        .collect()
}

/// A time as the portal writes it, in the source's zone: `08/07/2020 13:54`.
pub fn portal_time(time: DateTime<FixedOffset>, source: Option<&Source>) -> String {
    match source {
        Some(source) => time
            .with_timezone(&source.tz())
            .format("%d/%m/%Y %H:%M")
            .to_string(),
        None => time.format("%d/%m/%Y %H:%M").to_string(),
    }
}

/// A page answered with its ETag (a digest of its bytes), or 304 when the client has it.
pub fn html(headers: &HeaderMap, status: StatusCode, body: String) -> Response {
    let digest = Sha256::digest(body.as_bytes());
    let etag = format!("\"{}\"", hex::encode(&digest[..12]));
    let mut answer = HeaderMap::new();
    answer.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    answer.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        answer.insert(header::ETAG, value);
    }
    let current = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| etag_matches(tags, &etag));
    if current && status == StatusCode::OK {
        return not_modified_response(answer);
    }
    answer.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    (status, answer, body).into_response()
}

/// A template rendered as a page, or a 500 (logged) when it cannot be.
pub fn render(headers: &HeaderMap, status: StatusCode, page: &impl askama::Template) -> Response {
    match page.render() {
        Ok(body) => html(headers, status, body),
        Err(err) => {
            tracing::error!(error = %err, "a page could not be rendered");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(askama::Template)]
#[template(path = "not_found.html")]
struct NotFound {
    layout: Layout,
    heading: String,
    what: String,
}

/// The reader's 404, in its style.
pub fn not_found(state: &AppState, headers: &HeaderMap, what: &str) -> Response {
    let page = NotFound {
        layout: Layout {
            title: "Không tìm thấy".into(),
            feeds: site_feeds(state),
            query: String::new(),
        },
        heading: "Không tìm thấy trang".into(),
        what: what.to_string(),
    };
    render(headers, StatusCode::NOT_FOUND, &page)
}

/// A handler's failure as a page: a 404 page for what is not there, a 400 page naming the
/// parameter for a bad address, else the API's answer (a server fault, said in JSON).
pub fn failed(state: &AppState, headers: &HeaderMap, err: ApiError) -> Response {
    match err {
        ApiError::NotFound(what) => not_found(state, headers, &format!("Không có {what}.")),
        ApiError::BadParameter { param, detail } => {
            let page = NotFound {
                layout: Layout {
                    title: "Địa chỉ không hợp lệ".into(),
                    feeds: site_feeds(state),
                    query: String::new(),
                },
                heading: "Địa chỉ không hợp lệ".into(),
                what: format!("Tham số {param}: {detail}"),
            };
            render(headers, StatusCode::BAD_REQUEST, &page)
        }
        other => other.into_response(),
    }
}

/// The answer to a path nothing serves: the reader's page for a browser (it asks for HTML)
/// outside `/api/` and `/feeds`, else JSON like every other error.
pub async fn fallback(
    axum::extract::State(state): axum::extract::State<AppState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path();
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if !wants_html || path.starts_with("/api/") || path.starts_with("/feeds") {
        return ApiError::NotFound("path".into()).into_response();
    }
    not_found(&state, &headers, "Đường dẫn này không có trang nào.")
}

async fn stylesheet(headers: HeaderMap) -> Response {
    let etag = format!(
        "\"{}\"",
        hex::encode(&Sha256::digest(STYLESHEET.as_bytes())[..12])
    );
    let mut answer = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        answer.insert(header::ETAG, value);
    }
    answer.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    let current = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| etag_matches(tags, &etag));
    if current {
        return not_modified_response(answer);
    }
    answer.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    (answer, STYLESHEET).into_response()
}
