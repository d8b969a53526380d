//! A deterministic companion to `benches/extract.rs` for noisy machines: run one side a fixed
//! number of times under callgrind and compare instruction counts, which do not depend on load.
//!
//! ```sh
//! cargo bench --bench extract_instructions --no-run
//! B=$(ls -t target/release/deps/extract_instructions-* | grep -v '\.d$' | head -1)
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/parse.out $B parse
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/full.out $B full
//! ```
//! The totals are in each file's `summary:` line (or `callgrind_annotate FILE | head`).

use std::path::PathBuf;

use gazette::model::Page;
use url::Url;

const ARTICLES: &[&str] = &[
    "article-1180",
    "article-1190",
    "article-1211",
    "article-1225",
    "article-1229",
    "article-1234",
    "article-1236",
    "article-1238",
    "article-1240",
];
const ROUNDS: usize = 20;

fn main() {
    let side = std::env::args().nth(1).unwrap_or_default();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = gazette::config::load(&root.join("config/gazette.toml")).expect("shipped config");
    let source = config.source("bqlkkt").expect("bqlkkt source");
    let pages: Vec<(Url, Vec<u8>)> = ARTICLES
        .iter()
        .map(|name| {
            let id = name.trim_start_matches("article-");
            let url =
                format!("https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID={id}");
            (
                Url::parse(&url).unwrap(),
                std::fs::read(root.join(format!("fixtures/portal/{name}.html"))).unwrap(),
            )
        })
        .collect();
    let mut work = 0usize;
    for _ in 0..ROUNDS {
        for (url, bytes) in &pages {
            match side.as_str() {
                "parse" => {
                    let text = String::from_utf8_lossy(bytes);
                    work += scraper::Html::parse_document(&text).tree.nodes().count();
                }
                "full" => {
                    let page = Page {
                        url,
                        content_type: None,
                        bytes,
                    };
                    work += gazette::read_article(&page, source, "tin-ban-quan-ly")
                        .unwrap()
                        .body_text
                        .len();
                }
                _ => {
                    eprintln!("usage: extract_instructions parse|full");
                    std::process::exit(2);
                }
            }
        }
    }
    println!("{side}: {} pages, checksum {work}", ROUNDS * pages.len());
}
