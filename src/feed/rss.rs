//! RSS 2.0, written with the `rss` crate.

use std::collections::BTreeMap;

use ::rss::extension::atom::{AtomExtension, Link};
use ::rss::extension::dublincore::DublinCoreExtension;
use ::rss::extension::{Extension, ExtensionMap};
use ::rss::{Category, Channel, Enclosure, Item};

use super::{Entry, FeedMeta, Format, HISTORY_NAMESPACE, entries, local, or_empty, rfc822, text};
use crate::model::Archived;

/// An RSS 2.0 document of `items`, in the given order (newest first).
///
/// The channel carries `language`, `lastBuildDate` (`meta.updated`), `ttl`, an `atom:link
/// rel="self"`, the WebSub hubs as `atom:link rel="hub"` and the RFC 5005 links; each item its
/// `guid` (the article URL, `isPermaLink="true"`), `pubDate` in RFC 822 in the source's zone,
/// `description` (HTML: the escaped summary, else the first caption, else the title), the first
/// attachment as `enclosure`, the content as `content:encoded`, its `category` and the credit as
/// `dc:creator`. In a live feed (not an archive) a withdrawn article is left out.
pub fn rss(meta: &FeedMeta, items: &[Archived]) -> Vec<u8> {
    or_empty(
        Format::Rss,
        channel(meta, items).write_to(Vec::new()),
        || channel(meta, &[]).write_to(Vec::new()),
    )
}

fn channel(meta: &FeedMeta, items: &[Archived]) -> Channel {
    let description = Some(text(&meta.description))
        .filter(|d| !d.trim().is_empty())
        // RSS requires a description; the title is the best we have.
        .unwrap_or_else(|| text(&meta.title));
    let mut links = vec![Link {
        href: meta.self_url.to_string(),
        rel: "self".into(),
        mime_type: Some(Format::Rss.media_type().into()),
        ..Link::default()
    }];
    links.extend(meta.history.links().map(|(rel, url)| Link {
        href: url.to_string(),
        rel: rel.into(),
        ..Link::default()
    }));
    links.extend(meta.hubs.iter().map(|hub| Link {
        href: hub.to_string(),
        rel: "hub".into(),
        ..Link::default()
    }));
    let mut channel = Channel {
        title: text(&meta.title),
        link: meta.home_page.to_string(),
        description,
        language: Some(text(&meta.language)),
        last_build_date: Some(rfc822(local(meta, meta.updated))),
        ttl: Some(meta.ttl_minutes.to_string()),
        atom_ext: Some(AtomExtension { links }),
        items: entries(meta, items)
            .into_iter()
            .filter(|entry| entry.gone_at.is_none() || meta.history.archive)
            .map(item)
            .collect(),
        ..Channel::default()
    };
    if meta.history.archive {
        channel
            .namespaces
            .insert("fh".into(), HISTORY_NAMESPACE.into());
        channel.extensions.insert(
            "fh".into(),
            element_map("archive", empty_element("fh:archive")),
        );
    }
    channel
}

fn item(entry: Entry) -> Item {
    // The `rss` crate writes `isPermaLink` only when it is false; readers differ on what an absent
    // attribute means, so the guid is written as a plain element that says it.
    let mut guid = empty_element("guid");
    guid.attrs.insert("isPermaLink".into(), "true".into());
    guid.value = Some(entry.url.clone());
    let mut extensions = ExtensionMap::new();
    extensions.insert(String::new(), element_map("guid", guid));
    Item {
        title: Some(entry.title),
        link: Some(entry.url),
        description: Some(entry.description_html),
        // RSS allows one enclosure; the others are listed at the end of the content. `length` is
        // required: "0" where the file was not captured, as the RSS Advisory Board allows.
        enclosure: entry.enclosures.into_iter().next().map(|e| Enclosure {
            url: e.url,
            length: e.length.unwrap_or(0).to_string(),
            mime_type: e.mime_type,
        }),
        categories: entry
            .category
            .map(|name| Category { name, domain: None })
            .into_iter()
            .collect(),
        pub_date: Some(rfc822(entry.published)),
        content: Some(entry.content_html),
        // RSS `author` must be an e-mail address; the credit is a name.
        dublin_core_ext: entry.credit.map(|credit| DublinCoreExtension {
            creators: vec![credit],
            ..DublinCoreExtension::default()
        }),
        extensions,
        ..Item::default()
    }
}

fn empty_element(name: &str) -> Extension {
    Extension {
        name: name.into(),
        ..Extension::default()
    }
}

fn element_map(local_name: &str, element: Extension) -> BTreeMap<String, Vec<Extension>> {
    BTreeMap::from([(local_name.to_string(), vec![element])])
}
