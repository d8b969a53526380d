//! The replay server over real HTTP: the recorded portal byte for byte, conditional requests,
//! every fault, live page changes, and the synthetic portal (read back through gazette too).

use std::time::Duration;

use gazette::replay::{Fault, Recording, ReplayServer};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use scraper::{Html, Selector};
use sha2::{Digest, Sha256};

use crate::support;

const SEED: &str = "/Pages/chi-tiet-tin.aspx?ItemID=1234&l=TinBanQuanLy";
const LIST: &str = "/Pages/tin-ban-quan-ly.aspx";
const RECORDED_AT: &str = "Wed, 08 Jul 2020 07:00:00 GMT";

async fn recorded_portal() -> ReplayServer {
    let recording = Recording::load(&support::fixture("portal")).expect("the recording loads");
    ReplayServer::start(recording).await.expect("server starts")
}

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// GETs `path_and_query` with `headers`; returns status, headers and the whole body.
async fn get(
    http: &reqwest::Client,
    server: &ReplayServer,
    path_and_query: &str,
    headers: &[(header::HeaderName, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let url = format!("http://{}{path_and_query}", server.addr());
    let mut request = http.get(&url);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: body: {e}"));
    (status, headers, body.to_vec())
}

fn header_of(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).map(|v| v.to_str().expect("ASCII header"))
}

fn etag_of(bytes: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(bytes))[..16])
}

fn fixture_bytes(file: &str) -> Vec<u8> {
    std::fs::read(support::fixture(&format!("portal/{file}"))).expect("fixture file")
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("selector {css}: {e}"))
}

/// `(href, title)` of each list item of a list page, in page order.
fn list_links(page: &[u8]) -> Vec<(String, String)> {
    let html = Html::parse_document(std::str::from_utf8(page).expect("UTF-8 list page"));
    html.select(&selector("div.H3_iTem_ListNews h3 a"))
        .map(|a| {
            let href = a.value().attr("href").expect("item link has href");
            (href.to_string(), a.text().collect())
        })
        .collect()
}

fn next_link(page: &[u8]) -> Option<String> {
    let html = Html::parse_document(std::str::from_utf8(page).expect("UTF-8 list page"));
    html.select(&selector("div.Paging a.next"))
        .next()
        .and_then(|a| a.value().attr("href"))
        .map(str::to_string)
}

fn texts(page: &[u8], css: &str) -> Vec<String> {
    let html = Html::parse_document(std::str::from_utf8(page).expect("UTF-8 page"));
    html.select(&selector(css))
        .map(|e| e.text().collect())
        .collect()
}

#[tokio::test]
async fn recorded_portal_serves_the_manifest_bytes_and_404s_the_rest() {
    let server = recorded_portal().await;
    let http = client();
    let manifest = support::manifest();
    // 9 articles at two URLs each, 4 list URLs, robots.txt and the 5 figures of the articles.
    assert_eq!(manifest.len(), 28, "manifest rows");
    for row in &manifest {
        let (status, headers, body) = get(&http, &server, &row.path_and_query, &[]).await;
        assert_eq!(status, StatusCode::OK, "{}", row.path_and_query);
        assert_eq!(
            header_of(&headers, header::CONTENT_TYPE),
            Some(row.content_type.as_str()),
            "{}",
            row.path_and_query
        );
        assert!(
            body == fixture_bytes(&row.file),
            "{}: body differs from {}",
            row.path_and_query,
            row.file
        );
    }
    for unknown in [
        "/Pages/chi-tiet-tin.aspx?l=TinBanQuanLy&ItemID=1234",
        "/Pages/chi-tiet-tin.aspx?ItemID=9999",
        "/pages/tin-ban-quan-ly.aspx",
        "/",
    ] {
        let (status, headers, body) = get(&http, &server, unknown, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
        assert_eq!(
            header_of(&headers, header::CONTENT_TYPE),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(
            String::from_utf8_lossy(&body),
            "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\
             <body><h1>404 Not Found</h1></body></html>\n",
            "{unknown}"
        );
    }
}

#[test]
fn recording_load_and_get_read_the_manifest() {
    let recording = Recording::load(&support::fixture("portal")).expect("loads");
    let (bytes, content_type) = recording
        .get("/Pages/chi-tiet-tin.aspx?ItemID=1180")
        .expect("recorded");
    assert_eq!(bytes, fixture_bytes("article-1180.html"));
    assert_eq!(content_type, "text/html");
    assert!(recording.get("/Pages/chi-tiet-tin.aspx?ItemID=1").is_none());

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("manifest.tsv"),
        "# url\tfile\tct\n/a\ta.html\n",
    )
    .unwrap();
    let err = Recording::load(dir.path())
        .err()
        .expect("a two-field row is refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        err.to_string().ends_with(
            "manifest.tsv:2: expected 3 tab-separated fields (url, file, content-type), got 2"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn etag_and_last_modified_answer_conditional_requests_with_304() {
    let server = recorded_portal().await;
    let http = client();
    let etag = etag_of(&fixture_bytes("article-1234.html"));
    let (status, headers, _) = get(&http, &server, SEED, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header_of(&headers, header::ETAG), Some(etag.as_str()));
    assert_eq!(
        header_of(&headers, header::LAST_MODIFIED),
        Some(RECORDED_AT)
    );

    let weak = format!("W/{etag}");
    let listed = format!("\"0000000000000000\", {etag}");
    for if_none_match in [etag.as_str(), weak.as_str(), listed.as_str(), "*"] {
        let (status, headers, body) = get(
            &http,
            &server,
            SEED,
            &[(header::IF_NONE_MATCH, if_none_match)],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::NOT_MODIFIED,
            "If-None-Match: {if_none_match}"
        );
        assert_eq!(header_of(&headers, header::ETAG), Some(etag.as_str()));
        assert!(body.is_empty(), "a 304 has no body");
    }
    let (status, _, _) = get(
        &http,
        &server,
        SEED,
        &[(header::IF_MODIFIED_SINCE, RECORDED_AT)],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_MODIFIED,
        "If-Modified-Since: Last-Modified"
    );
    let later = "Thu, 09 Jul 2020 07:00:00 GMT";
    let (status, _, _) = get(&http, &server, SEED, &[(header::IF_MODIFIED_SINCE, later)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED, "If-Modified-Since: later");

    let earlier = "Wed, 08 Jul 2020 06:59:59 GMT";
    let (status, _, body) = get(
        &http,
        &server,
        SEED,
        &[(header::IF_MODIFIED_SINCE, earlier)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "If-Modified-Since: earlier");
    assert_eq!(body.len(), fixture_bytes("article-1234.html").len());
    let stale = [
        (header::IF_NONE_MATCH, "\"0000000000000000\""),
        (header::IF_MODIFIED_SINCE, RECORDED_AT),
    ];
    let (status, _, _) = get(&http, &server, SEED, &stale).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "If-None-Match decides over If-Modified-Since"
    );
    let (status, _, _) = get(
        &http,
        &server,
        SEED,
        &[(header::IF_MODIFIED_SINCE, "yesterday")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "an unreadable date is ignored");
    let canonical = "/Pages/chi-tiet-tin.aspx?ItemID=1234";
    let (status, _, _) = get(&http, &server, canonical, &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(
        status,
        StatusCode::NOT_MODIFIED,
        "the same bytes have the same ETag"
    );
}

#[tokio::test]
async fn set_page_changes_bytes_etag_and_last_modified() {
    let server = recorded_portal().await;
    let http = client();
    let old_etag = etag_of(&fixture_bytes("article-1234.html"));
    let new_bytes = b"<html><body>revised</body></html>".to_vec();
    server.set_page(SEED, new_bytes.clone(), "text/html; charset=utf-8");

    let (status, headers, body) =
        get(&http, &server, SEED, &[(header::IF_NONE_MATCH, &old_etag)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, new_bytes);
    let new_etag = etag_of(&new_bytes);
    assert_eq!(header_of(&headers, header::ETAG), Some(new_etag.as_str()));
    let modified = header_of(&headers, header::LAST_MODIFIED).expect("Last-Modified");
    let modified = chrono::DateTime::parse_from_rfc2822(modified).expect("an HTTP date");
    let recorded = chrono::DateTime::parse_from_rfc2822(RECORDED_AT).unwrap();
    assert!(modified > recorded, "{modified} is after the recording");
    let (status, _, _) = get(
        &http,
        &server,
        SEED,
        &[(header::IF_MODIFIED_SINCE, RECORDED_AT)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "changed since the recording");

    // Two changes within one second still move Last-Modified on.
    let first = header_of(&headers, header::LAST_MODIFIED)
        .unwrap()
        .to_string();
    server.set_page(SEED, b"again".to_vec(), "text/plain");
    let (_, headers, body) =
        get(&http, &server, SEED, &[(header::IF_MODIFIED_SINCE, &first)]).await;
    assert_eq!(body, b"again");
    assert_eq!(
        header_of(&headers, header::CONTENT_TYPE),
        Some("text/plain")
    );

    server.set_page("/new.html", b"new".to_vec(), "text/html");
    let (status, _, body) = get(&http, &server, "/new.html", &[]).await;
    assert_eq!((status, body), (StatusCode::OK, b"new".to_vec()));
    server.remove_page(SEED);
    let (status, _, _) = get(&http, &server, SEED, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn status_faults_answer_their_status_then_clear() {
    let server = recorded_portal().await;
    let http = client();
    server.fault(SEED, Fault::StatusTimes(503, 2));
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(get(&http, &server, SEED, &[]).await.0.as_u16());
    }
    assert_eq!(statuses, [503, 503, 200, 200]);

    server.fault(SEED, Fault::Status(500));
    let (status, headers, body) = get(&http, &server, SEED, &[]).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        header_of(&headers, header::CONTENT_TYPE),
        Some("text/html; charset=utf-8")
    );
    assert!(String::from_utf8_lossy(&body).contains("<h1>500 Internal Server Error</h1>"));
    assert_eq!(
        get(&http, &server, SEED, &[]).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        get(&http, &server, LIST, &[]).await.0,
        StatusCode::OK,
        "faults are per URL"
    );
    server.clear_faults();
    assert_eq!(get(&http, &server, SEED, &[]).await.0, StatusCode::OK);

    server.fault(SEED, Fault::StatusTimes(404, 0));
    assert_eq!(
        get(&http, &server, SEED, &[]).await.0,
        StatusCode::OK,
        "zero times is no fault"
    );
}

#[tokio::test]
async fn retry_after_is_sent_once() {
    let server = recorded_portal().await;
    let http = client();
    server.fault(SEED, Fault::RetryAfter(429, 7));
    let (status, headers, _) = get(&http, &server, SEED, &[]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header_of(&headers, header::RETRY_AFTER), Some("7"));
    let (status, headers, _) = get(&http, &server, SEED, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header_of(&headers, header::RETRY_AFTER), None);
}

#[tokio::test]
async fn impossible_statuses_do_not_stop_the_server() {
    let server = recorded_portal().await;
    let http = client();
    for status in [0, 99, 100, 1000] {
        server.fault(SEED, Fault::Status(status));
        let url = format!("http://{}{SEED}", server.addr());
        let answered = http.get(&url).send().await.map(|r| r.status());
        assert_eq!(
            answered.ok(),
            Some(StatusCode::INTERNAL_SERVER_ERROR),
            "Status({status})"
        );
    }
    server.fault(SEED, Fault::Redirect("bad\nlocation".into()));
    assert_eq!(
        get(&http, &server, SEED, &[]).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    server.clear_faults();
    assert_eq!(get(&http, &server, SEED, &[]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn truncate_announces_the_full_length_and_sends_less() {
    let server = recorded_portal().await;
    let full = fixture_bytes("article-1234.html");
    server.fault(SEED, Fault::Truncate(1000));
    let url = format!("http://{}{SEED}", server.addr());
    let mut response = client().get(&url).send().await.expect("headers arrive");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.content_length(), Some(full.len() as u64));
    let mut received = Vec::new();
    let ended = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received.extend_from_slice(&chunk),
            Ok(None) => break "end of body",
            Err(_) => break "error",
        }
    };
    assert_eq!(
        ended, "error",
        "a body shorter than Content-Length is an error"
    );
    assert_eq!(received, full[..1000]);
}

#[tokio::test]
async fn charset_fault_rewrites_the_content_type_only() {
    let server = recorded_portal().await;
    let http = client();
    let full = fixture_bytes("article-1234.html");
    server.fault(SEED, Fault::Charset(None));
    let (status, headers, body) = get(&http, &server, SEED, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header_of(&headers, header::CONTENT_TYPE), Some("text/html"));
    assert!(body == full);
    server.fault(SEED, Fault::Charset(Some("windows-1258".into())));
    let (_, headers, _) = get(&http, &server, SEED, &[]).await;
    assert_eq!(
        header_of(&headers, header::CONTENT_TYPE),
        Some("text/html; charset=windows-1258")
    );
}

#[tokio::test]
async fn redirects_answer_302_with_the_location_given() {
    let server = recorded_portal().await;
    let http = client();
    server.fault(
        SEED,
        Fault::Redirect("/Pages/chi-tiet-tin.aspx?ItemID=1234".into()),
    );
    server.fault(
        LIST,
        Fault::Redirect("https://example.org/elsewhere".into()),
    );
    server.fault("/loop", Fault::RedirectLoop);
    for (from, to) in [
        (SEED, "/Pages/chi-tiet-tin.aspx?ItemID=1234"),
        (LIST, "https://example.org/elsewhere"),
        ("/loop", "/loop"),
        ("/loop", "/loop"),
    ] {
        let (status, headers, _) = get(&http, &server, from, &[]).await;
        assert_eq!(status, StatusCode::FOUND, "{from}");
        assert_eq!(header_of(&headers, header::LOCATION), Some(to), "{from}");
    }
    assert_eq!(server.hits("/loop"), 2);
}

#[tokio::test]
async fn huge_streams_that_many_bytes_without_content_length() {
    let server = recorded_portal().await;
    let http = client();
    let len = 1_000_003;
    server.fault(SEED, Fault::Huge(len));
    let (status, headers, body) = get(&http, &server, SEED, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header_of(&headers, header::CONTENT_LENGTH), None);
    assert_eq!(
        header_of(&headers, header::TRANSFER_ENCODING),
        Some("chunked")
    );
    assert_eq!(
        header_of(&headers, header::CONTENT_TYPE),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(body.len() as u64, len);
    assert!(body.starts_with(b"<p>"));
}

#[tokio::test]
async fn delay_holds_the_answer_back_then_serves_the_page() {
    let server = recorded_portal().await;
    let http = client();
    server.fault(SEED, Fault::Delay(Duration::from_millis(300)));
    let started = std::time::Instant::now();
    let (status, _, body) = get(&http, &server, SEED, &[]).await;
    let waited = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert!(body == fixture_bytes("article-1234.html"));
    assert!(
        waited >= Duration::from_millis(300),
        "answered after {waited:?}"
    );
}

#[tokio::test]
async fn hits_and_requests_record_every_request_in_order() {
    let server = recorded_portal().await;
    let http = client();
    server.fault("/Pages/chi-tiet-tin.aspx?ItemID=1240", Fault::Status(503));
    let url = format!("http://{}{SEED}", server.addr());
    http.get(&url)
        .header(header::USER_AGENT, "gazette-test/1")
        .header(header::IF_NONE_MATCH, "\"abc\"")
        .header(header::IF_MODIFIED_SINCE, RECORDED_AT)
        .send()
        .await
        .expect("answered");
    get(&http, &server, SEED, &[]).await;
    get(&http, &server, "/Pages/chi-tiet-tin.aspx?ItemID=1240", &[]).await;
    get(&http, &server, "/nowhere?x=1", &[]).await;

    assert_eq!(server.hits(SEED), 2);
    assert_eq!(
        server.hits("/Pages/chi-tiet-tin.aspx?ItemID=1240"),
        1,
        "faults count"
    );
    assert_eq!(server.hits("/nowhere?x=1"), 1, "404s count");
    assert_eq!(
        server.hits("/nowhere"),
        0,
        "the query is part of the target"
    );
    assert_eq!(server.hits("/Pages/chi-tiet-tin.aspx?ItemID=1234"), 0);

    let requests = server.requests();
    let targets: Vec<&str> = requests.iter().map(|r| r.path_and_query.as_str()).collect();
    assert_eq!(
        targets,
        [
            SEED,
            SEED,
            "/Pages/chi-tiet-tin.aspx?ItemID=1240",
            "/nowhere?x=1"
        ]
    );
    assert_eq!(requests[0].user_agent.as_deref(), Some("gazette-test/1"));
    assert_eq!(requests[0].if_none_match.as_deref(), Some("\"abc\""));
    assert_eq!(requests[0].if_modified_since.as_deref(), Some(RECORDED_AT));
    assert_eq!(requests[1].if_none_match, None);
    assert!(requests.windows(2).all(|pair| pair[0].at <= pair[1].at));
}

#[tokio::test]
async fn add_article_puts_it_first_on_list_page_one_and_serves_it() {
    let server = recorded_portal().await;
    let http = client();
    let (_, headers, before) = get(&http, &server, LIST, &[]).await;
    let old_etag = header_of(&headers, header::ETAG).unwrap().to_string();
    let (_, _, page_two_before) =
        get(&http, &server, "/Pages/tin-ban-quan-ly.aspx?Page=2", &[]).await;
    server.add_article(
        1300,
        "Khởi công dự án mới & mở rộng",
        "(08:00 | 01/08/2020)",
        &["Đoạn mở đầu.", "Đoạn thứ hai."],
    );

    for list in [LIST, "/Pages/tin-ban-quan-ly.aspx?Page=1"] {
        let (status, headers, page) =
            get(&http, &server, list, &[(header::IF_NONE_MATCH, &old_etag)]).await;
        assert_eq!(status, StatusCode::OK, "{list} changed");
        assert_ne!(header_of(&headers, header::ETAG), Some(old_etag.as_str()));
        let links = list_links(&page);
        assert_eq!(links.len(), list_links(&before).len() + 1, "{list}");
        assert_eq!(
            links[0],
            (
                "/Pages/chi-tiet-tin.aspx?ItemID=1300&l=TinBanQuanLy".to_string(),
                "Khởi công dự án mới & mở rộng".to_string()
            ),
            "{list}"
        );
        assert_eq!(
            links[1..],
            list_links(&before)[..],
            "{list}: the others follow"
        );
        assert_eq!(
            texts(&page, "div.H3_iTem_ListNews span.news_datetime")[0],
            "(08:00 | 01/08/2020)"
        );
        assert_eq!(
            texts(&page, "div.H3_iTem_ListNews div.news-sapo")[0],
            "Đoạn mở đầu."
        );
    }
    let (_, _, page_two) = get(&http, &server, "/Pages/tin-ban-quan-ly.aspx?Page=2", &[]).await;
    assert!(page_two == page_two_before, "later pages stay as they are");

    for article in [
        "/Pages/chi-tiet-tin.aspx?ItemID=1300&l=TinBanQuanLy",
        "/Pages/chi-tiet-tin.aspx?ItemID=1300",
    ] {
        let (status, headers, page) = get(&http, &server, article, &[]).await;
        assert_eq!(status, StatusCode::OK, "{article}");
        assert_eq!(
            header_of(&headers, header::CONTENT_TYPE),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(
            texts(&page, "h1.News_Detail_Title"),
            ["Khởi công dự án mới & mở rộng"]
        );
        assert_eq!(
            texts(&page, "span.News_Time_Post"),
            ["(08:00 | 01/08/2020)"]
        );
        assert_eq!(
            texts(&page, "#divArticleDescription2 p"),
            ["Đoạn mở đầu.", "Đoạn thứ hai."]
        );
    }
}

#[tokio::test]
async fn add_article_without_a_list_panel_goes_before_the_first_item() {
    let server = recorded_portal().await;
    let http = client();
    let bare = "<body>\n  <div class=\"H3_iTem_ListNews\">old</div>\n</body>";
    server.set_page(LIST, bare.as_bytes().to_vec(), "text/html");
    let page_one = "/Pages/tin-ban-quan-ly.aspx?Page=1";
    server.set_page(page_one, b"<body>no list here</body>".to_vec(), "text/html");
    server.add_article(1301, "T", "(08:00 | 01/08/2020)", &[]);

    let item = gazette::replay::list_item(1301, "T", "(08:00 | 01/08/2020)", "");
    let (_, _, page) = get(&http, &server, LIST, &[]).await;
    assert_eq!(
        String::from_utf8(page).unwrap(),
        format!("<body>\n  {item}\n  <div class=\"H3_iTem_ListNews\">old</div>\n</body>")
    );
    let (_, _, page) = get(&http, &server, page_one, &[]).await;
    assert_eq!(page, b"<body>no list here</body>", "nothing to add to");
    let (status, _, _) = get(&http, &server, "/Pages/chi-tiet-tin.aspx?ItemID=1301", &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn synthetic_portal_pages_ten_items_newest_first_and_serves_every_article() {
    let server = ReplayServer::start(Recording::synthetic(25)).await.unwrap();
    let http = client();
    let mut items = Vec::new();
    let mut shape = Vec::new();
    for page in 1..=3 {
        let path = format!("{LIST}?Page={page}");
        let (status, headers, body) = get(&http, &server, &path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(
            header_of(&headers, header::CONTENT_TYPE),
            Some("text/html; charset=utf-8")
        );
        let links = list_links(&body);
        shape.push((links.len(), next_link(&body)));
        items.extend(links);
        if page == 1 {
            assert!(
                get(&http, &server, LIST, &[]).await.2 == body,
                "page 1 answers at both URLs"
            );
            let times = texts(&body, "div.H3_iTem_ListNews span.news_datetime");
            assert_eq!(times[0], "(00:25 | 01/01/2020)");
            assert_eq!(times[9], "(00:16 | 01/01/2020)");
        }
    }
    assert_eq!(
        shape,
        [
            (10, Some(format!("{LIST}?Page=2"))),
            (10, Some(format!("{LIST}?Page=3"))),
            (5, None),
        ]
    );
    let ids: Vec<String> = items.iter().map(|(href, _)| href.clone()).collect();
    let expected: Vec<String> = (1..=25)
        .rev()
        .map(|k| {
            format!(
                "/Pages/chi-tiet-tin.aspx?ItemID={}&l=TinBanQuanLy",
                100_000 + k
            )
        })
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(
        get(&http, &server, &format!("{LIST}?Page=4"), &[]).await.0,
        StatusCode::NOT_FOUND
    );

    for (href, title) in &items {
        let (status, _, page) = get(&http, &server, href, &[]).await;
        assert_eq!(status, StatusCode::OK, "{href}");
        assert_eq!(
            texts(&page, "h1.News_Detail_Title"),
            [title.as_str()],
            "{href}"
        );
        let paragraphs = texts(&page, "#divArticleDescription2 p").len();
        // Three or four, and one more where a phrase for search is planted.
        assert!(
            (3..=5).contains(&paragraphs),
            "{href}: {paragraphs} paragraphs"
        );
        let canonical = href.trim_end_matches("&l=TinBanQuanLy");
        let (status, _, same) = get(&http, &server, canonical, &[]).await;
        assert_eq!(status, StatusCode::OK, "{canonical}");
        assert!(same == page, "{canonical} is the same page");
    }
    let titles: std::collections::HashSet<&String> = items.iter().map(|(_, t)| t).collect();
    assert_eq!(titles.len(), 25, "every article has its own title");

    let (status, headers, robots) = get(&http, &server, "/robots.txt", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        header_of(&headers, header::CONTENT_TYPE),
        Some("text/plain")
    );
    assert_eq!(robots, b"User-agent: *\nDisallow:\n");
}

#[test]
fn synthetic_portal_edges() {
    let empty = Recording::synthetic(0);
    let (page, _) = empty
        .get(LIST)
        .expect("an empty portal still has its list page");
    assert_eq!(list_links(page), []);
    assert_eq!(next_link(page), None);
    assert!(empty.get("/Pages/tin-ban-quan-ly.aspx?Page=2").is_none());

    let ten = Recording::synthetic(10);
    let (page, _) = ten.get(LIST).unwrap();
    assert_eq!((list_links(page).len(), next_link(page)), (10, None));
    assert!(ten.get("/Pages/tin-ban-quan-ly.aspx?Page=2").is_none());
    let (again, _) = Recording::synthetic(10)
        .get(LIST)
        .map(|(b, t)| (b.to_vec(), t.to_string()))
        .unwrap();
    assert!(again == page, "the same size gives the same bytes");
}

#[test]
fn synthetic_pages_read_back_through_gazette() {
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    let recording = Recording::synthetic(12);
    let base = url::Url::parse("https://bqlkkt.kiengiang.gov.vn/").unwrap();

    let list_url = base.join(LIST).unwrap();
    let (bytes, content_type) = recording.get(LIST).unwrap();
    let page = gazette::model::Page {
        url: &list_url,
        content_type: Some(content_type),
        bytes,
    };
    let list = gazette::read_list(&page, source).expect("a list page");
    assert_eq!(list.items.len(), 10);
    assert_eq!(
        list.items[0].url,
        "https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID=100012"
    );
    assert_eq!(
        list.items[0].published.map(|p| p.to_rfc3339()).as_deref(),
        Some("2020-01-01T00:12:00+07:00")
    );
    assert_eq!(
        list.next_page.as_deref(),
        Some("https://bqlkkt.kiengiang.gov.vn/Pages/tin-ban-quan-ly.aspx?Page=2")
    );

    let path = "/Pages/chi-tiet-tin.aspx?ItemID=100007&l=TinBanQuanLy";
    let article_url = base.join(path).unwrap();
    let (bytes, content_type) = recording.get(path).unwrap();
    let page = gazette::model::Page {
        url: &article_url,
        content_type: Some(content_type),
        bytes,
    };
    let article = gazette::read_article(&page, source, "tin-ban-quan-ly").expect("an article");
    assert_eq!(article.id.0, "bqlkkt:100007");
    assert_eq!(
        article.title,
        "Đối thoại với doanh nghiệp tại Khu kinh tế Phú Quốc (tin số 7)"
    );
    assert_eq!(
        article.published.map(|p| p.to_rfc3339()).as_deref(),
        Some("2020-01-01T00:07:00+07:00")
    );
    assert_eq!(article.category.as_deref(), Some("Tin Ban Quản lý"));
    let paragraphs: Vec<&str> = article.body_text.split("\n\n").collect();
    assert_eq!(paragraphs.len(), 4, "odd k has four paragraphs");
    assert_eq!(
        paragraphs[0],
        "Lúc 00:07 ngày 01/01/2020, Ban Quản lý Khu kinh tế tỉnh Kiên Giang tổ chức đối thoại với doanh nghiệp tại Khu kinh tế Phú Quốc."
    );
}

#[test]
fn article_page_and_list_item_escape_their_text() {
    let page =
        gazette::replay::article_page(7, "A <b> & \"c\"", "(01:02 | 03/04/2020)", &["x < y"]);
    assert!(page.contains("<h1 class=\"News_Detail_Title\">A &lt;b&gt; &amp; &quot;c&quot;</h1>"));
    assert!(page.contains("<p style=\"text-align: justify;\">x &lt; y</p>"));
    assert!(page.contains("action=\"/Pages/chi-tiet-tin.aspx?ItemID=7&amp;l=TinBanQuanLy\""));
    let item = gazette::replay::list_item(7, "T & U", "(01:02 | 03/04/2020)", "S");
    assert_eq!(
        item,
        "<div class=\"H3_iTem_ListNews\">\n    \
         <h3><a href=\"/Pages/chi-tiet-tin.aspx?ItemID=7&amp;l=TinBanQuanLy\">T &amp; U</a></h3>\n    \
         <span class=\"news_datetime\">(01:02 | 03/04/2020)</span>\n    \
         <div class=\"news-sapo\">S</div>\n  </div>"
    );
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let server = ReplayServer::start(Recording::synthetic(1)).await.unwrap();
    let http = client();
    assert_eq!(
        server.base_url().as_str(),
        format!("http://127.0.0.1:{}/", server.addr().port())
    );
    let url = server.base_url().join("robots.txt").unwrap();
    assert_eq!(
        get(&http, &server, "/robots.txt", &[]).await.0,
        StatusCode::OK
    );
    server.shutdown();
    let mut refused = false;
    for _ in 0..50 {
        if client().get(url.clone()).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "{url} still answers after shutdown");
}

#[test]
fn the_bundled_recording_is_fixtures_portal_byte_for_byte() {
    let bundled = Recording::bundled().expect("the bundled recording");
    let loaded = Recording::load(&support::fixture("portal")).expect("fixtures/portal loads");
    let mut bundled_paths: Vec<&str> = bundled.paths().collect();
    let mut loaded_paths: Vec<&str> = loaded.paths().collect();
    bundled_paths.sort_unstable();
    loaded_paths.sort_unstable();
    assert_eq!(bundled_paths, loaded_paths);
    let rows = support::manifest();
    assert_eq!(rows.len(), loaded_paths.len(), "one page per manifest row");
    for row in &rows {
        let on_disk = std::fs::read(support::fixture(&format!("portal/{}", row.file))).unwrap();
        let (bytes, content_type) = bundled
            .get(&row.path_and_query)
            .unwrap_or_else(|| panic!("{} is not bundled", row.path_and_query));
        assert!(
            bytes == on_disk.as_slice(),
            "{}: the bundled bytes differ",
            row.file
        );
        assert_eq!(content_type, row.content_type, "{}", row.path_and_query);
    }
    // Every page file of the directory is served (the README and expectations are not pages).
    for entry in std::fs::read_dir(support::fixture("portal")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".html") || name == "robots.txt" {
            assert!(
                rows.iter().any(|r| r.file == name),
                "{name} is not in the manifest"
            );
        }
    }
    for entry in std::fs::read_dir(support::fixture("portal/images")).unwrap() {
        let name = format!("images/{}", entry.unwrap().file_name().to_string_lossy());
        let row = rows.iter().find(|r| r.file == name);
        assert!(row.is_some(), "{name} is not in the manifest");
        assert_eq!(row.unwrap().content_type, "image/jpeg", "{name}");
    }
}
