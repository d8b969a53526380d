//! The archive's upkeep commands through the binary: rebuild gives back the same archive, verify
//! passes on a fresh crawl and finds a flipped byte.

use gazette::archive::prelude::*;
use gazette::archive::{self, Archive, SledArchive};

use crate::support::{self, TestPortal};
use crate::support::{explain, gazette_async};

/// Runs gazette with `args`, checking its exit status.
async fn exits(args: &[&str], code: i32) -> std::process::Output {
    let out = gazette_async(args).await;
    assert_eq!(out.status.code(), Some(code), "{}", explain(args, &out));
    out
}

fn exported(archive: &SledArchive) -> String {
    let mut out = Vec::new();
    archive::export(archive, true, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The recorded portal crawled, one article revised by hand then marked gone, one marked gone,
/// one marked gone then back: every kind of metadata record.
async fn crawled() -> (TestPortal, String) {
    let portal = TestPortal::recorded().await;
    let archive = portal.open_archive();
    let report = portal.crawl(&archive, false).await;
    assert_eq!(report.new, 9, "{:?}", report.errors);
    let mut all = archive.all().unwrap();
    let first = all.remove(0);
    let capture = archive.capture(&first.article.id, 1).unwrap().unwrap();
    let mut edited = first.article.clone();
    edited.title = format!("{} (sửa)", edited.title);
    edited.content_hash = gazette::normalize::content_hash(
        &edited.title,
        edited.published.as_ref(),
        &edited.body_text,
    );
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    archive
        .store(&edited, &capture, at("2030-01-02T00:00:00+07:00"))
        .unwrap();
    archive
        .mark_gone(&first.article.id, at("2030-01-02T12:00:00+07:00"))
        .unwrap();
    let second = &all[0].article;
    archive
        .mark_gone(&second.id, at("2030-01-03T00:00:00+07:00"))
        .unwrap();
    let third = &all[1].article;
    archive
        .mark_gone(&third.id, at("2030-01-03T00:00:00+07:00"))
        .unwrap();
    let capture = archive.capture(&third.id, 1).unwrap().unwrap();
    archive
        .store(third, &capture, at("2030-01-04T00:00:00+07:00"))
        .unwrap();
    let before = exported(&archive);
    (portal, before)
}

/// What the WARC files do not hold: validators of every article URL, the run log.
fn side_state(archive: &dyn Archive) -> (Vec<String>, usize) {
    let validators = archive
        .all()
        .unwrap()
        .iter()
        .map(|a| format!("{:?}", archive.validators(&a.article.url).unwrap()))
        .collect();
    (validators, archive.runs("bqlkkt", 100).unwrap().len())
}

#[tokio::test(flavor = "multi_thread")]
async fn rebuild_gives_back_the_same_export() {
    let (portal, before) = crawled().await;
    let side_before = side_state(&*portal.open_archive());
    assert!(side_before.1 > 0, "the crawl recorded its run");
    assert!(
        side_before.0.iter().any(|v| v.starts_with("Some")),
        "the crawl kept validators: {:?}",
        side_before.0
    );
    let config = portal.config_path.to_str().unwrap();
    let args = ["rebuild", "--config", config];
    let out = exits(&args, 0).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("9 articles, 10 revisions"),
        "{}",
        explain(&args, &out)
    );
    assert!(
        stdout.contains("taken over from the old index"),
        "{}",
        explain(&args, &out)
    );
    {
        let archive = portal.open_archive();
        assert!(
            exported(&archive) == before,
            "the rebuilt archive exports differently"
        );
        assert_eq!(
            side_state(&*archive),
            side_before,
            "validators and run log kept"
        );
        let any = &archive.all().unwrap()[0].article;
        assert_eq!(
            archive.id_for_url(&any.url).unwrap().as_ref(),
            Some(&any.id)
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(portal.dir.path().join("archive"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers.len(), 2, "db and warc only: {leftovers:?}");

    // Extracted again, the revision whose title was edited by hand reads as its page says.
    let args = ["rebuild", "--config", config, "--reparse"];
    let out = exits(&args, 0).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("9 articles, 10 revisions"),
        "{}",
        explain(&args, &out)
    );
    assert!(
        stdout.contains("1 revisions read differently"),
        "{}",
        explain(&args, &out)
    );
    let archive = portal.open_archive();
    let revised = archive
        .all()
        .unwrap()
        .into_iter()
        .find(|a| a.revisions == 2)
        .unwrap();
    let revisions = archive.revisions(&revised.article.id).unwrap();
    assert_eq!(revisions[1].article.title, revisions[0].article.title);
    assert_eq!(revised.article.title, revisions[0].article.title);
    assert!(revised.gone_at.is_some(), "extracted again, still gone");
    let reparsed = exported(&archive);
    drop(archive);

    // Rebuilt again from the WARC files, the revision extracted again leaves it gone.
    let args = ["rebuild", "--config", config];
    exits(&args, 0).await;
    assert!(
        exported(&portal.open_archive()) == reparsed,
        "a rebuild after a rebuild --reparse exports differently"
    );
}

/// WARC files gone from their directory do not make an empty index of a full one.
#[tokio::test(flavor = "multi_thread")]
async fn rebuild_without_the_warc_files_leaves_the_index() {
    let (portal, before) = crawled().await;
    let config = portal.config_path.to_str().unwrap();
    let warc_dir = portal.dir.path().join("archive/warc");
    let aside = portal.dir.path().join("warc-aside");
    std::fs::rename(&warc_dir, &aside).unwrap();
    std::fs::create_dir(&warc_dir).unwrap();
    let args = ["rebuild", "--config", config];
    let out = exits(&args, 1).await;
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("its WARC files hold no article, but its index names 9"),
        "{}",
        explain(&args, &out)
    );
    std::fs::remove_dir(&warc_dir).unwrap();
    std::fs::rename(&aside, &warc_dir).unwrap();
    assert!(
        exported(&portal.open_archive()) == before,
        "the index is as it was"
    );
}

/// A rebuild keeps the index it replaces open until the swap: refused while the archive is
/// held, and the archive is left as it was.
#[tokio::test(flavor = "multi_thread")]
async fn rebuild_is_refused_while_the_archive_is_held() {
    let (portal, before) = crawled().await;
    let config = portal.config_path.to_str().unwrap();
    let archive = portal.open_archive();
    let args = ["rebuild", "--config", config];
    let out = exits(&args, 1).await;
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the archive is open in another gazette"),
        "{}",
        explain(&args, &out)
    );
    assert!(exported(&archive) == before, "the archive is as it was");
    drop(archive);
    let leftovers: Vec<_> = std::fs::read_dir(portal.dir.path().join("archive"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers.len(), 2, "db and warc only: {leftovers:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_passes_on_a_fresh_crawl_and_finds_a_flipped_byte() {
    let (portal, _) = crawled().await;
    let config = portal.config_path.to_str().unwrap();
    let args = ["verify", "--config", config];
    let out = exits(&args, 0).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("9 articles and 10 revisions indexed"),
        "{}",
        explain(&args, &out)
    );

    let warc_dir = portal.dir.path().join("archive/warc");
    let file = std::fs::read_dir(&warc_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".warc.gz"))
        .unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&file, bytes).unwrap();
    let out = exits(&args, 1).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(
        stderr.starts_with(&format!("gazette: verify: {name} at byte ")),
        "{}",
        explain(&args, &out)
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{}",
        explain(&args, &out)
    );

    // A WARC file gone is named as gone.
    std::fs::remove_file(&file).unwrap();
    let out = exits(&args, 1).await;
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("gazette: verify: {name} at byte "))
            && String::from_utf8_lossy(&out.stderr)
                .contains("but the file is missing from the WARC files"),
        "{}",
        explain(&args, &out)
    );
}

/// Writes `entries` in the schema-1 layout (one sled directory: the current record, every
/// revision and its zstd-compressed capture, as gazette 0.1 wrote them).
fn write_schema1(path: &std::path::Path, entries: &[archive::ExportEntry]) {
    let db = sled::Config::new()
        .path(path)
        .flush_every_ms(None)
        .open()
        .unwrap();
    let tree = |name: &str| db.open_tree(name).unwrap();
    let (articles, revisions, captures, by_url) = (
        tree("articles"),
        tree("revisions"),
        tree("captures"),
        tree("by_url"),
    );
    tree("meta").insert("schema_version", "1").unwrap();
    for entry in entries {
        let id = &entry.archived.article.id;
        articles
            .insert(
                id.0.as_bytes(),
                serde_json::to_vec(&entry.archived).unwrap(),
            )
            .unwrap();
        by_url
            .insert(entry.archived.article.url.as_bytes(), id.0.as_bytes())
            .unwrap();
        for exported in &entry.revisions {
            let mut key = id.0.as_bytes().to_vec();
            key.push(0);
            key.extend_from_slice(&exported.number.to_be_bytes());
            let revision = gazette::model::Revision {
                number: exported.number,
                fetched_at: exported.fetched_at,
                cause: exported.cause,
                article: exported.article.clone(),
            };
            revisions
                .insert(key.as_slice(), serde_json::to_vec(&revision).unwrap())
                .unwrap();
            let capture = exported.capture().unwrap().unwrap();
            let head = serde_json::to_vec(&capture).unwrap();
            let mut stored = (head.len() as u32).to_be_bytes().to_vec();
            stored.extend_from_slice(&head);
            stored.extend_from_slice(&zstd::stream::encode_all(&capture.body[..], 3).unwrap());
            captures.insert(key.as_slice(), stored).unwrap();
        }
    }
    tree("state")
        .insert("backfill:bqlkkt:tin-ban-quan-ly", "http://127.0.0.1/next")
        .unwrap();
    db.flush().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_upgrades_a_schema_1_archive_and_other_commands_refuse_one() {
    let (portal, before) = crawled().await;
    let entries: Vec<archive::ExportEntry> = before
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let path = portal.dir.path().join("archive");
    std::fs::remove_dir_all(&path).unwrap();
    write_schema1(&path, &entries);
    let config = portal.config_path.to_str().unwrap();

    let args = ["query", "--config", config];
    let out = exits(&args, 1).await;
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!(
            "gazette: {}: archive schema 1: run gazette migrate --config {config}",
            path.display()
        )
    );

    let args = ["migrate", "--config", config];
    let out = exits(&args, 0).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("9 articles, 10 revisions"),
        "{}",
        explain(&args, &out)
    );
    assert!(portal.dir.path().join("archive.schema1/conf").is_file());
    let archive = portal.open_archive();
    assert!(
        exported(&archive) == before,
        "the migrated archive exports differently (articles, revisions, captures)"
    );
    assert_eq!(
        archive
            .state("backfill:bqlkkt:tin-ban-quan-ly")
            .unwrap()
            .as_deref(),
        Some("http://127.0.0.1/next")
    );
    drop(archive);
    let args = ["verify", "--config", config];
    exits(&args, 0).await;
}

/// An archive whose index is of schema 2 (the first WARC layout): every command but migrate
/// names migrate; migrate rebuilds the index from the WARC files and keeps what they do not hold.
#[tokio::test(flavor = "multi_thread")]
async fn migrate_rebuilds_a_schema_2_index() {
    let (portal, before) = crawled().await;
    let side_before = side_state(&*portal.open_archive());
    let path = portal.dir.path().join("archive");
    {
        let db = support::open_sled(
            &sled::Config::new()
                .path(path.join("db"))
                .use_compression(false),
        );
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", "2")
            .unwrap();
        db.flush().unwrap();
    }
    let config = portal.config_path.to_str().unwrap();
    let args = ["query", "--config", config];
    let out = exits(&args, 1).await;
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!(
            "gazette: {}: its index is of archive schema 2: run gazette migrate --config {config} (it rebuilds the index from the WARC files)",
            path.display()
        )
    );

    let args = ["migrate", "--config", config];
    let out = exits(&args, 0).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("9 articles, 10 revisions; its index was rebuilt"),
        "{}",
        explain(&args, &out)
    );
    let archive = portal.open_archive();
    assert!(
        exported(&archive) == before,
        "migrated archive exports differently"
    );
    assert_eq!(side_state(&*archive), side_before);
    drop(archive);

    let out = exits(&args, 1).await;
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already of archive schema 3"),
        "{}",
        explain(&args, &out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn import_refuses_a_line_whose_text_was_altered_after_export() {
    let (portal, export) = crawled().await;
    let dir = portal.dir.path();
    let empty = dir.join("restored");
    let config = dir.join("restored.toml");
    std::fs::write(
        &config,
        support::portal_config_text(&portal.server.base_url(), &empty, &[]),
    )
    .unwrap();
    let config = config.to_str().unwrap();

    // The third line's latest text changed by hand, its hash left as exported.
    let mut lines: Vec<String> = export.lines().map(str::to_string).collect();
    let mut entry: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
    let id = entry["archived"]["article"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let latest = entry["archived"]["revisions"].as_u64().unwrap();
    let revision = entry["revisions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["number"].as_u64() == Some(latest))
        .unwrap();
    let altered = format!(
        "{} (altered)",
        revision["article"]["body_text"].as_str().unwrap()
    );
    revision["article"]["body_text"] = altered.clone().into();
    lines[2] = serde_json::to_string(&entry).unwrap();
    let file = dir.join("altered.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    let args = ["import", "--config", config, "--in", file.to_str().unwrap()];
    let out = exits(&args, 1).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let want = format!(
        "line 3: article {id}: revision {latest}: content_hash does not match its title, \
         published and body_text: the line was altered after export"
    );
    assert!(stderr.contains(&want), "{}", explain(&args, &out));
    assert_eq!(stderr.lines().count(), 1, "{}", explain(&args, &out));
    // All or nothing: the other lines were not restored either.
    if empty.exists() {
        let restored = archive::open(&gazette::config::StorageConfig {
            path: empty.clone(),
            ..portal.config.storage.clone()
        })
        .unwrap();
        assert!(restored.is_empty().unwrap(), "nothing restored");
    }

    // The same export untouched imports.
    let file = dir.join("intact.jsonl");
    std::fs::write(&file, &export).unwrap();
    exits(
        &["import", "--config", config, "--in", file.to_str().unwrap()],
        0,
    )
    .await;
}

/// Rewrites the archive's WARC files with every note of the first form: filed under the page's
/// URL (the article's, for a gone or back note), without `WARC-Concurrent-To`.
fn notes_to_the_first_form(warc_dir: &std::path::Path) {
    use gazette::archive::warc::{self, RecordType};
    let staging = tempfile::tempdir().unwrap();
    let mut urls = std::collections::HashMap::new();
    for name in warc::files(warc_dir).unwrap() {
        let done = warc::rewrite_file(warc_dir, &name, staging.path(), &mut |record| {
            if record.kind() != &RecordType::Metadata {
                return None;
            }
            let json: serde_json::Value = serde_json::from_slice(record.block()).unwrap();
            let url = match json["article"]["url"].as_str() {
                Some(url) => {
                    urls.insert(json["article"]["id"].clone(), url.to_string());
                    url.to_string()
                }
                None => urls[&json["id"]].clone(),
            };
            Some(
                record
                    .headers()
                    .iter()
                    .filter(|(field, _)| field != "WARC-Concurrent-To")
                    .map(|(field, value)| match field.as_str() {
                        "WARC-Target-URI" => (field.clone(), url.clone()),
                        _ => (field.clone(), value.clone()),
                    })
                    .collect(),
            )
        })
        .unwrap();
        assert!(done.changed > 0 || done.records > 0);
        std::fs::rename(staging.path().join(&name), warc_dir.join(&name)).unwrap();
        std::fs::remove_file(warc_dir.join(format!("{name}.cdxj"))).unwrap();
    }
}

fn metadata_targets(warc_dir: &std::path::Path) -> Vec<String> {
    use gazette::archive::warc::{self, RecordType};
    warc::scan(warc_dir)
        .map(Result::unwrap)
        .filter(|(_, r)| r.kind() == &RecordType::Metadata)
        .map(|(_, r)| r.target_uri().unwrap().to_string())
        .collect()
}

/// WARC files written before notes had URNs of their own: `rebuild` reads them as they are, and
/// `migrate` rewrites them, each copy checked, the old files kept aside, the archive the same.
#[tokio::test(flavor = "multi_thread")]
async fn migrate_files_older_notes_under_their_own_urns() {
    let (portal, before) = crawled().await;
    let side_before = side_state(&*portal.open_archive());
    let path = portal.dir.path().join("archive");
    let warc_dir = path.join("warc");
    let names = gazette::archive::warc::files(&warc_dir).unwrap();
    notes_to_the_first_form(&warc_dir);
    let targets = metadata_targets(&warc_dir);
    assert!(
        targets.iter().all(|t| t.starts_with("http://")),
        "{targets:?}"
    );

    let config = portal.config_path.to_str().unwrap();
    exits(&["rebuild", "--config", config], 0).await;
    assert!(
        exported(&portal.open_archive()) == before,
        "rebuilt from notes of the first form, the archive exports differently"
    );

    let args = ["migrate", "--config", config];
    let out = exits(&args, 0).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let notes = targets.len();
    assert!(
        stdout.contains(&format!(
            "{notes} metadata records in {} WARC files now under their own urn:gazette:article: URIs",
            names.len()
        )),
        "{}",
        explain(&args, &out)
    );
    let targets = metadata_targets(&warc_dir);
    assert_eq!(targets.len(), notes);
    assert!(
        targets
            .iter()
            .all(|t| t.starts_with("urn:gazette:article:bqlkkt:")),
        "{targets:?}"
    );
    let archive = portal.open_archive();
    assert!(
        exported(&archive) == before,
        "the migrated archive exports differently"
    );
    assert_eq!(side_state(&*archive), side_before);
    drop(archive);
    // The old files are kept, whole; each new one has its CDXJ beside it.
    let kept = portal.dir.path().join("archive.notes-v1");
    for name in &names {
        assert!(kept.join(name).is_file(), "{name} not kept");
        let index = std::fs::read_to_string(warc_dir.join(format!("{name}.cdxj"))).unwrap();
        assert_eq!(index, archive::cdxj::index(&warc_dir, name).unwrap());
        assert!(!index.contains("\"mime\":\"application/json\",\"status\""));
    }
    exits(&["verify", "--config", config], 0).await;

    let out = exits(&args, 1).await;
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nothing to migrate"),
        "{}",
        explain(&args, &out)
    );
}
