//! Enclosures: the files an article links (its attachments, and in JSON Feed its first image),
//! with the type and length a reader needs before downloading them.

use std::collections::HashMap;

use crate::model::{Archived, Attachment};

/// The type written when neither a capture nor the URL's extension tells one.
const UNKNOWN_TYPE: &str = "application/octet-stream";

/// What the archive knows of a captured file: gathered by the server when a feed is rendered,
/// so that the renderers stay pure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetFacts {
    /// The essence of the captured `Content-Type`, e.g. `application/pdf`.
    pub mime_type: String,
    /// Bytes of the captured payload.
    pub length: u64,
}

/// Captured files by URL, as the archive names them.
pub type Assets = HashMap<String, AssetFacts>;

/// One file as a feed describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enclosure {
    pub url: String,
    pub title: String,
    pub mime_type: String,
    /// Known only for a captured file.
    pub length: Option<u64>,
}

/// The URLs of the files a feed links for these items: what the server looks up.
pub fn linked_files(items: &[Archived]) -> impl Iterator<Item = &str> {
    items.iter().flat_map(|item| {
        let article = &item.article;
        article
            .attachments
            .iter()
            .map(|a| a.url.as_str())
            .chain(article.images.first().map(|i| i.url.as_str()))
    })
}

/// An attachment as an enclosure: the captured type and length where there is a capture, else
/// the type the URL's extension names and no length.
pub fn enclosure(assets: &Assets, attachment: &Attachment) -> Enclosure {
    let (mime_type, length) = facts(assets, &attachment.url);
    Enclosure {
        url: attachment.url.clone(),
        title: attachment.title.clone(),
        mime_type,
        length,
    }
}

/// The type and length of the file at `url`: captured, else guessed from its extension.
pub fn facts(assets: &Assets, url: &str) -> (String, Option<u64>) {
    match assets.get(url) {
        Some(facts) if !facts.mime_type.is_empty() => (facts.mime_type.clone(), Some(facts.length)),
        Some(facts) => (type_of_url(url), Some(facts.length)),
        None => (type_of_url(url), None),
    }
}

/// The media type a URL's extension names (`.pdf`: `application/pdf`), or
/// `application/octet-stream`.
pub fn type_of_url(url: &str) -> String {
    let path = url::Url::parse(url)
        .map(|u| u.path().to_string())
        .unwrap_or_else(|_| url.to_string());
    mime_guess::from_path(&path)
        .first_raw()
        .unwrap_or(UNKNOWN_TYPE)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_facts_win_over_the_extension() {
        let url = "https://x/Attachments/1236/BC-6T-2020.pdf";
        let mut assets = Assets::new();
        assert_eq!(facts(&assets, url), ("application/pdf".into(), None));
        assets.insert(
            url.into(),
            AssetFacts {
                mime_type: "application/x-pdf".into(),
                length: 1234,
            },
        );
        assert_eq!(
            facts(&assets, url),
            ("application/x-pdf".into(), Some(1234))
        );
    }

    #[test]
    fn the_extension_table_knows_office_files_and_images() {
        assert_eq!(type_of_url("https://x/a/Phu-luc.doc"), "application/msword");
        assert_eq!(type_of_url("https://x/a/b.JPG?x=1"), "image/jpeg");
        assert_eq!(type_of_url("https://x/a/b"), UNKNOWN_TYPE);
    }
}
