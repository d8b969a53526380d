//! Config errors, and finding the line a key stands on.

use thiserror::Error;

/// What is wrong with a config file, said so a person can fix it.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{file}: cannot read the config file: {cause}")]
    Read { file: String, cause: std::io::Error },
    #[error("{}", located(file, *line, key, message))]
    Invalid {
        file: String,
        /// 1-based; a fault of the whole file is on line 1.
        line: usize,
        key: String,
        message: String,
    },
}

/// `file:line: key: message` on one line, whatever line breaks the message came with.
fn located(file: &str, line: usize, key: &str, message: &str) -> String {
    let place = format!("{file}:{line}");
    let message = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if key.is_empty() {
        format!("{place}: {message}")
    } else {
        format!("{place}: {key}: {message}")
    }
}

/// 1-based line number of a byte offset.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    line_of_bytes(text.as_bytes(), offset)
}

/// 1-based line number of a byte offset in bytes that may not be text.
pub(super) fn line_of_bytes(bytes: &[u8], offset: usize) -> usize {
    let end = offset.min(bytes.len());
    bytes[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The span of a key path such as `sources[0].sections[1].id` in the document, or of the
/// nearest enclosing key when the key itself is absent.
pub(super) fn span_of(text: &str, path: &str) -> Option<std::ops::Range<usize>> {
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut span = None;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let Some((key, item)) = table.get_key_value(name) else {
            return span;
        };
        span = key.span().or(span.clone());
        let next: Option<&dyn toml_edit::TableLike> = match index {
            Some(index) => item
                .as_array_of_tables()
                .and_then(|a| a.get(index))
                .map(|t| {
                    span = t.span().or(span.clone());
                    t as &dyn toml_edit::TableLike
                }),
            None => item.as_table_like(),
        };
        match next {
            Some(next) => table = next,
            None => return span,
        }
    }
    span
}
