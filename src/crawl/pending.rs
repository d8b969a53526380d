//! The assets a run could not request within `max_assets_per_run`, kept in the archive's crawl
//! state for the next run: a queue, oldest first, in chunks of at most [`CHUNK`] URLs so that no
//! one value grows with the backlog (a backfill can leave thousands). `assets-pending:<source>`
//! holds `<first> <end>`, the chunks being `assets-pending:<source>:<n>` for `first <= n < end`,
//! one URL a line.

use crate::archive::{Archive, ArchiveError};

/// URLs per chunk at most: a chunk is one value of the crawl state (in a cluster, one KV entry).
const CHUNK: usize = 500;

fn head_key(source: &str) -> String {
    format!("assets-pending:{source}")
}

fn chunk_key(source: &str, n: u64) -> String {
    format!("assets-pending:{source}:{n}")
}

/// The queue's bounds; an unreadable head (never written by gazette) is an empty queue.
fn head(archive: &dyn Archive, source: &str) -> Result<(u64, u64), ArchiveError> {
    let Some(value) = archive.state(&head_key(source))? else {
        return Ok((0, 0));
    };
    let mut parts = value.split(' ').map(str::parse::<u64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(first)), Some(Ok(end))) if first <= end => Ok((first, end)),
        _ => {
            tracing::warn!(
                source,
                value,
                "unreadable queue of pending assets; started afresh"
            );
            Ok((0, 0))
        }
    }
}

fn set_head(archive: &dyn Archive, source: &str, first: u64, end: u64) -> Result<(), ArchiveError> {
    let value = (first < end).then(|| format!("{first} {end}"));
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
    let (first, mut end) = head(archive, source)?;
    for chunk in urls.chunks(CHUNK) {
        archive.set_state(&chunk_key(source, end), Some(&chunk.join("\n")))?;
        end += 1;
    }
    set_head(archive, source, first, end)
}

/// The oldest chunk of the queue, if any, and its number.
pub(super) fn oldest(
    archive: &dyn Archive,
    source: &str,
) -> Result<Option<(u64, Vec<String>)>, ArchiveError> {
    let (mut first, end) = head(archive, source)?;
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

/// Replaces chunk `n`, the oldest, with `left` (what is still to fetch of it), or removes it.
pub(super) fn settle(
    archive: &dyn Archive,
    source: &str,
    n: u64,
    left: &[String],
) -> Result<(), ArchiveError> {
    if !left.is_empty() {
        return archive.set_state(&chunk_key(source, n), Some(&left.join("\n")));
    }
    archive.set_state(&chunk_key(source, n), None)?;
    let (_, end) = head(archive, source)?;
    set_head(archive, source, n + 1, end)
}

/// How many URLs wait in the queue (for tests and reports; reads every chunk).
pub fn count(archive: &dyn Archive, source: &str) -> Result<usize, ArchiveError> {
    let (first, end) = head(archive, source)?;
    let mut total = 0;
    for n in first..end {
        if let Some(text) = archive.state(&chunk_key(source, n))? {
            total += text.lines().count();
        }
    }
    Ok(total)
}
