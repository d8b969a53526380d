//! Archive figures for BENCHMARKS.md (not a timed test), on the synthetic portal's articles,
//! extracted beforehand:
//! - ingest through the batch path (`store_many`, groups of `BATCH`) and through concurrent
//!   callers of `store` (`CALLERS` threads), articles/s: each answer means synced and flushed;
//! - bytes on disk per article (sled index + WARC files) against the floor: the page and the
//!   article JSON, each zstd-3 compressed.
//!
//! Run: `cargo bench --bench archive` (ARTICLES=10000, BATCH=1000, CALLERS=16 by default;
//! CALLERS=0 measures the batch path alone).

#[path = "support/mod.rs"]
mod support;

use gazette::archive::prelude::*;
use std::sync::Arc;
use std::time::Instant;

use gazette::archive::SledArchive;
use gazette::config::StorageConfig;
use gazette::replay::Recording;

fn main() {
    let articles = support::setting("ARTICLES", 10_000);
    let batch = support::setting("BATCH", 1000).max(1);
    let callers = support::setting("CALLERS", 16);
    let recording = Recording::synthetic(articles);
    let config = gazette::config::load(&support::root().join("config/gazette.toml")).unwrap();
    let source = config.source("bqlkkt").unwrap();
    let now = chrono::Utc::now().fixed_offset();
    let mut prepared = Vec::with_capacity(articles);
    let mut floor = 0usize;
    for k in 1..=articles {
        let ingest = support::synthetic_ingest(&recording, source, k, now);
        floor += support::floor_bytes(&ingest);
        prepared.push(ingest);
    }
    let dir = tempfile::tempdir().unwrap();
    let open = |name: &str| {
        SledArchive::open(&StorageConfig {
            path: dir.path().join(name),
            ..StorageConfig::default()
        })
        .unwrap()
    };

    let archive = open("batched");
    let started = Instant::now();
    for group in prepared.chunks(batch) {
        archive.store_many(group.to_vec()).unwrap();
    }
    let elapsed = started.elapsed();
    let on_disk = archive.size_on_disk().unwrap();
    println!(
        "store_many ({batch} a call): {articles} articles in {:.2}s = {:.0} articles/s; {:.2} KiB on disk per article (sled + WARC); floor (zstd-3 page + zstd-3 article JSON) {:.2} KiB; {:.3}x the floor",
        elapsed.as_secs_f64(),
        articles as f64 / elapsed.as_secs_f64(),
        on_disk as f64 / articles as f64 / 1024.0,
        floor as f64 / articles as f64 / 1024.0,
        on_disk as f64 / floor as f64
    );
    drop(archive);
    if let Ok(keep) = std::env::var("KEEP") {
        let from = dir.path().join("batched");
        std::fs::rename(&from, &keep).unwrap();
        println!("kept the batched archive at {keep}");
    }

    if callers == 0 {
        return;
    }
    let archive = Arc::new(open("concurrent"));
    let prepared = Arc::new(prepared);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for caller in 0..callers {
            let (archive, prepared) = (archive.clone(), prepared.clone());
            scope.spawn(move || {
                for item in prepared.iter().skip(caller).step_by(callers) {
                    archive
                        .store(&item.article, &item.capture, item.fetched_at)
                        .unwrap();
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let on_disk = archive.size_on_disk().unwrap();
    println!(
        "store from {callers} threads (one article a call): {articles} articles in {:.2}s = {:.0} articles/s; {:.2} KiB on disk per article; {:.3}x the floor",
        elapsed.as_secs_f64(),
        articles as f64 / elapsed.as_secs_f64(),
        on_disk as f64 / articles as f64 / 1024.0,
        on_disk as f64 / floor as f64
    );
}
