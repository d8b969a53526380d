//! The HTML every format carries as an item's content: the archived body with its figures laid
//! out for readers that ignore `<figure>`, then the attachments under a heading.

use crate::html::escape_into;
use crate::model::Attachment;

/// The heading above the list of attachments at the end of the content.
pub const ATTACHMENTS_HEADING: &str = "Tệp đính kèm";

/// The content of an item: `body_html` with each figure's image and caption in a block element of
/// its own, and the attachments, if any, listed at the end as links.
pub fn content_html(body_html: &str, attachments: &[Attachment]) -> String {
    let mut out = figures_on_their_own_lines(body_html);
    if !attachments.is_empty() {
        out.push_str("<h3>");
        out.push_str(ATTACHMENTS_HEADING);
        out.push_str("</h3><ul>");
        for attachment in attachments {
            out.push_str("<li><a href=\"");
            escape_into(&mut out, &attachment.url);
            out.push_str("\">");
            let title = if attachment.title.trim().is_empty() {
                &attachment.url
            } else {
                &attachment.title
            };
            escape_into(&mut out, title);
            out.push_str("</a></li>");
        }
        out.push_str("</ul>");
    }
    out
}

/// Wraps each `<img>` directly inside a `<figure>` in `<p>…</p>` and the text of each
/// `<figcaption>` in `<p>…</p>`, so that a reader which knows neither element (w3m, many
/// feed readers) still shows the image and its caption each on a line of its own, while
/// readers that know `<figure>` see the same figure.
///
/// The body is the normaliser's serialisation (lower-case tags, quoted attributes), so a scan
/// of the tags suffices; anything else passes through unchanged.
fn figures_on_their_own_lines(body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 64);
    let mut rest = body;
    // True right after `<figure>` until its `</figure>`: only images there are wrapped.
    let mut in_figure = false;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let tag_len = tag_length(&rest[start..]);
        let tag = &rest[start..start + tag_len];
        let name = tag_name(tag);
        match name.as_str() {
            "figure" => {
                in_figure = true;
                out.push_str(tag);
            }
            "/figure" => {
                in_figure = false;
                out.push_str(tag);
            }
            "img" if in_figure => {
                out.push_str("<p>");
                out.push_str(tag);
                out.push_str("</p>");
            }
            "figcaption" => {
                out.push_str(tag);
                out.push_str("<p>");
            }
            "/figcaption" => {
                out.push_str("</p>");
                out.push_str(tag);
            }
            _ => out.push_str(tag),
        }
        rest = &rest[start + tag_len..];
    }
    out.push_str(rest);
    out
}

/// The length of the tag at the start of `text` (which starts with `<`): up to the first `>`
/// outside a quoted attribute value, or all of `text` when there is none.
fn tag_length(text: &str) -> usize {
    let mut quote = None;
    for (at, c) in text.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return at + 1,
            _ => {}
        }
    }
    text.len()
}

/// The lower-cased name of a tag, with a leading `/` for an end tag: `<img src=…>` gives `img`.
fn tag_name(tag: &str) -> String {
    tag.trim_start_matches('<')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
        .collect::<String>()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_and_captions_get_blocks_of_their_own_inside_the_figure() {
        let body = "<p>a</p><figure><img src=\"https://x/1.jpg\" alt=\"a>b\"><figcaption><em>Cap</em></figcaption></figure><figure><img src=\"https://x/2.jpg\"></figure><img src=\"https://x/3.jpg\">";
        assert_eq!(
            figures_on_their_own_lines(body),
            "<p>a</p><figure><p><img src=\"https://x/1.jpg\" alt=\"a>b\"></p><figcaption><p><em>Cap</em></p></figcaption></figure><figure><p><img src=\"https://x/2.jpg\"></p></figure><img src=\"https://x/3.jpg\">"
        );
    }

    #[test]
    fn attachments_are_listed_under_a_heading_with_escaped_titles() {
        let attachments = vec![Attachment {
            url: "https://x/a.pdf?x=1&y=2".into(),
            title: "Báo cáo <số 1>".into(),
        }];
        let html = content_html("<p>b</p>", &attachments);
        assert_eq!(
            html,
            "<p>b</p><h3>Tệp đính kèm</h3><ul><li><a href=\"https://x/a.pdf?x=1&amp;y=2\">Báo cáo &lt;số 1&gt;</a></li></ul>"
        );
        assert_eq!(content_html("<p>b</p>", &[]), "<p>b</p>");
    }

    #[test]
    fn a_truncated_tag_passes_through() {
        assert_eq!(figures_on_their_own_lines("a<img src=\"x"), "a<img src=\"x");
    }
}
