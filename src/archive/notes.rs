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

    pub(super) fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("notes serialise")
    }
}
