//! The server's errors, mapped to statuses; internals stay in the log. Every error answer is
//! JSON `{"error": …, "detail": …}`, including those the router and the middleware make.

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{MAX_BODY_BYTES, MAX_URI_BYTES, REQUEST_TIMEOUT};
use crate::archive::ArchiveError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query or path parameter that is malformed, out of range, repeated or unknown.
    #[error("bad parameter {param}: {detail}")]
    BadParameter { param: String, detail: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("a crawl of {0} is already running")]
    Busy(String),
    #[error("the request URI is longer than {MAX_URI_BYTES} bytes")]
    UriTooLong,
    /// An answer whose cost grows with the article, refused past its bound; says what to do.
    #[error("{0}")]
    TooLarge(String),
    #[error("archive: {0}")]
    Archive(#[from] ArchiveError),
    /// A part of the server that is off or failing (the search index); logged where it failed.
    #[error("{0} is unavailable")]
    Unavailable(String),
    /// Work handed to a blocking thread panicked or was cancelled.
    #[error("a worker thread stopped")]
    Internal(#[from] tokio::task::JoinError),
}

impl ApiError {
    pub fn bad(param: impl Into<String>, detail: impl Into<String>) -> ApiError {
        ApiError::BadParameter {
            param: param.into(),
            detail: detail.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error, detail) = match &self {
            ApiError::BadParameter { param, detail } => (
                StatusCode::BAD_REQUEST,
                format!("bad parameter: {param}"),
                detail.clone(),
            ),
            ApiError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "not found".to_string(),
                format!("{what} not found"),
            ),
            ApiError::Unauthorized => {
                let body = json!({"error": "unauthorized", "detail": self.to_string()});
                return (
                    StatusCode::UNAUTHORIZED,
                    [("www-authenticate", "Bearer")],
                    Json(body),
                )
                    .into_response();
            }
            ApiError::Busy(source) => (
                StatusCode::CONFLICT,
                "busy".to_string(),
                format!("a crawl of {source} is already running"),
            ),
            ApiError::UriTooLong => (
                StatusCode::URI_TOO_LONG,
                "uri too long".to_string(),
                self.to_string(),
            ),
            ApiError::TooLarge(detail) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too large".to_string(),
                detail.clone(),
            ),
            ApiError::Archive(err) => {
                tracing::error!(error = %crate::describe(err), "archive failure while serving a request");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_string(),
                    "the archive could not be read".to_string(),
                )
            }
            ApiError::Unavailable(what) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable".to_string(),
                format!("{what} is unavailable"),
            ),
            ApiError::Internal(err) => {
                tracing::error!(error = %crate::describe(err), "a worker stopped while serving a request");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_string(),
                    "the answer could not be made".to_string(),
                )
            }
        };
        (status, Json(json!({"error": error, "detail": detail}))).into_response()
    }
}

/// An error answer made outside the handlers (a 405 from the router, a 408 or 413 from the
/// middleware) given a JSON body like every other; its headers (`Allow`) are kept.
pub(super) fn as_json(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    // HTML error pages are the reader's own, in its style.
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (error, detail) = match status {
        StatusCode::NOT_FOUND => ("not found", "no such path".to_string()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method not allowed",
            "this path does not answer that method; the Allow header lists those it does"
                .to_string(),
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            format!(
                "the request took longer than {} s",
                REQUEST_TIMEOUT.as_secs()
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "body too large",
            format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
        ),
        StatusCode::URI_TOO_LONG => ("uri too long", ApiError::UriTooLong.to_string()),
        other => (
            other.canonical_reason().unwrap_or("error"),
            other.to_string(),
        ),
    };
    let error = error.to_ascii_lowercase();
    let body = serde_json::to_vec(&json!({"error": error, "detail": detail})).unwrap_or_default();
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn answers_made_outside_the_handlers_become_json_and_keep_their_headers() {
        let timeout = Response::builder()
            .status(StatusCode::REQUEST_TIMEOUT)
            .body(Body::empty())
            .unwrap();
        let answer = as_json(timeout);
        assert_eq!(answer.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(body_of(answer).await["error"], "timeout");

        let teapot = Response::builder()
            .status(StatusCode::IM_A_TEAPOT)
            .header(header::RETRY_AFTER, "5")
            .body(Body::from("short and stout"))
            .unwrap();
        let answer = as_json(teapot);
        assert_eq!(answer.headers()[header::RETRY_AFTER], "5");
        assert_eq!(body_of(answer).await["error"], "i'm a teapot");

        let json = ApiError::bad("limit", "too big").into_response();
        assert_eq!(
            body_of(as_json(json)).await["error"],
            "bad parameter: limit",
            "JSON answers are left as they are"
        );
    }
}
