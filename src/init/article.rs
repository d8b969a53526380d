//! An article profile, inferred from a few article pages and the titles their list gave them.

use std::collections::{HashMap, HashSet};

use ego_tree::NodeId;
use scraper::{ElementRef, Html, Node};
use url::Url;

use super::selector::{self, absolute, compile, in_navigation, same_title, simple};
use super::template::{NOT_CONTENT, Template};
use super::{Note, files, labels, list};
use crate::normalize::date::{self, Published};

/// A text shorter than this does not count towards a block's density.
const MIN_PARAGRAPH_CHARS: usize = 25;
/// A sapo is at least this long, and at most [`MAX_SAPO_CHARS`].
const MIN_SAPO_CHARS: usize = 40;
const MAX_SAPO_CHARS: usize = 800;
/// A title's element holds at most this many nodes.
const MAX_TITLE_NODES: usize = 24;
/// Elements that only style text: a paragraph's block is the nearest element that is not one.
const INLINE: &[&str] = &[
    "a", "span", "b", "strong", "i", "em", "u", "font", "small", "big", "sup", "sub", "label",
    "time", "abbr", "br", "code", "mark", "s", "strike",
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
    /// The date the list showed for it.
    pub listed_date: Option<Published>,
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

/// Infers the article profile; `section_names` are what the list page calls its section,
/// `template` what the sampled pages share, `documents` the links a HEAD request found to be
/// documents.
pub fn infer(
    pages: &[ArticlePage<'_>],
    section_names: &[String],
    template: &Template,
    documents: &HashSet<String>,
) -> ArticleGuess {
    let mut guess = ArticleGuess::default();
    let titles: Vec<Option<ElementRef<'_>>> = pages.iter().map(title_element).collect();
    let (title, covered) = cover(pages, &titles, absolute, |page, e| {
        e.is_some_and(|e| same_title(&selector::text(e), page.listed_title))
    });
    guess.title = title;
    match &guess.title {
        None => guess.notes.push(Note::new(
            "article.title",
            format!(
                "no heading repeats the listed title on the {} pages (looked for an element outside menus whose text is the title the list gave)",
                pages.len()
            ),
        )),
        Some(css) if covered < titles.iter().flatten().count() => guess.notes.push(Note::new(
            "article.title",
            format!(
                "`{css}` finds the title on {covered} of {} pages",
                pages.len()
            ),
        )),
        Some(_) => {}
    }
    let bodies: Vec<Option<ElementRef<'_>>> = pages
        .iter()
        .zip(&titles)
        .map(|(p, t)| densest(p.html, template, *t))
        .collect();
    let (body, covered) = cover(pages, &bodies, block_names, |_, _| true);
    guess.body = body;
    match &guess.body {
        None => guess.notes.push(Note::new(
            "article.body",
            "no selector finds the block holding each page's own text; fallback = \"readability\" set",
        )),
        Some(css) if covered < pages.len() => guess.notes.push(Note::new(
            "article.body",
            format!("`{css}` finds the text block on {covered} of {} pages", pages.len()),
        )),
        Some(_) => {}
    }
    let dates = published(pages, &titles, &bodies, &mut guess);
    guess.summary = sapo(pages, &titles, &bodies);
    guess.category = labels::category(pages, section_names, &mut guess.notes);
    let credits = labels::credit(pages, &bodies, &mut guess);
    let (attachments, boxes) = attachments(pages, &bodies, documents, guess.body.as_deref());
    guess.attachments = attachments;
    let mut skip: Vec<Vec<ElementRef<'_>>> = titles
        .iter()
        .zip(&dates)
        .zip(&boxes)
        .map(|((t, d), b)| t.iter().chain(d).chain(b).copied().collect())
        .collect();
    skip.resize(pages.len(), Vec::new());
    guess.remove = remove(pages, &bodies, &skip, &credits, template);
    guess
}

/// Selectors for a block: [`absolute`]'s, then, for a block with no name of its own, anchored
/// on the named sibling before it or an ancestor (`tr:has(> td.createdate) + tr > td`: a table
/// layout's text cell, in the row after the date's).
fn block_names(element: ElementRef<'_>) -> Vec<String> {
    let mut out = absolute(element);
    let mut path = vec![element.value().name().to_string()];
    for anchor in std::iter::once(element)
        .chain(element.ancestors().filter_map(ElementRef::wrap))
        .take(3)
    {
        if anchor.id() != element.id() {
            path.insert(0, anchor.value().name().to_string());
        }
        let Some(before) = anchor.prev_siblings().filter_map(ElementRef::wrap).next() else {
            continue;
        };
        let mut marks: Vec<String> = simple(before)
            .into_iter()
            .filter(|n| n.contains(['.', '#']))
            .collect();
        for child in before.children().filter_map(ElementRef::wrap) {
            for name in simple(child).into_iter().filter(|n| n.contains(['.', '#'])) {
                marks.push(format!("{}:has(> {name})", before.value().name()));
            }
        }
        for mark in marks {
            out.push(format!("{mark} + {}", path.join(" > ")));
        }
    }
    out
}

/// Selectors for the elements found on each page, candidates from `names`: one selector when
/// one finds every page's element first, else a list (`a, b`) with one per layout, each finding
/// its pages' elements and nothing else first on any page. Pages with no element found pass
/// `accept` with what the selector finds there. Also says on how many pages it is right.
fn cover<'a>(
    pages: &[ArticlePage<'a>],
    found: &[Option<ElementRef<'a>>],
    names: impl Fn(ElementRef<'a>) -> Vec<String>,
    accept: impl Fn(&ArticlePage<'a>, Option<ElementRef<'a>>) -> bool,
) -> (Option<String>, usize) {
    let first_of = |css: &str, page: &ArticlePage<'a>| -> Option<Option<ElementRef<'a>>> {
        compile(css).map(|sel| page.html.select(&sel).next())
    };
    let right = |css: &str| -> Vec<bool> {
        pages
            .iter()
            .zip(found)
            .map(|(page, want)| match (first_of(css, page), want) {
                (None, _) => false,
                (Some(first), Some(want)) => first.is_some_and(|e| e.id() == want.id()),
                (Some(first), None) => accept(page, first),
            })
            .collect()
    };
    let models: Vec<usize> = found
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.map(|_| i))
        .collect();
    let Some(&model) = models.first() else {
        return (None, 0);
    };
    let candidates = |i: usize| found[i].map(&names).unwrap_or_default();
    if let Some(css) = candidates(model)
        .into_iter()
        .find(|css| right(css).iter().all(|r| *r))
    {
        return (Some(css), pages.len());
    }
    // Several layouts: one selector per layout, each harmless where it finds nothing.
    let harmless = |css: &str| -> Vec<Option<bool>> {
        pages
            .iter()
            .zip(found)
            .map(|(page, want)| {
                first_of(css, page)?.map(|first| match want {
                    Some(want) => first.id() == want.id(),
                    None => accept(page, Some(first)),
                })
            })
            .collect()
    };
    let mut chosen: Vec<String> = Vec::new();
    let mut covered: HashSet<usize> = HashSet::new();
    for &i in &models {
        if covered.contains(&i) {
            continue;
        }
        let pick = candidates(i).into_iter().find(|css| {
            let verdicts = harmless(css);
            verdicts[i] == Some(true) && verdicts.iter().all(|v| *v != Some(false))
        });
        if let Some(css) = pick {
            for (j, v) in harmless(&css).into_iter().enumerate() {
                if v == Some(true) {
                    covered.insert(j);
                }
            }
            chosen.push(css);
        }
    }
    if chosen.is_empty() {
        return (None, 0);
    }
    let css = chosen.join(", ");
    let count = right(&css).iter().filter(|r| **r).count();
    (Some(css), count)
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

/// The block holding the most of the page's own text, as readability scores it: a
/// paragraph's letters count fully for its container and half for the container's parent.
/// Text the template repeats, link texts and the title's are not the page's own.
pub fn densest<'a>(
    html: &'a Html,
    template: &Template,
    title: Option<ElementRef<'a>>,
) -> Option<ElementRef<'a>> {
    let mut scores: HashMap<NodeId, f64> = HashMap::new();
    for node in html.root_element().descendants() {
        let Node::Text(text) = node.value() else {
            continue;
        };
        let text = text.trim();
        let chars = text.chars().count();
        if chars < MIN_PARAGRAPH_CHARS || template.repeats(text) {
            continue;
        }
        let ancestors: Vec<ElementRef<'_>> =
            node.ancestors().filter_map(ElementRef::wrap).collect();
        if ancestors.iter().any(|a| {
            a.value().name() == "a"
                || NOT_CONTENT.contains(&a.value().name())
                || title.is_some_and(|t| t.id() == a.id())
        }) {
            continue;
        }
        let Some(block) = ancestors
            .iter()
            .find(|a| !INLINE.contains(&a.value().name()))
        else {
            continue;
        };
        // A `div` of text alone is a paragraph as an editor writes one (SharePoint's).
        let text_div = block.value().name() == "div"
            && !block.children().filter_map(ElementRef::wrap).any(|c| {
                matches!(
                    c.value().name(),
                    "div" | "p" | "table" | "ul" | "ol" | "h1" | "h2" | "h3" | "h4" | "section"
                )
            });
        let paragraph = text_div
            || matches!(
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

/// Elements searched for the date, before and after the title.
const DATES_BEFORE_TITLE: usize = 30;
/// The page's own date is at most this long a line (`Ngày đăng: 28/12/2020 08:30 | Lượt xem:
/// 152 | Người đăng: …`).
const MAX_DATE_LINE_CHARS: usize = 160;
/// Metadata that holds the publication time when the page shows none, most telling first.
const DATE_METADATA: &[&str] = &[
    r#"meta[property="article:published_time"]@content"#,
    r#"meta[itemprop="datePublished"]@content"#,
    r#"[itemprop="datePublished"]@datetime"#,
    r#"time[datetime]@datetime"#,
];

/// The date a page shows for itself: an element between the title and the body's text (or
/// just before the title) whose date is the one the list gave, or the first such element
/// when the list gave none; `<time datetime>`'s attribute when its text has no time of day.
/// The elements found, per page.
fn published<'a>(
    pages: &[ArticlePage<'a>],
    titles: &[Option<ElementRef<'a>>],
    bodies: &[Option<ElementRef<'a>>],
    guess: &mut ArticleGuess,
) -> Vec<Option<ElementRef<'a>>> {
    let found: Vec<Option<(ElementRef<'a>, bool)>> = pages
        .iter()
        .zip(titles.iter().zip(bodies))
        .map(|(page, (title, body))| page_date(page, (*title)?, *body))
        .collect();
    let elements: Vec<Option<ElementRef<'a>>> = found.iter().map(|f| f.map(|(e, _)| e)).collect();
    let dated = elements.iter().flatten().count();
    let attribute = found.iter().flatten().any(|(_, attribute)| *attribute);
    let accept = |_: &ArticlePage<'a>, first: Option<ElementRef<'a>>| {
        first.is_none_or(|e| list::date_value(e).is_none())
    };
    let (css, covered) = cover(pages, &elements, absolute, accept);
    if let Some(css) = css.filter(|_| dated > 0) {
        // `@datetime` applies to the first match of the whole list.
        let css = if attribute {
            format!("{css}@datetime")
        } else {
            css
        };
        if covered < dated || dated + 1 < pages.len() {
            guess.notes.push(Note::new(
                "article.published",
                format!("`{css}` found a date on {dated} of {} pages", pages.len()),
            ));
        }
        guess.published = Some(css);
        return elements;
    }
    // No date shown: what the page's metadata says, when it says it on (nearly) every page.
    for css in DATE_METADATA {
        let (selector_text, attr) = css.rsplit_once('@').unwrap_or((css, "content"));
        let Some(sel) = compile(selector_text) else {
            continue;
        };
        let read = pages
            .iter()
            .filter(|p| {
                p.html
                    .select(&sel)
                    .next()
                    .and_then(|m| m.value().attr(attr))
                    .is_some_and(|c| date::parse(c, chrono_tz::Asia::Ho_Chi_Minh, &[]).is_some())
            })
            .count();
        if read > 0 && read + 1 >= pages.len() {
            guess.published = Some((*css).to_string());
            return elements;
        }
    }
    guess.notes.push(Note::new(
        "article.published",
        "no date between the title and the text, nor in the page's metadata (looked for a date line, <time datetime>, article:published_time, itemprop=datePublished): the list page's date stands in",
    ));
    elements
}

/// The element showing the page's own date, and whether its `datetime` attribute is to be
/// read rather than its text.
fn page_date<'a>(
    page: &ArticlePage<'a>,
    title: ElementRef<'a>,
    body: Option<ElementRef<'a>>,
) -> Option<(ElementRef<'a>, bool)> {
    let all: Vec<ElementRef<'a>> = page
        .html
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .collect();
    let at = all.iter().position(|e| e.id() == title.id())?;
    // The body's first paragraph of its own ends the search: a date in the text is not the
    // article's.
    let first_text = body.and_then(|b| {
        b.descendants()
            .filter_map(ElementRef::wrap)
            .find(|e| {
                matches!(e.value().name(), "p" | "div" | "td")
                    && selector::text(*e).chars().count() > MAX_DATE_LINE_CHARS
            })
            .map(|e| e.id())
    });
    let after = all[at + 1..]
        .iter()
        .take_while(|e| Some(e.id()) != first_text)
        .filter(|e| !e.ancestors().any(|a| a.id() == title.id()));
    let before = all[at.saturating_sub(DATES_BEFORE_TITLE)..at].iter().rev();
    let listed_day = page.listed_date.map(|d| d.at.date_naive());
    let mut first = None;
    for e in after.chain(before) {
        if in_navigation(*e) || !selector::small(*e, 40) {
            continue;
        }
        let Some((text, _)) = date_line(*e) else {
            continue;
        };
        let Some(at) = date::parse(&text, chrono_tz::Asia::Ho_Chi_Minh, &[]) else {
            continue;
        };
        // The smallest element showing that day (the first of equals: the publication
        // time before an update's), with its time when an attribute has it.
        let day = at.at.date_naive();
        let own = e
            .descendants()
            .filter_map(ElementRef::wrap)
            .filter_map(|d| {
                let (text, _) = date_line(d)?;
                let p = date::parse(&text, chrono_tz::Asia::Ho_Chi_Minh, &[])?;
                let len = selector::text(d).chars().count();
                let without_time = d.value().attr("datetime").is_none();
                (p.at.date_naive() == day).then_some((d, (len, without_time)))
            })
            .min_by_key(|(_, key)| *key)
            .map_or(*e, |(d, _)| d);
        let hit = if date_line(own).is_some_and(|(_, attribute)| attribute) {
            Some((own, true))
        } else {
            Some((selector::named_in_chain(own), false))
        };
        match listed_day {
            Some(day) if at.at.date_naive() == day => return hit,
            Some(_) => {
                first = first.or(hit);
            }
            None => return hit,
        }
    }
    first
}

/// A short line's date text: a `<time datetime>`'s attribute when its text has no time of day
/// (or no date), else the text.
fn date_line(element: ElementRef<'_>) -> Option<(String, bool)> {
    let text = selector::text(element);
    let from_text = (text.chars().count() <= MAX_DATE_LINE_CHARS)
        .then(|| date::parse(&text, chrono_tz::Asia::Ho_Chi_Minh, &[]))
        .flatten();
    let attribute = element
        .value()
        .attr("datetime")
        .filter(|_| element.value().name() == "time")
        .filter(|at| date::parse(at, chrono_tz::Asia::Ho_Chi_Minh, &[]).is_some());
    match (from_text, attribute) {
        (Some(p), Some(at)) if p.inferred => Some((at.to_string(), true)),
        (Some(_), _) => Some((text, false)),
        (None, Some(at)) => Some((at.to_string(), true)),
        (None, None) => None,
    }
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
    cover(pages, &found, absolute, |_, _| true).0
}

/// Links to documents (by extension anywhere in the path, a CMS's download handler, or
/// `documents`: what a HEAD request said is one): the block that holds them, outside the body
/// when one does, or the document links of the body. Also each page's box of documents, when it
/// is a block of its own (an attachments table).
fn attachments<'a>(
    pages: &[ArticlePage<'a>],
    bodies: &[Option<ElementRef<'a>>],
    documents: &HashSet<String>,
    body_css: Option<&str>,
) -> (Option<String>, Vec<Option<ElementRef<'a>>>) {
    let Some(anchor_sel) = compile("a[href]") else {
        return (None, Vec::new());
    };
    let is_document = |page: &ArticlePage<'_>, a: &ElementRef<'_>| {
        a.value().attr("href").is_some_and(|href| {
            files::is_document(href)
                || page
                    .url
                    .join(href.trim())
                    .is_ok_and(|u| documents.contains(u.as_str()))
        })
    };
    // A document every page links (a side box of new documents) is the template's.
    let mut on_pages: HashMap<String, usize> = HashMap::new();
    for page in pages {
        let linked: HashSet<&str> = page
            .html
            .select(&anchor_sel)
            .filter_map(|a| a.value().attr("href"))
            .collect();
        for href in linked {
            *on_pages.entry(href.to_string()).or_default() += 1;
        }
    }
    let own = |a: &ElementRef<'_>| {
        a.value()
            .attr("href")
            .is_some_and(|h| on_pages.get(h).copied().unwrap_or(0) < 2 || pages.len() < 2)
    };
    let mut hrefs: Vec<&str> = Vec::new();
    // Per page, the block holding its document links: the nearest named ancestor of them all.
    let mut boxes: Vec<Option<ElementRef<'a>>> = Vec::new();
    let mut in_body_pages = 0;
    let mut outside: HashMap<String, usize> = HashMap::new();
    for (page, body) in pages.iter().zip(bodies) {
        let anchors: Vec<ElementRef<'a>> = page
            .html
            .select(&anchor_sel)
            .filter(|a| is_document(page, a) && !in_navigation(*a) && own(a))
            .collect();
        hrefs.extend(anchors.iter().filter_map(|a| a.value().attr("href")));
        let Some(first) = anchors.first() else {
            boxes.push(None);
            continue;
        };
        let inside =
            |e: ElementRef<'_>| body.is_some_and(|b| e.ancestors().any(|x| x.id() == b.id()));
        // A box outside the text that links every document the page links (the text may link
        // some again inline): that box names them.
        let urls: HashSet<&str> = anchors
            .iter()
            .filter_map(|a| a.value().attr("href"))
            .collect();
        let out_of_text: Vec<&ElementRef<'a>> = anchors.iter().filter(|a| !inside(**a)).collect();
        let boxed: HashSet<&str> = out_of_text
            .iter()
            .filter_map(|a| a.value().attr("href"))
            .collect();
        let group: Vec<&ElementRef<'a>> = if !out_of_text.is_empty() && boxed == urls {
            out_of_text
        } else {
            anchors.iter().collect()
        };
        let common = group[0].ancestors().filter_map(ElementRef::wrap).find(|c| {
            group
                .iter()
                .all(|a| a.ancestors().any(|x| x.id() == c.id()))
                && (c.value().id().is_some() || !selector::classes(*c).is_empty())
        });
        match common {
            Some(c) if body.is_none_or(|b| c.id() != b.id() && !inside(c)) => {
                // A block of its own outside the body.
                for css in simple(c)
                    .into_iter()
                    .filter(|c| c.contains(['.', '#', '[']))
                    .take(1)
                {
                    *outside.entry(css).or_default() += 1;
                }
                boxes.push(Some(c));
            }
            _ => {
                in_body_pages += 1;
                // A table or list of files inside the body: its own block, left out of the text.
                let table = first.ancestors().filter_map(ElementRef::wrap).find(|x| {
                    matches!(x.value().name(), "table" | "ul" | "ol")
                        && inside(*x)
                        && anchors
                            .iter()
                            .all(|a| a.ancestors().any(|y| y.id() == x.id()))
                });
                boxes.push(table);
            }
        }
    }
    if hrefs.is_empty() {
        return (None, boxes);
    }
    let tests = {
        // Every common document type, not only those the sampled pages happened to link.
        let mut tests: Vec<String> = files::COMMON_DOCUMENTS
            .iter()
            .map(|ext| format!(r#"[href*=".{ext}" i]"#))
            .collect();
        for test in files::selector_tests(&hrefs) {
            if !tests.contains(&test) {
                tests.push(test);
            }
        }
        for href in &hrefs {
            if !files::is_document(href) {
                // A document only a HEAD request knew: its path names the handler.
                let path = href.split(['?', '#']).next().unwrap_or(href);
                if !path.contains('"') && !path.is_empty() {
                    let test = format!(r#"[href*="{path}"]"#);
                    if !tests.contains(&test) {
                        tests.push(test);
                    }
                }
            }
        }
        tests
    };
    let with_tests = |scope: &str| {
        tests
            .iter()
            .map(|t| format!("{scope} a{t}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let outside_best = outside
        .into_iter()
        .max_by_key(|(css, n)| (*n, std::cmp::Reverse(css.clone())));
    let mut scopes: Vec<String> = Vec::new();
    if let Some((css, _)) = outside_best {
        scopes.push(css);
    }
    if in_body_pages > 0 {
        // Inside the body: each of the body's selectors.
        match body_css {
            Some(body) => scopes.extend(body.split(", ").map(str::to_string)),
            None => scopes.push(String::new()),
        }
    }
    let css = scopes
        .iter()
        .map(|scope| with_tests(scope).trim().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let css = css
        .split(", ")
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(", ");
    (Some(css), boxes)
}

/// What `remove` lists: the blocks inside each page's body that are the template's (toolbars,
/// metadata lines, related lists, sharing and rating widgets, the attachments table), named by
/// a selector that finds none of any page's own text; `script` and `style` always.
fn remove<'a>(
    pages: &[ArticlePage<'a>],
    bodies: &[Option<ElementRef<'a>>],
    skip: &[Vec<ElementRef<'a>>],
    keep: &[Option<ElementRef<'a>>],
    template: &Template,
) -> Vec<String> {
    // The credit line stays in the text, however often pages repeat it.
    let holds_kept = |e: ElementRef<'_>, i: usize| {
        keep.get(i).copied().flatten().is_some_and(|k| {
            k.id() == e.id()
                || k.ancestors().any(|a| a.id() == e.id())
                || e.ancestors().any(|a| a.id() == k.id())
        })
    };
    let mut out: Vec<String> = vec!["script".into(), "style".into()];
    let mut candidates: Vec<String> = Vec::new();
    for (i, (body, skip)) in bodies.iter().zip(skip).enumerate() {
        let Some(body) = body else { continue };
        let mut stack: Vec<ElementRef<'a>> = body.children().filter_map(ElementRef::wrap).collect();
        stack.reverse();
        while let Some(e) = stack.pop() {
            // An inline element in a run of text (`xem tại <a>…</a>.` in a `<br>` layout) is
            // part of a paragraph.
            let in_flow = INLINE.contains(&e.value().name())
                && [e.prev_sibling(), e.next_sibling()]
                    .into_iter()
                    .flatten()
                    .any(|n| matches!(n.value(), Node::Text(t) if !t.trim().is_empty()));
            if in_flow {
                continue;
            }
            if !holds_kept(e, i) && (template.is_template(e, skip) || widget(e)) {
                for css in simple(e)
                    .into_iter()
                    .filter(|c| c.contains(['.', '#', '[']))
                {
                    if !candidates.contains(&css) {
                        candidates.push(css);
                    }
                }
                if let Some(style) = e.value().attr("style").filter(|s| !s.contains('"')) {
                    let css = format!(r#"{}[style="{style}"]"#, e.value().name());
                    if !candidates.contains(&css) {
                        candidates.push(css);
                    }
                }
                // Unnamed (the title's `h2` inside the body): by its tag under its named parent.
                if let Some(parent) = e.parent().and_then(ElementRef::wrap) {
                    for prefix in simple(parent)
                        .into_iter()
                        .filter(|c| c.contains(['.', '#']))
                    {
                        let css = format!("{prefix} > {}", e.value().name());
                        if !candidates.contains(&css) {
                            candidates.push(css);
                        }
                    }
                }
                continue;
            }
            // A link's parts are its text (an attachment's "(.pdf)"), and a paragraph's are its
            // sentence ("Xem toàn văn: <a>…</a>"): never removed apart.
            if matches!(
                e.value().name(),
                "a" | "p" | "li" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "figcaption"
            ) {
                continue;
            }

            let mut children: Vec<ElementRef<'a>> =
                e.children().filter_map(ElementRef::wrap).collect();
            children.reverse();
            stack.extend(children);
        }
    }
    // A selector is kept when, on every page, nothing it finds holds the page's own text, and
    // it finds no body, no title and no list item.
    for css in candidates {
        let Some(sel) = compile(&css) else { continue };
        let harmless =
            pages
                .iter()
                .zip(bodies)
                .zip(skip)
                .enumerate()
                .all(|(i, ((page, body), skip))| {
                    page.html.select(&sel).all(|e| {
                        template.content_chars(e, skip) == 0
                            && !holds_kept(e, i)
                            && body.is_none_or(|b| {
                                e.id() != b.id() && !b.ancestors().any(|a| a.id() == e.id())
                            })
                            && !e.descendants().filter_map(ElementRef::wrap).any(|d| {
                                d.value().name() == "img"
                                    && !template.icon(d)
                                    && !d
                                        .ancestors()
                                        .filter_map(ElementRef::wrap)
                                        .any(|a| a.value().name() == "a")
                            })
                    })
                });
        if harmless && !out.contains(&css) {
            out.push(css);
        }
    }
    out
}

/// Sharing, printing and font-size widgets by their class: what a page's template puts in a
/// body even when the pages sampled show it once.
fn widget(element: ElementRef<'_>) -> bool {
    element.value().classes().any(|c| {
        let c = c.to_ascii_lowercase();
        WIDGETS.iter().any(|w| c.contains(w))
    })
}
