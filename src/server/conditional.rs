//! HTTP caching rules shared by every answer that has validators: conditional requests
//! (`If-None-Match`, `If-Modified-Since`), content negotiation and compression.

use std::io::Write;
use std::time::SystemTime;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

/// `If-None-Match` by weak comparison (RFC 9110 §13.1.2): `W/` prefixes are ignored, `*` matches
/// anything.
pub fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let opaque = |tag: &str| {
        let tag = tag.trim();
        tag.strip_prefix("W/").unwrap_or(tag).to_string()
    };
    if_none_match
        .split(',')
        .any(|tag| tag.trim() == "*" || opaque(tag) == opaque(etag))
}

/// Whether the client's copy is current (RFC 9110 order: `If-None-Match` decides when present,
/// else `If-Modified-Since`).
pub fn not_modified(headers: &HeaderMap, etag: &str, last_modified: SystemTime) -> bool {
    match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(tags) => etag_matches(tags, etag),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| since >= truncate_to_second(last_modified)),
    }
}

/// A 304 with the given headers and no `Content-Length` (RFC 9110 §15.4.5).
///
/// The body's length is left unknown on purpose: the router writes `Content-Length: 0` for a body
/// of known length, and hyper sends no body with a 304 whatever it is given.
pub fn not_modified_response(headers: HeaderMap) -> Response {
    let no_length = futures_util::stream::empty::<Result<Bytes, std::convert::Infallible>>();
    let mut response = Response::new(Body::from_stream(no_length));
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    *response.headers_mut() = headers;
    response
}

/// A content coding gazette can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Encoding {
    /// The best coding the client accepts (`Accept-Encoding`): brotli, then gzip, then none.
    pub fn negotiate(headers: &HeaderMap) -> Encoding {
        let accept = headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let accepts = |name: &str| {
            accept.split(',').any(|part| {
                let mut pieces = part.split(';');
                let coding = pieces.next().unwrap_or_default().trim();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                coding.eq_ignore_ascii_case(name) && q > 0.0
            })
        };
        if accepts("br") {
            Encoding::Brotli
        } else if accepts("gzip") {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    /// The `Content-Encoding` value; `None` for identity.
    pub fn token(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Brotli => Some("br"),
        }
    }

    /// The strong ETag of this coding of a representation whose identity tag is `tag`: each
    /// coding is a representation of its own.
    pub fn etag(self, tag: &str) -> String {
        match self.token() {
            None => format!("\"{tag}\""),
            Some(token) => format!("\"{tag}-{token}\""),
        }
    }

    /// `body` in this coding. CPU-bound: call it off the async workers.
    pub fn compress(self, body: &[u8]) -> Vec<u8> {
        match self {
            Encoding::Identity => body.to_vec(),
            Encoding::Gzip => gzip(body),
            Encoding::Brotli => brotli(body),
        }
    }
}

fn truncate_to_second(time: SystemTime) -> SystemTime {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    match encoder.write_all(body).and_then(|_| encoder.finish()) {
        Ok(out) => out,
        Err(err) => {
            tracing::error!(%err, "gzip failed");
            Vec::new()
        }
    }
}

fn brotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 9,
        ..Default::default()
    };
    if let Err(err) = brotli::BrotliCompress(&mut &body[..], &mut out, &params) {
        tracing::error!(%err, "brotli failed");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_compare_weakly() {
        assert!(etag_matches("\"a\"", "\"a\""));
        assert!(etag_matches("W/\"a\"", "\"a\""));
        assert!(etag_matches("\"b\", W/\"a\"", "W/\"a\""));
        assert!(etag_matches("*", "\"a\""));
        assert!(!etag_matches("\"a-gzip\"", "\"a\""));
        assert!(!etag_matches("\"b\"", "\"a\""));
    }

    #[test]
    fn brotli_is_preferred_and_q_zero_refuses() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, "gzip, br;q=0".parse().unwrap());
        assert_eq!(Encoding::negotiate(&headers), Encoding::Gzip);
        headers.insert(header::ACCEPT_ENCODING, "gzip, br".parse().unwrap());
        assert_eq!(Encoding::negotiate(&headers), Encoding::Brotli);
        assert_eq!(Encoding::negotiate(&HeaderMap::new()), Encoding::Identity);
    }
}
