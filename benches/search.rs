//! Search figures for BENCHMARKS.md (not a timed test), on the synthetic portal's articles,
//! extracted and archived beforehand:
//! - full reindex time (every article read from the archive and indexed);
//! - index size on disk per article;
//! - query latency p50 and p95 for one-word, two-word and phrase queries, toned and toneless,
//!   20 results each read back from the archive with their snippets (what `/api/search` does).
//!
//! Run: `cargo bench --bench search` (ARTICLES=100000, ROUNDS=20 by default).

#[path = "support/mod.rs"]
mod support;

use gazette::archive::prelude::*;
use std::path::Path;
use std::time::{Duration, Instant};

use gazette::archive::SledArchive;
use gazette::config::StorageConfig;
use gazette::replay::Recording;
use gazette::search::{Request, SearchIndex};

const ONE_WORD: &[&str] = &[
    "hội",
    "tien",
    "doanh",
    "khảo",
    "moi",
    "trường",
    "phu",
    "quốc",
    "dau",
    "thạnh",
];
const TWO_WORDS: &[&str] = &[
    "ha tien",
    "Hà Tiên",
    "dau tu",
    "đầu tư",
    "phong chay",
    "giải phóng",
    "doanh nghiep",
    "thuận yên",
    "hạ tầng",
    "bao ve",
];
const PHRASES: &[&str] = &[
    "\"khu kinh te cua khau\"",
    "\"Khu kinh tế Phú Quốc\"",
    "\"xuc tien dau tu\"",
    "\"bảo vệ môi trường\"",
    "\"cửa khẩu Giang Thành\"",
    "\"giai phong mat bang\"",
    "\"nhà đầu tư\"",
    "\"khu cong nghiep thanh loc\"",
    "\"hội nghị triển khai\"",
    "\"phòng cháy, chữa cháy\"",
];

fn size_of(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at]
}

fn main() {
    let articles = support::setting("ARTICLES", 100_000);
    let rounds = support::setting("ROUNDS", 20).max(1);
    let recording = Recording::synthetic(articles);
    let config = gazette::config::load(&support::root().join("config/gazette.toml")).unwrap();
    let source = config.source("bqlkkt").unwrap();
    let now = chrono::Utc::now().fixed_offset();
    let dir = tempfile::tempdir().unwrap();
    let archive = SledArchive::open(&StorageConfig {
        path: dir.path().join("archive"),
        ..StorageConfig::default()
    })
    .unwrap();
    let started = Instant::now();
    let mut batch = Vec::new();
    for k in 1..=articles {
        batch.push(support::synthetic_ingest(&recording, source, k, now));
        if batch.len() == 1000 || k == articles {
            archive.store_many(std::mem::take(&mut batch)).unwrap();
        }
    }
    eprintln!(
        "archived {articles} synthetic articles in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let index_dir = dir.path().join("archive").join("search");
    let started = Instant::now();
    let (index, indexed) = SearchIndex::rebuild(&index_dir, &archive).unwrap();
    let reindex = started.elapsed();
    assert_eq!(indexed, articles);
    let bytes = size_of(&index_dir);
    println!("articles: {articles}");
    println!(
        "full reindex: {:.1} s ({:.0} articles/s)",
        reindex.as_secs_f64(),
        articles as f64 / reindex.as_secs_f64()
    );
    println!(
        "index size: {:.1} MiB, {:.0} bytes per article",
        bytes as f64 / (1 << 20) as f64,
        bytes as f64 / articles as f64
    );
    for (name, queries) in [
        ("one word", ONE_WORD),
        ("two words", TWO_WORDS),
        ("phrase", PHRASES),
    ] {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..rounds {
            for text in queries {
                let request = Request {
                    text: text.to_string(),
                    limit: 20,
                    ..Request::default()
                };
                let started = Instant::now();
                let page = index.search(&archive, &request).unwrap();
                times.push(started.elapsed());
                found += page.hits.len();
            }
        }
        times.sort();
        println!(
            "{name}: {} queries, p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms ({:.1} results a query)",
            times.len(),
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.95).as_secs_f64() * 1e3,
            times.last().unwrap().as_secs_f64() * 1e3,
            found as f64 / times.len() as f64
        );
    }
}
