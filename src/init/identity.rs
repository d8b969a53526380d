//! Which query keys identify an article: `canonical_query`, `id_param` and `id_pattern`, from
//! how the listed URLs vary and from the other links to the same articles.

use std::collections::HashSet;

use scraper::{ElementRef, Html};
use url::Url;

use super::list::{Listed, article_url};

/// Query keys that say where a link was shown, not which article it is: dropped from the
/// canonical URL when they do not vary between the listed articles.
const CONTEXT_KEYS: &[&str] = &[
    "l",
    "source",
    "itemid",
    "catid",
    "cat",
    "page",
    "trang",
    "p",
    "lang",
    "ref",
    "from",
    "tabid",
    "mid",
    "currentpage",
    "print",
    "tmpl",
];
/// What the listed URLs say of their query keys.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// The first listed URL's keys, in its order, session keys left out.
    pub keys: Vec<String>,
    pub id_param: Option<String>,
    pub id_pattern: Option<String>,
    /// Keys that cannot identify an article: other links to a listed article set them
    /// otherwise, or they differ while the id does not.
    pub varies: HashSet<String>,
    /// Keys whose one value is the same in every listed URL.
    pub constant: HashSet<String>,
}

impl Identity {
    /// The canonical keys when nothing could be proved by fetching: the id, and the constant
    /// keys that do not say where a link was shown.
    pub fn guessed(&self) -> Vec<String> {
        self.keys
            .iter()
            .filter(|k| {
                Some(*k) == self.id_param.as_ref()
                    || (self.constant.contains(*k)
                        && !self.varies.contains(*k)
                        && !CONTEXT_KEYS.contains(&k.to_ascii_lowercase().as_str()))
            })
            .cloned()
            .collect()
    }
}

/// The query keys of the listed URLs, the id among them, and which keys vary with the link.
pub fn infer(html: &Html, page_url: &Url, items: &[Listed]) -> Identity {
    let Some(first) = items.first() else {
        return Identity::default();
    };
    let keys: Vec<String> = first
        .url
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .filter(|k| !crate::normalize::url::is_session_key(k))
        .collect();
    let value = |url: &Url, key: &str| {
        url.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    };
    let leading_number = |v: &str| v.chars().next().is_some_and(|c| c.is_ascii_digit());
    let constant: HashSet<String> = keys
        .iter()
        .filter(|k| {
            let values: HashSet<Option<String>> = items.iter().map(|i| value(&i.url, k)).collect();
            values.len() == 1 && !values.contains(&None)
        })
        .cloned()
        .collect();
    // The id: in every listed URL, a different value each time, best a number.
    let id_param = keys
        .iter()
        .filter(|k| {
            let values: HashSet<Option<String>> = items.iter().map(|i| value(&i.url, k)).collect();
            values.len() == items.len() && !values.contains(&None)
        })
        .max_by_key(|k| {
            let numeric = items
                .iter()
                .filter(|i| value(&i.url, k).is_some_and(|v| leading_number(&v)))
                .count();
            (numeric, k.to_ascii_lowercase().contains("id"))
        })
        .cloned();
    let Some(id_param) = id_param else {
        return Identity {
            keys,
            constant,
            ..Identity::default()
        };
    };
    let id_values: Vec<String> = items
        .iter()
        .filter_map(|i| value(&i.url, &id_param))
        .collect();
    let id_pattern = id_values
        .iter()
        .any(|v| !v.bytes().all(|b| b.is_ascii_digit()) && leading_number(v))
        .then(|| r"^(\d+)".to_string());
    let id_of = |v: &str| -> String {
        if id_pattern.is_some() {
            v.chars().take_while(char::is_ascii_digit).collect()
        } else {
            v.to_string()
        }
    };
    // Other links to a listed article: a key they lack or set otherwise depends on the link.
    let listed_ids: HashSet<String> = id_values.iter().map(|v| id_of(v)).collect();
    let mut varies: HashSet<String> = HashSet::new();
    for anchor in html
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
    {
        let Some(url) = (anchor.value().name() == "a")
            .then(|| article_url(anchor, page_url))
            .flatten()
        else {
            continue;
        };
        if url.path() != first.url.path() {
            continue;
        }
        let Some(id) = value(&url, &id_param).map(|v| id_of(&v)) else {
            continue;
        };
        if !listed_ids.contains(&id) {
            continue;
        }
        let Some(item) = items
            .iter()
            .find(|i| value(&i.url, &id_param).is_some_and(|v| id_of(&v) == id))
        else {
            continue;
        };
        for key in &keys {
            if *key != id_param && value(&url, key) != value(&item.url, key) {
                varies.insert(key.clone());
            }
        }
    }
    // A word every listed URL sets alike (`task=view`, `ctl=Detail`) says how the page is
    // made: other links that lack it do not prove it can go; only fetching can.
    let structural: HashSet<String> = constant
        .iter()
        .filter(|k| {
            items
                .first()
                .and_then(|i| value(&i.url, k))
                .is_some_and(|v| !v.chars().any(|c| c.is_ascii_digit()))
        })
        .cloned()
        .collect();
    varies.retain(|k| !structural.contains(k));
    // A key that differs between listed URLs while not being the id says where, not what.
    for key in &keys {
        let values: HashSet<Option<String>> = items.iter().map(|i| value(&i.url, key)).collect();
        if *key != id_param && values.len() > 1 && values.len() < items.len() {
            varies.insert(key.clone());
        }
    }
    Identity {
        keys,
        id_param: Some(id_param),
        id_pattern,
        varies,
        constant,
    }
}
