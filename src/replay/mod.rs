//! A local portal server: replays a recording of the portal on 127.0.0.1 for tests, benchmarks
//! and the demo mode, and misbehaves on request (statuses, delays, cut bodies, redirects).
//!
//! It is a plain HTTP server serving bytes, never a stand-in for gazette's own code: whatever
//! reads from it goes through the same network path as against the real portal.
//!
//! - this module: a [`Recording`] (pages by path and query) and its loader from a manifest;
//! - `bundled`: the recording of `fixtures/portal` built into the binary, for `gazette demo`;
//! - `server`: [`ReplayServer`], serving a recording, pages changed while it runs;
//! - `faults` and `synthetic` (feature `testing`, which the tests and benchmarks enable): faults
//!   injected per URL, and portals of any size in the recorded template.

mod bundled;
#[cfg(feature = "testing")]
mod faults;
mod server;
#[cfg(feature = "testing")]
mod synthetic;

use std::collections::HashMap;
use std::io;
use std::path::Path;

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

#[cfg(feature = "testing")]
pub use faults::Fault;
pub use server::{ReplayServer, Request};
#[cfg(feature = "testing")]
pub use synthetic::{article_page, list_item};

/// `Last-Modified` of every recorded page: Wed, 08 Jul 2020 07:00:00 GMT.
const RECORDED_AT: DateTime<Utc> = DateTime::from_timestamp_nanos(1_594_191_600_000_000_000);

/// The pages of a portal: path-and-query -> bytes and Content-Type.
#[derive(Clone)]
pub struct Recording {
    pages: HashMap<String, RecordedPage>,
}

/// One page as served: the bytes, their headers and their validators.
#[derive(Clone)]
struct RecordedPage {
    bytes: Bytes,
    content_type: String,
    etag: String,
    modified: DateTime<Utc>,
}

impl Recording {
    /// Reads `manifest.tsv` in `dir` (lines: `url<TAB>file<TAB>content-type`; '#' lines are comments).
    ///
    /// Files are relative to `dir`. Errors name the file, and the line for a malformed row.
    pub fn load(dir: &Path) -> io::Result<Recording> {
        let manifest = dir.join("manifest.tsv");
        let text = std::fs::read_to_string(&manifest).map_err(|err| in_file(&manifest, err))?;
        Recording::from_manifest(&text, &manifest.display().to_string(), |name| {
            let file = dir.join(name);
            std::fs::read(&file).map_err(|err| in_file(&file, err))
        })
    }

    /// Reads a manifest (`url<TAB>file<TAB>content-type` lines), taking each file from `read`.
    fn from_manifest(
        text: &str,
        shown: &str,
        read: impl Fn(&str) -> io::Result<Vec<u8>>,
    ) -> io::Result<Recording> {
        let mut recording = Recording::empty();
        for (index, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let [path_and_query, file, content_type] = manifest_row(line).ok_or_else(|| {
                let fields = line.split('\t').count();
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{shown}:{}: expected 3 tab-separated fields (url, file, content-type), got {fields}", index + 1),
                )
            })?;
            recording.set(path_and_query, read(file)?, content_type);
        }
        Ok(recording)
    }

    /// The bytes and Content-Type served at `path_and_query`, if any.
    pub fn get(&self, path_and_query: &str) -> Option<(&[u8], &str)> {
        self.pages
            .get(path_and_query)
            .map(|page| (&page.bytes[..], page.content_type.as_str()))
    }

    /// Every path and query served, in no particular order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.pages.keys().map(String::as_str)
    }

    /// Adds or replaces a page; its `Last-Modified` is the recording's fixed date.
    pub fn set(&mut self, path_and_query: &str, bytes: Vec<u8>, content_type: &str) {
        self.put(path_and_query, bytes, content_type, RECORDED_AT);
    }

    fn empty() -> Recording {
        Recording {
            pages: HashMap::new(),
        }
    }

    fn put(
        &mut self,
        path_and_query: &str,
        bytes: Vec<u8>,
        content_type: &str,
        modified: DateTime<Utc>,
    ) {
        let page = RecordedPage {
            etag: etag_of(&bytes),
            bytes: Bytes::from(bytes),
            content_type: content_type.to_string(),
            modified,
        };
        self.pages.insert(path_and_query.to_string(), page);
    }

    /// When the page at `path_and_query` last changed, if it exists.
    fn modified(&self, path_and_query: &str) -> Option<DateTime<Utc>> {
        self.pages.get(path_and_query).map(|page| page.modified)
    }
}

fn manifest_row(line: &str) -> Option<[&str; 3]> {
    let mut fields = line.split('\t');
    let row = [fields.next()?, fields.next()?, fields.next()?];
    fields.next().is_none().then_some(row)
}

fn in_file(path: &Path, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), format!("{}: {err}", path.display()))
}

/// `"<first 16 hex of sha256(bytes)>"`.
fn etag_of(bytes: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(bytes))[..16])
}
