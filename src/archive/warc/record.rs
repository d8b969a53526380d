//! Building records: WARC headers, HTTP blocks and their digests.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use data_encoding::BASE32;
use sha1::{Digest, Sha1};
use url::{Position, Url};

use super::RecordId;
use crate::model::Capture;

const CONFORMS_TO: &str =
    "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/";
const REVISIT_PROFILE: &str = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest";
const HTTP_RESPONSE: &str = "application/http;msgtype=response";
const HTTP_REQUEST: &str = "application/http;msgtype=request";

/// The `WARC-Type` of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordType {
    Warcinfo,
    Request,
    Response,
    Resource,
    Metadata,
    Revisit,
    /// A type gazette does not write (conversion, continuation, or an unknown one).
    Other(String),
}

impl RecordType {
    /// The name written in `WARC-Type`.
    pub fn as_str(&self) -> &str {
        match self {
            RecordType::Warcinfo => "warcinfo",
            RecordType::Request => "request",
            RecordType::Response => "response",
            RecordType::Resource => "resource",
            RecordType::Metadata => "metadata",
            RecordType::Revisit => "revisit",
            RecordType::Other(name) => name,
        }
    }

    /// The type a `WARC-Type` value names.
    pub fn from_name(name: &str) -> RecordType {
        match name {
            "warcinfo" => RecordType::Warcinfo,
            "request" => RecordType::Request,
            "response" => RecordType::Response,
            "resource" => RecordType::Resource,
            "metadata" => RecordType::Metadata,
            "revisit" => RecordType::Revisit,
            other => RecordType::Other(other.to_string()),
        }
    }

    /// Whether records of this type carry a `WARC-Payload-Digest`.
    fn has_payload(&self) -> bool {
        matches!(
            self,
            RecordType::Response | RecordType::Resource | RecordType::Revisit
        )
    }
}

/// The record a revisit points back to: the earlier capture of the same payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub id: RecordId,
    pub target_uri: String,
    pub date: DateTime<FixedOffset>,
}

/// One record ready to be written.
#[derive(Debug, Clone)]
pub struct Record {
    kind: RecordType,
    id: RecordId,
    /// Named fields after `WARC-Type` and `WARC-Record-ID`, in the order written.
    fields: Vec<(&'static str, String)>,
    content_type: &'static str,
    block: Vec<u8>,
    /// The payload digest, for the types that carry one.
    payload_digest: Option<String>,
}

/// `sha1:` and the RFC 4648 base32 of the SHA-1 of `bytes`, the form WARC tools write and check.
pub fn payload_digest(bytes: &[u8]) -> String {
    format!("sha1:{}", BASE32.encode(&Sha1::digest(bytes)))
}

impl Record {
    /// The record opening every file.
    pub(super) fn warcinfo(filename: &str, date: DateTime<Utc>) -> Record {
        let block = format!(
            "software: gazette/{}\r\nformat: WARC File Format 1.1\r\nconformsTo: {CONFORMS_TO}\r\n",
            env!("CARGO_PKG_VERSION")
        );
        Record {
            kind: RecordType::Warcinfo,
            id: RecordId::generate(),
            fields: vec![
                ("WARC-Date", warc_date(date.fixed_offset())),
                ("WARC-Filename", one_line(filename).into_owned()),
            ],
            content_type: "application/warc-fields",
            block: block.into_bytes(),
            payload_digest: None,
        }
    }

    /// The GET that fetched `url`, joined to the response it got.
    pub fn request(
        url: &Url,
        user_agent: &str,
        date: DateTime<FixedOffset>,
        response: &RecordId,
    ) -> Record {
        let mut host = url.host_str().unwrap_or_default().to_string();
        if let Some(port) = url.port() {
            host = format!("{host}:{port}");
        }
        let target = &url[Position::BeforePath..Position::AfterQuery];
        let target = if target.is_empty() { "/" } else { target };
        let block = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\n\r\n",
            one_line(target),
            one_line(&host),
            one_line(user_agent)
        );
        Record {
            kind: RecordType::Request,
            id: RecordId::generate(),
            fields: vec![
                ("WARC-Date", warc_date(date)),
                ("WARC-Target-URI", one_line(url.as_str()).into_owned()),
                ("WARC-Concurrent-To", response.to_string()),
            ],
            content_type: HTTP_REQUEST,
            block: block.into_bytes(),
            payload_digest: None,
        }
    }

    /// A fetched page or asset. The body was decoded by the HTTP client, so the stored headers
    /// say so: no `Content-Encoding` or `Transfer-Encoding`, and the body's real length.
    pub fn response(capture: &Capture, date: DateTime<FixedOffset>) -> Record {
        let mut block = http_head(capture);
        block.extend_from_slice(&capture.body);
        Record {
            kind: RecordType::Response,
            id: RecordId::generate(),
            fields: vec![
                ("WARC-Date", warc_date(date)),
                ("WARC-Target-URI", one_line(&capture.url).into_owned()),
            ],
            content_type: HTTP_RESPONSE,
            block,
            payload_digest: Some(payload_digest(&capture.body)),
        }
    }

    /// A `metadata` record of JSON about `target_uri`, referring to a record when there is one
    /// (a revision restored from an export without its page has none).
    pub fn note(
        json: Vec<u8>,
        refers_to: Option<&RecordId>,
        target_uri: &str,
        date: DateTime<FixedOffset>,
    ) -> Record {
        let mut fields = vec![
            ("WARC-Date", warc_date(date)),
            ("WARC-Target-URI", one_line(target_uri).into_owned()),
        ];
        if let Some(refers_to) = refers_to {
            fields.push(("WARC-Refers-To", refers_to.to_string()));
        }
        Record {
            kind: RecordType::Metadata,
            id: RecordId::generate(),
            fields,
            content_type: "application/json",
            block: json,
            payload_digest: None,
        }
    }

    /// The record, marked as written with `response` in one capture event (`WARC-Concurrent-To`):
    /// a revision's note written with the page it was read from.
    pub fn concurrent_to(mut self, response: &RecordId) -> Record {
        self.fields
            .push(("WARC-Concurrent-To", response.to_string()));
        self
    }

    /// A capture whose payload was stored before: its HTTP headers only, pointing at `original`.
    pub fn revisit(capture: &Capture, date: DateTime<FixedOffset>, original: &Original) -> Record {
        Record {
            kind: RecordType::Revisit,
            id: RecordId::generate(),
            fields: vec![
                ("WARC-Date", warc_date(date)),
                ("WARC-Target-URI", one_line(&capture.url).into_owned()),
                ("WARC-Profile", REVISIT_PROFILE.to_string()),
                ("WARC-Refers-To", original.id.to_string()),
                (
                    "WARC-Refers-To-Target-URI",
                    one_line(&original.target_uri).into_owned(),
                ),
                ("WARC-Refers-To-Date", warc_date(original.date)),
            ],
            content_type: HTTP_RESPONSE,
            block: http_head(capture),
            payload_digest: Some(payload_digest(&capture.body)),
        }
    }

    /// The `WARC-Record-ID` the record will be written with.
    pub fn id(&self) -> &RecordId {
        &self.id
    }

    /// `WARC-Type`.
    pub fn kind(&self) -> &RecordType {
        &self.kind
    }

    /// The payload digest, for response and revisit records.
    pub fn payload_digest(&self) -> Option<&str> {
        self.payload_digest.as_deref()
    }

    /// The record as written: header, CRLF, block, CRLF CRLF.
    pub(super) fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!(
            "WARC/1.1\r\nWARC-Type: {}\r\nWARC-Record-ID: {}\r\n",
            self.kind.as_str(),
            self.id
        );
        for (name, value) in &self.fields {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "WARC-Block-Digest: {}\r\n",
            payload_digest(&self.block)
        ));
        if let Some(digest) = self
            .payload_digest
            .as_ref()
            .filter(|_| self.kind.has_payload())
        {
            head.push_str(&format!("WARC-Payload-Digest: {digest}\r\n"));
        }
        head.push_str(&format!(
            "Content-Type: {}\r\nContent-Length: {}\r\n\r\n",
            self.content_type,
            self.block.len()
        ));
        let mut bytes = Vec::with_capacity(head.len() + self.block.len() + 4);
        bytes.extend_from_slice(head.as_bytes());
        bytes.extend_from_slice(&self.block);
        bytes.extend_from_slice(b"\r\n\r\n");
        bytes
    }
}

/// True when a response record made from `capture` gives back its URL, status and headers
/// exactly ([`ParsedRecord::capture`](super::ParsedRecord::capture)), so a revision's metadata
/// record need not repeat them. Not so when the HTTP client removed a `Content-Length` (it does
/// when it decodes a compressed body) or a value held control characters.
pub fn head_given_back(capture: &Capture) -> bool {
    if matches!(one_line(&capture.url), Cow::Owned(_)) {
        return false;
    }
    let head = http_head(capture);
    super::parse::http_head(&head).is_ok_and(|stored| {
        stored.status == Some(capture.status)
            && super::parse::received_headers(&stored.headers) == capture.headers
    })
}

/// The status line and headers of a capture, consistent with its decoded body, then CRLF.
fn http_head(capture: &Capture) -> Vec<u8> {
    let reason = http::StatusCode::from_u16(capture.status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("");
    let body_length = capture.body.len().to_string();
    let mut headers: Vec<(Cow<str>, Cow<str>)> = Vec::with_capacity(capture.headers.len() + 2);
    let mut has_length = false;
    for (name, value) in &capture.headers {
        let value = one_line(value);
        if name.eq_ignore_ascii_case("content-encoding") {
            headers.push(("X-Archive-Orig-Content-Encoding".into(), value));
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            headers.push(("X-Archive-Orig-Transfer-Encoding".into(), value));
        } else if name.eq_ignore_ascii_case("content-length") {
            if !has_length {
                headers.push((one_line(name), body_length.as_str().into()));
                has_length = true;
            }
            if value.trim() != body_length {
                headers.push(("X-Archive-Orig-Content-Length".into(), value));
            }
        } else {
            headers.push((one_line(name), value));
        }
    }
    if !has_length {
        headers.push(("Content-Length".into(), body_length.as_str().into()));
    }
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", capture.status);
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// A header value on one line: CR, LF and other controls would end or break the header.
fn one_line(text: &str) -> Cow<'_, str> {
    if text.chars().any(|c| c.is_control()) {
        Cow::Owned(
            text.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

/// `WARC-Date`: UTC, with a fraction only when the time has one.
fn warc_date(date: DateTime<FixedOffset>) -> String {
    date.with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
