//! HTML escaping, one table for every piece of gazette that writes HTML: the extractor's
//! paragraphs, the normalised body, the server's pages and the replay's portal pages.

/// Escapes text for HTML content and double-quoted attribute values.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // A no-break space is layout, not content; serialisers would write it as `&nbsp;`.
            '\u{A0}' => out.push(' '),
            c => out.push(c),
        }
    }
}

/// `text` escaped for HTML content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_and_quotes_are_escaped_and_no_break_spaces_become_spaces() {
        assert_eq!(
            escape("a < b & \"c\" > d\u{A0}e"),
            "a &lt; b &amp; &quot;c&quot; &gt; d e"
        );
    }
}
