//! Faults a replay injects per URL: statuses, delays, cut or endless bodies, redirects.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;

use super::server::{Request, Shared, built, lock, page_response, status_page, validators};

/// Bytes per chunk of a `Fault::Huge` body.
const HUGE_CHUNK: usize = 64 * 1024;

/// How to misbehave for one URL.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this status (with a short HTML body) on every request.
    Status(u16),
    /// Answer this status for the next n requests, then serve normally.
    StatusTimes(u16, usize),
    /// This status (429 or 503) with `Retry-After: <secs>`, once, then normal.
    RetryAfter(u16, u64),
    /// Wait this long before answering (then answer normally).
    Delay(Duration),
    /// Announce the full Content-Length but send only the first n bytes, then close.
    /// Always a 200 (validators are not looked at); a missing page still answers 404.
    Truncate(usize),
    /// Content-Type `text/html; charset=<x>`, or None: "text/html" with no charset.
    Charset(Option<String>),
    /// A streamed 200 text/html body of this many bytes, no Content-Length.
    Huge(u64),
    /// 302 to this Location (as given: absolute or relative).
    Redirect(String),
    /// 302 to the same URL, forever.
    RedirectLoop,
    /// Hold the request until the semaphore gives a permit or is closed, then answer normally:
    /// a test keeps a run in flight for exactly as long as it needs to.
    Hold(std::sync::Arc<tokio::sync::Semaphore>),
}

/// The answer `fault` makes to `request`.
pub(super) async fn answer(state: &Shared, request: &Request, fault: Fault) -> Response {
    match fault {
        Fault::Delay(wait) => {
            tokio::time::sleep(wait).await;
            page_response(state, request, None)
        }
        Fault::Hold(release) => {
            // A permit or a closed semaphore both release; the permit goes back at once.
            drop(release.acquire().await);
            page_response(state, request, None)
        }
        Fault::Status(status) | Fault::StatusTimes(status, _) => status_page(status),
        Fault::RetryAfter(status, secs) => {
            let mut response = status_page(status);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, secs.into());
            response
        }
        Fault::Truncate(keep) => truncated(state, &request.path_and_query, keep),
        Fault::Charset(charset) => {
            let content_type = match charset {
                Some(charset) => format!("text/html; charset={charset}"),
                None => "text/html".to_string(),
            };
            page_response(state, request, Some(&content_type))
        }
        Fault::Huge(len) => huge(len),
        Fault::Redirect(location) => redirect(&location),
        Fault::RedirectLoop => redirect(&request.path_and_query),
    }
}

/// The fault to act on for `target`, using up one-shot and counted faults.
pub(super) fn take(
    faults: &mut std::collections::HashMap<String, Fault>,
    target: &str,
) -> Option<Fault> {
    let fault = faults.get_mut(target)?;
    let (this_time, used_up) = match fault {
        Fault::StatusTimes(_, 0) => (None, true),
        Fault::StatusTimes(status, left) => {
            *left -= 1;
            (Some(Fault::Status(*status)), *left == 0)
        }
        Fault::RetryAfter(..) => (Some(fault.clone()), true),
        other => (Some(other.clone()), false),
    };
    if used_up {
        faults.remove(target);
    }
    this_time
}

/// 200 with the page's full length announced but only its first `keep` bytes sent.
fn truncated(state: &Shared, path_and_query: &str, keep: usize) -> Response {
    let Some(page) = lock(state).page(path_and_query) else {
        return status_page(404);
    };
    let sent = page.bytes.slice(..keep.min(page.bytes.len()));
    // A stream has no known length, so hyper trusts the header and closes when the body ends
    // short. Pausing once before the end lets hyper flush what was sent before it closes.
    let pause = futures_util::stream::once(tokio::task::yield_now())
        .filter_map(|()| std::future::ready(None));
    let body =
        Body::from_stream(futures_util::stream::iter([Ok::<_, Infallible>(sent)]).chain(pause));
    let builder = validators(Response::builder(), &page)
        .header(header::CONTENT_TYPE, &page.content_type)
        .header(header::CONTENT_LENGTH, page.bytes.len());
    built(builder, body)
}

/// 200, `len` bytes of filler HTML streamed in chunks, with no Content-Length.
fn huge(len: u64) -> Response {
    // ASCII, so that cutting the last chunk anywhere still leaves valid UTF-8.
    let filler = b"<p>Mot trang rat lon.</p>\n";
    let chunk = Bytes::from(filler.repeat(HUGE_CHUNK / filler.len()));
    let step = chunk.len() as u64;
    let chunks = (0..len)
        .step_by(chunk.len())
        .map(move |start| Ok::<_, Infallible>(chunk.slice(..(len - start).min(step) as usize)));
    let builder = Response::builder().header(header::CONTENT_TYPE, "text/html; charset=utf-8");
    built(
        builder,
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
}

fn redirect(location: &str) -> Response {
    let builder = Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, location.as_bytes());
    built(builder, Body::empty())
}
