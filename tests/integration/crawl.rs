//! Crawls of a real HTTP replay of the portal into a real archive: nothing lost, nothing
//! duplicated, every misbehaviour of the portal recorded while the crawl goes on.

use gazette::archive::prelude::*;
use std::time::Duration;

use gazette::archive::Query;
use gazette::replay::{Fault, Recording};
use serde_json::{Value, json};

use crate::support::{self, FAST_CRAWL, TestPortal};

fn article_path(id: u32) -> String {
    format!("/Pages/chi-tiet-tin.aspx?ItemID={id}")
}

fn listed_path(id: u32) -> String {
    format!("/Pages/chi-tiet-tin.aspx?ItemID={id}&l=TinBanQuanLy")
}

fn with(settings: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<_> = FAST_CRAWL
        .iter()
        .filter(|(k, _)| !settings.iter().any(|(s, _)| s == k))
        .copied()
        .collect();
    all.extend_from_slice(settings);
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn first_crawl_archives_the_nine_articles_exactly_as_expected() {
    let portal = TestPortal::recorded().await;
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert!(report.complete, "{report:?}");
    assert_eq!(
        (report.new, report.failed, report.revised),
        (9, 0, 0),
        "{report:?}"
    );
    assert_eq!(report.pages_fetched, 3 + 9, "3 list pages and 9 articles");

    let expected: Value =
        serde_json::from_slice(&std::fs::read(support::fixture("portal/expected.json")).unwrap())
            .unwrap();
    let real = "https://bqlkkt.kiengiang.gov.vn/";
    let here = portal.server.base_url().to_string();
    let mut failures = Vec::new();
    for (file, want) in expected.as_object().unwrap() {
        let id = &file[8..12];
        let want: Value = serde_json::from_str(&want.to_string().replace(real, &here)).unwrap();
        let archived = archive
            .article(&gazette::model::ArticleId(format!("bqlkkt:{id}")))
            .unwrap();
        let Some(archived) = archived else {
            failures.push(format!("{file}: not archived"));
            continue;
        };
        let a = &archived.article;
        let paragraphs: Vec<&str> = a.body_text.split("\n\n").collect();
        let capture = archive
            .capture(&a.id, 1)
            .unwrap()
            .expect("the page is kept");
        let actual = json!({
            "url": a.url,
            "title": a.title,
            "published": a.published.map(|p| p.to_rfc3339()),
            "published_only_on_list_page": want["published_only_on_list_page"],
            "category": a.category,
            "first_paragraph": paragraphs.first(),
            "last_paragraph": paragraphs.last(),
            "images": a.images,
            "attachments": a.attachments,
            "source_credit": a.credit,
            "charset": want["charset"],
        });
        failures.extend(support::mismatches(file, &want, &actual));
        let original = std::fs::read(support::fixture(&format!("portal/{file}"))).unwrap();
        assert_eq!(
            capture.body, original,
            "{file}: the capture is the page as served"
        );
        assert_eq!(archived.revisions, 1);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(archive.articles(&Query::default()).unwrap().len(), 9);
    let runs = archive.runs("bqlkkt", 10).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].new, 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_crawl_adds_nothing_and_asks_conditionally() {
    let portal = TestPortal::start(
        Recording::load(&support::fixture("portal")).unwrap(),
        &with(&[("recheck_days", "36500")]),
    )
    .await;
    let archive = portal.open_archive();
    assert_eq!(portal.crawl(&archive, false).await.new, 9);
    let before = portal.server.requests().len();
    let report = portal.crawl(&archive, false).await;
    assert_eq!(
        (report.new, report.revised, report.unchanged, report.failed),
        (0, 0, 9, 0),
        "{report:?}"
    );
    let second: Vec<_> = portal.server.requests().into_iter().skip(before).collect();
    let article_requests: Vec<_> = second
        .iter()
        .filter(|r| r.path_and_query.contains("ItemID"))
        .collect();
    assert_eq!(article_requests.len(), 9, "each article rechecked once");
    for request in &article_requests {
        assert!(
            request.if_none_match.is_some(),
            "{} was not conditional",
            request.path_and_query
        );
    }
    let list_requests = second
        .iter()
        .filter(|r| r.path_and_query.starts_with("/Pages/tin-ban-quan-ly.aspx"))
        .count();
    assert_eq!(
        list_requests, 1,
        "the first list page is unchanged: the walk stops there"
    );
    let first_page = second
        .iter()
        .find(|r| r.path_and_query == "/Pages/tin-ban-quan-ly.aspx")
        .unwrap();
    assert!(
        first_page.if_none_match.is_some(),
        "the first list page is asked for conditionally"
    );
    assert_eq!(archive.articles(&Query::default()).unwrap().len(), 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_adds_one_revision_and_a_removal_marks_gone() {
    let portal = TestPortal::start(
        Recording::load(&support::fixture("portal")).unwrap(),
        &with(&[("recheck_days", "36500")]),
    )
    .await;
    let archive = portal.open_archive();
    portal.crawl(&archive, false).await;
    let id = gazette::model::ArticleId("bqlkkt:1238".into());
    let first = archive.article(&id).unwrap().unwrap();

    let page = std::fs::read_to_string(support::fixture("portal/article-1238.html")).unwrap();
    let edited = page.replace("trên 70% khối lượng", "trên 85% khối lượng");
    assert_ne!(edited, page);
    portal.server.set_page(
        &article_path(1238),
        edited.into_bytes(),
        "text/html; charset=utf-8",
    );
    portal.server.remove_page(&article_path(1229));
    portal.server.remove_page(&listed_path(1229));
    let report = portal.crawl(&archive, false).await;
    assert_eq!(
        (report.new, report.revised, report.gone, report.unchanged),
        (0, 1, 1, 7),
        "{report:?}"
    );

    let revised = archive.article(&id).unwrap().unwrap();
    assert_eq!(revised.revisions, 2);
    assert!(
        revised.updated > first.updated,
        "updated moves to the new revision"
    );
    assert!(revised.article.body_text.contains("trên 85% khối lượng"));
    let revisions = archive.revisions(&id).unwrap();
    assert!(
        revisions[0]
            .article
            .body_text
            .contains("trên 70% khối lượng"),
        "the old text is kept"
    );
    assert_eq!(revised.article.id, first.article.id, "the id never changes");

    let gone = archive
        .article(&gazette::model::ArticleId("bqlkkt:1229".into()))
        .unwrap()
        .unwrap();
    assert!(gone.gone_at.is_some());
    assert_eq!(
        gone.article.title,
        "Hội nghị xúc tiến đầu tư vào Khu kinh tế cửa khẩu Hà Tiên"
    );
    assert_eq!(
        archive.articles(&Query::default()).unwrap().len(),
        9,
        "nothing is deleted"
    );

    // Still gone: nothing changes, and it is not counted gone twice.
    let report = portal.crawl(&archive, false).await;
    assert_eq!(
        (report.new, report.revised, report.gone, report.failed),
        (0, 0, 0, 0),
        "{report:?}"
    );
    let gone_at = gone.gone_at;
    assert_eq!(
        archive.article(&gone.article.id).unwrap().unwrap().gone_at,
        gone_at
    );

    // The portal puts the page back as it was: the article answers again, no longer gone, with
    // no new revision.
    let page = std::fs::read(support::fixture("portal/article-1229.html")).unwrap();
    for path in [article_path(1229), listed_path(1229)] {
        portal
            .server
            .set_page(&path, page.clone(), "text/html; charset=utf-8");
    }
    let report = portal.crawl(&archive, false).await;
    assert_eq!(
        (report.new, report.revised, report.gone, report.failed),
        (0, 0, 0, 0),
        "{report:?}"
    );
    let back = archive.article(&gone.article.id).unwrap().unwrap();
    assert_eq!(back.gone_at, None, "it answered again");
    assert_eq!(back.revisions, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_article_is_picked_up_by_the_next_incremental_run() {
    let portal = TestPortal::recorded().await;
    let archive = portal.open_archive();
    portal.crawl(&archive, false).await;
    portal.server.add_article(
        1250,
        "Bài mới về khu công nghiệp",
        "(09:00 | 05/08/2020)",
        &["Đoạn một của bài mới.", "Đoạn hai."],
    );
    let report = portal.crawl(&archive, false).await;
    assert_eq!((report.new, report.failed), (1, 0), "{report:?}");
    let article = archive
        .article(&gazette::model::ArticleId("bqlkkt:1250".into()))
        .unwrap()
        .unwrap()
        .article;
    assert_eq!(article.title, "Bài mới về khu công nghiệp");
    assert_eq!(
        article.published.unwrap().to_rfc3339(),
        "2020-08-05T09:00:00+07:00"
    );
    assert_eq!(archive.query_count(), 10);
}

trait Count {
    fn query_count(&self) -> usize;
}

impl Count for gazette::archive::SledArchive {
    fn query_count(&self) -> usize {
        self.articles(&Query::default()).unwrap().len()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_article_listed_twice_is_stored_once() {
    let portal = TestPortal::recorded().await;
    let list =
        std::fs::read_to_string(support::fixture("portal/list-tin-ban-quan-ly-p1.html")).unwrap();
    let twin = r#"<div class="H3_iTem_ListNews"><h3><a href="/Pages/chi-tiet-tin.aspx?ItemID=1238&amp;l=TinBanQuanLy&amp;Source=%2FPages%2Ftin-ban-quan-ly.aspx">Khảo sát tiến độ</a></h3></div>"#;
    let doubled = list.replacen(
        "<div class=\"H3_iTem_ListNews\">",
        &format!("{twin}\n<div class=\"H3_iTem_ListNews\">"),
        1,
    );
    assert_ne!(doubled, list);
    // Page 2 also repeats the last item of page 1, as a pagination shift does.
    let p2 =
        std::fs::read_to_string(support::fixture("portal/list-tin-ban-quan-ly-p2.html")).unwrap();
    let shifted = p2.replacen(
        "<div class=\"H3_iTem_ListNews\">",
        "<div class=\"H3_iTem_ListNews\"><h3><a href=\"/Pages/chi-tiet-tin.aspx?ItemID=1236&amp;l=TinBanQuanLy\">6 tháng</a></h3></div>\n<div class=\"H3_iTem_ListNews\">",
        1,
    );
    for path in [
        "/Pages/tin-ban-quan-ly.aspx",
        "/Pages/tin-ban-quan-ly.aspx?Page=1",
    ] {
        portal.server.set_page(
            path,
            doubled.clone().into_bytes(),
            "text/html; charset=utf-8",
        );
    }
    portal.server.set_page(
        "/Pages/tin-ban-quan-ly.aspx?Page=2",
        shifted.into_bytes(),
        "text/html; charset=utf-8",
    );
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert_eq!((report.new, report.failed), (9, 0), "{report:?}");
    assert_eq!(archive.query_count(), 9);
    let fetched_1238: usize = [article_path(1238), listed_path(1238)]
        .iter()
        .map(|p| portal.server.hits(p))
        .sum();
    assert_eq!(fetched_1238, 1, "fetched once");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_and_timeouts_are_retried_then_recorded_while_the_crawl_goes_on() {
    let settings = with(&[("timeout_secs", "1"), ("retries", "2")]);
    let portal = TestPortal::start(
        Recording::load(&support::fixture("portal")).unwrap(),
        &settings,
    )
    .await;
    portal.server.fault(&article_path(1236), Fault::Status(500));
    portal
        .server
        .fault(&article_path(1225), Fault::Delay(Duration::from_secs(3)));
    portal
        .server
        .fault(&article_path(1211), Fault::StatusTimes(503, 2));
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert!(report.complete);
    assert_eq!((report.new, report.failed), (7, 2), "{report:?}");
    assert_eq!(
        portal.server.hits(&article_path(1236)),
        3,
        "one try and two retries"
    );
    assert_eq!(
        portal.server.hits(&article_path(1225)),
        3,
        "timeouts are retried too"
    );
    assert_eq!(
        portal.server.hits(&article_path(1211)),
        3,
        "two 503s, then the page"
    );
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("ItemID=1236") && e.contains("HTTP 500")),
        "{:?}",
        report.errors
    );
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("ItemID=1225") && e.contains("timed out")),
        "{:?}",
        report.errors
    );

    // The next run picks the failed ones up once the portal answers again.
    portal.server.clear_faults();
    let report = portal.crawl(&archive, false).await;
    assert_eq!((report.new, report.failed), (2, 0), "{report:?}");
    assert_eq!(archive.query_count(), 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_is_honoured() {
    let portal = TestPortal::recorded().await;
    portal
        .server
        .fault(&article_path(1240), Fault::RetryAfter(429, 1));
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert_eq!((report.new, report.failed), (9, 0), "{report:?}");
    let times: Vec<_> = portal
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path_and_query == article_path(1240))
        .map(|r| r.at)
        .collect();
    assert_eq!(times.len(), 2);
    assert!(
        times[1] - times[0] >= Duration::from_millis(950),
        "waited {:?}",
        times[1] - times[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn robots_txt_disallow_is_obeyed() {
    let portal = TestPortal::recorded().await;
    portal.server.set_page(
        "/robots.txt",
        b"User-agent: *\nDisallow: /Pages/chi-tiet-tin.aspx?ItemID=1225\n".to_vec(),
        "text/plain",
    );
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert_eq!((report.new, report.failed), (8, 1), "{report:?}");
    assert_eq!(
        portal.server.hits(&article_path(1225)) + portal.server.hits(&listed_path(1225)),
        0
    );
    assert_eq!(
        portal.server.hits("/robots.txt"),
        1,
        "robots.txt is read once per run"
    );
    assert!(
        report.errors.iter().any(|e| e.contains("robots.txt")),
        "{:?}",
        report.errors
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn links_and_redirects_to_other_hosts_are_never_followed() {
    let portal = TestPortal::recorded().await;
    let port = portal.server.addr().port();
    // `localhost` reaches the same server, but is not an allowed host.
    let list =
        std::fs::read_to_string(support::fixture("portal/list-tin-ban-quan-ly-p1.html")).unwrap();
    let elsewhere = format!(
        "<div class=\"H3_iTem_ListNews\"><h3><a href=\"http://localhost:{port}/Pages/chi-tiet-tin.aspx?ItemID=7777\">Ngoài</a></h3></div>\n<div class=\"H3_iTem_ListNews\">"
    );
    let list = list.replacen("<div class=\"H3_iTem_ListNews\">", &elsewhere, 1);
    for path in [
        "/Pages/tin-ban-quan-ly.aspx",
        "/Pages/tin-ban-quan-ly.aspx?Page=1",
    ] {
        portal
            .server
            .set_page(path, list.clone().into_bytes(), "text/html; charset=utf-8");
    }
    portal.server.set_page(
        &article_path(7777),
        b"<h1 class=News_Detail_Title>x</h1>".to_vec(),
        "text/html",
    );
    portal.server.fault(
        &article_path(1238),
        Fault::Redirect(format!(
            "http://localhost:{port}/Pages/chi-tiet-tin.aspx?ItemID=7777"
        )),
    );
    portal
        .server
        .fault(&article_path(1236), Fault::RedirectLoop);
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert_eq!(
        portal.server.hits(&article_path(7777)),
        0,
        "never requested"
    );
    assert_eq!((report.new, report.failed), (7, 3), "{report:?}");
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("not among the source's allowed hosts")),
        "{:?}",
        report.errors
    );
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("more than 5 redirects")),
        "{:?}",
        report.errors
    );
    assert_eq!(
        portal.server.hits(&article_path(1236)),
        6,
        "the first request and 5 redirects"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_truncated_and_mislabelled_pages() {
    let settings = with(&[("max_page_bytes", "200000")]);
    let portal = TestPortal::start(
        Recording::load(&support::fixture("portal")).unwrap(),
        &settings,
    )
    .await;
    portal
        .server
        .fault(&article_path(1240), Fault::Huge(5_000_000));
    portal
        .server
        .fault(&article_path(1234), Fault::Truncate(1000));
    // The old windows-1258 page sent with a wrong charset: the header wins, as in a browser.
    portal.server.fault(
        &article_path(1190),
        Fault::Charset(Some("windows-1258".into())),
    );
    portal
        .server
        .fault(&article_path(1180), Fault::Charset(None));
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert_eq!((report.new, report.failed), (7, 2), "{report:?}");
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("ItemID=1240") && e.contains("max_page_bytes")),
        "{:?}",
        report.errors
    );
    assert!(
        report.errors.iter().any(|e| e.contains("ItemID=1234")),
        "{:?}",
        report.errors
    );
    assert_eq!(
        portal.server.hits(&article_path(1234)),
        3,
        "a cut-off body is retried"
    );
    let old = archive
        .article(&gazette::model::ArticleId("bqlkkt:1180".into()))
        .unwrap()
        .unwrap()
        .article;
    assert_eq!(
        old.title, "Ban Quản lý Khu kinh tế tổ chức hội nghị triển khai nhiệm vụ năm 2012",
        "meta charset used"
    );
    let mislabelled = archive
        .article(&gazette::model::ArticleId("bqlkkt:1190".into()))
        .unwrap()
        .unwrap()
        .article;
    assert_ne!(
        mislabelled.title, "Sơ kết công tác bồi thường, giải phóng mặt bằng năm 2013",
        "the header charset wins"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn politeness_spaces_requests_to_a_host() {
    let settings = with(&[("min_delay_ms", "150"), ("max_concurrency_per_host", "2")]);
    let portal = TestPortal::start(
        Recording::load(&support::fixture("portal")).unwrap(),
        &settings,
    )
    .await;
    let archive = portal.open_archive();
    let began = std::time::Instant::now();
    let report = portal.crawl(&archive, false).await;
    assert_eq!(report.new, 9);
    let times: Vec<_> = portal.server.requests().into_iter().map(|r| r.at).collect();
    // Images go through the same gate as pages: they are spaced too.
    assert_eq!(
        times.len(),
        1 + 3 + 9 + 2 + 5,
        "robots.txt, 3 list pages, 9 articles, the 2 attachments of article 1236, the 5 figures"
    );
    // The gate spaces the starts of requests; when each arrives also depends on the machine's
    // scheduling, so one gap can look short. The sum cannot: the first request started after
    // `began` and every later one at least 150 ms after the one before, so the last arrived at
    // least 19 delays after `began`, however loaded the machine. (Each gap is checked exactly on
    // tokio's paused clock in fetch::politeness.)
    let least = Duration::from_millis(150) * (times.len() as u32 - 1);
    let span = *times.last().unwrap() - began;
    assert!(
        span >= least,
        "{} requests within {span:?}, less than {least:?}",
        times.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn backfill_resumes_where_it_stopped() {
    let portal = TestPortal::start(Recording::synthetic(45), FAST_CRAWL).await;
    let archive = portal.open_archive();
    let fetcher = gazette::fetch::Fetcher::new(&portal.config.crawler).unwrap();
    let two_pages = gazette::crawl::CrawlOptions {
        backfill: true,
        max_pages: Some(2),
    };
    let report = gazette::crawl::crawl_source(
        &fetcher,
        &gazette::archive::Handle::new(archive.clone()),
        portal.source(),
        &portal.config.crawler,
        two_pages,
        &gazette::crawl::quiet,
    )
    .await;
    assert_eq!(report.new, 20);
    let before = portal.server.hits("/Pages/tin-ban-quan-ly.aspx");
    let report = portal.crawl(&archive, true).await;
    assert_eq!((report.new, report.failed), (25, 0), "{report:?}");
    assert_eq!(
        portal.server.hits("/Pages/tin-ban-quan-ly.aspx"),
        before,
        "page 1 is not walked again"
    );
    assert_eq!(archive.query_count(), 45);
}

// ---------------------------------------------------------------------------------------------
// Ports: an allowed host is allowed on its scheme's default port and base_url's port only.
// ---------------------------------------------------------------------------------------------

/// A listener on another loopback port that counts every connection made to it.
struct Canary {
    port: u16,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Canary {
    async fn start() -> Canary {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = connections.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(stream);
            }
        });
        Canary { port, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_and_links_to_another_port_of_an_allowed_host_are_refused() {
    let canary = Canary::start().await;
    let port = canary.port;
    let portal = TestPortal::recorded().await;
    let list =
        std::fs::read_to_string(support::fixture("portal/list-tin-ban-quan-ly-p1.html")).unwrap();
    let elsewhere = format!(
        "<div class=\"H3_iTem_ListNews\"><h3><a href=\"http://127.0.0.1:{port}/Pages/chi-tiet-tin.aspx?ItemID=7777\">Cổng khác</a></h3></div>\n<div class=\"H3_iTem_ListNews\">"
    );
    let list = list.replacen("<div class=\"H3_iTem_ListNews\">", &elsewhere, 1);
    for path in [
        "/Pages/tin-ban-quan-ly.aspx",
        "/Pages/tin-ban-quan-ly.aspx?Page=1",
    ] {
        portal
            .server
            .set_page(path, list.clone().into_bytes(), "text/html; charset=utf-8");
    }
    portal.server.fault(
        &article_path(1238),
        Fault::Redirect(format!(
            "http://127.0.0.1:{port}/Pages/chi-tiet-tin.aspx?ItemID=1238"
        )),
    );
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert_eq!(canary.connections(), 0, "the canary port was reached");
    assert_eq!((report.new, report.failed), (8, 2), "{report:?}");
    let refused: Vec<&String> = report
        .errors
        .iter()
        .filter(|e| e.contains(&format!("host \"127.0.0.1:{port}\" is not among")))
        .collect();
    assert_eq!(refused.len(), 2, "{:?}", report.errors);
    // The replay's own port is base_url's port: its pages were all fetched.
    assert_eq!(portal.server.hits(&article_path(1238)), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fetcher_requests_nothing_on_another_port() {
    let canary = Canary::start().await;
    let portal = TestPortal::recorded().await;
    let fetcher = gazette::fetch::Fetcher::new(&portal.config.crawler).unwrap();
    let url = url::Url::parse(&format!("http://127.0.0.1:{}/robots.txt", canary.port)).unwrap();
    let err = fetcher
        .get(&url, &portal.source().hosts(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, gazette::fetch::FetchError::OffHost { host, .. } if *host == format!("127.0.0.1:{}", canary.port)),
        "{err}"
    );
    assert_eq!(canary.connections(), 0);
}

/// An article whose body nests `depth` divs around its one paragraph, in the portal's template.
fn deep_article(item_id: u32, depth: usize, text: &str) -> Vec<u8> {
    let page = gazette::replay::article_page(
        u64::from(item_id),
        "Bài viết lồng sâu",
        "(08:00 | 01/06/2021)",
        &["PLACEHOLDER"],
    );
    let deep = format!("{}{text}{}", "<div>".repeat(depth), "</div>".repeat(depth));
    let page = page.replacen("PLACEHOLDER", &deep, 1);
    assert!(page.contains(text), "the template kept the paragraph");
    page.into_bytes()
}

/// A 1×1 PNG: what an article address answered once the portal served an image there.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";

#[tokio::test(flavor = "multi_thread")]
async fn a_deep_page_is_archived_flattened_and_an_image_fails_alone() {
    let portal = TestPortal::recorded().await;
    let text = "Đoạn văn ở tầng thứ năm nghìn vẫn được giữ.";
    portal
        .server
        .add_article(9101, "Bài viết lồng sâu", "(08:00 | 01/06/2021)", &["x"]);
    portal
        .server
        .add_article(9102, "Một tấm ảnh", "(09:00 | 01/06/2021)", &["x"]);
    for path in [article_path(9101), listed_path(9101)] {
        portal.server.set_page(
            &path,
            deep_article(9101, 5_000, text),
            "text/html; charset=utf-8",
        );
    }
    for path in [article_path(9102), listed_path(9102)] {
        portal.server.set_page(&path, PNG.to_vec(), "image/png");
    }
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;

    let base = portal.server.base_url();
    let deep_url = base.join(&article_path(9101)).unwrap().to_string();
    let png_url = base.join(&article_path(9102)).unwrap().to_string();
    assert!(report.complete, "{report:?}");
    assert_eq!((report.new, report.failed), (10, 1), "{report:?}");
    assert_eq!(
        report.errors,
        vec![format!("{png_url}: not an HTML page (image/png)")]
    );
    assert_eq!(report.flattened, vec![deep_url.clone()], "{report:?}");
    let deep = archive
        .article(&gazette::model::ArticleId("bqlkkt:9101".into()))
        .unwrap()
        .expect("the deep article is archived");
    assert_eq!(deep.article.body_text, text);
    assert!(
        deep.article.body_html.contains(text),
        "{}",
        deep.article.body_html
    );
    let runs = archive.runs("bqlkkt", 1).unwrap();
    assert_eq!(runs[0].flattened, vec![deep_url], "the run as archived");
}

/// A damaged record does not stop a run: its article, listed again, is taken as archived.
#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_record_does_not_stop_the_next_run() {
    let portal = TestPortal::recorded().await;
    {
        let archive = portal.open_archive();
        assert_eq!(portal.crawl(&archive, false).await.new, 9);
    }
    let warc_dir = portal.config.storage.path.join("warc");
    support::damage_metadata_record(&warc_dir, "1238");
    // The list page changes, so it is read again and each listed article looked up.
    let mut list = std::fs::read(support::fixture("portal/list-tin-ban-quan-ly-p1.html")).unwrap();
    list.extend_from_slice(b"<!-- changed -->");
    portal.server.set_page(
        "/Pages/tin-ban-quan-ly.aspx",
        list,
        "text/html; charset=utf-8",
    );
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert_eq!((report.new, report.failed), (0, 0), "{report:?}");
    assert!(report.errors.is_empty(), "{report:?}");
    assert!(report.complete, "{report:?}");
    assert_eq!(archive.articles(&Query::default()).unwrap().len(), 8);
}
