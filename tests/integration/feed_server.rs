//! The feeds as served, against `docs/FEEDS.md`: enclosures from captured attachments, JSON Feed
//! paging and month archives, tombstones for withdrawn articles, WebSub advertisement, OPML per
//! format.

use gazette::archive::prelude::*;
use std::collections::HashSet;
use std::sync::Arc;

use axum::http::{StatusCode, header};
use gazette::model::ArticleId;
use gazette::server::{AppState, app};
use serde_json::Value;

use crate::server::{Answer, get, served, served_from};
use crate::support::TestPortal;
use crate::support::xml::{self, Element};

const PDF_PATH: &str = "/Lists/VanBan/Attachments/1236/BC-6T-2020.pdf";
const DOC_PATH: &str = "/Lists/VanBan/Attachments/1236/Phu-luc-danh-muc-du-an.doc";
const PDF_BYTES: usize = 12_345;
const PUBLIC: &str = "http://127.0.0.1:8080";

async fn ok(app: &axum::Router, path: &str) -> Answer {
    let answer = get(app, path).await;
    answer.expect_status(StatusCode::OK, format_args!("{path}"));
    answer
}

/// An entry id: tests crawl the replay under its own address, whose host is the tag authority.
fn tag_id(id: &str) -> String {
    format!("tag:127.0.0.1,2026:{id}")
}

/// The Atom entry (or RSS item) elements whose text mentions `needle`, with their children.
fn children_of<'a>(elements: &'a [Element], parent: &str, needle: &str) -> Vec<&'a Element> {
    let Some(start) = elements
        .iter()
        .position(|e| e.name == parent && e.text.contains(needle))
    else {
        return Vec::new();
    };
    let end = elements[start + 1..]
        .iter()
        .position(|e| e.name == parent)
        .map_or(elements.len(), |i| start + 1 + i);
    elements[start + 1..end].iter().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn enclosures_carry_the_captured_type_and_length_else_the_extension_type() {
    let portal = TestPortal::recorded().await;
    portal
        .server
        .set_page(PDF_PATH, vec![b'%'; PDF_BYTES], "application/pdf");
    // The .doc annex is not served: it is never captured, so its type comes from the extension.
    let pdf = portal.server.base_url().join(PDF_PATH).unwrap().to_string();
    let doc = portal.server.base_url().join(DOC_PATH).unwrap().to_string();
    let s = served_from(portal, |_| ()).await;
    assert!(
        s.archive.asset(&pdf).unwrap().is_some(),
        "the PDF is captured"
    );

    let atom = ok(&s.app, "/feeds/bqlkkt.atom").await.text();
    let elements = xml::elements("atom", &atom);
    let entry = children_of(&elements, "entry", &tag_id("bqlkkt:1236"));
    let enclosures: Vec<&&Element> = entry
        .iter()
        .filter(|e| e.name == "link" && e.attr("rel") == "enclosure")
        .collect();
    assert_eq!(enclosures.len(), 2, "{atom}");
    assert_eq!(enclosures[0].attr("href"), pdf);
    assert_eq!(enclosures[0].attr("type"), "application/pdf");
    assert_eq!(enclosures[0].attr("length"), PDF_BYTES.to_string());
    assert_eq!(
        enclosures[0].attr("title"),
        "Báo cáo số 86/BC-BQLKKT (.pdf)"
    );
    assert_eq!(enclosures[1].attr("href"), doc);
    assert_eq!(enclosures[1].attr("type"), "application/msword");
    assert!(
        !enclosures[1].attrs.contains_key("length"),
        "no made-up length"
    );
    let content = entry.iter().find(|e| e.name == "content").expect("content");
    assert!(
        content.text.contains("<h3>Tệp đính kèm</h3>"),
        "{}",
        content.text
    );
    assert!(content.text.contains(&format!("<a href=\"{doc}\">")));

    let rss = ok(&s.app, "/feeds/bqlkkt.rss").await.text();
    let elements = xml::elements("rss", &rss);
    let enclosures: Vec<&Element> = elements.iter().filter(|e| e.name == "enclosure").collect();
    assert_eq!(enclosures.len(), 1, "one enclosure, the first attachment");
    assert_eq!(enclosures[0].attr("url"), pdf);
    assert_eq!(enclosures[0].attr("length"), PDF_BYTES.to_string());
    assert_eq!(enclosures[0].attr("type"), "application/pdf");
    let item = children_of(&elements, "item", "ItemID=1236");
    let names: Vec<&str> = item.iter().map(|e| e.name.as_str()).collect();
    let description = names.iter().position(|n| *n == "description");
    let encoded = names.iter().position(|n| *n == "content:encoded");
    assert!(
        description.is_some() && description < encoded,
        "description before content:encoded: {names:?}"
    );
    let encoded = item.iter().find(|e| e.name == "content:encoded").unwrap();
    assert!(
        encoded.text.contains(&format!("<a href=\"{doc}\">")),
        "the other files are linked"
    );

    let json: Value = ok(&s.app, "/feeds/bqlkkt.json").await.json();
    let items = json["items"].as_array().unwrap();
    let with_files = items
        .iter()
        .find(|i| i["id"] == tag_id("bqlkkt:1236"))
        .unwrap();
    assert_eq!(
        with_files["attachments"],
        serde_json::json!([
            {"url": pdf, "mime_type": "application/pdf", "title": "Báo cáo số 86/BC-BQLKKT (.pdf)", "size_in_bytes": PDF_BYTES},
            {"url": doc, "mime_type": "application/msword", "title": "Phụ lục danh mục dự án (.doc)"},
        ])
    );
    let with_image = items
        .iter()
        .find(|i| i["id"] == tag_id("bqlkkt:1238"))
        .unwrap();
    let image = with_image["image"].as_str().expect("the first image");
    assert!(image.ends_with("/kcn-thanh-loc.jpg"), "{image}");
    assert_eq!(with_image["attachments"][0]["url"], image);
    assert_eq!(with_image["attachments"][0]["mime_type"], "image/jpeg");
}

/// Follows `next_url` from `start`, collecting item ids; `between` runs after the first page.
async fn follow_next_url(
    app: &axum::Router,
    start: &str,
    mut between: impl FnMut(),
) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut path = start.to_string();
    let mut pages = 0;
    loop {
        let page: Value = ok(app, &path).await.json();
        pages += 1;
        assert!(pages < 50, "a loop at {path}");
        for item in page["items"].as_array().unwrap() {
            ids.push(item["id"].as_str().unwrap().to_string());
        }
        if pages == 1 {
            between();
        }
        match page["next_url"].as_str() {
            Some(next) => path = next.strip_prefix(PUBLIC).expect("our URL").to_string(),
            None => return (ids, pages),
        }
    }
}

fn recorded_ids() -> Vec<String> {
    [1240, 1238, 1236, 1234, 1229, 1225, 1211, 1190, 1180]
        .iter()
        .map(|n| tag_id(&format!("bqlkkt:{n}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn json_next_url_pages_through_every_article_once_even_while_articles_arrive() {
    let s = served().await;
    let archive = s.archive.clone();
    let arrive = move || {
        // A newer article is archived while a reader pages: no page shifts.
        let mut fresh = archive
            .article(&ArticleId("bqlkkt:1240".into()))
            .unwrap()
            .unwrap()
            .article;
        fresh.id = ArticleId("bqlkkt:9999".into());
        fresh.url = fresh.url.replace("1240", "9999");
        fresh.published = Some(chrono::Utc::now().fixed_offset());
        let capture = archive
            .capture(&ArticleId("bqlkkt:1240".into()), 1)
            .unwrap()
            .unwrap();
        archive
            .store(&fresh, &capture, chrono::Utc::now().fixed_offset())
            .unwrap();
    };
    let (ids, pages) = follow_next_url(&s.app, "/feeds/bqlkkt.json?limit=2", arrive).await;
    assert_eq!(pages, 5);
    assert_eq!(ids, recorded_ids(), "every article once, newest first");
    s.state.cache.clear();
    let (ids, _) =
        follow_next_url(&s.app, "/feeds/bqlkkt/tin-ban-quan-ly.json?limit=4", || ()).await;
    assert_eq!(ids.len(), 10, "the section feed, with the new article");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 10);

    // Only JSON Feed pages; a cursor this server did not write is refused, naming the parameter.
    for (path, param) in [
        ("/feeds/bqlkkt.rss?before=MTIzfGE", "before"),
        ("/feeds/bqlkkt.json?before=%%%", "before"),
        ("/feeds/bqlkkt.json?before=bm9waXBl", "before"),
    ] {
        let answer = get(&s.app, path).await;
        answer.expect_status(StatusCode::BAD_REQUEST, format_args!("{path}"));
        assert!(answer.text().contains(param), "{}", answer.text());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn json_month_archives_are_served_and_lead_to_older_months() {
    let s = served().await;
    let subscription: Value = ok(&s.app, "/feeds/bqlkkt.json").await.json();
    assert!(
        subscription.get("next_url").is_none(),
        "nine articles fit one page: {subscription}"
    );
    let newest = "/feeds/bqlkkt/archive/2020-07.json";
    let answer = ok(&s.app, newest).await;
    assert_eq!(
        answer.header(header::CONTENT_TYPE),
        "application/feed+json; charset=utf-8"
    );
    assert_eq!(
        answer.header(header::CACHE_CONTROL),
        "public, max-age=86400"
    );
    let (ids, _) = follow_next_url(&s.app, newest, || ()).await;
    let mut sorted = ids.clone();
    sorted.sort();
    let mut want = recorded_ids();
    want.sort();
    assert_eq!(sorted, want, "every archived article once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_withdrawn_article_is_a_tombstone_in_the_live_atom_feed_only() {
    let s = served().await;
    let gone = ArticleId("bqlkkt:1238".into());
    let when = chrono::DateTime::parse_from_rfc3339("2020-08-03T01:02:03+00:00").unwrap();
    assert!(s.archive.mark_gone(&gone, when).unwrap());
    s.state.cache.clear();

    let atom = ok(&s.app, "/feeds/bqlkkt.atom").await.text();
    assert!(
        atom.contains(r#"xmlns:at="http://purl.org/atompub/tombstones/1.0""#),
        "{atom}"
    );
    let elements = xml::elements("atom", &atom);
    let tombstones: Vec<&Element> = elements
        .iter()
        .filter(|e| e.name == "at:deleted-entry")
        .collect();
    assert_eq!(tombstones.len(), 1, "{atom}");
    assert_eq!(tombstones[0].attr("ref"), tag_id("bqlkkt:1238"));
    assert_eq!(tombstones[0].attr("when"), "2020-08-03T08:02:03+07:00");
    let ids: Vec<&str> = elements
        .iter()
        .filter(|e| e.name == "id")
        .map(|e| e.text.as_str())
        .collect();
    assert!(
        !ids.contains(&tag_id("bqlkkt:1238").as_str()),
        "no entry any more"
    );
    assert_eq!(
        ids.len(),
        1 + 8,
        "the feed's id and the other eight entries"
    );

    let rss = ok(&s.app, "/feeds/bqlkkt.rss").await.text();
    assert!(!rss.contains("ItemID=1238"), "{rss}");
    let json = ok(&s.app, "/feeds/bqlkkt.json").await.text();
    assert!(!json.contains("bqlkkt:1238"), "{json}");

    for extension in ["atom", "rss", "json"] {
        let archive = ok(
            &s.app,
            &format!("/feeds/bqlkkt/archive/2020-07.{extension}"),
        )
        .await
        .text();
        assert!(archive.contains("1238"), "{extension}: archives keep it");
        assert!(!archive.contains("deleted-entry"), "{extension}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hubs_are_advertised_in_every_format_and_in_the_link_header() {
    let s = served().await;
    let plain = ok(&s.app, "/feeds/bqlkkt.atom").await;
    assert!(
        plain.headers.get(header::LINK).is_none(),
        "no hubs, no Link"
    );
    assert!(!plain.text().contains("rel=\"hub\""));

    let hub = url::Url::parse("https://hub.example.org/websub").unwrap();
    let mut state: AppState = s.state.clone();
    state.hubs = vec![hub.clone()];
    state.cache = std::sync::Arc::new(gazette::server::FeedCache::new(1 << 20));
    let with_hubs = app(state);
    let opml = ok(&with_hubs, "/feeds.opml").await;
    assert!(
        opml.headers.get(header::LINK).is_none(),
        "a list of feeds is no topic"
    );
    for extension in ["atom", "rss", "json"] {
        let path = format!("/feeds/bqlkkt.{extension}");
        let answer = ok(&with_hubs, &path).await;
        let self_url = format!("{PUBLIC}{path}");
        assert_eq!(
            answer.header(header::LINK),
            format!("<{hub}>; rel=\"hub\", <{self_url}>; rel=\"self\"")
        );
        let body = answer.text();
        if extension == "json" {
            let json: Value = answer.json();
            assert_eq!(
                json["hubs"],
                serde_json::json!([{"type": "WebSub", "url": hub.as_str()}])
            );
            assert_eq!(json["feed_url"], self_url);
            continue;
        }
        let link = if extension == "rss" {
            "atom:link"
        } else {
            "link"
        };
        let links = xml::elements(&path, &body);
        let rels: Vec<(&str, &str)> = links
            .iter()
            .filter(|e| e.name == link && ["hub", "self"].contains(&e.attr("rel")))
            .map(|e| (e.attr("rel"), e.attr("href")))
            .collect();
        assert_eq!(
            rels,
            [("self", self_url.as_str()), ("hub", hub.as_str())],
            "{path}: one self, the hub"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn opml_lists_one_format_dated_by_the_newest_article() {
    let s = served().await;
    let atom = ok(&s.app, "/feeds.opml").await;
    let explicit = ok(&s.app, "/feeds.opml?format=atom").await;
    assert_eq!(atom.body, explicit.body, "atom is the default");
    let outlines = xml::elements("opml", &atom.text());
    let created = outlines
        .iter()
        .find(|e| e.name == "dateCreated")
        .expect("dateCreated");
    // Article 1240, the newest, gives its date on the list page only: 28 Jul 2020, 14:00.
    assert_eq!(created.text, "Tue, 28 Jul 2020 14:00:00 +0700");
    assert_eq!(
        atom.header(header::LAST_MODIFIED),
        "Tue, 28 Jul 2020 07:00:00 GMT"
    );
    let rss = ok(&s.app, "/feeds.opml?format=rss").await.text();
    let urls: Vec<String> = xml::elements("opml", &rss)
        .iter()
        .filter(|e| e.name == "outline")
        .map(|e| e.attr("xmlUrl").to_string())
        .collect();
    assert_eq!(urls, [format!("{PUBLIC}/feeds/bqlkkt.rss")]);
    for bad in ["json", "xml", ""] {
        let path = format!("/feeds.opml?format={bad}");
        let answer = get(&s.app, &path).await;
        answer.expect_status(StatusCode::BAD_REQUEST, format_args!("{path}"));
        assert!(answer.text().contains("format"), "{}", answer.text());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_with_several_sections_lists_its_section_feeds_in_opml() {
    let s = crate::server::served_with(|config| {
        let source = &mut config.sources[0];
        let mut second = source.sections[0].clone();
        second.id = gazette::config::Slug::try_from("tin-khac".to_string()).expect("a section id");
        second.name = "Tin khác".into();
        source.sections.push(second);
    })
    .await;
    let opml = ok(&s.app, "/feeds.opml").await.text();
    let urls: Vec<String> = xml::elements("opml", &opml)
        .iter()
        .filter(|e| e.name == "outline")
        .map(|e| e.attr("xmlUrl").to_string())
        .collect();
    assert_eq!(
        urls,
        [
            format!("{PUBLIC}/feeds/bqlkkt.atom"),
            format!("{PUBLIC}/feeds/bqlkkt/tin-ban-quan-ly.atom"),
            format!("{PUBLIC}/feeds/bqlkkt/tin-khac.atom"),
        ]
    );
}

/// What a demo crawl leaves: the replay it read, the archive's directory, the app serving it.
struct Demo {
    replay: gazette::replay::ReplayServer,
    _dir: tempfile::TempDir,
    app: axum::Router,
    report: gazette::model::RunReport,
}

/// A crawl as `gazette demo` makes it: the shipped config, the portal's own URLs, requests sent
/// to a replay of the bundled recording on a port of its own; served by the app.
async fn demo() -> Demo {
    let replay = gazette::replay::ReplayServer::start(
        gazette::replay::Recording::bundled().expect("the bundled recording"),
    )
    .await
    .expect("the replay starts");
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::support::shipped_config();
    config.storage.path = dir.path().join("archive");
    config.crawler.min_delay_ms = 0;
    let source = config.sources[0].clone();
    let fetcher = gazette::fetch::Fetcher::new(&config.crawler)
        .unwrap()
        .reaching_origin_at(source.base_url(), &replay.base_url());
    let archive = Arc::new(gazette::archive::open(&config.storage).unwrap());
    let report = gazette::crawl::crawl_source(
        &fetcher,
        &gazette::archive::Handle::new(archive.clone()),
        &source,
        &config.crawler,
        gazette::crawl::CrawlOptions {
            backfill: true,
            max_pages: None,
        },
        &gazette::crawl::quiet,
    )
    .await;
    assert_eq!(report.new, 9, "{report:?}");
    assert!(
        replay.hits("/robots.txt") >= 1,
        "robots.txt is read through the replay"
    );
    let state = AppState::new(
        std::sync::Arc::new(config),
        archive,
        gazette::schedule::Status::default(),
    );
    Demo {
        replay,
        _dir: dir,
        app: app(state),
        report,
    }
}

/// The Atom and RSS feeds of a demo crawl.
async fn demo_crawl() -> (String, String) {
    let demo = demo().await;
    let atom = ok(&demo.app, "/feeds/bqlkkt.atom").await.text();
    let rss = ok(&demo.app, "/feeds/bqlkkt.rss").await.text();
    (atom, rss)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_reader_shows_each_figure_from_the_archive() {
    let demo = demo().await;
    assert_eq!(
        (demo.report.assets_captured, demo.report.assets_deferred),
        (5, 0),
        "the five figures of the recording; {:#?}",
        demo.report.asset_errors
    );
    let figures = [
        (
            "bqlkkt:1234",
            "/PublishingImages/TinTuc/2020/07/hoi-nghi-dhtt-2020-1.jpg",
        ),
        (
            "bqlkkt:1234",
            "/PublishingImages/TinTuc/2020/07/hoi-nghi-dhtt-2020-2.jpg",
        ),
        (
            "bqlkkt:1234",
            "/PublishingImages/TinTuc/2020/07/hoi-nghi-dhtt-2020-3.jpg",
        ),
        (
            "bqlkkt:1238",
            "/PublishingImages/TinTuc/2020/07/kcn-thanh-loc.jpg",
        ),
        (
            "bqlkkt:1211",
            "/Pages/PublishingImages/TinTuc/2020/06/cua-khau-ha-tien.jpg",
        ),
    ];
    let rows = crate::support::manifest();
    for (article, path) in figures {
        let html = ok(&demo.app, &format!("/articles/{article}")).await.text();
        // The portal's own URL, as the demo archives it, behind the archive's endpoint.
        let portal_url = format!("https://bqlkkt.kiengiang.gov.vn{path}");
        let href = format!(
            "/api/assets?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("url", &portal_url)
                .finish()
        );
        assert!(
            html.contains(&format!("<img src=\"{}\"", gazette::html::escape(&href))),
            "{article}: no <img> from the archive for {portal_url} in {html}"
        );
        assert!(!html.contains("class=\"uncaptured\""), "{article}: {html}");
        let image = ok(&demo.app, &href).await;
        assert_eq!(image.header(header::CONTENT_TYPE), "image/jpeg", "{href}");
        let row = rows
            .iter()
            .find(|r| r.path_and_query == path)
            .unwrap_or_else(|| panic!("{path} is not in the recording"));
        let recorded = std::fs::read(crate::support::fixture(&format!("portal/{}", row.file)))
            .expect("the recorded figure");
        assert!(image.body == recorded, "{href}: not the recorded bytes");
        assert_eq!(demo.replay.hits(path), 1, "{path} fetched once");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_crawls_from_replays_on_different_ports_give_the_same_feeds() {
    let (atom_a, rss_a) = demo_crawl().await;
    let (atom_b, rss_b) = demo_crawl().await;
    assert_eq!(atom_a, atom_b, "identical Atom documents");
    assert_eq!(rss_a, rss_b, "identical RSS documents");
    let elements = xml::elements("atom", &atom_a);
    let ids: Vec<&str> = elements
        .iter()
        .filter(|e| e.name == "id")
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(ids.len(), 10);
    assert!(
        ids.iter()
            .all(|id| id.starts_with("tag:bqlkkt.kiengiang.gov.vn,2026:")),
        "{ids:?}"
    );
    let article_links: Vec<&str> = elements
        .iter()
        .filter(|e| e.name == "link" && e.attr("rel") == "alternate")
        .map(|e| e.attr("href"))
        .collect();
    assert!(
        article_links
            .iter()
            .all(|l| l.starts_with("https://bqlkkt.kiengiang.gov.vn/")),
        "the portal's own URLs: {article_links:?}"
    );
    // The server's own address (public_url) is the only loopback one: nothing of the replay.
    let without_self = atom_a.replace("http://127.0.0.1:8080/", "");
    assert!(!without_self.contains("127.0.0.1"), "{atom_a}");
}

/// Stores a copy of article 1240 as `bqlkkt:<number>`, published at `published` (RFC 3339) or,
/// without one, first seen at `seen`.
fn store_copy(
    s: &crate::server::Served,
    number: u32,
    published: Option<&str>,
    seen: &str,
) -> String {
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap();
    let template = ArticleId("bqlkkt:1240".into());
    let mut article = s.archive.article(&template).unwrap().unwrap().article;
    article.id = ArticleId(format!("bqlkkt:{number}"));
    article.url = article.url.replace("1240", &number.to_string());
    article.published = published.map(at);
    let capture = s.archive.capture(&template, 1).unwrap().unwrap();
    s.archive.store(&article, &capture, at(seen)).unwrap();
    article.id.0
}

#[tokio::test(flavor = "multi_thread")]
async fn an_article_in_a_months_last_instant_is_in_exactly_one_archive() {
    let s = served().await;
    // The source's zone is +07:00. Sort times keep their fractions of a second: published, or
    // first seen when the page gives no date.
    let seen = "2026-01-02T09:30:00+07:00";
    let last_of_january = store_copy(&s, 9001, Some("2021-01-31T23:59:59.999999+07:00"), seen);
    let first_of_february = store_copy(&s, 9002, Some("2021-02-01T00:00:00+07:00"), seen);
    let seen_last_of_february = store_copy(&s, 9003, None, "2021-02-28T23:59:59.999999+07:00");
    let last_of_march = store_copy(&s, 9004, Some("2021-03-31T23:59:59.999999+07:00"), seen);
    let expected = [
        ("2021-01", vec![last_of_january.clone()]),
        (
            "2021-02",
            vec![seen_last_of_february.clone(), first_of_february.clone()],
        ),
        ("2021-03", vec![last_of_march.clone()]),
    ];

    // Every archive document, oldest month to newest, as JSON Feed links them.
    let (ids, _) = follow_next_url(&s.app, "/feeds/bqlkkt/archive/2021-03.json", || ()).await;
    for id in [
        &last_of_january,
        &first_of_february,
        &seen_last_of_february,
        &last_of_march,
    ] {
        let times = ids.iter().filter(|i| **i == tag_id(id)).count();
        assert_eq!(times, 1, "{id} is in {times} archive documents: {ids:?}");
    }
    assert_eq!(ids.len(), 9 + 4, "each article once: {ids:?}");

    for (month, want) in &expected {
        // Each month's own document, in every format, and the reader's page of that month.
        let json: Value = ok(&s.app, &format!("/feeds/bqlkkt/archive/{month}.json"))
            .await
            .json();
        let got: Vec<&str> = json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap())
            .collect();
        let want_tags: Vec<String> = want.iter().map(|id| tag_id(id)).collect();
        assert_eq!(got, want_tags, "{month}.json");
        let atom = ok(&s.app, &format!("/feeds/bqlkkt/archive/{month}.atom")).await;
        let atom = feed_rs::parser::parse(&atom.body[..]).expect("Atom parses");
        let got: Vec<&str> = atom.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(got, want_tags, "{month}.atom");
        let page = ok(&s.app, &format!("/sources/bqlkkt/{month}")).await.text();
        let linked: Vec<&str> = ["9001", "9002", "9003", "9004"]
            .into_iter()
            .filter(|n| page.contains(&format!("/articles/bqlkkt:{n}\"")))
            .collect();
        let want_numbers: Vec<&str> = want.iter().map(|id| &id["bqlkkt:".len()..]).collect();
        let mut linked_sorted = linked.clone();
        linked_sorted.sort_unstable();
        let mut want_sorted = want_numbers.clone();
        want_sorted.sort_unstable();
        assert_eq!(linked_sorted, want_sorted, "/sources/bqlkkt/{month}");
    }

    // The API's day bounds reach the day's last instant too.
    for (day, want) in [
        ("2021-01-31", vec![last_of_january.as_str()]),
        ("2021-02-28", vec![seen_last_of_february.as_str()]),
        ("2021-02-01", vec![first_of_february.as_str()]),
    ] {
        let path = format!("/api/articles?source=bqlkkt&since={day}&until={day}");
        let page = ok(&s.app, &path).await.json();
        let got: Vec<&str> = page["articles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["article"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(got, want, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_month_in_a_url_is_exactly_yyyy_mm_or_404() {
    let s = served().await;
    // Nor before 1970: the archive's time index starts at the Unix epoch.
    for month in [
        "-2020-07", "0000-07", "1969-12", "2020-7", "+2020-07", "02020-07", "2020-007", "2020-13",
    ] {
        for path in [
            format!("/sources/bqlkkt/{month}"),
            format!("/feeds/bqlkkt/archive/{month}.atom"),
            format!("/feeds/bqlkkt/archive/{month}.json"),
        ] {
            let answer = get(&s.app, &path).await;
            answer.expect_status(StatusCode::NOT_FOUND, format_args!("{path}"));
        }
    }
    ok(&s.app, "/sources/bqlkkt/2020-07").await;
    ok(&s.app, "/feeds/bqlkkt/archive/2020-07.atom").await;
    // A day before 1970 is a bound like any other: nothing is that old.
    let old = ok(&s.app, "/api/articles?source=bqlkkt&until=1969-12-31").await;
    assert_eq!(old.json()["articles"], serde_json::json!([]));
}
