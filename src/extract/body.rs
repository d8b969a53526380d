//! Reading an article body into clean blocks: legacy markup (`<font>`, `<br><br>`, layout
//! tables, spacer paragraphs) becomes paragraphs, figures with captions, tables and lists.
//! URLs are kept as written; normalisation resolves them.

use std::collections::HashSet;

use ego_tree::NodeId;
use ego_tree::iter::Edge;
use scraper::{ElementRef, Node};

use super::MAX_DEPTH;
use crate::html::escape_into;

/// A block of body content.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Paragraph(Inline),
    Heading(u8, Inline),
    Figure(Figure),
    Table(Vec<Row>),
    List {
        ordered: bool,
        items: Vec<Vec<Block>>,
    },
    Quote(Vec<Block>),
}

/// Inline content: markup of the allowed inline tags, and its plain text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inline {
    pub html: String,
    pub text: String,
    /// Letters outside and inside `<em>`/`<i>`: a paragraph all in italics may be a caption.
    plain_letters: usize,
    emphasis_letters: usize,
}

impl Inline {
    fn is_emphasis_only(&self) -> bool {
        self.plain_letters == 0 && self.emphasis_letters > 0
    }
}

/// An image, with the caption the page puts next to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub src: String,
    pub alt: String,
    pub caption: Option<Inline>,
}

/// A data table row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub header: bool,
    pub blocks: Vec<Block>,
}

/// Elements whose content is never article text.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "iframe", "object", "embed", "video", "audio", "form", "input",
    "button", "select", "textarea", "svg", "canvas", "template", "head", "title", "meta", "link",
];

/// Elements that end a paragraph.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "center",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "aside",
    "address",
    "pre",
    "dl",
    "dt",
    "dd",
    "nav",
    "hr",
    "li",
    "tr",
    "td",
    "th",
    "tbody",
    "thead",
    "tfoot",
    "caption",
    "figcaption",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
];

/// The longest text taken as an image caption.
const MAX_CAPTION_CHARS: usize = 400;

/// What every walk over one page shares: the subtrees to skip, and whether any content sat
/// deeper than [`MAX_DEPTH`] and was flattened into the block around it.
pub struct Scope<'r> {
    removed: &'r HashSet<NodeId>,
    flattened: std::cell::Cell<bool>,
}

impl<'r> Scope<'r> {
    pub fn new(removed: &'r HashSet<NodeId>) -> Self {
        Scope {
            removed,
            flattened: std::cell::Cell::new(false),
        }
    }

    /// True when some content was deeper than [`MAX_DEPTH`] and kept only as text.
    pub fn flattened(&self) -> bool {
        self.flattened.get()
    }
}

/// Reads the children of `root` into blocks, skipping the subtrees the scope removes.
pub fn blocks(root: ElementRef<'_>, scope: &Scope<'_>) -> Vec<Block> {
    let mut walker = Walker::new(scope, 0);
    walker.children(root);
    walker.finish()
}

/// The text of an element: `<br>` and block edges as spaces, skipped content left out.
/// Iterative, so a page of any depth is read.
pub fn text(root: ElementRef<'_>, removed: &HashSet<NodeId>) -> String {
    let mut out = String::new();
    // The subtree being skipped, until its closing edge.
    let mut skipping: Option<NodeId> = None;
    for edge in root.traverse() {
        match edge {
            Edge::Open(node) => {
                if skipping.is_some() || node.id() == root.id() {
                    continue;
                }
                match node.value() {
                    Node::Text(text) => out.push_str(text),
                    Node::Element(el) => {
                        let name = el.name();
                        if removed.contains(&node.id()) || SKIPPED.contains(&name) {
                            skipping = Some(node.id());
                        } else if name == "br" || BLOCKS.contains(&name) {
                            out.push(' ');
                        }
                    }
                    _ => {}
                }
            }
            Edge::Close(node) => {
                if skipping == Some(node.id()) {
                    skipping = None;
                } else if skipping.is_none()
                    && node.id() != root.id()
                    && node
                        .value()
                        .as_element()
                        .is_some_and(|el| BLOCKS.contains(&el.name()))
                {
                    out.push(' ');
                }
            }
        }
    }
    out
}

struct OpenTag {
    open: String,
    name: &'static str,
    emitted: bool,
}

struct Walker<'r> {
    scope: &'r Scope<'r>,
    /// Elements between this walker's position and the body root.
    depth: usize,
    blocks: Vec<Block>,
    para: Inline,
    open: Vec<OpenTag>,
    emphasis: usize,
    pending_breaks: usize,
}

impl<'r> Walker<'r> {
    fn new(scope: &'r Scope<'r>, depth: usize) -> Self {
        Walker {
            scope,
            depth,
            blocks: Vec::new(),
            para: Inline::default(),
            open: Vec::new(),
            emphasis: 0,
            pending_breaks: 0,
        }
    }

    fn finish(mut self) -> Vec<Block> {
        self.flush();
        attach_captions(self.blocks)
    }

    /// A walker for nested content (cells, list items, quotes), sharing the scope and depth.
    fn nested(&self, root: ElementRef<'_>) -> Vec<Block> {
        let mut walker = Walker::new(self.scope, self.depth);
        walker.children(root);
        walker.finish()
    }

    /// Blocks of one element read on its own (a list's child that is not an `<li>`).
    fn nested_element(&self, element: ElementRef<'_>) -> Vec<Block> {
        let mut walker = Walker::new(self.scope, self.depth);
        walker.element(element);
        walker.finish()
    }

    fn children(&mut self, element: ElementRef<'_>) {
        for child in element.children() {
            match child.value() {
                Node::Text(text) => self.text(text),
                Node::Element(_) => {
                    if let Some(child) = ElementRef::wrap(child) {
                        self.element(child);
                    }
                }
                _ => {}
            }
        }
    }

    fn element(&mut self, element: ElementRef<'_>) {
        if self.scope.removed.contains(&element.id()) {
            return;
        }
        let name = element.value().name();
        if SKIPPED.contains(&name) {
            return;
        }
        if self.depth >= MAX_DEPTH {
            // Too deep to walk: the content joins the current paragraph as text.
            self.scope.flattened.set(true);
            let text = text(element, self.scope.removed);
            if !text.trim().is_empty() {
                self.text(&text);
            }
            return;
        }
        self.depth += 1;
        self.dispatch(element, name);
        self.depth -= 1;
    }

    fn dispatch(&mut self, element: ElementRef<'_>, name: &str) {
        match name {
            "br" => self.pending_breaks += 1,
            "img" => self.image(element),
            "a" => self.link(element),
            "strong" | "b" | "u" => self.inline_tag(element, tag_name(name), false),
            "em" | "i" => self.inline_tag(element, tag_name(name), true),
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => self.heading(element, name),
            "ul" | "ol" => self.list(element, name == "ol"),
            "blockquote" => {
                self.flush();
                let inner = self.nested(element);
                if !inner.is_empty() {
                    self.blocks.push(Block::Quote(inner));
                }
            }
            "table" => self.table(element),
            "figure" => self.figure(element),
            "div" if element.value().classes().any(|c| c == "wp-caption") => self.figure(element),
            _ if BLOCKS.contains(&name) => {
                self.flush();
                self.children(element);
                self.flush();
            }
            _ => self.children(element),
        }
    }

    fn text(&mut self, text: &str) {
        if text.chars().all(char::is_whitespace) {
            if !self.para.text.is_empty() {
                self.para.text.push(' ');
                self.para.html.push(' ');
            }
            return;
        }
        match self.pending_breaks {
            0 => {}
            1 => self.line_break(),
            _ => self.flush(),
        }
        self.pending_breaks = 0;
        self.open_tags();
        let letters = text.chars().filter(|c| c.is_alphanumeric()).count();
        if self.emphasis > 0 {
            self.para.emphasis_letters += letters;
        } else {
            self.para.plain_letters += letters;
        }
        self.para.text.push_str(text);
        escape_into(&mut self.para.html, text);
    }

    fn line_break(&mut self) {
        if !self.para.text.is_empty() {
            self.para.html.push_str("<br>");
            self.para.text.push(' ');
        }
    }

    /// Writes the opening tags of the inline elements the current text stands in.
    fn open_tags(&mut self) {
        for tag in self.open.iter_mut().filter(|t| !t.emitted) {
            self.para.html.push_str(&tag.open);
            tag.emitted = true;
        }
    }

    fn inline_tag(&mut self, element: ElementRef<'_>, name: &'static str, emphasis: bool) {
        self.inline(element, format!("<{name}>"), name, emphasis);
    }

    fn inline(
        &mut self,
        element: ElementRef<'_>,
        open: String,
        name: &'static str,
        emphasis: bool,
    ) {
        self.open.push(OpenTag {
            open,
            name,
            emitted: false,
        });
        self.emphasis += usize::from(emphasis);
        self.children(element);
        self.emphasis -= usize::from(emphasis);
        if let Some(tag) = self.open.pop()
            && tag.emitted
        {
            self.para.html.push_str("</");
            self.para.html.push_str(tag.name);
            self.para.html.push('>');
        }
    }

    fn link(&mut self, element: ElementRef<'_>) {
        let href = element
            .value()
            .attr("href")
            .map(str::trim)
            .unwrap_or_default();
        let usable = !href.is_empty()
            && !href.starts_with('#')
            && !href.to_ascii_lowercase().starts_with("javascript:");
        let holds_image = element
            .descendants()
            .any(|n| n.value().as_element().is_some_and(|e| e.name() == "img"));
        if usable && !holds_image {
            let mut open = String::from("<a href=\"");
            escape_into(&mut open, href);
            open.push_str("\">");
            self.inline(element, open, "a", false);
        } else {
            self.children(element);
        }
    }

    fn image(&mut self, element: ElementRef<'_>) {
        let el = element.value();
        let alt = el.attr("alt").unwrap_or_default().trim().to_string();
        // WordPress writes emoji as images with their character as alt text: keep the text.
        let emoji = el.classes().any(|c| c == "emoji" || c == "wp-smiley");
        if emoji && !alt.is_empty() {
            self.text(&alt);
            return;
        }
        let Some(src) = super::image::source(el) else {
            return;
        };
        self.flush();
        self.blocks.push(Block::Figure(Figure {
            src,
            alt,
            caption: None,
        }));
    }

    fn heading(&mut self, element: ElementRef<'_>, name: &str) {
        self.flush();
        let start = self.blocks.len();
        self.children(element);
        self.flush();
        // h1 is the page's title; inside a body it is demoted to h2.
        let level = name[1..].parse::<u8>().unwrap_or(2).max(2);
        for block in &mut self.blocks[start..] {
            if let Block::Paragraph(inline) = block {
                *block = Block::Heading(level, std::mem::take(inline));
            }
        }
    }

    fn list(&mut self, element: ElementRef<'_>, ordered: bool) {
        self.flush();
        let mut items: Vec<Vec<Block>> = Vec::new();
        for child in element.children() {
            let item = match child.value() {
                // Text straight in a list (an `<li>` left out by the parser, or sloppy markup)
                // is an item of its own.
                Node::Text(text) => {
                    let mut walker = Walker::new(self.scope, self.depth);
                    walker.text(text);
                    walker.finish()
                }
                Node::Element(_) if !self.scope.removed.contains(&child.id()) => {
                    let Some(child) = ElementRef::wrap(child) else {
                        continue;
                    };
                    if child.value().name() == "li" {
                        self.nested(child)
                    } else {
                        self.nested_element(child)
                    }
                }
                _ => continue,
            };
            if !item.is_empty() {
                items.push(item);
            }
        }
        if !items.is_empty() {
            self.blocks.push(Block::List { ordered, items });
        }
    }

    /// `<figure>` and WordPress's `div.wp-caption`: an image and its caption. A figure that
    /// holds figures (a Gutenberg gallery) gives each of its images with its own caption.
    fn figure(&mut self, element: ElementRef<'_>) {
        let nested = element
            .descendants()
            .skip(1)
            .filter_map(ElementRef::wrap)
            .any(|e| e.value().name() == "figure");
        if nested {
            self.flush();
            self.children(element);
            self.flush();
            return;
        }
        let image = find_element(element, "img");
        let caption = find_caption(element).map(|c| self.nested(c));
        match image {
            Some(image) => {
                self.image(image);
                let caption = caption.and_then(|blocks| first_inline(&blocks));
                if let (Some(caption), Some(Block::Figure(figure))) =
                    (caption, self.blocks.last_mut())
                {
                    figure.caption = Some(caption);
                }
            }
            None => {
                self.flush();
                self.children(element);
                self.flush();
            }
        }
    }

    fn table(&mut self, element: ElementRef<'_>) {
        self.flush();
        let rows = rows_of(element);
        let cells: Vec<Vec<ElementRef<'_>>> = rows.iter().map(|row| cells_of(*row)).collect();
        // Each cell is walked once: walking it again per reading would cost 2^depth for tables
        // nested in tables.
        let walked: Vec<Vec<Vec<Block>>> = cells
            .iter()
            .map(|row| row.iter().map(|cell| self.nested(*cell)).collect())
            .collect();
        if let Some(figure) = figure_table(&walked) {
            self.blocks.push(Block::Figure(figure));
            return;
        }
        let cell_count: usize = cells.iter().map(Vec::len).sum();
        let layout = cell_count <= 1
            || cells
                .iter()
                .flatten()
                .any(|cell| find_element(*cell, "table").is_some());
        if layout {
            self.blocks.extend(walked.into_iter().flatten().flatten());
            return;
        }
        let rows: Vec<Row> = cells
            .iter()
            .zip(walked)
            .map(|(row, blocks)| Row {
                cells: row
                    .iter()
                    .zip(blocks)
                    .map(|(cell, blocks)| Cell {
                        header: cell.value().name() == "th",
                        blocks,
                    })
                    .collect(),
            })
            .filter(|row| row.cells.iter().any(|cell| !cell.blocks.is_empty()))
            .collect();
        if !rows.is_empty() {
            self.blocks.push(Block::Table(rows));
        }
    }

    /// Ends the current paragraph; an empty (spacer) paragraph is dropped.
    fn flush(&mut self) {
        self.pending_breaks = 0;
        for tag in self.open.iter_mut().rev().filter(|t| t.emitted) {
            self.para.html.push_str("</");
            self.para.html.push_str(tag.name);
            self.para.html.push('>');
            tag.emitted = false;
        }
        let para = std::mem::take(&mut self.para);
        if para.text.chars().any(|c| !c.is_whitespace()) {
            self.blocks.push(Block::Paragraph(para));
        }
    }
}

/// The caption of a figure: `<figcaption>`, or WordPress's `.wp-caption-text`.
fn find_caption(root: ElementRef<'_>) -> Option<ElementRef<'_>> {
    root.descendants().filter_map(ElementRef::wrap).find(|e| {
        e.value().name() == "figcaption" || e.value().classes().any(|c| c == "wp-caption-text")
    })
}

/// A two-row table with one image above a line of text: the portal's captioned image.
fn figure_table(walked: &[Vec<Vec<Block>>]) -> Option<Figure> {
    let [top, bottom] = walked else { return None };
    let top_blocks: Vec<&Block> = top.iter().flatten().collect();
    let bottom_blocks: Vec<Block> = bottom.iter().flatten().cloned().collect();
    let [Block::Figure(figure)] = top_blocks.as_slice() else {
        return None;
    };
    if bottom_blocks
        .iter()
        .any(|b| !matches!(b, Block::Paragraph(_)))
    {
        return None;
    }
    let caption = first_inline(&bottom_blocks)?;
    Some(Figure {
        caption: Some(caption),
        ..(*figure).clone()
    })
}

/// Joins a paragraph all in italics to the image just before it, as its caption.
fn attach_captions(blocks: Vec<Block>) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::with_capacity(blocks.len());
    for block in blocks {
        if let Block::Paragraph(inline) = &block
            && inline.is_emphasis_only()
            && inline.text.trim().chars().count() <= MAX_CAPTION_CHARS
            && let Some(Block::Figure(figure)) = out.last_mut()
            && figure.caption.is_none()
        {
            figure.caption = Some(inline.clone());
            continue;
        }
        out.push(block);
    }
    out
}

/// The paragraphs of some blocks as one inline run, joined by line breaks.
fn first_inline(blocks: &[Block]) -> Option<Inline> {
    let mut inline: Option<Inline> = None;
    for block in blocks {
        if let Block::Paragraph(p) = block {
            match &mut inline {
                None => inline = Some(p.clone()),
                Some(i) => {
                    i.html.push_str("<br>");
                    i.html.push_str(&p.html);
                    i.text.push(' ');
                    i.text.push_str(&p.text);
                }
            }
        }
    }
    inline
}

/// The rows of a table, not those of tables nested in it.
fn rows_of(table: ElementRef<'_>) -> Vec<ElementRef<'_>> {
    let mut rows = Vec::new();
    for child in table.children().filter_map(ElementRef::wrap) {
        match child.value().name() {
            "tr" => rows.push(child),
            "thead" | "tbody" | "tfoot" => rows.extend(
                child
                    .children()
                    .filter_map(ElementRef::wrap)
                    .filter(|r| r.value().name() == "tr"),
            ),
            _ => {}
        }
    }
    rows
}

fn cells_of(row: ElementRef<'_>) -> Vec<ElementRef<'_>> {
    row.children()
        .filter_map(ElementRef::wrap)
        .filter(|c| matches!(c.value().name(), "td" | "th"))
        .collect()
}

fn find_element<'a>(root: ElementRef<'a>, name: &str) -> Option<ElementRef<'a>> {
    root.descendants()
        .filter_map(ElementRef::wrap)
        .skip(1)
        .find(|e| e.value().name() == name)
}

fn tag_name(name: &str) -> &'static str {
    match name {
        "strong" => "strong",
        "b" => "b",
        "u" => "u",
        "em" => "em",
        _ => "i",
    }
}

#[cfg(test)]
mod tests {
    use scraper::{Html, Selector};

    use super::*;

    /// The walk's own limit, apart from the parser's: scraper's plain parser nests as deep as
    /// the page says.
    #[test]
    fn content_past_max_depth_joins_the_block_around_it_as_text() {
        let depth = MAX_DEPTH + 100;
        let page = format!(
            "<div id=root><p>Trước.</p>{}<p>Sâu <b>nhất</b>.</p><img src=x.png>{}<p>Sau.</p></div>",
            "<blockquote>".repeat(depth),
            "</blockquote>".repeat(depth)
        );
        let html = Html::parse_document(&page);
        let root = html
            .select(&Selector::parse("#root").unwrap())
            .next()
            .unwrap();
        let removed = HashSet::new();
        let scope = Scope::new(&removed);
        let blocks = blocks(root, &scope);
        assert!(scope.flattened());
        let texts: Vec<&str> = blocks
            .iter()
            .filter_map(|b| match b {
                Block::Paragraph(inline) => Some(inline.text.trim()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, ["Trước.", "Sau."]);
        let mut nested = &blocks[1];
        let mut levels = 0;
        while let Block::Quote(inner) = nested {
            levels += 1;
            nested = &inner[0];
        }
        assert_eq!(levels, MAX_DEPTH);
        let Block::Paragraph(deepest) = nested else {
            panic!("{nested:?}")
        };
        assert_eq!(deepest.text.trim(), "Sâu nhất.");
    }
}
