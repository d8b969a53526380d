//! `export --wacz` and `export --cdxj`: packages of the WARC records as web-archive tools open
//! them, made from the WARC files alone while the archive is held open, every record copied byte
//! for byte, the index pointing into the copies, the hashes true.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use gazette::archive::SledArchive;
use gazette::archive::prelude::*;
use gazette::archive::warc::{self, Location, ParsedRecord, RecordType};
use gazette::model::ArticleId;
use sha2::{Digest, Sha256};

use crate::assets::{DOC_PATH, PDF_PATH, add_article_with, doc, pdf};
use crate::support::{self, FAST_CRAWL, TestPortal};

/// The recorded portal crawled twice: first its nine articles (one with a PDF and a Word file),
/// then, after `between`, an edit of article 1238 (its revision 2) and a new article 9001 linking
/// the same PDF at another URL (a revisit).
/// Where article 9001 links the PDF's bytes again.
const PDF_COPY: &str = "/Lists/VanBan/Attachments/9001/BC-6T-2020.pdf";

struct Crawled {
    portal: TestPortal,
    archive: Arc<SledArchive>,
    between: DateTime<Utc>,
}

/// The recorded portal, crawled fast, with assets never fetched again by a later run: what a
/// second crawl adds is only what changed.
async fn recorded_without_rechecks() -> TestPortal {
    let mut crawler: Vec<_> = FAST_CRAWL
        .iter()
        .filter(|(k, _)| *k != "recheck_days")
        .copied()
        .collect();
    crawler.push(("recheck_days", "36500"));
    let recording = gazette::replay::Recording::load(&support::fixture("portal")).unwrap();
    TestPortal::start(recording, &crawler).await
}

async fn crawled_twice() -> Crawled {
    let portal = recorded_without_rechecks().await;
    portal.server.set_page(PDF_PATH, pdf(), "application/pdf");
    portal
        .server
        .set_page(DOC_PATH, doc(), "application/octet-stream");
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    // The two attachments set up here and the recording's five figures.
    assert_eq!(
        (report.new, report.assets_captured),
        (9, 2 + 5),
        "{report:?}"
    );
    let between = Utc::now();
    let page = std::fs::read_to_string(support::fixture("portal/article-1238.html")).unwrap();
    let edited = page.replace("trên 70% khối lượng", "trên 85% khối lượng");
    assert_ne!(edited, page);
    portal.server.set_page(
        "/Pages/chi-tiet-tin.aspx?ItemID=1238",
        edited.into_bytes(),
        "text/html; charset=utf-8",
    );
    portal.server.set_page(PDF_COPY, pdf(), "application/pdf");
    add_article_with(&portal.server, 9001, &[PDF_COPY]);
    let report = portal.crawl(&archive, false).await;
    assert_eq!(
        (report.new, report.revised, report.assets_captured),
        (1, 1, 1),
        "{report:?}"
    );
    Crawled {
        portal,
        archive,
        between,
    }
}

impl Crawled {
    fn warc_dir(&self) -> PathBuf {
        self.portal.config.storage.path.join("warc")
    }

    /// `gazette export --config … ARGS`, run while the test holds the archive open.
    async fn export(&self, args: &[&str]) -> (Vec<String>, std::process::Output) {
        let config = self.portal.config_path.to_str().unwrap();
        let mut all: Vec<String> = ["export", "--config", config]
            .iter()
            .map(|a| a.to_string())
            .collect();
        all.extend(args.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = support::gazette_async(&refs).await;
        (all, out)
    }

    async fn export_ok(&self, args: &[&str]) {
        let (all, out) = self.export(args).await;
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        assert!(out.status.success(), "{}", support::explain(&refs, &out));
    }

    /// Every revision's title, by `<article id>:<revision>`.
    fn revisions(&self) -> BTreeMap<String, String> {
        let mut titles = BTreeMap::new();
        for id in self.archive.ids() {
            let id: ArticleId = id.unwrap();
            for revision in self.archive.revisions(&id).unwrap() {
                titles.insert(
                    format!("{}:{}", id.0, revision.number),
                    revision.article.title.clone(),
                );
            }
        }
        titles
    }
}

/// A package read back: every entry by name, and whether all were stored uncompressed.
struct Package {
    entries: BTreeMap<String, Vec<u8>>,
}

fn open_package(path: &Path) -> Package {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut zip = zip::ZipArchive::new(file).expect("the package is a ZIP");
    let mut entries = BTreeMap::new();
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).unwrap();
        let name = entry.name().unwrap().to_string();
        assert_eq!(
            entry.compression(),
            zip::CompressionMethod::Stored,
            "{name} is stored, not compressed"
        );
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        entries.insert(name, bytes);
    }
    Package { entries }
}

impl Package {
    fn text(&self, name: &str) -> &str {
        std::str::from_utf8(&self.entries[name]).unwrap()
    }

    fn json(&self, name: &str) -> serde_json::Value {
        serde_json::from_slice(&self.entries[name]).unwrap()
    }

    /// The names of `archive/`'s WARC files, without the folder.
    fn warc_files(&self) -> Vec<String> {
        (self.entries.keys())
            .filter_map(|name| name.strip_prefix("archive/"))
            .map(str::to_string)
            .collect()
    }

    /// The pages after the header line, by id: (url, ts, title).
    fn pages(&self) -> BTreeMap<String, (String, String, String)> {
        let text = self.text("pages/pages.jsonl");
        let mut lines = text.lines();
        let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"})
        );
        let mut pages = BTreeMap::new();
        for line in lines {
            let page: serde_json::Value = serde_json::from_str(line).unwrap();
            let field = |name: &str| page[name].as_str().unwrap_or_default().to_string();
            let ts = field("ts");
            DateTime::parse_from_rfc3339(&ts).unwrap_or_else(|e| panic!("ts {ts:?}: {e}"));
            assert!(ts.ends_with('Z'), "{ts} is in UTC");
            let old = pages.insert(field("id"), (field("url"), ts, field("title")));
            assert!(old.is_none(), "page id {} twice", field("id"));
        }
        pages
    }

    /// Every record of the packaged WARC file `name`, with its member's bytes.
    fn records(&self, name: &str) -> Vec<(Location, Vec<u8>, ParsedRecord)> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(name),
            &self.entries[&format!("archive/{name}")],
        )
        .unwrap();
        warc::scan_file(dir.path(), name)
            .map(|item| {
                let (at, record) = item.unwrap_or_else(|e| panic!("archive/{name}: {e}"));
                let bytes = self.entries[&format!("archive/{name}")]
                    [at.offset as usize..(at.offset + at.length) as usize]
                    .to_vec();
                (at, bytes, record)
            })
            .collect()
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Checks what every package holds: its files, the hashes and sizes `datapackage.json` states,
/// and an index whose every line points at a record of the packaged WARC files.
fn check_structure(package: &Package) {
    let names: BTreeSet<&str> = package.entries.keys().map(String::as_str).collect();
    for name in [
        "datapackage.json",
        "datapackage-digest.json",
        "indexes/index.cdx",
        "pages/pages.jsonl",
    ] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
    assert!(!package.warc_files().is_empty(), "{names:?}");
    let datapackage = package.json("datapackage.json");
    assert_eq!(datapackage["profile"], "data-package");
    assert_eq!(datapackage["wacz_version"], "1.1.1");
    assert!(
        datapackage["software"]
            .as_str()
            .unwrap()
            .starts_with("gazette ")
    );
    DateTime::parse_from_rfc3339(datapackage["created"].as_str().unwrap()).unwrap();
    let mut listed = BTreeSet::new();
    for resource in datapackage["resources"].as_array().unwrap() {
        let path = resource["path"].as_str().unwrap();
        let bytes = &package.entries[path];
        assert_eq!(resource["hash"], sha256(bytes), "{path}");
        assert_eq!(resource["bytes"], bytes.len() as u64, "{path}");
        // The data package profile's pattern for names.
        let name = resource["name"].as_str().unwrap();
        assert!(
            name.bytes()
                .all(|b| matches!(b, b'-' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'/')),
            "resource name {name:?}"
        );
        listed.insert(path);
    }
    let expected: BTreeSet<&str> = names
        .iter()
        .copied()
        .filter(|n| !n.starts_with("datapackage"))
        .collect();
    assert_eq!(listed, expected);
    let digest = package.json("datapackage-digest.json");
    assert_eq!(digest["path"], "datapackage.json");
    assert_eq!(digest["hash"], sha256(&package.entries["datapackage.json"]));

    let mut by_location = HashMap::new();
    for name in package.warc_files() {
        for (at, _, record) in package.records(&name) {
            by_location.insert((name.clone(), at.offset, at.length), record);
        }
    }
    let index = package.text("indexes/index.cdx");
    let lines: Vec<&str> = index.lines().collect();
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    assert_eq!(lines, sorted, "the index is sorted");
    let looked_up = by_location
        .values()
        .filter(|r| {
            matches!(
                r.kind(),
                RecordType::Response | RecordType::Revisit | RecordType::Metadata
            )
        })
        .count();
    assert_eq!(lines.len(), looked_up, "a line per record looked up");
    for line in lines {
        let json: serde_json::Value = serde_json::from_str(line.splitn(3, ' ').nth(2).unwrap())
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        let key = (
            json["filename"].as_str().unwrap().to_string(),
            json["offset"].as_str().unwrap().parse::<u64>().unwrap(),
            json["length"].as_str().unwrap().parse::<u64>().unwrap(),
        );
        let record = by_location
            .get(&key)
            .unwrap_or_else(|| panic!("{line}: no record there"));
        assert_eq!(record.target_uri(), json["url"].as_str(), "{line}");
    }
}

/// The members of the archive's own WARC files, by their bytes.
fn original_members(warc_dir: &Path) -> HashMap<Vec<u8>, Location> {
    let mut members = HashMap::new();
    for name in warc::files(warc_dir).unwrap() {
        let bytes = std::fs::read(warc_dir.join(&name)).unwrap();
        for item in warc::scan_file(warc_dir, &name) {
            let (at, _) = item.unwrap();
            let member = bytes[at.offset as usize..(at.offset + at.length) as usize].to_vec();
            members.insert(member, at);
        }
    }
    members
}

#[tokio::test(flavor = "multi_thread")]
async fn a_package_of_everything_holds_every_record_byte_for_byte_while_the_archive_is_open() {
    let crawled = crawled_twice().await;
    let out = crawled.portal.dir.path().join("all.wacz");
    // The archive stays open (and its index locked) in this process meanwhile.
    crawled.export_ok(&["--wacz", out.to_str().unwrap()]).await;
    assert!(!support::partial_beside(&out).exists());
    let package = open_package(&out);
    check_structure(&package);

    let warc_dir = crawled.warc_dir();
    let originals = warc::files(&warc_dir).unwrap();
    assert_eq!(package.warc_files(), originals);
    for name in &originals {
        assert!(
            package.entries[&format!("archive/{name}")]
                == std::fs::read(warc_dir.join(name)).unwrap(),
            "archive/{name} is the archive's file, byte for byte"
        );
    }
    let revisions = crawled.revisions();
    assert_eq!(revisions.len(), 11, "{revisions:?}");
    let pages = package.pages();
    let titles: BTreeMap<String, String> = pages
        .iter()
        .map(|(id, (_, _, title))| (id.clone(), title.clone()))
        .collect();
    assert_eq!(titles, revisions, "a page per revision, with its title");
    let (url, ..) = &pages["bqlkkt:1238:2"];
    assert!(url.contains("ItemID=1238"), "{url}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_package_in_scope_holds_its_revisions_their_captures_and_their_assets() {
    let crawled = crawled_twice().await;
    let originals = original_members(&crawled.warc_dir());
    let since = crawled.between.to_rfc3339();
    let out = crawled.portal.dir.path().join("since.wacz");
    crawled
        .export_ok(&["--wacz", out.to_str().unwrap(), "--since", &since])
        .await;
    let package = open_package(&out);
    check_structure(&package);
    let pages = package.pages();
    assert_eq!(
        pages.keys().collect::<Vec<_>>(),
        ["bqlkkt:1238:2", "bqlkkt:9001:1"],
        "{pages:?}"
    );
    let mut kinds = BTreeMap::<String, usize>::new();
    let mut responses = std::collections::HashSet::new();
    let mut revisits = Vec::new();
    for name in package.warc_files() {
        for (_, bytes, record) in package.records(&name) {
            let original = originals.get(&bytes).unwrap_or_else(|| {
                panic!(
                    "{} of archive/{name} is no member of the archive",
                    record.id()
                )
            });
            assert_eq!(original.file, name, "a record stays in its file's copy");
            *kinds.entry(record.kind().as_str().to_string()).or_default() += 1;
            match record.kind() {
                RecordType::Response => {
                    responses.insert(record.id().clone());
                }
                RecordType::Revisit => revisits.push(record),
                _ => {}
            }
        }
    }
    // Two revisions: their notes, pages and requests; the PDF linked again: its revisit and
    // request, and the response holding its bytes with its request; 1238's figure, captured in
    // the first crawl: its response and request.
    assert_eq!(kinds.get("metadata"), Some(&2), "{kinds:?}");
    assert_eq!(kinds.get("response"), Some(&4), "{kinds:?}");
    assert_eq!(kinds.get("revisit"), Some(&1), "{kinds:?}");
    assert_eq!(kinds.get("request"), Some(&5), "{kinds:?}");
    assert!(kinds.get("warcinfo").is_some_and(|&n| n >= 1), "{kinds:?}");
    let revisit = &revisits[0];
    assert!(revisit.target_uri().unwrap().ends_with(PDF_COPY));
    assert!(
        responses.contains(&revisit.refers_to().unwrap()),
        "the revisit's original is packaged"
    );

    // Before the second crawl: the nine first revisions, from the one source.
    let out = crawled.portal.dir.path().join("until.wacz");
    let until = crawled.between.to_rfc3339();
    crawled
        .export_ok(&[
            "--wacz",
            out.to_str().unwrap(),
            "--until",
            &until,
            "--source",
            "bqlkkt",
        ])
        .await;
    let package = open_package(&out);
    check_structure(&package);
    let pages = package.pages();
    assert_eq!(pages.len(), 9, "{pages:?}");
    assert!(
        pages
            .keys()
            .all(|id| id.ends_with(":1") && !id.contains("9001"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_package_that_cannot_be_made_leaves_nothing_and_names_why() {
    let crawled = crawled_twice().await;
    let out = crawled.portal.dir.path().join("out.wacz");
    let path = out.to_str().unwrap();

    let (args, output) = crawled.export(&["--wacz", path, "--source", "nope"]).await;
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let explained = support::explain(&refs, &output);
    assert_eq!(output.status.code(), Some(2), "{explained}");
    assert!(explained.contains("no source \"nope\""), "{explained}");

    let (args, output) = crawled
        .export(&["--wacz", path, "--since", "2999-01-01"])
        .await;
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let explained = support::explain(&refs, &output);
    assert_eq!(output.status.code(), Some(1), "{explained}");
    assert!(explained.contains("no revision was fetched"), "{explained}");
    assert!(!out.exists() && !support::partial_beside(&out).exists());

    // A damaged record: the export stops naming it, and the package there before is kept.
    std::fs::write(&out, b"the package before").unwrap();
    let warc_dir = crawled.warc_dir();
    let (at, _) = warc::scan(&warc_dir)
        .map(Result::unwrap)
        .find(|(_, record)| record.kind() == &RecordType::Response)
        .unwrap();
    let file = warc_dir.join(&at.file);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[(at.offset + at.length / 2) as usize] ^= 0x55;
    std::fs::write(&file, bytes).unwrap();
    let (args, output) = crawled.export(&["--wacz", path]).await;
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let explained = support::explain(&refs, &output);
    assert_eq!(output.status.code(), Some(1), "{explained}");
    let message = format!("{} at byte {}", at.file, at.offset);
    assert!(explained.contains(&message), "{explained}");
    assert!(!explained.contains("panicked"), "{explained}");
    assert_eq!(std::fs::read(&out).unwrap(), b"the package before");
    assert!(!support::partial_beside(&out).exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn one_cdxj_indexes_every_warc_file_sorted() {
    let crawled = crawled_twice().await;
    let out = crawled.portal.dir.path().join("index.cdxj");
    crawled.export_ok(&["--cdxj", out.to_str().unwrap()]).await;
    assert!(!support::partial_beside(&out).exists());
    let text = std::fs::read_to_string(&out).unwrap();
    let warc_dir = crawled.warc_dir();
    let mut expected: Vec<String> = Vec::new();
    for name in warc::files(&warc_dir).unwrap() {
        let index = gazette::archive::cdxj::index(&warc_dir, &name).unwrap();
        expected.extend(index.lines().map(str::to_string));
    }
    expected.sort_unstable();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert_eq!(lines, expected);
    // Every revision's page and note, and the assets, are looked up.
    assert!(lines.len() >= 11 * 2 + 3, "{} lines", lines.len());
    for line in &lines {
        let json: serde_json::Value =
            serde_json::from_str(line.splitn(3, ' ').nth(2).unwrap()).unwrap();
        let at = Location {
            file: json["filename"].as_str().unwrap().to_string(),
            offset: json["offset"].as_str().unwrap().parse().unwrap(),
            length: json["length"].as_str().unwrap().parse().unwrap(),
        };
        let record = warc::read(&warc_dir, &at).unwrap();
        assert_eq!(record.target_uri(), json["url"].as_str(), "{line}");
    }
}

/// Crawls the recorded portal twice (article 1238 edited in between, a second later, so that its
/// two captures have timestamps of their own) and leaves in `GAZETTE_WACZ_CHECK=<dir>`: `warc/`,
/// the archive's WARC files each with its `.cdxj` beside it; `gazette.wacz`, the package of
/// everything; `expected.json`, each revision's response record (URL, 14-digit timestamp, file,
/// offset). `.ci/pywb_check.py` replays both in pywb and compares.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "writes a crawl's WARC files and WACZ into the directory GAZETTE_WACZ_CHECK names"]
async fn files_for_pywb() {
    let out = PathBuf::from(
        std::env::var_os("GAZETTE_WACZ_CHECK")
            .expect("GAZETTE_WACZ_CHECK names the directory for the files"),
    );
    let portal = recorded_without_rechecks().await;
    let archive = portal.open_archive();
    assert_eq!(portal.crawl(&archive, false).await.new, 9);
    // Wayback timestamps are whole seconds: the second capture of 1238 waits for the next one.
    let first = Utc::now().timestamp();
    while Utc::now().timestamp() == first {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let page = std::fs::read_to_string(support::fixture("portal/article-1238.html")).unwrap();
    portal.server.set_page(
        "/Pages/chi-tiet-tin.aspx?ItemID=1238",
        page.replace("trên 70% khối lượng", "trên 85% khối lượng")
            .into_bytes(),
        "text/html; charset=utf-8",
    );
    assert_eq!(portal.crawl(&archive, false).await.revised, 1);
    drop(archive);

    let warc_dir = portal.config.storage.path.join("warc");
    let mut responses = HashMap::new();
    let mut revisions = Vec::new();
    for item in warc::scan(&warc_dir) {
        let (at, record) = item.unwrap();
        match record.kind() {
            RecordType::Response => {
                responses.insert(record.id().clone(), (at, record));
            }
            RecordType::Metadata => {
                let note: serde_json::Value = serde_json::from_slice(record.block()).unwrap();
                if note["note"] == "revision" {
                    revisions.push((note, record.refers_to().unwrap()));
                }
            }
            _ => {}
        }
    }
    assert_eq!(revisions.len(), 10);
    let expected: Vec<serde_json::Value> = revisions
        .iter()
        .map(|(note, response)| {
            let (at, record) = &responses[response];
            serde_json::json!({
                "id": note["article"]["id"],
                "revision": note["revision"],
                "images": note["article"]["images"]
                    .as_array()
                    .map(|images| images.iter().map(|i| i["url"].clone()).collect::<Vec<_>>())
                    .unwrap_or_default(),
                "url": record.target_uri().unwrap(),
                "timestamp": record.date().with_timezone(&Utc).format("%Y%m%d%H%M%S").to_string(),
                "file": at.file,
                "offset": at.offset,
            })
        })
        .collect();
    // Every image captured, for pywb to replay byte for byte.
    let assets: Vec<serde_json::Value> = responses
        .values()
        .filter(|(_, record)| {
            record.http().is_some_and(|http| {
                http.headers.iter().any(|(name, value)| {
                    name.eq_ignore_ascii_case("content-type") && value.starts_with("image/")
                })
            })
        })
        .map(|(at, record)| {
            serde_json::json!({
                "url": record.target_uri().unwrap(),
                "timestamp": record.date().with_timezone(&Utc).format("%Y%m%d%H%M%S").to_string(),
                "file": at.file,
                "offset": at.offset,
            })
        })
        .collect();
    assert!(assets.len() >= 5, "{assets:?}");
    // The WARC directory as gazette left it, its CDXJ files beside the WARC files, copied whole.
    std::fs::create_dir_all(out.join("warc")).unwrap();
    let names = warc::files(&warc_dir).unwrap();
    for entry in std::fs::read_dir(&warc_dir).unwrap() {
        let name = entry.unwrap().file_name();
        std::fs::copy(warc_dir.join(&name), out.join("warc").join(&name)).unwrap();
    }
    for name in &names {
        assert!(
            out.join("warc").join(format!("{name}.cdxj")).is_file(),
            "gazette left no CDXJ beside {name}"
        );
    }
    let wacz = out.join("gazette.wacz");
    let args = [
        "export",
        "--config",
        portal.config_path.to_str().unwrap(),
        "--wacz",
        wacz.to_str().unwrap(),
    ];
    let output = support::gazette_async(&args).await;
    assert!(
        output.status.success(),
        "{}",
        support::explain(&args, &output)
    );
    let expected = serde_json::json!({ "revisions": expected, "assets": assets });
    std::fs::write(out.join("expected.json"), expected.to_string()).unwrap();
    println!("{} revisions", revisions.len());
}
