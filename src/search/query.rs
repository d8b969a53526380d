//! What a reader types, read as clauses: words, `"quoted phrases"`, and `-word` or `-"phrase"`
//! to exclude; then the tantivy query over the exact and folded fields, which ranks the syllables
//! typed side by side first where they stand side by side, in the order typed: "ha tien" finds
//! "tiến độ … hạ tầng" too, below every "Hà Tiên".

use tantivy::Term;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};

use super::analysis::{nfc, pair, syllables};
use super::schema::Fields;

/// The most clauses a query may have: each one is a clause over every field.
pub const MAX_CLAUSES: usize = 16;
/// The most syllables one phrase may have.
pub const MAX_PHRASE: usize = 32;
/// How much more a title match weighs than one in the other fields.
const TITLE_BOOST: f32 = 3.0;
/// How much more a match with the tones as typed weighs than one without tones.
const EXACT_BOOST: f32 = 2.0;
/// How much two syllables side by side weigh against the same two syllables anywhere: enough
/// that a pair in the body outweighs the two syllables apart in the title (which weigh
/// TITLE_BOOST times as much as in the body, and a pair is at least as rare as either syllable).
const PAIR_BOOST: f32 = 6.0;
/// The most syllable pairs a query looks up: those of its first words.
pub const MAX_PAIRS: usize = 32;

/// How results are ranked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Ranking {
    /// The syllables typed side by side weigh more where they stand side by side.
    #[default]
    Pairs,
    /// Each word on its own (BM25 over the words): kept to measure what the pairs add.
    Words,
}

/// One clause: its syllables as typed (lowercase, NFC) and folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub exact: Vec<String>,
    pub folded: Vec<String>,
    pub excluded: bool,
}

impl Clause {
    /// True when the clause was typed with tones (or đ): an exclusion then means those tones.
    fn toned(&self) -> bool {
        self.exact != self.folded
    }
}

/// A query that cannot be searched, in words a reader understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("nothing to search for: give at least one word that is not excluded")]
    Empty,
    #[error("too many words or phrases: at most {MAX_CLAUSES}")]
    TooManyClauses,
    #[error("a phrase of more than {MAX_PHRASE} words")]
    PhraseTooLong,
}

/// The clauses of `text`.
pub fn parse(text: &str) -> Result<Vec<Clause>, QueryError> {
    let text = nfc(text);
    let mut clauses = Vec::new();
    let mut rest = text.as_str();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let excluded = rest.starts_with('-');
        if excluded {
            rest = &rest[1..];
        }
        let piece = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            rest = quoted.get(end + 1..).unwrap_or("");
            &quoted[..end]
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let word = &rest[..end];
            rest = &rest[end..];
            word
        };
        let exact: Vec<String> = syllables(piece, false)
            .into_iter()
            .map(|s| s.text)
            .collect();
        if exact.is_empty() {
            continue;
        }
        if exact.len() > MAX_PHRASE {
            return Err(QueryError::PhraseTooLong);
        }
        let folded = syllables(piece, true).into_iter().map(|s| s.text).collect();
        clauses.push(Clause {
            exact,
            folded,
            excluded,
        });
        if clauses.len() > MAX_CLAUSES {
            return Err(QueryError::TooManyClauses);
        }
    }
    if clauses.iter().all(|c| c.excluded) {
        return Err(QueryError::Empty);
    }
    Ok(clauses)
}

/// Matches `words` (one or a phrase) in `field`.
fn matching(field: Field, words: &[String]) -> Box<dyn Query> {
    let terms: Vec<Term> = words
        .iter()
        .map(|w| Term::from_field_text(field, w))
        .collect();
    if terms.len() == 1 {
        let term = terms.into_iter().next().expect("one term");
        Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
    } else {
        Box::new(PhraseQuery::new(terms))
    }
}

/// The neighbouring syllables of the clauses not excluded, in the order typed, as (exact,
/// folded) pairs: each once, at most [`MAX_PAIRS`]. Two syllables inside one quoted phrase are
/// left out: every article the phrase matches has them side by side already, so their pair
/// would rank nothing differently, and its postings (common pairs such as `khu kinh`) would be
/// read for nothing.
fn pairs(clauses: &[Clause]) -> Vec<(String, String)> {
    let included = || clauses.iter().enumerate().filter(|(_, c)| !c.excluded);
    let exact: Vec<(usize, &String)> = included()
        .flat_map(|(i, c)| c.exact.iter().map(move |w| (i, w)))
        .collect();
    let folded: Vec<&String> = included().flat_map(|(_, c)| &c.folded).collect();
    let mut out: Vec<(String, String)> = Vec::new();
    for (e, f) in exact.windows(2).zip(folded.windows(2)) {
        if e[0].0 == e[1].0 {
            continue;
        }
        let two = (pair(e[0].1, e[1].1), pair(f[0], f[1]));
        if !out.contains(&two) {
            out.push(two);
        }
        if out.len() == MAX_PAIRS {
            break;
        }
    }
    out
}

/// The query of `clauses`: every clause not excluded must match in some field, exact or folded,
/// an exact match and a title match weighing more; no excluded one may match. Ranked by
/// `Ranking::Pairs`, each two syllables typed side by side weigh more in an article that has
/// them side by side (a term of the pair fields: no positions read).
pub fn build(fields: &Fields, clauses: &[Clause], ranking: Ranking) -> Box<dyn Query> {
    let mut parts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for clause in clauses {
        let mut shoulds: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for text in fields.texts() {
            let field_boost = if text.title { TITLE_BOOST } else { 1.0 };
            if clause.excluded {
                let (field, words) = if clause.toned() {
                    (text.exact, &clause.exact)
                } else {
                    (text.folded, &clause.folded)
                };
                parts.push((Occur::MustNot, matching(field, words)));
                continue;
            }
            shoulds.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    matching(text.exact, &clause.exact),
                    field_boost * EXACT_BOOST,
                )),
            ));
            shoulds.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    matching(text.folded, &clause.folded),
                    field_boost,
                )),
            ));
        }
        if !shoulds.is_empty() {
            parts.push((Occur::Must, Box::new(BooleanQuery::new(shoulds))));
        }
    }
    if ranking == Ranking::Pairs {
        for (exact, folded) in pairs(clauses) {
            for field in fields.pairs() {
                let field_boost = PAIR_BOOST * if field.title { TITLE_BOOST } else { 1.0 };
                for (field, text, boost) in [
                    (field.exact, &exact, field_boost * EXACT_BOOST),
                    (field.folded, &folded, field_boost),
                ] {
                    let term = TermQuery::new(
                        Term::from_field_text(field, text),
                        IndexRecordOption::WithFreqs,
                    );
                    parts.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(term), boost)),
                    ));
                }
            }
        }
    }
    Box::new(BooleanQuery::new(parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_phrases_and_exclusions() {
        let clauses = parse(r#"Hà Tiên "khu kinh tế" -đầu -"cửa khẩu""#).unwrap();
        let shown: Vec<(String, bool)> = clauses
            .iter()
            .map(|c| (c.folded.join(" "), c.excluded))
            .collect();
        assert_eq!(
            shown,
            [
                ("ha".into(), false),
                ("tien".into(), false),
                ("khu kinh te".into(), false),
                ("dau".into(), true),
                ("cua khau".into(), true)
            ]
        );
        assert_eq!(clauses[0].exact, ["hà"]);
        assert_eq!(parse("-x -y"), Err(QueryError::Empty));
        assert_eq!(parse("  \"\" ,"), Err(QueryError::Empty));
        assert_eq!(parse(&"a ".repeat(40)), Err(QueryError::TooManyClauses));
    }

    #[test]
    fn pairs_follow_the_order_typed_across_clauses_not_exclusions() {
        let clauses = parse(r#"Hà Tiên -"hạ tầng" "khu kinh tế" hà tiên"#).unwrap();
        let shown: Vec<String> = pairs(&clauses).into_iter().map(|(e, _)| e).collect();
        // Not the pairs inside the quoted phrase: its matches have them already.
        assert_eq!(shown, ["hà tiên", "tiên khu", "tế hà"]);
        assert_eq!(pairs(&clauses)[0].1, "ha tien");
        let many = parse(&"a b ".repeat(5)).unwrap();
        assert_eq!(pairs(&many).len(), 2, "each pair once");
        let quoted = parse(&format!("\"{}\"", "a b ".repeat(15))).unwrap();
        assert!(pairs(&quoted).is_empty());
        let long: String = (0..16).map(|i| format!("\"a{i} b{i} c{i}\" ")).collect();
        assert!(pairs(&parse(&long).unwrap()).len() <= MAX_PAIRS);
    }
}
