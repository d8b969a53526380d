//! Parsing a page into a tree whose size and depth the page cannot push past fixed limits.
//!
//! html5ever's tree builder scans its stack of open elements for most start tags, so a page of
//! nested elements costs time quadratic in its depth, and the reconstruction of formatting
//! elements can create many elements per token. Tokens pass through [`Bounded`] on their way to
//! the tree builder: past [`MAX_DEPTH`] open elements or [`MAX_ELEMENTS`] elements, start tags
//! (and the end tags matching them) are left out. Their text is kept, in the nearest element kept.
//! Tags longer than [`MAX_ATTRIBUTES`] attributes lose the rest, before tokenizing, because the
//! tokenizer's duplicate check is quadratic in a tag's attributes.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::tree_builder::Tracer;
use html5ever::tree_builder::{TreeBuilder, TreeBuilderOpts, TreeSink};
use html5ever::{LocalName, local_name};
use scraper::{Html, HtmlTreeSink};

use super::MAX_DEPTH;

/// The most elements a page's tree holds; later start tags are left out (their text is kept).
/// Ample for an article page: the portal's largest list pages hold about 3,000.
pub const MAX_ELEMENTS: usize = 100_000;

/// The most attributes a tag keeps; the rest are cut before tokenizing.
pub const MAX_ATTRIBUTES: usize = 256;

/// A parsed page, and whether parsing left out structure to stay within the limits.
pub struct Parsed {
    pub html: Html,
    /// True when start tags or attributes were left out: the page was flattened.
    pub flattened: bool,
}

/// Parses a whole document within the limits of this module.
pub fn document(text: &str) -> Parsed {
    let (text, cut_attributes) = super::attributes::limit(text, MAX_ATTRIBUTES);
    let builder = TreeBuilder::new(
        HtmlTreeSink::new(Html::new_document()),
        TreeBuilderOpts::default(),
    );
    let tokenizer = Tokenizer::new(
        Bounded {
            builder,
            dropped: RefCell::new(HashMap::new()),
            elements: Cell::new(0),
            flattened: Cell::new(false),
        },
        TokenizerOpts::default(),
    );
    let input = BufferQueue::default();
    input.push_back(StrTendril::from(text.as_ref()));
    // `Script` results ask the caller to run a script; there is none to run, so go on.
    while !matches!(tokenizer.feed(&input), html5ever::TokenizerResult::Done) {}
    tokenizer.end();
    let flattened = tokenizer.sink.flattened.get() || cut_attributes;
    Parsed {
        html: tokenizer.sink.builder.sink.finish(),
        flattened,
    }
}

/// A token sink between the tokenizer and the tree builder that keeps the tree within limits.
struct Bounded {
    builder: TreeBuilder<ego_tree::NodeId, HtmlTreeSink>,
    /// Start tags left out, by name, whose end tags are still to come.
    dropped: RefCell<HashMap<LocalName, usize>>,
    /// Start tags passed on so far: an upper bound on elements the page asked for.
    elements: Cell<usize>,
    flattened: Cell<bool>,
}

/// Counts the handles the tree builder holds: its open elements and active formatting elements.
struct Count(Cell<usize>);

impl Tracer for Count {
    type Handle = ego_tree::NodeId;

    fn trace_handle(&self, _node: &ego_tree::NodeId) {
        self.0.set(self.0.get() + 1);
    }
}

impl Bounded {
    /// Open and formatting elements the tree builder holds, each costing time per start tag.
    fn held(&self) -> usize {
        let count = Count(Cell::new(0));
        self.builder.trace_handles(&count);
        count.0.get()
    }

    fn elements_used(&self) -> usize {
        // Nodes made by the tree builder itself (reconstructed formatting elements, implied
        // `<tbody>`s) are bounded by `held()` per token, so start tags passed on bound the rest.
        self.elements.get()
    }

    fn keep_start(&self, name: &LocalName) -> bool {
        if self.elements_used() >= MAX_ELEMENTS {
            return false;
        }
        // A raw-text element cannot nest in HTML, so it adds at most one level; keeping it keeps
        // scripts and styles out of the text. In SVG or MathML it is an ordinary element.
        let raw_text = matches!(
            *name,
            local_name!("script")
                | local_name!("style")
                | local_name!("title")
                | local_name!("textarea")
                | local_name!("xmp")
                | local_name!("iframe")
                | local_name!("noembed")
                | local_name!("noframes")
                | local_name!("noscript")
                | local_name!("plaintext")
        ) && !self
            .builder
            .adjusted_current_node_present_but_not_in_html_namespace();
        raw_text || self.held() < MAX_DEPTH
    }
}

impl TokenSink for Bounded {
    type Handle = ego_tree::NodeId;

    fn process_token(&self, token: Token, line_number: u64) -> TokenSinkResult<Self::Handle> {
        match &token {
            // Comments are never read, and each would be a node.
            Token::CommentToken(_) => return TokenSinkResult::Continue,
            Token::TagToken(tag) if tag.kind == TagKind::StartTag => {
                if !self.keep_start(&tag.name) {
                    self.flattened.set(true);
                    if !tag.self_closing && !is_void(&tag.name) {
                        *self
                            .dropped
                            .borrow_mut()
                            .entry(tag.name.clone())
                            .or_default() += 1;
                    }
                    return TokenSinkResult::Continue;
                }
                self.elements.set(self.elements.get() + 1);
            }
            Token::TagToken(tag) => {
                let mut dropped = self.dropped.borrow_mut();
                if let Some(count) = dropped.get_mut(&tag.name) {
                    *count -= 1;
                    if *count == 0 {
                        dropped.remove(&tag.name);
                    }
                    return TokenSinkResult::Continue;
                }
                // `</p>` and `</br>` make elements when nothing matches them.
                if self.elements_used() >= MAX_ELEMENTS
                    && matches!(tag.name, local_name!("p") | local_name!("br"))
                {
                    self.flattened.set(true);
                    return TokenSinkResult::Continue;
                }
            }
            _ => {}
        }
        self.builder.process_token(token, line_number)
    }

    fn end(&self) {
        self.builder.end();
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.builder
            .adjusted_current_node_present_but_not_in_html_namespace()
    }
}

/// Elements that never have content or an end tag.
fn is_void(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("area")
            | local_name!("base")
            | local_name!("br")
            | local_name!("col")
            | local_name!("embed")
            | local_name!("hr")
            | local_name!("img")
            | local_name!("input")
            | local_name!("link")
            | local_name!("meta")
            | local_name!("source")
            | local_name!("track")
            | local_name!("wbr")
    )
}
