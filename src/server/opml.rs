//! `/feeds.opml`: the feeds for a reader to import in one go, served like a feed (ETag,
//! Last-Modified, 304).

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;

use super::feed_cache::{Document, Rendered};
use super::feeds::{last_change, live, serve};
use super::query::Params;
use super::{ApiError, AppState};
use crate::feed::{self, Format, OpmlFeed};

pub fn router() -> Router<AppState> {
    Router::new().route("/feeds.opml", get(opml))
}

/// `/feeds.opml?format=atom|rss`: one outline per feed, all in one format, so that a reader
/// importing it gets each article once; section feeds only where a source has more than one
/// section (else the section feed repeats the source feed).
async fn opml(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &["format"])?;
    let format = match params.get("format") {
        None => Format::Atom,
        Some(text) => match Format::from_extension(text) {
            Some(format @ (Format::Atom | Format::Rss)) => format,
            _ => {
                return Err(ApiError::bad(
                    "format",
                    format!("expected atom or rss, got {text:?}"),
                ));
            }
        },
    };
    serve(&state, &Document::Opml { format }, &headers, move |state| {
        let mut feeds = Vec::new();
        let mut created = None;
        for source in &state.config.sources {
            feeds.push(OpmlFeed {
                title: format!("{} ({})", source.name, format.name()),
                xml_url: state.public(&format!("/feeds/{}.{}", source.id, format.extension())),
                html_url: source.base_url().clone(),
                format,
            });
            if source.sections.len() > 1 {
                for section in &source.sections {
                    feeds.push(OpmlFeed {
                        title: format!("{} — {} ({})", source.name, section.name, format.name()),
                        xml_url: state.public(&format!(
                            "/feeds/{}/{}.{}",
                            source.id,
                            section.id,
                            format.extension()
                        )),
                        html_url: source.list_url(section),
                        format,
                    });
                }
            }
            created = created.max(last_change(state, source)?);
        }
        // An empty archive has no change to tell: the list is as new as this answer.
        let created = created.unwrap_or_else(|| Utc::now().fixed_offset());
        let body = feed::opml("gazette feeds", &feeds, created);
        Ok(Rendered::new(
            body,
            created,
            "text/x-opml; charset=utf-8",
            live(state),
            "opml",
        ))
    })
    .await
}
