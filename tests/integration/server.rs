//! The HTTP interface, through `app(state)` with `oneshot` (no socket) and a few times through a
//! real listener: feeds parsed back by an independent parser, docs/FEEDS.md's HTTP rules, RFC 5005
//! history, the API and its errors.

use gazette::archive::prelude::*;
use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use gazette::archive::{Archive, Query, SledArchive};
use gazette::model::{Archived, ArticleId};
use gazette::server::{AppState, app};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::support::TestPortal;

pub(crate) struct Served {
    pub(crate) _portal: TestPortal,
    pub(crate) archive: Arc<SledArchive>,
    pub(crate) state: AppState,
    pub(crate) app: Router,
}

pub(crate) async fn served() -> Served {
    served_with(|_| ()).await
}

/// The recorded portal crawled and served with the portal config, changed by `configure`.
pub(crate) async fn served_with(configure: impl FnOnce(&mut gazette::config::Config)) -> Served {
    served_from(TestPortal::recorded().await, configure).await
}

/// `portal` crawled once and served with its config, changed by `configure`.
pub(crate) async fn served_from(
    portal: TestPortal,
    configure: impl FnOnce(&mut gazette::config::Config),
) -> Served {
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert_eq!(report.new, 9);
    let mut config = portal.config.clone();
    configure(&mut config);
    let config = Arc::new(config);
    let state = AppState::new(
        config,
        archive.clone(),
        gazette::schedule::Status::default(),
    );
    let app = app(state.clone());
    Served {
        _portal: portal,
        archive,
        state,
        app,
    }
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// Panics unless the answer has status `want`, showing the status, headers and body.
    pub(crate) fn expect_status(
        &self,
        want: StatusCode,
        context: std::fmt::Arguments<'_>,
    ) -> &Answer {
        assert_eq!(
            self.status,
            want,
            "{context}: headers {:?}\n--- body ---\n{}",
            self.headers,
            self.text()
        );
        self
    }
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

pub(crate) async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

pub(crate) async fn get(app: &Router, uri: &str) -> Answer {
    call(app, "GET", uri, &[]).await
}

fn all_archived(archive: &SledArchive) -> Vec<Archived> {
    archive.articles(&Query::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_format_parses_back_field_by_field() {
    let s = served().await;
    let archived = all_archived(&s.archive);
    for (path, content_type) in [
        ("/feeds/bqlkkt.rss", "application/rss+xml; charset=utf-8"),
        ("/feeds/bqlkkt.atom", "application/atom+xml; charset=utf-8"),
        ("/feeds/bqlkkt.json", "application/feed+json; charset=utf-8"),
        (
            "/feeds/bqlkkt/tin-ban-quan-ly.rss",
            "application/rss+xml; charset=utf-8",
        ),
        (
            "/feeds/bqlkkt/tin-ban-quan-ly.atom",
            "application/atom+xml; charset=utf-8",
        ),
        (
            "/feeds/bqlkkt/tin-ban-quan-ly.json",
            "application/feed+json; charset=utf-8",
        ),
    ] {
        let answer = get(&s.app, path).await;
        answer.expect_status(StatusCode::OK, format_args!("{path}"));
        assert_eq!(answer.header(header::CONTENT_TYPE), content_type, "{path}");
        let feed =
            feed_rs::parser::parse(&answer.body[..]).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(feed.entries.len(), 9, "{path}");
        assert_eq!(feed.language.as_deref(), Some("vi"), "{path}");
        for (entry, archived) in feed.entries.iter().zip(&archived) {
            let article = &archived.article;
            assert_eq!(
                entry.title.as_ref().map(|t| t.content.as_str()),
                Some(article.title.as_str()),
                "{path}"
            );
            let published = entry
                .published
                .unwrap_or_else(|| panic!("{path}: {} has no date", article.id));
            assert_eq!(
                published,
                article.published.unwrap().with_timezone(&chrono::Utc),
                "{path}: {}",
                article.id
            );
            assert_eq!(
                entry.links.first().map(|l| l.href.as_str()),
                Some(article.url.as_str()),
                "{path}"
            );
            let content = entry
                .content
                .as_ref()
                .and_then(|c| c.body.clone())
                .unwrap_or_default();
            let first = article.body_text.split("\n\n").next().unwrap();
            assert!(
                content.contains(
                    first
                        .split(' ')
                        .take(6)
                        .collect::<Vec<_>>()
                        .join(" ")
                        .as_str()
                ),
                "{path}: body of {}",
                article.id
            );
            let summary = entry
                .summary
                .as_ref()
                .map(|t| t.content.clone())
                .unwrap_or_default();
            assert_eq!(summary, article.summary, "{path}");
            if !path.ends_with(".rss") {
                assert!(
                    entry.id.starts_with("tag:") && entry.id.ends_with(&article.id.0),
                    "{path}: id {}",
                    entry.id
                );
            } else {
                assert_eq!(
                    entry.id, article.url,
                    "{path}: the guid is the canonical URL"
                );
            }
            assert_eq!(
                entry.categories.first().map(|c| c.term.as_str()),
                article.category.as_deref(),
                "{path}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rss_dates_carry_the_portal_zone_and_atom_content_is_escaped_html() {
    let s = served().await;
    let rss = get(&s.app, "/feeds/bqlkkt.rss").await.text();
    assert!(
        rss.contains("<pubDate>Wed, 08 Jul 2020 13:54:00 +0700</pubDate>"),
        "{rss:.400}"
    );
    assert!(rss.contains("<atom:link href=\"http://127.0.0.1:8080/feeds/bqlkkt.rss\" rel=\"self\" type=\"application/rss+xml\"/>"));
    assert!(rss.contains("isPermaLink=\"true\""));
    let atom = get(&s.app, "/feeds/bqlkkt.atom").await.text();
    assert!(atom.contains("xml:lang=\"vi\""));
    assert!(
        atom.contains("<content type=\"html\">&lt;p&gt;"),
        "content is escaped HTML"
    );
    assert_eq!(
        atom.matches("<id>tag:").count(),
        10,
        "one feed id and nine entry ids"
    );
    assert!(atom.contains("<published>2020-07-08T13:54:00+07:00</published>"));
}

#[tokio::test(flavor = "multi_thread")]
async fn conditional_requests_get_304_with_the_validators() {
    let s = served().await;
    let first = get(&s.app, "/feeds/bqlkkt.rss").await;
    let etag = first.header(header::ETAG).to_string();
    assert!(
        etag.starts_with('"') && etag.len() > 4,
        "a strong ETag: {etag}"
    );
    assert_eq!(first.header(header::CACHE_CONTROL), "public, max-age=1800");
    assert_eq!(first.header(header::VARY), "Accept-Encoding");
    let modified = first.header(header::LAST_MODIFIED).to_string();
    assert!(modified.ends_with(" GMT"), "{modified}");

    let again = call(
        &s.app,
        "GET",
        "/feeds/bqlkkt.rss",
        &[("if-none-match", &etag)],
    )
    .await;
    again.expect_status(StatusCode::NOT_MODIFIED, format_args!("again"));
    assert!(again.body.is_empty());
    assert_eq!(again.header(header::ETAG), etag);
    assert_eq!(again.header(header::CACHE_CONTROL), "public, max-age=1800");
    assert_eq!(again.header(header::VARY), "Accept-Encoding");
    let weak = format!("W/{etag}");
    assert_eq!(
        call(
            &s.app,
            "GET",
            "/feeds/bqlkkt.rss",
            &[("if-none-match", &weak)]
        )
        .await
        .status,
        StatusCode::NOT_MODIFIED
    );
    let by_date = call(
        &s.app,
        "GET",
        "/feeds/bqlkkt.rss",
        &[("if-modified-since", &modified)],
    )
    .await;
    by_date.expect_status(StatusCode::NOT_MODIFIED, format_args!("by_date"));
    // If-None-Match wins: a stale tag with a fresh date is answered in full.
    let stale = call(
        &s.app,
        "GET",
        "/feeds/bqlkkt.rss",
        &[
            ("if-none-match", "\"stale\""),
            ("if-modified-since", &modified),
        ],
    )
    .await;
    stale.expect_status(StatusCode::OK, format_args!("stale"));
}

#[tokio::test(flavor = "multi_thread")]
async fn each_content_encoding_has_its_own_etag() {
    use std::io::Read;
    let s = served().await;
    let plain = get(&s.app, "/feeds/bqlkkt.atom").await;
    let gzip = call(
        &s.app,
        "GET",
        "/feeds/bqlkkt.atom",
        &[("accept-encoding", "gzip")],
    )
    .await;
    let br = call(
        &s.app,
        "GET",
        "/feeds/bqlkkt.atom",
        &[("accept-encoding", "gzip, br")],
    )
    .await;
    assert_eq!(gzip.header(header::CONTENT_ENCODING), "gzip");
    assert_eq!(br.header(header::CONTENT_ENCODING), "br");
    let tags: HashSet<&str> = [&plain, &gzip, &br]
        .iter()
        .map(|a| a.header(header::ETAG))
        .collect();
    assert_eq!(tags.len(), 3, "{tags:?}");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gzip.body[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain.body);
    let mut unbrotli = Vec::new();
    brotli::BrotliDecompress(&mut &br.body[..], &mut unbrotli).unwrap();
    assert_eq!(unbrotli, plain.body);
    let tag = gzip.header(header::ETAG).to_string();
    let again = call(
        &s.app,
        "GET",
        "/feeds/bqlkkt.atom",
        &[("accept-encoding", "gzip"), ("if-none-match", &tag)],
    )
    .await;
    again.expect_status(StatusCode::NOT_MODIFIED, format_args!("again"));
}

/// Follows `rel="prev-archive"` from the subscription feed to the oldest archive.
async fn walk_history(app: &Router, start: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut documents = Vec::new();
    let subscription = feed_rs::parser::parse(&get(app, start).await.body[..]).unwrap();
    let ids = |feed: &feed_rs::model::Feed| {
        feed.entries
            .iter()
            .map(|e| e.id.clone())
            .collect::<Vec<_>>()
    };
    let mut next = prev_archive(&subscription);
    let mut seen = HashSet::new();
    while let Some(url) = next {
        assert!(seen.insert(url.clone()), "a loop at {url}");
        let path = url.trim_start_matches("http://127.0.0.1:8080");
        let answer = get(app, path).await;
        answer.expect_status(StatusCode::OK, format_args!("{path}"));
        // A backfill can still add an article: revalidated daily by ETag, never immutable.
        assert_eq!(
            answer.header(header::CACHE_CONTROL),
            "public, max-age=86400",
            "{path}"
        );
        assert!(!answer.header(header::ETAG).is_empty(), "{path}");
        let text = answer.text();
        assert!(
            text.contains("fh:archive"),
            "{path} is marked as an archive"
        );
        assert!(
            text.contains("rel=\"current\""),
            "{path} links to the subscription feed"
        );
        let feed = feed_rs::parser::parse(&answer.body[..]).unwrap();
        next = prev_archive(&feed);
        documents.push(ids(&feed));
    }
    (ids(&subscription), documents)
}

fn prev_archive(feed: &feed_rs::model::Feed) -> Option<String> {
    feed.links
        .iter()
        .find(|l| l.rel.as_deref() == Some("prev-archive"))
        .map(|l| l.href.clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn walking_prev_archive_yields_every_article_exactly_once() {
    let s = served().await;
    for start in ["/feeds/bqlkkt.atom", "/feeds/bqlkkt.rss"] {
        let (subscription, archives) = walk_history(&s.app, start).await;
        assert_eq!(
            archives.len(),
            4,
            "{start}: 2020-07, 2020-06, 2013-12, 2012-01"
        );
        let in_archives: Vec<&String> = archives.iter().flatten().collect();
        let unique: HashSet<&String> = in_archives.iter().copied().collect();
        assert_eq!(
            in_archives.len(),
            unique.len(),
            "{start}: no article in two archives"
        );
        assert_eq!(unique.len(), 9, "{start}: every archived article");
        let subscription: HashSet<&String> = subscription.iter().collect();
        assert!(subscription.is_subset(&unique));
    }
    let subscription = get(&s.app, "/feeds/bqlkkt.atom").await.text();
    assert!(!subscription.contains("fh:archive") && !subscription.contains("fh:complete"));
    let oldest = get(&s.app, "/feeds/bqlkkt/archive/2012-01.atom")
        .await
        .text();
    assert!(!oldest.contains("rel=\"prev-archive\"") && oldest.contains("rel=\"next-archive\""));
    let newest = get(&s.app, "/feeds/bqlkkt/archive/2020-07.atom")
        .await
        .text();
    assert!(newest.contains("rel=\"prev-archive\"") && !newest.contains("rel=\"next-archive\""));
    for missing in [
        "/feeds/bqlkkt/archive/2019-01.atom",
        "/feeds/bqlkkt/archive/2020-13.atom",
        "/feeds/bqlkkt/archive/2019-01.json",
    ] {
        assert_eq!(
            get(&s.app, missing).await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
    let this_month = chrono::Utc::now().format("%Y-%m");
    assert_eq!(
        get(&s.app, &format!("/feeds/bqlkkt/archive/{this_month}.atom"))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "a month still being filled is never linked or served"
    );
}

/// Stores a new revision of an article with the given title and body text.
fn revise(archive: &SledArchive, id: &str, title: &str, extra: &str) -> Archived {
    let current = archive.article(&ArticleId(id.into())).unwrap().unwrap();
    let mut article = current.article.clone();
    article.title = title.to_string();
    article.body_html = format!("{}<p>{extra}</p>", article.body_html);
    article.body_text = format!("{}\n\n{extra}", article.body_text);
    article.content_hash = gazette::normalize::content_hash(
        &article.title,
        article.published.as_ref(),
        &article.body_text,
    );
    let capture = archive.capture(&article.id, 1).unwrap().unwrap();
    archive
        .store(&article, &capture, chrono::Utc::now().fixed_offset())
        .unwrap();
    archive.article(&article.id).unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn forbidden_characters_never_reach_a_feed_and_ids_survive_revisions() {
    let s = served().await;
    let before: Vec<String> =
        feed_rs::parser::parse(&get(&s.app, "/feeds/bqlkkt.atom").await.body[..])
            .unwrap()
            .entries
            .iter()
            .map(|e| e.id.clone())
            .collect();
    let revised = revise(
        &s.archive,
        "bqlkkt:1234",
        "Hội nghị\u{B} sửa\u{1}\u{FFFE}",
        "Đoạn thêm\u{B}\u{C} mới.",
    );
    assert!(
        revised.article.title.contains('\u{B}'),
        "the archive keeps what it was given"
    );
    s.state.cache.clear();
    for path in [
        "/feeds/bqlkkt.rss",
        "/feeds/bqlkkt.atom",
        "/feeds/bqlkkt.json",
    ] {
        let answer = get(&s.app, path).await;
        for bad in ['\u{B}', '\u{C}', '\u{1}', '\u{FFFE}'] {
            assert!(!answer.text().contains(bad), "{path} contains {bad:?}");
        }
        assert!(
            !answer.text().contains("&#11;") && !answer.text().contains("&#xB;"),
            "{path}"
        );
        let feed = feed_rs::parser::parse(&answer.body[..])
            .unwrap_or_else(|e| panic!("{path} unreadable: {e}"));
        assert!(
            feed.entries.iter().any(|e| e
                .title
                .as_ref()
                .is_some_and(|t| t.content.contains("Hội nghị sửa"))),
            "{path}"
        );
    }
    let after: Vec<String> =
        feed_rs::parser::parse(&get(&s.app, "/feeds/bqlkkt.atom").await.body[..])
            .unwrap()
            .entries
            .iter()
            .map(|e| e.id.clone())
            .collect();
    assert_eq!(before, after, "ids never change on revision");
    let atom = get(&s.app, "/feeds/bqlkkt.atom").await.text();
    assert!(
        atom.contains(
            &format!(
                "<updated>{}",
                revised
                    .updated
                    .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
            )
            .chars()
            .take(28)
            .collect::<String>()
        ),
        "updated follows the revision"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cache_is_used_until_cleared() {
    let s = served().await;
    let first = get(&s.app, "/feeds/bqlkkt.json").await;
    revise(&s.archive, "bqlkkt:1238", "Tiêu đề mới", "Thêm.");
    let cached = get(&s.app, "/feeds/bqlkkt.json").await;
    assert_eq!(
        cached.body, first.body,
        "served from memory until the archive changes"
    );
    s.state.cache.clear();
    let fresh = get(&s.app, "/feeds/bqlkkt.json").await;
    assert_ne!(fresh.header(header::ETAG), first.header(header::ETAG));
    assert!(fresh.text().contains("Tiêu đề mới"));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_feed_meets_the_checklist() {
    let s = served().await;
    let feed = get(&s.app, "/feeds/bqlkkt.json").await.json();
    assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(feed["language"], "vi");
    assert_eq!(feed["feed_url"], "http://127.0.0.1:8080/feeds/bqlkkt.json");
    assert!(feed["authors"].is_array());
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items.len(), 9);
    for item in items {
        assert!(item["id"].is_string());
        for date in ["date_published", "date_modified"] {
            let text = item[date].as_str().unwrap();
            assert!(
                chrono::DateTime::parse_from_rfc3339(text).is_ok() && !text.ends_with('Z'),
                "{date}: {text}"
            );
        }
        assert!(item["content_html"].as_str().unwrap().starts_with('<'));
    }
    assert_eq!(items[3]["date_published"], "2020-07-08T13:54:00+07:00");
}

#[tokio::test(flavor = "multi_thread")]
async fn limit_is_checked_and_obeyed() {
    let s = served().await;
    let feed =
        feed_rs::parser::parse(&get(&s.app, "/feeds/bqlkkt.atom?limit=2").await.body[..]).unwrap();
    assert_eq!(feed.entries.len(), 2);
    let self_link = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref() == Some("self"))
        .unwrap();
    assert_eq!(
        self_link.href, "http://127.0.0.1:8080/feeds/bqlkkt.atom?limit=2",
        "the exact URL served"
    );
    for bad in ["0", "501", "x", "-1"] {
        let answer = get(&s.app, &format!("/feeds/bqlkkt.rss?limit={bad}")).await;
        answer.expect_status(StatusCode::BAD_REQUEST, format_args!("limit={bad}"));
        assert_eq!(answer.json()["error"], "bad parameter: limit");
    }
    for unknown in [
        "/feeds/nope.rss",
        "/feeds/bqlkkt.xml",
        "/feeds/bqlkkt/nope.atom",
    ] {
        assert_eq!(
            get(&s.app, unknown).await.status,
            StatusCode::NOT_FOUND,
            "{unknown}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn opml_and_the_index_page_list_every_feed() {
    let s = served().await;
    let opml = get(&s.app, "/feeds.opml").await;
    assert_eq!(
        opml.header(header::CONTENT_TYPE),
        "text/x-opml; charset=utf-8"
    );
    // Atom by default, one outline per feed; the source has one section, whose feed would repeat
    // the source's, so only the source feed is listed.
    let text = opml.text();
    assert_eq!(text.matches("xmlUrl=").count(), 1, "{text}");
    assert!(text.contains("xmlUrl=\"http://127.0.0.1:8080/feeds/bqlkkt.atom\""));
    let rss = get(&s.app, "/feeds.opml?format=rss").await.text();
    assert_eq!(rss.matches("xmlUrl=").count(), 1, "{rss}");
    assert!(rss.contains("xmlUrl=\"http://127.0.0.1:8080/feeds/bqlkkt.rss\""));
    let feeds = [
        "/feeds/bqlkkt.rss",
        "/feeds/bqlkkt.atom",
        "/feeds/bqlkkt.json",
        "/feeds/bqlkkt/tin-ban-quan-ly.rss",
        "/feeds/bqlkkt/tin-ban-quan-ly.atom",
        "/feeds/bqlkkt/tin-ban-quan-ly.json",
    ];
    let index = get(&s.app, "/").await.text();
    for feed in feeds {
        assert!(
            index.contains(&format!("href=\"http://127.0.0.1:8080{feed}\"")),
            "the index lacks {feed}"
        );
    }
    assert_eq!(
        index.matches("<link rel=\"alternate\"").count(),
        feeds.len()
    );
    assert!(index.contains("type=\"application/feed+json\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn cursor_paging_returns_every_article_once_even_while_articles_arrive() {
    let s = served().await;
    let mut seen = Vec::new();
    let mut uri = "/api/articles?limit=2".to_string();
    let mut pages = 0;
    loop {
        let page = get(&s.app, &uri).await.json();
        pages += 1;
        for article in page["articles"].as_array().unwrap() {
            seen.push(article["article"]["id"].as_str().unwrap().to_string());
        }
        if pages == 2 {
            // A newer article arrives while a reader pages through: no page shifts.
            let mut fresh = s
                .archive
                .article(&ArticleId("bqlkkt:1240".into()))
                .unwrap()
                .unwrap()
                .article;
            fresh.id = ArticleId("bqlkkt:9999".into());
            fresh.url = fresh.url.replace("1240", "9999");
            fresh.published = Some(chrono::Utc::now().fixed_offset());
            let capture = s
                .archive
                .capture(&ArticleId("bqlkkt:1240".into()), 1)
                .unwrap()
                .unwrap();
            s.archive
                .store(&fresh, &capture, chrono::Utc::now().fixed_offset())
                .unwrap();
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/articles?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(
        seen,
        [
            "bqlkkt:1240",
            "bqlkkt:1238",
            "bqlkkt:1236",
            "bqlkkt:1234",
            "bqlkkt:1229",
            "bqlkkt:1225",
            "bqlkkt:1211",
            "bqlkkt:1190",
            "bqlkkt:1180"
        ]
    );
    let filtered = get(
        &s.app,
        "/api/articles?source=bqlkkt&section=tin-ban-quan-ly&since=2020-06-25&until=2020-06-30",
    )
    .await
    .json();
    let ids: Vec<&str> = filtered["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["article"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["bqlkkt:1229", "bqlkkt:1225"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_parameters_are_400_naming_them_and_unknown_ids_404() {
    let s = served().await;
    for (query, param) in [
        ("since=yesterday", "since"),
        ("until=2020-02-30", "until"),
        ("limit=0", "limit"),
        ("limit=9999", "limit"),
        ("cursor=%%%", "cursor"),
        ("source=nope", "source"),
        ("section=tin-ban-quan-ly", "section"),
    ] {
        let answer = get(&s.app, &format!("/api/articles?{query}")).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            answer.text()
        );
        let body = answer.json();
        assert_eq!(body["error"], format!("bad parameter: {param}"), "{query}");
        assert!(body["detail"].is_string());
    }
    for missing in [
        "/api/articles/bqlkkt:1",
        "/api/articles/bqlkkt:1234/revisions/7",
        "/api/articles/bqlkkt:1/raw",
    ] {
        let answer = get(&s.app, missing).await;
        answer.expect_status(StatusCode::NOT_FOUND, format_args!("{missing}"));
        assert_eq!(answer.json()["error"], "not found");
    }
    assert_eq!(
        get(&s.app, "/api/articles/bqlkkt:1234/revisions/x")
            .await
            .json()["error"],
        "bad parameter: n"
    );
    assert_eq!(
        get(&s.app, "/api/articles/bqlkkt:1234/raw?rev=0")
            .await
            .json()["error"],
        "bad parameter: rev"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn articles_revisions_and_raw_captures() {
    let s = served().await;
    revise(&s.archive, "bqlkkt:1229", "Bản sửa", "Thêm một đoạn.");
    let article = get(&s.app, "/api/articles/bqlkkt:1229").await.json();
    assert_eq!(article["article"]["revisions"], 2);
    assert_eq!(article["revisions"].as_array().unwrap().len(), 2);
    let first = get(&s.app, "/api/articles/bqlkkt:1229/revisions/1")
        .await
        .json();
    assert_eq!(
        first["article"]["title"],
        "Hội nghị xúc tiến đầu tư vào Khu kinh tế cửa khẩu Hà Tiên"
    );
    let second = get(&s.app, "/api/articles/bqlkkt:1229/revisions/2")
        .await
        .json();
    assert_eq!(second["article"]["title"], "Bản sửa");
    let raw = get(&s.app, "/api/articles/bqlkkt:1180/raw?rev=1").await;
    assert_eq!(
        raw.header(header::CONTENT_TYPE),
        "text/html",
        "the original Content-Type"
    );
    assert_eq!(
        raw.body,
        std::fs::read(crate::support::fixture("portal/article-1180.html")).unwrap()
    );
    let sources = get(&s.app, "/api/sources").await.json();
    assert_eq!(sources["sources"][0]["id"], "bqlkkt");
    assert_eq!(
        sources["sources"][0]["sections"][0]["feeds"]["atom"],
        "http://127.0.0.1:8080/feeds/bqlkkt/tin-ban-quan-ly.atom"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_crawl_endpoint_needs_the_token_and_is_absent_without_one() {
    let s = served().await;
    assert_eq!(
        call(&s.app, "POST", "/api/sources/bqlkkt/crawl", &[])
            .await
            .status,
        StatusCode::NOT_FOUND,
        "no token configured"
    );

    let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut state = s.state.clone();
    state.admin_token = Some("s3cret".into());
    let counter = started.clone();
    state.crawl = Some(Arc::new(move |_| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0
    }));
    let guarded = app(state);
    assert_eq!(
        call(&guarded, "POST", "/api/sources/bqlkkt/crawl", &[])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(
            &guarded,
            "POST",
            "/api/sources/bqlkkt/crawl",
            &[("authorization", "Bearer wrong")]
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    let ok = call(
        &guarded,
        "POST",
        "/api/sources/bqlkkt/crawl",
        &[("authorization", "Bearer s3cret")],
    )
    .await;
    ok.expect_status(StatusCode::ACCEPTED, format_args!("{}", ok.text()));
    let busy = call(
        &guarded,
        "POST",
        "/api/sources/bqlkkt/crawl",
        &[("authorization", "Bearer s3cret")],
    )
    .await;
    busy.expect_status(StatusCode::CONFLICT, format_args!("busy"));
    assert_eq!(
        call(
            &guarded,
            "POST",
            "/api/sources/nope/crawl",
            &[("authorization", "Bearer s3cret")]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(started.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_and_metrics() {
    let s = served().await;
    let health = get(&s.app, "/healthz").await;
    health.expect_status(StatusCode::OK, format_args!("health"));
    assert_eq!(health.json()["archive"], "open");
    get(&s.app, "/feeds/bqlkkt.rss").await;
    let metrics = get(&s.app, "/metrics").await.text();
    for name in [
        "gazette_feed_requests_total",
        "gazette_pages_fetched_total",
        "gazette_fetch_duration_seconds_bucket",
        "gazette_crawl_runs_total",
        "gazette_articles_archived_total",
    ] {
        assert!(metrics.contains(name), "{name} missing from:\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_listener_answers_conditional_requests() {
    let s = served().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, s.app.clone()).into_future());
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/feeds/bqlkkt.rss");
    let first = client
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let body = first.bytes().await.unwrap();
    assert!(
        feed_rs::parser::parse(&body[..]).is_ok(),
        "reqwest undoes gzip itself"
    );
    let second = client
        .get(&url)
        .header("accept-encoding", "gzip")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 304);
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn junk_query_strings_are_refused_and_never_cached() {
    let s = served().await;
    for path in ["/feeds/bqlkkt.json?limit=500", "/feeds/bqlkkt.rss"] {
        assert_eq!(get(&s.app, path).await.status, StatusCode::OK, "{path}");
    }
    let (len, bytes) = (s.state.cache.len(), s.state.cache.bytes());
    assert_eq!(len, 2);
    for n in 0..10_000 {
        let (uri, param) = match n % 5 {
            0 => (
                format!("/feeds/bqlkkt.json?limit=500&cb={n}"),
                "cb".to_string(),
            ),
            1 => (format!("/feeds/bqlkkt.rss?x{n}=1"), format!("x{n}")),
            2 => (
                format!(
                    "/feeds/bqlkkt/tin-ban-quan-ly.atom?limit={}&limit=2",
                    n % 500 + 1
                ),
                "limit".to_string(),
            ),
            3 => (format!("/feeds.opml?v={n}"), "v".to_string()),
            _ => (
                format!("/feeds/bqlkkt/archive/2020-07.atom?limit={n}"),
                "limit".to_string(),
            ),
        };
        let answer = get(&s.app, &uri).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            answer.text()
        );
        let body = answer.json();
        assert_eq!(body["error"], format!("bad parameter: {param}"), "{uri}");
        assert!(body["detail"].is_string(), "{uri}");
    }
    assert_eq!(s.state.cache.len(), len, "the cache did not grow");
    assert_eq!(s.state.cache.bytes(), bytes);
}

#[tokio::test(flavor = "multi_thread")]
async fn distinct_limits_stay_within_the_byte_budget_least_recently_used_first() {
    const BUDGET: u64 = 60_000;
    let s = served_with(|config| config.server.feed_cache_bytes = BUDGET).await;
    let cache = &s.state.cache;
    let full = get(&s.app, "/feeds/bqlkkt.json?limit=9").await;
    assert!(
        full.body.len() as u64 * 2 < BUDGET && full.body.len() as u64 * 9 > BUDGET,
        "the test needs a budget that holds some documents but not all: {} bytes",
        full.body.len()
    );
    for round in 0..3 {
        for limit in 1..=9 {
            for encoding in ["br", "gzip", "identity"] {
                let uri = format!("/feeds/bqlkkt.json?limit={limit}");
                let answer = call(&s.app, "GET", &uri, &[("accept-encoding", encoding)]).await;
                answer.expect_status(StatusCode::OK, format_args!("{uri}"));
                assert!(
                    cache.bytes() <= BUDGET,
                    "round {round}, {uri} {encoding}: {} bytes held",
                    cache.bytes()
                );
            }
        }
    }
    assert!(cache.len() < 9, "{} documents held", cache.len());
    let renders = cache.renders();
    get(&s.app, "/feeds/bqlkkt.json?limit=9").await;
    assert_eq!(cache.renders(), renders, "the most recently used stayed");
    get(&s.app, "/feeds/bqlkkt.json?limit=1").await;
    assert_eq!(cache.renders(), renders + 1, "the least recently used went");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_misses_render_and_compress_once() {
    let s = served().await;
    let (renders, compressions) = (s.state.cache.renders(), s.state.cache.compressions());
    let answers = futures_util::future::join_all((0..32).map(|_| {
        call(
            &s.app,
            "GET",
            "/feeds/bqlkkt.atom?limit=7",
            &[("accept-encoding", "br")],
        )
    }))
    .await;
    for answer in &answers {
        answer.expect_status(StatusCode::OK, format_args!("answer"));
        assert_eq!(answer.body, answers[0].body);
    }
    assert_eq!(s.state.cache.renders(), renders + 1);
    assert_eq!(s.state.cache.compressions(), compressions + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn captured_pages_are_sandboxed_and_pages_have_a_policy() {
    let s = served().await;
    let raw = get(&s.app, "/api/articles/bqlkkt:1180/raw?rev=1").await;
    raw.expect_status(StatusCode::OK, format_args!("raw"));
    assert_eq!(
        raw.header(header::CONTENT_SECURITY_POLICY),
        "sandbox; default-src 'none'; img-src * data:; style-src * 'unsafe-inline'"
    );
    assert_eq!(raw.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(raw.header(header::REFERRER_POLICY), "no-referrer");
    assert_eq!(
        raw.header(header::CONTENT_DISPOSITION),
        "inline; filename=\"bqlkkt_1180-r1.html\""
    );
    let latest = get(&s.app, "/api/articles/bqlkkt:1180/raw").await;
    assert!(
        latest
            .header(header::CONTENT_SECURITY_POLICY)
            .starts_with("sandbox;")
    );

    let index = get(&s.app, "/").await;
    let policy = index.header(header::CONTENT_SECURITY_POLICY);
    assert!(
        policy.contains("default-src 'self'") && policy.contains("frame-ancestors 'none'"),
        "{policy}"
    );
    assert_eq!(index.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let html = index.text();
    for inline in ["<script", "<style", " style=", " onload=", " onclick="] {
        assert!(!html.contains(inline), "the policy would block {inline}");
    }
    for path in ["/feeds/bqlkkt.rss", "/api/sources", "/healthz", "/nope"] {
        assert_eq!(
            get(&s.app, path)
                .await
                .header(header::X_CONTENT_TYPE_OPTIONS),
            "nosniff",
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_answer_is_json() {
    let s = served().await;
    let not_found = get(&s.app, "/no/such/path").await;
    not_found.expect_status(StatusCode::NOT_FOUND, format_args!("not_found"));
    assert_eq!(not_found.json()["error"], "not found");

    let not_allowed = call(&s.app, "POST", "/feeds/bqlkkt.rss", &[]).await;
    not_allowed.expect_status(StatusCode::METHOD_NOT_ALLOWED, format_args!("not_allowed"));
    assert_eq!(not_allowed.json()["error"], "method not allowed");
    assert!(
        not_allowed.header(header::ALLOW).contains("GET"),
        "Allow: {}",
        not_allowed.header(header::ALLOW)
    );

    let big = vec![b'x'; gazette::server::MAX_BODY_BYTES + 1];
    let request = Request::builder()
        .method("POST")
        .uri("/api/sources/bqlkkt/crawl")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big))
        .unwrap();
    let response = s.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"], "body too large");

    let long = format!("/feeds/bqlkkt.rss?limit={}", "9".repeat(20_000));
    let too_long = get(&s.app, &long).await;
    too_long.expect_status(StatusCode::URI_TOO_LONG, format_args!("too_long"));
    assert_eq!(too_long.json()["error"], "uri too long");

    for (uri, param) in [
        ("/api/articles?limit=2&limit=3", "limit"),
        ("/api/articles?cb=1", "cb"),
        ("/api/articles/bqlkkt:1180/raw?rev=1&rev=1", "rev"),
        ("/api/sources?x=1", "x"),
    ] {
        let answer = get(&s.app, uri).await;
        answer.expect_status(StatusCode::BAD_REQUEST, format_args!("{uri}"));
        assert_eq!(
            answer.json()["error"],
            format!("bad parameter: {param}"),
            "{uri}"
        );
    }
}

/// Sends `request` as raw bytes on a new connection and returns the head of the answer
/// (status line and headers) and what followed it.
async fn raw_exchange(addr: std::net::SocketAddr, request: &str) -> (String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut received),
    )
    .await;
    assert!(read.is_ok(), "no end of answer to {request:.80}");
    let text = String::from_utf8_lossy(&received).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {text:?}"));
    (head.to_ascii_lowercase(), rest.as_bytes().to_vec())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_listener_sends_304_without_content_length_and_json_414() {
    let s = served().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, s.app.clone()).into_future());
    let etag = get(&s.app, "/feeds/bqlkkt.rss")
        .await
        .header(header::ETAG)
        .to_string();
    for method in ["GET", "HEAD"] {
        let (head, rest) = raw_exchange(
            addr,
            &format!(
                "{method} /feeds/bqlkkt.rss HTTP/1.1\r\nhost: x\r\nif-none-match: {etag}\r\nconnection: close\r\n\r\n"
            ),
        )
        .await;
        assert!(head.starts_with("http/1.1 304"), "{method}: {head}");
        assert!(!head.contains("content-length"), "{method}: {head}");
        assert!(!head.contains("transfer-encoding"), "{method}: {head}");
        assert!(head.contains(&format!("etag: {etag}")), "{method}: {head}");
        assert!(rest.is_empty(), "{method}: a body after a 304");
    }
    let request = |length: usize| {
        format!(
            "GET /feeds/bqlkkt.rss?{} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            "a".repeat(length)
        )
    };
    let (head, rest) = raw_exchange(addr, &request(20_000)).await;
    assert!(head.starts_with("http/1.1 414"), "{head}");
    let body: serde_json::Value = serde_json::from_slice(&rest)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&rest)));
    assert_eq!(body["error"], "uri too long");
    // Beyond 64 KiB the HTTP parser refuses the target itself, before any of gazette's code.
    let (head, _) = raw_exchange(addr, &request(100_000)).await;
    assert!(head.starts_with("http/1.1 414"), "{head}");
    server.abort();
}

/// A write slower than `storage.stall_timeout_secs` (0 here: every write is too slow) marks the
/// archive stalled, and `/healthz` says so with 503.
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_archive_makes_healthz_answer_503() {
    let portal = TestPortal::recorded().await;
    let mut storage = portal.config.storage.clone();
    storage.stall_timeout_secs = 0;
    let archive = Arc::new(gazette::archive::open(&storage).unwrap());
    assert_eq!(archive.stalled(), None, "nothing written yet");
    let report = portal.crawl(&archive, false).await;
    assert_eq!(report.new, 9, "{:?}", report.errors);
    let reason = archive.stalled().expect("stalled after a write");
    assert!(reason.contains("stall_timeout_secs"), "{reason}");
    let state = AppState::new(
        Arc::new(portal.config.clone()),
        archive.clone(),
        gazette::schedule::Status::default(),
    );
    let health = get(&app(state), "/healthz").await;
    health.expect_status(StatusCode::SERVICE_UNAVAILABLE, format_args!("health"));
    assert_eq!(health.json()["archive"], "stalled");
    assert_eq!(health.json()["reason"], reason.as_str());
}

/// A read that fails (here the WARC file is a directory: the OS answers "is a directory") is no
/// proof of damage: the feed fails with a JSON 500 instead of leaving articles out, the failure
/// is not cached, WebSub renders nothing to push, and once the file is back the feed is whole.
#[tokio::test]
async fn a_failed_read_fails_the_feed_and_is_neither_cached_nor_pushed() {
    let portal = TestPortal::recorded().await;
    let archive = portal.open_archive();
    assert_eq!(portal.crawl(&archive, false).await.new, 9);
    drop(archive);
    let warc_dir = portal.config.storage.path.join("warc");
    let files: Vec<_> = std::fs::read_dir(&warc_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".warc.gz"))
        .collect();
    assert!(!files.is_empty());
    let aside = portal.dir.path().join("aside");
    std::fs::create_dir(&aside).unwrap();
    for file in &files {
        std::fs::rename(file, aside.join(file.file_name().unwrap())).unwrap();
        std::fs::create_dir(file).unwrap();
    }
    // Opened afresh: nothing of the articles is in memory yet.
    let archive = portal.open_archive();
    let state = AppState::new(
        Arc::new(portal.config.clone()),
        archive.clone(),
        gazette::schedule::Status::default(),
    );
    let app = app(state.clone());

    let failed = get(&app, "/feeds/bqlkkt.atom").await;
    failed.expect_status(
        StatusCode::INTERNAL_SERVER_ERROR,
        format_args!("the feed while reads fail"),
    );
    assert_eq!(
        failed.header(header::CONTENT_TYPE),
        "application/json",
        "{}",
        failed.text()
    );
    assert!(
        archive.articles(&Query::default()).is_err(),
        "a failed read is an error, not a shorter list"
    );
    assert!(state.cache.is_empty(), "the failure was cached");
    let topic = gazette::websub::Topic {
        url: state.public("/feeds/bqlkkt.atom"),
        path: "/feeds/bqlkkt.atom".into(),
    };
    let pushed = gazette::websub::Documents::new(app.clone())
        .get(&topic)
        .await;
    assert!(pushed.is_err(), "WebSub would push the failed feed");

    for file in &files {
        std::fs::remove_dir(file).unwrap();
        std::fs::rename(aside.join(file.file_name().unwrap()), file).unwrap();
    }
    let again = get(&app, "/feeds/bqlkkt.atom").await;
    again.expect_status(StatusCode::OK, format_args!("the feed after"));
    assert_eq!(
        again.text().matches("</entry>").count(),
        9,
        "an article is missing after the failure"
    );
}

/// A diff of a long article (two revisions of some 600 KB of text each, one paragraph changed)
/// is made by paragraph with the unchanged text cut, so its answer is small; fifty asking at once
/// cost one diff, kept in the feed cache; the reader's page says how it compared.
#[tokio::test(flavor = "multi_thread")]
async fn a_long_diff_is_by_paragraph_made_once_and_kept() {
    let s = served().await;
    let id = "bqlkkt:1240";
    let paragraphs: Vec<String> = (0..2000)
        .map(|i| {
            format!("Đoạn {i}: Khu kinh tế Phú Quốc đón nhà đầu tư, hạ tầng tiếp tục hoàn thiện.")
        })
        .collect();
    let long = paragraphs.join("\n\n");
    let long_one = revise(&s.archive, id, "Bản dài", &long);
    let mut edited = long_one.article.clone();
    edited.body_text = edited.body_text.replace("Đoạn 1000:", "Đoạn một nghìn:");
    edited.body_html = edited.body_html.replace("Đoạn 1000:", "Đoạn một nghìn:");
    edited.content_hash = gazette::normalize::content_hash(
        &edited.title,
        edited.published.as_ref(),
        &edited.body_text,
    );
    let capture = s.archive.capture(&edited.id, 1).unwrap().unwrap();
    s.archive
        .store(&edited, &capture, chrono::Utc::now().fixed_offset())
        .unwrap();
    let revisions = s.archive.revisions(&ArticleId(id.into())).unwrap().len();
    let path = format!(
        "/api/articles/{id}/diff?from={}&to={revisions}",
        revisions - 1
    );
    let renders = s.state.cache.renders();
    let answers = futures_util::future::join_all((0..50).map(|_| get(&s.app, &path))).await;
    for answer in &answers {
        answer.expect_status(StatusCode::OK, format_args!("{path}"));
    }
    assert_eq!(s.state.cache.renders(), renders + 1, "fifty asks, one diff");
    let diff: serde_json::Value = serde_json::from_slice(&answers[0].body).unwrap();
    assert_eq!(diff["by"], "paragraph");
    assert!(
        answers[0].body.len() < 16 * 1024,
        "{} bytes for a diff of one paragraph",
        answers[0].body.len()
    );
    let kinds: Vec<&str> = diff["body"]
        .as_array()
        .unwrap()
        .iter()
        .map(|span| span["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"elided") && kinds.contains(&"inserted"),
        "{kinds:?}"
    );
    let page = get(
        &s.app,
        &format!("/articles/{id}/diff?from={}&to={revisions}", revisions - 1),
    )
    .await;
    page.expect_status(StatusCode::OK, format_args!("the diff page"));
    assert!(page.text().contains("so sánh theo đoạn"), "{}", page.text());
    assert!(!page.header(header::CONTENT_SECURITY_POLICY).is_empty());
}
