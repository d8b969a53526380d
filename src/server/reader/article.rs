//! `/articles/{id}`: one article as a person reads it, with its revisions;
//! `/articles/{id}/diff` and `/api/articles/{id}/diff`: two revisions compared.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::browse::path_segment;
use super::{Layout, failed, feeds, portal_time, render};
use crate::diff::{Kind, RevisionDiff, Span};
use crate::html::escape;
use crate::model::{Archived, ArticleId, Revision};
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
        .article(&id)?
        .ok_or_else(|| ApiError::NotFound(format!("bài {id}")))?;
    let revisions = state.archive.revisions(&id)?;
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
    let worker = state.clone();
    let built = tokio::task::spawn_blocking(move || build(&worker, &id)).await;
    match built {
        Ok(Ok(page)) => render(&headers, StatusCode::OK, &page),
        Ok(Err(err)) => failed(&state, &headers, err),
        Err(err) => failed(&state, &headers, ApiError::Internal(err)),
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
        if state.archive.asset(&image.url)?.is_some() {
            let from = format!("src=\"{}\"", escape(&image.url));
            let to = format!("src=\"{}\"", escape(&asset_href(&image.url)));
            body = body.replace(&from, &to);
        } else {
            body = link_uncaptured(&body, &image.url);
        }
    }
    let mut attachments = Vec::new();
    for attachment in &article.attachments {
        let captured = state.archive.asset(&attachment.url)?;
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
            })
            .collect(),
    })
}

/// The two revisions `from` and `to` of an article compared.
fn compare(
    state: &AppState,
    id: &str,
    q: Option<&str>,
) -> Result<(Archived, RevisionDiff), ApiError> {
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
    let (from, to) = (number("from")?, number("to")?);
    let (archived, revisions) = load(state, id)?;
    let find = |n: u32| {
        revisions
            .iter()
            .find(|r| r.number == n)
            .ok_or_else(|| ApiError::NotFound(format!("phiên bản {n} của bài {id}")))
    };
    let diff = crate::diff::compare(find(from)?, find(to)?);
    Ok((archived, diff))
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
    title_spans: Vec<SpanView>,
    published: String,
    body_spans: Vec<SpanView>,
}

pub async fn diff_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let worker = state.clone();
    let compared = tokio::task::spawn_blocking(move || {
        let (archived, diff) = compare(&worker, &id, q.as_deref())?;
        let source = worker.config.source(&archived.article.source);
        let shown = |t: &crate::diff::Published| {
            t.map_or_else(|| "(không có)".to_string(), |t| portal_time(t, source))
        };
        Ok::<_, ApiError>(DiffPage {
            layout: Layout {
                title: format!("Thay đổi: {}", archived.article.title),
                feeds: super::site_feeds(&worker),
                query: String::new(),
            },
            title: archived.article.title.clone(),
            from: diff.from,
            to: diff.to,
            from_date: portal_time(diff.from_fetched_at, source),
            to_date: portal_time(diff.to_fetched_at, source),
            article_href: format!("/articles/{}", path_segment(&archived.article.id.0)),
            unchanged: diff.is_empty(),
            title_spans: diff.title.as_deref().map(views).unwrap_or_default(),
            published: diff
                .published
                .as_ref()
                .map(|(a, b)| format!("{} → {}", shown(a), shown(b)))
                .unwrap_or_default(),
            body_spans: views(&diff.body),
        })
    })
    .await;
    match compared {
        Ok(Ok(page)) => render(&headers, StatusCode::OK, &page),
        Ok(Err(err)) => failed(&state, &headers, err),
        Err(err) => failed(&state, &headers, ApiError::Internal(err)),
    }
}

pub async fn diff_json(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let compared = tokio::task::spawn_blocking(move || compare(&state, &id, q.as_deref())).await;
    match compared {
        Ok(Ok((_, diff))) => Json(diff).into_response(),
        Ok(Err(err)) => err.into_response(),
        Err(err) => ApiError::Internal(err).into_response(),
    }
}
