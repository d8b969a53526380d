//! Extraction speed on the recorded article pages, against html5ever parsing the same pages
//! (the floor: extraction cannot be faster than one parse). Run: `cargo bench --bench extract`.

#[path = "support/mod.rs"]
mod support;

use gazette::config::{self, Config};
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

fn main() {
    divan::main();
}

fn config() -> Config {
    config::load(&support::root().join("config/gazette.toml")).expect("shipped config loads")
}

fn page_bytes(name: &str) -> Vec<u8> {
    std::fs::read(support::root().join(format!("fixtures/portal/{name}.html")))
        .expect("fixture page")
}

fn url(name: &str) -> Url {
    let id = name.trim_start_matches("article-");
    Url::parse(&format!(
        "https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID={id}&l=TinBanQuanLy"
    ))
    .unwrap()
}

/// The floor: html5ever building the tree of the page, nothing else.
#[divan::bench(args = ARTICLES)]
fn parse_only(bencher: divan::Bencher, name: &str) {
    let bytes = page_bytes(name);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    bencher.bench(|| scraper::Html::parse_document(divan::black_box(&text)));
}

/// Everything `gazette extract` does to a page: decode, parse, select, clean, normalise.
#[divan::bench(args = ARTICLES)]
fn full_extraction(bencher: divan::Bencher, name: &str) {
    let config = config();
    let source = config.source("bqlkkt").unwrap();
    let bytes = page_bytes(name);
    let url = url(name);
    let content_type = if name == "article-1180" {
        "text/html"
    } else {
        "text/html; charset=utf-8"
    };
    bencher.bench(|| {
        let page = Page {
            url: &url,
            content_type: Some(content_type),
            bytes: divan::black_box(&bytes),
        };
        gazette::read_article(&page, source, "tin-ban-quan-ly").expect("fixture extracts")
    });
}
