//! Attachments and images captured beside articles: fetched from the replay like pages, stored
//! as WARC records (a revisit when the bytes are already kept), read back byte for byte, served
//! at `/api/assets`; every failure noted without failing the article.

use gazette::archive::prelude::*;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use gazette::archive::SledArchive;
use gazette::archive::warc::{self, RecordType};
use gazette::model::{ArticleId, AssetInfo, RunReport};
use gazette::replay::{Fault, Recording, ReplayServer};
use gazette::server::{AppState, app};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::support::{FAST_CRAWL, TestPortal};

pub(crate) const PDF_PATH: &str = "/Lists/VanBan/Attachments/1236/BC-6T-2020.pdf";
pub(crate) const DOC_PATH: &str = "/Lists/VanBan/Attachments/1236/Phu-luc-danh-muc-du-an.doc";
const IMAGE_PATH: &str = "/PublishingImages/TinTuc/2020/07/kcn-thanh-loc.jpg";
/// The figures of the recording's articles (1234: three, 1238, 1211), captured by default
/// beside the attachments each test serves.
const FIGURES: u64 = 5;

/// `len` bytes after `head` that gzip cannot shrink, so sizes on disk say what was stored.
fn incompressible(head: &[u8], len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = head.to_vec();
    let mut state = seed | 1;
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

pub(crate) fn pdf() -> Vec<u8> {
    incompressible(b"%PDF-1.4\n", 300_000, 7)
}

/// An OLE2 (old Word) file, served without a useful Content-Type: its type is sniffed.
pub(crate) fn doc() -> Vec<u8> {
    incompressible(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 40_000, 11)
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

async fn portal(settings: &[(&'static str, &'static str)]) -> TestPortal {
    let recording = Recording::load(&crate::support::fixture("portal")).expect("the recording");
    TestPortal::start(recording, &with(settings)).await
}

fn url(portal: &TestPortal, path: &str) -> String {
    portal.server.base_url().join(path).unwrap().to_string()
}

fn warc_bytes(archive: &SledArchive) -> u64 {
    std::fs::read_dir(archive.path().join("warc"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

fn captured(archive: &SledArchive, url: &str) -> AssetInfo {
    archive
        .asset(url)
        .unwrap()
        .unwrap_or_else(|| panic!("{url} is not captured"))
}

/// An article of the replay linking `attachments` (absolute or root-relative hrefs).
pub(crate) fn add_article_with(server: &ReplayServer, item_id: u64, attachments: &[&str]) {
    server.add_article(
        item_id,
        &format!("Văn bản {item_id}"),
        "20/07/2020 08:00",
        &["Nội dung văn bản."],
    );
    let links: String = attachments
        .iter()
        .map(|href| format!("<li><a href=\"{href}\" target=\"_blank\">Tệp (.pdf)</a></li>"))
        .collect();
    let block = format!(
        "<div class=\"News_Attachments\"><span>Tập tin đính kèm:</span><ul>{links}</ul></div>\n  <div class=\"Other_News\">"
    );
    let page = gazette::replay::article_page(
        item_id,
        &format!("Văn bản {item_id}"),
        "20/07/2020 08:00",
        &["Nội dung văn bản."],
    )
    .replacen("<div class=\"Other_News\">", &block, 1);
    for path in [
        format!("/Pages/chi-tiet-tin.aspx?ItemID={item_id}&l=TinBanQuanLy"),
        format!("/Pages/chi-tiet-tin.aspx?ItemID={item_id}"),
    ] {
        server.set_page(&path, page.clone().into_bytes(), "text/html; charset=utf-8");
    }
}

fn assert_assets(report: &RunReport, captured: u64, skipped: u64, failed: u64) {
    assert_eq!(
        (
            report.assets_captured,
            report.assets_skipped,
            report.assets_failed
        ),
        (captured, skipped, failed),
        "assets captured, skipped, failed; notes: {:#?}",
        report.asset_errors
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn attachments_are_captured_read_back_and_kept_once_when_linked_again() {
    let portal = portal(&[]).await;
    let (pdf, doc) = (pdf(), doc());
    portal
        .server
        .set_page(PDF_PATH, pdf.clone(), "application/pdf");
    portal
        .server
        .set_page(DOC_PATH, doc.clone(), "application/octet-stream");
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert_eq!((report.new, report.failed), (9, 0), "{report:?}");
    assert_assets(&report, 2 + FIGURES, 0, 0);

    let pdf_url = url(&portal, PDF_PATH);
    let doc_url = url(&portal, DOC_PATH);
    for (url, bytes, mime) in [
        (&pdf_url, &pdf, "application/pdf"),
        (&doc_url, &doc, "application/msword"),
    ] {
        let info = captured(&archive, url);
        assert_eq!(info.mime_type, mime, "{url}");
        assert_eq!(info.length, bytes.len() as u64, "{url}");
        assert_eq!(info.digest, warc::payload_digest(bytes), "{url}");
        assert!(!info.revisit, "{url}");
        let capture = archive.asset_capture(url).unwrap().expect("readable");
        assert!(capture.body == *bytes, "{url}: the bytes read back differ");
        // The record itself, through the WARC reader.
        let at = warc::Location {
            file: info.record.file.clone(),
            offset: info.record.offset,
            length: info.record.length,
        };
        let record = warc::read(&archive.path().join("warc"), &at).unwrap();
        assert_eq!(record.kind(), &RecordType::Response);
        assert_eq!(record.target_uri(), Some(url.as_str()));
        assert_eq!(
            record.header("WARC-Payload-Digest"),
            Some(info.digest.as_str())
        );
        warc::verify_digests(&record).unwrap();
    }

    // A second article links the same bytes at another URL: a revisit, not a second copy.
    let copy_path = "/Lists/VanBan/Attachments/1300/ban-sao.pdf";
    portal
        .server
        .set_page(copy_path, pdf.clone(), "application/pdf");
    add_article_with(&portal.server, 1300, &[copy_path]);
    let before = warc_bytes(&archive);
    let report = portal.crawl(&archive, false).await;
    assert_eq!(report.new, 1, "{report:?}");
    assert_assets(&report, 1, 0, 0);
    let grown = warc_bytes(&archive) - before;
    assert!(
        grown < pdf.len() as u64 / 20,
        "the WARC files grew by {grown} bytes for a {}-byte payload already kept",
        pdf.len()
    );
    let copy_url = url(&portal, copy_path);
    let copy = captured(&archive, &copy_url);
    let first = captured(&archive, &pdf_url);
    assert!(copy.revisit);
    assert_eq!((&copy.digest, &copy.record), (&first.digest, &first.record));
    let back = archive.asset_capture(&copy_url).unwrap().unwrap();
    assert!(
        back.body == pdf,
        "the revisit reads back the first capture's bytes"
    );

    // The revisit record names the first response.
    let first_id = warc::read(
        &archive.path().join("warc"),
        &warc::Location {
            file: first.record.file.clone(),
            offset: first.record.offset,
            length: first.record.length,
        },
    )
    .unwrap()
    .id()
    .clone();
    let revisits: Vec<_> = warc::scan(&archive.path().join("warc"))
        .filter_map(Result::ok)
        .map(|(_, record)| record)
        .filter(|record| record.kind() == &RecordType::Revisit)
        .collect();
    assert_eq!(revisits.len(), 1, "one revisit record");
    let revisit = &revisits[0];
    assert_eq!(revisit.target_uri(), Some(copy_url.as_str()));
    assert_eq!(revisit.refers_to(), Some(first_id));
    assert_eq!(
        revisit.header("WARC-Refers-To-Target-URI"),
        Some(pdf_url.as_str())
    );
    assert_eq!(
        revisit.header("WARC-Profile"),
        Some("http://netpreserve.org/warc/1.1/revisit/identical-payload-digest")
    );
    assert_eq!(
        revisit.header("WARC-Payload-Digest"),
        Some(first.digest.as_str())
    );

    // The WARC files alone give the same asset index back.
    let urls = [&pdf_url, &doc_url, &copy_url];
    let before: Vec<_> = urls.iter().map(|u| archive.asset(u).unwrap()).collect();
    drop(archive);
    let rebuilt = gazette::archive::rebuild(&portal.config.storage, None).unwrap();
    assert_eq!(rebuilt.assets, 3 + FIGURES as usize, "{rebuilt:?}");
    let archive = portal.open_archive();
    let after: Vec<_> = urls.iter().map(|u| archive.asset(u).unwrap()).collect();
    assert_eq!(before, after);
    let back = archive.asset_capture(&copy_url).unwrap().unwrap();
    assert!(
        back.body == pdf,
        "the rebuilt revisit reads the first capture's bytes"
    );
    let verified = archive.verify().unwrap();
    assert_eq!(
        (verified.assets, verified.damage),
        (3 + FIGURES as usize, None)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_asset_over_max_asset_bytes_is_not_stored_and_is_noted() {
    let portal = portal(&[("max_asset_bytes", "100000")]).await;
    portal.server.set_page(PDF_PATH, pdf(), "application/pdf");
    portal
        .server
        .set_page(DOC_PATH, doc(), "application/msword");
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert_eq!((report.new, report.failed), (9, 0), "{report:?}");
    // The figures are 4-6 KB each: under the limit.
    assert_assets(&report, 1 + FIGURES, 1, 0);
    let pdf_url = url(&portal, PDF_PATH);
    assert_eq!(archive.asset(&pdf_url).unwrap(), None);
    assert!(
        report
            .asset_errors
            .iter()
            .any(|e| e.contains(&pdf_url) && e.contains("max_asset_bytes")),
        "{:#?}",
        report.asset_errors
    );
    assert!(archive.asset(&url(&portal, DOC_PATH)).unwrap().is_some());
    let warc = warc_bytes(&archive);
    assert!(warc < 300_000, "{warc} bytes of WARC: the PDF was kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_off_host_attachment_is_never_requested() {
    let elsewhere = ReplayServer::start(Recording::synthetic(0)).await.unwrap();
    let foreign = elsewhere
        .base_url()
        .join("/decree.pdf")
        .unwrap()
        .to_string();
    elsewhere.set_page("/decree.pdf", pdf(), "application/pdf");
    let portal = portal(&[]).await;
    portal.server.set_page(PDF_PATH, pdf(), "application/pdf");
    portal
        .server
        .set_page(DOC_PATH, doc(), "application/msword");
    add_article_with(&portal.server, 1301, &[&foreign]);
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert_eq!((report.new, report.failed), (10, 0), "{report:?}");
    assert_assets(&report, 2 + FIGURES, 1, 0);
    assert!(
        elsewhere.requests().is_empty(),
        "requested: {:?}",
        elsewhere.requests()
    );
    assert!(
        report
            .asset_errors
            .iter()
            .any(|e| e.contains(&foreign) && e.contains("not requested")),
        "{:#?}",
        report.asset_errors
    );
    assert_eq!(archive.asset(&foreign).unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_asset_answering_500_does_not_fail_its_article() {
    let portal = portal(&[]).await;
    portal.server.fault(PDF_PATH, Fault::Status(500));
    portal
        .server
        .set_page(DOC_PATH, doc(), "application/msword");
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert!(report.complete, "{report:?}");
    assert_eq!((report.new, report.failed), (9, 0), "{report:?}");
    assert_assets(&report, 1 + FIGURES, 0, 1);
    let pdf_url = url(&portal, PDF_PATH);
    assert!(
        report
            .asset_errors
            .iter()
            .any(|e| e.contains(&pdf_url) && e.contains("500")),
        "{:#?}",
        report.asset_errors
    );
    assert!(portal.server.hits(PDF_PATH) >= 2, "retried like a page");
    let article = archive
        .article(&ArticleId("bqlkkt:1236".into()))
        .unwrap()
        .expect("archived");
    assert_eq!(article.article.attachments.len(), 2);
    assert_eq!(archive.asset(&pdf_url).unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn images_are_captured_by_default_and_not_when_left_out_of_capture() {
    let jpeg = incompressible(b"\xff\xd8\xff\xe0", 20_000, 3);
    let default = portal(&[]).await;
    default
        .server
        .set_page(IMAGE_PATH, jpeg.clone(), "image/jpeg");
    let archive = default.open_archive();
    let report = default.crawl(&archive, false).await;
    assert_eq!(default.server.hits(IMAGE_PATH), 1, "{report:?}");
    let info = captured(&archive, &url(&default, IMAGE_PATH));
    assert_eq!(
        (info.mime_type.as_str(), info.length),
        ("image/jpeg", 20_000)
    );

    let attachments_only = portal(&[("capture", "[\"attachments\"]")]).await;
    attachments_only
        .server
        .set_page(IMAGE_PATH, jpeg.clone(), "image/jpeg");
    let archive = attachments_only.open_archive();
    let report = attachments_only.crawl(&archive, false).await;
    assert_eq!(
        attachments_only.server.hits(IMAGE_PATH),
        0,
        "images are not captured when capture leaves them out"
    );
    assert_eq!(
        archive.asset(&url(&attachments_only, IMAGE_PATH)).unwrap(),
        None
    );
    // Only the two attachments of 1236 are asked for (they answer 404 here).
    assert_assets(&report, 0, 0, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_captured_asset_is_fetched_once_per_run_then_conditionally() {
    let portal = portal(&[]).await;
    portal.server.set_page(PDF_PATH, pdf(), "application/pdf");
    portal
        .server
        .set_page(DOC_PATH, doc(), "application/msword");
    add_article_with(&portal.server, 1302, &[PDF_PATH]);
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    // 1302 and 1236 link the same PDF: it is fetched once.
    assert_eq!(report.new, 10, "{report:?}");
    assert_assets(&report, 2 + FIGURES, 0, 0);
    assert_eq!(portal.server.hits(PDF_PATH), 1);

    // A later article links it again: asked with its validators, a 304 writes nothing.
    add_article_with(&portal.server, 1303, &[PDF_PATH]);
    let before = warc_bytes(&archive);
    let report = portal.crawl(&archive, false).await;
    assert_eq!(report.new, 1, "{report:?}");
    assert_assets(&report, 0, 0, 0);
    assert_eq!(report.assets_unchanged, 1, "{report:?}");
    let asked: Vec<_> = portal
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path_and_query == PDF_PATH)
        .collect();
    assert_eq!(asked.len(), 2);
    assert!(asked[0].if_none_match.is_none());
    assert!(asked[1].if_none_match.is_some(), "{asked:?}");
    let grown = warc_bytes(&archive) - before;
    assert!(grown < 20_000, "{grown} bytes for one small article page");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_asset_captured_within_recheck_days_is_not_fetched_again() {
    let portal = portal(&[("recheck_days", "3")]).await;
    portal.server.set_page(PDF_PATH, pdf(), "application/pdf");
    portal
        .server
        .set_page(DOC_PATH, doc(), "application/msword");
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert_assets(&report, 2 + FIGURES, 0, 0);
    add_article_with(&portal.server, 1304, &[PDF_PATH]);
    let report = portal.crawl(&archive, false).await;
    assert_eq!((report.new, report.assets_unchanged), (1, 1), "{report:?}");
    assert_eq!(portal.server.hits(PDF_PATH), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_asset_endpoint_serves_the_bytes_as_a_sandboxed_download() {
    let portal = portal(&[]).await;
    let pdf = pdf();
    portal
        .server
        .set_page(PDF_PATH, pdf.clone(), "application/pdf");
    portal
        .server
        .set_page(DOC_PATH, doc(), "application/msword");
    let archive = portal.open_archive();
    portal.crawl(&archive, false).await;
    let state = AppState::new(
        Arc::new(portal.config.clone()),
        archive.clone(),
        gazette::schedule::Status::default(),
    );
    let app = app(state);
    let get = |uri: String| {
        let app = app.clone();
        async move {
            let response = app
                .oneshot(Request::get(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let (parts, body) = response.into_parts();
            (parts, body.collect().await.unwrap().to_bytes().to_vec())
        }
    };
    let query = |url: &str| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("url", url)
            .finish()
    };
    let pdf_url = url(&portal, PDF_PATH);
    let (parts, body) = get(format!("/api/assets?{}", query(&pdf_url))).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert!(body == pdf, "the served bytes differ");
    let header = |name| parts.headers.get(name).unwrap().to_str().unwrap();
    assert_eq!(header(header::CONTENT_TYPE), "application/pdf");
    assert_eq!(
        header(header::CONTENT_DISPOSITION),
        "attachment; filename=\"BC-6T-2020.pdf\""
    );
    assert_eq!(header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert!(header(header::CONTENT_SECURITY_POLICY).starts_with("sandbox"));

    let (parts, body) = get(format!(
        "/api/assets?{}",
        query(&url(&portal, "/nothing.pdf"))
    ))
    .await;
    assert_eq!(parts.status, StatusCode::NOT_FOUND);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"], "not found");

    let (parts, body) = get(format!("/api/assets?{}&x=1", query(&pdf_url))).await;
    assert_eq!(parts.status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("x"));
    let (parts, _) = get("/api/assets".to_string()).await;
    assert_eq!(parts.status, StatusCode::BAD_REQUEST);

    // The article names its captured assets.
    let (parts, body) = get("/api/articles/bqlkkt:1236".to_string()).await;
    assert_eq!(parts.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let assets = json["assets"].as_array().expect("an assets array");
    assert_eq!(assets.len(), 2, "{json}");
    assert_eq!(assets[0]["url"], pdf_url);
    assert_eq!(assets[0]["length"], pdf.len());
    assert_eq!(assets[0]["mime_type"], "application/pdf");
    let download = assets[0]["download_url"].as_str().unwrap();
    let path = download.find("/api/assets?").expect("a download URL");
    let (parts, body) = get(download[path..].to_string()).await;
    assert_eq!(parts.status, StatusCode::OK);
    assert!(body == pdf, "the download URL serves the PDF");
}

#[test]
fn an_unknown_capture_kind_is_a_config_error_naming_its_line() {
    let text = crate::support::portal_config_text(
        &url::Url::parse("http://127.0.0.1:9/").unwrap(),
        std::path::Path::new("/tmp/unused"),
        &with(&[("capture", "[\"attachments\", \"videos\"]")]),
    );
    let line = text
        .lines()
        .position(|l| l.starts_with("capture ="))
        .unwrap()
        + 1;
    let err = gazette::config::parse(&text, "gazette.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("gazette.toml:{line}: crawler.capture")),
        "{err}"
    );
    assert!(err.contains("videos"), "{err}");
    let config = gazette::config::parse(
        &crate::support::portal_config_text(
            &url::Url::parse("http://127.0.0.1:9/").unwrap(),
            std::path::Path::new("/tmp/unused"),
            FAST_CRAWL,
        ),
        "gazette.toml",
    )
    .unwrap();
    assert_eq!(
        config.crawler.capture,
        [
            gazette::config::CaptureKind::Attachments,
            gazette::config::CaptureKind::Images
        ]
    );
    assert_eq!(
        config.crawler.max_assets_per_run,
        gazette::config::DEFAULT_MAX_ASSETS_PER_RUN
    );
    assert_eq!(
        config.crawler.max_asset_bytes,
        gazette::config::DEFAULT_MAX_ASSET_BYTES
    );
}

/// The figures of the recording: each path the article pages reference, and its file.
fn recorded_figures() -> Vec<crate::support::Recorded> {
    let figures: Vec<_> = crate::support::manifest()
        .into_iter()
        .filter(|row| row.content_type == "image/jpeg")
        .collect();
    assert_eq!(figures.len() as u64, FIGURES, "{figures:?}");
    figures
}

#[tokio::test(flavor = "multi_thread")]
async fn every_figure_is_captured_in_the_run_that_stores_its_article() {
    let portal = portal(&[]).await;
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert_eq!((report.new, report.failed), (9, 0), "{report:?}");
    // The two attachments of 1236 are not in the recording: they answer 404.
    assert_assets(&report, FIGURES, 0, 2);
    assert_eq!(report.assets_deferred, 0, "{report:?}");
    let (started, finished) = (report.started.unwrap(), report.finished.unwrap());

    // Every image every stored article references is in the archive after this one run.
    let mut referenced = Vec::new();
    for archived in archive.articles(&Default::default()).unwrap() {
        for image in &archived.article.images {
            let info = captured(&archive, &image.url);
            assert!(
                started <= info.captured_at && info.captured_at <= finished,
                "{}: captured at {}, outside the run ({started} to {finished})",
                image.url,
                info.captured_at
            );
            referenced.push(image.url.clone());
        }
    }
    referenced.sort();
    let mut recorded: Vec<String> = recorded_figures()
        .iter()
        .map(|row| url(&portal, &row.path_and_query))
        .collect();
    recorded.sort();
    assert_eq!(
        referenced, recorded,
        "the articles reference the recorded figures"
    );

    // Byte for byte the recorded files, typed as the portal sent them.
    for row in recorded_figures() {
        let url = url(&portal, &row.path_and_query);
        let bytes =
            std::fs::read(crate::support::fixture(&format!("portal/{}", row.file))).unwrap();
        let info = captured(&archive, &url);
        assert_eq!(
            (info.mime_type.as_str(), info.length),
            ("image/jpeg", bytes.len() as u64),
            "{url}"
        );
        let back = archive.asset_capture(&url).unwrap().expect("readable");
        assert!(back.body == bytes, "{url}: the bytes read back differ");
        assert_eq!(portal.server.hits(&row.path_and_query), 1, "{url}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn assets_past_the_run_budget_are_fetched_by_the_next_runs_each_once() {
    let portal = portal(&[("capture", "[\"images\"]"), ("max_assets_per_run", "2")]).await;
    let archive = portal.open_archive();
    let figures = recorded_figures();
    let stored = |archive: &SledArchive| {
        figures
            .iter()
            .filter(|row| {
                archive
                    .asset(&url(&portal, &row.path_and_query))
                    .unwrap()
                    .is_some()
            })
            .count() as u64
    };
    let pending = |archive: &Arc<SledArchive>| {
        gazette::crawl::pending_assets(archive.as_ref(), "bqlkkt").unwrap()
    };

    // Five figures, two requests a run: 2, then 2 of the 3 left, then the last.
    let mut runs = Vec::new();
    for _ in 0..3 {
        let report = portal.crawl(&archive, false).await;
        assert_eq!(report.failed, 0, "{report:?}");
        runs.push((
            report.new,
            report.assets_captured,
            report.assets_deferred,
            stored(&archive),
            pending(&archive),
        ));
    }
    assert_eq!(
        runs,
        [(9, 2, 3, 2, 3), (0, 2, 1, 4, 1), (0, 1, 0, 5, 0)],
        "per run: new articles, assets captured, deferred, figures stored, pending"
    );
    for row in &figures {
        assert_eq!(
            portal.server.hits(&row.path_and_query),
            1,
            "{}: fetched once, none lost",
            row.path_and_query
        );
    }
    // Nothing is left: a fourth run requests no asset.
    let report = portal.crawl(&archive, false).await;
    assert_assets(&report, 0, 0, 0);
    assert_eq!((report.assets_unchanged, report.assets_deferred), (0, 0));
}

#[test]
fn a_budget_of_no_asset_is_refused_naming_its_key() {
    let text = crate::support::portal_config_text(
        &url::Url::parse("http://127.0.0.1:9/").unwrap(),
        std::path::Path::new("/tmp/unused"),
        &with(&[("max_assets_per_run", "0")]),
    );
    let err = gazette::config::parse(&text, "gazette.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("crawler.max_assets_per_run"), "{err}");
    assert!(err.contains("capture = []"), "{err}");
}
