//! What a reader types, read as clauses: words, `"quoted phrases"`, and `-word` or `-"phrase"`
//! to exclude; then the tantivy query over the exact and folded fields.

use tantivy::Term;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};

use super::analysis::{nfc, syllables};
use super::schema::Fields;

/// The most clauses a query may have: each one is a clause over every field.
pub const MAX_CLAUSES: usize = 16;
/// The most syllables one phrase may have.
pub const MAX_PHRASE: usize = 32;
/// How much more a title match weighs than one in the other fields.
const TITLE_BOOST: f32 = 3.0;
/// How much more a match with the tones as typed weighs than one without tones.
const EXACT_BOOST: f32 = 2.0;

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

/// The query of `clauses`: every clause not excluded must match in some field, exact or folded,
/// an exact match and a title match weighing more; no excluded one may match.
pub fn build(fields: &Fields, clauses: &[Clause]) -> Box<dyn Query> {
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
}
