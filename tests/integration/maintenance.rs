//! The archive's upkeep commands through the binary: rebuild gives back the same archive, verify
//! passes on a fresh crawl and finds a flipped byte.

use std::process::{Command, Output};

use gazette::archive::{self, Archive};

use crate::support::{self, TestPortal};

async fn gazette(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_gazette"))
            .args(args)
            .output()
            .expect("the gazette binary runs")
    })
    .await
    .unwrap()
}

fn shown(args: &[&str], out: &Output) -> String {
    format!(
        "gazette {}\nexit: {:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn exported(archive: &dyn Archive) -> String {
    let mut out = Vec::new();
    archive::export(archive, true, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The recorded portal crawled, one article revised and one marked gone then back and gone
/// again: every kind of metadata record.
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

#[tokio::test(flavor = "multi_thread")]
async fn rebuild_gives_back_the_same_export() {
    let (portal, before) = crawled().await;
    let config = portal.config_path.to_str().unwrap();
    let args = ["rebuild", "--config", config];
    let out = gazette(&args).await;
    assert_eq!(out.status.code(), Some(0), "{}", shown(&args, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("9 articles, 10 revisions"),
        "{}",
        shown(&args, &out)
    );
    assert!(stdout.contains("start empty"), "{}", shown(&args, &out));
    {
        let archive = portal.open_archive();
        assert!(
            exported(&archive) == before,
            "the rebuilt archive exports differently"
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
    let out = gazette(&args).await;
    assert_eq!(out.status.code(), Some(0), "{}", shown(&args, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("9 articles, 10 revisions"),
        "{}",
        shown(&args, &out)
    );
    assert!(
        stdout.contains("1 revisions read differently"),
        "{}",
        shown(&args, &out)
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
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_passes_on_a_fresh_crawl_and_finds_a_flipped_byte() {
    let (portal, _) = crawled().await;
    let config = portal.config_path.to_str().unwrap();
    let args = ["verify", "--config", config];
    let out = gazette(&args).await;
    assert_eq!(out.status.code(), Some(0), "{}", shown(&args, &out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("9 articles and 10 revisions indexed"),
        "{}",
        shown(&args, &out)
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
    let out = gazette(&args).await;
    assert_eq!(out.status.code(), Some(1), "{}", shown(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(
        stderr.starts_with(&format!("gazette: verify: {name} at byte ")),
        "{}",
        shown(&args, &out)
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{}",
        shown(&args, &out)
    );
    let _ = support::root();
}
