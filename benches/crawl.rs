//! Crawl and archive figures for BENCHMARKS.md (not a timed test):
//! - crawl throughput of `gazette crawl --backfill` (release binary, its own process) against a
//!   local synthetic portal, politeness off, versus a plain concurrent fetch of the same URLs with
//!   the same HTTP client settings (the network floor);
//! - peak resident memory of that crawl;
//! - archive ingest (articles/s into sled) and bytes on disk per article against the
//!   zstd-compressed page alone.
//!
//! Run: `cargo build --release && cargo bench --bench crawl` (ARTICLES=10000 by default; KEEP=DIR
//! keeps the crawl's archive there;
//! WRAP="heaptrack -o FILE" runs the crawl under that command).

#[path = "support/mod.rs"]
mod support;

use gazette::archive::prelude::*;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gazette::archive::{Archive, SledArchive};

use gazette::replay::{Recording, ReplayServer};
use url::Url;

const CONCURRENCY: usize = 8;

fn main() {
    let articles = support::setting("ARTICLES", 10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(articles));
}

async fn run(articles: usize) {
    let recording = Recording::synthetic(articles);
    let server = ReplayServer::start(recording.clone()).await.unwrap();
    let base = server.base_url();
    let dir = tempfile::tempdir().unwrap();
    println!(
        "synthetic portal: {articles} articles, {} list pages, served at {base}",
        articles.div_ceil(10)
    );

    // The network floor: every list page and article page, fetched concurrently, bodies read.
    let mut urls: Vec<Url> = (1..=articles.div_ceil(10))
        .map(|p| {
            base.join(&format!("/Pages/tin-ban-quan-ly.aspx?Page={p}"))
                .unwrap()
        })
        .collect();
    urls.extend((1..=articles).map(|k| {
        base.join(&format!("/Pages/chi-tiet-tin.aspx?ItemID={}", 100_000 + k))
            .unwrap()
    }));
    let client = reqwest::Client::builder()
        .gzip(true)
        .brotli(true)
        .build()
        .unwrap();
    let started = Instant::now();
    let bytes: usize = futures_util::stream::iter(urls.iter().cloned())
        .map(|url| {
            let client = client.clone();
            async move {
                client
                    .get(url)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap()
                    .len()
            }
        })
        .buffer_unordered(CONCURRENCY)
        .fold(0, |a, b| async move { a + b })
        .await;
    let floor = started.elapsed();
    let pages = urls.len();
    println!(
        "network floor: {pages} pages, {:.1} MB in {:.2}s = {:.0} pages/s",
        bytes as f64 / 1e6,
        floor.as_secs_f64(),
        pages as f64 / floor.as_secs_f64()
    );

    // The real crawl, in its own process, so its peak memory is its own.
    let archive_path = dir.path().join("archive");
    let mut edit = gazette::config::ConfigEdit::shipped();
    edit.sources_at(&base)
        .storage_path(&archive_path)
        .crawler("min_delay_ms", 0)
        .crawler("respect_robots_txt", false)
        .crawler("max_concurrency_per_host", CONCURRENCY as i64)
        .source("bqlkkt", &["list", "max_pages"], 100_000);
    if let Some(bytes) = std::env::var("CACHE_CAPACITY")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
    {
        edit.set(&["storage", "cache_capacity"], bytes);
    }
    let config = edit.to_toml();
    let config_path = dir.path().join("gazette.toml");
    std::fs::write(&config_path, config).unwrap();
    let binary = support::root().join("target/release/gazette");
    assert!(
        binary.exists(),
        "build the release binary first: cargo build --release"
    );
    let started = Instant::now();
    let status = tokio::process::Command::new("/usr/bin/time")
        .args(["-f", "%M %U %S", "-o"])
        .arg(dir.path().join("rss"))
        // WRAP="heaptrack -o FILE" (say) runs the crawl under a profiler.
        .args(std::env::var("WRAP").unwrap_or_default().split_whitespace())
        .arg(&binary)
        .args(["crawl", "--backfill", "--config"])
        .arg(&config_path)
        .stdout(std::process::Stdio::piped())
        .output()
        .await
        .expect("/usr/bin/time runs (Debian package `time`)");
    let crawl = started.elapsed();
    print!("{}", String::from_utf8_lossy(&status.stdout));
    let usage = std::fs::read_to_string(dir.path().join("rss")).unwrap();
    let fields: Vec<f64> = usage
        .trim()
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    let (peak_kib, cpu) = (fields[0], fields[1] + fields[2]);
    println!(
        "gazette crawl --backfill: {:.2}s = {:.0} pages/s, {:.0}% of the floor; {:.2}s CPU ({:.2} ms a page); peak RSS {:.1} MiB",
        crawl.as_secs_f64(),
        pages as f64 / crawl.as_secs_f64(),
        100.0 * floor.as_secs_f64() / crawl.as_secs_f64(),
        cpu,
        1000.0 * cpu / pages as f64,
        peak_kib / 1024.0
    );
    let per_article =
        |path: &std::path::Path| support::bytes_under(path) as f64 / articles as f64 / 1024.0;
    let (index, warc) = (
        per_article(&archive_path.join("db")),
        per_article(&archive_path.join("warc")),
    );
    println!(
        "the crawl's archive: {:.2} KiB on disk per article (sled {index:.2} + WARC {warc:.2}); its search index (derived, apart): {:.2} KiB",
        index + warc,
        per_article(&archive_path.join("search")),
    );

    ingest(&recording, articles, dir.path());
    if let Ok(keep) = std::env::var("KEEP") {
        std::fs::rename(&archive_path, &keep).unwrap();
        println!("kept the crawl's archive at {keep}");
    }
}

/// Articles per second into sled, and bytes on disk, with the articles extracted beforehand.
fn ingest(recording: &Recording, articles: usize, dir: &std::path::Path) {
    let config = gazette::config::load(&support::root().join("config/gazette.toml")).unwrap();
    let source = config.source("bqlkkt").unwrap();
    let now = chrono::Utc::now().fixed_offset();
    let mut prepared = Vec::with_capacity(articles);
    let mut compressed = 0usize;
    for k in 1..=articles {
        let ingest = support::synthetic_ingest(recording, source, k, now);
        compressed += support::floor_bytes(&ingest);
        prepared.push((ingest.article, ingest.capture));
    }
    let storage = gazette::config::StorageConfig {
        path: dir.join("ingest"),
        ..gazette::config::StorageConfig::default()
    };
    let archive = SledArchive::open(&storage).unwrap();
    let started = Instant::now();
    for (article, capture) in &prepared {
        archive.store(article, capture, now).unwrap();
    }
    archive.flush().unwrap();
    let elapsed = started.elapsed().max(Duration::from_micros(1));
    let on_disk = archive.size_on_disk().unwrap();
    println!(
        "archive ingest: {articles} articles in {:.2}s = {:.0} articles/s; {:.2} KiB on disk per article (floor: the page and the article JSON, zstd-3: {:.2} KiB)",
        elapsed.as_secs_f64(),
        articles as f64 / elapsed.as_secs_f64(),
        on_disk as f64 / articles as f64 / 1024.0,
        compressed as f64 / articles as f64 / 1024.0
    );
}
