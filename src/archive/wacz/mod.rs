//! WACZ packages (WACZ 1.1.1, the format ReplayWeb.page and pywb open): a ZIP, every entry
//! stored uncompressed, holding
//!
//! - `archive/<file>.warc.gz`: for each WARC file of the archive with records in the package,
//!   those records' gzip members copied byte for byte, in file order, under the file's own name;
//! - `indexes/index.cdx`: a CDXJ line per record wayback tools look up, pointing into those
//!   (named `.cdx`, as the spec's examples are: pywb's `wb-manager add --unpack-wacz` takes no
//!   other name, ReplayWeb.page takes `.cdx` and `.cdxj`);
//! - `pages/pages.jsonl`: a page per article revision (URL, capture time, title);
//! - `datapackage.json`: every file above with its size and SHA-256, and
//!   `datapackage-digest.json`, the SHA-256 of `datapackage.json`.
//!
//! Only the WARC files are read, never the index, so a package is made while `serve` runs.

mod select;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::cdxj::{self, CdxjError, Sorter};
use super::warc::{self, Location, WarcError};

/// The WACZ version written.
pub const WACZ_VERSION: &str = "1.1.1";

/// The first line of `pages/pages.jsonl`.
const PAGES_HEADER: &str = r#"{"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}"#;

/// Which revisions a package holds; every record of the archive when nothing is set.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// A source's id.
    pub source: Option<String>,
    /// Revisions fetched at or after.
    pub since: Option<DateTime<FixedOffset>>,
    /// Revisions fetched at or before.
    pub until: Option<DateTime<FixedOffset>>,
}

impl Scope {
    /// True when no filter is set: the package holds every record.
    pub fn is_everything(&self) -> bool {
        self.source.is_none() && self.since.is_none() && self.until.is_none()
    }

    fn holds(&self, source: &str, fetched_at: DateTime<FixedOffset>) -> bool {
        self.source.as_ref().is_none_or(|s| s == source)
            && self.since.is_none_or(|since| fetched_at >= since)
            && self.until.is_none_or(|until| fetched_at <= until)
    }
}

/// What a package holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// WARC files in `archive/`.
    pub files: usize,
    /// WARC records copied.
    pub records: usize,
    /// Lines of `pages/pages.jsonl` after its header: one per revision.
    pub pages: usize,
}

#[derive(Debug, Error)]
pub enum WaczError {
    #[error(transparent)]
    Warc(#[from] WarcError),
    #[error("no WARC records to package: {0}")]
    Empty(&'static str),
    #[error("cannot write the package")]
    Output(#[source] io::Error),
    #[error("cannot write the package")]
    Zip(#[source] zip::result::ZipError),
    #[error(transparent)]
    Index(#[from] CdxjError),
}

/// Writes the package of the records of `warc_dir` in `scope` to `out`; `work` is a directory
/// (made and removed here) for sorting an index too large to sort in memory, `software` names
/// what made the package.
pub fn package<W: Write + Seek>(
    warc_dir: &Path,
    scope: &Scope,
    work: &Path,
    software: &str,
    out: W,
) -> Result<Packed, WaczError> {
    let selection = select::select(warc_dir, scope)?;
    if selection.files.is_empty() {
        return Err(WaczError::Empty(if scope.is_everything() {
            "the archive holds none"
        } else {
            "no revision was fetched in that scope"
        }));
    }
    let created = Utc::now();
    // Past 4 GiB an entry needs ZIP64 fields, which must be asked for before it is written.
    let largest = (selection.files.iter())
        .map(|(_, members)| members.values().sum::<u64>())
        .max()
        .unwrap_or(0);
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(zip_time(created))
        .large_file(largest >= u64::from(u32::MAX));
    let mut zip = ZipWriter::new(out);
    let mut resources = Vec::new();
    let mut packed = Packed {
        files: selection.files.len(),
        records: 0,
        pages: selection.pages.len(),
    };
    let mut index = Sorter::new(work);
    for (name, members) in &selection.files {
        let path = format!("archive/{name}");
        let mut entry = Entry::start(&mut zip, &path, options)?;
        let source = warc_dir.join(name);
        let mut file = File::open(&source).map_err(|source_error| WarcError::Io {
            action: "open",
            path: source.clone(),
            source: source_error,
        })?;
        let mut offset = 0u64;
        for (&at, &length) in members {
            let at = Location {
                file: name.clone(),
                offset: at,
                length,
            };
            let bytes = member_bytes(&mut file, &source, &at)?;
            let record = warc::decode_member(&bytes, &at)?;
            if let Some(line) = cdxj::line(&record, name, offset, length) {
                index.push(line)?;
            }
            entry.write_all(&bytes).map_err(WaczError::Output)?;
            offset += length;
            packed.records += 1;
        }
        resources.push(entry.finish(path));
    }
    let mut entry = Entry::start(&mut zip, "indexes/index.cdx", options)?;
    index.finish(&mut entry)?;
    resources.push(entry.finish("indexes/index.cdx".into()));
    let mut entry = Entry::start(&mut zip, "pages/pages.jsonl", options)?;
    let mut pages = String::from(PAGES_HEADER);
    pages.push('\n');
    for page in &selection.pages {
        // serde_json writes a struct of strings without fail.
        pages.push_str(&serde_json::to_string(page).unwrap_or_default());
        pages.push('\n');
    }
    entry
        .write_all(pages.as_bytes())
        .map_err(WaczError::Output)?;
    resources.push(entry.finish("pages/pages.jsonl".into()));
    let datapackage = DataPackage {
        profile: "data-package",
        wacz_version: WACZ_VERSION,
        title: "gazette archive",
        created: created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        software,
        resources,
    };
    let mut json = serde_json::to_vec_pretty(&datapackage).unwrap_or_default();
    json.push(b'\n');
    let digest = Digested {
        path: "datapackage.json",
        hash: format!("sha256:{}", hex::encode(Sha256::digest(&json))),
    };
    for (path, bytes) in [
        ("datapackage.json", json),
        (
            "datapackage-digest.json",
            serde_json::to_vec_pretty(&digest).unwrap_or_default(),
        ),
    ] {
        zip.start_file(path, options).map_err(WaczError::Zip)?;
        zip.write_all(&bytes).map_err(WaczError::Output)?;
    }
    let mut out = zip.finish().map_err(WaczError::Zip)?;
    out.flush().map_err(WaczError::Output)?;
    Ok(packed)
}

/// The bytes of the member `at` of the open file at `path`.
fn member_bytes(file: &mut File, path: &Path, at: &Location) -> Result<Vec<u8>, WarcError> {
    warc::check_location(at)?;
    let mut bytes = vec![0; at.length as usize];
    file.seek(SeekFrom::Start(at.offset))
        .and_then(|_| file.read_exact(&mut bytes))
        .map_err(|source| match source.kind() {
            io::ErrorKind::UnexpectedEof => WarcError::Corrupt {
                file: at.file.clone(),
                offset: at.offset,
                detail: "the file ends before the record".into(),
            },
            _ => WarcError::Io {
                action: "read",
                path: PathBuf::from(path),
                source,
            },
        })?;
    Ok(bytes)
}

/// The ZIP's time of `at` (ZIP times have no zone and two-second steps; UTC is written).
fn zip_time(at: DateTime<Utc>) -> zip::DateTime {
    zip::DateTime::from_date_and_time(
        u16::try_from(at.year()).unwrap_or(1980),
        at.month() as u8,
        at.day() as u8,
        at.hour() as u8,
        at.minute() as u8,
        at.second() as u8,
    )
    .unwrap_or_default()
}

/// `datapackage.json`.
#[derive(Serialize)]
struct DataPackage<'a> {
    profile: &'static str,
    wacz_version: &'static str,
    title: &'static str,
    created: String,
    software: &'a str,
    resources: Vec<Resource>,
}

/// A file of the package as `datapackage.json` lists it.
#[derive(Serialize)]
struct Resource {
    name: String,
    path: String,
    hash: String,
    bytes: u64,
}

/// `datapackage-digest.json`.
#[derive(Serialize)]
struct Digested {
    path: &'static str,
    hash: String,
}

/// One ZIP entry being written, its bytes counted and hashed for `datapackage.json`.
struct Entry<'z, W: Write + Seek> {
    zip: &'z mut ZipWriter<W>,
    hash: Sha256,
    bytes: u64,
}

impl<'z, W: Write + Seek> Entry<'z, W> {
    fn start(
        zip: &'z mut ZipWriter<W>,
        path: &str,
        options: SimpleFileOptions,
    ) -> Result<Self, WaczError> {
        zip.start_file(path, options).map_err(WaczError::Zip)?;
        Ok(Entry {
            zip,
            hash: Sha256::new(),
            bytes: 0,
        })
    }

    fn finish(self, path: String) -> Resource {
        Resource {
            // A data package's resource names are lower case (gazette's WARC file names are not).
            name: path
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            path,
            hash: format!("sha256:{}", hex::encode(self.hash.finalize())),
            bytes: self.bytes,
        }
    }
}

impl<W: Write + Seek> Write for Entry<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.zip.write(buf)?;
        self.hash.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.zip.flush()
    }
}
