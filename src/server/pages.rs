//! `/healthz` and `/metrics` (the reader's pages, `/` among them, are in `reader`).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

async fn healthz(State(state): State<AppState>) -> Response {
    let archive_open = state.archive.is_empty().is_ok();
    let sources: serde_json::Map<String, serde_json::Value> = state
        .status
        .snapshot()
        .into_iter()
        .map(|(id, s)| {
            let last = s.last_run.as_ref().map(|r| {
                json!({"finished": r.finished, "complete": r.complete, "new": r.new, "revised": r.revised, "failed": r.failed})
            });
            (id, json!({"running": s.running, "last_run": last, "next_run": s.next_run}))
        })
        .collect();
    // A stalled writer is a fault for the supervisor: `serve` exits and is restarted.
    if let Some(reason) = state.archive.stalled() {
        let body = json!({"status": "archive stalled", "archive": "stalled", "reason": reason, "sources": sources});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let status = if archive_open {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({"status": if archive_open { "ok" } else { "archive unavailable" }, "archive": if archive_open { "open" } else { "error" }, "sources": sources});
    (status, Json(body)).into_response()
}

async fn metrics() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::METRICS.render(),
    )
        .into_response()
}
