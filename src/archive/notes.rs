//! What the archive's `metadata` records hold, as JSON: one per revision (the normalised article,
//! the state after it and the profile that produced it) and one per change of state that is not a
//! revision (gone, answering again). The WARC files alone rebuild the index from these.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::warc;
use crate::model::{Article, ArticleId, Capture, RevisionCause};

/// The profile an article was extracted with: the source's id and a digest of its settings, so a
/// rebuild can tell which revisions an older profile produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    /// `sha256:` and the hex digest of the source's parsed settings.
    pub digest: String,
}

/// What every note's target URI begins with; a metadata record whose target URI does not is of
/// the first form, filed under the page's URL (`gazette migrate` rewrites those).
pub const NOTE_URN: &str = "urn:gazette:article:";

/// What an article id keeps as it is in a note's URN: letters, digits, `-._~:`.
const URN_PART: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':');

/// One `metadata` record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "note", rename_all = "snake_case")]
pub enum Note {
    Revision(Box<RevisionNote>),
    /// The portal answered 404/410: the article is kept, marked gone.
    Gone {
        id: ArticleId,
        at: DateTime<FixedOffset>,
    },
    /// A gone article answered again with the same content.
    Back {
        id: ArticleId,
        at: DateTime<FixedOffset>,
    },
}

/// A revision of an article and the article's state once it was stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevisionNote {
    pub revision: u32,
    pub fetched_at: DateTime<FixedOffset>,
    pub source: String,
    pub section: String,
    pub first_seen: DateTime<FixedOffset>,
    pub updated: DateTime<FixedOffset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// The capture's status and headers exactly as received (the response record's own headers
    /// are rewritten to match the decoded body); its body is the response's payload. Written
    /// only when the response record does not give them back itself
    /// ([`warc::head_given_back`]); absent, they are read from the response.
    #[serde(default, skip_serializing_if = "head_in_response")]
    pub capture: Option<Capture>,
    /// A reparse revision reads the capture of the revision before it again; it names that
    /// capture's response record.
    #[serde(default, skip_serializing_if = "RevisionCause::is_portal")]
    pub cause: RevisionCause,
    pub article: Article,
}

/// Whether a note leaves its capture's head to the response record it refers to.
fn head_in_response(capture: &Option<Capture>) -> bool {
    capture.as_ref().is_none_or(warc::head_given_back)
}

impl Note {
    /// The article the note is about.
    pub fn id(&self) -> &ArticleId {
        match self {
            Note::Revision(note) => &note.article.id,
            Note::Gone { id, .. } | Note::Back { id, .. } => id,
        }
    }

    /// The `WARC-Target-URI` of the note's record: a URN of its own
    /// (`urn:gazette:article:<id>:<revision>`, `…:gone`, `…:back`), never the page's URL. Replay
    /// tools take every record filed under a page's URL for a capture of that page, and would
    /// replay the note instead of the page; the page's URL is in the JSON, the response the note
    /// is about in `WARC-Refers-To`.
    pub fn target_uri(&self) -> String {
        let (id, what) = match self {
            Note::Revision(note) => (&note.article.id, note.revision.to_string()),
            Note::Gone { id, .. } => (id, "gone".to_string()),
            Note::Back { id, .. } => (id, "back".to_string()),
        };
        let id = percent_encoding::utf8_percent_encode(&id.0, URN_PART);
        format!("{NOTE_URN}{id}:{what}")
    }

    pub(super) fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("notes serialise")
    }
}
