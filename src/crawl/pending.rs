//! The assets a run could not request within `max_assets_per_run`, kept in the archive's crawl
//! state for the next run: a queue, oldest first, in chunks of at most [`CHUNK`] URLs so that no
//! one value grows with the backlog (a backfill can leave thousands). `assets-pending:<source>`
//! holds `<first> <end> <count>`, the chunks being `assets-pending:<source>:<n>` for
//! `first <= n < end`, one URL a line, `count` URLs in all.

use crate::archive::{Archive, ArchiveError};

/// URLs per chunk at most: a chunk is one value of the crawl state (in a cluster, one KV entry).
const CHUNK: usize = 500;

fn head_key(source: &str) -> String {
    format!("assets-pending:{source}")
}

fn chunk_key(source: &str, n: u64) -> String {
    format!("assets-pending:{source}:{n}")
}

/// The queue's bounds and length.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Head {
    first: u64,
    end: u64,
    count: u64,
}

/// The queue's head; an unreadable one (never written by gazette) is an empty queue.
fn head(archive: &dyn Archive, source: &str) -> Result<Head, ArchiveError> {
    let Some(value) = archive.state(&head_key(source))? else {
        return Ok(Head::default());
    };
    let mut parts = value.split(' ').map(str::parse::<u64>);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(first)), Some(Ok(end)), Some(Ok(count))) if first <= end => {
            Ok(Head { first, end, count })
        }
        _ => {
            tracing::warn!(
                source,
                value,
                "unreadable queue of pending assets; started afresh"
            );
            Ok(Head::default())
        }
    }
}

fn set_head(archive: &dyn Archive, source: &str, head: Head) -> Result<(), ArchiveError> {
    let value = (head.first < head.end && head.count > 0)
        .then(|| format!("{} {} {}", head.first, head.end, head.count));
    archive.set_state(&head_key(source), value.as_deref())
}

/// Adds `urls` at the end of the queue: the chunks first, then the head that names them, so
/// that a failure between leaves the queue as it was.
pub(super) fn push(
    archive: &dyn Archive,
    source: &str,
    urls: &[String],
) -> Result<(), ArchiveError> {
    if urls.is_empty() {
        return Ok(());
    }
    let mut head = head(archive, source)?;
    if head.count == 0 {
        head = Head::default();
    }
    for chunk in urls.chunks(CHUNK) {
        archive.set_state(&chunk_key(source, head.end), Some(&chunk.join("\n")))?;
        head.end += 1;
    }
    head.count += urls.len() as u64;
    set_head(archive, source, head)
}

/// The oldest chunk of the queue, if any, and its number.
pub(super) fn oldest(
    archive: &dyn Archive,
    source: &str,
) -> Result<Option<(u64, Vec<String>)>, ArchiveError> {
    let Head { mut first, end, .. } = head(archive, source)?;
    while first < end {
        // A chunk that is missing was emptied by a run that stopped before moving the head.
        if let Some(text) = archive.state(&chunk_key(source, first))? {
            let urls: Vec<String> = text.lines().map(str::to_string).collect();
            if !urls.is_empty() {
                return Ok(Some((first, urls)));
            }
        }
        first += 1;
    }
    Ok(None)
}

/// Replaces chunk `n`, the oldest, of `taken` URLs with `left` (what is still to fetch of
/// them), or removes it.
pub(super) fn settle(
    archive: &dyn Archive,
    source: &str,
    (n, taken): (u64, usize),
    left: &[String],
) -> Result<(), ArchiveError> {
    let mut head = head(archive, source)?;
    head.count = head
        .count
        .saturating_sub(taken.saturating_sub(left.len()) as u64);
    if left.is_empty() {
        archive.set_state(&chunk_key(source, n), None)?;
        head.first = n + 1;
    } else {
        archive.set_state(&chunk_key(source, n), Some(&left.join("\n")))?;
    }
    set_head(archive, source, head)
}

/// How many asset URLs of `source` wait for a later run.
pub fn count(archive: &dyn Archive, source: &str) -> Result<u64, ArchiveError> {
    Ok(head(archive, source)?.count)
}
