//! A few words of an article around the first match, the matched syllables marked.

use super::analysis::{nfc, syllables};
use super::query::Clause;
use crate::html::escape;
use crate::model::Article;

/// Syllables shown in a snippet.
const WIDTH: usize = 32;
/// Syllables shown before the first match.
const BEFORE: usize = 8;

/// HTML: the escaped text around the first match in the body (else the summary, else the
/// title), each matched syllable in `<mark>`; the summary's start when nothing matches.
pub fn snippet(article: &Article, clauses: &[Clause]) -> String {
    let wanted: Vec<&str> = clauses
        .iter()
        .filter(|c| !c.excluded)
        .flat_map(|c| c.folded.iter().map(String::as_str))
        .collect();
    let texts = [&article.body_text, &article.summary, &article.title];
    for text in texts {
        if let Some(shown) = around_match(text, &wanted) {
            return shown;
        }
    }
    let fallback = if article.summary.is_empty() {
        &article.body_text
    } else {
        &article.summary
    };
    around_match(fallback, &[]).unwrap_or_default()
}

/// The window of `text` around its first syllable in `wanted` (or its start when `wanted` is
/// empty); `None` when nothing matches.
fn around_match(text: &str, wanted: &[&str]) -> Option<String> {
    let text = nfc(text);
    let words = syllables(&text, true);
    let hit = |i: usize| wanted.contains(&words[i].text.as_str());
    let first = if wanted.is_empty() {
        if words.is_empty() {
            return None;
        }
        0
    } else {
        (0..words.len()).find(|&i| hit(i))?
    };
    let start = first.saturating_sub(BEFORE);
    let end = (start + WIDTH).min(words.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut at = words[start].from;
    for (i, word) in words.iter().enumerate().take(end).skip(start) {
        out.push_str(&escape(&one_line(&text[at..word.from])));
        if hit(i) {
            out.push_str("<mark>");
            out.push_str(&escape(&text[word.from..word.to]));
            out.push_str("</mark>");
        } else {
            out.push_str(&escape(&text[word.from..word.to]));
        }
        at = word.to;
    }
    if end < words.len() {
        out.push('…');
    }
    Some(out)
}

/// The text between two words on one line: a snippet is one line whatever the paragraphs.
fn one_line(gap: &str) -> String {
    if !gap.contains(['\n', '\r', '\t']) {
        return gap.to_string();
    }
    let mut out = String::new();
    for (i, part) in gap.split(['\n', '\r', '\t']).enumerate() {
        if i > 0 && !out.ends_with(' ') {
            out.push(' ');
        }
        out.push_str(part.trim_start_matches(' ').trim_end_matches(' '));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matched_syllables_are_marked_and_the_rest_escaped() {
        let shown = around_match("Khu <b> kinh tế Hà Tiên", &["ha", "tien"]).unwrap();
        assert_eq!(
            shown,
            "Khu &lt;b&gt; kinh tế <mark>Hà</mark> <mark>Tiên</mark>"
        );
        assert_eq!(around_match("không có", &["ha"]), None);
        assert_eq!(
            around_match("Hà.\n\nTiên", &["ha"]).unwrap(),
            "<mark>Hà</mark>. Tiên"
        );
    }
}
