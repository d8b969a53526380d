//! WARC 1.1 files: the page captures of the archive in the format web-archive tools (warcio, pywb)
//! read. Files are append-only, one gzip member per record, each opened by a `warcinfo` record and
//! rotated at a size limit; a [`Location`] names one record's member so an index can point into them.
//!
//! One fetched article is one group, appended at once: its `request`, the `response` built from the
//! [`Capture`](crate::model::Capture), and a `metadata` record (the normalised revision as JSON)
//! referring to the response. An asset whose payload digest is already stored gets a `revisit`.
//! [`read`] fetches one record by its location; [`scan`] walks every record for index rebuilds.

mod member;
mod parse;
mod read;
mod record;
mod rewrite;
mod segment;
mod writer;

use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use parse::{HttpHead, ParsedRecord, verify_digests};
pub use read::{Scan, check_location, decode_member, files, read, scan, scan_file, scan_file_from};
pub use record::{Original, Record, RecordType, head_given_back, payload_digest};
pub use rewrite::{Headers, Rewritten, rewrite_file, verify_rewrite};
pub use writer::{WarcWriter, is_warc_file_name, node_of};

/// The size past which a WARC file is closed and the next one begun (`storage.warc_max_bytes`).
pub use crate::config::DEFAULT_WARC_MAX_BYTES;

/// Where one record lives: the gzip member holding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The file name, inside the WARC directory.
    pub file: String,
    /// The member's first byte.
    pub offset: u64,
    /// The member's length in bytes, gzip header and trailer included.
    pub length: u64,
}

/// A record's `WARC-Record-ID`, angle brackets included: `<urn:uuid:…>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(String);

impl RecordId {
    /// A new random (v4) id.
    pub fn generate() -> RecordId {
        RecordId(format!("<urn:uuid:{}>", uuid::Uuid::new_v4()))
    }

    /// An id as read from a record or an index; `None` unless it is one `<…>` URI.
    pub fn parse(text: &str) -> Option<RecordId> {
        let inner = text.strip_prefix('<')?.strip_suffix('>')?;
        let clean = !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '<' && c != '>');
        clean.then(|| RecordId(text.to_string()))
    }

    /// The id as written in headers, brackets included.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RecordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Error)]
pub enum WarcError {
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{file} at byte {offset}: {detail}")]
    Corrupt {
        file: String,
        offset: u64,
        detail: String,
    },
    #[error("{file} at byte {offset}: the gzip member does not inflate")]
    Gzip {
        file: String,
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error("record {record}: {detail}")]
    Digest { record: String, detail: String },
    /// A file neither on the local disk nor in the object store.
    #[error("{file}: neither in the WARC directory nor in the object store")]
    RemoteMissing { file: String },
    /// The object store could not be read: says nothing of the record.
    #[error("cannot read {file} from the object store")]
    Remote {
        file: String,
        #[source]
        source: Box<object_store::Error>,
    },
}

impl WarcError {
    /// True when the disk is full: the one failure a user can fix without reading further.
    pub fn is_storage_full(&self) -> bool {
        match self {
            WarcError::Io { source, .. } => source.kind() == io::ErrorKind::StorageFull,
            _ => false,
        }
    }

    /// True when the record itself is proven damaged: its digest does not match, its gzip
    /// member does not inflate or is cut off, its location lies outside its file, or its WARC
    /// file is gone. A read that failed for another reason (too many open files, an I/O error)
    /// says nothing of the record and is not damage.
    pub fn is_damage(&self) -> bool {
        match self {
            WarcError::Corrupt { .. }
            | WarcError::Gzip { .. }
            | WarcError::Digest { .. }
            | WarcError::RemoteMissing { .. } => true,
            WarcError::Io { source, .. } => source.kind() == io::ErrorKind::NotFound,
            WarcError::Remote { .. } => false,
        }
    }

    /// True when the file read is not in the WARC directory: it may be in the object store.
    pub fn is_missing_file(&self) -> bool {
        matches!(self, WarcError::Io { action: "open", source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> WarcError {
        let path = path.into();
        move |source| WarcError::Io {
            action,
            path,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_are_bracketed_uuid_urns() {
        let id = RecordId::generate();
        assert!(id.as_str().starts_with("<urn:uuid:"), "{id}");
        assert_eq!(id.as_str().len(), "<urn:uuid:>".len() + 36);
        assert_eq!(RecordId::parse(id.as_str()), Some(id));
        for bad in ["urn:uuid:x", "<>", "<a b>", "<a>\r\n"] {
            assert_eq!(RecordId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_file_missing_from_the_bucket_is_damage_and_a_network_failure_is_not() {
        let missing = WarcError::RemoteMissing {
            file: "gazette-20260127T103000Z-00001.warc.gz".into(),
        };
        assert!(missing.is_damage());
        let unreachable = WarcError::Remote {
            file: "gazette-20260127T103000Z-00001.warc.gz".into(),
            source: Box::new(object_store::Error::Generic {
                store: "S3",
                source: "connection refused".into(),
            }),
        };
        assert!(!unreachable.is_damage());
        // Only a file missing from the disk sends a read to the object store.
        let gone = WarcError::io("open", "/x/a.warc.gz")(io::ErrorKind::NotFound.into());
        assert!(gone.is_missing_file() && gone.is_damage());
        let denied = WarcError::io("open", "/x/a.warc.gz")(io::ErrorKind::PermissionDenied.into());
        assert!(!denied.is_missing_file());
    }

    #[test]
    fn a_full_disk_is_told_apart() {
        let full = WarcError::io("write", "/x/a.warc.gz")(io::ErrorKind::StorageFull.into());
        assert!(full.is_storage_full());
        assert_eq!(full.to_string(), "cannot write /x/a.warc.gz");
        let denied = WarcError::io("write", "/x/a.warc.gz")(io::ErrorKind::PermissionDenied.into());
        assert!(!denied.is_storage_full());
    }
}
