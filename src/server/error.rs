//! The server's errors, mapped to statuses; internals stay in the log.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::archive::ArchiveError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("bad parameter {param}: {detail}")]
    BadParameter { param: &'static str, detail: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("a crawl of {0} is already running")]
    Busy(String),
    #[error("archive: {0}")]
    Archive(#[from] ArchiveError),
}

impl ApiError {
    pub fn bad(param: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::BadParameter {
            param,
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
            ApiError::Archive(err) => {
                tracing::error!(error = %err, "archive failure while serving a request");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_string(),
                    "the archive could not be read".to_string(),
                )
            }
        };
        (status, Json(json!({"error": error, "detail": detail}))).into_response()
    }
}
