//! Search figures for BENCHMARKS.md (not a timed test), on the synthetic portal's articles,
//! extracted and archived beforehand:
//! - full reindex time (every article read from the archive and indexed);
//! - index size on disk per article;
//! - query latency p50 and p95 for one-word, two-word and phrase queries, toned and toneless,
//!   20 results each read back from the archive with their snippets (what `/api/search` does),
//!   ranked with the syllable pairs and by the words alone;
//! - mean nDCG@10 of the judged query set (`fixtures/search/judged.toml`) over the recorded
//!   portal and over the synthetic articles, with the pairs and by the words alone.
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
use gazette::search::judged::{self, Corpus, JudgedSet};
use gazette::search::{Ranking, Request, SearchIndex};

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

/// Mean nDCG@10 of the `corpus` queries of `set` over `archive` and its `index`, with the pairs
/// and by the words alone, and how many queries.
fn ndcg(
    set: &JudgedSet,
    corpus: Corpus,
    index: &SearchIndex,
    archive: &dyn Archive,
) -> (f64, f64, usize) {
    let queries = set.over(corpus);
    let grades = judged::judge(&queries, archive).unwrap();
    let mut sums = [0.0, 0.0];
    for (query, grades) in queries.iter().zip(&grades) {
        for (sum, ranking) in sums.iter_mut().zip([Ranking::Pairs, Ranking::Words]) {
            *sum += judged::score(index, archive, query, grades, ranking)
                .unwrap()
                .unwrap_or_else(|| panic!("{:?}: nothing relevant", query.text));
        }
    }
    let n = queries.len() as f64;
    (sums[0] / n, sums[1] / n, queries.len())
}

/// The recorded portal's nine articles, archived and indexed in `dir`.
fn portal(dir: &Path, source: &gazette::config::Source) -> (SledArchive, SearchIndex) {
    let recording = Recording::bundled().unwrap();
    let archive = SledArchive::open(&StorageConfig {
        path: dir.join("archive"),
        ..StorageConfig::default()
    })
    .unwrap();
    let now = chrono::Utc::now().fixed_offset();
    let ingests = [1180, 1190, 1211, 1225, 1229, 1234, 1236, 1238, 1240]
        .map(|id| {
            let path = format!("/Pages/chi-tiet-tin.aspx?ItemID={id}");
            support::ingest(&recording, source, &path, now)
        })
        .to_vec();
    archive.store_many(ingests).unwrap();
    let (index, indexed) = SearchIndex::rebuild(&dir.join("archive/search"), &archive).unwrap();
    assert_eq!(indexed, 9);
    (archive, index)
}

fn main() {
    let articles = support::setting("ARTICLES", 100_000);
    let rounds = support::setting("ROUNDS", 20).max(1);
    let recording = Recording::synthetic(articles);
    let config = gazette::config::load(&support::root().join("config/gazette.toml")).unwrap();
    let source = config.source("bqlkkt").unwrap();
    let now = chrono::Utc::now().fixed_offset();
    let set = JudgedSet::load(&support::root().join("fixtures/search/judged.toml")).unwrap();
    let portal_dir = tempfile::tempdir().unwrap();
    let (portal_archive, portal_index) = portal(portal_dir.path(), source);
    let (pairs, words, queries) = ndcg(&set, Corpus::Portal, &portal_index, &portal_archive);
    println!(
        "nDCG@10, recorded portal, {queries} queries: {pairs:.3} with the pairs, {words:.3} by the words alone"
    );
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
    let started = Instant::now();
    let (pairs, words, queries) = ndcg(&set, Corpus::Synthetic, &index, &archive);
    println!(
        "nDCG@10, {articles} synthetic articles, {queries} queries: {pairs:.3} with the pairs, \
         {words:.3} by the words alone ({:.1} s to judge and search)",
        started.elapsed().as_secs_f64()
    );
    for (name, queries, ranking) in [
        ("one word", ONE_WORD, Ranking::Pairs),
        ("two words", TWO_WORDS, Ranking::Pairs),
        ("phrase", PHRASES, Ranking::Pairs),
        ("two words, by the words alone", TWO_WORDS, Ranking::Words),
        ("phrase, by the words alone", PHRASES, Ranking::Words),
    ] {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..rounds {
            for text in queries {
                let request = Request {
                    text: text.to_string(),
                    limit: 20,
                    ranking,
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
