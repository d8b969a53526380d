//! Body blocks to sanitised HTML and plain text.

use std::collections::{HashMap, HashSet};

use ammonia::UrlRelative;
use url::Url;

use super::text::{clean, clean_markup};
use super::url::resolve;
use crate::extract::{Block, Figure, Inline, MAX_DEPTH};
use crate::html::escape_into;
use crate::model::Image;

/// Tags a body may keep; everything else is unwrapped or dropped.
const ALLOWED_TAGS: &[&str] = &[
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "a",
    "img",
    "figure",
    "figcaption",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "ul",
    "ol",
    "li",
    "blockquote",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
];

/// The body as sanitised HTML: only the allowed tags and attributes, every URL absolute.
pub fn html(blocks: &[Block], base: &Url) -> String {
    let mut markup = String::new();
    render(blocks, base, &mut markup, 0);
    let tags: HashSet<&str> = ALLOWED_TAGS.iter().copied().collect();
    let attributes: HashMap<&str, HashSet<&str>> = HashMap::from([
        ("a", HashSet::from(["href"])),
        ("img", HashSet::from(["src", "alt"])),
    ]);
    let clean = ammonia::Builder::empty()
        .tags(tags)
        .tag_attributes(attributes)
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .url_relative(UrlRelative::RewriteWithBase(base.clone()))
        .link_rel(None)
        .clean(&for_sanitiser(&markup))
        .to_string();
    clean_markup(&clean)
}

/// Writes blocks as markup. Extraction builds trees at most [`MAX_DEPTH`] deep; anything deeper
/// is written as one paragraph of its text rather than recursed into.
/// The references [`escape_into`] writes, and what text content can say instead.
const CHEAPER_REFERENCES: &[(&str, &str)] = &[
    ("&amp;", "&#38;"),
    ("&lt;", "&#60;"),
    ("&gt;", ">"),
    ("&quot;", "\""),
];

/// The longest run of text handed to the sanitiser as one text node.
const MAX_TEXT_RUN: usize = 4096;

/// `markup` made cheap for the sanitiser to read, for the same output: an empty comment between
/// every [`MAX_TEXT_RUN`] bytes of text, because html5ever's serializer, which ammonia uses,
/// scans to the next `<` or `>` of a text node for every `&` in it (a long text of ampersands
/// would cost time quadratic in its length; the sanitiser drops comments), and
/// [`CHEAPER_REFERENCES`] in text.
fn for_sanitiser(markup: &str) -> String {
    let mut out = String::with_capacity(markup.len() + markup.len() / MAX_TEXT_RUN * 7);
    let (mut in_tag, mut in_entity, mut run) = (false, false, 0);
    let mut rest = markup;
    while let Some(c) = rest.chars().next() {
        // A numeric reference costs the sanitiser's tokenizer less than a named one, and `>`
        // and `"` need none in text: same markup, about half the work for a text of them.
        if !in_tag && c == '&' {
            let cheaper = CHEAPER_REFERENCES
                .iter()
                .find_map(|(named, cheaper)| Some((rest.strip_prefix(named)?, *cheaper)));
            if let Some((after, cheaper)) = cheaper {
                if run >= MAX_TEXT_RUN {
                    out.push_str("<!---->");
                    run = 0;
                }
                out.push_str(cheaper);
                run += cheaper.len();
                rest = after;
                continue;
            }
        }
        rest = &rest[c.len_utf8()..];
        match c {
            '<' => (in_tag, run) = (true, 0),
            '>' => (in_tag, run) = (false, 0),
            _ if in_tag => {}
            '&' => {
                if run >= MAX_TEXT_RUN {
                    out.push_str("<!---->");
                    run = 0;
                }
                in_entity = true;
            }
            ';' => in_entity = false,
            _ if !in_entity && run >= MAX_TEXT_RUN => {
                out.push_str("<!---->");
                run = 0;
            }
            _ => {}
        }
        run += c.len_utf8();
        out.push(c);
    }
    out
}

fn render(blocks: &[Block], base: &Url, out: &mut String, depth: usize) {
    if depth > MAX_DEPTH {
        let mut text = String::new();
        escape_into(&mut text, &flat_text(blocks));
        wrap(out, "p", &text);
        return;
    }
    for block in blocks {
        match block {
            Block::Paragraph(inline) => wrap(out, "p", &inline.html),
            Block::Heading(level, inline) => wrap(out, &format!("h{level}"), &inline.html),
            Block::Figure(figure) => render_figure(figure, base, out),
            Block::Table(rows) => {
                out.push_str("<table><tbody>");
                for row in rows {
                    out.push_str("<tr>");
                    for cell in &row.cells {
                        let tag = if cell.header { "th" } else { "td" };
                        out.push_str(&format!("<{tag}>"));
                        render_content(&cell.blocks, base, out, depth + 1);
                        out.push_str(&format!("</{tag}>"));
                    }
                    out.push_str("</tr>");
                }
                out.push_str("</tbody></table>");
            }
            Block::List { ordered, items } => {
                let tag = if *ordered { "ol" } else { "ul" };
                out.push_str(&format!("<{tag}>"));
                for item in items {
                    out.push_str("<li>");
                    render_content(item, base, out, depth + 1);
                    out.push_str("</li>");
                }
                out.push_str(&format!("</{tag}>"));
            }
            Block::Quote(inner) => {
                out.push_str("<blockquote>");
                render(inner, base, out, depth + 1);
                out.push_str("</blockquote>");
            }
        }
    }
}

/// Content of a cell or list item: a lone paragraph goes in without its `<p>`.
fn render_content(blocks: &[Block], base: &Url, out: &mut String, depth: usize) {
    match blocks {
        [Block::Paragraph(inline)] => out.push_str(&inline.html),
        _ => render(blocks, base, out, depth),
    }
}

/// The text of blocks of any depth, paragraphs separated by spaces; iterative.
fn flat_text(blocks: &[Block]) -> String {
    let mut out = String::new();
    let mut stack: Vec<&Block> = blocks.iter().rev().collect();
    while let Some(block) = stack.pop() {
        let inner: Vec<&Block> = match block {
            Block::Paragraph(inline) | Block::Heading(_, inline) => {
                out.push_str(&inline.text);
                out.push(' ');
                continue;
            }
            Block::Figure(figure) => {
                if let Some(caption) = &figure.caption {
                    out.push_str(&caption.text);
                    out.push(' ');
                }
                continue;
            }
            Block::Table(rows) => rows
                .iter()
                .flat_map(|r| &r.cells)
                .flat_map(|c| &c.blocks)
                .collect(),
            Block::List { items, .. } => items.iter().flatten().collect(),
            Block::Quote(inner) => inner.iter().collect(),
        };
        stack.extend(inner.into_iter().rev());
    }
    out
}

fn render_figure(figure: &Figure, base: &Url, out: &mut String) {
    let Some(src) = resolve(base, &figure.src) else {
        return;
    };
    out.push_str("<figure><img src=\"");
    escape_into(out, src.as_str());
    out.push_str("\" alt=\"");
    escape_into(out, &clean(&figure.alt));
    out.push_str("\">");
    if let Some(caption) = figure
        .caption
        .as_ref()
        .filter(|c| !clean(&c.text).is_empty())
    {
        wrap(out, "figcaption", &caption.html);
    }
    out.push_str("</figure>");
}

fn wrap(out: &mut String, tag: &str, inner: &str) {
    out.push('<');
    out.push_str(tag);
    out.push('>');
    out.push_str(inner.trim());
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// The body's paragraphs as clean text: captions are paragraphs, a table row is one line.
pub fn paragraphs(blocks: &[Block], base: &Url) -> Vec<String> {
    let mut out = Vec::new();
    collect_paragraphs(blocks, base, &mut out, 0);
    out.retain(|p| !p.is_empty());
    out
}

fn collect_paragraphs(blocks: &[Block], base: &Url, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        out.push(clean(&flat_text(blocks)));
        return;
    }
    for block in blocks {
        match block {
            Block::Paragraph(inline) | Block::Heading(_, inline) => out.push(clean(&inline.text)),
            Block::Figure(figure) => {
                if resolve(base, &figure.src).is_some()
                    && let Some(caption) = &figure.caption
                {
                    out.push(clean(&caption.text));
                }
            }
            Block::Table(rows) => {
                let lines: Vec<String> = rows
                    .iter()
                    .map(|row| {
                        row.cells
                            .iter()
                            .map(|cell| inline_text(&cell.blocks, base, depth + 1))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    })
                    .collect();
                out.push(lines.join("\n"));
            }
            Block::List { items, .. } => {
                for item in items {
                    collect_paragraphs(item, base, out, depth + 1);
                }
            }
            Block::Quote(inner) => collect_paragraphs(inner, base, out, depth + 1),
        }
    }
}

/// A cell's content as one line.
fn inline_text(blocks: &[Block], base: &Url, depth: usize) -> String {
    let mut parts = Vec::new();
    collect_paragraphs(blocks, base, &mut parts, depth);
    clean(&parts.join(" "))
}

/// The first plain paragraph, for a summary when the page has none.
pub fn first_paragraph(blocks: &[Block]) -> Option<String> {
    blocks.iter().find_map(|block| match block {
        Block::Paragraph(inline) => Some(clean(&inline.text)).filter(|t| !t.is_empty()),
        _ => None,
    })
}

/// Every image with an http(s) address, in page order, with its caption; iterative.
pub fn images(blocks: &[Block], base: &Url) -> Vec<Image> {
    let mut out = Vec::new();
    let mut stack: Vec<&Block> = blocks.iter().rev().collect();
    while let Some(block) = stack.pop() {
        let inner: Vec<&Block> = match block {
            Block::Figure(figure) => {
                if let Some(url) = resolve(base, &figure.src) {
                    let caption = figure
                        .caption
                        .as_ref()
                        .map(|c: &Inline| clean(&c.text))
                        .filter(|c| !c.is_empty());
                    out.push(Image {
                        url: url.to_string(),
                        caption,
                    });
                }
                continue;
            }
            Block::Table(rows) => rows
                .iter()
                .flat_map(|r| &r.cells)
                .flat_map(|c| &c.blocks)
                .collect(),
            Block::List { items, .. } => items.iter().flatten().collect(),
            Block::Quote(inner) => inner.iter().collect(),
            Block::Paragraph(_) | Block::Heading(..) => continue,
        };
        stack.extend(inner.into_iter().rev());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_reach_the_sanitiser_in_pieces_and_come_out_whole() {
        let text = "a&b ".repeat(5_000);
        let mut inline = Inline::default();
        escape_into(&mut inline.html, &text);
        inline.text = text.clone();
        let markup = format!(
            "<p>{}</p><a href=\"{}\">x</a>",
            inline.html,
            "q".repeat(9_000)
        );
        let broken = for_sanitiser(&markup);
        assert!(broken.matches("<!---->").count() >= 4);
        assert!(!broken.contains("&am<!---->"), "no break inside an entity");
        assert!(broken.contains(&format!("href=\"{}\"", "q".repeat(9_000))));
        let base = Url::parse("https://example.vn/").unwrap();
        let mut expected = String::new();
        escape_into(&mut expected, text.trim());
        assert_eq!(
            html(&[Block::Paragraph(inline)], &base),
            format!("<p>{expected}</p>")
        );
    }

    /// Blocks nested past [`MAX_DEPTH`] (extraction never makes them) are written as their text.
    #[test]
    fn blocks_past_max_depth_are_written_as_text() {
        let mut inline = Inline::default();
        inline.html = "Lời <b>trích</b>".into();
        inline.text = "Lời trích".into();
        let mut block = Block::Paragraph(inline);
        for _ in 0..MAX_DEPTH + 50 {
            block = Block::Quote(vec![block]);
        }
        let blocks = [block];
        let base = Url::parse("https://example.vn/").unwrap();
        let markup = html(&blocks, &base);
        // The flat text has no markup: the `<b>` is gone.
        assert!(markup.contains("<blockquote><p>Lời trích</p></blockquote>"));
        assert!(markup.matches("<blockquote>").count() <= MAX_DEPTH + 1);
        assert_eq!(paragraphs(&blocks, &base), ["Lời trích"]);
    }
}
