//! A judged query set and nDCG@10: how well best-first search orders what a reader looks for.
//!
//! Relevance is judged from an article's text by one rule, never from what search answers: the
//! query's syllables side by side in the order typed (with the tones typed, or without tones
//! when typed without) in the title is 2, in the summary or body 1, anywhere else or apart 0.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use super::analysis::{nfc, syllables};
use super::{Ranking, Request, SearchError, SearchIndex};
use crate::archive::{Archive, ArchiveError};

/// Results judged per query: nDCG@10.
pub const CUTOFF: usize = 10;

#[derive(Debug, Error)]
pub enum JudgedError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
}

/// The articles a query is judged over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Corpus {
    /// The recorded portal, `fixtures/portal`.
    Portal,
    /// The synthetic portal, any size.
    Synthetic,
}

/// One query and, over the recorded portal, the grades the rule gives, written out to be read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgedQuery {
    pub text: String,
    pub corpus: Corpus,
    /// Article id -> grade, the articles of grade 0 left out (the recorded portal only).
    #[serde(default)]
    pub relevant: BTreeMap<String, u8>,
}

/// The queries of a judged set file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgedSet {
    pub query: Vec<JudgedQuery>,
}

impl JudgedSet {
    pub fn load(path: &Path) -> Result<JudgedSet, JudgedError> {
        let text = std::fs::read_to_string(path).map_err(|source| JudgedError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| JudgedError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The queries over `corpus`.
    pub fn over(&self, corpus: Corpus) -> Vec<&JudgedQuery> {
        self.query.iter().filter(|q| q.corpus == corpus).collect()
    }
}

/// A query's syllables as the rule reads them: as typed when typed with tones, else folded.
struct Phrase {
    syllables: Vec<String>,
    fold: bool,
}

impl Phrase {
    fn new(text: &str) -> Phrase {
        let exact = words(text, false);
        let folded = words(text, true);
        let fold = exact == folded;
        Phrase {
            syllables: if fold { folded } else { exact },
            fold,
        }
    }

    /// The grade of an article whose title, summary and body read `texts` (split as `words`
    /// splits them, folded when the phrase is).
    fn grade(&self, texts: &[Vec<String>; 3]) -> u8 {
        let within = |words: &[String]| {
            !self.syllables.is_empty()
                && words
                    .windows(self.syllables.len())
                    .any(|w| w == self.syllables.as_slice())
        };
        let [title, summary, body] = texts;
        if within(title) {
            2
        } else if within(summary) || within(body) {
            1
        } else {
            0
        }
    }
}

fn words(text: &str, fold: bool) -> Vec<String> {
    syllables(&nfc(text), fold)
        .into_iter()
        .map(|s| s.text)
        .collect()
}

/// The grade the rule gives for `query` an article of this title, summary and body.
pub fn grade(query: &str, title: &str, summary: &str, body: &str) -> u8 {
    let phrase = Phrase::new(query);
    phrase.grade(&[title, summary, body].map(|t| words(t, phrase.fold)))
}

/// Each query's grades over every article of `archive` (article id -> grade, grade 0 left
/// out), the archive read once.
pub fn judge(
    queries: &[&JudgedQuery],
    archive: &dyn Archive,
) -> Result<Vec<HashMap<String, u8>>, ArchiveError> {
    let phrases: Vec<Phrase> = queries.iter().map(|q| Phrase::new(&q.text)).collect();
    let mut grades = vec![HashMap::new(); queries.len()];
    for id in archive.ids() {
        let Some(archived) = archive.readable_article(&id?)? else {
            continue;
        };
        let article = &archived.article;
        // Each text split once in each form, whatever the number of queries.
        let split =
            |fold| [&article.title, &article.summary, &article.body_text].map(|t| words(t, fold));
        let (toned, folded) = (split(false), split(true));
        for (phrase, graded) in phrases.iter().zip(&mut grades) {
            let grade = phrase.grade(if phrase.fold { &folded } else { &toned });
            if grade > 0 {
                graded.insert(article.id.0.clone(), grade);
            }
        }
    }
    Ok(grades)
}

/// nDCG of `ranked` (the grades of the results, best first) against the best order of
/// `judged`, both cut at [`CUTOFF`]; `None` when nothing is relevant.
pub fn ndcg(ranked: &[u8], judged: &HashMap<String, u8>) -> Option<f64> {
    let dcg = |grades: &mut dyn Iterator<Item = u8>| -> f64 {
        grades
            .take(CUTOFF)
            .enumerate()
            .map(|(i, g)| (2f64.powi(i32::from(g)) - 1.0) / (i as f64 + 2.0).log2())
            .sum()
    };
    let mut best: Vec<u8> = judged.values().copied().collect();
    best.sort_unstable_by(|a, b| b.cmp(a));
    let ideal = dcg(&mut best.into_iter());
    (ideal > 0.0).then(|| dcg(&mut ranked.iter().copied()) / ideal)
}

/// nDCG@10 of `query` searched in `index`, ranked by `ranking`, against `judged` (its grades).
pub fn score(
    index: &SearchIndex,
    archive: &dyn Archive,
    query: &JudgedQuery,
    judged: &HashMap<String, u8>,
    ranking: Ranking,
) -> Result<Option<f64>, SearchError> {
    let found = index.search(
        archive,
        &Request {
            text: query.text.clone(),
            limit: CUTOFF,
            ranking,
            ..Request::default()
        },
    )?;
    let ranked: Vec<u8> = found
        .hits
        .iter()
        .map(|h| judged.get(&h.archived.article.id.0).copied().unwrap_or(0))
        .collect();
    Ok(ndcg(&ranked, judged))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndcg_is_one_for_the_best_order_and_less_for_another() {
        let judged: HashMap<String, u8> =
            [("a".into(), 2), ("b".into(), 1), ("c".into(), 1)].into();
        assert_eq!(ndcg(&[2, 1, 1, 0], &judged), Some(1.0));
        let swapped = ndcg(&[1, 2, 1], &judged).unwrap();
        assert!(swapped < 1.0 && swapped > 0.5, "{swapped}");
        assert_eq!(ndcg(&[0, 0], &judged), Some(0.0));
        assert_eq!(ndcg(&[1], &HashMap::new()), None);
    }

    #[test]
    fn the_rule_reads_syllables_side_by_side_with_the_tones_typed() {
        let title = |query| grade(query, "Hội nghị ở Hà Tiên", "", "");
        let body = |query| grade(query, "Tin vắn", "", "Chợ Hà Tiên, hạ tầng.");
        let summary = grade("ha tien", "Tin vắn", "Chợ Hà Tiên", "");
        let apart = grade("ha tien", "Tiến độ xây dựng hạ tầng", "", "");
        let tones = |query| grade(query, "Hà Tiền", "", "");
        assert_eq!(
            (title("ha tien"), title("HÀ TIÊN"), title("tien ha")),
            (2, 2, 0)
        );
        assert_eq!(
            (body("ha tien"), body("hà tiên"), summary, apart),
            (1, 1, 1, 0)
        );
        assert_eq!(
            (tones("ha tien"), tones("hà tiên"), tones("hà tiền")),
            (2, 0, 2)
        );
    }
}
