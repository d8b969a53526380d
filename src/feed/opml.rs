//! OPML 2.0: the list of feeds a reader imports in one go.

use chrono::{DateTime, FixedOffset};

use super::{Format, rfc822, text};

/// One feed in an OPML subscription list.
#[derive(Debug, Clone)]
pub struct OpmlFeed {
    /// Shown by the reader: name the format in it, e.g. "… (Atom)", since every outline says
    /// `type="rss"`.
    pub title: String,
    /// Where the feed is served.
    pub xml_url: url::Url,
    /// The portal page the feed follows.
    pub html_url: url::Url,
    /// The feed's format.
    pub format: Format,
}

/// An OPML 2.0 document listing `feeds` for import into a reader, created at `created`.
///
/// Every outline has `type="rss"` whatever the format, as readers expect (an RSS feed also gets
/// `version="RSS2"`); the title, written as `text` and `title`, is what tells the formats apart.
pub fn opml(title: &str, feeds: &[OpmlFeed], created: DateTime<FixedOffset>) -> Vec<u8> {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<opml version=\"2.0\">\n");
    out.push_str("  <head>\n    <title>");
    escape_into(&mut out, title);
    out.push_str("</title>\n    <dateCreated>");
    out.push_str(&rfc822(created));
    out.push_str("</dateCreated>\n  </head>\n  <body>\n");
    for feed in feeds {
        out.push_str("    <outline type=\"rss\"");
        if feed.format == Format::Rss {
            out.push_str(" version=\"RSS2\"");
        }
        for (attribute, value) in [
            ("text", feed.title.as_str()),
            ("title", feed.title.as_str()),
            ("xmlUrl", feed.xml_url.as_str()),
            ("htmlUrl", feed.html_url.as_str()),
        ] {
            out.push(' ');
            out.push_str(attribute);
            out.push_str("=\"");
            escape_into(&mut out, value);
            out.push('"');
        }
        out.push_str("/>\n");
    }
    out.push_str("  </body>\n</opml>\n");
    out.into_bytes()
}

/// Escapes text for XML content and double-quoted attributes, after removing the characters XML
/// forbids. Whitespace other than spaces is written as a reference so attribute normalisation
/// keeps it. (`html::escape_into` is for HTML: it drops no-break spaces.)
fn escape_into(out: &mut String, value: &str) {
    for c in text(value).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}
