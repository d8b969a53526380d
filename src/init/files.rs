//! Links to documents (attachments), known by what they are: an extension anywhere in the path
//! (`/documents/10180/12/Ke+hoach.pdf/6f1a…`, `/files/kh.pdf?v=2`), or a CMS's download handler
//! (`LinkClick.aspx?fileticket=…`, `index.php?option=com_attachments&task=download&id=12`).

/// Extensions of documents an article offers.
pub const DOCUMENT_EXTENSIONS: &[&str] = &[
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "rar", "7z", "odt", "ods", "rtf",
];
/// The document types an attachments selector always names, whether or not the sampled pages
/// linked one: what agencies publish.
pub const COMMON_DOCUMENTS: &[&str] = &[
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "rar",
];
/// Extensions of images: files, never article pages, never attachments.
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "gif", "webp", "bmp"];
/// Parts of a download handler's address, lowercase, and the CSS that finds such links.
pub const DOWNLOAD_PATTERNS: &[&str] = &[
    "linkclick.aspx",
    "task=download",
    "download.php",
    "download.aspx",
    "/download/",
    "get_file",
    "getfile",
    "attachment_id=",
    "?download",
    "&download",
    "/documents/",
];

/// The extension of each path segment: `Ke+hoach.pdf` -> `pdf`.
fn extensions(href: &str) -> impl Iterator<Item = String> + '_ {
    let path = href.split(['?', '#']).next().unwrap_or(href);
    path.split('/').filter_map(|segment| {
        let segment = segment.split(';').next().unwrap_or(segment);
        let (_, ext) = segment.rsplit_once('.')?;
        Some(ext.to_ascii_lowercase())
    })
}

/// True when the link's path names a document by its extension in any segment.
pub fn named_document(href: &str) -> bool {
    extensions(href).any(|ext| DOCUMENT_EXTENSIONS.contains(&ext.as_str()))
}

/// True when the link's path names an image file.
pub fn named_image(href: &str) -> bool {
    extensions(href)
        .last()
        .is_some_and(|ext| IMAGE_EXTENSIONS.contains(&ext.as_str()))
}

/// True when the link goes through a download handler a CMS uses.
pub fn download_handler(href: &str) -> bool {
    let lower = href.to_ascii_lowercase();
    DOWNLOAD_PATTERNS
        .iter()
        .any(|p| lower.contains(p) && (*p != "/documents/" || named_document(href)))
}

/// True when the link is a document by its address alone.
pub fn is_document(href: &str) -> bool {
    named_document(href) || download_handler(href)
}

/// True when the link is a file, never an article page: a document or an image.
pub fn is_file(href: &str) -> bool {
    is_document(href) || named_image(href)
}

/// True when a Content-Type says the response is a document, not a page.
pub fn document_type(content_type: &str) -> bool {
    let essence = crate::fetch::media_type(content_type);
    essence.starts_with("application/")
        && !matches!(
            essence.as_str(),
            "application/xhtml+xml" | "application/json" | "application/javascript"
        )
}

/// The CSS attribute tests that find document links in a block that also links pages: one per
/// extension and download pattern seen in `hrefs`.
pub fn selector_tests(hrefs: &[&str]) -> Vec<String> {
    let mut tests = Vec::new();
    for href in hrefs {
        for ext in extensions(href) {
            if DOCUMENT_EXTENSIONS.contains(&ext.as_str()) {
                let test = format!(r#"[href*=".{ext}" i]"#);
                if !tests.contains(&test) {
                    tests.push(test);
                }
            }
        }
        let lower = href.to_ascii_lowercase();
        for pattern in DOWNLOAD_PATTERNS
            .iter()
            .filter(|p| **p != "/documents/" && lower.contains(**p))
        {
            let test = format!(r#"[href*="{pattern}" i]"#);
            if !tests.contains(&test) {
                tests.push(test);
            }
        }
    }
    tests
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_known_by_extension_anywhere_or_by_handler() {
        for href in [
            "/Portals/0/VanBan/KH.pdf",
            "/documents/10180/12345/Ke+hoach+so+45.pdf/6f1a2b3c-4d5e",
            "/uploads/files/2021/kh-12.pdf?v=2",
            "/LinkClick.aspx?fileticket=AbC12xYz%3d&tabid=75&mid=420",
            "index.php?option=com_attachments&task=download&id=12",
            "download.php?id=55",
            "/download/1234/",
            "/system/files/2021-04/qd-12.docx?download=1",
        ] {
            assert!(is_document(href), "{href}");
        }
        for href in [
            "/tin-tuc/bao-cao-tong-ket-2020",
            "/index.php?option=com_content&view=article&id=12",
            "/images/anh.jpg",
            "/documents/gioi-thieu",
        ] {
            assert!(!is_document(href), "{href}");
        }
        assert!(is_file("/images/anh.JPG"));
    }

    #[test]
    fn selector_tests_follow_what_was_seen() {
        assert_eq!(
            selector_tests(&["/a/KH.pdf/uuid", "download.php?id=5", "/b.PDF"]),
            vec![
                r#"[href*=".pdf" i]"#.to_string(),
                r#"[href*="download.php" i]"#.to_string()
            ]
        );
    }
}
