//! `/api/assets?url=…`: an attachment or image captured beside an article, as it was received.
//! The bytes are the portal's, so they are served as a download, sandboxed and never sniffed.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use url::Url;

use super::AppState;
use super::api::{captured_headers, safe_file_name};
use super::query::Params;
use crate::server::ApiError;

/// The longest file name offered in `Content-Disposition`.
const MAX_FILENAME: usize = 120;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/assets", get(asset))
}

async fn asset(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &["url"])?;
    let url = params
        .get("url")
        .ok_or_else(|| ApiError::bad("url", "required: the URL of the attachment or image"))?
        .to_string();
    // Never closed.
    let _turn = state.downloads.acquire().await.ok();
    let found = state
        .archive
        .run(move |archive| {
            let Some(info) = archive.asset(&url)? else {
                return Ok(None);
            };
            Ok(archive.asset_capture(&url)?.map(|capture| (info, capture)))
        })
        .await?;
    let (info, capture) = found.ok_or_else(|| ApiError::NotFound("asset".into()))?;
    let disposition = format!("attachment; filename=\"{}\"", file_name(&info.url));
    let mut headers = captured_headers(&info.mime_type, &disposition);
    if let Ok(value) = HeaderValue::from_str(&info.digest) {
        headers.insert("x-payload-digest", value);
    }
    Ok((StatusCode::OK, headers, capture.body).into_response())
}

/// The last segment of the asset's path as a safe file name: letters, digits, `-`, `_` and `.`
/// kept, anything else `_`; `asset` when there is none.
pub(super) fn file_name(url: &str) -> String {
    let last = Url::parse(url)
        .ok()
        .and_then(|u| {
            u.path_segments()
                .and_then(|mut segments| segments.next_back().map(str::to_string))
        })
        .unwrap_or_default();
    let last = percent_encoding::percent_decode_str(&last).decode_utf8_lossy();
    let name: String = safe_file_name(&last).chars().take(MAX_FILENAME).collect();
    if name.trim_matches(['.', '_']).is_empty() {
        "asset".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_the_last_segment_made_safe() {
        assert_eq!(file_name("http://h/a/BC-6T-2020.pdf"), "BC-6T-2020.pdf");
        assert_eq!(
            file_name("http://h/a/Ph%E1%BB%A5%20l%E1%BB%A5c.doc"),
            "Ph__l_c.doc"
        );
        assert_eq!(file_name("http://h/x/\"a\";b.pdf"), "_a__b.pdf");
        assert_eq!(file_name("http://h/"), "asset");
        assert_eq!(file_name("not a url"), "asset");
    }
}
