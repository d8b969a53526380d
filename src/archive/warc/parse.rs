//! Reading a record back: WARC headers, block, the HTTP message inside, and digest checks.

use chrono::{DateTime, FixedOffset};
use data_encoding::{BASE32, HEXLOWER_PERMISSIVE};
use sha1::{Digest, Sha1};

use super::record::payload_digest;
use super::{RecordId, RecordType, WarcError};
use crate::model::Capture;

/// More header lines than any record gazette writes; a bound for damaged input.
const MAX_HEADER_LINES: usize = 1000;

/// One record as read from a file.
#[derive(Debug, Clone)]
pub struct ParsedRecord {
    kind: RecordType,
    id: RecordId,
    date: DateTime<FixedOffset>,
    headers: Vec<(String, String)>,
    block: Vec<u8>,
    http: Option<HttpHead>,
}

/// The head of the HTTP message in a request, response or revisit block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpHead {
    /// `GET / HTTP/1.1` or `HTTP/1.1 200 OK`.
    pub start_line: String,
    /// The status code, for a response.
    pub status: Option<u16>,
    /// Headers in the order stored.
    pub headers: Vec<(String, String)>,
    /// Where the body starts in the block.
    pub body_start: usize,
}

impl ParsedRecord {
    /// Parses the inflated bytes of one member; `file` and `offset` name it in errors.
    pub(super) fn parse(
        bytes: Vec<u8>,
        file: &str,
        offset: u64,
    ) -> Result<ParsedRecord, WarcError> {
        let corrupt = |detail: String| WarcError::Corrupt {
            file: file.to_string(),
            offset,
            detail,
        };
        let head_end = find(&bytes, b"\r\n\r\n")
            .ok_or_else(|| corrupt("the WARC header has no end".into()))?;
        let head = std::str::from_utf8(&bytes[..head_end])
            .map_err(|_| corrupt("the WARC header is not UTF-8".into()))?;
        let mut lines = head.split("\r\n");
        let version = lines.next().unwrap_or_default();
        if version != "WARC/1.1" && version != "WARC/1.0" {
            return Err(corrupt(format!(
                "not a WARC record (starts {:?})",
                clip(version)
            )));
        }
        let headers = header_fields(lines).map_err(corrupt)?;
        let field = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let missing = |name: &str| corrupt(format!("no {name} header"));
        let kind = RecordType::from_name(field("WARC-Type").ok_or_else(|| missing("WARC-Type"))?);
        let id = field("WARC-Record-ID").ok_or_else(|| missing("WARC-Record-ID"))?;
        let id =
            RecordId::parse(id).ok_or_else(|| corrupt(format!("bad WARC-Record-ID {id:?}")))?;
        let date = field("WARC-Date").ok_or_else(|| missing("WARC-Date"))?;
        let date = DateTime::parse_from_rfc3339(date)
            .map_err(|e| corrupt(format!("bad WARC-Date {date:?}: {e}")))?;
        let length = field("Content-Length").ok_or_else(|| missing("Content-Length"))?;
        let length: usize = length
            .parse()
            .map_err(|_| corrupt(format!("bad Content-Length {length:?}")))?;
        let block_start = head_end + 4;
        let block_end = block_start
            .checked_add(length)
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| corrupt(format!("Content-Length {length} runs past the record")))?;
        if bytes[block_end..] != *b"\r\n\r\n" {
            return Err(corrupt("the block is not followed by CRLF CRLF".into()));
        }
        let is_http = field("Content-Type")
            .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/http"));
        let mut block = bytes;
        block.truncate(block_end);
        block.drain(..block_start);
        let http = if is_http {
            Some(http_head(&block).map_err(corrupt)?)
        } else {
            None
        };
        Ok(ParsedRecord {
            kind,
            id,
            date,
            headers,
            block,
            http,
        })
    }

    /// `WARC-Type`.
    pub fn kind(&self) -> &RecordType {
        &self.kind
    }

    /// `WARC-Record-ID`.
    pub fn id(&self) -> &RecordId {
        &self.id
    }

    /// `WARC-Date`.
    pub fn date(&self) -> DateTime<FixedOffset> {
        self.date
    }

    /// Every WARC header, in the order stored.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first WARC header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The record's content block, `Content-Length` bytes.
    pub fn block(&self) -> &[u8] {
        &self.block
    }

    /// `WARC-Target-URI`.
    pub fn target_uri(&self) -> Option<&str> {
        self.header("WARC-Target-URI")
    }

    /// `WARC-Refers-To`: the response a metadata or revisit record is about.
    pub fn refers_to(&self) -> Option<RecordId> {
        self.header("WARC-Refers-To").and_then(RecordId::parse)
    }

    /// `WARC-Concurrent-To`: the response a request record belongs to.
    pub fn concurrent_to(&self) -> Option<RecordId> {
        self.header("WARC-Concurrent-To").and_then(RecordId::parse)
    }

    /// The HTTP message head, for records holding one.
    pub fn http(&self) -> Option<&HttpHead> {
        self.http.as_ref()
    }

    /// The page a response record was made from (see [`Record::response`](super::Record::response)):
    /// its URL, its status and headers as received, the ones the record renamed or rewrote given
    /// back, and its payload.
    pub fn capture(&self) -> Option<Capture> {
        let http = self.http.as_ref()?;
        Some(Capture {
            url: self.target_uri()?.to_string(),
            status: http.status?,
            headers: received_headers(&http.headers),
            body: self.payload()?.to_vec(),
        })
    }

    /// The payload: the HTTP body of a response, the whole block of a resource.
    pub fn payload(&self) -> Option<&[u8]> {
        match (&self.kind, &self.http) {
            (RecordType::Response, Some(http)) => Some(&self.block[http.body_start..]),
            (RecordType::Resource, _) => Some(&self.block),
            _ => None,
        }
    }
}

/// Checks `WARC-Block-Digest` and, where there is a payload, `WARC-Payload-Digest`.
pub fn verify_digests(record: &ParsedRecord) -> Result<(), WarcError> {
    if let Some(stated) = record.header("WARC-Block-Digest") {
        check(record, "block", stated, record.block())?;
    }
    // A revisit states the digest of a payload stored elsewhere.
    if let (Some(stated), Some(payload)) = (record.header("WARC-Payload-Digest"), record.payload())
    {
        check(record, "payload", stated, payload)?;
    }
    Ok(())
}

fn check(record: &ParsedRecord, part: &str, stated: &str, bytes: &[u8]) -> Result<(), WarcError> {
    let fail = |detail: String| WarcError::Digest {
        record: record.id.to_string(),
        detail,
    };
    let (algorithm, value) = stated
        .split_once(':')
        .ok_or_else(|| fail(format!("{part} digest {stated:?} names no algorithm")))?;
    if !algorithm.eq_ignore_ascii_case("sha1") {
        return Err(fail(format!(
            "{part} digest algorithm {algorithm:?} is not checked"
        )));
    }
    let decoded = BASE32
        .decode(value.to_ascii_uppercase().as_bytes())
        .or_else(|_| HEXLOWER_PERMISSIVE.decode(value.as_bytes()))
        .map_err(|_| {
            fail(format!(
                "{part} digest {stated:?} is neither base32 nor hex"
            ))
        })?;
    if decoded[..] != Sha1::digest(bytes)[..] {
        return Err(fail(format!(
            "{part} digest {stated} does not match the stored bytes ({})",
            payload_digest(bytes)
        )));
    }
    Ok(())
}

/// The headers as received, from the ones a response record stores: the encodings the HTTP client
/// undid and a `Content-Length` it changed are stored renamed (`X-Archive-Orig-…`).
pub(super) fn received_headers(stored: &[(String, String)]) -> Vec<(String, String)> {
    let mut received: Vec<(String, String)> = Vec::with_capacity(stored.len());
    for (name, value) in stored {
        let original = name
            .strip_prefix("X-Archive-Orig-")
            .map(str::to_ascii_lowercase);
        match original.as_deref() {
            Some("content-length") => match received
                .iter_mut()
                .rev()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            {
                Some((_, length)) => *length = value.clone(),
                None => received.push(("content-length".into(), value.clone())),
            },
            Some(original) => received.push((original.to_string(), value.clone())),
            None => received.push((name.clone(), value.clone())),
        }
    }
    received
}

/// `Name: value` lines, continuation lines folded into the value before them.
fn header_fields<'a>(
    lines: impl Iterator<Item = &'a str>,
) -> Result<Vec<(String, String)>, String> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for (index, line) in lines.enumerate() {
        if index >= MAX_HEADER_LINES {
            return Err(format!("more than {MAX_HEADER_LINES} header lines"));
        }
        if line.starts_with([' ', '\t']) {
            let (_, value) = fields
                .last_mut()
                .ok_or_else(|| "a continuation line opens the header".to_string())?;
            value.push(' ');
            value.push_str(line.trim());
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("header line without a colon: {:?}", clip(line)))?;
        fields.push((name.trim().to_string(), value.trim().to_string()));
    }
    Ok(fields)
}

/// The HTTP start line and headers at the front of a block.
pub(super) fn http_head(block: &[u8]) -> Result<HttpHead, String> {
    let end = find(block, b"\r\n\r\n").ok_or("the HTTP message has no header end")?;
    // Header bytes outside UTF-8 (Latin-1 values) are kept, replaced, rather than refused.
    let head = String::from_utf8_lossy(&block[..end]);
    let mut lines = head.split("\r\n");
    let start_line = lines.next().unwrap_or_default().to_string();
    let status = start_line
        .strip_prefix("HTTP/")
        .and_then(|rest| rest.split(' ').nth(1))
        .and_then(|code| code.parse().ok());
    Ok(HttpHead {
        start_line,
        status,
        headers: header_fields(lines)?,
        body_start: end + 4,
    })
}

/// The start of a damaged line, enough to recognise it in a message.
fn clip(line: &str) -> String {
    line.chars().take(40).collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::warc::Record;
    use crate::model::Capture;

    fn response_bytes() -> (Vec<u8>, usize) {
        let capture = Capture {
            url: "http://127.0.0.1/a".into(),
            status: 404,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: b"<p>gone</p>".to_vec(),
        };
        let date = DateTime::parse_from_rfc3339("2026-01-27T10:30:00Z").unwrap();
        let bytes = Record::response(&capture, date).to_bytes();
        let body_at = find(&bytes, b"<p>gone").unwrap();
        (bytes, body_at)
    }

    fn page(headers: &[(&str, &str)]) -> Capture {
        Capture {
            url: "http://127.0.0.1/a?b=1".into(),
            status: 200,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: b"<p>trang</p>".to_vec(),
        }
    }

    fn read_back(capture: &Capture) -> Capture {
        let date = DateTime::parse_from_rfc3339("2026-01-27T10:30:00Z").unwrap();
        let bytes = Record::response(capture, date).to_bytes();
        ParsedRecord::parse(bytes, "f", 0)
            .unwrap()
            .capture()
            .unwrap()
    }

    #[test]
    fn a_response_record_gives_back_the_head_as_received_or_says_it_cannot() {
        use crate::archive::warc::head_given_back;
        let given_back = [
            page(&[("content-type", "text/html"), ("content-length", "12")]),
            // A body the client decoded: its encoding and length are stored renamed.
            page(&[
                ("content-encoding", "gzip"),
                ("content-type", "text/html"),
                ("content-length", "31"),
                ("transfer-encoding", "chunked"),
            ]),
        ];
        for capture in &given_back {
            assert!(head_given_back(capture), "{capture:?}");
            assert_eq!(&read_back(capture), capture);
        }
        let kept_apart = [
            // The client removed the length: the record adds one.
            page(&[("content-type", "text/html")]),
            // Renamed headers come back in lower case.
            page(&[("Content-Encoding", "gzip"), ("content-length", "31")]),
            // A control character is replaced in the record.
            page(&[("x-note", "a\u{7}b"), ("content-length", "12")]),
        ];
        for capture in &kept_apart {
            assert!(!head_given_back(capture), "{capture:?}");
            assert_ne!(read_back(capture).headers, capture.headers);
        }
    }

    #[test]
    fn digests_hold_and_a_flipped_byte_is_named() {
        let (bytes, body_at) = response_bytes();
        let record = ParsedRecord::parse(bytes.clone(), "f", 0).unwrap();
        assert_eq!(record.http().unwrap().start_line, "HTTP/1.1 404 Not Found");
        verify_digests(&record).unwrap();

        let mut in_body = bytes.clone();
        in_body[body_at + 3] ^= 1;
        let error = verify_digests(&ParsedRecord::parse(in_body, "f", 0).unwrap()).unwrap_err();
        assert!(error.to_string().contains("block digest"), "{error}");

        // A changed header leaves the payload digest true and the block digest false.
        let mut in_head = bytes;
        let header_at = find(&in_head, b"text/html").unwrap();
        in_head[header_at] = b'T';
        let record = ParsedRecord::parse(in_head, "f", 0).unwrap();
        let error = verify_digests(&record).unwrap_err();
        assert!(error.to_string().contains("block digest"), "{error}");
        let payload = record.header("WARC-Payload-Digest").unwrap();
        check(&record, "payload", payload, record.payload().unwrap()).unwrap();
    }

    #[test]
    fn a_record_without_its_required_headers_is_corrupt() {
        let (bytes, _) = response_bytes();
        let text = String::from_utf8(bytes).unwrap();
        let without_date: String = text
            .split_inclusive("\r\n")
            .filter(|line| !line.starts_with("WARC-Date"))
            .collect();
        let error = ParsedRecord::parse(without_date.into_bytes(), "f.warc.gz", 7).unwrap_err();
        assert_eq!(
            error.to_string(),
            "f.warc.gz at byte 7: no WARC-Date header"
        );
        let error = ParsedRecord::parse(b"HTTP/1.1 200 OK\r\n\r\n".to_vec(), "f", 0).unwrap_err();
        assert!(error.to_string().contains("not a WARC record"), "{error}");
    }
}
