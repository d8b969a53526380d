//! Telling an HTML answer from an image, a PDF or another file served at a page's address.

/// File signatures of what a portal serves besides pages, with their media types.
const SIGNATURES: &[(&[u8], &str)] = &[
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "application/x-ole-storage",
    ),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "application/ogg"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
    (b"wOFF", "font/woff"),
    (b"wOF2", "font/woff2"),
];

/// The media type of a page that is not HTML, or `None` for an HTML page.
///
/// A declared HTML type is taken at its word unless the bytes are a known file format. With no
/// type, the bytes decide. A declared other type is refused, unless it is a generic one
/// (`text/plain`, `application/octet-stream`) and the bytes start with markup: legacy servers
/// mislabel pages.
pub fn not_html(bytes: &[u8], content_type: Option<&str>) -> Option<String> {
    let sniffed = signature(bytes);
    let declared = content_type
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|t| !t.is_empty());
    match declared {
        None => sniffed.map(str::to_string),
        Some(declared) if is_html(&declared) => sniffed.map(str::to_string),
        Some(declared) => {
            let generic = matches!(
                declared.as_str(),
                "text/plain" | "application/octet-stream" | "application/x-unknown"
            );
            if generic && sniffed.is_none() && starts_with_markup(bytes) {
                None
            } else {
                Some(declared)
            }
        }
    }
}

fn is_html(media_type: &str) -> bool {
    matches!(media_type, "text/html" | "application/xhtml+xml")
}

fn signature(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return Some("video/mp4");
    }
    SIGNATURES
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|(_, media_type)| *media_type)
}

/// The first character after a byte order mark and white space is `<`.
fn starts_with_markup(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'<')
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn declared_types_decide() {
        assert_eq!(
            not_html(b"<p>x", Some("image/png")).as_deref(),
            Some("image/png")
        );
        assert_eq!(not_html(b"<p>x", Some("text/html; charset=utf-8")), None);
        assert_eq!(not_html(b"<p>x", Some("TEXT/HTML")), None);
        assert_eq!(
            not_html(b"%PDF-1.4", Some("application/pdf; x=y")).as_deref(),
            Some("application/pdf")
        );
    }

    #[test]
    fn bytes_decide_without_a_type_or_against_an_html_one() {
        assert_eq!(not_html(PNG, None).as_deref(), Some("image/png"));
        assert_eq!(
            not_html(PNG, Some("text/html")).as_deref(),
            Some("image/png")
        );
        assert_eq!(
            not_html(b"%PDF-1.7\n", None).as_deref(),
            Some("application/pdf")
        );
        assert_eq!(not_html(b"Tin t\xe1\xbb\xa9c", None), None);
    }

    #[test]
    fn mislabelled_pages_are_read() {
        assert_eq!(not_html(b"\n <html><p>x", Some("text/plain")), None);
        assert_eq!(
            not_html(b"plain words", Some("text/plain")).as_deref(),
            Some("text/plain")
        );
        assert_eq!(
            not_html(PNG, Some("application/octet-stream")).as_deref(),
            Some("application/octet-stream")
        );
    }
}
