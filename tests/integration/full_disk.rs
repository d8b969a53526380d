//! A backfill into a small tmpfs: the run stops with one line when the disk is full, every
//! article it counted is on disk, and once there is room again the next run carries on.
//! Needs root for `mount`; `.ci/run` mounts the tmpfs and names it in `GAZETTE_FULL_DISK_DIR`.

use gazette::archive::prelude::*;
use std::process::Command;

use crate::support;
use crate::support::{explain, gazette_async};

const ARTICLES: usize = 1500;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a small tmpfs named by GAZETTE_FULL_DISK_DIR (root; .ci/run mounts one)"]
async fn full_disk() {
    let Ok(mount) = std::env::var("GAZETTE_FULL_DISK_DIR") else {
        eprintln!("full_disk: GAZETTE_FULL_DISK_DIR is not set; not run (.ci/run sets it)");
        return;
    };
    let mount = std::path::PathBuf::from(mount);
    let portal = support::TestPortal::start(
        gazette::replay::Recording::synthetic(ARTICLES),
        support::FAST_CRAWL,
    )
    .await;
    let archive_dir = mount.join(format!("archive-{}", std::process::id()));
    let text = std::fs::read_to_string(&portal.config_path).unwrap();
    let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
    doc["storage"]["path"] = toml_edit::value(archive_dir.display().to_string());
    let config_path = portal.dir.path().join("full-disk.toml");
    std::fs::write(&config_path, doc.to_string()).unwrap();
    let config = config_path.to_str().unwrap().to_string();
    let args = ["crawl", "--backfill", "--config", &config];

    let first = gazette_async(&args).await;
    assert_eq!(first.status.code(), Some(1), "{}", explain(&args, &first));
    let stderr = String::from_utf8_lossy(&first.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {}", explain(&args, &first));
    let expected = format!(
        "gazette: archive: no space left on device at {} (",
        archive_dir.display()
    );
    assert!(
        lines[0].starts_with(&expected),
        "{}",
        explain(&args, &first)
    );
    assert!(
        lines[0].ends_with(" articles of this run are saved; free space and run again)"),
        "{}",
        explain(&args, &first)
    );
    let saved: usize = lines[0][expected.len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count in {:?}", lines[0]));
    assert!(
        saved > 0 && saved < ARTICLES,
        "the disk filled mid-way: {saved}"
    );

    let remount = Command::new("mount")
        .args(["-o", "remount,size=64m"])
        .arg(&mount)
        .status()
        .unwrap();
    assert!(
        remount.success(),
        "mount -o remount,size=64m {}",
        mount.display()
    );

    // Every article the run counted is there, each once, and readable.
    let query = gazette_async(&["query", "--config", &config, "--format", "jsonl"]).await;
    assert_eq!(
        query.status.code(),
        Some(0),
        "{}",
        explain(&["query"], &query)
    );
    let listed = String::from_utf8_lossy(&query.stdout).lines().count();
    assert!(listed >= saved, "{listed} listed, {saved} counted");
    {
        let storage = gazette::config::StorageConfig {
            path: archive_dir.clone(),
            ..gazette::config::StorageConfig::default()
        };
        let archive = gazette::archive::open(&storage).unwrap();
        let all = archive.all().unwrap();
        assert!(
            all.len() >= saved,
            "{} archived, {saved} counted",
            all.len()
        );
        for archived in &all {
            assert_eq!(archive.revisions(&archived.article.id).unwrap().len(), 1);
        }
    }

    // With room again, the next run carries on to the end.
    let second = gazette_async(&args).await;
    assert_eq!(second.status.code(), Some(0), "{}", explain(&args, &second));
    let storage = gazette::config::StorageConfig {
        path: archive_dir.clone(),
        ..gazette::config::StorageConfig::default()
    };
    let archive = gazette::archive::open(&storage).unwrap();
    assert_eq!(archive.all().unwrap().len(), ARTICLES);
    drop(archive);
    let _ = std::fs::remove_dir_all(&archive_dir);
}
