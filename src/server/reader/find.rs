//! `/search`: the search box's answers with highlighted snippets, filters and paging; a search
//! that finds nothing says so and offers the query without tones.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::browse::Item;
use super::{Layout, failed, feeds, render};
use crate::search::analysis::folded;
use crate::server::query::Params;
use crate::server::search::{self, PARAMETERS};
use crate::server::{ApiError, AppState};

struct SourceOption {
    id: String,
    name: String,
    current: bool,
}

#[derive(askama::Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    sources: Vec<SourceOption>,
    since: String,
    until: String,
    newest: bool,
    searched: bool,
    error: String,
    items: Vec<Item>,
    next: String,
    suggestion: String,
    suggestion_href: String,
    feeds_note: String,
}

/// `/search?` with `pairs`, and `cursor` when given.
fn link(pairs: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        if !value.is_empty() {
            query.append_pair(name, value);
        }
    }
    format!("/search?{}", query.finish())
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let params = match Params::parse(q.as_deref(), PARAMETERS) {
        Ok(params) => params,
        Err(err) => return failed(&state, &headers, err),
    };
    let text = params.get("q").unwrap_or_default().to_string();
    let source = params.get("source").unwrap_or_default().to_string();
    let mut page = SearchPage {
        layout: Layout {
            title: if text.is_empty() {
                "Tìm kiếm".into()
            } else {
                format!("Tìm: {text}")
            },
            feeds: super::site_feeds(&state),
            query: text.clone(),
        },
        sources: state
            .config
            .sources
            .iter()
            .map(|s| SourceOption {
                id: s.id.to_string(),
                name: s.name.clone(),
                current: s.id.as_str() == source,
            })
            .collect(),
        since: params.get("since").unwrap_or_default().to_string(),
        until: params.get("until").unwrap_or_default().to_string(),
        newest: params.get("order") == Some("newest"),
        searched: false,
        error: String::new(),
        items: Vec::new(),
        next: String::new(),
        suggestion: String::new(),
        suggestion_href: String::new(),
        feeds_note: String::new(),
    };
    if !text.trim().is_empty() {
        match search::request(&state, &params) {
            Err(ApiError::BadParameter { detail, .. }) => page.error = detail,
            Err(other) => return failed(&state, &headers, other),
            Ok(request) => match search::run(&state, request).await {
                Ok(found) => {
                    page.searched = true;
                    page.items = found
                        .hits
                        .iter()
                        .map(|hit| Item::of(&state, &hit.archived, hit.snippet.clone()))
                        .collect();
                    let order = params.get("order").unwrap_or_default();
                    let kept = [
                        ("q", text.as_str()),
                        ("source", source.as_str()),
                        ("section", params.get("section").unwrap_or_default()),
                        ("since", page.since.as_str()),
                        ("until", page.until.as_str()),
                        ("order", order),
                    ];
                    if let Some(next) = found.next {
                        let cursor = next.encode();
                        let mut pairs = kept.to_vec();
                        pairs.push(("cursor", cursor.as_str()));
                        page.next = link(&pairs);
                    }
                    let plain = folded(&text);
                    if page.items.is_empty() && plain != text {
                        page.suggestion_href = link(&[("q", plain.as_str())]);
                        page.suggestion = plain;
                    }
                    // The search as a feed: of its source, else of the first.
                    let feed_source = state
                        .config
                        .source(&source)
                        .or(state.config.sources.first());
                    if let Some(feed_source) = feed_source {
                        let query: String = url::form_urlencoded::Serializer::new(String::new())
                            .append_pair("q", &text)
                            .finish();
                        page.layout.feeds = feeds(
                            &state,
                            &format!("/feeds/{}", feed_source.id),
                            &format!("{} — {text}", feed_source.name),
                            &format!("?{query}"),
                        );
                        page.feeds_note = "yes".into();
                    }
                }
                Err(ApiError::BadParameter { detail, .. }) => page.error = detail,
                Err(other) => return failed(&state, &headers, other),
            },
        }
    }
    render(&headers, StatusCode::OK, &page)
}
