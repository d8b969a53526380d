//! Any bytes, under any of a few Content-Types, read as an article and as a list page of the
//! shipped config's source: extraction must answer or refuse, never panic or hang.

#![no_main]

use std::sync::LazyLock;

use gazette::config::Config;
use gazette::model::Page;
use libfuzzer_sys::fuzz_target;
use url::Url;

static CONFIG: LazyLock<Config> = LazyLock::new(|| {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/gazette.toml");
    gazette::config::load(std::path::Path::new(path)).expect("the shipped config loads")
});

static URL: LazyLock<Url> = LazyLock::new(|| {
    Url::parse("https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID=1").expect("a URL")
});

/// The first input byte picks how the page was served.
const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("text/html"),
    Some("text/html; charset=utf-8"),
    Some("text/html; charset=windows-1258"),
    Some("text/html; charset=shift_jis"),
    Some("text/plain"),
    Some("image/png"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let source = CONFIG.source("bqlkkt").expect("the shipped source");
    let page = Page {
        url: &URL,
        content_type: CONTENT_TYPES[usize::from(pick) % CONTENT_TYPES.len()],
        bytes,
    };
    let _ = gazette::read_article(&page, source, "tin-ban-quan-ly");
    let _ = gazette::read_list(&page, source);
});
