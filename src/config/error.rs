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

/// The full path (`sources[0].name`) of a key toml refused as set twice, `span` being the second
/// one: the text before its line parses, and the latest table there holding the key is where
/// it stands. None when that cannot be told (a dotted key, say).
pub(super) fn duplicate_key_path(text: &str, span: std::ops::Range<usize>) -> Option<String> {
    let key = text.get(span.clone())?.trim().trim_matches(['"', '\'']);
    let line_start = text.get(..span.start)?.rfind('\n').map_or(0, |i| i + 1);
    let doc = toml_edit::Document::parse(&text[..line_start]).ok()?;
    // Iterative, so a deeply nested file cannot overflow the stack.
    let mut stack = vec![(doc.as_table(), String::new())];
    let mut latest: Option<(usize, String)> = None;
    while let Some((table, path)) = stack.pop() {
        if table.contains_key(key) {
            let at = table.span().map_or(0, |s| s.start);
            if latest.as_ref().is_none_or(|(best, _)| at >= *best) {
                let full = if path.is_empty() {
                    key.to_string()
                } else {
                    format!("{path}.{key}")
                };
                latest = Some((at, full));
            }
        }
        for (name, item) in table.iter() {
            let child = if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            };
            if let Some(sub) = item.as_table() {
                stack.push((sub, child));
            } else if let Some(array) = item.as_array_of_tables() {
                for (i, sub) in array.iter().enumerate() {
                    stack.push((sub, format!("{child}[{i}]")));
                }
            }
        }
    }
    latest.map(|(_, path)| path)
}
