//! Atom 1.0 (RFC 4287), written with `atom_syndication`.

use std::collections::BTreeMap;

use atom_syndication::extension::Extension;
use atom_syndication::{Category, Content, Entry as AtomEntry, Feed, Link, Person, Text};

use super::{
    Entry, FeedMeta, Format, HISTORY_NAMESPACE, entries, feed_id, local, or_empty, rfc3339, text,
};
use crate::model::Archived;

/// The namespace of RFC 6721 tombstones (`at:deleted-entry`).
pub const TOMBSTONE_NAMESPACE: &str = "http://purl.org/atompub/tombstones/1.0";

/// An Atom 1.0 document of `items`, in the given order (newest first).
///
/// The feed has one `id` ([`feed_id`]), `updated` (`meta.updated`), the source as `author`,
/// `xml:lang`, `link rel="self"` and `rel="alternate"`, the WebSub hubs and the RFC 5005 links;
/// each entry its [`super::entry_id`], `updated` ([`super::entry_updated`]), `published`, the
/// article link, a `link rel="enclosure"` per attachment, the content as escaped
/// `content type="html"`, the summary, its category and the credit (or the source) as author.
/// An article passed twice is written once. In a live feed (not an archive) a withdrawn article
/// is an RFC 6721 `at:deleted-entry` instead of an entry.
pub fn atom(meta: &FeedMeta, items: &[Archived]) -> Vec<u8> {
    or_empty(Format::Atom, feed(meta, items).write_to(Vec::new()), || {
        feed(meta, &[]).write_to(Vec::new())
    })
}

fn feed(meta: &FeedMeta, items: &[Archived]) -> Feed {
    let mut links = vec![
        Link {
            href: meta.self_url.to_string(),
            rel: "self".into(),
            mime_type: Some(Format::Atom.media_type().into()),
            ..Link::default()
        },
        Link {
            href: meta.home_page.to_string(),
            rel: "alternate".into(),
            mime_type: Some("text/html".into()),
            ..Link::default()
        },
    ];
    links.extend(meta.history.links().map(|(rel, url)| Link {
        href: url.to_string(),
        rel: rel.into(),
        mime_type: Some(Format::Atom.media_type().into()),
        ..Link::default()
    }));
    links.extend(meta.hubs.iter().map(|hub| Link {
        href: hub.to_string(),
        rel: "hub".into(),
        ..Link::default()
    }));
    let description = text(&meta.description);
    let (gone, live): (Vec<Entry>, Vec<Entry>) = entries(meta, items)
        .into_iter()
        .partition(|entry| entry.gone_at.is_some() && !meta.history.archive);
    let mut feed = Feed {
        title: Text::plain(text(&meta.title)),
        id: feed_id(meta),
        updated: local(meta, meta.updated),
        authors: vec![person(text(&meta.author))],
        links,
        subtitle: Some(Text::plain(description)).filter(|d| !d.value.trim().is_empty()),
        lang: Some(text(&meta.language)),
        entries: live
            .into_iter()
            .map(|entry| atom_entry(meta, entry))
            .collect(),
        ..Feed::default()
    };
    let tombstones: Vec<Extension> = gone.iter().filter_map(tombstone).collect();
    if !tombstones.is_empty() {
        feed.namespaces
            .insert("at".into(), TOMBSTONE_NAMESPACE.into());
        feed.extensions.insert(
            "at".into(),
            BTreeMap::from([("deleted-entry".to_string(), tombstones)]),
        );
    }
    if meta.history.archive {
        feed.namespaces
            .insert("fh".into(), HISTORY_NAMESPACE.into());
        let archive = Extension {
            name: "fh:archive".into(),
            ..Extension::default()
        };
        feed.extensions.insert(
            "fh".into(),
            BTreeMap::from([("archive".to_string(), vec![archive])]),
        );
    }
    feed
}

fn atom_entry(meta: &FeedMeta, entry: Entry) -> AtomEntry {
    AtomEntry {
        title: Text::plain(entry.title),
        id: entry.id,
        updated: entry.updated,
        published: Some(entry.published),
        authors: vec![person(entry.credit.unwrap_or_else(|| text(&meta.author)))],
        categories: entry
            .category
            .map(|term| Category {
                term,
                ..Category::default()
            })
            .into_iter()
            .collect(),
        links: std::iter::once(Link {
            href: entry.url,
            rel: "alternate".into(),
            mime_type: Some("text/html".into()),
            ..Link::default()
        })
        .chain(entry.enclosures.into_iter().map(|enclosure| Link {
            href: enclosure.url,
            rel: "enclosure".into(),
            mime_type: Some(enclosure.mime_type),
            title: Some(enclosure.title).filter(|t| !t.trim().is_empty()),
            length: enclosure.length.map(|n| n.to_string()),
            ..Link::default()
        }))
        .collect(),
        summary: entry.summary.map(Text::plain),
        // `html` content is written escaped by the writer, never as CDATA or xhtml.
        content: Some(Content {
            content_type: Some("html".into()),
            value: Some(entry.content_html),
            ..Content::default()
        }),
        ..AtomEntry::default()
    }
}

/// `<at:deleted-entry ref="ID" when="GONE_AT"/>` for a withdrawn entry.
fn tombstone(entry: &Entry) -> Option<Extension> {
    let when = entry.gone_at?;
    Some(Extension {
        name: "at:deleted-entry".into(),
        attrs: BTreeMap::from([
            ("ref".to_string(), entry.id.clone()),
            ("when".to_string(), rfc3339(when)),
        ]),
        ..Extension::default()
    })
}

fn person(name: String) -> Person {
    Person {
        name,
        ..Person::default()
    }
}
