//! What changed between two revisions of an article: title and date first, then the text word
//! by word. Pure: two revisions in, a [`RevisionDiff`] out.

use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use similar::{ChangeTag, TextDiff};

use crate::model::Revision;

/// How long a diff may search for the smallest one before it settles for a larger one.
const DIFF_TIME: Duration = Duration::from_millis(500);

/// A run of words kept, inserted or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Same,
    Inserted,
    Deleted,
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
    /// The text word by word.
    pub body: Vec<Span>,
}

impl RevisionDiff {
    /// True when the text, title and date are the same.
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.published.is_none()
            && self.body.iter().all(|s| s.kind == Kind::Same)
    }
}

/// `old` against `new`.
pub fn compare(old: &Revision, new: &Revision) -> RevisionDiff {
    let (a, b) = (&old.article, &new.article);
    RevisionDiff {
        from: old.number,
        to: new.number,
        from_fetched_at: old.fetched_at,
        to_fetched_at: new.fetched_at,
        title: (a.title != b.title).then(|| words(&a.title, &b.title)),
        published: (a.published != b.published).then_some((a.published, b.published)),
        body: words(&a.body_text, &b.body_text),
    }
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
