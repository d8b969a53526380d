//! What changed between two revisions of an article: title and date first, then the text word
//! by word. Pure: two revisions in, a [`RevisionDiff`] out.
//!
//! Its cost grows with the text, so it is bounded: past [`WORD_DIFF_BYTES`] of text the diff is
//! by paragraph, with long unchanged runs cut to their edges; past [`MAX_DIFF_BYTES`] it is
//! refused.

use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use similar::{ChangeTag, TextDiff};

use crate::model::Revision;

/// How long a diff may search for the smallest one before it settles for a larger one.
const DIFF_TIME: Duration = Duration::from_millis(500);
/// Text of both revisions (bytes) up to which the diff is word by word: a word diff costs some
/// twenty times its text in memory.
pub const WORD_DIFF_BYTES: usize = 256 * 1024;
/// Text of both revisions (bytes) past which no diff is made.
pub const MAX_DIFF_BYTES: usize = 16 * 1024 * 1024;
/// Characters kept at each edge of an unchanged run in a diff by paragraph.
const CONTEXT_CHARS: usize = 300;

/// A diff refused: the revisions' text is past [`MAX_DIFF_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the two revisions hold {bytes} bytes of text, more than the {limit} a diff is made of; compare their raw captures instead"
)]
pub struct TooLarge {
    pub bytes: usize,
    pub limit: usize,
}

/// A run of words kept, inserted or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Same,
    Inserted,
    Deleted,
    /// Unchanged text left out of a diff by paragraph; its `text` is `…`.
    Elided,
}

/// How finely the text was compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Word,
    /// The text was past [`WORD_DIFF_BYTES`]: paragraphs compared, long unchanged runs elided.
    Paragraph,
}

/// Consecutive words of one [`Kind`], with the spaces between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub kind: Kind,
    pub text: String,
}

/// A publication date, when the page gives one.
pub type Published = Option<DateTime<FixedOffset>>;

/// Two revisions compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionDiff {
    pub from: u32,
    pub to: u32,
    pub from_fetched_at: DateTime<FixedOffset>,
    pub to_fetched_at: DateTime<FixedOffset>,
    /// The title word by word, when it changed.
    pub title: Option<Vec<Span>>,
    /// The publication date before and after, when it changed.
    pub published: Option<(Published, Published)>,
    /// How the text was compared.
    pub by: Granularity,
    /// The text, word by word or paragraph by paragraph.
    pub body: Vec<Span>,
}

impl RevisionDiff {
    /// True when the text, title and date are the same.
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.published.is_none()
            && self
                .body
                .iter()
                .all(|s| matches!(s.kind, Kind::Same | Kind::Elided))
    }
}

/// `old` against `new`, word by word, by paragraph past [`WORD_DIFF_BYTES`], refused past
/// [`MAX_DIFF_BYTES`].
pub fn compare(old: &Revision, new: &Revision) -> Result<RevisionDiff, TooLarge> {
    let (a, b) = (&old.article, &new.article);
    let bytes = a.body_text.len() + b.body_text.len() + a.title.len() + b.title.len();
    if bytes > MAX_DIFF_BYTES {
        return Err(TooLarge {
            bytes,
            limit: MAX_DIFF_BYTES,
        });
    }
    let (by, body) = if bytes <= WORD_DIFF_BYTES {
        (Granularity::Word, words(&a.body_text, &b.body_text))
    } else {
        (
            Granularity::Paragraph,
            paragraphs(&a.body_text, &b.body_text),
        )
    };
    Ok(RevisionDiff {
        from: old.number,
        to: new.number,
        from_fetched_at: old.fetched_at,
        to_fetched_at: new.fetched_at,
        title: (a.title != b.title).then(|| words(&a.title, &b.title)),
        published: (a.published != b.published).then_some((a.published, b.published)),
        by,
        body,
    })
}

/// `old` against `new` a line (a paragraph of `body_text`) at a time, each unchanged run longer
/// than twice [`CONTEXT_CHARS`] cut to its edges around an [`Kind::Elided`] span.
pub fn paragraphs(old: &str, new: &str) -> Vec<Span> {
    let diff = TextDiff::configure()
        .timeout(DIFF_TIME)
        .diff_lines(old, new);
    let mut spans: Vec<Span> = Vec::new();
    for change in diff.iter_all_changes() {
        let kind = match change.tag() {
            ChangeTag::Equal => Kind::Same,
            ChangeTag::Delete => Kind::Deleted,
            ChangeTag::Insert => Kind::Inserted,
        };
        match spans.last_mut() {
            Some(last) if last.kind == kind => last.text.push_str(change.value()),
            _ => spans.push(Span {
                kind,
                text: change.value().to_string(),
            }),
        }
    }
    spans.into_iter().flat_map(elide).collect()
}

/// An unchanged run cut to its first and last [`CONTEXT_CHARS`] characters when longer than
/// twice that; anything else as it is.
fn elide(span: Span) -> Vec<Span> {
    let chars = span.text.chars().count();
    if span.kind != Kind::Same || chars <= 2 * CONTEXT_CHARS + 1 {
        return vec![span];
    }
    let head: String = span.text.chars().take(CONTEXT_CHARS).collect();
    let tail: String = span.text.chars().skip(chars - CONTEXT_CHARS).collect();
    vec![
        Span {
            kind: Kind::Same,
            text: head,
        },
        Span {
            kind: Kind::Elided,
            text: "…".into(),
        },
        Span {
            kind: Kind::Same,
            text: tail,
        },
    ]
}

/// `old` against `new` word by word: the deleted words of a change, then the inserted ones
/// (a space between changed words does not split them), runs of one kind joined.
pub fn words(old: &str, new: &str) -> Vec<Span> {
    let diff = TextDiff::configure()
        .timeout(DIFF_TIME)
        .diff_words(old, new);
    let mut spans: Vec<Span> = Vec::new();
    let (mut deleted, mut inserted) = (String::new(), String::new());
    let push = |spans: &mut Vec<Span>, kind: Kind, text: &str| {
        if text.is_empty() {
            return;
        }
        match spans.last_mut() {
            Some(last) if last.kind == kind => last.text.push_str(text),
            _ => spans.push(Span {
                kind,
                text: text.to_string(),
            }),
        }
    };
    for change in diff.iter_all_changes() {
        let text = change.value();
        match change.tag() {
            ChangeTag::Delete => deleted.push_str(text),
            ChangeTag::Insert => inserted.push_str(text),
            ChangeTag::Equal
                if text.trim().is_empty() && !(deleted.is_empty() && inserted.is_empty()) =>
            {
                deleted.push_str(text);
                inserted.push_str(text);
            }
            ChangeTag::Equal => {
                // Spaces that ended the change belong to the text kept.
                let kept_space = deleted.len() - deleted.trim_end().len();
                let space = deleted[deleted.len() - kept_space..].to_string();
                let ins_space = inserted.len() - inserted.trim_end().len();
                let space = if ins_space == kept_space {
                    space
                } else {
                    String::new()
                };
                deleted.truncate(deleted.len() - space.len());
                inserted.truncate(inserted.len() - space.len());
                push(&mut spans, Kind::Deleted, &deleted);
                push(&mut spans, Kind::Inserted, &inserted);
                deleted.clear();
                inserted.clear();
                push(&mut spans, Kind::Same, &space);
                push(&mut spans, Kind::Same, text);
            }
        }
    }
    push(&mut spans, Kind::Deleted, &deleted);
    push(&mut spans, Kind::Inserted, &inserted);
    spans
}

/// The diff for a terminal: `[-deleted-]` and `{+inserted+}`, title and date first.
pub fn plain(diff: &RevisionDiff) -> String {
    let spans = |spans: &[Span]| -> String {
        spans
            .iter()
            .map(|s| match s.kind {
                Kind::Same => s.text.clone(),
                Kind::Inserted => format!("{{+{}+}}", s.text),
                Kind::Deleted => format!("[-{}-]", s.text),
                Kind::Elided => "\n[…]\n".to_string(),
            })
            .collect()
    };
    let mut out = format!(
        "revision {} ({}) -> revision {} ({})\n",
        diff.from, diff.from_fetched_at, diff.to, diff.to_fetched_at
    );
    if let Some(title) = &diff.title {
        out.push_str(&format!("title: {}\n", spans(title)));
    }
    if let Some((before, after)) = &diff.published {
        let shown = |t: &Published| t.map_or_else(|| "(none)".to_string(), |t| t.to_rfc3339());
        out.push_str(&format!(
            "published: {} -> {}\n",
            shown(before),
            shown(after)
        ));
    }
    out.push('\n');
    out.push_str(&spans(&diff.body));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(number: u32, body: &str) -> Revision {
        let at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00+07:00").unwrap();
        Revision {
            number,
            fetched_at: at,
            cause: Default::default(),
            article: crate::model::Article {
                id: crate::model::ArticleId("s:1".into()),
                source: "s".into(),
                section: "a".into(),
                url: "https://example.org/1".into(),
                title: "t".into(),
                published: None,
                published_inferred: false,
                category: None,
                credit: None,
                summary: String::new(),
                body_html: String::new(),
                body_text: body.to_string(),
                images: Vec::new(),
                attachments: Vec::new(),
                content_hash: String::new(),
            },
        }
    }

    #[test]
    fn a_long_text_is_compared_by_paragraph_with_unchanged_runs_cut() {
        let paragraph = "Khu kinh tế Phú Quốc đón nhà đầu tư. ".repeat(40);
        let old: Vec<String> = (0..400).map(|i| format!("{i} {paragraph}")).collect();
        let mut new = old.clone();
        new[200] = "Đoạn văn đã sửa.".into();
        let (old, new) = (old.join("\n\n"), new.join("\n\n"));
        assert!(old.len() + new.len() > WORD_DIFF_BYTES);
        let diff = compare(&revision(1, &old), &revision(2, &new)).unwrap();
        assert_eq!(diff.by, Granularity::Paragraph);
        let size: usize = diff.body.iter().map(|s| s.text.len()).sum();
        assert!(
            size < 8 * CONTEXT_CHARS * 4 + paragraph.len() * 2,
            "{size} bytes"
        );
        assert!(diff.body.iter().any(|s| s.kind == Kind::Elided));
        let inserted: Vec<&str> = diff
            .body
            .iter()
            .filter(|s| s.kind == Kind::Inserted)
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(inserted, ["Đoạn văn đã sửa.\n"]);
    }

    #[test]
    fn a_text_past_the_bound_is_refused() {
        let big = "x".repeat(MAX_DIFF_BYTES / 2 + 1);
        let err = compare(&revision(1, &big), &revision(2, &big)).unwrap_err();
        assert_eq!(err.limit, MAX_DIFF_BYTES);
        assert!(err.to_string().contains("raw captures"), "{err}");
    }

    #[test]
    fn a_changed_word_is_deleted_and_inserted() {
        let spans = words("Khu kinh tế Hà Tiên", "Khu kinh tế Phú Quốc");
        let changed: Vec<(Kind, &str)> = spans
            .iter()
            .filter(|s| s.kind != Kind::Same)
            .map(|s| (s.kind, s.text.as_str()))
            .collect();
        assert_eq!(
            changed,
            [(Kind::Deleted, "Hà Tiên"), (Kind::Inserted, "Phú Quốc")]
        );
        assert_eq!(
            spans[0],
            Span {
                kind: Kind::Same,
                text: "Khu kinh tế ".into()
            }
        );
    }
}
