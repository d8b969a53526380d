//! Vietnamese text analysis: NFC first (the portal sometimes writes decomposed text, which a
//! plain tokenizer would split at every combining mark), lowercase, one token per syllable with
//! its position; the folded form drops the tones and reads đ as d. A second analysis makes one
//! token of each two neighbouring syllables ("hà tiên"): most Vietnamese words are two syllables,
//! and those tokens let ranking prefer the syllables side by side, in order, at the cost of a
//! term lookup rather than a positional match.

use tantivy::tokenizer::{PreTokenizedStream, PreTokenizedString, Token, Tokenizer};
use unicode_normalization::char::{decompose_canonical, is_combining_mark};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// The tokenizer of the fields that keep tones.
pub const EXACT: &str = "vi_exact";
/// The tokenizer of the fields without tones.
pub const FOLDED: &str = "vi_folded";
/// The tokenizer of the syllable-pair fields that keep tones.
pub const PAIRS_EXACT: &str = "vi_pairs_exact";
/// The tokenizer of the syllable-pair fields without tones.
pub const PAIRS_FOLDED: &str = "vi_pairs_folded";

/// A syllable of a text: its lowercase form and where it sits in the NFC text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syllable {
    pub text: String,
    pub from: usize,
    pub to: usize,
}

/// The syllables of `nfc` (text already in NFC), lowercased, folded too when `fold`.
pub fn syllables(nfc: &str, fold: bool) -> Vec<Syllable> {
    let mut out = Vec::new();
    let mut start = None;
    let mut push = |from: usize, to: usize| {
        let piece = &nfc[from..to];
        let text = if piece.is_ascii() {
            piece.to_ascii_lowercase()
        } else if fold {
            folded(&piece.to_lowercase())
        } else {
            piece.to_lowercase()
        };
        out.push(Syllable { text, from, to });
    };
    for (at, c) in nfc.char_indices() {
        if c.is_alphanumeric() || is_combining_mark(c) {
            start.get_or_insert(at);
        } else if let Some(from) = start.take() {
            push(from, at);
        }
    }
    if let Some(from) = start {
        push(from, nfc.len());
    }
    out
}

/// Each two neighbouring syllables of `nfc` as one, their texts joined by a space: "Hà Tiên,
/// Phú Quốc" -> "hà tiên", "tiên phú", "phú quốc". Neighbours as a phrase reads them, whatever
/// punctuation stands between: "phòng cháy, chữa cháy" is typed either way.
pub fn pairs(nfc: &str, fold: bool) -> Vec<Syllable> {
    syllables(nfc, fold)
        .windows(2)
        .map(|two| Syllable {
            text: pair(&two[0].text, &two[1].text),
            from: two[0].from,
            to: two[1].to,
        })
        .collect()
}

/// The token of two syllables side by side, as [`pairs`] writes it.
pub fn pair(first: &str, second: &str) -> String {
    format!("{first} {second}")
}

/// Text without tones or other marks, đ/Đ as d/D: "Hà Tiên" -> "Ha Tien". That is the NFD form
/// without its combining marks, taken a character at a time: with every mark dropped, NFD's
/// reordering of marks changes nothing.
pub fn folded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'đ' => out.push('d'),
            'Đ' => out.push('D'),
            c if c.is_ascii() => out.push(c),
            c => decompose_canonical(c, |part| {
                if !is_combining_mark(part) {
                    out.push(part);
                }
            }),
        }
    }
    out
}

/// Text in NFC, the form every field and every query is read in. Most text already is, which a
/// quick check tells without normalising.
pub fn nfc(text: &str) -> String {
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => text.to_owned(),
        IsNormalized::No | IsNormalized::Maybe => text.nfc().collect(),
    }
}

/// The tantivy tokenizer over [`syllables`], or over [`pairs`] when `pairs`: exact or folded.
#[derive(Debug, Clone, Copy)]
pub struct Vietnamese {
    pub fold: bool,
    pub pairs: bool,
}

impl Tokenizer for Vietnamese {
    type TokenStream<'a> = PreTokenizedStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> PreTokenizedStream {
        let text = nfc(text);
        let units = if self.pairs {
            pairs(&text, self.fold)
        } else {
            syllables(&text, self.fold)
        };
        let tokens = units
            .into_iter()
            .enumerate()
            .map(|(position, s)| Token {
                offset_from: s.from,
                offset_to: s.to,
                position,
                text: s.text,
                position_length: 1,
            })
            .collect();
        PreTokenizedStream::from(PreTokenizedString { text, tokens })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str, fold: bool) -> Vec<String> {
        syllables(&nfc(text), fold)
            .into_iter()
            .map(|s| s.text)
            .collect()
    }

    #[test]
    fn tones_and_d_fold_away() {
        assert_eq!(texts("Hà Tiên", true), ["ha", "tien"]);
        assert_eq!(texts("HÀ TIÊN", false), ["hà", "tiên"]);
        assert_eq!(texts("Đầu tư, đường", true), ["dau", "tu", "duong"]);
        assert_eq!(
            texts("khu kinh tế-cửa khẩu", true),
            ["khu", "kinh", "te", "cua", "khau"]
        );
    }

    #[test]
    fn neighbours_pair_up_in_order() {
        let shown = |text: &str, fold: bool| -> Vec<String> {
            pairs(&nfc(text), fold)
                .into_iter()
                .map(|s| s.text)
                .collect()
        };
        assert_eq!(
            shown("Khu kinh tế-cửa khẩu Hà Tiên", true),
            [
                "khu kinh", "kinh te", "te cua", "cua khau", "khau ha", "ha tien"
            ]
        );
        assert_eq!(
            shown("tiến độ, hạ tầng", false),
            ["tiến độ", "độ hạ", "hạ tầng"]
        );
        assert!(shown("Hà", true).is_empty());
        let text = "ở Hà Tiên";
        let hit = &pairs(text, true)[1];
        assert_eq!(&text[hit.from..hit.to], "Hà Tiên");
    }

    #[test]
    fn folding_a_character_at_a_time_is_nfd_without_marks() {
        let by_nfd = |text: &str| -> String {
            text.nfd()
                .filter(|c| !is_combining_mark(*c))
                .map(|c| match c {
                    'đ' => 'd',
                    'Đ' => 'D',
                    other => other,
                })
                .collect()
        };
        // Latin with its extensions (every Vietnamese letter), combining marks, Greek, Hangul.
        let ranges = [
            0x20..0x2000u32,
            0x1E00..0x1F00,
            0x0300..0x0370,
            0xAC00..0xAD00,
        ];
        for c in ranges.into_iter().flatten().filter_map(char::from_u32) {
            let text = c.to_string();
            assert_eq!(folded(&text), by_nfd(&text), "U+{:04X}", c as u32);
        }
        let decomposed: String = "Nghị quyết Đầu tư ở Hà Tiên".nfd().collect();
        assert_eq!(folded(&decomposed), by_nfd(&decomposed));
        assert_eq!(folded(&decomposed), "Nghi quyet Dau tu o Ha Tien");
    }

    #[test]
    fn nfc_keeps_composed_text_and_composes_the_rest() {
        assert_eq!(nfc("Hà Tiên"), "Hà Tiên");
        let decomposed: String = "Hà Tiên".nfd().collect();
        assert_eq!(nfc(&decomposed), "Hà Tiên");
        // A mark after a letter it does not compose with stays.
        assert_eq!(nfc("q\u{0301}"), "q\u{0301}");
    }

    #[test]
    fn decomposed_text_reads_as_composed() {
        let decomposed: String = "Hà Tiên đầu tư".nfd().collect();
        assert_ne!(decomposed, "Hà Tiên đầu tư");
        assert_eq!(texts(&decomposed, false), texts("Hà Tiên đầu tư", false));
        assert_eq!(texts(&decomposed, true), ["ha", "tien", "dau", "tu"]);
    }
}
