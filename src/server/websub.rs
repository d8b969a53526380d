//! `POST /websub`: the builtin WebSub hub's subscription endpoint (`server.websub_builtin`).
//! The hub is handed in as a request extension by `serve`; without it the path answers 404.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use super::{ApiError, AppState};
use crate::websub::{HUB_PATH, Hub, Refusal};

pub fn router() -> Router<AppState> {
    Router::new().route(HUB_PATH, post(request))
}

/// The client's address comes from `ConnectInfo`, there when the server was started with
/// `into_make_service_with_connect_info`; without it the hub applies no per-client limit.
async fn request(
    hub: Option<Extension<Arc<Hub>>>,
    connected: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Answer> {
    let Some(Extension(hub)) = hub else {
        return Err(Answer::Api(ApiError::NotFound(
            "the WebSub hub (server.websub_builtin is off)".into(),
        )));
    };
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(Answer::MediaType);
    }
    let client = connected.map(|Extension(ConnectInfo(addr))| addr.ip());
    hub.request(client, &body).await.map_err(Answer::Refused)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// What a refused request is answered: JSON `{error, detail}` like every other error.
enum Answer {
    Api(ApiError),
    MediaType,
    Refused(Refusal),
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let refusal = match self {
            Answer::Api(err) => return err.into_response(),
            Answer::MediaType => {
                return ApiError::bad("Content-Type", "expected application/x-www-form-urlencoded")
                    .into_response();
            }
            Answer::Refused(refusal) => refusal,
        };
        let (status, error, retry_after) = match &refusal {
            Refusal::BadParameter { param, .. } => (
                StatusCode::BAD_REQUEST,
                format!("bad parameter: {param}"),
                None,
            ),
            Refusal::Callback(_) => (
                StatusCode::BAD_REQUEST,
                "bad parameter: hub.callback".to_string(),
                None,
            ),
            Refusal::RateLimited { retry_after, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests".to_string(),
                Some(*retry_after),
            ),
            Refusal::Full(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "too many subscriptions".to_string(),
                None,
            ),
            Refusal::Busy { retry_after, .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "too many verifications pending".to_string(),
                Some(*retry_after),
            ),
        };
        let detail = match &refusal {
            Refusal::BadParameter { detail, .. } => detail.clone(),
            other => crate::describe(other),
        };
        let mut response =
            (status, Json(json!({"error": error, "detail": detail}))).into_response();
        if let Some(seconds) = retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
