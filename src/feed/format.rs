//! The feed formats: the one table of what each is called, served as and rendered by.

use super::FeedMeta;
use crate::model::Archived;

/// A feed format gazette serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    /// Every format, in the order indexes and lists show them.
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    /// The format a file extension (`rss`, `atom`, `json`) names.
    pub fn from_extension(ext: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.extension() == ext)
    }

    /// The file extension of the format's URLs.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }

    /// The media type, as autodiscovery links write it.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
            Format::Json => "application/feed+json",
        }
    }

    /// The `Content-Type` a document of this format is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }

    /// What a reader calls the format, e.g. in a feed's title in OPML.
    pub fn name(self) -> &'static str {
        match self {
            Format::Rss => "RSS",
            Format::Atom => "Atom",
            Format::Json => "JSON Feed",
        }
    }

    /// The document's bytes.
    pub fn render(self, meta: &FeedMeta, items: &[Archived]) -> Vec<u8> {
        match self {
            Format::Rss => super::rss(meta, items),
            Format::Atom => super::atom(meta, items),
            Format::Json => super::json(meta, items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_round_trip() {
        for format in Format::ALL {
            assert_eq!(Format::from_extension(format.extension()), Some(format));
            assert!(format.content_type().starts_with(format.media_type()));
        }
        assert_eq!(Format::from_extension("xml"), None);
    }
}
