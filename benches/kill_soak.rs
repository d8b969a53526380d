//! The kill soak for BENCHMARKS.md (not a timed test, not in CI): a 500-article backfill of the
//! synthetic portal, killed with SIGKILL at N random moments (default 100) and started again each
//! time, then run to the end. Afterwards every article must be there exactly once, with one
//! revision, and `gazette verify` must find the archive whole.
//!
//! Run: `scripts/kill-soak.sh [N]`.

#[allow(dead_code)]
#[path = "../tests/integration/support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::RngExt;

const ARTICLES: usize = 500;

fn main() {
    let kills_wanted: usize = std::env::var("KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let binary = support::root().join("target/release/gazette");
    assert!(
        binary.exists(),
        "build the release binary first: cargo build --release"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let portal = runtime.block_on(support::TestPortal::start(
        gazette::replay::Recording::synthetic(ARTICLES),
        support::FAST_CRAWL,
    ));
    let config = portal.config_path.to_str().unwrap().to_string();
    let gazette = |args: &[&str]| {
        Command::new(&binary)
            .args(args)
            .output()
            .expect("gazette runs")
    };

    let mut rng = rand::rng();
    let started = Instant::now();
    let archive_dir = portal.dir.path().join("archive");
    let (mut kills, mut cycles) = (0, 0);
    // Cycles of one backfill each, from an empty archive, killed until a run gets to the end.
    while kills < kills_wanted {
        let _ = std::fs::remove_dir_all(&archive_dir);
        cycles += 1;
        let mut cycle_kills = 0;
        loop {
            let mut child = Command::new(&binary)
                .args(["crawl", "--backfill", "--config", &config])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(rng.random_range(20..400)));
            let running = child.try_wait().unwrap().is_none();
            if running {
                child.kill().unwrap();
            }
            child.wait().unwrap();
            if !running {
                break;
            }
            kills += 1;
            cycle_kills += 1;
        }
        check_cycle(&gazette, &config, &archive_dir, cycles, cycle_kills);
    }
    println!(
        "{kills} kills in {cycles} backfills of {ARTICLES} articles, {:.1} s; every backfill ended with every article once and a verified archive",
        started.elapsed().as_secs_f64()
    );
}

/// After a backfill killed `kills` times: every article once, one revision each, verify passes.
fn check_cycle(
    gazette: &dyn Fn(&[&str]) -> std::process::Output,
    config: &str,
    archive_dir: &std::path::Path,
    cycle: usize,
    kills: usize,
) {
    let last = gazette(&["crawl", "--backfill", "--config", config]);
    let summary = String::from_utf8_lossy(&last.stdout);
    let export = gazette(&["export", "--config", config]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let mut ids = HashSet::new();
    let (mut lines, mut extra_revisions) = (0, 0);
    for line in String::from_utf8_lossy(&export.stdout).lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        lines += 1;
        ids.insert(
            entry["archived"]["article"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        extra_revisions += entry["revisions"].as_array().unwrap().len() - 1;
    }
    let verify = gazette(&["verify", "--config", config]);
    let warc_bytes: u64 = std::fs::read_dir(archive_dir.join("warc"))
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    println!(
        "backfill {cycle}: {kills} kills; then {}; {lines} articles, {} ids, {extra_revisions} extra revisions, {warc_bytes} WARC bytes; verify exit {:?}",
        summary.trim(),
        ids.len(),
        verify.status.code()
    );
    assert_eq!(lines, ARTICLES, "every article is there");
    assert_eq!(ids.len(), ARTICLES, "no article twice");
    assert_eq!(extra_revisions, 0, "one revision each");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}
