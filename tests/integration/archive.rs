//! The sled archive on its own: revisions, gone articles, indexes, export/import, and refusing
//! directories that are not an archive.

use gazette::archive::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, FixedOffset};
use gazette::archive::{self, Archive, ArchiveError, Query, SledArchive, Stored};
use gazette::model::{Article, Capture};

use crate::support;

fn storage(dir: &std::path::Path) -> gazette::config::StorageConfig {
    gazette::config::StorageConfig {
        path: dir.to_path_buf(),
        cache_capacity: 8 * 1024 * 1024,
        ..gazette::config::StorageConfig::default()
    }
}

fn open(dir: &std::path::Path) -> SledArchive {
    SledArchive::open(&storage(dir)).unwrap_or_else(|e| panic!("archive opens: {e}"))
}

fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

/// A real article from the recording, with the capture it came from.
pub(crate) fn recorded_article(file: &str) -> (Article, Capture) {
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    let saved = support::recorded(file);
    let article = gazette::read_article(&saved.page(), source, "tin-ban-quan-ly").unwrap();
    let capture = Capture {
        url: saved.url.to_string(),
        status: 200,
        headers: vec![(
            "content-type".into(),
            saved.content_type.clone().unwrap_or_default(),
        )],
        body: saved.bytes.clone(),
    };
    (article, capture)
}

/// Stores the recorded portal's article pages `files`, fetched at `fetched_at`.
fn store_recorded(archive: &SledArchive, files: &[&str], fetched_at: DateTime<FixedOffset>) {
    for file in files {
        let (article, capture) = recorded_article(file);
        archive.store(&article, &capture, fetched_at).unwrap();
    }
}

pub(crate) fn edited(article: &Article, title: &str) -> Article {
    let mut article = article.clone();
    article.title = title.to_string();
    article.content_hash = gazette::normalize::content_hash(
        &article.title,
        article.published.as_ref(),
        &article.body_text,
    );
    article
}

#[test]
fn revisions_are_kept_only_when_content_changes() {
    let dir = tempfile::tempdir().unwrap();
    let archive = open(dir.path());
    let (article, capture) = recorded_article("article-1234.html");
    assert_eq!(
        archive
            .store(&article, &capture, at("2026-01-01T00:00:00+00:00"))
            .unwrap(),
        Stored::New
    );
    assert_eq!(
        archive
            .store(&article, &capture, at("2026-01-02T00:00:00+00:00"))
            .unwrap(),
        Stored::Unchanged
    );
    let changed = edited(&article, "Tiêu đề đã sửa");
    assert_eq!(
        archive
            .store(&changed, &capture, at("2026-01-03T00:00:00+00:00"))
            .unwrap(),
        Stored::Revised(2)
    );

    let archived = archive.article(&article.id).unwrap().unwrap();
    assert_eq!(archived.revisions, 2);
    assert_eq!(archived.article.title, "Tiêu đề đã sửa");
    assert_eq!(archived.first_seen, at("2026-01-01T00:00:00+00:00"));
    assert_eq!(archived.updated, at("2026-01-03T00:00:00+00:00"));
    let revisions = archive.revisions(&article.id).unwrap();
    assert_eq!(
        revisions.iter().map(|r| r.number).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(
        revisions[0].article, article,
        "the first revision is kept as it was"
    );
    let raw = archive.capture(&article.id, 1).unwrap().unwrap();
    assert_eq!(raw.body, capture.body, "the page is kept byte for byte");
    assert_eq!(raw.content_type(), Some("text/html; charset=utf-8"));
}

#[test]
fn gone_articles_are_marked_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let archive = open(dir.path());
    let (article, capture) = recorded_article("article-1229.html");
    archive
        .store(&article, &capture, at("2026-01-01T00:00:00+00:00"))
        .unwrap();
    assert!(
        archive
            .mark_gone(&article.id, at("2026-02-01T00:00:00+00:00"))
            .unwrap()
    );
    assert!(
        !archive
            .mark_gone(&article.id, at("2026-03-01T00:00:00+00:00"))
            .unwrap()
    );
    let archived = archive.article(&article.id).unwrap().unwrap();
    assert_eq!(archived.gone_at, Some(at("2026-02-01T00:00:00+00:00")));
    assert_eq!(archived.article, article);
    assert_eq!(archive.articles(&Query::default()).unwrap().len(), 1);
}

#[test]
fn query_is_newest_first_and_filters_by_time_and_section() {
    let dir = tempfile::tempdir().unwrap();
    let archive = open(dir.path());
    store_recorded(
        &archive,
        &[
            "article-1180.html",
            "article-1234.html",
            "article-1229.html",
            "article-1238.html",
        ],
        at("2026-01-01T00:00:00+00:00"),
    );
    let ids = |q: Query| -> Vec<String> {
        archive
            .articles(&q)
            .unwrap()
            .into_iter()
            .map(|a| a.article.id.0)
            .collect()
    };
    assert_eq!(
        ids(Query::default()),
        ["bqlkkt:1238", "bqlkkt:1234", "bqlkkt:1229", "bqlkkt:1180"]
    );
    assert_eq!(
        ids(Query {
            limit: Some(2),
            ..Query::default()
        }),
        ["bqlkkt:1238", "bqlkkt:1234"]
    );
    let june = Query {
        since: Some(at("2020-06-01T00:00:00+07:00")),
        until: Some(at("2020-07-08T13:54:00+07:00")),
        ..Query::default()
    };
    assert_eq!(ids(june), ["bqlkkt:1234", "bqlkkt:1229"]);
    let section = Query {
        source: Some("bqlkkt".into()),
        section: Some("tin-ban-quan-ly".into()),
        ..Query::default()
    };
    assert_eq!(ids(section).len(), 4);
    let other = Query {
        source: Some("bqlkkt".into()),
        section: Some("khac".into()),
        ..Query::default()
    };
    assert!(ids(other).is_empty());
    assert_eq!(
        archive
            .id_for_url("https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID=1229")
            .unwrap()
            .unwrap()
            .0,
        "bqlkkt:1229"
    );
}

#[test]
fn export_import_export_is_identical() {
    let first = tempfile::tempdir().unwrap();
    let archive = open(first.path());
    let (article, capture) = recorded_article("article-1236.html");
    archive
        .store(&article, &capture, at("2026-01-01T00:00:00+00:00"))
        .unwrap();
    archive
        .store(
            &edited(&article, "Sửa lần một"),
            &capture,
            at("2026-01-02T00:00:00+00:00"),
        )
        .unwrap();
    let (other, other_capture) = recorded_article("article-1180.html");
    archive
        .store(&other, &other_capture, at("2026-01-01T00:00:00+00:00"))
        .unwrap();
    archive
        .mark_gone(&other.id, at("2026-01-05T00:00:00+00:00"))
        .unwrap();

    for raw in [false, true] {
        let mut exported = Vec::new();
        assert_eq!(archive::export(&archive, raw, &mut exported).unwrap(), 2);
        let second = tempfile::tempdir().unwrap();
        let restored = open(second.path());
        assert_eq!(
            archive::import(&restored, &mut exported.as_slice()).unwrap(),
            2
        );
        let mut again = Vec::new();
        archive::export(&restored, raw, &mut again).unwrap();
        assert_eq!(
            String::from_utf8(again).unwrap(),
            String::from_utf8(exported.clone()).unwrap(),
            "raw={raw}"
        );
        if raw {
            assert_eq!(
                restored.capture(&article.id, 1).unwrap().unwrap().body,
                capture.body
            );
        }
        let err = archive::import(&restored, &mut exported.as_slice()).unwrap_err();
        assert!(err.to_string().contains("not empty"), "{err}");
    }
}

#[test]
fn a_foreign_directory_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "mine").unwrap();
    let err = SledArchive::open(&storage(dir.path()))
        .err()
        .expect("refused");
    assert!(matches!(err, ArchiveError::Foreign { .. }), "{err}");
    assert!(err.to_string().contains("not a gazette archive"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing was added"
    );
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "mine");
}

#[test]
fn a_corrupt_archive_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    {
        let archive = open(dir.path());
        let (article, capture) = recorded_article("article-1234.html");
        archive
            .store(&article, &capture, at("2026-01-01T00:00:00+00:00"))
            .unwrap();
        archive.flush().unwrap();
    }
    std::fs::write(dir.path().join("db/conf"), b"\x00\x01garbage").unwrap();
    let before = std::fs::read(dir.path().join("db/db")).unwrap();
    let err = SledArchive::open(&storage(dir.path()))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("cannot open the archive"), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join("db/db")).unwrap(),
        before,
        "the data file is not rewritten"
    );
}

#[test]
fn another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        // No background flusher: the database is closed once dropped.
        let db = sled::Config::new()
            .path(dir.path().join("db"))
            .flush_every_ms(None)
            .open()
            .unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", "99")
            .unwrap();
        db.flush().unwrap();
    }
    let err = SledArchive::open(&storage(dir.path()))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("schema version 99"), "{err}");
}

/// A damaged record leaves its article out of listings; the others are listed, and reading that
/// article names the damage.
#[test]
fn a_damaged_record_leaves_only_its_article_out_of_listings() {
    let dir = tempfile::tempdir().unwrap();
    let archive = open(dir.path());
    store_recorded(
        &archive,
        &[
            "article-1234.html",
            "article-1238.html",
            "article-1229.html",
        ],
        at("2026-01-01T00:00:00+07:00"),
    );
    // Indexed for search while whole.
    let search_dir = gazette::search::SearchIndex::dir(dir.path());
    {
        let (index, _) = gazette::search::SearchIndex::open(&search_dir, &archive).unwrap();
        let request = gazette::search::Request {
            text: "khu".into(),
            limit: 50,
            ..Default::default()
        };
        let hits = index.search(&archive, &request).unwrap().hits;
        assert!(
            hits.iter()
                .any(|h| h.archived.article.id.0.ends_with("1238")),
            "1238 is found while whole"
        );
    }
    drop(archive);
    let warc_dir = dir.path().join("warc");
    let location = support::damage_metadata_record(&warc_dir, "1238");

    let archive = open(dir.path());
    let listed: Vec<String> = archive
        .articles(&Query::default())
        .unwrap()
        .into_iter()
        .map(|a| a.article.id.0)
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(!listed.iter().any(|id| id.ends_with("1238")), "{listed:?}");
    let err = archive
        .article(&gazette::model::ArticleId("bqlkkt:1238".into()))
        .expect_err("the damaged article is an error");
    assert!(
        gazette::describe(&err).contains(&location.file),
        "{}",
        gazette::describe(&err)
    );
    // Searches leave it out too, as does a search index built again.
    let (index, _) = gazette::search::SearchIndex::open(&search_dir, &archive).unwrap();
    let everything = gazette::search::Request {
        text: "khu".into(),
        limit: 50,
        ..Default::default()
    };
    let found = |index: &gazette::search::SearchIndex| -> Vec<String> {
        let hits = index.search(&archive, &everything).unwrap().hits;
        hits.into_iter().map(|h| h.archived.article.id.0).collect()
    };
    let hits = found(&index);
    assert!(
        !hits.is_empty() && !hits.iter().any(|id| id.ends_with("1238")),
        "{hits:?}"
    );
    drop(index);
    let (index, _) = gazette::search::SearchIndex::rebuild(&search_dir, &archive).unwrap();
    assert_eq!(index.len(), 2);
    assert_eq!(found(&index), hits);
}

/// The index directory given as the archive is named as such, and left as it is.
#[test]
fn the_index_given_for_the_archive_is_named() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    std::fs::create_dir_all(dir.path().join("warc")).unwrap();
    let err = SledArchive::open(&storage(&dir.path().join("db")))
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains(&format!(
            "the index inside the archive at {}: set storage.path to that directory",
            dir.path().display()
        )),
        "{err}"
    );
}

/// A damaged index is named with the way back, not with sled's own debug text.
#[test]
fn a_damaged_index_names_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(dir.path());
    let archive = SledArchive::open(&storage).unwrap();
    let value = "x".repeat(200);
    for key in 0..2000 {
        archive.set_state(&key.to_string(), Some(&value)).unwrap();
    }
    drop(archive);
    // Opened again, sled records its state (a snapshot) naming where its pages are; they are
    // then lost.
    drop(SledArchive::open(&storage).unwrap());
    let index = dir.path().join("db/db");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&index)
        .unwrap()
        .set_len(1000)
        .unwrap();
    let err = SledArchive::open(&storage).err().expect("refused");
    let shown = err.to_string();
    assert!(shown.contains("gazette rebuild"), "{shown}");
    assert!(
        !shown.contains("Some(") && !shown.contains("backtrace"),
        "{shown}"
    );
}

/// Dropped, an archive opens again at once in the same process, even while the process starts
/// other programs (each child holds a copy of the index's locked file until its program runs).
#[test]
fn an_archive_dropped_opens_again_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(dir.path());
    let done = Arc::new(AtomicBool::new(false));
    let spawner = std::thread::spawn({
        let done = done.clone();
        move || {
            let mut started = 0;
            while !done.load(Ordering::Relaxed) {
                std::process::Command::new("true").status().unwrap();
                started += 1;
            }
            started
        }
    });
    for round in 0..100 {
        let archive =
            SledArchive::open(&storage).unwrap_or_else(|err| panic!("open {round}: {err}"));
        let value = round.to_string();
        archive.set_state("round", Some(&value)).unwrap();
        assert_eq!(
            archive.state("round").unwrap().as_deref(),
            Some(value.as_str())
        );
        drop(archive);
    }
    done.store(true, Ordering::Relaxed);
    assert!(
        spawner.join().unwrap() > 0,
        "programs were started meanwhile"
    );
}

/// A new index is made uncompressed (sled replays an uncompressed log at open without a zstd
/// decoder per message), and one made compressed keeps its setting when opened again.
#[test]
fn a_new_index_is_uncompressed_and_an_old_one_keeps_its_setting() {
    let conf = |dir: &std::path::Path| {
        String::from_utf8_lossy(&std::fs::read(dir.join("db/conf")).unwrap()).into_owned()
    };
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    assert!(
        conf(dir.path()).contains("use_compression: false"),
        "{}",
        conf(dir.path())
    );

    // An index made compressed (as gazette made them before): the same archive, its index
    // made again by sled with compression, then opened by gazette.
    let old = tempfile::tempdir().unwrap();
    drop(open(old.path()));
    let db = old.path().join("db");
    let copied = {
        let plain = crate::support::open_sled(&sled::Config::new().path(&db));
        let export = plain.export();
        drop(plain);
        std::fs::remove_dir_all(&db).unwrap();
        let compressed =
            crate::support::open_sled(&sled::Config::new().path(&db).use_compression(true));
        compressed.import(export);
        compressed.flush().unwrap();
        compressed.tree_names().len()
    };
    assert!(copied > 1, "the index had trees to copy");
    drop(open(old.path()));
    assert!(
        conf(old.path()).contains("use_compression: true"),
        "{}",
        conf(old.path())
    );
}
