//! Where a body image really is: past lazy loaders' placeholders, in `data-*` attributes or the
//! widest `srcset` candidate.

/// An image's address: `src`, unless it is missing, a `data:` URI or a known placeholder, then
/// the lazy-loading attributes (`data-src`, `data-lazy-src`, `data-original`), then the widest
/// `srcset` candidate.
pub fn source(el: &scraper::node::Element) -> Option<String> {
    let usable = |s: &&str| !s.is_empty() && !s.starts_with("data:") && !is_placeholder(s);
    let src = el.attr("src").map(str::trim).filter(usable);
    let lazy = ["data-src", "data-lazy-src", "data-original"]
        .into_iter()
        .filter_map(|name| el.attr(name))
        .map(str::trim)
        .find(usable);
    let widest = ["srcset", "data-srcset", "data-lazy-srcset"]
        .into_iter()
        .filter_map(|name| el.attr(name))
        .find_map(widest_candidate);
    src.or(lazy).map(str::to_string).or(widest).or_else(|| {
        el.attr("src")
            .map(str::trim)
            .filter(|s| !s.is_empty() && !s.starts_with("data:"))
            .map(str::to_string)
    })
}

/// A lazy-loading plugin's stand-in image (`lazy.gif`, `placeholder.png`, `blank.gif`).
fn is_placeholder(src: &str) -> bool {
    let name = src.rsplit('/').next().unwrap_or(src).to_ascii_lowercase();
    [
        "lazy",
        "placeholder",
        "blank.",
        "spacer.",
        "loading.",
        "pixel.",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// The widest candidate of a `srcset` (`a.jpg 300w, b.jpg 1024w`); density descriptors count
/// as their multiple of a thousand.
fn widest_candidate(srcset: &str) -> Option<String> {
    srcset
        .split(',')
        .filter_map(|candidate| {
            let mut parts = candidate.split_whitespace();
            let url = parts.next()?;
            let size = parts.next().map_or(1.0, |d| {
                let (number, unit) = d.split_at(d.len().saturating_sub(1));
                let n: f64 = number.parse().unwrap_or(0.0);
                if unit == "x" { n * 1000.0 } else { n }
            });
            (!url.starts_with("data:")).then(|| (url.to_string(), size))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(url, _)| url)
}

#[cfg(test)]
mod tests {
    use scraper::{Html, Selector};

    fn source_of(img: &str) -> Option<String> {
        let html = Html::parse_fragment(img);
        let selector = Selector::parse("img").unwrap();
        let element = html.select(&selector).next().unwrap();
        super::source(element.value())
    }

    #[test]
    fn a_placeholder_gives_way_to_the_lazy_address_then_the_widest_candidate() {
        assert_eq!(
            source_of(r#"<img src="a.jpg" data-src="b.jpg">"#).as_deref(),
            Some("a.jpg")
        );
        assert_eq!(
            source_of(r#"<img src="data:image/gif;base64,R0l" data-lazy-src="b.jpg">"#).as_deref(),
            Some("b.jpg")
        );
        assert_eq!(
            source_of(r#"<img src="/img/lazy_placeholder.gif" data-original="c.jpg">"#).as_deref(),
            Some("c.jpg")
        );
        assert_eq!(
            source_of(r#"<img src="data:," srcset="s.jpg 300w, l.jpg 1024w, m.jpg 768w">"#)
                .as_deref(),
            Some("l.jpg")
        );
        assert_eq!(
            source_of(r#"<img src="/blank.gif" srcset="a.jpg 1x, b.jpg 2x">"#).as_deref(),
            Some("b.jpg")
        );
        assert_eq!(source_of(r#"<img src="data:,">"#), None);
    }
}
