//! A list page's profile, inferred: the repeated item block, its link, date and summary, the
//! next-page link, and which query keys identify an article.

use std::collections::{BTreeMap, HashMap, HashSet};

use scraper::{ElementRef, Html};
use url::Url;

use super::selector::{self, compile, in_navigation, relative};
use super::{InitError, Note, identity, paging};
use crate::config::host_and_port;
use crate::normalize::{date, resolve};

/// The fewest items a list block has.
const MIN_ITEMS: usize = 2;
/// A link text shorter than this is a menu entry or a "more" link, not an article's title.
const MIN_TITLE_CHARS: usize = 12;
/// A summary is at least this long.
const MIN_SUMMARY_CHARS: usize = 40;
/// A date is written in at most this many characters (`Thứ năm, 24 Tháng 12 2020 14:15`).
const MAX_DATE_CHARS: usize = 80;
/// A date's element holds at most this many nodes (`<span><i class=icon></i> 12/04/2021</span>`).
const MAX_DATE_NODES: usize = 12;
/// Files linked from articles: never an article page.
pub const FILE_EXTENSIONS: &[&str] = &[
    "pdf", "doc", "docx", "xls", "xlsx", "zip", "rar", "ppt", "pptx", "jpg", "jpeg", "png", "gif",
];
/// What `init` makes of a list page.
#[derive(Debug, Clone)]
pub struct ListGuess {
    pub item: String,
    pub link: String,
    pub published: Option<String>,
    pub summary: Option<String>,
    pub next_page: Option<String>,
    /// The articles listed, in page order.
    pub items: Vec<Listed>,
    pub canonical_query: Vec<String>,
    pub id_param: Option<String>,
    pub id_pattern: Option<String>,
    /// The section's name as the page heads it.
    pub section_name: Option<String>,
    /// Names the page gives its section (headings, `<title>` parts): what a breadcrumb ends with.
    pub section_names: Vec<String>,
    /// The page's language (`<html lang>`), lowercase, without region.
    pub language: Option<String>,
    pub notes: Vec<Note>,
}

/// One listed article.
#[derive(Debug, Clone)]
pub struct Listed {
    pub url: Url,
    pub title: String,
}

/// One group of sibling elements of the same shape, each linking an article.
struct Block<'a> {
    members: Vec<ElementRef<'a>>,
    /// Each member's title link, when it has one.
    links: Vec<Option<ElementRef<'a>>>,
    score: f64,
}

/// Infers the list profile of the page at `page_url`.
pub fn infer(html: &Html, page_url: &Url) -> Result<ListGuess, InitError> {
    let block = best_block(html, page_url).ok_or_else(|| InitError::NoItems {
        url: page_url.to_string(),
    })?;
    let mut notes = Vec::new();
    let linked: Vec<(ElementRef<'_>, ElementRef<'_>)> = block
        .members
        .iter()
        .zip(&block.links)
        .filter_map(|(m, l)| l.map(|l| (*m, l)))
        .collect();
    let item = item_selector(html, &block, page_url).ok_or_else(|| InitError::NoItems {
        url: page_url.to_string(),
    })?;
    let link = link_selector(&linked, page_url);
    let items: Vec<Listed> = linked
        .iter()
        .filter_map(|(_, a)| {
            Some(Listed {
                url: article_url(*a, page_url)?,
                title: selector::text(*a),
            })
        })
        .collect();
    let published = date_selector(&linked);
    if published.is_none() {
        notes.push(Note::new(
            "list.published",
            "no date found in the list items",
        ));
    }
    let summary = summary_selector(&linked);
    let (next_page, positional) = paging::next_page(html, page_url, &block.members);
    match &next_page {
        None => notes.push(Note::new(
            "list.next_page",
            "no next-page link found (one page only?)",
        )),
        Some(css) if positional => notes.push(Note::new(
            "list.next_page",
            format!("`{css}` picks the link by its position; check it on the last page"),
        )),
        Some(_) => {}
    }
    let (canonical_query, id_param, id_pattern) = identity::infer(html, page_url, &items);
    let section_names = section_names(html);
    Ok(ListGuess {
        item,
        link,
        published,
        summary,
        next_page,
        items,
        canonical_query,
        id_param,
        id_pattern,
        section_name: section_name(html),
        section_names,
        language: language(html),
        notes,
    })
}

/// The address an anchor links, when it could be an article of this portal.
pub fn article_url(anchor: ElementRef<'_>, page_url: &Url) -> Option<Url> {
    let href = anchor.value().attr("href")?.trim();
    if href.is_empty()
        || href.starts_with('#')
        || href.to_ascii_lowercase().starts_with("javascript:")
    {
        return None;
    }
    let mut url = resolve(page_url, href)?;
    url.set_fragment(None);
    let same_host = host_and_port(&url) == host_and_port(page_url);
    let file = url
        .path()
        .rsplit('.')
        .next()
        .is_some_and(|ext| FILE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()));
    (same_host && !file && url != *page_url).then_some(url)
}

/// What an article URL looks like: its path with numbers and slugs blurred, and its query keys.
fn shape(url: &Url) -> String {
    let path: Vec<String> = url
        .path()
        .split('/')
        .map(|segment| {
            if segment.bytes().any(|b| b.is_ascii_digit()) || segment.contains('-') {
                "*".to_string()
            } else {
                segment.to_ascii_lowercase()
            }
        })
        .collect();
    let mut keys: Vec<String> = url
        .query_pairs()
        .map(|(k, _)| k.to_ascii_lowercase())
        .collect();
    keys.sort();
    keys.dedup();
    format!("{}?{}", path.join("/"), keys.join("&"))
}

/// The title link of an item: its longest-texted article link; none when the element links
/// several articles (it is a whole list, not an item).
fn title_link<'a>(member: ElementRef<'a>, page_url: &Url) -> Option<ElementRef<'a>> {
    let anchors: Vec<(ElementRef<'a>, Url, usize)> = member
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "a")
        .filter_map(|a| {
            let url = article_url(a, page_url)?;
            let len = selector::text(a).chars().count();
            Some((a, url, len))
        })
        .collect();
    let titled: HashSet<&Url> = anchors
        .iter()
        .filter(|(_, _, len)| *len >= MIN_TITLE_CHARS)
        .map(|(_, url, _)| url)
        .collect();
    if titled.len() != 1 {
        return None;
    }
    anchors
        .iter()
        .filter(|(_, _, len)| *len >= MIN_TITLE_CHARS)
        .max_by_key(|(_, _, len)| *len)
        .map(|(a, _, _)| *a)
}

/// The date an element shows: a `<time datetime>`'s attribute, or its short text.
fn date_value(element: ElementRef<'_>) -> Option<(String, bool)> {
    if !selector::small(element, MAX_DATE_NODES) {
        return None;
    }
    if let Some(at) = element
        .value()
        .attr("datetime")
        .filter(|_| element.value().name() == "time")
        .filter(|at| date::parse(at, chrono_tz::Asia::Ho_Chi_Minh, &[]).is_some())
    {
        return Some((at.to_string(), true));
    }
    let text = selector::text(element);
    (text.chars().count() <= MAX_DATE_CHARS
        && date::parse(&text, chrono_tz::Asia::Ho_Chi_Minh, &[]).is_some())
    .then_some((text, false))
}

/// The element of `root` that shows a date, the smallest first, never one holding `not`.
pub fn date_element<'a>(
    root: ElementRef<'a>,
    not: Option<ElementRef<'a>>,
) -> Option<(ElementRef<'a>, bool)> {
    root.descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| not.is_none_or(|n| !e.descendants().any(|d| d.id() == n.id())))
        .filter_map(|e| date_value(e).map(|(text, attr)| (e, attr, text.len())))
        // An attribute is exact; among texts, the shortest is the date itself.
        .min_by_key(|(_, attr, len)| if *attr { 0 } else { *len })
        .map(|(e, attr, _)| (e, attr))
}

fn best_block<'a>(html: &'a Html, page_url: &Url) -> Option<Block<'a>> {
    let mut best: Option<Block<'a>> = None;
    for parent in html
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
    {
        let mut groups: BTreeMap<String, Vec<ElementRef<'a>>> = BTreeMap::new();
        for child in parent.children().filter_map(ElementRef::wrap) {
            // Tag and first class: rows also carry `odd`/`even`/`first` variants of their class.
            let signature = format!(
                "{}.{}",
                child.value().name(),
                selector::classes(child)
                    .first()
                    .copied()
                    .unwrap_or_default()
            );
            groups.entry(signature).or_default().push(child);
        }
        for members in groups.into_values().filter(|m| m.len() >= MIN_ITEMS) {
            let links: Vec<Option<ElementRef<'a>>> =
                members.iter().map(|m| title_link(*m, page_url)).collect();
            let linked: Vec<ElementRef<'a>> = links.iter().flatten().copied().collect();
            if linked.len() < MIN_ITEMS || linked.len() * 10 < members.len() * 6 {
                continue;
            }
            // Items link articles of one shape; a menu links pages of many.
            let mut shapes: HashMap<String, usize> = HashMap::new();
            for a in &linked {
                if let Some(url) = article_url(*a, page_url) {
                    *shapes.entry(shape(&url)).or_default() += 1;
                }
            }
            let same_shape = shapes.values().copied().max().unwrap_or(0);
            if same_shape < MIN_ITEMS {
                continue;
            }
            let title_chars: usize = linked
                .iter()
                .map(|a| selector::text(*a).chars().count().min(100))
                .sum();
            let mean = title_chars as f64 / linked.len() as f64;
            let dated = members
                .iter()
                .zip(&links)
                .filter(|(m, l)| l.is_some() && date_element(**m, **l).is_some())
                .count();
            let date_share = dated as f64 / linked.len() as f64;
            let penalty = if in_navigation(parent) { 0.2 } else { 1.0 };
            let score = same_shape as f64 * mean * (1.0 + 2.0 * date_share) * penalty;
            if best.as_ref().is_none_or(|b| score > b.score) {
                best = Some(Block {
                    members,
                    links,
                    score,
                });
            }
        }
    }
    best
}

/// The selector that finds the block's items: every member with a title link, and nothing
/// else that links an article.
fn item_selector(html: &Html, block: &Block<'_>, page_url: &Url) -> Option<String> {
    let first = *block.members.first()?;
    let wanted: HashSet<_> = block
        .members
        .iter()
        .zip(&block.links)
        .filter(|(_, l)| l.is_some())
        .map(|(m, _)| m.id())
        .collect();
    let mut candidates = selector::simple(first);
    if let Some(parent) = first.parent().and_then(ElementRef::wrap) {
        let own = selector::simple(first);
        for prefix in selector::simple(parent) {
            for name in &own {
                candidates.push(format!("{prefix} > {name}"));
            }
        }
    }
    candidates.extend(selector::absolute(first));
    candidates.into_iter().find(|css| {
        let Some(sel) = compile(css) else {
            return false;
        };
        let found: Vec<ElementRef<'_>> = html.select(&sel).collect();
        wanted.iter().all(|id| found.iter().any(|e| e.id() == *id))
            && found
                .iter()
                .filter(|e| !wanted.contains(&e.id()))
                .all(|e| title_link(*e, page_url).is_none())
    })
}

/// The selector, within an item, whose first link with an href is the title link.
fn link_selector(linked: &[(ElementRef<'_>, ElementRef<'_>)], page_url: &Url) -> String {
    let Some((item, anchor)) = linked.first() else {
        return "a".into();
    };
    let mut candidates = Vec::new();
    if let Some(heading) = anchor
        .ancestors()
        .filter_map(ElementRef::wrap)
        .take_while(|a| a.id() != item.id())
        .find(|a| matches!(a.value().name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6"))
    {
        candidates.push(format!("{} a", heading.value().name()));
    }
    candidates.extend(relative(*item, *anchor));
    candidates.push("a".into());
    candidates
        .into_iter()
        .find(|css| {
            compile(css).is_some_and(|sel| {
                linked.iter().all(|(item, anchor)| {
                    item.select(&sel)
                        .find(|a| a.value().attr("href").is_some())
                        .and_then(|a| article_url(a, page_url))
                        == article_url(*anchor, page_url)
                })
            })
        })
        .unwrap_or_else(|| "a".into())
}

/// The selector, within an item, of its date; `@datetime` when a `<time>` holds it.
fn date_selector(linked: &[(ElementRef<'_>, ElementRef<'_>)]) -> Option<String> {
    let found: Vec<_> = linked
        .iter()
        .filter_map(|(item, a)| date_element(*item, Some(*a)).map(|d| (*item, d)))
        .collect();
    let (item, (element, attribute)) = found.first()?;
    let suffix = if *attribute { "@datetime" } else { "" };
    relative(*item, *element)
        .into_iter()
        .filter_map(|css| {
            let sel = compile(&css)?;
            let read = linked
                .iter()
                .filter(|(item, _)| {
                    item.select(&sel).next().is_some_and(|e| {
                        if *attribute {
                            e.value().attr("datetime").is_some()
                        } else {
                            date_value(e).is_some()
                        }
                    })
                })
                .count();
            Some((format!("{css}{suffix}"), read))
        })
        .find(|(_, read)| *read >= found.len())
        .map(|(css, _)| css)
}

/// The selector, within an item, of its summary: a long text that is neither title nor date.
fn summary_selector<'a>(linked: &[(ElementRef<'a>, ElementRef<'a>)]) -> Option<String> {
    let summary_of = |item: ElementRef<'a>, anchor: ElementRef<'a>| -> Option<ElementRef<'a>> {
        let date = date_element(item, Some(anchor)).map(|(d, _)| d.id());
        item.descendants()
            .filter_map(ElementRef::wrap)
            .filter(|e| {
                !e.descendants()
                    .any(|d| Some(d.id()) == date || d.id() == anchor.id())
                    && !e.ancestors().any(|a| a.id() == anchor.id())
            })
            .map(|e| (e, selector::text(e).chars().count()))
            .filter(|(_, len)| *len >= MIN_SUMMARY_CHARS)
            // The outermost of equal texts: `div.entry-summary` rather than its `<p>`.
            .fold(
                None::<(ElementRef<'a>, usize)>,
                |best, (e, len)| match best {
                    Some((_, best_len)) if best_len >= len => best,
                    _ => Some((e, len)),
                },
            )
            .map(|(e, _)| e)
    };
    let found: Vec<_> = linked
        .iter()
        .filter_map(|(item, a)| summary_of(*item, *a).map(|s| (*item, *a, s)))
        .collect();
    if found.len() * 10 < linked.len() * 6 {
        return None;
    }
    let (item, _, element) = found.first()?;
    relative(*item, *element).into_iter().find(|css| {
        compile(css).is_some_and(|sel| {
            let read = linked
                .iter()
                .filter(|(item, anchor)| {
                    item.select(&sel).next().is_some_and(|e| {
                        selector::text(e).chars().count() >= MIN_SUMMARY_CHARS
                            && !e.descendants().any(|d| d.id() == anchor.id())
                    })
                })
                .count();
            read >= found.len()
        })
    })
}

/// The heading a list page gives its section: its `<h1>`, else its first `<h2>`, else `<title>`.
fn section_name(html: &Html) -> Option<String> {
    ["h1", "h2", "title"].into_iter().find_map(|tag| {
        let sel = compile(tag)?;
        html.select(&sel)
            .filter(|e| !in_navigation(*e))
            .map(selector::text)
            .map(|t| t.rsplit(':').next().unwrap_or(&t).trim().to_string())
            .find(|t| !t.is_empty() && t.chars().count() <= 80)
    })
}

/// Every name the page may give its section: headings, `<title>` and its parts.
fn section_names(html: &Html) -> Vec<String> {
    let mut names = Vec::new();
    for tag in ["h1", "h2", "title", "td", "div", "span"] {
        let Some(sel) = compile(tag) else { continue };
        for e in html.select(&sel) {
            if matches!(tag, "td" | "div" | "span")
                && !selector::classes(e).iter().any(|c| c.contains("title"))
            {
                continue;
            }
            let text = selector::text(e);
            if text.is_empty() || text.chars().count() > 80 {
                continue;
            }
            for part in std::iter::once(text.as_str())
                .chain(text.split([':', '|', '–']))
                .chain(text.split(" - "))
            {
                let part = part.trim();
                if !part.is_empty() && !names.iter().any(|n: &String| n == part) {
                    names.push(part.to_string());
                }
            }
        }
    }
    names
}

/// `<html lang>`, without region: `vi-VN` -> `vi`.
fn language(html: &Html) -> Option<String> {
    html.root_element()
        .value()
        .attr("lang")
        .or_else(|| html.root_element().value().attr("xml:lang"))
        .and_then(|lang| lang.split(['-', '_']).next())
        .map(|lang| lang.trim().to_ascii_lowercase())
        .filter(|lang| !lang.is_empty())
}
