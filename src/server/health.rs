//! `/healthz`: liveness of the process and its archive, with each source's last run and
//! selector health. A degraded source does not change the status code: the process is alive
//! and restarting it would not mend a portal's new template; 503 stays for a stalled or
//! unreadable archive. WARC uploads that keep failing are reported the same way ("degraded",
//! 200): the archive is whole on the local disk and serving goes on.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use crate::schedule::SourceStatus;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// A source's selector health as its last run judged it: what `/healthz` and `/api/sources`
/// show. `assessed` is false until a run that judged it has been recorded.
pub(super) fn source_health(status: Option<&SourceStatus>) -> Value {
    let run = status.and_then(|s| s.last_run.as_ref());
    let Some(health) = run.and_then(|r| r.health.as_ref()) else {
        return json!({"assessed": false, "degraded": false, "degraded_fields": [], "fields": [], "empty_list_pages": []});
    };
    let degraded_fields: Vec<&str> = health.degraded_fields().map(|f| f.field.as_str()).collect();
    json!({
        "assessed": true,
        "degraded": health.degraded,
        "degraded_fields": degraded_fields,
        "fields": health.fields,
        "empty_list_pages": health.empty_list_pages,
        "list_selector": health.list_selector,
        "runs_compared": health.runs_compared,
        "articles_read": run.map(|r| r.articles_read),
        "run_finished": run.and_then(|r| r.finished),
    })
}

async fn healthz(State(state): State<AppState>) -> Response {
    let archive_open = state
        .archive
        .run(|archive| archive.is_empty())
        .await
        .is_ok();
    let snapshot = state.status.snapshot();
    let degraded: Vec<&str> = snapshot
        .iter()
        .filter(|(_, s)| {
            s.last_run
                .as_ref()
                .and_then(|r| r.health.as_ref())
                .is_some_and(|h| h.degraded)
        })
        .map(|(id, _)| id.as_str())
        .collect();
    let sources: serde_json::Map<String, Value> = snapshot
        .iter()
        .map(|(id, s)| {
            let last = s.last_run.as_ref().map(|r| {
                json!({"finished": r.finished, "complete": r.complete, "new": r.new, "revised": r.revised, "failed": r.failed})
            });
            (
                id.clone(),
                json!({"running": s.running, "last_run": last, "next_run": s.next_run, "health": source_health(Some(s))}),
            )
        })
        .collect();
    // A stalled writer is a fault for the supervisor: `serve` exits and is restarted.
    if let Some(reason) = state.archive.stalled() {
        let body = json!({"status": "archive stalled", "archive": "stalled", "reason": reason, "degraded": degraded, "sources": sources});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let uploads = state.uploads.as_ref().map(|status| status.progress());
    let uploads_failing = uploads
        .as_ref()
        .is_some_and(|p| p.last_error.is_some() && p.waiting_files > 0);
    let (status, text) = match (archive_open, degraded.is_empty() && !uploads_failing) {
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "archive unavailable"),
        (true, true) => (StatusCode::OK, "ok"),
        (true, false) => (StatusCode::OK, "degraded"),
    };
    let mut body = json!({"status": text, "archive": if archive_open { "open" } else { "error" }, "degraded": degraded, "sources": sources});
    // A node cut off from NATS still serves what it holds: 200, and it says so.
    if let Some(node) = &state.cluster {
        body["cluster"] = node.health();
        if !node.connected() && text == "ok" {
            body["status"] = json!("degraded");
        }
    }
    if let Some(progress) = uploads {
        let state = if uploads_failing { "failing" } else { "ok" };
        body["uploads"] = json!({"state": state, "waiting_files": progress.waiting_files, "oldest_waiting_secs": progress.oldest_waiting_secs, "last_error": progress.last_error, "uploaded_files": progress.uploaded_files, "uploaded_bytes": progress.uploaded_bytes, "failures": progress.failures});
    }
    (status, Json(body)).into_response()
}
