//! The reader's pages through `app(state)`: status, ETag and 304, the strict policy, escaping,
//! dates as the portal writes them, diffs, search pages and saved searches as feeds.

use gazette::archive::prelude::*;
use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use chrono::{FixedOffset, TimeZone};
use gazette::model::{ArticleId, Capture};
use gazette::search::SearchIndex;
use gazette::server::app;

use crate::server::{Served, call, get, served};

const POLICY: &str =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The recorded portal served with a search index, and the router over both.
async fn reader() -> (Served, Router) {
    let s = served().await;
    let dir = SearchIndex::dir(&s.state.config.storage.path);
    let (index, _) = SearchIndex::open(&dir, s.archive.as_ref()).unwrap();
    let state = s.state.clone();
    assert!(state.search.set(Arc::new(index)).is_ok());
    let router = app(state);
    (s, router)
}

/// Stores a revision of article `id` changed by `change`, and brings the index up to date.
fn revise(s: &Served, id: &str, change: impl FnOnce(&mut gazette::model::Article)) {
    let archived = s.archive.article(&ArticleId(id.into())).unwrap().unwrap();
    let mut article = archived.article.clone();
    change(&mut article);
    article.content_hash = format!("{}-revised", article.content_hash);
    let capture = Capture {
        url: article.url.clone(),
        status: 200,
        headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
        body: b"<html></html>".to_vec(),
    };
    let at = FixedOffset::east_opt(7 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 1, 2, 9, 30, 0)
        .unwrap();
    s.archive.store(&article, &capture, at).unwrap();
}

fn has_portal_date(html: &str) -> bool {
    regex::Regex::new(r"<time>\d\d/\d\d/\d{4} \d\d:\d\d</time>")
        .unwrap()
        .is_match(html)
}

#[tokio::test]
async fn every_page_has_an_etag_the_policy_and_vietnamese_labels() {
    let (_s, router) = reader().await;
    let index = get(&router, "/").await;
    index.expect_status(StatusCode::OK, format_args!("/"));
    let html = index.text();
    assert!(html.contains("<html lang=\"vi\">"));
    assert!(
        html.contains("Hội nghị xúc tiến đầu tư vào Khu kinh tế cửa khẩu Hà Tiên"),
        "{html}"
    );
    assert!(
        has_portal_date(&html),
        "dates as the portal writes them: {html}"
    );
    assert!(html.contains("href=\"/reader.css\""));
    let month = regex::Regex::new(r#"href="(/sources/bqlkkt/\d{4}-\d\d)""#)
        .unwrap()
        .captures(&html)
        .unwrap_or_else(|| panic!("the index links the months: {html}"))[1]
        .to_string();
    let article = regex::Regex::new(r#"href="(/articles/[^"]+)""#)
        .unwrap()
        .captures(&html)
        .unwrap()[1]
        .to_string();
    for path in [
        "/",
        "/sources/bqlkkt",
        "/sources/bqlkkt?section=tin-ban-quan-ly",
        month.as_str(),
        article.as_str(),
        "/search",
        "/search?q=ha+tien",
    ] {
        let page = get(&router, path).await;
        page.expect_status(StatusCode::OK, format_args!("{path}"));
        assert_eq!(
            page.header(header::CONTENT_SECURITY_POLICY),
            POLICY,
            "{path}"
        );
        let html = page.text();
        for inline in ["<script", "<style", " style=", " onload=", " onclick="] {
            assert!(
                !html.contains(inline),
                "{path}: the policy would block {inline}"
            );
        }
        assert!(
            html.contains("rel=\"alternate\""),
            "{path}: feeds autodiscovery"
        );
        let etag = page.header(header::ETAG).to_string();
        assert!(etag.starts_with('"'), "{path}: {etag:?}");
        let again = call(&router, "GET", path, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
    }
    let css = get(&router, "/reader.css").await;
    assert!(css.header(header::CONTENT_TYPE).starts_with("text/css"));
    assert!(css.text().contains("font"));
}

#[tokio::test]
async fn an_article_page_shows_its_text_figures_attachments_and_revisions() {
    let (s, router) = reader().await;
    let page = get(&router, "/articles/bqlkkt:1229").await;
    page.expect_status(StatusCode::OK, format_args!("article"));
    let html = page.text();
    let archived = s
        .archive
        .article(&ArticleId("bqlkkt:1229".into()))
        .unwrap()
        .unwrap();
    assert!(html.contains("<h1>Hội nghị xúc tiến đầu tư vào Khu kinh tế cửa khẩu Hà Tiên</h1>"));
    assert!(has_portal_date(&html));
    assert!(html.contains("<p>"), "paragraphs");
    assert!(html.contains("href=\"/api/articles/bqlkkt:1229/raw\""));
    assert!(html.contains(&format!(
        "href=\"{}\"",
        gazette::html::escape(&archived.article.url)
    )));

    // Article 1234 has three figures, two with captions, captured by default: each is shown
    // from the archive, never from the portal (the page's policy would block it).
    let figures = s
        .archive
        .article(&ArticleId("bqlkkt:1234".into()))
        .unwrap()
        .unwrap()
        .article;
    let html = get(&router, "/articles/bqlkkt:1234").await.text();
    assert_eq!(figures.images.len(), 3);
    for image in &figures.images {
        let url = gazette::html::escape(&image.url);
        let archived = archived_image_href(&image.url);
        assert!(
            html.contains(&format!(
                "<img src=\"{}\"",
                gazette::html::escape(&archived)
            )),
            "{archived} in {html}"
        );
        assert!(!html.contains(&format!("src=\"{url}\"")), "{url}");
        let served = get(&router, &archived).await;
        served.expect_status(StatusCode::OK, format_args!("{archived}"));
        assert_eq!(served.header(header::CONTENT_TYPE), "image/jpeg");
        assert!(
            served.body.starts_with(b"\xff\xd8\xff"),
            "{archived}: a JPEG"
        );
        if let Some(caption) = &image.caption {
            assert!(html.contains(&gazette::html::escape(caption)), "{caption}");
        }
    }
    assert!(!html.contains("class=\"uncaptured\""), "{html}");
    assert_eq!(html.matches("<figcaption>").count(), 2, "{html}");

    // Article 1236 links a PDF and a .doc: both listed.
    let annexes = s
        .archive
        .article(&ArticleId("bqlkkt:1236".into()))
        .unwrap()
        .unwrap()
        .article;
    let html = get(&router, "/articles/bqlkkt:1236").await.text();
    assert_eq!(annexes.attachments.len(), 2);
    for attachment in &annexes.attachments {
        assert!(
            html.contains(&gazette::html::escape(&attachment.title)),
            "{}",
            attachment.title
        );
    }

    assert!(html.contains("Phiên bản"));
    let missing = get(&router, "/articles/bqlkkt:0").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.text().contains("lang=\"vi\""),
        "a 404 page in the reader's style"
    );
    let browser = call(&router, "GET", "/no/such/page", &[("accept", "text/html")]).await;
    assert_eq!(browser.status, StatusCode::NOT_FOUND);
    assert!(browser.text().contains("Không tìm thấy trang"));
}

/// Where the reader shows a captured image from: the archive's copy.
fn archived_image_href(url: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("url", url)
        .finish();
    format!("/api/assets?{query}")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_not_captured_is_a_link_to_the_portal_never_an_image() {
    let portal = crate::support::TestPortal::start(
        gazette::replay::Recording::load(&crate::support::fixture("portal")).unwrap(),
        &[
            crate::support::FAST_CRAWL,
            &[("capture", "[\"attachments\"]")],
        ]
        .concat(),
    )
    .await;
    let s = crate::server::served_from(portal, |_| ()).await;
    let figures = s
        .archive
        .article(&ArticleId("bqlkkt:1234".into()))
        .unwrap()
        .unwrap()
        .article;
    let html = get(&s.app, "/articles/bqlkkt:1234").await.text();
    assert_eq!(figures.images.len(), 3);
    for image in &figures.images {
        let url = gazette::html::escape(&image.url);
        assert!(
            html.contains(&format!("<a class=\"uncaptured\" href=\"{url}\">")),
            "{url} in {html}"
        );
        assert!(!html.contains(&format!("<img src=\"{url}\"")), "{url}");
        assert!(!html.contains("/api/assets?"), "{html}");
    }
}

#[tokio::test]
async fn titles_and_text_are_escaped() {
    let (s, router) = reader().await;
    revise(&s, "bqlkkt:1180", |a| {
        a.title = "<script>alert(1)</script> & co".into()
    });
    for path in ["/", "/articles/bqlkkt:1180", "/sources/bqlkkt"] {
        let html = get(&router, path).await.text();
        assert!(!html.contains("<script>alert"), "{path}: {html}");
        let at = html
            .find("alert")
            .unwrap_or_else(|| panic!("{path}: the title is shown: {html}"));
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; co"),
            "{path}: {}",
            &html[at.saturating_sub(80)..at + 80]
        );
    }
}

#[tokio::test]
async fn a_diff_marks_the_changed_word_as_html_and_json() {
    let (s, router) = reader().await;
    revise(&s, "bqlkkt:1229", |a| {
        a.body_text = a.body_text.replacen("Hà Tiên", "Phú Quốc", 1);
        a.title = a.title.replace("Hội nghị", "Hội thảo");
    });
    let page = get(&router, "/articles/bqlkkt:1229/diff?from=1&to=2").await;
    page.expect_status(StatusCode::OK, format_args!("diff"));
    let html = page.text();
    assert!(
        html.contains("<del>Hà Tiên") && html.contains("<ins>Phú Quốc"),
        "{html}"
    );
    assert!(
        html.contains("<del>nghị</del>") && html.contains("<ins>thảo</ins>"),
        "title first: {html}"
    );
    assert!(html.find("<ins>thảo</ins>") < html.find("<ins>Phú Quốc"));
    let json = get(&router, "/api/articles/bqlkkt:1229/diff?from=1&to=2")
        .await
        .json();
    let inserted: Vec<&str> = json["body"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "inserted")
        .filter_map(|s| s["text"].as_str())
        .collect();
    assert_eq!(inserted, ["Phú Quốc."]);
    let bad = get(&router, "/api/articles/bqlkkt:1229/diff?from=1&to=9").await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
    assert!(
        bad.header(header::CONTENT_TYPE)
            .starts_with("application/json")
    );
    let bad = get(&router, "/api/articles/bqlkkt:1229/diff?from=x&to=2").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // The page itself answers a bad address with a page a person reads, naming the parameter.
    let bad = get(&router, "/articles/bqlkkt:1229/diff?from=x&to=2").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.header(header::CONTENT_TYPE).starts_with("text/html"));
    let html = bad.text();
    assert!(
        html.contains("Địa chỉ không hợp lệ") && html.contains("Tham số from"),
        "{html}"
    );
}

#[tokio::test]
async fn search_pages_mark_matches_and_suggest_the_folded_form() {
    let (_s, router) = reader().await;
    let html = get(&router, "/search?q=ha+tien").await.text();
    assert!(
        html.contains("Hội nghị xúc tiến đầu tư vào Khu kinh tế cửa khẩu Hà Tiên"),
        "{html}"
    );
    assert!(html.contains("<mark>Hà</mark> <mark>Tiên</mark>"), "{html}");
    let none = get(
        &router,
        "/search?q=%22H%C3%A0+Ti%E1%BB%81n+%C4%91%E1%BA%A5t%22",
    )
    .await
    .text();
    assert!(none.contains("Không tìm thấy bài nào"), "{none}");
    assert!(
        none.contains("Ha Tien dat"),
        "the folded form is offered: {none}"
    );
    let api = get(&router, "/api/search?q=d%E1%BA%A7u+t%C6%B0&limit=1")
        .await
        .json();
    assert_eq!(api["results"].as_array().unwrap().len(), 1);
    assert!(api["results"][0]["score"].as_f64().unwrap() > 0.0);
    assert!(
        api["results"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<mark>")
    );
    let cursor = api["next_cursor"]
        .as_str()
        .expect("more than one result")
        .to_string();
    let next = get(
        &router,
        &format!("/api/search?q=dau+tu&limit=1&cursor={cursor}"),
    )
    .await
    .json();
    assert_ne!(
        next["results"][0]["article"]["id"],
        api["results"][0]["article"]["id"]
    );
    let bad = get(&router, "/api/search?q=-x").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["error"], "bad parameter: q");
}

#[tokio::test]
async fn a_saved_search_is_a_feed_keyed_by_its_normalised_query() {
    let (_s, router) = reader().await;
    let atom = get(
        &router,
        "/feeds/bqlkkt.atom?q=khu+kinh+t%E1%BA%BF+c%E1%BB%ADa+kh%E1%BA%A9u",
    )
    .await;
    atom.expect_status(StatusCode::OK, format_args!("atom"));
    let feed = feed_rs::parser::parse(atom.body.as_slice()).unwrap();
    assert!(!feed.entries.is_empty());
    assert!(
        feed.entries.len() < 9,
        "only the matching articles: {}",
        feed.entries.len()
    );
    let spaced = get(
        &router,
        "/feeds/bqlkkt.atom?q=khu++kinh+t%E1%BA%BF+c%E1%BB%ADa+kh%E1%BA%A9u",
    )
    .await;
    assert_eq!(spaced.header(header::ETAG), atom.header(header::ETAG));
    for format in ["rss", "json"] {
        let other = get(&router, &format!("/feeds/bqlkkt.{format}?q=ha+tien")).await;
        other.expect_status(StatusCode::OK, format_args!("{format}"));
    }
    let unknown = get(&router, "/feeds/bqlkkt.atom?q=ha&x=1").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let long = get(
        &router,
        &format!("/feeds/bqlkkt.atom?q={}", "a+".repeat(400)),
    )
    .await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
}
