//! Fixture loading shared by the integration tests: the one place that knows the fixture layout.

use std::path::{Path, PathBuf};

use gazette::config::{self, Config, Source};
use gazette::model::Page;
use url::Url;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(path: &str) -> PathBuf {
    root().join("fixtures").join(path)
}

/// The shipped config, as users get it.
pub fn shipped_config() -> Config {
    let path = root().join("config/gazette.toml");
    config::load(&path).unwrap_or_else(|err| panic!("config/gazette.toml does not load: {err}"))
}

pub fn portal_source(config: &Config) -> &Source {
    config
        .source("bqlkkt")
        .expect("the shipped config has the bqlkkt source")
}

/// One row of `fixtures/portal/manifest.tsv`.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path_and_query: String,
    pub file: String,
    pub content_type: String,
}

pub fn manifest() -> Vec<Recorded> {
    let text = std::fs::read_to_string(fixture("portal/manifest.tsv")).expect("manifest.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 3, "manifest line has 3 columns: {line:?}");
            Recorded {
                path_and_query: cols[0].into(),
                file: cols[1].into(),
                content_type: cols[2].into(),
            }
        })
        .collect()
}

/// A saved page with the address and header it came with.
pub struct SavedPage {
    pub url: Url,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl SavedPage {
    pub fn read(path: &Path, url: &str, content_type: Option<&str>) -> SavedPage {
        let bytes =
            std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        SavedPage {
            url: Url::parse(url).unwrap_or_else(|e| panic!("bad url {url:?}: {e}")),
            content_type: content_type.map(str::to_string),
            bytes,
        }
    }

    pub fn page(&self) -> Page<'_> {
        Page {
            url: &self.url,
            content_type: self.content_type.as_deref(),
            bytes: &self.bytes,
        }
    }
}

/// A recorded portal page at the address the portal serves it under.
pub fn recorded(file: &str) -> SavedPage {
    let row = manifest()
        .into_iter()
        .find(|r| r.file == file)
        .unwrap_or_else(|| panic!("{file} is not in the manifest"));
    let url = format!("https://bqlkkt.kiengiang.gov.vn{}", row.path_and_query);
    SavedPage::read(
        &fixture(&format!("portal/{file}")),
        &url,
        Some(&row.content_type),
    )
}

/// Compares the fields an expectation names with what came out; returns one line per mismatch.
pub fn mismatches(
    name: &str,
    expected: &serde_json::Value,
    actual: &serde_json::Value,
) -> Vec<String> {
    let Some(fields) = expected.as_object() else {
        return vec![format!("{name}: expect is not an object")];
    };
    fields
        .iter()
        .filter_map(|(field, want)| {
            let got = actual.get(field).unwrap_or(&serde_json::Value::Null);
            (got != want).then(|| {
                format!("{name}: field `{field}`\n    expected: {want}\n    got:      {got}")
            })
        })
        .collect()
}
