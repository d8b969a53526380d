//! A config made from another by setting its fields: what the tests, the benchmarks and the
//! demo start from (the shipped config, pointed at a replay). The fields are set in the parsed
//! TOML document, so comments and layout never matter; the result is read back through
//! [`super::parse`] with every check, or written out for the binary.

use std::net::SocketAddr;
use std::path::Path;

use toml_edit::{Array, DocumentMut, InlineTable, Item, TableLike, Value};
use url::Url;

use super::{Config, ConfigError};

/// The config file shipped as `config/gazette.toml`.
pub const SHIPPED: &str = include_str!("../../config/gazette.toml");

/// A config document whose fields are being set.
#[derive(Debug, Clone)]
pub struct ConfigEdit {
    doc: DocumentMut,
}

impl ConfigEdit {
    /// The shipped config, as users get it.
    pub fn shipped() -> ConfigEdit {
        ConfigEdit::parse(SHIPPED).expect("config/gazette.toml is TOML")
    }

    /// Any config text; only its TOML syntax is checked here, the rest by [`ConfigEdit::config`].
    pub fn parse(text: &str) -> Result<ConfigEdit, toml_edit::TomlError> {
        Ok(ConfigEdit { doc: text.parse()? })
    }

    /// Where `serve` listens.
    pub fn listen(&mut self, addr: SocketAddr) -> &mut ConfigEdit {
        self.set(&["server", "listen"], addr.to_string())
    }

    /// The base of the links feeds and the API write.
    pub fn public_url(&mut self, url: &str) -> &mut ConfigEdit {
        self.set(&["server", "public_url"], url)
    }

    /// `[storage] path`.
    pub fn storage_path(&mut self, path: &Path) -> &mut ConfigEdit {
        self.set(&["storage", "path"], path.display().to_string())
    }

    /// One key of `[crawler]`, added when the document does not spell it out.
    pub fn crawler(&mut self, key: &str, value: impl Into<Value>) -> &mut ConfigEdit {
        self.set(&["crawler", key], value)
    }

    /// Every source crawled from `base` instead of its portal: `base_url`, and `allowed_hosts`
    /// its host (`base_url`'s port is allowed with it).
    pub fn sources_at(&mut self, base: &Url) -> &mut ConfigEdit {
        let host = base.host_str().unwrap_or_default().to_string();
        for source in self.sources() {
            set_in(source, &["base_url"], base.as_str().into());
            set_in(
                source,
                &["allowed_hosts"],
                Array::from_iter([host.as_str()]).into(),
            );
        }
        self
    }

    /// A key of the source `id`: `path` names it within the source (`["schedule"]`,
    /// `["article", "category"]`). Nothing changes when there is no such source.
    pub fn source(&mut self, id: &str, path: &[&str], value: impl Into<Value>) -> &mut ConfigEdit {
        let value = value.into();
        for source in self.sources() {
            if source.get("id").and_then(Item::as_str) == Some(id) {
                set_in(source, path, value.clone());
            }
        }
        self
    }

    /// The document as TOML, for a config file.
    pub fn to_toml(&self) -> String {
        self.doc.to_string()
    }

    /// The typed config, through every check of a config file; `file` names it in errors.
    pub fn config(&self, file: &str) -> Result<Config, ConfigError> {
        super::parse(&self.to_toml(), file)
    }

    /// Sets the key at `path` from the document's top.
    pub fn set(&mut self, path: &[&str], value: impl Into<Value>) -> &mut ConfigEdit {
        set_in(self.doc.as_table_mut(), path, value.into());
        self
    }

    /// Removes the key at `path` from the document's top, if it is there.
    pub fn remove(&mut self, path: &[&str]) -> &mut ConfigEdit {
        if let Some((last, tables)) = path.split_last() {
            let mut table: Option<&mut dyn TableLike> = Some(self.doc.as_table_mut());
            for name in tables {
                table = table.and_then(|t| t.get_mut(name)?.as_table_like_mut());
            }
            if let Some(table) = table {
                table.remove(last);
            }
        }
        self
    }

    fn sources(&mut self) -> impl Iterator<Item = &mut dyn TableLike> {
        self.doc
            .get_mut("sources")
            .and_then(Item::as_array_of_tables_mut)
            .into_iter()
            .flat_map(|sources| sources.iter_mut())
            .map(|source| source as &mut dyn TableLike)
    }
}

/// Sets `value` at `path` below `table`. A table missing on the way is made (inline, which
/// fits in a table and in an inline table alike); a value standing where a table should is
/// replaced by one. `path` comes from code, never from input: its length bounds the descent.
fn set_in(table: &mut dyn TableLike, path: &[&str], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        table.insert(first, Item::Value(value));
        return;
    }
    let is_table = table
        .get_mut(first)
        .is_some_and(|item| item.as_table_like_mut().is_some());
    if !is_table {
        table.insert(first, Item::Value(Value::InlineTable(InlineTable::new())));
    }
    if let Some(inner) = table.get_mut(first).and_then(Item::as_table_like_mut) {
        set_in(inner, rest, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_fields_are_read_back_and_the_rest_is_the_shipped_config() {
        let base = Url::parse("http://127.0.0.1:4321/").unwrap();
        let mut edit = ConfigEdit::shipped();
        edit.listen("127.0.0.1:9999".parse().unwrap())
            .storage_path(Path::new("/tmp/a b/archive"))
            .crawler("min_delay_ms", 0)
            .crawler("recheck_days", 7)
            .sources_at(&base)
            .source("bqlkkt", &["article", "category"], "h1")
            .set(&["storage", "cache_capacity"], 1024);
        let config = edit.config("edited").unwrap();
        let shipped = super::super::parse(SHIPPED, "shipped").unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:9999");
        assert_eq!(config.storage.path, Path::new("/tmp/a b/archive"));
        assert_eq!(config.crawler.min_delay_ms, 0);
        assert_eq!(config.crawler.recheck_days, 7);
        assert_eq!(config.storage.cache_capacity, 1024);
        assert_eq!(config.crawler.timeout_secs, shipped.crawler.timeout_secs);
        let source = config.source("bqlkkt").unwrap();
        assert_eq!(source.base_url().as_str(), base.as_str());
        assert!(
            source.hosts().to_string().contains("127.0.0.1"),
            "{}",
            source.hosts()
        );
        assert_eq!(source.article.category.as_ref().unwrap().as_str(), "h1");
        assert_eq!(
            source.article.body.as_str(),
            shipped.sources[0].article.body.as_str()
        );
    }

    #[test]
    fn tables_are_made_where_missing_and_inline_tables_are_kept() {
        let text = "[[sources]]\nid = \"a\"\narticle = { title = \"h1\" }\n";
        let mut edit = ConfigEdit::parse(text).unwrap();
        edit.source("a", &["article", "body"], "main")
            .source("a", &["list", "item"], "li")
            .source("b", &["name"], "never")
            .crawler("retries", 1);
        let doc: DocumentMut = edit.to_toml().parse().unwrap();
        let source = &doc["sources"][0];
        assert_eq!(source["article"]["title"].as_str(), Some("h1"));
        assert_eq!(source["article"]["body"].as_str(), Some("main"));
        assert_eq!(source["list"]["item"].as_str(), Some("li"));
        assert!(source.get("name").is_none());
        assert_eq!(doc["crawler"]["retries"].as_integer(), Some(1));
    }
}
