//! The template around the content, learnt by comparing the sampled article pages: what every
//! page repeats (menus, boxes, toolbars, footers, labels), what links elsewhere (related
//! lists) and the images every page shows (icons) are not the article.

use std::collections::{HashMap, HashSet};

use scraper::{ElementRef, Html, Node};

use super::selector;

/// Texts shorter than this are neither content nor template evidence ("|", "12").
const MIN_EVIDENCE_CHARS: usize = 3;
/// A text of at least this many characters, not repeated, outside links, is the article's.
pub const MIN_CONTENT_CHARS: usize = 25;
/// Elements whose text is never content.
pub const NOT_CONTENT: &[&str] = &[
    "script", "style", "noscript", "head", "title", "select", "option", "textarea", "button",
];

/// What the sampled pages share.
#[derive(Debug, Default)]
pub struct Template {
    /// Texts (lowercased, spaces squeezed) found on several pages.
    repeated: HashSet<String>,
    /// Image addresses found on several pages.
    images: HashSet<String>,
}

/// A text as compared across pages.
fn key(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The text nodes of an element that can be read as text, with their element.
fn text_nodes<'a>(root: ElementRef<'a>) -> impl Iterator<Item = (ElementRef<'a>, &'a str)> {
    root.descendants().filter_map(|node| {
        let Node::Text(text) = node.value() else {
            return None;
        };
        let parent = node.parent().and_then(ElementRef::wrap)?;
        let hidden = node
            .ancestors()
            .filter_map(ElementRef::wrap)
            .any(|a| NOT_CONTENT.contains(&a.value().name()));
        (!hidden).then_some((parent, &**text))
    })
}

impl Template {
    /// Learns the template from the sampled pages: a text on at least half of them (and on two
    /// at least), an image on two, is the template's. `titles` are every listed article's title:
    /// another article's title on a page is a related list, never content.
    pub fn learn(pages: &[&Html], titles: &[String]) -> Template {
        let threshold = pages.len().div_ceil(2).max(2);
        let mut texts: HashMap<String, usize> = HashMap::new();
        let mut images: HashMap<String, usize> = HashMap::new();
        for html in pages {
            let mut seen = HashSet::new();
            for (_, text) in text_nodes(html.root_element()) {
                let k = key(text);
                if k.chars().count() >= MIN_EVIDENCE_CHARS && seen.insert(k.clone()) {
                    *texts.entry(k).or_default() += 1;
                }
            }
            let mut seen = HashSet::new();
            for img in html
                .root_element()
                .descendants()
                .filter_map(ElementRef::wrap)
                .filter(|e| e.value().name() == "img")
            {
                if let Some(src) = img.value().attr("src")
                    && seen.insert(src)
                {
                    *images.entry(src.to_string()).or_default() += 1;
                }
            }
        }
        // A short label is the template's when most pages show it; a sentence already when
        // two do (a related list's excerpt): an article's own sentences are its alone.
        let mut repeated: HashSet<String> = texts
            .into_iter()
            .filter(|(k, n)| *n >= threshold || (*n >= 2 && k.chars().count() >= MIN_CONTENT_CHARS))
            .map(|(k, _)| k)
            .collect();
        repeated.extend(titles.iter().map(|t| key(t)));
        Template {
            repeated,
            // An article's own photo is on its page alone; an image on two is the template's.
            images: images
                .into_iter()
                .filter(|(_, n)| *n >= 2)
                .map(|(src, _)| src)
                .collect(),
        }
    }

    /// True when the text is the template's.
    pub fn repeats(&self, text: &str) -> bool {
        self.repeated.contains(&key(text))
    }

    /// True when the image is the template's: on several pages, or inside a link to a file that
    /// is not an image (a file-type icon).
    pub fn icon(&self, img: ElementRef<'_>) -> bool {
        let src = img.value().attr("src").unwrap_or_default();
        let in_file_link = img
            .ancestors()
            .filter_map(ElementRef::wrap)
            .find(|a| a.value().name() == "a")
            .and_then(|a| a.value().attr("href"))
            .is_some_and(super::files::is_document);
        self.images.contains(src) || in_file_link
    }

    /// The article's own text under `root`: texts long enough, not repeated, not a link's.
    pub fn content_chars(&self, root: ElementRef<'_>, skip: &[ElementRef<'_>]) -> usize {
        text_nodes(root)
            .filter(|(parent, _)| {
                !std::iter::once(*parent)
                    .chain(parent.ancestors().filter_map(ElementRef::wrap))
                    .take_while(|a| a.id() != root.id())
                    .any(|a| a.value().name() == "a" || skip.iter().any(|s| s.id() == a.id()))
                    && parent.value().name() != "a"
            })
            .map(|(_, text)| text.trim())
            .filter(|text| text.chars().count() >= MIN_CONTENT_CHARS && !self.repeats(text))
            .map(|text| text.chars().count())
            .sum()
    }

    /// True when `element` is template inside an article's body: it holds none of the
    /// article's text (`skip`: the title, date and credit elements, whose text is not prose)
    /// and says it is the template's: a repeated text, mostly links, a form, an icon, or one of
    /// the `skip` elements.
    pub fn is_template(&self, element: ElementRef<'_>, skip: &[ElementRef<'_>]) -> bool {
        if self.content_chars(element, skip) > 0 {
            return false;
        }
        let descendants: Vec<ElementRef<'_>> =
            element.descendants().filter_map(ElementRef::wrap).collect();
        // An image of the article's own (not an icon, not a link's thumbnail) keeps its block.
        let own_image = descendants.iter().any(|e| {
            e.value().name() == "img"
                && !self.icon(*e)
                && !e
                    .ancestors()
                    .filter_map(ElementRef::wrap)
                    .any(|a| a.value().name() == "a")
        });
        if own_image {
            return false;
        }
        let text = selector::text(element);
        let texts: Vec<&str> = text_nodes(element)
            .map(|(_, t)| t.trim())
            .filter(|t| t.chars().count() >= MIN_EVIDENCE_CHARS)
            .collect();
        // Labels the template repeats ("Nguồn:", "Lượt xem:") beside a text of the article's
        // own do not make its line the template's: most of its text has to be repeated.
        let own_chars: usize = texts
            .iter()
            .filter(|t| !self.repeats(t))
            .map(|t| t.chars().count())
            .sum();
        let all_chars: usize = texts.iter().map(|t| t.chars().count()).sum();
        let repeated = texts.iter().any(|t| self.repeats(t)) && own_chars * 4 <= all_chars;
        let links: Vec<&ElementRef<'_>> = descendants
            .iter()
            .filter(|e| e.value().name() == "a" && e.value().attr("href").is_some())
            .collect();
        let link_chars: usize = links
            .iter()
            .map(|a| selector::text(**a).chars().count())
            .sum();
        let mostly_links = (links.len() >= 2 || element.value().name() == "a")
            && link_chars * 10 >= text.chars().count() * 7;
        let form = descendants.iter().any(|e| {
            matches!(
                e.value().name(),
                "form" | "input" | "select" | "button" | "textarea"
            )
        });
        let icons = descendants
            .iter()
            .any(|e| e.value().name() == "img" && self.icon(*e));
        let holds_skipped = skip
            .iter()
            .any(|s| s.id() == element.id() || s.ancestors().any(|a| a.id() == element.id()));
        repeated || mostly_links || form || icons || holds_skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(own: &str) -> Html {
        Html::parse_document(&format!(
            r#"<div id=menu><a href=/>Trang chủ</a> Giới thiệu chung về Sở và các phòng ban</div>
            <div id=text><p>{own}</p><div class=tools><img src=/i/print.gif> In bài</div></div>"#
        ))
    }

    #[test]
    fn what_pages_share_is_the_template_and_the_rest_is_content() {
        let pages = [
            page("Sáng nay Sở tổ chức hội nghị tổng kết công tác năm 2020 tại hội trường."),
            page("Chiều qua đoàn kiểm tra đã làm việc với Ủy ban nhân dân huyện Giồng Riềng."),
            page("Ngày 12/4 Ban tổ chức công bố kết quả hội thi tìm hiểu pháp luật cấp tỉnh."),
        ];
        let htmls: Vec<&Html> = pages.iter().collect();
        let template = Template::learn(&htmls, &[]);
        assert!(template.repeats("Giới thiệu chung về Sở và các phòng ban"));
        assert!(
            !template
                .repeats("Sáng nay Sở tổ chức hội nghị tổng kết công tác năm 2020 tại hội trường.")
        );
        let text = pages[0]
            .select(&scraper::Selector::parse("#text").unwrap())
            .next()
            .unwrap();
        let tools = pages[0]
            .select(&scraper::Selector::parse(".tools").unwrap())
            .next()
            .unwrap();
        assert!(template.content_chars(text, &[]) > 50);
        assert!(
            template.is_template(tools, &[]),
            "the print tool is the template's"
        );
        assert!(!template.is_template(text, &[]), "the text is not");
    }
}
