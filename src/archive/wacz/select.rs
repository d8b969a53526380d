//! Which records a package holds, and its pages: one scan of the WARC files, reading the
//! revisions from their metadata records (never the index, which `serve` may hold).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, FixedOffset};

use super::Scope;
use crate::archive::notes::Note;
use crate::archive::warc::{self, Location, RecordId, RecordType, WarcError};

/// One WARC file's records to copy: (offset, length) of each member, in file order.
pub(super) type Members = BTreeMap<u64, u64>;

/// What a package holds.
pub(super) struct Selection {
    /// The source files with records to copy, oldest first.
    pub files: Vec<(String, Members)>,
    /// One per revision, by capture time.
    pub pages: Vec<Page>,
}

/// A line of `pages/pages.jsonl`.
#[derive(Debug, serde::Serialize)]
pub(super) struct Page {
    /// The URL the page was captured at (the response's target URI).
    pub url: String,
    /// When it was captured, ISO 8601 in UTC.
    pub ts: String,
    pub title: String,
    /// `<article id>:<revision>`.
    pub id: String,
}

/// A response or revisit record seen by the scan.
struct Payload {
    at: Location,
    url: String,
    date: DateTime<FixedOffset>,
    /// For a revisit: the response holding its bytes.
    original: Option<RecordId>,
}

/// A revision in scope.
struct Revision {
    response: Option<RecordId>,
    assets: Vec<String>,
    /// The article's canonical URL, for a revision whose response is not found.
    url: String,
    title: String,
    fetched_at: DateTime<FixedOffset>,
}

/// Everything the scan keeps: locations and ids, never record bodies.
#[derive(Default)]
struct Seen {
    every: Vec<Location>,
    warcinfo: HashMap<String, Vec<Location>>,
    payloads: HashMap<RecordId, Payload>,
    by_url: HashMap<String, Vec<RecordId>>,
    /// Request records by the response or revisit they are concurrent to.
    requests: HashMap<RecordId, Location>,
    /// By (article id, revision): a revision stated again (reparse) is read from its last note;
    /// every note of it is packaged.
    revisions: BTreeMap<(String, u32), (Revision, Vec<Location>)>,
}

pub(super) fn select(warc_dir: &Path, scope: &Scope) -> Result<Selection, WarcError> {
    let files = warc::files(warc_dir)?;
    let mut seen = Seen::default();
    for name in &files {
        for item in warc::scan_file(warc_dir, name) {
            let (at, record) = item?;
            if scope.is_everything() {
                seen.every.push(at.clone());
            }
            match record.kind() {
                RecordType::Warcinfo => {
                    seen.warcinfo.entry(name.clone()).or_default().push(at);
                }
                RecordType::Response | RecordType::Revisit => {
                    let Some(url) = record.target_uri() else {
                        continue;
                    };
                    let original = (record.kind() == &RecordType::Revisit)
                        .then(|| record.refers_to())
                        .flatten();
                    seen.by_url
                        .entry(url.to_string())
                        .or_default()
                        .push(record.id().clone());
                    seen.payloads.insert(
                        record.id().clone(),
                        Payload {
                            at,
                            url: url.to_string(),
                            date: record.date(),
                            original,
                        },
                    );
                }
                RecordType::Request => {
                    if let Some(payload) = record.concurrent_to() {
                        seen.requests.insert(payload, at);
                    }
                }
                RecordType::Metadata => {
                    // Metadata gazette did not write, and notes that are not revisions (gone,
                    // back), are packaged only with everything.
                    let Ok(Note::Revision(note)) = serde_json::from_slice::<Note>(record.block())
                    else {
                        continue;
                    };
                    if !scope.holds(&note.source, note.fetched_at) {
                        continue;
                    }
                    let article = &note.article;
                    let revision = Revision {
                        response: record.refers_to(),
                        assets: (article.images.iter().map(|i| i.url.clone()))
                            .chain(article.attachments.iter().map(|a| a.url.clone()))
                            .collect(),
                        url: article.url.clone(),
                        title: article.title.clone(),
                        fetched_at: note.fetched_at,
                    };
                    let key = (article.id.0.clone(), note.revision);
                    let notes = match seen.revisions.remove(&key) {
                        Some((_, mut notes)) => {
                            notes.push(at);
                            notes
                        }
                        None => vec![at],
                    };
                    seen.revisions.insert(key, (revision, notes));
                }
                _ => {}
            }
        }
    }
    Ok(Selection {
        pages: pages(&seen),
        files: members(&files, seen, scope),
    })
}

/// One page per revision, by capture time; a revision whose response is not found is listed at
/// the article's URL and fetch time.
fn pages(seen: &Seen) -> Vec<Page> {
    let mut pages: Vec<(DateTime<FixedOffset>, Page)> = seen
        .revisions
        .iter()
        .map(|((id, number), (revision, _))| {
            let response = (revision.response.as_ref()).and_then(|id| seen.payloads.get(id));
            let (url, at) = match response {
                Some(response) => (response.url.clone(), response.date),
                None => (revision.url.clone(), revision.fetched_at),
            };
            let page = Page {
                url,
                ts: at
                    .with_timezone(&chrono::Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                title: revision.title.clone(),
                id: format!("{id}:{number}"),
            };
            (at, page)
        })
        .collect();
    pages.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    pages.into_iter().map(|(_, page)| page).collect()
}

/// The members to copy, by file: every record, or those of the revisions in scope (their notes,
/// responses, assets, the responses their revisits refer to, the requests of all these, and the
/// warcinfo of each file they are in).
fn members(files: &[String], seen: Seen, scope: &Scope) -> Vec<(String, Members)> {
    let mut chosen: HashMap<String, Members> = HashMap::new();
    let add = |chosen: &mut HashMap<String, Members>, at: &Location| {
        chosen
            .entry(at.file.clone())
            .or_default()
            .insert(at.offset, at.length);
    };
    if scope.is_everything() {
        seen.every.iter().for_each(|at| add(&mut chosen, at));
    } else {
        let mut payloads: Vec<&RecordId> = Vec::new();
        for (revision, notes) in seen.revisions.values() {
            notes.iter().for_each(|at| add(&mut chosen, at));
            payloads.extend(&revision.response);
            for url in &revision.assets {
                payloads.extend(seen.by_url.get(url).into_iter().flatten());
            }
        }
        let originals: Vec<&RecordId> = payloads
            .iter()
            .filter_map(|id| seen.payloads.get(*id)?.original.as_ref())
            .collect();
        for id in payloads.into_iter().chain(originals) {
            if let Some(payload) = seen.payloads.get(id) {
                add(&mut chosen, &payload.at);
            }
            if let Some(request) = seen.requests.get(id) {
                add(&mut chosen, request);
            }
        }
        let used: Vec<String> = chosen.keys().cloned().collect();
        for file in used {
            for at in seen.warcinfo.get(&file).into_iter().flatten() {
                add(&mut chosen, at);
            }
        }
    }
    files
        .iter()
        .filter_map(|name| Some((name.clone(), chosen.remove(name)?)))
        .collect()
}
