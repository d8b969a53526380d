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
use chrono::{DateTime, NaiveDateTime, SecondsFormat, SubsecRound, Utc};
use serde_json::{Value, json};
use url::Url;

use super::AppState;
use super::api::{captured_headers, captured_page};
use super::assets::file_name;
use crate::archive::{Archive, ArchiveError};
use crate::model::ArticleId;
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

/// What an original URL is in the archive.
#[derive(Debug, Clone)]
enum Resource {
    Article(ArticleId),
    /// An attachment or image: the archive keeps where its latest capture is.
    Asset,
}

#[derive(Debug, Clone)]
struct Memento {
    /// The fetch time, to the second.
    at: DateTime<Utc>,
    /// The article's revisions whose page was fetched in that second, in order: one, or more
    /// when `gazette reparse` read it again (a revision it makes has the time of the page it
    /// read). The last is the one served. Empty for an asset.
    revisions: Vec<u32>,
}

/// An original URL and its mementos, oldest first, one per second, never none.
pub(super) struct Captures {
    original: String,
    resource: Resource,
    mementos: Vec<Memento>,
}

impl Captures {
    /// An article's mementos, its revisions' pages, read from the index alone; none when no
    /// page of it is kept.
    pub(super) fn of_article(
        archive: &dyn Archive,
        original: &str,
        id: &ArticleId,
    ) -> Result<Option<Captures>, ArchiveError> {
        let mut kept = archive.revision_captures(id)?;
        kept.retain(|capture| capture.page_kept);
        // Stable: revisions of one second stay in their order.
        kept.sort_by_key(|capture| capture.fetched_at);
        let mut mementos: Vec<Memento> = Vec::with_capacity(kept.len());
        for capture in kept {
            let at = capture.fetched_at.with_timezone(&Utc).trunc_subsecs(0);
            match mementos.last_mut() {
                Some(last) if last.at == at => last.revisions.push(capture.number),
                _ => mementos.push(Memento {
                    at,
                    revisions: vec![capture.number],
                }),
            }
        }
        Ok((!mementos.is_empty()).then(|| Captures {
            original: original.to_string(),
            resource: Resource::Article(id.clone()),
            mementos,
        }))
    }

    /// The memento nearest `at`; a tie goes to the earlier.
    fn closest(&self, at: DateTime<Utc>) -> usize {
        let after = self.mementos.partition_point(|m| m.at < at);
        match (after.checked_sub(1), self.mementos.get(after)) {
            (Some(before), Some(next)) if at - self.mementos[before].at > next.at - at => after,
            (Some(before), _) => before,
            (None, _) => after,
        }
    }

    fn last(&self) -> usize {
        self.mementos.len() - 1
    }

    /// An absolute URL of this server for the original URL under `prefix`.
    fn uri(&self, state: &AppState, prefix: &str) -> String {
        state
            .public(&format!("{prefix}{}", self.original))
            .to_string()
    }

    fn memento_uri(&self, state: &AppState, i: usize) -> String {
        state
            .public(&memento_path(self.mementos[i].at, &self.original))
            .to_string()
    }

    /// The links to the original resource, its TimeMaps and (unless this is it) its TimeGate.
    fn resource_links(&self, state: &AppState, timegate: bool) -> Vec<String> {
        let mut links = vec![format!("<{}>; rel=\"original\"", self.original)];
        if timegate {
            links.push(format!("<{}>; rel=\"timegate\"", self.uri(state, TIMEGATE)));
        }
        links.push(format!(
            "<{}>; rel=\"timemap\"; type=\"{LINK_FORMAT}\"",
            self.uri(state, TIMEMAP_LINK)
        ));
        links.push(format!(
            "<{}>; rel=\"timemap\"; type=\"application/json\"",
            self.uri(state, TIMEMAP_JSON)
        ));
        links
    }

    fn memento_link(&self, state: &AppState, i: usize, rel: &str) -> String {
        format!(
            "<{}>; rel=\"{rel}\"; datetime=\"{}\"",
            self.memento_uri(state, i),
            http_date(self.mementos[i].at)
        )
    }

    /// Memento `i` and those around it, each once with all its relations (RFC 7089 §2.2.1):
    /// first, prev, itself, next, last.
    fn memento_links(&self, state: &AppState, i: usize) -> Vec<String> {
        let last = self.last();
        let mut shown = vec![0, i.saturating_sub(1), i, (i + 1).min(last), last];
        shown.sort_unstable();
        shown.dedup();
        shown
            .into_iter()
            .map(|j| {
                let mut rel = Vec::new();
                if j == 0 {
                    rel.push("first");
                }
                if j == last {
                    rel.push("last");
                }
                if j + 1 == i {
                    rel.push("prev");
                }
                if j == i + 1 {
                    rel.push("next");
                }
                rel.push("memento");
                self.memento_link(state, j, &rel.join(" "))
            })
            .collect()
    }

    /// `Memento-Datetime` and `Link` of memento `i` (RFC 7089 §2.2).
    fn memento_headers(&self, state: &AppState, i: usize) -> HeaderMap {
        let mut links = self.resource_links(state, true);
        links.extend(self.memento_links(state, i));
        let mut headers = HeaderMap::new();
        insert(
            &mut headers,
            "memento-datetime",
            &http_date(self.mementos[i].at),
        );
        insert(&mut headers, header::LINK, &links.join(", "));
        headers
    }

    /// The memento headers of the page of an article's revision `number`; none when it has no
    /// page.
    pub(super) fn revision_headers(&self, state: &AppState, number: u32) -> HeaderMap {
        self.mementos
            .iter()
            .position(|m| m.revisions.contains(&number))
            .map(|i| self.memento_headers(state, i))
            .unwrap_or_default()
    }

    /// Where the reader links the page of revision `number`; none when it has no page.
    pub(super) fn revision_path(&self, number: u32) -> Option<String> {
        self.mementos
            .iter()
            .find(|m| m.revisions.contains(&number))
            .map(|m| memento_path(m.at, &self.original))
    }

    /// The TimeMap in link format (RFC 7089 §5.1.1), one link a line.
    fn link_format(&self, state: &AppState) -> String {
        let last = self.last();
        let mut lines = vec![
            format!("<{}>; rel=\"original\"", self.original),
            format!(
                "<{}>; rel=\"self\"; type=\"{LINK_FORMAT}\"; from=\"{}\"; until=\"{}\"",
                self.uri(state, TIMEMAP_LINK),
                http_date(self.mementos[0].at),
                http_date(self.mementos[last].at)
            ),
            format!(
                "<{}>; rel=\"timemap\"; type=\"application/json\"",
                self.uri(state, TIMEMAP_JSON)
            ),
            format!("<{}>; rel=\"timegate\"", self.uri(state, TIMEGATE)),
        ];
        for i in 0..=last {
            let rel = match (i == 0, i == last) {
                (true, true) => "first last memento",
                (true, false) => "first memento",
                (false, true) => "last memento",
                (false, false) => "memento",
            };
            lines.push(self.memento_link(state, i, rel));
        }
        let mut body = lines.join(",\n");
        body.push('\n');
        body
    }

    /// The TimeMap as JSON, in the form pywb and the Memento tools read.
    fn json(&self, state: &AppState) -> Value {
        let entry = |i: usize| {
            json!({
                "datetime": self.mementos[i].at.to_rfc3339_opts(SecondsFormat::Secs, true),
                "uri": self.memento_uri(state, i),
            })
        };
        json!({
            "original_uri": self.original,
            "timegate_uri": self.uri(state, TIMEGATE),
            "timemap_uri": {
                "link_format": self.uri(state, TIMEMAP_LINK),
                "json_format": self.uri(state, TIMEMAP_JSON),
            },
            "mementos": {
                "first": entry(0),
                "last": entry(self.last()),
                "list": (0..self.mementos.len()).map(entry).collect::<Vec<_>>(),
            },
        })
    }
}

/// `/web/{YYYYMMDDhhmmss}/{original}`: where a memento is, on this server.
pub(super) fn memento_path(at: DateTime<Utc>, original: &str) -> String {
    format!("{MEMENTO}{}/{original}", at.format("%Y%m%d%H%M%S"))
}

/// `/timemap/link/{original}`.
pub(super) fn timemap_path(original: &str) -> String {
    format!("{TIMEMAP_LINK}{original}")
}

/// An HTTP date (RFC 1123, in GMT), as `Memento-Datetime` and `datetime=` are written.
fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Sets a header whose value is made of URLs gazette wrote (ASCII); one that would not be a
/// valid value is left out rather than failing the answer.
fn insert(headers: &mut HeaderMap, name: impl header::IntoHeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
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

    fn captures(times: &[&str]) -> Captures {
        Captures {
            original: "http://portal.test/a?id=1".into(),
            resource: Resource::Asset,
            mementos: times
                .iter()
                .map(|t| Memento {
                    at: utc(t),
                    revisions: Vec::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_closest_memento_is_the_nearest_and_a_tie_goes_to_the_earlier() {
        let c = captures(&["2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z"]);
        for (asked, want) in [
            ("2020-01-01T00:00:00Z", 0),
            ("2026-01-01T00:00:00Z", 0),
            ("2026-01-01T23:59:59Z", 0),
            ("2026-01-02T00:00:00Z", 0),
            ("2026-01-02T00:00:01Z", 1),
            ("2026-01-03T00:00:00Z", 1),
            ("2030-01-01T00:00:00Z", 1),
        ] {
            assert_eq!(c.closest(utc(asked)), want, "{asked}");
        }
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
