//! The HTTP server: `app(state) -> Router`, one module per resource. Feeds are rendered once per
//! archive change and served from memory with ETag, Last-Modified and compression. Every error
//! answer is JSON; every answer carries `X-Content-Type-Options: nosniff`.

mod api;
mod assets;
mod conditional;
pub mod connections;
mod error;
mod export;
mod feed_cache;
mod feeds;
mod health;
mod memento;
mod months;
mod opml;
mod pages;
mod query;
mod reader;
mod search;
mod websub;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use url::Url;

pub use conditional::etag_matches;
pub use error::ApiError;
pub use feed_cache::FeedCache;

use crate::archive::{Archive, Handle};
use crate::config::{Config, Source};
use crate::schedule::Status;

/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest request body accepted (the admin endpoint's POST has none; a WebSub request is a
/// small form).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The longest request target (path and query) answered; longer ones get 414. No URL gazette
/// writes comes near it.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Items in a feed when `?limit=` is not given, and the most it may ask for.
pub const DEFAULT_FEED_ITEMS: usize = 50;
pub const MAX_FEED_ITEMS: usize = 500;
/// Captured files (a raw page, an attachment) read into memory at once to be sent: each can be
/// as large as `crawler.max_page_bytes` or `crawler.max_asset_bytes`.
pub const MAX_DOWNLOADS: usize = 4;

/// Starts a crawl of a source now; false when one is already running.
pub type CrawlTrigger = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The archive, reached from async code only through the handle (see [`AppState::blocking`]).
    pub archive: Handle,
    pub status: Status,
    pub cache: Arc<FeedCache>,
    /// `None`: no admin token configured, and the admin endpoint answers 404.
    pub admin_token: Option<String>,
    pub crawl: Option<CrawlTrigger>,
    /// WebSub hubs every feed advertises (`rel="hub"` in the body and the `Link` header); empty
    /// unless set.
    pub hubs: Vec<Url>,
    /// The search index, set once it is open (searches answer 503 until then): `serve` answers
    /// feeds while the index is checked or rebuilt.
    pub search: Arc<std::sync::OnceLock<Arc<crate::search::SearchIndex>>>,
    /// Turns to read a captured file whole ([`MAX_DOWNLOADS`] at once).
    pub downloads: Arc<tokio::sync::Semaphore>,
    /// This process as a node of a cluster; `None` for a single node.
    pub cluster: Option<Arc<crate::cluster::node::Node>>,
    /// The WARC uploader's progress, when `[storage.object_store]` is set.
    pub uploads: Option<Arc<crate::archive::upload::UploadStatus>>,
}

impl AppState {
    pub fn new(config: Arc<Config>, archive: Arc<dyn Archive>, status: Status) -> AppState {
        let admin_token = config.server.admin_token();
        let cache = Arc::new(FeedCache::new(config.server.feed_cache_bytes));
        AppState {
            config,
            archive: Handle::new(archive),
            status,
            cache,
            admin_token,
            crawl: None,
            hubs: Vec::new(),
            search: Arc::default(),
            downloads: Arc::new(tokio::sync::Semaphore::new(MAX_DOWNLOADS)),
            cluster: None,
            uploads: None,
        }
    }

    /// Runs `work` on a blocking thread, within the archive handle's bound on calls at once:
    /// how a handler reads the archive (through `state.archive.blocking()`) and builds its
    /// answer from what it read.
    pub async fn blocking<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
    {
        let state = self.clone();
        self.archive.spawn(move || work(&state)).await?
    }

    pub fn source(&self, id: &str) -> Result<&Source, ApiError> {
        self.config
            .source(id)
            .ok_or_else(|| ApiError::NotFound(format!("source {id:?}")))
    }

    /// An absolute URL of this server for a path such as `/feeds/bqlkkt.rss`.
    pub fn public(&self, path_and_query: &str) -> Url {
        let base = self.config.server.public_url();
        let joined = format!("{}{}", base.as_str().trim_end_matches('/'), path_and_query);
        Url::parse(&joined).unwrap_or(base)
    }
}

/// The whole HTTP interface.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(pages::router())
        .merge(health::router())
        .merge(reader::router())
        .merge(feeds::router())
        .merge(opml::router())
        .merge(api::router())
        .merge(search::router())
        .merge(export::router())
        .merge(assets::router())
        .merge(websub::router())
        .merge(memento::router())
        .fallback(reader::fallback)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(middleware::from_fn(every_answer))
        .with_state(state)
}

/// What holds for every answer: a request target within [`MAX_URI_BYTES`], `nosniff`, and a JSON
/// body on errors made outside the handlers (405 from the router, 408 and 413 from the layers).
async fn every_answer(request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    let mut response = if target > MAX_URI_BYTES {
        ApiError::UriTooLong.into_response()
    } else {
        next.run(request).await
    };
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    error::as_json(response)
}
