//! A list page's profile, inferred: the repeated item block, its link, date and summary, the
//! next-page link, and which query keys identify an article.

use std::collections::{BTreeMap, HashMap, HashSet};

use scraper::{ElementRef, Html};
use url::Url;

use super::selector::{self, compile, in_navigation, relative};
use super::{InitError, Note, files, identity, paging};
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
    /// What the listed URLs say of their query keys, for `init` to prove by fetching.
    pub identity: identity::Identity,
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
    /// Every text the item's links to the article show (the title link's, a "read more" link's
    /// without its hidden words): the article page's heading tells which is the title.
    pub titles: Vec<String>,
    /// The date the item shows.
    pub published: Option<crate::normalize::date::Published>,
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
    // Siblings of another shape that link articles alike: a Joomla blog's leading item beside
    // its rows, a table's alternate rows.
    let extra = sibling_groups(&block, page_url);
    let mut selectors =
        vec![
            item_selector(html, &block, page_url).ok_or_else(|| InitError::NoItems {
                url: page_url.to_string(),
            })?,
        ];
    let mut kept = Vec::new();
    for b in extra {
        match item_selector(html, &b, page_url) {
            Some(css) if !selectors.contains(&css) => {
                selectors.push(css);
                kept.push(b);
            }
            Some(_) => kept.push(b),
            None => {}
        }
    }
    let extra = kept;
    let item = selectors.join(", ");
    let mut linked: Vec<(ElementRef<'_>, ElementRef<'_>)> = std::iter::once(&block)
        .chain(&extra)
        .flat_map(|b| {
            b.members
                .iter()
                .zip(&b.links)
                .filter_map(|(m, l)| l.map(|l| (*m, l)))
        })
        .collect();
    // Page order: one walk of the page, not one per item.
    let order: HashMap<_, usize> = html
        .root_element()
        .descendants()
        .enumerate()
        .map(|(i, d)| (d.id(), i))
        .collect();
    linked.sort_by_key(|(m, _)| order.get(&m.id()).copied());

    let link = link_selector(&linked, page_url);
    let items: Vec<Listed> = linked
        .iter()
        .filter_map(|(item, a)| {
            let url = article_url(*a, page_url)?;
            let mut titles = vec![selector::text(*a)];
            for other in item
                .descendants()
                .filter_map(ElementRef::wrap)
                .filter(|e| e.value().name() == "a" && e.id() != a.id())
                .filter(|e| article_url(*e, page_url).as_ref() == Some(&url))
            {
                for text in [visible_text(other), selector::text(other)] {
                    if text.chars().count() >= MIN_TITLE_CHARS && !titles.contains(&text) {
                        titles.push(text);
                    }
                }
            }
            let published = date_element(*item, Some(*a))
                .and_then(|(e, _)| date_value(e))
                .and_then(|(text, _)| date::parse(&text, chrono_tz::Asia::Ho_Chi_Minh, &[]));
            Some(Listed {
                url,
                title: titles[0].clone(),
                titles,
                published,
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
    let identity = identity::infer(html, page_url, &items);
    let canonical_query = identity.guessed();
    let (id_param, id_pattern) = (identity.id_param.clone(), identity.id_pattern.clone());
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
        identity,
        section_name: section_name(html, block.members.first().copied()),
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
    let file = files::is_file(url.as_str());
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

/// Words a "read more" link opens with; its text may carry the title again, hidden.
const MORE_WORDS: &[&str] = &[
    "đọc thêm",
    "đọc tiếp",
    "xem tiếp",
    "xem thêm",
    "chi tiết",
    "xem chi tiết",
    "read more",
    "continue reading",
];
/// Class words of text shown to screen readers only.
const HIDDEN_CLASSES: &[&str] = &[
    "sr-only",
    "screen-reader",
    "visually-hidden",
    "visuallyhidden",
    "element-invisible",
    "hidden",
    "hide",
    "assistive",
];

/// True when the element is hidden from sight: a screen-reader-only class, `hidden`, or
/// `display:none`.
fn hidden(element: ElementRef<'_>) -> bool {
    let el = element.value();
    el.attr("hidden").is_some()
        || el.attr("aria-hidden") == Some("true") && selector::text(element).is_empty()
        || el.attr("style").is_some_and(|s| {
            s.replace(' ', "")
                .to_ascii_lowercase()
                .contains("display:none")
        })
        || el.classes().any(|c| {
            let c = c.to_ascii_lowercase();
            HIDDEN_CLASSES.iter().any(|h| c == *h || c.starts_with(h))
        })
}

/// A link's text as a reader sees it: without hidden parts.
pub fn visible_text(element: ElementRef<'_>) -> String {
    let mut out = String::new();
    for node in element.descendants() {
        if let scraper::Node::Text(text) = node.value()
            && !node
                .ancestors()
                .filter_map(ElementRef::wrap)
                .take_while(|a| a.id() != element.id())
                .any(hidden)
        {
            out.push_str(text);
            out.push(' ');
        }
    }
    crate::normalize::text::clean(&out)
}

/// True when a link's visible text says "read more" rather than naming the article.
fn says_more(anchor: ElementRef<'_>) -> bool {
    let text = visible_text(anchor).to_lowercase();
    let text = text.trim_matches(|c: char| !c.is_alphanumeric());
    MORE_WORDS.iter().any(|w| text.starts_with(w)) || text.chars().count() < MIN_TITLE_CHARS
}

/// The title link of an item: an article link inside a heading, else the longest visible
/// text that is not a "read more"; none when the element links several articles (it is a
/// whole list, not an item).
fn title_link<'a>(member: ElementRef<'a>, page_url: &Url) -> Option<ElementRef<'a>> {
    let anchors: Vec<(ElementRef<'a>, Url, usize)> = member
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "a")
        .filter_map(|a| {
            let url = article_url(a, page_url)?;
            let len = if says_more(a) {
                0
            } else {
                visible_text(a).chars().count()
            };
            Some((a, url, len))
        })
        .collect();
    let in_heading = |a: &ElementRef<'_>| {
        a.ancestors()
            .filter_map(ElementRef::wrap)
            .take_while(|x| x.id() != member.id())
            .any(|x| matches!(x.value().name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6"))
    };
    let titled: HashSet<&Url> = anchors
        .iter()
        .filter(|(_, _, len)| *len >= MIN_TITLE_CHARS)
        .map(|(_, url, _)| url)
        .collect();
    // Several titled links (an author's, a category's): the one in a heading, when one heading
    // links; a whole list (a heading per article) is not an item.
    if titled.len() != 1 {
        let headed: HashSet<&Url> = anchors
            .iter()
            .filter(|(a, _, len)| *len >= MIN_TITLE_CHARS && in_heading(a))
            .map(|(_, url, _)| url)
            .collect();
        if headed.len() != 1 {
            return None;
        }
    }
    anchors
        .iter()
        .filter(|(_, _, len)| *len >= MIN_TITLE_CHARS)
        .max_by_key(|(a, _, len)| (in_heading(a), *len))
        .map(|(a, _, _)| *a)
}

/// The date an element shows: a `<time datetime>`'s attribute, or its short text.
pub fn date_value(element: ElementRef<'_>) -> Option<(String, bool)> {
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
    // Siblings of one shape, per parent; then the named holders of title links wherever they
    // sit (a Joomla 1.5 blog's `td.contentheading`, one per item, items with no wrapper).
    let mut candidates: Vec<(ElementRef<'a>, Vec<ElementRef<'a>>)> = Vec::new();
    for parent in html
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
    {
        let mut groups: BTreeMap<String, Vec<ElementRef<'a>>> = BTreeMap::new();
        for child in parent.children().filter_map(ElementRef::wrap) {
            groups.entry(signature(child)).or_default().push(child);
        }
        candidates.extend(
            groups
                .into_values()
                .filter(|m| m.len() >= MIN_ITEMS)
                .map(|m| (parent, m)),
        );
    }
    let mut holders: BTreeMap<String, Vec<ElementRef<'a>>> = BTreeMap::new();
    for anchor in html
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "a" && !says_more(*e))
        .filter(|a| article_url(*a, page_url).is_some())
    {
        let Some(holder) = anchor
            .ancestors()
            .filter_map(ElementRef::wrap)
            .find(|x| !selector::classes(*x).is_empty())
        else {
            continue;
        };
        let key = format!(
            "{}.{}",
            holder.value().name(),
            selector::classes(holder).join(".")
        );
        let group = holders.entry(key).or_default();
        if !group.iter().any(|h| h.id() == holder.id()) {
            group.push(holder);
        }
    }
    for members in holders.into_values().filter(|m| m.len() >= MIN_ITEMS) {
        // Holders that are not siblings: the sibling groups already have those that are.
        let parent = members[0].parent().and_then(ElementRef::wrap);
        let siblings = members.iter().all(|m| {
            m.parent().and_then(ElementRef::wrap).map(|p| p.id()) == parent.map(|p| p.id())
        });
        if let (false, Some(parent)) = (siblings, parent) {
            candidates.push((parent, members));
        }
    }
    for (parent, members) in candidates {
        {
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

/// The groups of the block members' siblings, of another tag or class, whose members link
/// one article each with a URL of the block's shape.
fn sibling_groups<'a>(block: &Block<'a>, page_url: &Url) -> Vec<Block<'a>> {
    let Some(parent) = block
        .members
        .first()
        .and_then(|m| m.parent())
        .and_then(ElementRef::wrap)
    else {
        return Vec::new();
    };
    let shapes: HashSet<String> = block
        .links
        .iter()
        .flatten()
        .filter_map(|a| article_url(*a, page_url))
        .map(|u| shape(&u))
        .collect();
    let mut groups: BTreeMap<String, Vec<ElementRef<'a>>> = BTreeMap::new();
    for child in parent.children().filter_map(ElementRef::wrap) {
        if block.members.iter().any(|m| m.id() == child.id()) {
            continue;
        }
        let links_alike = title_link(child, page_url)
            .and_then(|a| article_url(a, page_url))
            .is_some_and(|u| shapes.contains(&shape(&u)));
        if links_alike {
            groups.entry(signature(child)).or_default().push(child);
        }
    }
    groups
        .into_values()
        .map(|members| Block {
            links: members.iter().map(|m| title_link(*m, page_url)).collect(),
            members,
            score: 0.0,
        })
        .collect()
}

/// Tag and the element's class most of its siblings share: rows also carry `odd`/`even`/
/// `first` variants of their class, WordPress posts a class per category.
fn signature(element: ElementRef<'_>) -> String {
    let mut shared: HashMap<&str, usize> = HashMap::new();
    if let Some(parent) = element.parent().and_then(ElementRef::wrap) {
        for sibling in parent.children().filter_map(ElementRef::wrap) {
            for class in selector::classes(sibling) {
                *shared.entry(class).or_default() += 1;
            }
        }
    }
    let class = selector::classes(element)
        .into_iter()
        .max_by_key(|c| (shared.get(c).copied().unwrap_or(0), std::cmp::Reverse(*c)))
        .unwrap_or_default();
    format!("{}.{class}", element.value().name())
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

/// The heading a list page gives its section: the last heading before the list that is not in
/// a menu or a side box, else its `<h1>`, else its first `<h2>`, else `<title>`.
fn section_name(html: &Html, first_item: Option<ElementRef<'_>>) -> Option<String> {
    let usable = |t: &String| !t.is_empty() && t.chars().count() <= 80;
    if let Some(first) = first_item {
        let before = html
            .root_element()
            .descendants()
            .filter_map(ElementRef::wrap)
            .take_while(|e| e.id() != first.id())
            .filter(|e| matches!(e.value().name(), "h1" | "h2" | "h3"))
            .filter(|e| !in_navigation(*e) && !first.ancestors().any(|a| a.id() == e.id()))
            .map(selector::text)
            .filter(usable)
            .last();
        if before.is_some() {
            return before;
        }
    }
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
