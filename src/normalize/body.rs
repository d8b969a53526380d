//! Body blocks to sanitised HTML and plain text.

use std::collections::{HashMap, HashSet};

use ammonia::UrlRelative;
use url::Url;

use super::text::{clean, clean_markup};
use super::url::resolve;
use crate::extract::{Block, Figure, Inline, escape_into};
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
    render(blocks, base, &mut markup);
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
        .clean(&markup)
        .to_string();
    clean_markup(&clean)
}

fn render(blocks: &[Block], base: &Url, out: &mut String) {
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
                        render_content(&cell.blocks, base, out);
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
                    render_content(item, base, out);
                    out.push_str("</li>");
                }
                out.push_str(&format!("</{tag}>"));
            }
            Block::Quote(inner) => {
                out.push_str("<blockquote>");
                render(inner, base, out);
                out.push_str("</blockquote>");
            }
        }
    }
}

/// Content of a cell or list item: a lone paragraph goes in without its `<p>`.
fn render_content(blocks: &[Block], base: &Url, out: &mut String) {
    match blocks {
        [Block::Paragraph(inline)] => out.push_str(&inline.html),
        _ => render(blocks, base, out),
    }
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
    collect_paragraphs(blocks, base, &mut out);
    out.retain(|p| !p.is_empty());
    out
}

fn collect_paragraphs(blocks: &[Block], base: &Url, out: &mut Vec<String>) {
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
                            .map(|cell| inline_text(&cell.blocks, base))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    })
                    .collect();
                out.push(lines.join("\n"));
            }
            Block::List { items, .. } => {
                for item in items {
                    collect_paragraphs(item, base, out);
                }
            }
            Block::Quote(inner) => collect_paragraphs(inner, base, out),
        }
    }
}

/// A cell's content as one line.
fn inline_text(blocks: &[Block], base: &Url) -> String {
    let mut parts = Vec::new();
    collect_paragraphs(blocks, base, &mut parts);
    clean(&parts.join(" "))
}

/// The first plain paragraph, for a summary when the page has none.
pub fn first_paragraph(blocks: &[Block]) -> Option<String> {
    blocks.iter().find_map(|block| match block {
        Block::Paragraph(inline) => Some(clean(&inline.text)).filter(|t| !t.is_empty()),
        _ => None,
    })
}

/// Every image with an http(s) address, in page order, with its caption.
pub fn images(blocks: &[Block], base: &Url) -> Vec<Image> {
    let mut out = Vec::new();
    collect_images(blocks, base, &mut out);
    out
}

fn collect_images(blocks: &[Block], base: &Url, out: &mut Vec<Image>) {
    for block in blocks {
        match block {
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
            }
            Block::Table(rows) => {
                for cell in rows.iter().flat_map(|r| &r.cells) {
                    collect_images(&cell.blocks, base, out);
                }
            }
            Block::List { items, .. } => {
                for item in items {
                    collect_images(item, base, out);
                }
            }
            Block::Quote(inner) => collect_images(inner, base, out),
            Block::Paragraph(_) | Block::Heading(..) => {}
        }
    }
}
