//! Memento (RFC 7089) through `app(state)`: an article captured three times, its TimeMap in both
//! forms, its TimeGate for dates before, between and after its captures, each memento byte for
//! byte with its headers, and a captured attachment; Link headers are read by a parser of the
//! test's own.

use gazette::archive::prelude::*;
use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use chrono::{DateTime, FixedOffset, Utc};
use gazette::archive::SledArchive;
use gazette::model::{Article, Capture};
use gazette::server::{AppState, app};

use crate::archive::{edited, recorded_article};
use crate::server::{Answer, call, get};
use crate::support;

/// The recorded article's canonical URL under the shipped config (the portal's own address).
const ORIGINAL: &str = "https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID=1234";

/// When the three captures were fetched, in the portal's zone: the archive keeps the offset,
/// Memento speaks UTC.
const FETCHED: [&str; 3] = [
    "2026-01-01T07:00:00+07:00",
    "2026-01-03T19:30:00+07:00",
    "2026-01-10T07:00:00+07:00",
];
const STAMPS: [&str; 3] = ["20260101000000", "20260103123000", "20260110000000"];
const HTTP_DATES: [&str; 3] = [
    "Thu, 01 Jan 2026 00:00:00 GMT",
    "Sat, 03 Jan 2026 12:30:00 GMT",
    "Sat, 10 Jan 2026 00:00:00 GMT",
];

struct Archived3 {
    _dir: tempfile::TempDir,
    app: Router,
    /// The page bytes of each capture, oldest first.
    pages: Vec<Vec<u8>>,
    article: Article,
}

fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

/// Article 1234 stored three times, each a revision read from different page bytes.
fn archived_three_times() -> Archived3 {
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::shipped_config();
    config.storage.path = dir.path().join("archive");
    let archive = Arc::new(SledArchive::open(&config.storage).unwrap());
    let (article, capture) = recorded_article("article-1234.html");
    assert_eq!(article.url, ORIGINAL, "the canonical URL the tests ask for");
    let mut pages = Vec::new();
    for (n, fetched) in FETCHED.iter().enumerate() {
        let mut body = capture.body.clone();
        body.extend_from_slice(format!("<!-- capture {n} -->").as_bytes());
        let version = if n == 0 {
            article.clone()
        } else {
            edited(&article, &format!("{} ({n})", article.title))
        };
        let page = Capture {
            body: body.clone(),
            ..capture.clone()
        };
        archive.store(&version, &page, at(fetched)).unwrap();
        pages.push(body);
    }
    let state = AppState::new(
        Arc::new(config),
        archive,
        gazette::schedule::Status::default(),
    );
    Archived3 {
        _dir: dir,
        app: app(state),
        pages,
        article,
    }
}

/// One link of a `Link` header or a link-format document: its URI and its parameters.
#[derive(Debug)]
struct Link {
    uri: String,
    params: Vec<(String, String)>,
}

impl Link {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn rels(&self) -> Vec<&str> {
        self.param("rel").unwrap_or_default().split(' ').collect()
    }
    /// The URI without this server's origin, to be asked of the app.
    fn path(&self) -> String {
        local(&self.uri)
    }
}

/// Links as RFC 8288 writes them: `<uri>; name="value"; …`, separated by commas.
fn parse_links(text: &str) -> Vec<Link> {
    let link = regex::Regex::new(r#"<([^>]*)>((?:\s*;\s*[a-z]+="[^"]*")*)\s*(?:,|$)"#).unwrap();
    let param = regex::Regex::new(r#";\s*([a-z]+)="([^"]*)""#).unwrap();
    let links: Vec<Link> = link
        .captures_iter(text.trim())
        .map(|c| Link {
            uri: c[1].to_string(),
            params: param
                .captures_iter(&c[2])
                .map(|p| (p[1].to_string(), p[2].to_string()))
                .collect(),
        })
        .collect();
    let commas = text.matches(">;").count();
    assert_eq!(links.len(), commas, "every link parses: {text}");
    links
}

fn with_rel<'a>(links: &'a [Link], rel: &str) -> Vec<&'a Link> {
    links.iter().filter(|l| l.rels().contains(&rel)).collect()
}

/// An absolute URL of the server as a path the app answers.
fn local(uri: &str) -> String {
    let url = url::Url::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
    uri[url.origin().ascii_serialization().len()..].to_string()
}

fn memento_path(i: usize) -> String {
    format!("/web/{}/{ORIGINAL}", STAMPS[i])
}

async fn timegate(app: &Router, accept: Option<&str>) -> Answer {
    let headers: Vec<(&str, &str)> = accept.map(|a| ("accept-datetime", a)).into_iter().collect();
    call(app, "GET", &format!("/timegate/{ORIGINAL}"), &headers).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_timemap_lists_every_capture_with_its_relations() {
    let a = archived_three_times();
    let answer = get(&a.app, &format!("/timemap/link/{ORIGINAL}")).await;
    answer.expect_status(StatusCode::OK, format_args!("link TimeMap"));
    assert_eq!(
        answer.header(header::CONTENT_TYPE),
        "application/link-format"
    );
    let links = parse_links(&answer.text());
    let original = with_rel(&links, "original");
    assert_eq!(original.len(), 1, "{links:#?}");
    assert_eq!(original[0].uri, ORIGINAL);
    let own = with_rel(&links, "self");
    assert_eq!(own.len(), 1, "{links:#?}");
    assert_eq!(own[0].path(), format!("/timemap/link/{ORIGINAL}"));
    assert_eq!(own[0].param("type"), Some("application/link-format"));
    assert_eq!(own[0].param("from"), Some(HTTP_DATES[0]));
    assert_eq!(own[0].param("until"), Some(HTTP_DATES[2]));
    let gate = with_rel(&links, "timegate");
    assert_eq!(gate.len(), 1, "{links:#?}");
    assert_eq!(gate[0].path(), format!("/timegate/{ORIGINAL}"));

    let mementos = with_rel(&links, "memento");
    assert_eq!(mementos.len(), 3, "one memento per capture: {links:#?}");
    for (i, memento) in mementos.iter().enumerate() {
        assert_eq!(memento.path(), memento_path(i));
        assert_eq!(memento.param("datetime"), Some(HTTP_DATES[i]));
    }
    assert_eq!(mementos[0].rels(), ["first", "memento"]);
    assert_eq!(mementos[1].rels(), ["memento"]);
    assert_eq!(mementos[2].rels(), ["last", "memento"]);

    let answer = get(&a.app, &format!("/timemap/json/{ORIGINAL}")).await;
    answer.expect_status(StatusCode::OK, format_args!("JSON TimeMap"));
    let json = answer.json();
    assert_eq!(json["original_uri"], ORIGINAL);
    assert_eq!(
        local(json["timegate_uri"].as_str().unwrap()),
        format!("/timegate/{ORIGINAL}")
    );
    assert_eq!(
        local(json["timemap_uri"]["link_format"].as_str().unwrap()),
        format!("/timemap/link/{ORIGINAL}")
    );
    assert_eq!(
        local(json["timemap_uri"]["json_format"].as_str().unwrap()),
        format!("/timemap/json/{ORIGINAL}")
    );
    let list = json["mementos"]["list"].as_array().unwrap();
    assert_eq!(list.len(), 3, "{json:#}");
    for (i, entry) in list.iter().enumerate() {
        let when = at(FETCHED[i]).with_timezone(&Utc);
        assert_eq!(
            entry["datetime"],
            when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        assert_eq!(local(entry["uri"].as_str().unwrap()), memento_path(i));
    }
    assert_eq!(json["mementos"]["first"], list[0]);
    assert_eq!(json["mementos"]["last"], list[2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_timegate_sends_each_date_to_the_closest_capture() {
    let a = archived_three_times();
    for (accept, want, case) in [
        (Some("Mon, 01 Jan 2024 00:00:00 GMT"), 0, "before the first"),
        (
            Some("Thu, 01 Jan 2026 00:00:00 GMT"),
            0,
            "the first exactly",
        ),
        (Some("Fri, 02 Jan 2026 06:00:00 GMT"), 0, "nearer the first"),
        (
            Some("Fri, 02 Jan 2026 18:00:00 GMT"),
            1,
            "nearer the second",
        ),
        (
            Some("Sun, 04 Jan 2026 10:00:00 GMT"),
            1,
            "just after the second",
        ),
        (Some("Fri, 09 Jan 2026 00:00:00 GMT"), 2, "nearer the third"),
        (Some("Tue, 01 Jan 2030 00:00:00 GMT"), 2, "after the last"),
        (None, 2, "no Accept-Datetime: the latest"),
    ] {
        let answer = timegate(&a.app, accept).await;
        answer.expect_status(StatusCode::FOUND, format_args!("{case}"));
        assert_eq!(
            local(answer.header(header::LOCATION)),
            memento_path(want),
            "{case}"
        );
        assert!(
            answer
                .header(header::VARY)
                .to_ascii_lowercase()
                .contains("accept-datetime"),
            "{case}: Vary {:?}",
            answer.headers
        );
        assert!(
            answer.headers.get("memento-datetime").is_none(),
            "{case}: a TimeGate is not a memento"
        );
        let links = parse_links(answer.header(header::LINK));
        assert_eq!(with_rel(&links, "original")[0].uri, ORIGINAL, "{case}");
        let timemap = with_rel(&links, "timemap");
        assert!(
            timemap
                .iter()
                .any(|l| l.param("type") == Some("application/link-format")
                    && l.path() == format!("/timemap/link/{ORIGINAL}")),
            "{case}: {links:#?}"
        );
        let chosen = with_rel(&links, "memento")
            .into_iter()
            .find(|l| l.path() == memento_path(want))
            .unwrap_or_else(|| panic!("{case}: the chosen memento is linked: {links:#?}"));
        assert_eq!(chosen.param("datetime"), Some(HTTP_DATES[want]), "{case}");
        assert_eq!(with_rel(&links, "first")[0].path(), memento_path(0));
        assert_eq!(with_rel(&links, "last")[0].path(), memento_path(2));
    }

    // HEAD, as Memento clients ask.
    let head = call(&a.app, "HEAD", &format!("/timegate/{ORIGINAL}"), &[]).await;
    head.expect_status(StatusCode::FOUND, format_args!("HEAD"));
    assert_eq!(local(head.header(header::LOCATION)), memento_path(2));

    for bad in ["yesterday", "2026-01-02", "Fri, 02 Jan 2026 25:00:00 GMT"] {
        let answer = timegate(&a.app, Some(bad)).await;
        answer.expect_status(StatusCode::BAD_REQUEST, format_args!("{bad:?}"));
        assert_eq!(answer.json()["error"], "bad parameter: Accept-Datetime");
    }

    for path in [
        "/timegate/https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID=9999",
        "/timemap/link/https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID=9999",
        "/timemap/json/http://other.example/",
        "/web/20260101000000/https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID=9999",
    ] {
        let answer = get(&a.app, path).await;
        answer.expect_status(StatusCode::NOT_FOUND, format_args!("{path}"));
        assert_eq!(answer.json()["error"], "not found", "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_memento_is_its_capture_with_the_memento_headers() {
    let a = archived_three_times();
    let rfc1123 =
        regex::Regex::new(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$")
            .unwrap();
    let expected_rels: [&[(usize, &[&str])]; 3] = [
        &[
            (0, &["first", "memento"]),
            (1, &["next", "memento"]),
            (2, &["last", "memento"]),
        ],
        &[
            (0, &["first", "prev", "memento"]),
            (1, &["memento"]),
            (2, &["last", "next", "memento"]),
        ],
        &[
            (0, &["first", "memento"]),
            (1, &["prev", "memento"]),
            (2, &["last", "memento"]),
        ],
    ];
    for i in 0..3 {
        let path = memento_path(i);
        let answer = get(&a.app, &path).await;
        answer.expect_status(StatusCode::OK, format_args!("{path}"));
        assert!(
            answer.body == a.pages[i],
            "{path}: the bytes of capture {i}, byte for byte"
        );
        let datetime = answer
            .headers
            .get("memento-datetime")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(rfc1123.is_match(datetime), "{path}: {datetime:?}");
        assert_eq!(datetime, HTTP_DATES[i]);
        // Sandboxed like every capture.
        assert!(
            answer
                .header(header::CONTENT_SECURITY_POLICY)
                .starts_with("sandbox"),
            "{path}: {:?}",
            answer.headers
        );
        assert_eq!(
            answer.header(header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );

        let links = parse_links(answer.header(header::LINK));
        assert_eq!(with_rel(&links, "original")[0].uri, ORIGINAL);
        assert_eq!(
            with_rel(&links, "timegate")[0].path(),
            format!("/timegate/{ORIGINAL}")
        );
        assert!(!with_rel(&links, "timemap").is_empty(), "{links:#?}");
        let mementos: Vec<(String, Vec<&str>)> = with_rel(&links, "memento")
            .into_iter()
            .map(|l| (l.path(), l.rels()))
            .collect();
        let want: Vec<(String, Vec<&str>)> = expected_rels[i]
            .iter()
            .map(|(j, rels)| (memento_path(*j), rels.to_vec()))
            .collect();
        assert_eq!(mementos, want, "{path}");
        for link in with_rel(&links, "memento") {
            let j = STAMPS.iter().position(|s| link.uri.contains(s)).unwrap();
            assert_eq!(link.param("datetime"), Some(HTTP_DATES[j]));
        }
    }

    // Not a capture's second: sent on to the closest, as wayback tools do.
    for (asked, want) in [("20260102", 0), ("2026010312", 1), ("20991231235959", 2)] {
        let path = format!("/web/{asked}/{ORIGINAL}");
        let answer = get(&a.app, &path).await;
        answer.expect_status(StatusCode::FOUND, format_args!("{path}"));
        assert_eq!(local(answer.header(header::LOCATION)), memento_path(want));
    }
    // The URL as linked, with a parameter the profile drops: sent on to the URL as archived.
    let linked = format!("/web/{}/{ORIGINAL}&l=TinBanQuanLy", STAMPS[1]);
    let answer = get(&a.app, &linked).await;
    answer.expect_status(StatusCode::FOUND, format_args!("{linked}"));
    assert_eq!(local(answer.header(header::LOCATION)), memento_path(1));

    for bad in ["2026-01-01", "202", "20261301000000"] {
        let path = format!("/web/{bad}/{ORIGINAL}");
        let answer = get(&a.app, &path).await;
        answer.expect_status(StatusCode::BAD_REQUEST, format_args!("{path}"));
        assert_eq!(answer.json()["error"], "bad parameter: timestamp");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_captures_and_the_reader_link_the_mementos() {
    let a = archived_three_times();
    let id = a.article.id.to_string();
    let answer = get(&a.app, &format!("/api/articles/{id}/raw?rev=2")).await;
    answer.expect_status(StatusCode::OK, format_args!("raw revision 2"));
    assert_eq!(answer.body, a.pages[1]);
    assert_eq!(
        answer
            .headers
            .get("memento-datetime")
            .and_then(|v| v.to_str().ok()),
        Some(HTTP_DATES[1])
    );
    let links = parse_links(answer.header(header::LINK));
    assert_eq!(with_rel(&links, "original")[0].uri, ORIGINAL);
    let own: Vec<_> = with_rel(&links, "memento")
        .into_iter()
        .filter(|l| l.rels() == ["memento"])
        .collect();
    assert_eq!(own.len(), 1, "{links:#?}");
    assert_eq!(own[0].path(), memento_path(1));

    let page = get(&a.app, &format!("/articles/{id}")).await;
    page.expect_status(StatusCode::OK, format_args!("article page"));
    let html = page.text();
    for i in 0..3 {
        let href = format!("href=\"{}\"", memento_path(i).replace('&', "&amp;"));
        assert!(html.contains(&href), "the page links capture {i}: {href}");
    }
    assert!(
        html.contains(&format!("href=\"/timemap/link/{ORIGINAL}\"")),
        "the page links the TimeMap"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_captured_attachment_is_a_memento_of_its_url() {
    let portal = support::TestPortal::recorded().await;
    const PDF_PATH: &str = "/Lists/VanBan/Attachments/1236/BC-6T-2020.pdf";
    let pdf = b"%PDF-1.4\n a captured attachment\n".to_vec();
    portal
        .server
        .set_page(PDF_PATH, pdf.clone(), "application/pdf");
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    // The attachment and the recording's five figures.
    assert_eq!(report.assets_captured, 1 + 5, "{report:?}");
    let pdf_url = portal.server.base_url().join(PDF_PATH).unwrap().to_string();
    let captured_at = archive.asset(&pdf_url).unwrap().unwrap().captured_at;
    let state = AppState::new(
        Arc::new(portal.config.clone()),
        archive,
        gazette::schedule::Status::default(),
    );
    let app = app(state);

    let answer = get(&app, &format!("/timegate/{pdf_url}")).await;
    answer.expect_status(StatusCode::FOUND, format_args!("asset TimeGate"));
    let stamp = captured_at.with_timezone(&Utc).format("%Y%m%d%H%M%S");
    let memento = format!("/web/{stamp}/{pdf_url}");
    assert_eq!(local(answer.header(header::LOCATION)), memento);

    let answer = get(&app, &memento).await;
    answer.expect_status(StatusCode::OK, format_args!("{memento}"));
    assert_eq!(answer.body, pdf, "the attachment's bytes");
    assert_eq!(answer.header(header::CONTENT_TYPE), "application/pdf");
    assert!(
        answer
            .header(header::CONTENT_SECURITY_POLICY)
            .starts_with("sandbox")
    );
    let http_date = captured_at
        .with_timezone(&Utc)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    assert_eq!(
        answer
            .headers
            .get("memento-datetime")
            .and_then(|v| v.to_str().ok()),
        Some(http_date.as_str())
    );
    let links = parse_links(answer.header(header::LINK));
    assert_eq!(with_rel(&links, "original")[0].uri, pdf_url);
    let only = with_rel(&links, "memento");
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].rels(), ["first", "last", "memento"]);

    let timemap = get(&app, &format!("/timemap/link/{pdf_url}")).await;
    timemap.expect_status(StatusCode::OK, format_args!("asset TimeMap"));
    let links = parse_links(&timemap.text());
    assert_eq!(with_rel(&links, "memento").len(), 1);
}
