//! Memento (RFC 7089) over what gazette captured. For an original URL, an article's canonical URL
//! or a captured attachment's or image's: its TimeMap (`/timemap/link/{URL}`, and the JSON form
//! pywb writes at `/timemap/json/{URL}`), its TimeGate (`/timegate/{URL}`, by `Accept-Datetime`)
//! and each memento (`/web/{YYYYMMDDhhmmss}/{URL}`: the captured bytes, sandboxed like every
//! capture). An article's mementos are its revisions' pages, an asset's its latest capture; a
//! memento's time is the fetch (its `WARC-Date`), to the second, in UTC.
//!
//! `{URL}` is read from the request target itself, not from a path parameter, so that its query
//! string is part of it.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use url::Url;

mod captures;

pub(super) use captures::{Captures, timemap_path};
use captures::{Memento, Resource, insert};

use super::AppState;
use super::api::{captured_headers, captured_page};
use super::assets::file_name;
use crate::server::ApiError;

const TIMEGATE: &str = "/timegate/";
const TIMEMAP_LINK: &str = "/timemap/link/";
const TIMEMAP_JSON: &str = "/timemap/json/";
const MEMENTO: &str = "/web/";
const LINK_FORMAT: &str = "application/link-format";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/timegate/{*url}", get(timegate))
        .route("/timemap/link/{*url}", get(timemap_link))
        .route("/timemap/json/{*url}", get(timemap_json))
        .route("/web/{timestamp}/{*url}", get(memento))
}

/// What follows `prefix` in the request target, its query string included.
fn after<'a>(uri: &'a Uri, prefix: &str) -> &'a str {
    let target = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    target.strip_prefix(prefix).unwrap_or_default()
}

/// The original URL a request names: as sent, and parsed. It may be percent-encoded whole
/// (`https%3A%2F%2F…`), and a `//` merged into `/` on the way (`https:/host/…`) is restored.
fn original_url(text: &str) -> Result<(String, Url), ApiError> {
    let bad = || {
        ApiError::bad(
            "url",
            "expected an http or https URL after the route's prefix",
        )
    };
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    let mut text = if lower.starts_with("http%3a") || lower.starts_with("https%3a") {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map_err(|_| bad())?
            .into_owned()
    } else {
        text.to_string()
    };
    for scheme in ["http:/", "https:/"] {
        if text.starts_with(scheme) && !text[scheme.len()..].starts_with('/') {
            text.insert(scheme.len(), '/');
        }
    }
    let url = Url::parse(&text).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad());
    }
    Ok((text, url))
}

/// The URLs an asked URL may be archived under: as asked, as written again by the URL parser,
/// and made canonical by the profile of each source on its host (`?ItemID=1234&p=2` is
/// archived as `?ItemID=1234`).
fn candidates(state: &AppState, asked: &str, url: &Url) -> Vec<String> {
    let mut url = url.clone();
    url.set_fragment(None);
    let mut found = vec![asked.to_string(), url.to_string()];
    for source in &state.config.sources {
        if source.base_url().host_str() == url.host_str() {
            found.push(crate::normalize::url::canonical_url(&url, source).to_string());
        }
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|candidate| seen.insert(candidate.clone()));
    found
}

/// The mementos of an asked URL (an article's, else an asset's), or 404.
async fn look_up(state: &AppState, asked: String, url: Url) -> Result<Captures, ApiError> {
    state
        .blocking(move |state| {
            let archive = state.archive.blocking();
            for original in candidates(state, &asked, &url) {
                if let Some(id) = archive.id_for_url(&original)?
                    && let Some(captures) = Captures::of_article(archive.as_ref(), &original, &id)?
                {
                    return Ok(captures);
                }
                if let Some(info) = archive.asset(&original)? {
                    return Ok(Captures {
                        original,
                        resource: Resource::Asset,
                        mementos: vec![Memento {
                            at: info.captured_at.with_timezone(&Utc).trunc_subsecs(0),
                            revisions: Vec::new(),
                        }],
                    });
                }
            }
            Err(ApiError::NotFound(format!("a capture of {asked}")))
        })
        .await
}

/// The `Accept-Datetime` asked for (RFC 7089 §2.1.1: an RFC 1123 date), if any.
fn accept_datetime(headers: &HeaderMap) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(value) = headers.get("accept-datetime") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad(
            "Accept-Datetime",
            "expected an HTTP date such as \"Wed, 08 Jul 2020 06:54:00 GMT\" (RFC 1123)",
        )
    };
    let text = value.to_str().map_err(|_| bad())?;
    DateTime::parse_from_rfc2822(text.trim())
        .map(|at| Some(at.with_timezone(&Utc)))
        .map_err(|_| bad())
}

/// A memento's timestamp, `YYYYMMDDhhmmss` in UTC; as wayback tools do, a shorter one (`2020`,
/// `202007`) stands for the start of that year, month, day, hour or minute.
fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, ApiError> {
    const START: &str = "00000101000000";
    let bad = || {
        ApiError::bad(
            "timestamp",
            "expected YYYYMMDDhhmmss in UTC, or its first 4 digits or more",
        )
    };
    if !(4..=START.len()).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let whole = format!("{text}{}", &START[text.len()..]);
    NaiveDateTime::parse_from_str(&whole, "%Y%m%d%H%M%S")
        .map(|at| at.and_utc())
        .map_err(|_| bad())
}

/// The TimeGate (RFC 7089 §4.1.1, pattern 2.1): a 302 to the memento nearest `Accept-Datetime`,
/// the latest without one.
async fn timegate(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (asked, url) = original_url(after(&uri, TIMEGATE))?;
    let wanted = accept_datetime(&headers)?;
    let captures = look_up(&state, asked, url).await?;
    let i = wanted.map_or(captures.last(), |at| captures.closest(at));
    let mut links = captures.resource_links(&state, false);
    links.extend(captures.memento_links(&state, i));
    let mut answer = HeaderMap::new();
    insert(
        &mut answer,
        header::LOCATION,
        &captures.memento_uri(&state, i),
    );
    answer.insert(header::VARY, HeaderValue::from_static("accept-datetime"));
    insert(&mut answer, header::LINK, &links.join(", "));
    Ok((StatusCode::FOUND, answer).into_response())
}

async fn timemap_link(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    let (asked, url) = original_url(after(&uri, TIMEMAP_LINK))?;
    let captures = look_up(&state, asked, url).await?;
    let body = captures.link_format(&state);
    Ok(([(header::CONTENT_TYPE, LINK_FORMAT)], body).into_response())
}

async fn timemap_json(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    let (asked, url) = original_url(after(&uri, TIMEMAP_JSON))?;
    let captures = look_up(&state, asked, url).await?;
    Ok(axum::Json(captures.json(&state)).into_response())
}

/// A memento: the bytes captured at that second, with its `Memento-Datetime` and `Link`. Any
/// other timestamp, or the URL asked in another form than it was archived under, is sent on
/// (302) to the nearest memento, as wayback tools do.
async fn memento(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    let rest = after(&uri, MEMENTO);
    let (timestamp, url) = rest.split_once('/').unwrap_or((rest, ""));
    let at = parse_timestamp(timestamp)?;
    let (asked, url) = original_url(url)?;
    let captures = look_up(&state, asked.clone(), url).await?;
    let i = captures.closest(at);
    if captures.mementos[i].at != at || asked != captures.original {
        let mut answer = HeaderMap::new();
        insert(
            &mut answer,
            header::LOCATION,
            &captures.memento_uri(&state, i),
        );
        insert(
            &mut answer,
            header::LINK,
            &captures.resource_links(&state, true).join(", "),
        );
        return Ok((StatusCode::FOUND, answer).into_response());
    }
    // Never closed.
    let _turn = state.downloads.acquire().await.ok();
    let original = captures.original.clone();
    let resource = captures.resource.clone();
    let number = captures.mementos[i].revisions.last().copied();
    let mut response = state
        .blocking(move |state| {
            let archive = state.archive.blocking();
            match (resource, number) {
                (Resource::Article(id), Some(number)) => {
                    let capture = archive.capture(&id, number)?.ok_or_else(|| {
                        ApiError::NotFound(format!("the page of revision {number} of article {id}"))
                    })?;
                    Ok(captured_page(capture, &format!("{id}-r{number}")))
                }
                _ => {
                    let found = archive
                        .asset(&original)?
                        .zip(archive.asset_capture(&original)?);
                    let (info, capture) = found
                        .ok_or_else(|| ApiError::NotFound(format!("a capture of {original}")))?;
                    let disposition = format!("inline; filename=\"{}\"", file_name(&original));
                    let headers = captured_headers(&info.mime_type, &disposition);
                    Ok((StatusCode::OK, headers, capture.body).into_response())
                }
            }
        })
        .await?;
    response
        .headers_mut()
        .extend(captures.memento_headers(&state, i));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn timestamps_are_utc_digits_and_may_be_cut_short() {
        assert_eq!(
            parse_timestamp("20200708065400").unwrap(),
            utc("2020-07-08T06:54:00Z")
        );
        assert_eq!(
            parse_timestamp("202007").unwrap(),
            utc("2020-07-01T00:00:00Z")
        );
        for bad in [
            "",
            "202",
            "2020070806540012",
            "2020-07-08",
            "20201301000000",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn original_urls_keep_their_query_and_lose_what_travel_did_to_them() {
        let asked = |text: &str| original_url(text).map(|(text, _)| text).ok();
        assert_eq!(
            asked("http://h.test/p.aspx?ItemID=1").as_deref(),
            Some("http://h.test/p.aspx?ItemID=1")
        );
        assert_eq!(
            asked("https:/h.test/p").as_deref(),
            Some("https://h.test/p")
        );
        assert_eq!(
            asked("https%3A%2F%2Fh.test%2Fp%3Fa%3D1").as_deref(),
            Some("https://h.test/p?a=1")
        );
        assert_eq!(asked("ftp://h.test/p"), None);
        assert_eq!(asked("not a url"), None);
    }
}
