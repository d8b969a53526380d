//! The next-page link of a list page: a link that says so, or one to a page number one step on.

use scraper::{ElementRef, Html};
use url::Url;

use super::Note;
use super::list::{ListGuess, Listed, article_url, date_value};
use super::selector::{self, compile};
use crate::config::AllowedHosts;
use crate::fetch::Fetcher;
use crate::normalize::date;

/// Query keys that number list pages.
const PAGE_KEYS: &[&str] = &[
    "page",
    "p",
    "pg",
    "trang",
    "limitstart",
    "start",
    "currentpage",
    "pageindex",
];
/// Link texts and titles that mean "the next page".
const NEXT_WORDS: &[&str] = &[
    "trang sau",
    "tiếp",
    "tiếp theo",
    "trang tiếp",
    "next",
    "sau",
];
const NEXT_SYMBOLS: &[&str] = &["»", "›", ">", ">>", "→"];

/// The next-page link's selector, and whether it picks the link by position only.
pub fn next_page(html: &Html, page_url: &Url, items: &[ElementRef<'_>]) -> (Option<String>, bool) {
    let in_items = |a: &ElementRef<'_>| {
        items
            .iter()
            .any(|item| a.ancestors().any(|x| x.id() == item.id()))
    };
    let anchors: Vec<ElementRef<'_>> = html
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "a" && !in_items(e))
        .filter(|a| article_url(*a, page_url).is_some())
        .collect();
    let marked = anchors.iter().copied().find(|a| says_next(*a));
    let next = marked.or_else(|| growing_page(&anchors, page_url));
    let Some(next) = next else {
        return (None, false);
    };
    let el = next.value();
    let mut candidates = Vec::new();
    if el
        .attr("rel")
        .is_some_and(|r| r.split_whitespace().any(|r| r == "next"))
    {
        candidates.push(r#"a[rel~="next"]"#.to_string());
    }
    candidates.extend(
        selector::absolute(next)
            .into_iter()
            .filter(|c| c != "a" && !c.ends_with(" a") && !c.ends_with("> a")),
    );
    for name in ["title", "aria-label"] {
        if let Some(value) = el
            .attr(name)
            .filter(|v| !v.contains('"') && !v.trim().is_empty())
        {
            candidates.push(format!(r#"a[{name}="{value}"]"#));
        }
    }
    let exact = candidates.into_iter().find(|css| first_is(html, css, next));
    if exact.is_some() {
        return (exact, false);
    }
    // Only its place tells it from the page numbers: right after the current page's mark
    // (`<b>1</b> <a>2</a>`), or counted from the end, in its parent named by itself or by the
    // named element before it (`div.list-news + div`).
    let parent = next.parent().and_then(ElementRef::wrap);
    let mut prefixes: Vec<String> = Vec::new();
    if let Some(p) = parent {
        prefixes.extend(selector::simple(p));
        if let Some(before) = p.prev_siblings().filter_map(ElementRef::wrap).next() {
            for name in selector::simple(before)
                .into_iter()
                .filter(|n| n.contains(['.', '#']))
            {
                prefixes.push(format!("{name} + {}", p.value().name()));
            }
        }
    }
    let marker = next
        .prev_siblings()
        .filter_map(ElementRef::wrap)
        .next()
        .filter(|m| {
            matches!(m.value().name(), "b" | "strong" | "span" | "em")
                && m.value().attr("href").is_none()
        })
        .map(|m| m.value().name().to_string());
    let mut positional: Vec<String> = Vec::new();
    for prefix in &prefixes {
        if let Some(marker) = &marker {
            positional.push(format!("{prefix} > {marker} + a"));
        }
        for k in 1..=3 {
            positional.push(if k == 1 {
                format!("{prefix} > a:last-child")
            } else {
                format!("{prefix} > a:nth-last-child({k})")
            });
        }
    }
    let found = positional.into_iter().find(|css| first_is(html, css, next));
    (found, true)
}

fn first_is(html: &Html, css: &str, element: ElementRef<'_>) -> bool {
    compile(css).is_some_and(|sel| {
        html.select(&sel)
            .next()
            .is_some_and(|e| e.id() == element.id())
    })
}

/// A link that says it leads to the next page: its text, title, label or `rel`.
fn says_next(anchor: ElementRef<'_>) -> bool {
    let el = anchor.value();
    if el
        .attr("rel")
        .is_some_and(|r| r.split_whitespace().any(|r| r == "next"))
    {
        return true;
    }
    let text = selector::text(anchor).to_lowercase();
    let text = text.trim();
    let words = |t: &str| {
        let t = t.trim_end_matches(['»', '›', '>', '→', ' ']).trim();
        NEXT_WORDS.contains(&t)
    };
    if words(text) || NEXT_SYMBOLS.contains(&text) {
        return true;
    }
    let says = |v: &str| {
        let v = v.to_lowercase();
        v.contains("trang sau") || v.contains("tiếp") || v.contains("next")
    };
    // An arrow image saying it in its `alt` or `title`, when the link has no text.
    let image_says = text.is_empty()
        && anchor
            .descendants()
            .filter_map(ElementRef::wrap)
            .filter(|e| e.value().name() == "img")
            .any(|img| {
                ["alt", "title"]
                    .into_iter()
                    .any(|a| img.value().attr(a).is_some_and(says))
            });
    image_says
        || ["title", "aria-label"]
            .into_iter()
            .any(|name| el.attr(name).is_some_and(says))
}

/// The link to this page with a page number one step on (`Page=2`, `limitstart=10`, `/page/2/`).
fn growing_page<'a>(anchors: &[ElementRef<'a>], page_url: &Url) -> Option<ElementRef<'a>> {
    let number_of = |url: &Url| -> Option<(String, u64)> {
        url.query_pairs()
            .find(|(k, _)| PAGE_KEYS.contains(&k.to_ascii_lowercase().as_str()))
            .and_then(|(k, v)| Some((k.to_ascii_lowercase(), v.parse().ok()?)))
            .or_else(|| {
                let segments: Vec<&str> = url.path_segments()?.collect();
                let at = segments.iter().position(|s| *s == "page")?;
                Some(("/page/".into(), segments.get(at + 1)?.parse().ok()?))
            })
    };
    let current = number_of(page_url).map_or(0, |(_, n)| n);
    anchors
        .iter()
        .filter_map(|a| {
            let url = article_url(*a, page_url)?;
            let (_, n) = number_of(&url)?;
            (n > current
                && url
                    .path()
                    .starts_with(page_url.path().trim_end_matches('/')))
            .then_some((*a, n))
        })
        .min_by_key(|(_, n)| *n)
        .map(|(a, _)| a)
}

/// Follows the next-page link the guess names: proved when the page it leads to lists, with the
/// same item and link selectors, articles the first page does not. The articles that page
/// lists; `None`, with a note on the guess, when it is not proved.
pub async fn follow(
    fetcher: &Fetcher,
    hosts: &AllowedHosts,
    html: &Html,
    page_url: &Url,
    list: &mut ListGuess,
) -> Option<Vec<Listed>> {
    let css = list.next_page.clone()?;
    let href = compile(&css)
        .and_then(|sel| html.select(&sel).next())
        .and_then(|a| a.value().attr("href"))
        .and_then(|href| page_url.join(href.trim()).ok());
    let Some(url) = href else {
        list.notes.push(Note::new(
            "list.next_page",
            format!("`{css}` finds no link with an address on the first page"),
        ));
        return None;
    };
    let page = match super::fetch(fetcher, &url, hosts).await {
        Ok(page) => page,
        Err(err) => {
            list.notes.push(Note::new(
                "list.next_page",
                format!(
                    "following `{css}` to {url} failed: {}",
                    crate::describe(&err)
                ),
            ));
            return None;
        }
    };
    let items = crate::extract::document(&page.page())
        .ok()
        .map(|next| listed_on(&next, &page.url, list))
        .unwrap_or_default();
    let new = items
        .iter()
        .filter(|i| !list.items.iter().any(|l| l.url == i.url))
        .count();
    if new == 0 {
        list.notes.push(Note::new(
            "list.next_page",
            format!("following `{css}` to {url} found no other articles"),
        ));
        return None;
    }
    Some(items)
}

/// The articles a page lists, read with the guess's item, link and date selectors.
fn listed_on(html: &Html, page_url: &Url, list: &ListGuess) -> Vec<Listed> {
    let (Some(item), Some(link)) = (compile(&list.item), compile(&list.link)) else {
        return Vec::new();
    };
    let published = list
        .published
        .as_deref()
        .map(|css| css.trim_end_matches("@datetime"))
        .and_then(compile);
    html.select(&item)
        .filter_map(|e| {
            let a = e.select(&link).find(|a| a.value().attr("href").is_some())?;
            let url = article_url(a, page_url)?;
            let title = selector::text(a);
            let published = published
                .as_ref()
                .and_then(|sel| e.select(sel).next())
                .and_then(date_value)
                .and_then(|(text, _)| date::parse(&text, chrono_tz::Asia::Ho_Chi_Minh, &[]));
            Some(Listed {
                url,
                titles: vec![title.clone()],
                title,
                published,
            })
        })
        .collect()
}
