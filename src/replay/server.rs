//! [`ReplayServer`]: a [`Recording`] served on 127.0.0.1, each request logged, pages changed
//! while it runs; with the feature `testing`, faults injected per URL (see `faults`).

#[cfg(feature = "testing")]
use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header, response::Builder};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::Url;

#[cfg(feature = "testing")]
use super::faults::Fault;
use super::{RECORDED_AT, RecordedPage, Recording};

/// One request the server received, in arrival order.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request target as received: path and `?query`, not normalised.
    pub path_and_query: String,
    /// The `If-None-Match` header, if sent.
    pub if_none_match: Option<String>,
    /// The `If-Modified-Since` header, if sent.
    pub if_modified_since: Option<String>,
    /// The `User-Agent` header, if sent.
    pub user_agent: Option<String>,
    /// When it arrived.
    pub at: Instant,
}

impl Request {
    fn received(request: &axum::extract::Request) -> Request {
        let headers = request.headers();
        Request {
            path_and_query: request
                .uri()
                .path_and_query()
                .map_or_else(|| "/".to_string(), |target| target.as_str().to_string()),
            if_none_match: header_text(headers, header::IF_NONE_MATCH),
            if_modified_since: header_text(headers, header::IF_MODIFIED_SINCE),
            user_agent: header_text(headers, header::USER_AGENT),
            at: Instant::now(),
        }
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// A running replay of a [`Recording`] on 127.0.0.1.
pub struct ReplayServer {
    addr: SocketAddr,
    state: Shared,
    /// Sending, or dropping it with the server, stops the serve loop.
    stop: oneshot::Sender<()>,
}

impl ReplayServer {
    /// The state the server answers from, locked.
    #[cfg(feature = "testing")]
    pub(super) fn lock(&self) -> MutexGuard<'_, ServerState> {
        lock(&self.state)
    }

    /// Binds 127.0.0.1:0 and serves in a tokio task (call inside a tokio runtime).
    pub async fn start(recording: Recording) -> io::Result<ReplayServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let state: Shared = Arc::new(Mutex::new(ServerState {
            recording,
            #[cfg(feature = "testing")]
            faults: HashMap::new(),
            log: Vec::new(),
        }));
        let app = Router::new().fallback(respond).with_state(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(err) = serving.await {
                tracing::warn!("replay server on {addr} stopped: {err}");
            }
        });
        Ok(ReplayServer { addr, state, stop })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>/`
    pub fn base_url(&self) -> Url {
        let mut url = Url::parse("http://127.0.0.1/").expect("a literal URL");
        let _ = url.set_port(Some(self.addr.port()));
        url
    }

    /// How many requests arrived for this path-and-query (exact string match, as sent on the wire).
    pub fn hits(&self, path_and_query: &str) -> usize {
        lock(&self.state)
            .log
            .iter()
            .filter(|request| request.path_and_query == path_and_query)
            .count()
    }

    /// Every request so far, in arrival order, faults included.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.state).log.clone()
    }

    /// Misbehaves for `path_and_query` from the next request on; replaces an earlier fault for it.
    #[cfg(feature = "testing")]
    pub fn fault(&self, path_and_query: &str, fault: Fault) {
        lock(&self.state)
            .faults
            .insert(path_and_query.to_string(), fault);
    }

    /// Serves every page normally again.
    #[cfg(feature = "testing")]
    pub fn clear_faults(&self) {
        lock(&self.state).faults.clear();
    }

    /// Changes or adds a page; its ETag and Last-Modified change with it.
    pub fn set_page(&self, path_and_query: &str, bytes: Vec<u8>, content_type: &str) {
        lock(&self.state).change_page(path_and_query, bytes, content_type);
    }

    /// Removes a page: from then on it answers 404.
    pub fn remove_page(&self, path_and_query: &str) {
        lock(&self.state).recording.pages.remove(path_and_query);
    }

    /// Stops serving (also on drop): no new connections; open ones close after their answer.
    pub fn shutdown(self) {
        let _ = self.stop.send(());
    }
}

pub(super) type Shared = Arc<Mutex<ServerState>>;

/// Everything a test may change while the server runs.
pub(super) struct ServerState {
    pub(super) recording: Recording,
    #[cfg(feature = "testing")]
    faults: HashMap<String, Fault>,
    log: Vec<Request>,
}

impl ServerState {
    /// Logs `request` and returns the fault to act on for it, if any.
    #[cfg(feature = "testing")]
    fn receive(&mut self, request: Request) -> Option<Fault> {
        let target = request.path_and_query.clone();
        self.log.push(request);
        super::faults::take(&mut self.faults, &target)
    }

    /// Logs `request`: without faults, every request is served as recorded.
    #[cfg(not(feature = "testing"))]
    fn receive(&mut self, request: Request) {
        self.log.push(request);
    }

    pub(super) fn change_page(&mut self, path_and_query: &str, bytes: Vec<u8>, content_type: &str) {
        let modified = next_modified(self.recording.modified(path_and_query));
        self.recording
            .put(path_and_query, bytes, content_type, modified);
    }

    pub(super) fn page(&self, path_and_query: &str) -> Option<RecordedPage> {
        self.recording.pages.get(path_and_query).cloned()
    }
}

/// A poisoned lock still holds consistent state: every change to it is a single insert or remove.
pub(super) fn lock(state: &Mutex<ServerState>) -> MutexGuard<'_, ServerState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Now, in whole seconds, and always after `previous` so that `If-Modified-Since` sees the change.
fn next_modified(previous: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let now = Utc::now().timestamp();
    let secs = previous.map_or(now, |previous| now.max(previous.timestamp() + 1));
    DateTime::from_timestamp(secs, 0).unwrap_or(RECORDED_AT)
}

/// The one handler: every request, whatever its method or target.
async fn respond(State(state): State<Shared>, request: axum::extract::Request) -> Response {
    let request = Request::received(&request);
    #[cfg(feature = "testing")]
    {
        let fault = lock(&state).receive(request.clone());
        tracing::debug!(target = %request.path_and_query, ?fault, "replay request");
        if let Some(fault) = fault {
            return super::faults::answer(&state, &request, fault).await;
        }
    }
    #[cfg(not(feature = "testing"))]
    lock(&state).receive(request.clone());
    page_response(&state, &request, None)
}

/// The page as recorded: 200, or 304 when the request's validators match, or 404.
pub(super) fn page_response(
    state: &Shared,
    request: &Request,
    content_type: Option<&str>,
) -> Response {
    let Some(page) = lock(state).page(&request.path_and_query) else {
        return status_page(404);
    };
    let content_type = content_type.unwrap_or(&page.content_type);
    if not_modified(request, &page) {
        return built(
            validators(Response::builder().status(304), &page),
            Body::empty(),
        );
    }
    let builder = validators(Response::builder(), &page).header(header::CONTENT_TYPE, content_type);
    built(builder, Body::from(page.bytes))
}

/// RFC 9110 order: `If-None-Match` decides when present, else `If-Modified-Since`.
fn not_modified(request: &Request, page: &RecordedPage) -> bool {
    match &request.if_none_match {
        Some(tags) => crate::server::etag_matches(tags, &page.etag),
        None => request
            .if_modified_since
            .as_deref()
            .and_then(|since| DateTime::parse_from_rfc2822(since).ok())
            .is_some_and(|since| since >= page.modified),
    }
}

pub(super) fn validators(builder: Builder, page: &RecordedPage) -> Builder {
    builder
        .header(header::ETAG, &page.etag)
        .header(header::LAST_MODIFIED, http_date(page.modified))
}

/// `status` with a short HTML body saying so.
pub(super) fn status_page(status: u16) -> Response {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("");
    let body = format!(
        "<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>\
         <body><h1>{status} {reason}</h1></body></html>\n"
    );
    let builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8");
    built(builder, Body::from(body))
}

/// The response, or a 500 naming what was wrong with it (a bad status or header from a test).
pub(super) fn built(builder: Builder, body: Body) -> Response {
    builder.body(body).unwrap_or_else(|err| {
        tracing::warn!("replay server cannot answer as asked: {err}");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("replay server cannot answer as asked: {err}\n"),
        )
            .into_response()
    })
}

/// IMF-fixdate, e.g. `Wed, 08 Jul 2020 07:00:00 GMT`.
fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}
