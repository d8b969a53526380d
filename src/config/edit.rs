//! A config made from another by setting its fields: what the tests, the benchmarks and the
//! demo start from (the shipped config, pointed at a replay). The fields are set in the parsed
//! TOML document, so comments and layout never matter; the result is read back through
//! [`super::parse`] with every check, or written out for the binary.

use std::net::SocketAddr;
use std::path::Path;

use toml_edit::{Array, DocumentMut, Item, Value};
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
        self.table("server")["listen"] = toml_edit::value(addr.to_string());
        self
    }

    /// The base of the links feeds and the API write.
    pub fn public_url(&mut self, url: &str) -> &mut ConfigEdit {
        self.table("server")["public_url"] = toml_edit::value(url);
        self
    }

    /// `[storage] path`.
    pub fn storage_path(&mut self, path: &Path) -> &mut ConfigEdit {
        self.table("storage")["path"] = toml_edit::value(path.display().to_string());
        self
    }

    /// One key of `[crawler]`, added when the document does not spell it out.
    pub fn crawler(&mut self, key: &str, value: impl Into<Value>) -> &mut ConfigEdit {
        self.table("crawler")[key] = Item::Value(value.into());
        self
    }

    /// Every source crawled from `base` instead of its portal: `base_url`, and `allowed_hosts`
    /// its host (`base_url`'s port is allowed with it).
    pub fn sources_at(&mut self, base: &Url) -> &mut ConfigEdit {
        let host = base.host_str().unwrap_or_default().to_string();
        for source in self.sources() {
            source["base_url"] = toml_edit::value(base.as_str());
            source["allowed_hosts"] = toml_edit::value(Array::from_iter([host.as_str()]));
        }
        self
    }

    /// A key of the source `id`: `path` names it within the source (`["schedule"]`,
    /// `["article", "category"]`). Nothing changes when there is no such source.
    pub fn source(&mut self, id: &str, path: &[&str], value: impl Into<Value>) -> &mut ConfigEdit {
        let Some((last, tables)) = path.split_last() else {
            return self;
        };
        let value = value.into();
        for source in self.sources() {
            if source.get("id").and_then(Item::as_str) != Some(id) {
                continue;
            }
            let mut table = source;
            for name in tables {
                table = table
                    .entry(name)
                    .or_insert_with(toml_edit::table)
                    .as_table_mut()
                    .expect("a source's sub-table is a table");
            }
            table[*last] = Item::Value(value.clone());
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

    fn table(&mut self, name: &str) -> &mut toml_edit::Table {
        self.doc
            .entry(name)
            .or_insert_with(toml_edit::table)
            .as_table_mut()
            .expect("a top-level config section is a table")
    }

    fn sources(&mut self) -> impl Iterator<Item = &mut toml_edit::Table> {
        self.doc
            .get_mut("sources")
            .and_then(Item::as_array_of_tables_mut)
            .into_iter()
            .flat_map(|sources| sources.iter_mut())
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
            .source("bqlkkt", &["article", "category"], "h1");
        let config = edit.config("edited").unwrap();
        let shipped = super::super::parse(SHIPPED, "shipped").unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:9999");
        assert_eq!(config.storage.path, Path::new("/tmp/a b/archive"));
        assert_eq!(config.crawler.min_delay_ms, 0);
        assert_eq!(config.crawler.recheck_days, 7);
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
}
