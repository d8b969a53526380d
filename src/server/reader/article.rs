//! `/articles/{id}`: one article as a person reads it, with its revisions;
//! `/articles/{id}/diff` and `/api/articles/{id}/diff`: two revisions compared.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::browse::path_segment;
use super::{Layout, failed, feeds, portal_time, render};
use crate::diff::{Granularity, Kind, RevisionDiff, Span};
use crate::html::escape;
use crate::model::{Archived, ArticleId, Revision};
use crate::server::feed_cache::{Document, Rendered};
use crate::server::memento::{Captures, timemap_path};
use crate::server::query::Params;
use crate::server::{ApiError, AppState};

struct Attachment {
    href: String,
    title: String,
    size: String,
}

struct RevisionLine {
    date: String,
    title: String,
    diff_href: String,
    /// The memento of the page the revision was read from; empty when it is not kept.
    capture_href: String,
}

#[derive(askama::Template)]
#[template(path = "article.html")]
struct ArticlePage {
    layout: Layout,
    title: String,
    date: String,
    section: String,
    section_href: String,
    category: String,
    credit: String,
    gone: String,
    body: String,
    attachments: Vec<Attachment>,
    original: String,
    capture: String,
    /// The article URL's TimeMap (RFC 7089); empty when no page of it is kept.
    timemap: String,
    revisions: Vec<RevisionLine>,
}

/// Bytes in words: `1,2 MB`.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64).replace('.', ","),
        b if b >= 1 << 10 => format!("{:.0} KB", b as f64 / 1024.0),
        b => format!("{b} byte"),
    }
}

/// Where the reader downloads a captured file.
fn asset_href(url: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("url", url)
        .finish();
    format!("/api/assets?{query}")
}

/// The article and its revisions, or a 404.
fn load(state: &AppState, id: &str) -> Result<(Archived, Vec<Revision>), ApiError> {
    let id = ArticleId(id.to_string());
    let archived = state
        .archive
        .blocking()
        .article(&id)?
        .ok_or_else(|| ApiError::NotFound(format!("bài {id}")))?;
    let revisions = state.archive.blocking().revisions(&id)?;
    Ok((archived, revisions))
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(err) = Params::parse(q.as_deref(), &[]) {
        return failed(&state, &headers, err);
    }
    match state.blocking(move |state| build(state, &id)).await {
        Ok(page) => render(&headers, StatusCode::OK, &page),
        Err(err) => failed(&state, &headers, err),
    }
}

/// `body` with each `<img>` of `url` replaced by a link to it: the page's policy loads images
/// from the archive only.
fn link_uncaptured(body: &str, url: &str) -> String {
    let tag = format!("<img src=\"{}\"", escape(url));
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find(&tag) {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(&format!(
            "<a class=\"uncaptured\" href=\"{}\">Ảnh chưa lưu trong kho: xem ảnh trên cổng gốc</a>",
            escape(url)
        ));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

fn build(state: &AppState, id: &str) -> Result<ArticlePage, ApiError> {
    let (archived, revisions) = load(state, id)?;
    let article = &archived.article;
    let source = state.config.source(&article.source);
    let section = source.and_then(|s| s.section(&article.section));
    // Images captured are shown from the archive: the page loads nothing from elsewhere. One
    // not captured becomes a link to the portal's copy, which a person may open.
    let mut body = article.body_html.clone();
    for image in &article.images {
        if state.archive.blocking().asset(&image.url)?.is_some() {
            let from = format!("src=\"{}\"", escape(&image.url));
            let to = format!("src=\"{}\"", escape(&asset_href(&image.url)));
            body = body.replace(&from, &to);
        } else {
            body = link_uncaptured(&body, &image.url);
        }
    }
    let mut attachments = Vec::new();
    for attachment in &article.attachments {
        let captured = state.archive.blocking().asset(&attachment.url)?;
        attachments.push(Attachment {
            href: if captured.is_some() {
                asset_href(&attachment.url)
            } else {
                attachment.url.clone()
            },
            title: attachment.title.clone(),
            size: captured.map(|info| size(info.length)).unwrap_or_default(),
        });
    }
    let mut page_feeds = Vec::new();
    if let Some(source) = source {
        page_feeds = feeds(state, &format!("/feeds/{}", source.id), &source.name, "");
        if let Some(section) = section {
            page_feeds.extend(feeds(
                state,
                &format!("/feeds/{}/{}", source.id, section.id),
                &format!("{} — {}", source.name, section.name),
                "",
            ));
        }
    }
    let segment = path_segment(&article.id.0);
    let captures =
        Captures::of_article(state.archive.blocking().as_ref(), &article.url, &article.id)?;
    let capture_href = |number: u32| {
        captures
            .as_ref()
            .and_then(|captures| captures.revision_path(number))
            .unwrap_or_default()
    };
    Ok(ArticlePage {
        layout: Layout {
            title: article.title.clone(),
            feeds: page_feeds,
            query: String::new(),
        },
        title: article.title.clone(),
        date: portal_time(archived.sort_time(), source),
        section: section.map_or_else(|| article.section.clone(), |s| s.name.clone()),
        section_href: format!(
            "/sources/{}?section={}",
            path_segment(&article.source),
            path_segment(&article.section)
        ),
        // A category that repeats the section's name is shown once.
        category: article
            .category
            .clone()
            .filter(|c| section.is_none_or(|s| s.name != *c))
            .unwrap_or_default(),
        credit: article.credit.clone().unwrap_or_default(),
        gone: archived
            .gone_at
            .map(|t| portal_time(t, source))
            .unwrap_or_default(),
        body,
        attachments,
        original: article.url.clone(),
        capture: format!("/api/articles/{segment}/raw"),
        timemap: if captures.is_some() {
            timemap_path(&article.url)
        } else {
            String::new()
        },
        revisions: revisions
            .iter()
            .map(|r| RevisionLine {
                date: portal_time(r.fetched_at, source),
                title: r.article.title.clone(),
                diff_href: if r.number > 1 {
                    format!(
                        "/articles/{segment}/diff?from={}&to={}",
                        r.number - 1,
                        r.number
                    )
                } else {
                    String::new()
                },
                capture_href: capture_href(r.number),
            })
            .collect(),
    })
}

/// The revisions a diff asks for: `from` and `to`, each a number from 1.
fn revisions_asked(q: Option<&str>) -> Result<(u32, u32), ApiError> {
    let params = Params::parse(q, &["from", "to"])?;
    let number = |param: &'static str| -> Result<u32, ApiError> {
        let text = params
            .get(param)
            .ok_or_else(|| ApiError::bad(param, "give a revision number"))?;
        text.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::bad(
                param,
                format!("expected a revision number from 1, got {text:?}"),
            )
        })
    };
    Ok((number("from")?, number("to")?))
}

/// The revisions `from` and `to` of an article compared (refused, 413, past the diff's bound).
fn compare(
    state: &AppState,
    id: &str,
    (from, to): (u32, u32),
) -> Result<(Archived, RevisionDiff), ApiError> {
    let (archived, revisions) = load(state, id)?;
    let find = |n: u32| {
        revisions
            .iter()
            .find(|r| r.number == n)
            .ok_or_else(|| ApiError::NotFound(format!("phiên bản {n} của bài {id}")))
    };
    let diff = crate::diff::compare(find(from)?, find(to)?)
        .map_err(|err| ApiError::TooLarge(err.to_string()))?;
    Ok((archived, diff))
}

/// A diff, as the reader's page or as JSON, rendered once and served from the feed cache (its
/// byte budget, its bound on renders at once, its conditional answers and compression).
async fn serve_diff(
    state: &AppState,
    headers: &HeaderMap,
    id: String,
    asked: (u32, u32),
    page: bool,
) -> Result<Response, ApiError> {
    let key = Document::Diff {
        id: id.clone(),
        from: asked.0,
        to: asked.1,
        page,
    };
    let mut response = crate::server::feeds::serve(state, &key, headers, move |state| {
        let (archived, diff) = compare(state, &id, asked)?;
        let changed = diff.from_fetched_at.max(diff.to_fetched_at);
        if !page {
            let body = serde_json::to_vec(&diff)
                .map_err(|err| ApiError::Unavailable(format!("the diff ({err})")))?;
            return Ok(Rendered::new(
                body,
                changed,
                "application/json",
                "no-cache".into(),
                "diff",
            ));
        }
        let body = diff_page(state, &archived, &diff)
            .render()
            .map_err(|err| ApiError::Unavailable(format!("the diff page ({err})")))?;
        Ok(Rendered::new(
            body.into_bytes(),
            changed,
            "text/html; charset=utf-8",
            "no-cache".into(),
            "diff",
        ))
    })
    .await?;
    if page {
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(super::PAGE_POLICY),
        );
    }
    Ok(response)
}

struct SpanView {
    kind: &'static str,
    text: String,
}

fn views(spans: &[Span]) -> Vec<SpanView> {
    spans
        .iter()
        .map(|s| SpanView {
            kind: match s.kind {
                Kind::Same => "same",
                Kind::Inserted => "inserted",
                Kind::Deleted => "deleted",
                Kind::Elided => "elided",
            },
            text: s.text.clone(),
        })
        .collect()
}

#[derive(askama::Template)]
#[template(path = "diff.html")]
struct DiffPage {
    layout: Layout,
    title: String,
    from: u32,
    to: u32,
    from_date: String,
    to_date: String,
    article_href: String,
    unchanged: bool,
    by_paragraph: bool,
    title_spans: Vec<SpanView>,
    published: String,
    body_spans: Vec<SpanView>,
}

fn diff_page(state: &AppState, archived: &Archived, diff: &RevisionDiff) -> DiffPage {
    let source = state.config.source(&archived.article.source);
    let shown = |t: &crate::diff::Published| {
        t.map_or_else(|| "(không có)".to_string(), |t| portal_time(t, source))
    };
    DiffPage {
        layout: Layout {
            title: format!("Thay đổi: {}", archived.article.title),
            feeds: super::site_feeds(state),
            query: String::new(),
        },
        title: archived.article.title.clone(),
        from: diff.from,
        to: diff.to,
        from_date: portal_time(diff.from_fetched_at, source),
        to_date: portal_time(diff.to_fetched_at, source),
        article_href: format!("/articles/{}", path_segment(&archived.article.id.0)),
        unchanged: diff.is_empty(),
        by_paragraph: diff.by == Granularity::Paragraph,
        title_spans: diff.title.as_deref().map(views).unwrap_or_default(),
        published: diff
            .published
            .as_ref()
            .map(|(a, b)| format!("{} → {}", shown(a), shown(b)))
            .unwrap_or_default(),
        body_spans: views(&diff.body),
    }
}

pub async fn diff_page_route(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let served = match revisions_asked(q.as_deref()) {
        Ok(asked) => serve_diff(&state, &headers, id, asked, true).await,
        Err(err) => Err(err),
    };
    served.unwrap_or_else(|err| failed(&state, &headers, err))
}

pub async fn diff_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let served = match revisions_asked(q.as_deref()) {
        Ok(asked) => serve_diff(&state, &headers, id, asked, false).await,
        Err(err) => Err(err),
    };
    served.unwrap_or_else(IntoResponse::into_response)
}
