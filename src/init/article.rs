//! An article profile, inferred from a few article pages and the titles their list gave them.

use std::collections::HashMap;

use ego_tree::NodeId;
use scraper::{ElementRef, Html, Node};
use url::Url;

use super::list::{FILE_EXTENSIONS, date_element};
use super::selector::{self, absolute, compile, in_navigation, same_title, simple};
use super::{Note, labels};
use crate::normalize::date;

/// A text shorter than this does not count towards a block's density.
const MIN_PARAGRAPH_CHARS: usize = 25;
/// A sapo is at least this long, and at most [`MAX_SAPO_CHARS`].
const MIN_SAPO_CHARS: usize = 40;
const MAX_SAPO_CHARS: usize = 800;
/// A title's element holds at most this many nodes.
const MAX_TITLE_NODES: usize = 24;
/// Elements after the title searched for the date.
const DATE_WINDOW: usize = 60;
/// Elements that only style text: a paragraph's block is the nearest element that is not one.
const INLINE: &[&str] = &[
    "a", "span", "b", "strong", "i", "em", "u", "font", "small", "big", "sup", "sub", "label",
    "time", "abbr", "br", "code", "mark", "s", "strike",
];
/// Elements whose text is never content.
const NOT_CONTENT: &[&str] = &[
    "script", "style", "noscript", "head", "title", "select", "option", "textarea", "button",
];
/// Class or id words of widgets inside a body: sharing, printing, font size, ratings.
const WIDGETS: &[&str] = &[
    "share",
    "sharing",
    "sharedaddy",
    "social",
    "print",
    "email",
    "mail",
    "font",
    "zoom",
    "tool",
    "congcu",
    "addthis",
    "facebook",
    "twitter",
    "zalo",
    "rating",
    "like",
];
/// Class or id words of a sapo (lead paragraph).
const SAPO_WORDS: &[&str] = &[
    "sapo", "lead", "desc", "summary", "intro", "tomtat", "excerpt", "mota", "trichdan",
];
/// One fetched article page and what its list said of it.
pub struct ArticlePage<'a> {
    pub html: &'a Html,
    pub url: &'a Url,
    pub listed_title: &'a str,
}

/// What `init` makes of the article pages.
#[derive(Debug, Clone, Default)]
pub struct ArticleGuess {
    pub title: Option<String>,
    pub published: Option<String>,
    pub summary: Option<String>,
    pub body: Option<String>,
    pub category: Option<String>,
    pub credit: Option<String>,
    pub attachments: Option<String>,
    pub remove: Vec<String>,
    pub notes: Vec<Note>,
}

/// Infers the article profile; `section_names` are what the list page calls its section.
pub fn infer(pages: &[ArticlePage<'_>], section_names: &[String]) -> ArticleGuess {
    let mut guess = ArticleGuess::default();
    let titles: Vec<Option<ElementRef<'_>>> = pages.iter().map(title_element).collect();
    guess.title = choose(pages, &titles, |page, e| {
        e.is_some_and(|e| same_title(&selector::text(e), page.listed_title))
    });
    if guess.title.is_none() {
        guess.notes.push(Note::new(
            "article.title",
            "no heading repeats the listed title",
        ));
    }
    let bodies: Vec<Option<ElementRef<'_>>> = pages.iter().map(|p| densest(p.html)).collect();
    guess.body = choose(pages, &bodies, |_, _| true);
    if guess.body.is_none() {
        guess.notes.push(Note::new(
            "article.body",
            "no selector finds the densest block on every page; fallback = \"readability\" set",
        ));
    }
    guess.published = published(pages, &titles, &mut guess.notes);
    guess.summary = sapo(pages, &titles, &bodies);
    guess.category = labels::category(pages, section_names, &mut guess.notes);
    guess.credit = labels::credit(pages, &mut guess.notes);
    guess.attachments = attachments(pages, &bodies);
    guess.remove = widgets(&bodies);
    guess
}

/// The first selector, from the candidates of the first page's element, whose first match on
/// each page is that page's element (or, where a page has none, passes `accept`).
fn choose<'a>(
    pages: &[ArticlePage<'a>],
    found: &[Option<ElementRef<'a>>],
    accept: impl Fn(&ArticlePage<'a>, Option<ElementRef<'a>>) -> bool,
) -> Option<String> {
    let (_, model) = found
        .iter()
        .enumerate()
        .find_map(|(i, e)| e.map(|e| (i, e)))?;
    absolute(model).into_iter().find(|css| {
        let Some(sel) = compile(css) else {
            return false;
        };
        pages.iter().zip(found).all(|(page, want)| {
            let first = page.html.select(&sel).next();
            match want {
                Some(want) => first.is_some_and(|e| e.id() == want.id()),
                None => accept(page, first),
            }
        })
    })
}

/// The heading (or title-classed element) whose text is the listed title, outside menus.
fn title_element<'a>(page: &ArticlePage<'a>) -> Option<ElementRef<'a>> {
    let matching: Vec<ElementRef<'a>> = page
        .html
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| !matches!(e.value().name(), "title" | "a" | "html" | "body" | "meta"))
        .filter(|e| {
            !e.ancestors()
                .filter_map(ElementRef::wrap)
                .any(|a| a.value().name() == "a")
        })
        .filter(|e| selector::small(*e, MAX_TITLE_NODES))
        .filter(|e| same_title(&selector::text(*e), page.listed_title))
        .collect();
    let heading =
        |e: &ElementRef<'_>| matches!(e.value().name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6");
    let titled = |e: &ElementRef<'_>| {
        let el = e.value();
        el.classes().chain(el.id()).any(|c| {
            let c = c.to_ascii_lowercase();
            c.contains("title") || c.contains("tieude") || c.contains("headline")
        })
    };
    matching
        .iter()
        .find(|e| heading(e) && !in_navigation(**e))
        .or_else(|| matching.iter().find(|e| titled(e) && !in_navigation(**e)))
        .or_else(|| matching.iter().rev().find(|e| !in_navigation(**e)))
        .copied()
}

/// The block holding the most paragraph text, as readability scores it: a paragraph's
/// letters count fully for its container and half for the container's parent.
pub fn densest(html: &Html) -> Option<ElementRef<'_>> {
    let mut scores: HashMap<NodeId, f64> = HashMap::new();
    for node in html.root_element().descendants() {
        let Node::Text(text) = node.value() else {
            continue;
        };
        let chars = text.trim().chars().count();
        if chars < MIN_PARAGRAPH_CHARS {
            continue;
        }
        let ancestors: Vec<ElementRef<'_>> =
            node.ancestors().filter_map(ElementRef::wrap).collect();
        if ancestors
            .iter()
            .any(|a| a.value().name() == "a" || NOT_CONTENT.contains(&a.value().name()))
        {
            continue;
        }
        let Some(block) = ancestors
            .iter()
            .find(|a| !INLINE.contains(&a.value().name()))
        else {
            continue;
        };
        let paragraph = matches!(
            block.value().name(),
            "p" | "li"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "blockquote"
                | "pre"
                | "figcaption"
                | "dd"
        );
        let container = if paragraph {
            block.parent().and_then(ElementRef::wrap)
        } else {
            Some(*block)
        };
        let Some(container) = container else { continue };
        *scores.entry(container.id()).or_default() += chars as f64;
        if let Some(parent) = container.parent().and_then(ElementRef::wrap) {
            *scores.entry(parent.id()).or_default() += chars as f64 / 2.0;
        }
    }
    scores
        .into_iter()
        .filter_map(|(id, score)| {
            let e = ElementRef::wrap(html.tree.get(id)?)?;
            let score = if in_navigation(e) { score * 0.2 } else { score };
            Some((e, score))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(e, _)| e)
}

/// The date near the title: a `<time datetime>`, a short dated text, or the page's
/// `article:published_time`.
fn published<'a>(
    pages: &[ArticlePage<'a>],
    titles: &[Option<ElementRef<'a>>],
    notes: &mut Vec<Note>,
) -> Option<String> {
    let found: Vec<Option<(ElementRef<'a>, bool)>> = pages
        .iter()
        .zip(titles)
        .map(|(page, title)| {
            let title = (*title)?;
            let after = page
                .html
                .root_element()
                .descendants()
                .filter_map(ElementRef::wrap)
                .skip_while(|e| e.id() != title.id())
                .skip(1)
                .filter(|e| !e.ancestors().any(|a| a.id() == title.id()))
                .take(DATE_WINDOW);
            after
                .filter(|e| !in_navigation(*e))
                .find_map(|e| date_element(e, None).filter(|(d, _)| d.id() == e.id()))
                .map(|(e, attribute)| {
                    if attribute {
                        (e, attribute)
                    } else {
                        (selector::named_in_chain(e), attribute)
                    }
                })
        })
        .collect();
    let dated = found.iter().filter(|f| f.is_some()).count();
    let model = found.iter().flatten().next().copied();
    if let Some((element, attribute)) = model {
        let suffix = if attribute { "@datetime" } else { "" };
        let css = absolute(element).into_iter().find(|css| {
            compile(css).is_some_and(|sel| {
                pages.iter().zip(&found).all(|(page, want)| {
                    match (page.html.select(&sel).next(), want) {
                        (Some(e), Some((want, _))) => e.id() == want.id(),
                        (first, None) => first.is_none_or(|e| selector::text(e).is_empty()),
                        (None, Some(_)) => false,
                    }
                })
            })
        });
        if let Some(css) = css {
            if dated < pages.len() {
                notes.push(Note::new(
                    "article.published",
                    format!("`{css}` found a date on {dated} of {} pages", pages.len()),
                ));
            }
            return Some(format!("{css}{suffix}"));
        }
    }
    let meta = r#"meta[property="article:published_time"]"#;
    let sel = compile(meta)?;
    let with_meta = pages
        .iter()
        .filter(|p| {
            p.html
                .select(&sel)
                .next()
                .and_then(|m| m.value().attr("content"))
                .is_some_and(|c| date::parse(c, chrono_tz::Asia::Ho_Chi_Minh, &[]).is_some())
        })
        .count();
    if with_meta > 0 {
        return Some(format!("{meta}@content"));
    }
    notes.push(Note::new(
        "article.published",
        "no date near the title: the list page's date stands in",
    ));
    None
}

/// A lead paragraph between the title and the body, named as one (`sapo`, `lead`, `desc`).
fn sapo<'a>(
    pages: &[ArticlePage<'a>],
    titles: &[Option<ElementRef<'a>>],
    bodies: &[Option<ElementRef<'a>>],
) -> Option<String> {
    let found: Vec<Option<ElementRef<'a>>> = pages
        .iter()
        .zip(titles.iter().zip(bodies))
        .map(|(page, (title, body))| {
            let (title, body) = ((*title)?, (*body)?);
            page.html
                .root_element()
                .descendants()
                .filter_map(ElementRef::wrap)
                .skip_while(|e| e.id() != title.id())
                .take_while(|e| e.id() != body.id())
                .filter(|e| !e.descendants().any(|d| d.id() == body.id()))
                .find(|e| {
                    let el = e.value();
                    let named = el.classes().chain(el.id()).any(|c| {
                        let c = c.to_ascii_lowercase();
                        SAPO_WORDS.iter().any(|w| c.contains(w))
                    });
                    let len = selector::text(*e).chars().count();
                    named && (MIN_SAPO_CHARS..=MAX_SAPO_CHARS).contains(&len)
                })
        })
        .collect();
    choose(pages, &found, |_, _| true)
}

/// Links to files (.pdf, .doc, …): the block that holds them, outside the body if one does.
fn attachments<'a>(pages: &[ArticlePage<'a>], bodies: &[Option<ElementRef<'a>>]) -> Option<String> {
    let is_file = |a: &ElementRef<'_>| {
        a.value().attr("href").is_some_and(|href| {
            let path = href.split(['?', '#']).next().unwrap_or(href);
            path.rsplit('.').next().is_some_and(|ext| {
                let ext = ext.to_ascii_lowercase();
                FILE_EXTENSIONS.contains(&ext.as_str())
                    && !matches!(ext.as_str(), "jpg" | "jpeg" | "png" | "gif")
            })
        })
    };
    // Count, per candidate container selector, the file links it holds over all pages.
    let mut counts: HashMap<String, (usize, bool)> = HashMap::new();
    for (page, body) in pages.iter().zip(bodies) {
        let Some(sel) = compile("a[href]") else {
            continue;
        };
        for anchor in page
            .html
            .select(&sel)
            .filter(is_file)
            .filter(|a| !in_navigation(*a))
        {
            let Some(container) = anchor
                .ancestors()
                .filter_map(ElementRef::wrap)
                .find(|a| !selector::classes(*a).is_empty() || a.value().id().is_some())
            else {
                continue;
            };
            let in_body = body.is_some_and(|b| container.id() == b.id());
            for css in simple(container)
                .into_iter()
                .filter(|c| c.contains(['.', '#', '[']))
                .take(1)
            {
                let entry = counts.entry(css).or_insert((0, in_body));
                entry.0 += 1;
            }
        }
    }
    let (css, (_, in_body)) = counts
        .into_iter()
        .max_by_key(|(css, (n, in_body))| (!*in_body, *n, std::cmp::Reverse(css.clone())))?;
    if in_body {
        // The body also links pages: only the files.
        let exts = ["pdf", "doc", "docx", "xls", "xlsx", "zip", "rar"];
        Some(
            exts.iter()
                .map(|ext| format!(r#"{css} a[href$=".{ext}" i]"#))
                .collect::<Vec<_>>()
                .join(", "),
        )
    } else {
        Some(format!("{css} a"))
    }
}

/// Sharing, printing and font-size widgets inside the body: what `remove` lists.
fn widgets(bodies: &[Option<ElementRef<'_>>]) -> Vec<String> {
    let mut out: Vec<String> = vec!["script".into(), "style".into()];
    for body in bodies.iter().flatten() {
        for e in body.descendants().filter_map(ElementRef::wrap).skip(1) {
            let hit = e.value().classes().find(|c| {
                let c = c.to_ascii_lowercase();
                WIDGETS.iter().any(|w| c.contains(w))
            });
            let Some(class) = hit else { continue };
            // Only the outermost widget: what it holds goes with it.
            let inside_one = e
                .ancestors()
                .filter_map(ElementRef::wrap)
                .take_while(|a| a.id() != body.id())
                .any(|a| {
                    a.value()
                        .classes()
                        .any(|c| WIDGETS.iter().any(|w| c.to_ascii_lowercase().contains(w)))
                });
            let css = format!(".{class}");
            if !inside_one && !out.contains(&css) && !class.bytes().any(|b| b.is_ascii_digit()) {
                out.push(css);
            }
        }
    }
    out
}
