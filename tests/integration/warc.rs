//! WARC files on their own: every record type written and read back, digests, rotation, a file
//! cut by a crash, damaged files left alone, and the scan an index rebuild relies on.

use gazette::archive::prelude::*;
use std::path::Path;

use chrono::{DateTime, FixedOffset};
use gazette::archive::warc::{
    self, Location, Original, ParsedRecord, Record, RecordType, WarcError, WarcWriter,
};
use gazette::model::{Article, Capture};
use url::Url;

use crate::support;

fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

/// A recorded article page as the HTTP client handed it over: body decoded, headers as sent.
fn recorded_capture(file: &str) -> (Article, Capture) {
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    let saved = support::recorded(file);
    let article = gazette::read_article(&saved.page(), source, "tin-ban-quan-ly").unwrap();
    let capture = Capture {
        url: saved.url.to_string(),
        status: 200,
        headers: vec![
            (
                "Content-Type".into(),
                saved.content_type.clone().unwrap_or_default(),
            ),
            ("Content-Encoding".into(), "gzip".into()),
            ("Content-Length".into(), "5120".into()),
            ("Transfer-Encoding".into(), "chunked".into()),
            ("ETag".into(), "\"abc\"".into()),
        ],
        body: saved.bytes.clone(),
    };
    (article, capture)
}

/// The records gazette writes for one fetched article.
fn article_group(file: &str, date: DateTime<FixedOffset>) -> Vec<Record> {
    let (article, capture) = recorded_capture(file);
    let response = Record::response(&capture, date);
    let url = Url::parse(&capture.url).unwrap();
    let request = Record::request(&url, "gazette-test/1", date, response.id());
    let json = serde_json::to_vec(&serde_json::json!({ "profile": "bqlkkt", "article": article }))
        .unwrap();
    let urn = format!("urn:gazette:article:{}:1", article.id);
    let metadata = Record::note(json, Some(response.id()), &urn, date).concurrent_to(response.id());
    vec![request, response, metadata]
}

/// A body that gzip cannot shrink much, to reach size limits with few records.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

fn asset(url: &str, body: Vec<u8>) -> Capture {
    Capture {
        url: url.into(),
        status: 200,
        headers: vec![("Content-Type".into(), "image/png".into())],
        body,
    }
}

fn scan_all(dir: &Path) -> Vec<(Location, ParsedRecord)> {
    warc::scan(dir)
        .map(|item| item.unwrap_or_else(|e| panic!("scan of {}: {e}", dir.display())))
        .collect()
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn every_record_type_reads_back_from_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let date = at("2026-01-27T17:30:00+07:00");
    let (article, capture) = recorded_capture("article-1234.html");
    let group = article_group("article-1234.html", date);
    let original = Original {
        id: group[1].id().clone(),
        target_uri: capture.url.clone(),
        date,
    };
    let later = at("2026-02-01T08:00:00.250+07:00");
    let revisit = Record::revisit(&capture, later, &original);

    let mut writer = WarcWriter::open(dir.path(), warc::DEFAULT_WARC_MAX_BYTES).unwrap();
    let mut records = group.clone();
    records.push(revisit.clone());
    let locations = writer.append(&records).unwrap();
    writer.sync().unwrap();
    assert_eq!(locations.len(), 4);

    let read: Vec<ParsedRecord> = locations
        .iter()
        .map(|l| warc::read(dir.path(), l).unwrap_or_else(|e| panic!("read {l:?}: {e}")))
        .collect();
    for (record, written) in read.iter().zip(&records) {
        assert_eq!(record.id(), written.id());
        assert_eq!(record.kind(), written.kind());
        warc::verify_digests(record).unwrap_or_else(|e| panic!("{e}"));
    }
    let [request, response, metadata, revisit] = &read[..] else {
        unreachable!()
    };

    assert_eq!(request.concurrent_to().as_ref(), Some(response.id()));
    let url = Url::parse(&capture.url).unwrap();
    assert_eq!(
        request.http().unwrap().start_line,
        format!("GET {}?{} HTTP/1.1", url.path(), url.query().unwrap())
    );
    assert_eq!(
        request.http().unwrap().headers,
        vec![
            ("Host".to_string(), "bqlkkt.kiengiang.gov.vn".to_string()),
            ("User-Agent".to_string(), "gazette-test/1".to_string()),
        ]
    );

    assert_eq!(response.target_uri(), Some(capture.url.as_str()));
    assert_eq!(response.date(), date);
    assert_eq!(response.header("WARC-Date"), Some("2026-01-27T10:30:00Z"));
    assert_eq!(response.payload(), Some(&capture.body[..]));
    let http = response.http().unwrap();
    assert_eq!(http.start_line, "HTTP/1.1 200 OK");
    assert_eq!(http.status, Some(200));
    let body_length = capture.body.len().to_string();
    let expected_headers: Vec<(&str, &str)> = vec![
        ("Content-Type", capture.content_type().unwrap()),
        ("X-Archive-Orig-Content-Encoding", "gzip"),
        ("Content-Length", &body_length),
        ("X-Archive-Orig-Content-Length", "5120"),
        ("X-Archive-Orig-Transfer-Encoding", "chunked"),
        ("ETag", "\"abc\""),
    ];
    let headers: Vec<(&str, &str)> = http
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(headers, expected_headers);
    assert_eq!(
        response.header("WARC-Payload-Digest"),
        Some(warc::payload_digest(&capture.body).as_str())
    );

    assert_eq!(metadata.refers_to().as_ref(), Some(response.id()));
    assert_eq!(metadata.header("Content-Type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_slice(metadata.block()).unwrap();
    assert_eq!(json["profile"], "bqlkkt");
    assert_eq!(json["article"]["title"], article.title.as_str());

    assert_eq!(revisit.kind(), &RecordType::Revisit);
    assert_eq!(revisit.refers_to().as_ref(), Some(response.id()));
    assert_eq!(
        revisit.header("WARC-Refers-To-Target-URI"),
        Some(capture.url.as_str())
    );
    assert_eq!(
        revisit.header("WARC-Refers-To-Date"),
        Some("2026-01-27T10:30:00Z")
    );
    assert_eq!(
        revisit.header("WARC-Date"),
        Some("2026-02-01T01:00:00.250Z")
    );
    assert_eq!(
        revisit.header("WARC-Profile"),
        Some("http://netpreserve.org/warc/1.1/revisit/identical-payload-digest")
    );
    assert_eq!(
        revisit.header("WARC-Payload-Digest"),
        response.header("WARC-Payload-Digest")
    );
    assert_eq!(
        revisit.block().len(),
        revisit.http().unwrap().body_start,
        "headers only"
    );

    // The scan sees the warcinfo, then the same records at the same places.
    let scanned = scan_all(dir.path());
    assert_eq!(scanned.len(), 5);
    let (first_at, warcinfo) = &scanned[0];
    assert_eq!(warcinfo.kind(), &RecordType::Warcinfo);
    assert_eq!(
        warcinfo.header("WARC-Filename"),
        Some(first_at.file.as_str())
    );
    let block = String::from_utf8(warcinfo.block().to_vec()).unwrap();
    assert!(block.contains("software: gazette/"), "{block}");
    assert!(block.contains("format: WARC File Format 1.1"), "{block}");
    let scanned_at: Vec<&Location> = scanned[1..].iter().map(|(l, _)| l).collect();
    assert_eq!(scanned_at, locations.iter().collect::<Vec<_>>());
}

#[test]
fn a_flipped_byte_in_a_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = WarcWriter::open(dir.path(), warc::DEFAULT_WARC_MAX_BYTES).unwrap();
    let date = at("2026-01-27T10:30:00Z");
    let locations = writer
        .append(&[Record::response(
            &asset("http://127.0.0.1/a.png", noise(3000, 1)),
            date,
        )])
        .unwrap();
    let path = dir.path().join(&locations[0].file);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = (locations[0].offset + locations[0].length / 2) as usize;
    bytes[middle] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();
    let error = warc::read(dir.path(), &locations[0]).unwrap_err();
    assert!(matches!(error, WarcError::Gzip { .. }), "{error}");
    assert!(error.to_string().contains(&locations[0].file), "{error}");
    let scanned: Vec<_> = warc::scan(dir.path()).collect();
    assert!(scanned[0].is_ok(), "the warcinfo before it still reads");
    assert!(scanned[1].is_err());
}

#[test]
fn files_rotate_at_the_size_limit_with_warcinfo_first() {
    let dir = tempfile::tempdir().unwrap();
    let max_bytes = 10_000;
    let mut writer = WarcWriter::open(dir.path(), max_bytes).unwrap();
    let date = at("2026-01-27T10:30:00Z");
    let mut written = Vec::new();
    for n in 0..8u64 {
        let response = Record::response(
            &asset(&format!("http://127.0.0.1/{n}.png"), noise(2500, n)),
            date,
        );
        let urn = format!("urn:gazette:article:t:{n}:1");
        let metadata = Record::note(b"{}".to_vec(), Some(response.id()), &urn, date);
        let locations = writer.append(&[response, metadata]).unwrap();
        assert_eq!(
            locations[0].file, locations[1].file,
            "a group stays in one file"
        );
        written.extend(locations);
    }
    writer.sync().unwrap();

    let names = files(dir.path());
    assert!(names.len() >= 3, "{names:?}");
    for name in &names {
        let size = std::fs::metadata(dir.path().join(name)).unwrap().len();
        assert!(size <= max_bytes, "{name} has {size} bytes");
    }
    let scanned = scan_all(dir.path());
    let mut seen_files = Vec::new();
    for (location, record) in &scanned {
        if seen_files.last() != Some(&location.file) {
            assert_eq!(
                record.kind(),
                &RecordType::Warcinfo,
                "{} opens with warcinfo",
                location.file
            );
            assert_eq!(location.offset, 0);
            seen_files.push(location.file.clone());
        }
    }
    assert_eq!(seen_files, names);
    let data: Vec<&Location> = scanned
        .iter()
        .filter(|(_, r)| r.kind() != &RecordType::Warcinfo)
        .map(|(l, _)| l)
        .collect();
    assert_eq!(data, written.iter().collect::<Vec<_>>());
}

#[test]
fn a_record_cut_by_a_crash_is_truncated_and_appends_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let date = at("2026-01-27T10:30:00Z");
    let mut writer = WarcWriter::open(dir.path(), warc::DEFAULT_WARC_MAX_BYTES).unwrap();
    let kept = writer
        .append(&article_group("article-1234.html", date))
        .unwrap();
    let cut = writer
        .append(&article_group("article-1225.html", date))
        .unwrap();
    writer.sync().unwrap();
    drop(writer);

    let file = dir.path().join(&kept[0].file);
    let last = &cut[2];
    let cut_at = last.offset + last.length / 2;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(cut_at)
        .unwrap();

    let mut writer = WarcWriter::open(dir.path(), warc::DEFAULT_WARC_MAX_BYTES).unwrap();
    assert_eq!(
        writer.current_file(),
        kept[0].file,
        "appends stay in the same file"
    );
    assert_eq!(std::fs::metadata(&file).unwrap().len(), last.offset);
    let after = writer
        .append(&article_group("article-1229.html", date))
        .unwrap();
    assert_eq!(after[0].offset, last.offset);
    for location in kept.iter().chain(&cut[..2]).chain(&after) {
        let record = warc::read(dir.path(), location).unwrap();
        warc::verify_digests(&record).unwrap();
    }
    assert_eq!(scan_all(dir.path()).len(), 1 + 3 + 2 + 3);
    assert_eq!(files(dir.path()).len(), 1);
}

#[test]
fn a_damaged_file_is_left_alone_and_a_new_one_begun() {
    let dir = tempfile::tempdir().unwrap();
    let date = at("2026-01-27T10:30:00Z");
    let mut writer = WarcWriter::open(dir.path(), warc::DEFAULT_WARC_MAX_BYTES).unwrap();
    let first = writer
        .append(&article_group("article-1234.html", date))
        .unwrap();
    drop(writer);
    let damaged = dir.path().join(&first[0].file);
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes.extend_from_slice(&[0u8; 64]);
    std::fs::write(&damaged, &bytes).unwrap();

    let mut writer = WarcWriter::open(dir.path(), warc::DEFAULT_WARC_MAX_BYTES).unwrap();
    assert_ne!(writer.current_file(), first[0].file);
    let second = writer
        .append(&article_group("article-1225.html", date))
        .unwrap();
    assert_eq!(
        std::fs::read(&damaged).unwrap(),
        bytes,
        "the damaged file is untouched"
    );
    assert_eq!(files(dir.path()).len(), 2);
    assert!(warc::read(dir.path(), &first[2]).is_ok());
    assert!(warc::read(dir.path(), &second[2]).is_ok());

    // The scan reports the damage where it is and reads on in the next file.
    let items: Vec<_> = warc::scan(dir.path()).collect();
    let errors: Vec<String> = items
        .iter()
        .filter_map(|i| i.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains(&format!("{} at byte {}", first[0].file, bytes.len() - 64)),
        "{}",
        errors[0]
    );
    assert_eq!(items.iter().filter(|i| i.is_ok()).count(), 2 * 4);
}

#[test]
fn a_reopened_writer_appends_to_the_newest_file() {
    let dir = tempfile::tempdir().unwrap();
    let date = at("2026-01-27T10:30:00Z");
    let first = {
        let mut writer = WarcWriter::open(dir.path().join("warc").as_path(), 1 << 20).unwrap();
        writer
            .append(&article_group("article-1234.html", date))
            .unwrap()
    };
    let mut writer = WarcWriter::open(dir.path().join("warc").as_path(), 1 << 20).unwrap();
    let second = writer
        .append(&article_group("article-1225.html", date))
        .unwrap();
    assert_eq!(first[0].file, second[0].file);
    assert_eq!(second[0].offset, first[2].offset + first[2].length);
    let warcinfos = scan_all(&dir.path().join("warc"))
        .into_iter()
        .filter(|(_, r)| r.kind() == &RecordType::Warcinfo)
        .count();
    assert_eq!(warcinfos, 1);
}

#[test]
fn a_location_outside_the_directory_or_off_a_member_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = WarcWriter::open(dir.path(), warc::DEFAULT_WARC_MAX_BYTES).unwrap();
    let date = at("2026-01-27T10:30:00Z");
    let at = writer
        .append(&article_group("article-1234.html", date))
        .unwrap();
    let outside = Location {
        file: format!("../{}", at[0].file),
        ..at[0].clone()
    };
    assert!(matches!(
        warc::read(dir.path(), &outside),
        Err(WarcError::Corrupt { .. })
    ));
    let shifted = Location {
        offset: at[1].offset + 1,
        ..at[1].clone()
    };
    assert!(warc::read(dir.path(), &shifted).is_err());
    let longer = Location {
        length: at[1].length + 10,
        ..at[1].clone()
    };
    assert!(warc::read(dir.path(), &longer).is_err());
}

/// Leaves sample files in `GAZETTE_WARC_SAMPLE=<dir>` for independent readers (warcio check /
/// index) and prints their sizes beside zstd-3 of page and article JSON.
#[test]
#[ignore = "writes sample files into the directory GAZETTE_WARC_SAMPLE names"]
fn sample_files_for_independent_readers() {
    let out = std::env::var_os("GAZETTE_WARC_SAMPLE")
        .expect("GAZETTE_WARC_SAMPLE names the directory for the sample files");
    let out = Path::new(&out);
    let date = at("2026-01-27T17:30:00+07:00");
    // Small files, so that the sample shows rotation too.
    let mut writer = WarcWriter::open(out, 12_000).unwrap();
    for file in [
        "article-1234.html",
        "article-1225.html",
        "article-1229.html",
        "article-1240.html",
    ] {
        let group = article_group(file, date);
        let locations = writer.append(&group).unwrap();
        let (article, capture) = recorded_capture(file);
        let json = serde_json::to_vec(&article).unwrap();
        let zstd = zstd::stream::encode_all(&capture.body[..], 3)
            .unwrap()
            .len()
            + zstd::stream::encode_all(&json[..], 3).unwrap().len();
        let warc: u64 = locations.iter().map(|l| l.length).sum();
        println!(
            "{file}: page {} B, json {} B; zstd-3 {zstd} B; WARC request+response+metadata {warc} B ({:.2}x): {:?}",
            capture.body.len(),
            json.len(),
            warc as f64 / zstd as f64,
            locations.iter().map(|l| l.length).collect::<Vec<_>>()
        );
    }
    let (_, capture) = recorded_capture("article-1234.html");
    let first = scan_all(out)
        .into_iter()
        .find(|(_, r)| r.kind() == &RecordType::Response)
        .unwrap()
        .1;
    let original = Original {
        id: first.id().clone(),
        target_uri: capture.url.clone(),
        date: first.date(),
    };
    let image = asset("http://127.0.0.1:8080/images/logo.png", noise(4000, 7));
    let image_record = Record::response(&image, date);
    let image_original = Original {
        id: image_record.id().clone(),
        target_uri: image.url.clone(),
        date,
    };
    writer
        .append(&[
            image_record,
            Record::revisit(&capture, at("2026-02-01T08:00:00.250+07:00"), &original),
            Record::revisit(&image, at("2026-02-01T08:00:01+07:00"), &image_original),
        ])
        .unwrap();
    writer.sync().unwrap();
}

#[test]
fn a_file_cut_inside_its_warcinfo_is_begun_again() {
    let dir = tempfile::tempdir().unwrap();
    let name = {
        let writer = WarcWriter::open(dir.path(), warc::DEFAULT_WARC_MAX_BYTES).unwrap();
        writer.current_file().to_string()
    };
    let path = dir.path().join(&name);
    let whole = std::fs::read(&path).unwrap();
    std::fs::write(&path, &whole[..whole.len() - 40]).unwrap();

    let mut writer = WarcWriter::open(dir.path(), warc::DEFAULT_WARC_MAX_BYTES).unwrap();
    assert_eq!(writer.current_file(), name);
    let date = at("2026-01-27T10:30:00Z");
    let at = writer
        .append(&article_group("article-1234.html", date))
        .unwrap();
    let scanned = scan_all(dir.path());
    assert_eq!(scanned[0].1.kind(), &RecordType::Warcinfo);
    assert_eq!(scanned.len(), 4);
    assert_eq!(scanned[1].0, at[0]);
}

/// Crawls the recorded portal and leaves the archive's WARC files in `GAZETTE_WARC_CRAWL=<dir>`,
/// with `expected.json`: the records by type as gazette's own reader counts them. `.ci/run` reads
/// the files again with warcio and compares.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "writes the WARC files of a crawl into the directory GAZETTE_WARC_CRAWL names"]
async fn crawl_files_for_independent_readers() {
    let out = std::path::PathBuf::from(
        std::env::var_os("GAZETTE_WARC_CRAWL")
            .expect("GAZETTE_WARC_CRAWL names the directory for the WARC files"),
    );
    let portal = support::TestPortal::recorded().await;
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, true).await;
    assert_eq!(report.new, 9, "{report:?}");
    drop(archive);
    let warc_dir = portal.config.storage.path.join("warc");
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for (_, record) in scan_all(&warc_dir) {
        warc::verify_digests(&record).unwrap();
        *counts
            .entry(record.kind().as_str().to_string())
            .or_default() += 1;
    }
    // Nine article pages: a request, a response and a metadata record each; the five figures
    // of the recording, captured in the same run: a request and a response each (the two
    // attachments of 1236 answer 404 and are not kept).
    assert_eq!(counts.get("metadata"), Some(&9), "{counts:?}");
    assert_eq!(report.assets_captured, 5, "{report:?}");
    assert_eq!(counts.get("response"), Some(&(9 + 5)), "{counts:?}");
    assert_eq!(counts.get("request"), counts.get("response"), "{counts:?}");
    std::fs::create_dir_all(&out).unwrap();
    let mut copied = 0;
    // The WARC files only: their CDXJ indexes are not for warcio.
    for name in warc::files(&warc_dir).unwrap() {
        std::fs::copy(warc_dir.join(&name), out.join(&name)).unwrap();
        copied += 1;
    }
    let expected = serde_json::json!({"files": copied, "records": counts});
    std::fs::write(out.join("expected.json"), expected.to_string()).unwrap();
    println!("{expected}");
}

/// A revision's note is filed under a URN of its own, so replay tools see only the page at the
/// page's URL; it names the response it was read from (`WARC-Refers-To`, `WARC-Concurrent-To`).
#[tokio::test(flavor = "multi_thread")]
async fn a_revision_note_has_a_target_of_its_own_and_names_its_page() {
    let portal = support::TestPortal::recorded().await;
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, true).await;
    assert_eq!(report.new, 9, "{report:?}");
    drop(archive);
    let records = scan_all(&portal.config.storage.path.join("warc"));
    let responses: std::collections::HashMap<_, _> = records
        .iter()
        .filter(|(_, r)| r.kind() == &RecordType::Response)
        .map(|(_, r)| (r.id().clone(), r.target_uri().unwrap().to_string()))
        .collect();
    let mut notes = 0;
    for (_, record) in &records {
        let target = record.target_uri().unwrap_or_default();
        if record.kind() != &RecordType::Metadata {
            assert!(!target.starts_with("urn:gazette:"), "{target}");
            continue;
        }
        notes += 1;
        let json: serde_json::Value = serde_json::from_slice(record.block()).unwrap();
        let id = json["article"]["id"].as_str().unwrap();
        assert_eq!(
            target,
            format!("urn:gazette:article:{id}:{}", json["revision"]),
            "{json}"
        );
        let page = record.refers_to().expect("a note names its response");
        assert_eq!(record.concurrent_to().as_ref(), Some(&page));
        assert_eq!(
            responses.get(&page).map(String::as_str),
            json["article"]["url"].as_str(),
            "{target}"
        );
    }
    assert_eq!(notes, 9);
}

/// Every WARC file has its CDXJ index beside it once a crawl ends: files closed at their size
/// limit, and the open one. Under each article's URL it lists its page (one HTML capture a
/// revision), never a note.
#[tokio::test(flavor = "multi_thread")]
async fn every_warc_file_has_its_cdxj_beside_it_after_a_crawl() {
    let portal = support::TestPortal::recorded().await;
    let storage = gazette::config::StorageConfig {
        warc_max_bytes: 16 * 1024,
        ..portal.config.storage.clone()
    };
    let archive = std::sync::Arc::new(gazette::archive::open(&storage).unwrap());
    let report = portal.crawl(&archive, true).await;
    assert_eq!(report.new, 9, "{report:?}");
    let urls: Vec<String> = archive
        .all()
        .unwrap()
        .into_iter()
        .map(|a| a.article.url)
        .collect();
    drop(archive);
    let warc_dir = storage.path.join("warc");
    let names = warc::files(&warc_dir).unwrap();
    assert!(names.len() > 2, "{names:?}: the crawl should span files");
    let mut all = String::new();
    for name in &names {
        let beside = std::fs::read_to_string(warc_dir.join(format!("{name}.cdxj")))
            .unwrap_or_else(|e| panic!("{name}.cdxj: {e}"));
        assert_eq!(
            beside,
            gazette::archive::cdxj::index(&warc_dir, name).unwrap()
        );
        all.push_str(&beside);
    }
    for url in &urls {
        let key = format!("{} ", gazette::archive::cdxj::surt(url));
        let lines: Vec<&str> = all.lines().filter(|l| l.starts_with(&key)).collect();
        assert_eq!(lines.len(), 1, "{url}: {lines:?}");
        assert!(lines[0].contains("\"mime\":\"text/html\""), "{}", lines[0]);
    }
}

/// A revision's metadata record leaves the page's status and headers to its response record
/// when that gives them back exactly (the recorded portal's answers do), and the archive still
/// answers each capture with the headers as the portal sent them.
#[tokio::test(flavor = "multi_thread")]
async fn a_revision_leaves_the_head_to_its_response_and_the_capture_comes_back_whole() {
    let portal = support::TestPortal::recorded().await;
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, true).await;
    assert_eq!(report.new, 9, "{report:?}");
    for id in archive.ids() {
        let id = id.unwrap();
        let capture = archive.capture(&id, 1).unwrap().expect("captured");
        assert_eq!(capture.status, 200, "{id}");
        let header = |name: &str| {
            capture
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        assert!(
            header("content-type").is_some_and(|t| t.starts_with("text/html")),
            "{id}: {:?}",
            capture.headers
        );
        assert_eq!(
            header("content-length"),
            Some(capture.body.len().to_string()),
            "{id}"
        );
        assert!(
            capture
                .headers
                .iter()
                .all(|(n, _)| !n.starts_with("X-Archive-Orig")),
            "{id}: {:?}",
            capture.headers
        );
        assert!(warc::head_given_back(&capture), "{id}");
    }
    drop(archive);
    let notes: Vec<serde_json::Value> = scan_all(&portal.config.storage.path.join("warc"))
        .into_iter()
        .filter(|(_, record)| record.kind() == &RecordType::Metadata)
        .map(|(_, record)| serde_json::from_slice(record.block()).unwrap())
        .collect();
    assert_eq!(notes.len(), 9);
    for note in &notes {
        assert_eq!(note["note"], "revision", "{note}");
        assert!(note.get("capture").is_none(), "{note}");
    }
}
