//! CSS selectors for elements `init` found: candidates from the simplest up, so the first one
//! that finds the element again on every page is the one a person would have written.

use scraper::{ElementRef, Selector};

/// Classes that say what state or position an element is in, not what it is.
const STATE_CLASSES: &[&str] = &[
    "active",
    "current",
    "selected",
    "first",
    "last",
    "odd",
    "even",
    "clearfix",
    "clear",
    "hidden",
    "show",
    "open",
    "float-start",
    "float-end",
    "pull-left",
    "pull-right",
    "text-muted",
    "muted",
];

/// How many ancestors a candidate selector may name.
const MAX_ANCESTORS: usize = 6;

/// Words in the class or id of the parts of a page that are not its content: menus, side
/// boxes, footers, comment forms, lists of other articles.
const NAVISH: &[&str] = &[
    "nav",
    "menu",
    "sidebar",
    "widget",
    "footer",
    "comment",
    "related",
    "other",
    "khac",
    "lienquan",
    "breadcrumb",
    "banner",
    "rightpane",
    "leftpane",
    "right-col",
    "rightcol",
    "featured",
    "latest",
    "tinmoi",
    "tin-moi",
    "xemnhieu",
    "pagination",
    "pager",
];

fn navish(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    NAVISH.iter().any(|word| name.contains(word))
}

/// A CSS identifier that needs no escaping.
fn is_ident(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && text.len() <= 60
}

/// The classes worth naming: identifiers, without digits (`post-2051` names one article) and
/// without state.
pub fn classes(element: ElementRef<'_>) -> Vec<&str> {
    element
        .value()
        .classes()
        .filter(|c| is_ident(c) && !c.bytes().any(|b| b.is_ascii_digit()))
        .filter(|c| !STATE_CLASSES.contains(c))
        .collect()
}

/// The selectors that name one element alone, most telling first: its id, a class, all its
/// classes, `itemprop`/`role`, its tag.
pub fn simple(element: ElementRef<'_>) -> Vec<String> {
    let tag = element.value().name();
    let mut out = Vec::new();
    if let Some(id) = element.value().id().filter(|id| is_ident(id)) {
        out.push(format!("#{id}"));
    }
    let classes = classes(element);
    for class in &classes {
        out.push(format!("{tag}.{class}"));
    }
    if classes.len() > 1 {
        out.push(format!("{tag}.{}", classes.join(".")));
    }
    for name in ["itemprop", "role"] {
        if let Some(value) = element.value().attr(name).filter(|v| is_ident(v)) {
            out.push(format!(r#"{tag}[{name}="{value}"]"#));
        }
    }
    out.push(tag.to_string());
    out
}

/// Selectors for an element anywhere in a page: its own, then each prefixed by an ancestor's.
pub fn absolute(element: ElementRef<'_>) -> Vec<String> {
    let own = simple(element);
    let mut out = own.clone();
    for ancestor in element
        .ancestors()
        .filter_map(ElementRef::wrap)
        .take(MAX_ANCESTORS)
    {
        let names = simple(ancestor);
        // A bare ancestor tag (`div p`) says little; it is only worth it without another name.
        let named: Vec<&String> = names
            .iter()
            .filter(|n| n.contains(['.', '#', '[']))
            .collect();
        for prefix in named {
            for name in &own {
                out.push(format!("{prefix} {name}"));
                out.push(format!("{prefix} > {name}"));
            }
        }
    }
    out
}

/// Selectors for `element` relative to `root` (an item of a list): its own, then prefixed by
/// the ancestors between them.
pub fn relative(root: ElementRef<'_>, element: ElementRef<'_>) -> Vec<String> {
    let own = simple(element);
    let mut out = own.clone();
    for ancestor in element
        .ancestors()
        .filter_map(ElementRef::wrap)
        .take_while(|a| a.id() != root.id())
        .take(MAX_ANCESTORS)
    {
        for prefix in simple(ancestor) {
            for name in &own {
                out.push(format!("{prefix} {name}"));
            }
        }
    }
    out
}

/// A selector's compiled form; `None` for text the selector parser refuses.
pub fn compile(text: &str) -> Option<Selector> {
    Selector::parse(text).ok()
}

/// True when the element, or an ancestor, is a menu, side box, footer or the like.
pub fn in_navigation(element: ElementRef<'_>) -> bool {
    std::iter::once(element)
        .chain(element.ancestors().filter_map(ElementRef::wrap))
        .any(|e| {
            let el = e.value();
            matches!(el.name(), "nav" | "aside" | "footer")
                || el.id().is_some_and(navish)
                || el.classes().any(navish)
        })
}

/// Of an element and the elements nested in it that hold the same text (`<tr><td
/// class="nguon"><b>Nguồn: …</b></td></tr>`), the outermost one with a class or id: the one a
/// selector names best. The element itself when none has one.
pub fn named_in_chain(element: ElementRef<'_>) -> ElementRef<'_> {
    let own = text(element);
    let mut current = element;
    loop {
        if current.value().id().is_some() || !classes(current).is_empty() {
            return current;
        }
        let children: Vec<ElementRef<'_>> =
            current.children().filter_map(ElementRef::wrap).collect();
        match children.as_slice() {
            [only] if text(*only) == own => current = *only,
            _ => return element,
        }
    }
}

/// True when the element holds at most `limit` nodes: what is worth reading the text of while
/// searching a whole page for a short line (a title, a date, a credit), so that the search
/// stays linear in the page's size.
pub fn small(element: ElementRef<'_>, limit: usize) -> bool {
    element.descendants().nth(limit).is_none()
}

/// The text of an element, cleaned as fields are.
pub fn text(element: ElementRef<'_>) -> String {
    crate::normalize::text::clean(&crate::extract::element_text(element))
}

/// Text compared loosely: lowercase, without a trailing ellipsis.
pub fn loose(text: &str) -> String {
    text.trim()
        .trim_end_matches(['…', '.'])
        .trim()
        .to_lowercase()
}

/// True when two titles are the same, one perhaps cut short by the list page.
pub fn same_title(a: &str, b: &str) -> bool {
    let (a, b) = (loose(a), loose(b));
    !a.is_empty() && !b.is_empty() && (a == b || (a.len() > 20 && b.starts_with(&a)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    #[test]
    fn simple_names_skip_state_and_numbered_classes() {
        let html = Html::parse_fragment(
            r#"<div id="main" class="post-12 entry active news-item">x</div>"#,
        );
        let div = html
            .select(&Selector::parse("div").unwrap())
            .next()
            .unwrap();
        assert_eq!(
            simple(div),
            vec![
                "#main",
                "div.entry",
                "div.news-item",
                "div.entry.news-item",
                "div"
            ]
        );
    }

    #[test]
    fn navigation_is_recognised_by_tag_class_or_id() {
        let html = Html::parse_document(
            r#"<div class="sidebar-right"><p id=a>x</p></div><div class="content"><p id=b>y</p></div><nav><p id=c>z</p></nav>"#,
        );
        let by_id = |id: &str| {
            html.select(&Selector::parse(&format!("#{id}")).unwrap())
                .next()
                .unwrap()
        };
        assert!(in_navigation(by_id("a")));
        assert!(!in_navigation(by_id("b")));
        assert!(in_navigation(by_id("c")));
    }
}
