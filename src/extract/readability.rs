//! `article.fallback = "readability"`: the main content of a page whose body selector matches
//! nothing, as Mozilla's Readability finds it (the `dom_smoothie` crate), read into blocks like
//! any body.

use std::collections::HashSet;

use scraper::Selector;

use super::{ExtractError, body, decode, parse};
use crate::config::ArticleProfile;
use crate::model::Page;

/// Elements Readability looks at, at most; a larger page is refused rather than scored.
const MAX_READABILITY_ELEMENTS: usize = 20_000;

/// The page's main content as blocks, with the profile's `remove` selectors applied to it.
pub fn body(page: &Page<'_>, profile: &ArticleProfile) -> Result<Vec<body::Block>, ExtractError> {
    let refused = |reason: String| ExtractError::NoReadableBody {
        selector: profile.body.to_string(),
        reason,
    };
    let (text, _) = decode(page.bytes, page.content_type);
    let config = dom_smoothie::Config {
        max_elements_to_parse: MAX_READABILITY_ELEMENTS,
        ..Default::default()
    };
    let mut reader =
        dom_smoothie::Readability::new(text.as_ref(), Some(page.url.as_str()), Some(config))
            .map_err(|err| refused(err.to_string()))?;
    let found = reader.parse().map_err(|err| refused(err.to_string()))?;
    let parse::Parsed { html, .. } = parse::document(&found.content);
    let mut removed = HashSet::new();
    for css in &profile.remove {
        removed.extend(html.select(css.selector()).map(|e| e.id()));
    }
    static BODY: std::sync::LazyLock<Selector> =
        std::sync::LazyLock::new(|| Selector::parse("body").expect("constant selector"));
    let root = html
        .select(&BODY)
        .next()
        .unwrap_or_else(|| html.root_element());
    let scope = body::Scope::new(&removed);
    let blocks = body::blocks(root, &scope);
    if blocks.is_empty() {
        return Err(refused("the content it found has no text".into()));
    }
    Ok(blocks)
}
