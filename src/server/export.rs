//! `GET /api/export` (admin): the whole archive as JSON Lines, the bytes `gazette export` writes,
//! streamed while it is read so that no answer holds the archive in memory.

use std::io::Write;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::mpsc;

use super::AppState;
use super::api::authorize;
use super::query::Params;
use crate::server::ApiError;

/// Bytes of export sent to the client at a time.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks read ahead of a slow client; the reader waits beyond that.
const CHUNKS_AHEAD: usize = 4;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/export", get(export))
}

async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let params = Params::parse(query.as_deref(), &["raw"])?;
    let raw = match params.get("raw") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad(
                "raw",
                format!("expected true or false, got {other:?}"),
            ));
        }
    };
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(CHUNKS_AHEAD);
    let archive = state.archive.blocking().clone();
    tokio::task::spawn_blocking(move || {
        let mut out = ChunkWriter {
            sender: sender.clone(),
            buffer: Vec::with_capacity(CHUNK_BYTES),
        };
        match crate::archive::export(&*archive, raw, &mut out) {
            Ok(count) => tracing::info!(count, raw, "export sent"),
            // The client went away: nothing more to do.
            Err(_) if sender.is_closed() => {}
            Err(err) => {
                tracing::error!(error = %crate::describe(&err), "export stopped partway");
                // Ends the body with an error, so the client sees a broken answer, not a short one.
                let _ = sender.blocking_send(Err(std::io::Error::other("the export stopped")));
            }
        }
    });
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((StatusCode::OK, headers, Body::from_stream(body)).into_response())
}

/// Hands what the export writes to the response in chunks, waiting while the client is behind.
struct ChunkWriter {
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buffer: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client left"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}
