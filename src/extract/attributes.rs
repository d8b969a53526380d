//! Cutting the attributes of a tag past a count, before the tokenizer sees them: html5ever
//! checks each new attribute against all the tag's earlier ones, so one tag with a hundred
//! thousand attributes takes seconds.
//!
//! This is a small tag scanner in the manner of the HTML tokenizer (tags, quoted values,
//! comments, raw text of `<script>` and its kind); where it reads a page differently from
//! html5ever the only effect is that a tag keeps more or fewer attributes.

use std::borrow::Cow;

/// Elements whose content is raw text in HTML: no tags inside until their end tag.
const RAW_TEXT: &[&[u8]] = &[
    b"script",
    b"style",
    b"xmp",
    b"iframe",
    b"noembed",
    b"noframes",
    b"noscript",
    b"title",
    b"textarea",
];

/// HTML start tags that end SVG or MathML content: raw-text elements count again after them.
const BREAKOUT: &[&[u8]] = &[
    b"b",
    b"big",
    b"blockquote",
    b"body",
    b"br",
    b"center",
    b"code",
    b"dd",
    b"div",
    b"dl",
    b"dt",
    b"em",
    b"embed",
    b"h1",
    b"h2",
    b"h3",
    b"h4",
    b"h5",
    b"h6",
    b"head",
    b"hr",
    b"i",
    b"img",
    b"li",
    b"listing",
    b"menu",
    b"meta",
    b"nobr",
    b"ol",
    b"p",
    b"pre",
    b"ruby",
    b"s",
    b"small",
    b"span",
    b"strong",
    b"strike",
    b"sub",
    b"sup",
    b"table",
    b"tt",
    b"u",
    b"ul",
    b"var",
];

/// `text` with every tag's attributes past `max` removed; true when something was removed.
pub fn limit(text: &str, max: usize) -> (Cow<'_, str>, bool) {
    let bytes = text.as_bytes();
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    let mut at = 0;
    // Open `<svg>` and `<math>` elements: inside them `<script>` and its kind are not raw text.
    let mut foreign = 0usize;
    let named = |name: &[u8], list: &[&[u8]]| list.iter().any(|n| n.eq_ignore_ascii_case(name));
    while let Some(offset) = memchr::memchr(b'<', &bytes[at..]) {
        let lt = at + offset;
        let rest = &bytes[lt + 1..];
        at = if rest.starts_with(b"!--") {
            comment_end(bytes, lt + 4)
        } else if rest.first().is_some_and(|b| matches!(b, b'!' | b'?')) {
            until(bytes, lt + 1, b'>')
        } else if rest.first().is_some_and(u8::is_ascii_alphabetic) {
            let (end, name) = tag(bytes, lt + 1, max, &mut cuts);
            if named(name, &[b"svg", b"math"]) {
                foreign += 1;
            } else if foreign > 0 && named(name, BREAKOUT) {
                foreign = 0;
            }
            // Raw-text names are 3 to 8 letters; most tags are not one.
            let raw = match (foreign, name.len()) {
                (0, 3..=8) => RAW_TEXT.iter().find(|n| n.eq_ignore_ascii_case(name)),
                _ => None,
            };
            match raw {
                Some(raw) => raw_text_end(bytes, end, raw),
                None => end,
            }
        } else if rest.first() == Some(&b'/') && rest.get(1).is_some_and(u8::is_ascii_alphabetic) {
            let (end, name) = tag(bytes, lt + 2, max, &mut cuts);
            if named(name, &[b"svg", b"math"]) {
                foreign = foreign.saturating_sub(1);
            }
            end
        } else {
            lt + 1
        };
    }
    if cuts.is_empty() {
        return (Cow::Borrowed(text), false);
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (start, end) in cuts {
        // Cuts start after an ASCII separator and end at `>` or the end: both char boundaries.
        out.push_str(&text[from..start]);
        from = end;
    }
    out.push_str(&text[from..]);
    (Cow::Owned(out), true)
}

/// Reads a tag from its name at `at`; returns where it ends (after `>`) and its name.
/// Attributes past `max` are recorded in `cuts` as a byte range.
fn tag<'a>(
    bytes: &'a [u8],
    at: usize,
    max: usize,
    cuts: &mut Vec<(usize, usize)>,
) -> (usize, &'a [u8]) {
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c');
    let name_end = (at..bytes.len())
        .find(|&i| is_space(bytes[i]) || matches!(bytes[i], b'/' | b'>'))
        .unwrap_or(bytes.len());
    let name = &bytes[at..name_end];
    let mut i = name_end;
    let mut count = 0;
    let mut cut_from = None;
    while i < bytes.len() {
        match bytes[i] {
            b'>' => break,
            b if is_space(b) || b == b'/' => i += 1,
            _ => {
                count += 1;
                if count > max && cut_from.is_none() {
                    cut_from = Some(i);
                }
                // The name (a first `=` belongs to it), then an optional value.
                i += 1;
                while i < bytes.len()
                    && !is_space(bytes[i])
                    && !matches!(bytes[i], b'/' | b'>' | b'=')
                {
                    i += 1;
                }
                while i < bytes.len() && is_space(bytes[i]) {
                    i += 1;
                }
                if bytes.get(i) != Some(&b'=') {
                    continue;
                }
                i += 1;
                while i < bytes.len() && is_space(bytes[i]) {
                    i += 1;
                }
                match bytes.get(i) {
                    Some(&quote @ (b'"' | b'\'')) => {
                        i = until(bytes, i + 1, quote);
                    }
                    _ => {
                        while i < bytes.len() && !is_space(bytes[i]) && bytes[i] != b'>' {
                            i += 1;
                        }
                    }
                }
            }
        }
    }
    if let Some(from) = cut_from {
        cuts.push((from, i));
    }
    ((i + 1).min(bytes.len()), name)
}

/// The index after the next `byte` from `at`, or the end.
fn until(bytes: &[u8], at: usize, byte: u8) -> usize {
    memchr::memchr(byte, &bytes[at.min(bytes.len())..]).map_or(bytes.len(), |p| at + p + 1)
}

/// The index after the `-->` (or `--!>`) closing a comment whose text starts at `at`.
fn comment_end(bytes: &[u8], at: usize) -> usize {
    // `<!-->` and `<!--->` are whole (empty) comments.
    if bytes.get(at) == Some(&b'>') {
        return at + 1;
    }
    if bytes[at.min(bytes.len())..].starts_with(b"->") {
        return at + 2;
    }
    // The first `--` followed by `>` or `!>`.
    let mut from = at.min(bytes.len());
    while let Some(p) = memchr::memmem::find(&bytes[from..], b"--") {
        let dashes = from + p;
        let after = &bytes[dashes + 2..];
        if after.starts_with(b">") {
            return dashes + 3;
        }
        if after.starts_with(b"!>") {
            return dashes + 4;
        }
        from = dashes + 1;
    }
    bytes.len()
}

/// Where the raw text of `name` starting at `at` ends: at its end tag, or the end.
fn raw_text_end(bytes: &[u8], at: usize, name: &[u8]) -> usize {
    let mut i = at;
    while let Some(p) = bytes[i.min(bytes.len())..]
        .windows(2)
        .position(|w| w == b"</")
    {
        let start = i + p;
        let candidate = &bytes[start + 2..];
        let ends = candidate
            .get(name.len())
            .is_none_or(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'>'));
        if candidate.len() >= name.len()
            && candidate[..name.len()].eq_ignore_ascii_case(name)
            && ends
        {
            return start;
        }
        i = start + 2;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_past_the_limit_are_cut() {
        let (text, cut) = limit("<p a=1 b='x > y' c d>text</p>", 2);
        assert!(cut);
        assert_eq!(text, "<p a=1 b='x > y' >text</p>");
    }

    #[test]
    fn pages_within_the_limit_are_borrowed() {
        let page = "<!-- <p a b c> --><script>if (a<b) x='</p>'</script><p a b>é</p>";
        let (text, cut) = limit(page, 2);
        assert!(!cut);
        assert!(matches!(text, Cow::Borrowed(_)));
    }

    #[test]
    fn raw_text_in_svg_and_empty_comments_do_not_hide_a_tag() {
        for page in [
            "<svg><script><p a b c>x</p>",
            "<!--><p a b c>x</p>",
            "<script>x</scripty><p a b></script><p a b c>x</p>",
        ] {
            let (text, cut) = limit(page, 2);
            assert!(cut, "{page}");
            assert!(text.contains("<p a b >x</p>"), "{page}: {text}");
        }
    }

    #[test]
    fn end_tags_are_limited_too() {
        let (text, cut) = limit("<p>x</p a b c>", 1);
        assert!(cut);
        assert_eq!(text, "<p>x</p a >");
    }
}
