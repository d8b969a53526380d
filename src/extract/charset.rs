//! Turning a page's bytes into text, in the order the WHATWG encoding standard and browsers
//! use: a byte order mark first, then the HTTP charset, then a `<meta>` declaration, then a
//! guess tuned for Vietnamese.

use encoding_rs::{Encoding, UTF_8};

/// How far into the page a `<meta>` charset declaration is looked for.
const META_SCAN_BYTES: usize = 4096;

/// Decodes a page; returns the text and the encoding used.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> (String, &'static Encoding) {
    let (encoding, bom_length) = detect(bytes, content_type);
    let body = &bytes[bom_length..];
    let (text, _) = encoding.decode_without_bom_handling(body);
    (text.into_owned(), encoding)
}

fn detect(bytes: &[u8], content_type: Option<&str>) -> (&'static Encoding, usize) {
    // A BOM outranks the header: a server's default charset is often wrong, a BOM never is.
    if let Some((encoding, length)) = Encoding::for_bom(bytes) {
        return (encoding, length);
    }
    if let Some(encoding) = content_type.and_then(header_charset) {
        return (html_compatible(encoding), 0);
    }
    if let Some(encoding) = meta_charset(&bytes[..bytes.len().min(META_SCAN_BYTES)]) {
        return (html_compatible(encoding), 0);
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    (
        detector.guess(Some(b"vn"), chardetng::Utf8Detection::Allow),
        0,
    )
}

/// The `charset` parameter of a Content-Type header.
fn header_charset(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(value.trim().trim_matches(['"', '\'']).as_bytes())
    })
}

/// `<meta charset="…">` or `<meta http-equiv="Content-Type" content="…; charset=…">`.
fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let lower = head.to_ascii_lowercase();
    let mut rest = &lower[..];
    while let Some(start) = find(rest, b"<meta") {
        let tag = &rest[start..];
        let end = tag.iter().position(|&b| b == b'>').unwrap_or(tag.len());
        let tag = &tag[..end];
        if let Some(at) = find(tag, b"charset") {
            let value = tag[at + b"charset".len()..]
                .iter()
                .skip_while(|b| {
                    b.is_ascii_whitespace() || **b == b'=' || **b == b'"' || **b == b'\''
                })
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
                .copied()
                .collect::<Vec<u8>>();
            if let Some(encoding) = Encoding::for_label(&value) {
                return Some(encoding);
            }
        }
        rest = &rest[start + end.max(1)..];
    }
    None
}

/// A page cannot really be UTF-16 if its declaration was readable as ASCII (HTML's rule).
fn html_compatible(encoding: &'static Encoding) -> &'static Encoding {
    if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
        UTF_8
    } else {
        encoding
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_charset_wins_over_meta() {
        let page = b"<meta charset=\"utf-8\"><p>\xd0</p>";
        let (_, encoding) = decode(page, Some("text/html; charset=windows-1258"));
        assert_eq!(encoding.name(), "windows-1258");
    }

    #[test]
    fn meta_http_equiv_is_read() {
        let page =
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1258\" />";
        let (_, encoding) = decode(page, Some("text/html"));
        assert_eq!(encoding.name(), "windows-1258");
    }

    #[test]
    fn a_bom_wins_over_the_header() {
        let (text, encoding) = decode(
            b"\xef\xbb\xbf<meta charset=\"windows-1258\"><p>Qu\xe1\xba\xa3n l\xc3\xbd</p>",
            Some("text/html; charset=iso-8859-1"),
        );
        assert_eq!(encoding, UTF_8);
        assert!(text.starts_with("<meta"), "the BOM is dropped: {text:?}");
        assert!(text.contains("Quản lý"), "{text}");
    }

    #[test]
    fn bom_is_used_and_dropped() {
        let (text, encoding) = decode(b"\xef\xbb\xbfxin ch\xc3\xa0o", None);
        assert_eq!(encoding, UTF_8);
        assert_eq!(text, "xin chào");
    }

    #[test]
    fn undeclared_utf8_vietnamese_is_guessed() {
        let (text, encoding) = decode(
            "<p>Ban Quản lý Khu kinh tế tỉnh Kiên Giang</p>".as_bytes(),
            None,
        );
        assert_eq!(encoding, UTF_8);
        assert!(text.contains("Quản lý"));
    }
}
