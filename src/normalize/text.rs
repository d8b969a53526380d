//! Text hygiene shared by every field: NFC, no characters XML 1.0 forbids, collapsed whitespace.

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// Characters XML 1.0 forbids; one of them makes a whole feed unreadable.
pub fn is_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// NFC with the forbidden characters removed; layout is kept (for markup).
pub fn clean_markup(text: &str) -> String {
    let stripped: String = if text.chars().any(is_forbidden) {
        text.chars().filter(|c| !is_forbidden(*c)).collect()
    } else {
        text.to_string()
    };
    if is_nfc_quick(stripped.chars()) == IsNormalized::Yes {
        stripped
    } else {
        stripped.nfc().collect()
    }
}

/// Characters that take no room and say nothing: a zero-width space (which rich-text editors
/// leave at a field's start), a byte-order mark inside a text, a word joiner.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{FEFF}' | '\u{2060}')
}

/// A clean one-line text: forbidden and zero-width characters removed, NFC, whitespace (U+00A0 too) collapsed
/// to single spaces, trimmed.
pub fn clean(text: &str) -> String {
    let mut markup = clean_markup(text);
    if markup.contains(is_invisible) {
        markup.retain(|c| !is_invisible(c));
    }
    let mut out = String::with_capacity(markup.len());
    for word in markup.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// `clean`, or `None` when nothing is left.
pub fn clean_option(text: Option<&str>) -> Option<String> {
    text.map(clean).filter(|t| !t.is_empty())
}

/// At most `max` characters, cut at a word, with `…` added when anything was cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    // Leave room for the ellipsis, then step back to the last whole word.
    let window: String = text.chars().take(max).collect();
    let next_is_space = text.chars().nth(max - 1).is_some_and(char::is_whitespace);
    let mut cut = if next_is_space {
        window.as_str()
    } else {
        match window.rfind(char::is_whitespace) {
            Some(at) if at > 0 => &window[..at],
            _ => {
                let end = window
                    .char_indices()
                    .nth(max - 1)
                    .map_or(window.len(), |(i, _)| i);
                &window[..end]
            }
        }
    };
    cut = cut
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-' | '–'));
    let mut out = cut.to_string();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_width_characters_are_dropped() {
        assert_eq!(
            clean("\u{200B}Từ ngày 15\u{FEFF} đến\u{2060} 17/3"),
            "Từ ngày 15 đến 17/3"
        );
    }

    #[test]
    fn clean_strips_forbidden_then_collapses() {
        assert_eq!(clean(" a\u{B}b\u{1}\u{A0}\u{A0} c\u{FFFE} "), "ab c");
    }

    #[test]
    fn clean_composes_decomposed_letters() {
        let nfd = "Ho\u{302}\u{323}i nghi\u{323}";
        assert_eq!(clean(nfd), "Hội nghị");
    }

    #[test]
    fn shorten_cuts_at_a_word_and_marks_the_cut() {
        let text = "một hai ba bốn năm";
        assert_eq!(shorten(text, 100), text);
        let short = shorten(text, 9);
        assert_eq!(short, "một hai…");
        assert!(short.chars().count() <= 9);
    }

    #[test]
    fn shorten_never_exceeds_the_limit() {
        let text = "x".repeat(50);
        let short = shorten(&text, 10);
        assert_eq!(short.chars().count(), 10);
        assert!(short.ends_with('…'));
    }
}
