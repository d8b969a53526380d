//! `/` and `/metrics` (`/healthz` is in `health`).

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use crate::feed::Format;
use crate::html::escape;

/// The index page's policy: it has no script and no style (inline or not), loads nothing but
/// what this server serves, and is never framed.
const PAGE_POLICY: &str =
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/metrics", get(metrics))
}

/// Sources, sections and their feeds, with autodiscovery links for every feed.
async fn index(State(state): State<AppState>) -> Response {
    let status = state.status.snapshot();
    let mut links = String::new();
    let mut body = String::new();
    let feed_list = |path: &str, title: &str, links: &mut String| -> String {
        let mut out = String::from("<ul class=\"feeds\">");
        for format in Format::ALL {
            let (kind, name) = (format.media_type(), format.name());
            let url = state.public(&format!("{path}.{}", format.extension()));
            links.push_str(&format!(
                "<link rel=\"alternate\" type=\"{kind}\" title=\"{} ({name})\" href=\"{}\">\n",
                escape(title),
                escape(url.as_str())
            ));
            out.push_str(&format!(
                "<li><a href=\"{}\">{name}</a></li>",
                escape(url.as_str())
            ));
        }
        out.push_str("</ul>");
        out
    };
    for source in &state.config.sources {
        let source_status = status.get(source.id.as_str());
        let last = source_status
            .and_then(|s| s.last_run.as_ref())
            .map(|r| {
                format!(
                    "{} ({} new, {} revised, {} failed{})",
                    r.finished.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    r.new,
                    r.revised,
                    r.failed,
                    if r.complete { "" } else { ", incomplete" }
                )
            })
            .unwrap_or_else(|| "not yet".to_string());
        let next = source_status
            .and_then(|s| s.next_run)
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "not scheduled".to_string());
        body.push_str(&format!(
            "<section><h2>{}</h2><p><a href=\"{}\">{}</a></p><p>Last run: {}. Next run: {}.</p>",
            escape(&source.name),
            escape(source.base_url().as_str()),
            escape(source.base_url().as_str()),
            escape(&last),
            escape(&next)
        ));
        body.push_str(&feed_list(
            &format!("/feeds/{}", source.id),
            &source.name,
            &mut links,
        ));
        for section in &source.sections {
            let title = format!("{} — {}", source.name, section.name);
            body.push_str(&format!("<h3>{}</h3>", escape(&section.name)));
            body.push_str(&feed_list(
                &format!("/feeds/{}/{}", source.id, section.id),
                &title,
                &mut links,
            ));
        }
        body.push_str("</section>\n");
    }
    let opml_atom = state.public("/feeds.opml?format=atom");
    let opml_rss = state.public("/feeds.opml?format=rss");
    let page = Html(format!(
        "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\"><title>gazette</title>\n{links}</head>\n<body><h1>gazette</h1>\n{body}<p>All feeds, for a reader: <a href=\"{}\">OPML of the Atom feeds</a>, <a href=\"{}\">OPML of the RSS feeds</a></p></body></html>\n",
        escape(opml_atom.as_str()),
        escape(opml_rss.as_str())
    ));
    ([(header::CONTENT_SECURITY_POLICY, PAGE_POLICY)], page).into_response()
}

async fn metrics() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::METRICS.render(),
    )
        .into_response()
}
