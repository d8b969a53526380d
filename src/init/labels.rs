//! An article's category and credit, read from labelled text: the breadcrumb's item naming the
//! section, and the "Nguồn: …" line.

use std::collections::HashSet;

use scraper::ElementRef;

use super::Note;
use super::article::{ArticleGuess, ArticlePage};
use super::selector::{self, absolute, compile, in_navigation, same_title, simple};

/// A credit line's element holds at most this many nodes; a breadcrumb four times as many.
const MAX_LABEL_NODES: usize = 24;
/// A credit line is at most this long.
const MAX_CREDIT_CHARS: usize = 200;
/// Class or id words of a breadcrumb.
const BREADCRUMB_WORDS: &[&str] = &["breadcrumb", "duongdan", "duong-dan", "crumb", "pathway"];
/// Words that open a credit line.
const CREDIT_PREFIXES: &[&str] = &["nguồn:", "nguồn :", "theo:", "nguồn tin:"];
/// A credit without a label ("Theo Báo Kiên Giang", a right-aligned bold agency name at the
/// text's end) is at most this long.
const MAX_BARE_CREDIT_CHARS: usize = 80;
/// Class words of a CMS's own category label.
const CATEGORY_WORDS: &[&str] = &[
    "category",
    "categories",
    "cat-links",
    "chuyenmuc",
    "chuyen-muc",
    "taxonomy",
    "term",
];

/// Labels a page puts before its category's name.
const CATEGORY_LABELS: &[&str] = &["chuyên mục", "danh mục", "thể loại", "lĩnh vực", "category"];

/// The breadcrumb's last item, or the one before it when the last is the article's title;
/// else a link marked `rel="category"` (WordPress).
pub fn category<'a>(
    pages: &[ArticlePage<'a>],
    section_names: &[String],
    notes: &mut Vec<Note>,
) -> Option<String> {
    let found: Vec<Option<ElementRef<'a>>> = pages
        .iter()
        .map(|page| breadcrumb_item(page, section_names))
        .collect();
    // The CMS's own label: a category field's link, outside menus and side boxes.
    let labelled: Vec<Option<ElementRef<'a>>> = pages.iter().map(category_label).collect();
    let texts = |found: &[Option<ElementRef<'a>>]| -> HashSet<String> {
        found.iter().flatten().map(|e| selector::text(*e)).collect()
    };
    // A label that names each article's own category says more than a breadcrumb that names the
    // section alone.
    let label_first = labelled.iter().flatten().count() + 1 >= pages.len()
        && pages.len() > 1
        && texts(&labelled).len() > 1
        && texts(&found).len() <= 1;
    let mut order = [&found, &labelled];
    if label_first {
        order.reverse();
    }
    for found in order {
        if found.iter().flatten().next().is_none() {
            continue;
        }
        // An item holding its link and a separator (`<li><a>Tin tức</a>/</li>`): the link.
        let anchor = compile("a")?;
        let separated = found.iter().flatten().any(|e| {
            let links: Vec<ElementRef<'_>> = e.select(&anchor).collect();
            links.len() == 1 && selector::text(links[0]) != selector::text(*e)
        });
        let chosen = if separated {
            choose_text_inner(pages, found).or_else(|| choose_text(pages, found))
        } else {
            choose_text(pages, found).or_else(|| choose_text_inner(pages, found))
        };
        if chosen.is_some() {
            return chosen;
        }
    }
    let css = r#"a[rel~="category"]"#;
    let sel = compile(css)?;
    if pages.iter().all(|p| p.html.select(&sel).next().is_some()) {
        notes.push(Note::new(
            "article.category",
            "no breadcrumb found; the first category link stands in",
        ));
        return Some(css.into());
    }
    notes.push(Note::new("article.category", "no breadcrumb found"));
    None
}

fn breadcrumb_item<'a>(page: &ArticlePage<'a>, section_names: &[String]) -> Option<ElementRef<'a>> {
    let is_section = |text: &str| {
        section_names
            .iter()
            .any(|name| name.to_lowercase() == text.to_lowercase())
    };
    for container in page
        .html
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
    {
        let el = container.value();
        let named = el.classes().chain(el.id()).any(|c| {
            let c = c.to_ascii_lowercase();
            BREADCRUMB_WORDS.iter().any(|w| c.contains(w))
        });
        if !selector::small(container, MAX_LABEL_NODES * 4) {
            continue;
        }
        let items = crumbs(container);
        if items.len() < 2 {
            continue;
        }
        let texts: Vec<String> = items.iter().map(|e| selector::text(*e)).collect();
        let last = texts.len() - 1;
        let pick = if same_title(&texts[last], page.listed_title) {
            last - 1
        } else {
            last
        };
        if pick == 0 {
            continue;
        }
        let home = texts[0].to_lowercase().contains("trang chủ")
            || items[0]
                .select(&compile("a[href]")?)
                .next()
                .or_else(|| (items[0].value().name() == "a").then_some(items[0]))
                .and_then(|a| a.value().attr("href"))
                .and_then(|href| page.url.join(href).ok())
                .is_some_and(|u| {
                    u.path() == "/"
                        || u.path().ends_with("default.asp")
                        || u.path().ends_with("index.php")
                });
        let small = items.len() <= 6;
        // Two of three signs: named as a breadcrumb, starting at home, ending at the section.
        let signs = [named, home, is_section(&texts[pick])];
        if small && signs.iter().filter(|s| **s).count() >= 2 {
            return Some(items[pick]);
        }
    }
    None
}

/// The first element named as a category (or inside one) outside menus and side boxes, with a
/// short text: its link when it has one (`<div class="field-chuyen-muc">Chuyên mục: <a>Đất
/// đai</a></div>`).
fn category_label<'a>(page: &ArticlePage<'a>) -> Option<ElementRef<'a>> {
    let named = |e: ElementRef<'_>| {
        let el = e.value();
        el.attr("rel")
            .is_some_and(|r| r.contains("category") || r.contains("tag"))
            || el.classes().chain(el.id()).any(|c| {
                let c = c.to_ascii_lowercase();
                CATEGORY_WORDS.iter().any(|w| c.contains(w))
            })
    };
    // Or the value after a "Chuyên mục:" label (`<span>Chuyên mục:</span> <span>Tin …</span>`).
    let labelled = |e: ElementRef<'_>| {
        e.prev_siblings()
            .filter_map(ElementRef::wrap)
            .next()
            .is_some_and(|label| {
                let text = selector::text(label).to_lowercase();
                let text = text.trim_end_matches([':', ' ']);
                CATEGORY_LABELS.contains(&text)
            })
    };
    page.html
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| {
            (named(*e) || labelled(*e)) && !matches!(e.value().name(), "body" | "html" | "article")
        })
        .filter(|e| selector::small(*e, MAX_LABEL_NODES) && !in_navigation(*e))
        .find_map(|e| {
            let link = if e.value().name() == "a" || labelled(e) {
                Some(e)
            } else {
                e.descendants()
                    .filter_map(ElementRef::wrap)
                    .find(|d| d.value().name() == "a")
            };
            let text = selector::text(link?);
            (!text.is_empty() && text.chars().count() <= 60).then_some(link?)
        })
}

/// [`choose_text`] for the one link inside each found element: the elements' selectors with
/// ` a` after them, judged by the link's text.
fn choose_text_inner<'a>(
    pages: &[ArticlePage<'a>],
    found: &[Option<ElementRef<'a>>],
) -> Option<String> {
    let anchor = compile("a")?;
    let inner: Vec<Option<ElementRef<'a>>> = found
        .iter()
        .map(|f| f.and_then(|e| e.select(&anchor).next()))
        .collect();
    if inner.iter().flatten().count() != found.iter().flatten().count() {
        return None;
    }
    let model = found.iter().flatten().next().copied()?;
    candidates_for(model)
        .into_iter()
        .map(|c| format!("{c} a"))
        .find(|css| {
            let Some(sel) = compile(css) else {
                return false;
            };
            pages.iter().zip(&inner).all(|(page, want)| {
                let first = page.html.select(&sel).next();
                match want {
                    Some(want) => first.is_some_and(|e| selector::text(e) == selector::text(*want)),
                    None => first.is_none(),
                }
            })
        })
}

/// The items of a breadcrumb: its children that say something more than a separator, or the
/// items of its only child.
fn crumbs(container: ElementRef<'_>) -> Vec<ElementRef<'_>> {
    let mut root = container;
    loop {
        let children: Vec<ElementRef<'_>> = root
            .children()
            .filter_map(ElementRef::wrap)
            .filter(|c| !matches!(c.value().name(), "meta" | "script" | "style" | "br"))
            .collect();
        let items: Vec<ElementRef<'_>> = children
            .iter()
            .copied()
            .filter(|c| selector::text(*c).chars().any(char::is_alphanumeric))
            .filter(|c| {
                !c.value()
                    .classes()
                    .any(|k| k.contains("separator") || k.contains("here"))
            })
            .collect();
        if children.len() == 1 {
            root = children[0];
            continue;
        }
        // Nested (Yoast: each item's span holds the rest): its links, then its last element.
        let nested = items.len() == 2
            && items[1]
                .descendants()
                .filter_map(ElementRef::wrap)
                .any(|d| d.value().name() == "a");
        if nested {
            let mut flat: Vec<ElementRef<'_>> = root
                .descendants()
                .filter_map(ElementRef::wrap)
                .filter(|e| e.value().name() == "a")
                .collect();
            if let Some(last) = root
                .descendants()
                .filter_map(ElementRef::wrap)
                .filter(|e| {
                    e.children().filter_map(ElementRef::wrap).next().is_none()
                        && !selector::text(*e).is_empty()
                })
                .last()
                .filter(|e| e.value().name() != "a")
            {
                flat.push(last);
            }
            return flat;
        }
        return items;
    }
}

/// Like [`super::article`]'s `choose`, for elements judged by their text: a candidate also has to give the same
/// text on each page, and may be positional (`li:last-child`, `li:nth-last-child(2)`).
fn choose_text<'a>(pages: &[ArticlePage<'a>], found: &[Option<ElementRef<'a>>]) -> Option<String> {
    let model = found.iter().flatten().next().copied()?;
    candidates_for(model).into_iter().find(|css| {
        let Some(sel) = compile(css) else {
            return false;
        };
        pages.iter().zip(found).all(|(page, want)| {
            let first = page.html.select(&sel).next();
            match want {
                Some(want) => first.is_some_and(|e| selector::text(e) == selector::text(*want)),
                None => first.is_none(),
            }
        })
    })
}

/// The selectors for a labelled element, simplest first, positional ones (`li:last-child`,
/// `:nth-last-child(2)`, followed by a named sibling) after its names.
fn candidates_for(model: ElementRef<'_>) -> Vec<String> {
    let mut candidates = absolute(model);
    if let Some(parent) = model.parent().and_then(ElementRef::wrap) {
        let tag = model.value().name();
        let siblings: Vec<ElementRef<'_>> =
            parent.children().filter_map(ElementRef::wrap).collect();
        let from_end = siblings.len()
            - siblings
                .iter()
                .position(|s| s.id() == model.id())
                .unwrap_or(0);
        let same_tag_after = siblings
            .iter()
            .skip_while(|s| s.id() != model.id())
            .skip(1)
            .filter(|s| s.value().name() == tag)
            .count();
        // What comes right after it says which it is (Yoast's `span.breadcrumb_last`).
        if let Some(next) = model.next_siblings().filter_map(ElementRef::wrap).next() {
            for name in simple(next).into_iter().filter(|n| n.contains(['.', '#'])) {
                candidates.push(format!("{tag}:has(+ {name})"));
            }
        }
        for prefix in absolute(parent)
            .into_iter()
            .filter(|p| p.contains(['.', '#', '[']))
        {
            if from_end == 1 {
                candidates.push(format!("{prefix} > {tag}:last-child"));
            }
            candidates.push(format!("{prefix} > :nth-last-child({from_end})"));
            if same_tag_after == 0 {
                candidates.push(format!("{prefix} > {tag}:last-of-type"));
            }
            candidates.push(format!("{prefix} > {tag}:nth-last-child({from_end})"));
        }
        for ancestor in model
            .ancestors()
            .filter_map(ElementRef::wrap)
            .skip(1)
            .take(3)
        {
            for prefix in simple(ancestor)
                .into_iter()
                .filter(|p| p.contains(['.', '#', '[']))
            {
                if from_end == 1 {
                    candidates.push(format!("{prefix} {tag}:last-child"));
                }
                if same_tag_after == 0 {
                    candidates.push(format!("{prefix} {tag}:last-of-type"));
                }
                candidates.push(format!("{prefix} {tag}:nth-last-child({from_end})"));
            }
        }
    }
    candidates
}

/// A credit line: "Nguồn: …" (the outermost element whose whole text it is), else a short
/// "Theo …" or a right-aligned or bold line ending the body on at least two pages. Sets the
/// guess's credit; the elements found, per page.
pub fn credit<'a>(
    pages: &[ArticlePage<'a>],
    bodies: &[Option<ElementRef<'a>>],
    guess: &mut ArticleGuess,
) -> Vec<Option<ElementRef<'a>>> {
    let labelled: Vec<Option<ElementRef<'a>>> = pages
        .iter()
        .map(|page| {
            page.html
                .root_element()
                .descendants()
                .filter_map(ElementRef::wrap)
                .filter(|e| !matches!(e.value().name(), "html" | "body"))
                .filter(|e| selector::small(*e, MAX_LABEL_NODES))
                .find(|e| {
                    let text = selector::text(*e);
                    let lower = text.to_lowercase();
                    text.chars().count() <= MAX_CREDIT_CHARS
                        && CREDIT_PREFIXES.iter().any(|p| lower.starts_with(p))
                        && text.chars().count() > 8
                })
                .map(selector::named_in_chain)
        })
        .collect();
    // A "Nguồn" field: the value after its label (`<div>Nguồn</div><div>Sở …</div>`).
    let labelled: Vec<Option<ElementRef<'a>>> = labelled
        .into_iter()
        .zip(pages)
        .map(|(found, page)| found.or_else(|| credit_field(page)))
        .collect();
    let bare: Vec<Option<ElementRef<'a>>> =
        bodies.iter().map(|body| bare_credit((*body)?)).collect();
    let found = if labelled.iter().flatten().count() > 0 {
        // A page with a labelled credit elsewhere may end its text with a bare one.
        labelled
            .iter()
            .zip(&bare)
            .map(|(l, b)| l.or(*b))
            .collect::<Vec<_>>()
    } else if bare.iter().flatten().count() >= 2 {
        bare
    } else {
        return vec![None; pages.len()];
    };
    let model = match found.iter().flatten().next() {
        Some(model) => *model,
        None => return found,
    };
    let mut tried = Vec::new();
    if let Some(style) = model.value().attr("style").filter(|s| !s.contains('"')) {
        tried.push(format!(r#"{}[style="{style}"]"#, model.value().name()));
    }
    let chosen = choose_text(pages, &found).or_else(|| {
        tried.into_iter().find(|css| {
            compile(css).is_some_and(|sel| {
                pages.iter().zip(&found).all(|(page, want)| {
                    let first = page.html.select(&sel).next();
                    match want {
                        Some(want) => first.is_some_and(|e| e.id() == want.id()),
                        None => first.is_none(),
                    }
                })
            })
        })
    });
    if chosen.is_none() {
        guess.notes.push(Note::new(
            "article.credit",
            "a credit line was found, but no selector finds it on exactly the pages that have one",
        ));
    }
    guess.credit = chosen;
    found
}

/// The element after a "Nguồn" label, outside menus, when short.
fn credit_field<'a>(page: &ArticlePage<'a>) -> Option<ElementRef<'a>> {
    page.html
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| selector::small(*e, MAX_LABEL_NODES))
        .find(|e| {
            let label = selector::text(*e).to_lowercase();
            let label = label.trim_end_matches([':', ' ']);
            matches!(label, "nguồn" | "nguồn tin")
                && e.next_siblings()
                    .filter_map(ElementRef::wrap)
                    .next()
                    .is_some_and(|v| {
                        let n = selector::text(v).chars().count();
                        n > 2 && n <= MAX_CREDIT_CHARS
                    })
        })
        .and_then(|label| label.next_siblings().filter_map(ElementRef::wrap).next())
        .filter(|v| !in_navigation(*v))
}

/// The body's last line when it reads as a credit: short, no sentence, right-aligned or all
/// bold, or opening with "Theo ".
fn bare_credit(body: ElementRef<'_>) -> Option<ElementRef<'_>> {
    // The last paragraph: lists, tables, forms and boxes after it are not the text's end.
    let last = body
        .children()
        .filter_map(ElementRef::wrap)
        .filter(|e| matches!(e.value().name(), "p" | "div" | "h4" | "h5" | "h6"))
        .filter(|e| e.value().name() == "p" || selector::classes(*e).is_empty())
        .filter(|e| !selector::text(*e).is_empty())
        .last()?;
    let text = selector::text(last);
    if text.chars().count() > MAX_BARE_CREDIT_CHARS || text.ends_with(['.', ':', ';']) {
        return None;
    }
    let right = std::iter::once(last)
        .chain(last.descendants().filter_map(ElementRef::wrap))
        .any(|e| {
            e.value().attr("style").is_some_and(|s| {
                s.replace(' ', "")
                    .to_ascii_lowercase()
                    .contains("text-align:right")
            }) || e
                .value()
                .attr("align")
                .is_some_and(|a| a.eq_ignore_ascii_case("right"))
                || e.value().classes().any(|c| c.contains("right"))
        });
    let bold = last
        .descendants()
        .filter_map(ElementRef::wrap)
        .any(|e| matches!(e.value().name(), "strong" | "b") && selector::text(e) == text);
    let theo = text.to_lowercase().starts_with("theo ");
    (right || bold || theo).then(|| selector::named_in_chain(last))
}
