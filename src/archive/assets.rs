//! Attachments and images captured beside articles. Each capture is a `request` and a `response`
//! record, or, when a response with the same payload digest is already stored (under any URL), a
//! `request` and a `revisit` record (identical-payload-digest profile) referring to that first
//! response: the bytes are kept once. The index keeps, per asset URL, what a feed enclosure or a
//! download needs ([`AssetInfo`]) and, per payload digest, the response holding those bytes.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use sled::Batch;
use url::Url;

use super::ArchiveError;
use super::index::{self, Span};
use super::warc::{self, Location, Original, ParsedRecord, Record, RecordId, RecordType};
use crate::model::{AssetInfo, Capture, RecordLocation, Validators};

/// One fetched asset to store.
#[derive(Debug, Clone)]
pub struct AssetIngest {
    /// The URL the article links; the capture's own URL is where redirects ended.
    pub url: String,
    pub capture: Capture,
    pub fetched_at: DateTime<FixedOffset>,
    /// The `User-Agent` it was fetched with, for the request record.
    pub user_agent: String,
    /// Its `ETag` and `Last-Modified`, for the next, conditional, fetch.
    pub validators: Validators,
}

/// The index record of an asset URL (tree `assets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct AssetEntry {
    pub info: AssetInfo,
    #[serde(default)]
    pub validators: Validators,
}

/// The index record of a payload digest (tree `payloads`): the first response holding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct PayloadEntry {
    #[serde(rename = "i")]
    pub id: RecordId,
    #[serde(rename = "u")]
    pub target_uri: String,
    #[serde(rename = "d")]
    pub date: DateTime<FixedOffset>,
    #[serde(rename = "l")]
    pub response: Span,
}

/// The records of one asset capture: its request (when the URL parses) and its response, or its
/// revisit of `original`. The payload record is always the last.
pub(super) fn records(ingest: &AssetIngest, original: Option<&PayloadEntry>) -> Vec<Record> {
    let date = ingest.fetched_at;
    let payload = match original {
        Some(original) => Record::revisit(
            &ingest.capture,
            date,
            &Original {
                id: original.id.clone(),
                target_uri: original.target_uri.clone(),
                date: original.date,
            },
        ),
        None => Record::response(&ingest.capture, date),
    };
    let request = Url::parse(&ingest.capture.url)
        .ok()
        .map(|url| Record::request(&url, &ingest.user_agent, date, payload.id()));
    request.into_iter().chain([payload]).collect()
}

/// What the index keeps once `records` are written at `locations`: the asset's entry and, for a
/// new payload, its digest's entry.
pub(super) fn indexed(
    ingest: &AssetIngest,
    digest: &str,
    original: Option<PayloadEntry>,
    records: &[Record],
    locations: &[Location],
) -> Result<(AssetEntry, Option<PayloadEntry>), ArchiveError> {
    let (Some(record), Some(location)) = (records.last(), locations.last()) else {
        return Err(ArchiveError::Writer(
            "an asset capture wrote no record".into(),
        ));
    };
    let revisit = original.is_some();
    let first = match original {
        Some(original) => original,
        None => PayloadEntry {
            id: record.id().clone(),
            target_uri: ingest.capture.url.clone(),
            date: ingest.fetched_at,
            response: Span::from(location),
        },
    };
    let info = AssetInfo {
        url: ingest.url.clone(),
        mime_type: mime_type(&ingest.capture),
        length: ingest.capture.body.len() as u64,
        digest: digest.to_string(),
        captured_at: ingest.fetched_at,
        record: RecordLocation {
            file: first.response.0.clone(),
            offset: first.response.1,
            length: first.response.2,
        },
        revisit,
    };
    let entry = AssetEntry {
        info,
        validators: ingest.validators.clone(),
    };
    Ok((entry, (!revisit).then_some(first)))
}

/// The bytes of a captured asset, read back from the response record its entry names.
pub(super) fn read_capture(
    records: &super::remote::Records,
    info: &AssetInfo,
) -> Result<Capture, ArchiveError> {
    let at = Location {
        file: info.record.file.clone(),
        offset: info.record.offset,
        length: info.record.length,
    };
    let record = records.read(&at)?;
    let corrupt = |detail: &str| ArchiveError::Corrupt {
        key: format!("{} at byte {}", at.file, at.offset),
        detail: detail.to_string(),
    };
    let body = record
        .payload()
        .ok_or_else(|| corrupt("the response record holds no HTTP body"))?;
    if warc::payload_digest(body) != info.digest {
        return Err(corrupt("the payload does not match the asset's digest"));
    }
    let http = record
        .http()
        .ok_or_else(|| corrupt("the response record holds no HTTP message"))?;
    Ok(Capture {
        url: info.url.clone(),
        status: http.status.unwrap_or(200),
        headers: http.headers.clone(),
        body: body.to_vec(),
    })
}

/// The media type of a captured asset: the `Content-Type` header's essence, else what the first
/// bytes are, else the URL's extension, else `application/octet-stream`.
pub fn mime_type(capture: &Capture) -> String {
    media_type(capture.content_type(), &capture.body, &capture.url)
}

fn media_type(content_type: Option<&str>, body: &[u8], url: &str) -> String {
    let declared = content_type
        .map(crate::fetch::media_type)
        .filter(|essence| essence.contains('/') && essence != "application/octet-stream");
    declared
        .or_else(|| sniffed(body).map(str::to_string))
        .or_else(|| by_extension(url).map(str::to_string))
        .unwrap_or_else(|| "application/octet-stream".to_string())
}

/// One `response` or `revisit` a rebuild's scan met, until it is known whether it is an
/// article's page (referred to by a revision) or an asset.
struct Seen {
    id: RecordId,
    entry: AssetEntry,
    /// For a revisit: the response holding the bytes.
    refers_to: Option<RecordId>,
}

/// The assets a rebuild finds in the WARC files: every `response` no revision refers to, and
/// every `revisit`, indexed under its target URI (the URL linked, unless it redirected).
#[derive(Default)]
pub(super) struct Found {
    seen: Vec<Seen>,
}

impl Found {
    /// Notes a record of the scan, in file order.
    pub fn see(&mut self, at: &Location, record: &ParsedRecord) {
        let revisit = match record.kind() {
            RecordType::Response => false,
            RecordType::Revisit => true,
            _ => return,
        };
        let (Some(url), Some(http), Some(digest)) = (
            record.target_uri(),
            record.http(),
            record.header("WARC-Payload-Digest"),
        ) else {
            return;
        };
        let header = |name: &str| {
            http.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let body = record.payload().unwrap_or_default();
        let length = match revisit {
            false => body.len() as u64,
            true => header("content-length")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
        };
        let info = AssetInfo {
            url: url.to_string(),
            mime_type: media_type(header("content-type").as_deref(), body, url),
            length,
            digest: digest.to_string(),
            captured_at: record.date(),
            record: RecordLocation {
                file: at.file.clone(),
                offset: at.offset,
                length: at.length,
            },
            revisit,
        };
        self.seen.push(Seen {
            id: record.id().clone(),
            entry: AssetEntry {
                info,
                validators: Validators {
                    etag: header("etag"),
                    last_modified: header("last-modified"),
                },
            },
            refers_to: revisit.then(|| record.refers_to()).flatten(),
        });
    }

    /// Writes the index records of the assets into `assets` and `payloads`, skipping the article
    /// pages (`pages`); returns how many asset URLs it indexed.
    pub fn index(
        self,
        pages: &HashSet<RecordId>,
        responses: &HashMap<RecordId, Span>,
        assets: &mut Batch,
        payloads: &mut Batch,
    ) -> usize {
        let mut urls = HashSet::new();
        let mut digests = HashSet::new();
        for seen in self.seen {
            if pages.contains(&seen.id) {
                continue;
            }
            let mut entry = seen.entry;
            if let Some(original) = &seen.refers_to {
                // A revisit reads its bytes from the response it refers to.
                let Some(span) = responses.get(original) else {
                    continue;
                };
                entry.info.record = RecordLocation {
                    file: span.0.clone(),
                    offset: span.1,
                    length: span.2,
                };
            } else if digests.insert(entry.info.digest.clone()) {
                let first = PayloadEntry {
                    id: seen.id.clone(),
                    target_uri: entry.info.url.clone(),
                    date: entry.info.captured_at,
                    response: Span(
                        entry.info.record.file.clone(),
                        entry.info.record.offset,
                        entry.info.record.length,
                    ),
                };
                payloads.insert(entry.info.digest.as_bytes(), index::encode(&first));
            }
            urls.insert(entry.info.url.clone());
            assets.insert(entry.info.url.as_bytes(), index::encode(&entry));
        }
        urls.len()
    }
}

/// The media types whose signatures are certain from the first bytes.
fn sniffed(body: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"%PDF-", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        // OLE2 compound file: the old Office formats (.doc, .xls); Word is what portals link.
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword"),
    ];
    SIGNATURES
        .iter()
        .find(|(signature, _)| body.starts_with(signature))
        .map(|(_, mime)| *mime)
}

fn by_extension(url: &str) -> Option<&'static str> {
    let path = Url::parse(url).ok()?.path().to_ascii_lowercase();
    let extension = path.rsplit_once('.')?.1.to_string();
    Some(match extension.as_str() {
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "zip" => "application/zip",
        "rar" => "application/vnd.rar",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(url: &str, content_type: Option<&str>, body: &[u8]) -> Capture {
        Capture {
            url: url.into(),
            status: 200,
            headers: content_type
                .map(|v| vec![("content-type".to_string(), v.to_string())])
                .unwrap_or_default(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn the_header_wins_then_the_bytes_then_the_extension() {
        let pdf = b"%PDF-1.4 ...";
        let cases = [
            (
                capture("http://h/a.bin", Some("Application/PDF; x=1"), b""),
                "application/pdf",
            ),
            (capture("http://h/a", None, pdf), "application/pdf"),
            (
                capture("http://h/a.doc", Some("application/octet-stream"), b"?"),
                "application/msword",
            ),
            (
                capture("http://h/a.DOCX", None, b"PK\x03\x04"),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            (
                capture("http://h/a", Some("bogus"), b"??"),
                "application/octet-stream",
            ),
        ];
        for (capture, want) in cases {
            assert_eq!(mime_type(&capture), want, "{capture:?}");
        }
    }
}
