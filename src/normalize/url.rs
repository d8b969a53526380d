//! Canonical article URLs and the ids derived from them.

use sha2::{Digest, Sha256};
use url::Url;

use crate::config::Source;
use crate::model::ArticleId;

/// The article's identity: only the `canonical_query` keys (in the profile's order and
/// spelling), no fragment. Without `canonical_query` every key is kept, sorted. With
/// `id_pattern`, the `id_param` value is cut to the id it holds (`id=1452:alias` -> `id=1452`).
pub fn canonical_url(url: &Url, source: &Source) -> Url {
    let mut canonical = url.clone();
    canonical.set_fragment(None);
    without_session_path(&mut canonical);
    let named = |name: &str| {
        source
            .canonical_query
            .as_ref()
            .is_some_and(|keys| keys.iter().any(|k| k.eq_ignore_ascii_case(name)))
    };
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(name, _)| !is_session_key(name) || named(name))
        .map(|(name, value)| {
            let value = match (&source.id_param, &source.id_pattern) {
                (Some(param), Some(pattern)) if name.eq_ignore_ascii_case(param) => {
                    pattern.id_in(&value).map_or(value.clone(), str::to_string)
                }
                _ => value,
            };
            (name, value)
        })
        .collect();
    let kept: Vec<(String, String)> = match &source.canonical_query {
        Some(keys) => keys
            .iter()
            .filter_map(|key| {
                pairs
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(key))
                    .map(|(_, value)| (key.clone(), value.clone()))
            })
            .collect(),
        None => {
            let mut all = pairs;
            all.sort();
            all
        }
    };
    if kept.is_empty() {
        canonical.set_query(None);
    } else {
        canonical.query_pairs_mut().clear().extend_pairs(kept);
    }
    canonical
}

/// Query keys that hold a visitor's session, not the page: `PHPSESSID`, `sid`, `sessionid`,
/// `jsessionid`, ASP's `ASPSESSIONID…`, ColdFusion's `CFID`/`CFTOKEN`. One article reached
/// through links of two sessions is one article, as Heritrix and Nutch canonicalize by default.
/// A key the profile's `canonical_query` names is kept all the same (a portal whose `sid` is
/// a section).
pub fn is_session_key(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "phpsessid" | "sid" | "sessionid" | "session_id" | "jsessionid" | "cfid" | "cftoken"
    ) || name.starts_with("aspsessionid")
}

/// Drops a `;jsessionid=…` path parameter (Java servlets' session in the URL) from every path
/// segment.
fn without_session_path(url: &mut Url) {
    let path = url.path();
    if !path.to_ascii_lowercase().contains(";jsessionid=") {
        return;
    }
    let cleaned: Vec<&str> = path
        .split('/')
        .map(
            |segment| match segment.to_ascii_lowercase().find(";jsessionid=") {
                Some(at) => &segment[..at],
                None => segment,
            },
        )
        .collect();
    let cleaned = cleaned.join("/");
    url.set_path(&cleaned);
}

/// `<source>:<id_param value>` (the `id_pattern` group within it) when the canonical URL has it, else `<source>:` and a hash of the
/// canonical path and query (not the host, so a move to https or a new host keeps ids).
pub fn article_id(canonical: &Url, source: &Source) -> ArticleId {
    let from_param = source.id_param.as_ref().and_then(|param| {
        canonical
            .query_pairs()
            .find(|(name, _)| name.eq_ignore_ascii_case(param))
            .map(|(_, value)| match &source.id_pattern {
                Some(pattern) => pattern.id_in(&value).unwrap_or_default().to_string(),
                None => value.into_owned(),
            })
    });
    match from_param.filter(|value| !value.is_empty()) {
        Some(value) => ArticleId(format!("{}:{}", source.id, value)),
        None => {
            let mut target = canonical.path().to_string();
            if let Some(query) = canonical.query() {
                target.push('?');
                target.push_str(query);
            }
            let digest = Sha256::digest(target.as_bytes());
            ArticleId(format!("{}:{}", source.id, &hex::encode(digest)[..16]))
        }
    }
}

/// A link or image address made absolute; `None` for anything but http(s).
pub fn resolve(base: &Url, href: &str) -> Option<Url> {
    let url = base.join(href.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}
