//! An original URL's mementos, and how Memento (RFC 7089) writes them: the `Link` headers of a
//! TimeGate and a memento, and the TimeMap in link format and as JSON.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde_json::{Value, json};

use super::{LINK_FORMAT, MEMENTO, TIMEGATE, TIMEMAP_JSON, TIMEMAP_LINK};
use crate::archive::{Archive, ArchiveError};
use crate::model::ArticleId;
use crate::server::AppState;

/// What an original URL is in the archive.
#[derive(Debug, Clone)]
pub(super) enum Resource {
    Article(ArticleId),
    /// An attachment or image: the archive keeps where its latest capture is.
    Asset,
}

#[derive(Debug, Clone)]
pub(super) struct Memento {
    /// The fetch time, to the second.
    pub(super) at: DateTime<Utc>,
    /// The article's revisions whose page was fetched in that second, in order: one, or more
    /// when `gazette reparse` read it again (a revision it makes has the time of the page it
    /// read). The last is the one served. Empty for an asset.
    pub(super) revisions: Vec<u32>,
}

/// An original URL and its mementos, oldest first, one per second, never none.
pub(in crate::server) struct Captures {
    pub(super) original: String,
    pub(super) resource: Resource,
    pub(super) mementos: Vec<Memento>,
}

impl Captures {
    /// An article's mementos, its revisions' pages, read from the index alone; none when no
    /// page of it is kept.
    pub(in crate::server) fn of_article(
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
    pub(super) fn closest(&self, at: DateTime<Utc>) -> usize {
        let after = self.mementos.partition_point(|m| m.at < at);
        match (after.checked_sub(1), self.mementos.get(after)) {
            (Some(before), Some(next)) if at - self.mementos[before].at > next.at - at => after,
            (Some(before), _) => before,
            (None, _) => after,
        }
    }

    pub(super) fn last(&self) -> usize {
        self.mementos.len() - 1
    }

    /// An absolute URL of this server for the original URL under `prefix`.
    fn uri(&self, state: &AppState, prefix: &str) -> String {
        state
            .public(&format!("{prefix}{}", self.original))
            .to_string()
    }

    pub(super) fn memento_uri(&self, state: &AppState, i: usize) -> String {
        state
            .public(&memento_path(self.mementos[i].at, &self.original))
            .to_string()
    }

    /// The links to the original resource, its TimeMaps and (unless this is it) its TimeGate.
    pub(super) fn resource_links(&self, state: &AppState, timegate: bool) -> Vec<String> {
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
    pub(super) fn memento_links(&self, state: &AppState, i: usize) -> Vec<String> {
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
    pub(super) fn memento_headers(&self, state: &AppState, i: usize) -> HeaderMap {
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
    pub(in crate::server) fn revision_headers(&self, state: &AppState, number: u32) -> HeaderMap {
        self.mementos
            .iter()
            .position(|m| m.revisions.contains(&number))
            .map(|i| self.memento_headers(state, i))
            .unwrap_or_default()
    }

    /// Where the reader links the page of revision `number`; none when it has no page.
    pub(in crate::server) fn revision_path(&self, number: u32) -> Option<String> {
        self.mementos
            .iter()
            .find(|m| m.revisions.contains(&number))
            .map(|m| memento_path(m.at, &self.original))
    }

    /// The TimeMap in link format (RFC 7089 §5.1.1), one link a line.
    pub(super) fn link_format(&self, state: &AppState) -> String {
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
    pub(super) fn json(&self, state: &AppState) -> Value {
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
pub(in crate::server) fn memento_path(at: DateTime<Utc>, original: &str) -> String {
    format!("{MEMENTO}{}/{original}", at.format("%Y%m%d%H%M%S"))
}

/// `/timemap/link/{original}`.
pub(in crate::server) fn timemap_path(original: &str) -> String {
    format!("{TIMEMAP_LINK}{original}")
}

/// An HTTP date (RFC 1123, in GMT), as `Memento-Datetime` and `datetime=` are written.
fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Sets a header whose value is made of URLs gazette wrote (ASCII); one that would not be a
/// valid value is left out rather than failing the answer.
pub(super) fn insert(headers: &mut HeaderMap, name: impl header::IntoHeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
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
}
