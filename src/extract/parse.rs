//! Parsing a page into a tree whose size and depth the page cannot push past fixed limits.
//!
//! html5ever's tree builder scans its stack of open elements for most start tags, so a page of
//! nested elements costs time quadratic in its depth, and the reconstruction of formatting
//! elements can create many elements per token. Tokens pass through [`Bounded`] on their way to
//! the tree builder: past [`MAX_DEPTH`] open elements or [`MAX_ELEMENTS`] elements, start tags
//! (and the end tags matching them) are left out. Their text is kept, in the nearest element kept.
//! Tags with more than [`MAX_ATTRIBUTES`] attributes lose the rest, before tokenizing, because the
//! tokenizer's duplicate check is quadratic in a tag's attributes.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use ego_tree::NodeId;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::tree_builder::{
    ElementFlags, NodeOrText, QuirksMode, Tracer, TreeBuilder, TreeBuilderOpts, TreeSink,
};
use html5ever::{Attribute, LocalName, QualName, local_name};
use scraper::{Html, HtmlTreeSink};

use super::MAX_DEPTH;

/// The most elements a page's tree holds; later start tags are left out (their text is kept),
/// but for `<script>`, `<style>` and the other raw-text elements, kept up to a quarter more so
/// their content stays out of the text. The recorded portal pages hold under 200 elements.
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
    // html5ever logs a warning per token it foster-parents out of a table: a page can make a
    // million of them. Nothing the parser logs is ours to report; the page's outcome is.
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || parse(text))
}

fn parse(text: &str) -> Parsed {
    let (text, cut_attributes) = super::attributes::limit(text, MAX_ATTRIBUTES);
    let builder = TreeBuilder::new(
        Counted {
            inner: HtmlTreeSink::new(Html::new_document()),
            elements: Cell::new(0),
        },
        TreeBuilderOpts::default(),
    );
    let tokenizer = Tokenizer::new(
        Bounded {
            builder,
            dropped: RefCell::new(HashMap::new()),
            held: Cell::new(None),
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
        html: tokenizer.sink.builder.sink.inner.finish(),
        flattened,
    }
}

/// A token sink between the tokenizer and the tree builder that keeps the tree within limits.
struct Bounded {
    builder: TreeBuilder<NodeId, Counted>,
    /// Start tags left out, by name, whose end tags are still to come.
    dropped: RefCell<HashMap<LocalName, usize>>,
    /// `held()` as of the last token passed on: only a token passed on changes it.
    held: Cell<Option<usize>>,
    flattened: Cell<bool>,
}

/// Counts the handles the tree builder holds: its open elements and active formatting elements.
struct Count(Cell<usize>);

impl Tracer for Count {
    type Handle = NodeId;

    fn trace_handle(&self, _node: &NodeId) {
        self.0.set(self.0.get() + 1);
    }
}

impl Bounded {
    /// Open and formatting elements the tree builder holds, each costing time per start tag.
    fn held(&self) -> usize {
        if let Some(held) = self.held.get() {
            return held;
        }
        let count = Count(Cell::new(0));
        self.builder.trace_handles(&count);
        self.held.set(Some(count.0.get()));
        count.0.get()
    }

    /// Elements made so far, by the page's tags and by the tree builder itself (reopened
    /// formatting elements, implied `<tbody>`s).
    fn elements_used(&self) -> usize {
        self.builder.sink.elements.get()
    }

    fn keep_start(&self, name: &LocalName) -> bool {
        // A raw-text element cannot nest in HTML, so it adds at most one level; keeping it keeps
        // scripts and styles out of the text, also for a while past the element budget. In SVG
        // or MathML it is an ordinary element.
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
        let elements = self.elements_used();
        if raw_text {
            elements < MAX_ELEMENTS + MAX_ELEMENTS / 4
        } else {
            elements < MAX_ELEMENTS && self.held() < MAX_DEPTH
        }
    }
}

impl TokenSink for Bounded {
    type Handle = NodeId;

    fn process_token(&self, token: Token, line_number: u64) -> TokenSinkResult<Self::Handle> {
        match &token {
            // Comments are never read, and each would be a node; errors would be kept in a list.
            Token::CommentToken(_) | Token::ParseError(_) => return TokenSinkResult::Continue,
            Token::TagToken(tag)
                if tag.kind == TagKind::StartTag && !self.keep_start(&tag.name) =>
            {
                self.flattened.set(true);
                // A self-closing tag closes only in SVG and MathML; a void one never opens.
                let closes = is_void(&tag.name)
                    || (tag.self_closing
                        && self
                            .builder
                            .adjusted_current_node_present_but_not_in_html_namespace());
                if !closes {
                    *self
                        .dropped
                        .borrow_mut()
                        .entry(tag.name.clone())
                        .or_default() += 1;
                }
                return TokenSinkResult::Continue;
            }
            Token::TagToken(tag) if tag.kind == TagKind::EndTag => {
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
        self.held.set(None);
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

/// scraper's tree sink, counting the elements made and not keeping parse errors (a page of NUL
/// bytes has millions).
struct Counted {
    inner: HtmlTreeSink,
    elements: Cell<usize>,
}

impl TreeSink for Counted {
    type Handle = NodeId;
    type Output = Html;
    type ElemName<'a> = <HtmlTreeSink as TreeSink>::ElemName<'a>;

    fn finish(self) -> Html {
        self.inner.finish()
    }

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> NodeId {
        self.inner.get_document()
    }

    fn elem_name<'a>(&'a self, target: &'a NodeId) -> Self::ElemName<'a> {
        self.inner.elem_name(target)
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> NodeId {
        self.elements.set(self.elements.get() + 1);
        self.inner.create_element(name, attrs, flags)
    }

    fn create_comment(&self, text: StrTendril) -> NodeId {
        self.inner.create_comment(text)
    }

    fn create_pi(&self, target: StrTendril, data: StrTendril) -> NodeId {
        self.inner.create_pi(target, data)
    }

    fn append(&self, parent: &NodeId, child: NodeOrText<NodeId>) {
        self.inner.append(parent, child);
    }

    fn append_based_on_parent_node(
        &self,
        element: &NodeId,
        prev_element: &NodeId,
        child: NodeOrText<NodeId>,
    ) {
        self.inner
            .append_based_on_parent_node(element, prev_element, child);
    }

    fn append_doctype_to_document(
        &self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        self.inner
            .append_doctype_to_document(name, public_id, system_id);
    }

    fn mark_script_already_started(&self, node: &NodeId) {
        self.inner.mark_script_already_started(node);
    }

    fn pop(&self, node: &NodeId) {
        self.inner.pop(node);
    }

    fn get_template_contents(&self, target: &NodeId) -> NodeId {
        self.inner.get_template_contents(target)
    }

    fn same_node(&self, x: &NodeId, y: &NodeId) -> bool {
        self.inner.same_node(x, y)
    }

    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.inner.set_quirks_mode(mode);
    }

    fn append_before_sibling(&self, sibling: &NodeId, new_node: NodeOrText<NodeId>) {
        self.inner.append_before_sibling(sibling, new_node);
    }

    fn add_attrs_if_missing(&self, target: &NodeId, attrs: Vec<Attribute>) {
        self.inner.add_attrs_if_missing(target, attrs);
    }

    fn associate_with_form(
        &self,
        target: &NodeId,
        form: &NodeId,
        nodes: (&NodeId, Option<&NodeId>),
    ) {
        self.inner.associate_with_form(target, form, nodes);
    }

    fn remove_from_parent(&self, target: &NodeId) {
        self.inner.remove_from_parent(target);
    }

    fn reparent_children(&self, node: &NodeId, new_parent: &NodeId) {
        self.inner.reparent_children(node, new_parent);
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &NodeId) -> bool {
        self.inner
            .is_mathml_annotation_xml_integration_point(handle)
    }

    fn set_current_line(&self, line_number: u64) {
        self.inner.set_current_line(line_number);
    }

    fn allow_declarative_shadow_roots(&self, intended_parent: &NodeId) -> bool {
        self.inner.allow_declarative_shadow_roots(intended_parent)
    }

    fn attach_declarative_shadow(
        &self,
        location: &NodeId,
        template: &NodeId,
        attrs: &[Attribute],
    ) -> bool {
        self.inner
            .attach_declarative_shadow(location, template, attrs)
    }

    fn maybe_clone_an_option_into_selectedcontent(&self, option: &NodeId) {
        self.inner
            .maybe_clone_an_option_into_selectedcontent(option);
    }
}
