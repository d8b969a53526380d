//! Rendered feed documents kept in memory until the archive changes, keyed by the parsed request
//! (never the raw query), within a byte budget: the least recently used are dropped first.
//!
//! Rendering and compression run on blocking threads, each at most once per entry: concurrent
//! misses for one document wait for the first to finish instead of rendering again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use axum::body::Bytes;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use lru::LruCache;
use sha2::{Digest, Sha256};
use tokio::sync::{OnceCell, Semaphore};

use super::conditional::Encoding;
use super::query::Cursor;
use super::{ApiError, DEFAULT_FEED_ITEMS};
use crate::feed::Format;

/// What an entry costs beyond its bytes: the key, the validators, the bookkeeping.
const ENTRY_OVERHEAD: u64 = 512;

/// A document gazette serves from the cache, as the request named it once parsed and checked
/// against the config.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Document {
    /// `/feeds/{source}.{format}?limit=&before=` (`before`: JSON Feed pages only)
    Source {
        source: String,
        format: Format,
        limit: usize,
        before: Option<Cursor>,
    },
    /// `/feeds/{source}/{section}.{format}?limit=&before=`
    Section {
        source: String,
        section: String,
        format: Format,
        limit: usize,
        before: Option<Cursor>,
    },
    /// `/feeds/{source}/archive/{YYYY-MM}.{format}`
    Archive {
        source: String,
        month: NaiveDate,
        format: Format,
    },
    /// `/feeds/{source}.{format}?q=&limit=`: a saved search, newest first; `query` is the
    /// normalised text (bounded), never the raw parameter.
    Search {
        source: String,
        query: String,
        format: Format,
        limit: usize,
    },
    /// `/feeds.opml?format=`: the feeds in one format.
    Opml { format: Format },
    /// `/articles/{id}/diff?from=&to=` (`page`: the reader's page) and
    /// `/api/articles/{id}/diff?from=&to=`: kept only once rendered, so for an article that is.
    Diff {
        id: String,
        from: u32,
        to: u32,
        page: bool,
    },
}

impl Document {
    /// The path and query this document is served at, written one way.
    pub fn path(&self) -> String {
        let query = |limit: usize, before: &Option<Cursor>| {
            let mut pairs = Vec::new();
            if limit != DEFAULT_FEED_ITEMS {
                pairs.push(format!("limit={limit}"));
            }
            if let Some(cursor) = before {
                pairs.push(format!("before={}", cursor.encode()));
            }
            if pairs.is_empty() {
                String::new()
            } else {
                format!("?{}", pairs.join("&"))
            }
        };
        match self {
            Document::Source {
                source,
                format,
                limit,
                before,
            } => format!(
                "/feeds/{source}.{}{}",
                format.extension(),
                query(*limit, before)
            ),
            Document::Section {
                source,
                section,
                format,
                limit,
                before,
            } => format!(
                "/feeds/{source}/{section}.{}{}",
                format.extension(),
                query(*limit, before)
            ),
            Document::Archive {
                source,
                month,
                format,
            } => format!(
                "/feeds/{source}/archive/{}.{}",
                month.format("%Y-%m"),
                format.extension()
            ),
            Document::Search {
                source,
                query: text,
                format,
                limit,
            } => {
                let mut pairs = url::form_urlencoded::Serializer::new(String::new());
                pairs.append_pair("q", text);
                if *limit != DEFAULT_FEED_ITEMS {
                    pairs.append_pair("limit", &limit.to_string());
                }
                format!("/feeds/{source}.{}?{}", format.extension(), pairs.finish())
            }
            Document::Opml { format } => format!("/feeds.opml?format={}", format.extension()),
            Document::Diff { id, from, to, page } => {
                let id =
                    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC);
                let api = if *page { "" } else { "/api" };
                format!("{api}/articles/{id}/diff?from={from}&to={to}")
            }
        }
    }

    fn key_bytes(&self) -> u64 {
        let text = match self {
            Document::Source { source, before, .. } => {
                source.len() + before.as_ref().map_or(0, Cursor::bytes)
            }
            Document::Archive { source, .. } => source.len(),
            Document::Section {
                source,
                section,
                before,
                ..
            } => source.len() + section.len() + before.as_ref().map_or(0, Cursor::bytes),
            Document::Search { source, query, .. } => source.len() + query.len(),
            Document::Opml { .. } => 0,
            Document::Diff { id, .. } => id.len(),
        };
        u64::try_from(text).unwrap_or(u64::MAX)
    }
}

/// A rendered document with what it is served with.
pub struct Rendered {
    pub body: Bytes,
    /// The identity ETag's opaque part: a digest of the body.
    pub tag: String,
    pub last_modified: SystemTime,
    pub content_type: &'static str,
    pub cache_control: String,
    /// The metrics label: the format's extension, or `opml`.
    pub kind: &'static str,
}

impl Rendered {
    pub fn new(
        body: Vec<u8>,
        last_modified: DateTime<FixedOffset>,
        content_type: &'static str,
        cache_control: String,
        kind: &'static str,
    ) -> Rendered {
        let tag = hex::encode(&Sha256::digest(&body)[..8]);
        Rendered {
            body: exact(body),
            tag,
            last_modified: SystemTime::from(last_modified.with_timezone(&Utc)),
            content_type,
            cache_control,
            kind,
        }
    }
}

/// Bytes that own no more memory than they hold, so that what the budget counts is what they
/// cost (a rendered or compressed `Vec` has grown by doubling).
fn exact(mut bytes: Vec<u8>) -> Bytes {
    bytes.shrink_to_fit();
    Bytes::from(bytes)
}

/// One cache entry: the document once rendered, and each compressed form once made.
#[derive(Default)]
struct Entry {
    rendered: OnceCell<Arc<Rendered>>,
    gzip: OnceCell<Bytes>,
    brotli: OnceCell<Bytes>,
}

/// A rendered document from the cache, whose compressed forms [`FeedCache::encoded`] gives.
pub struct Cached {
    pub rendered: Arc<Rendered>,
    entry: Arc<Entry>,
}

impl Entry {
    fn bytes(&self) -> u64 {
        let len = |b: Option<&Bytes>| b.map_or(0, |b| b.len());
        let body = len(self.rendered.get().map(|r| &r.body));
        let total = body + len(self.gzip.get()) + len(self.brotli.get());
        u64::try_from(total).unwrap_or(u64::MAX)
    }
}

struct Slot {
    entry: Arc<Entry>,
    charged: u64,
}

struct Entries {
    lru: LruCache<Document, Slot>,
    bytes: u64,
}

/// Rendered feeds by document, within a byte budget, dropped whenever the archive changes.
pub struct FeedCache {
    budget: u64,
    entries: Mutex<Entries>,
    /// Renders and compressions under way at once: each holds a document's worth of memory
    /// beyond the budget while it works, so a burst of distinct misses waits its turn.
    workers: Semaphore,
    renders: AtomicU64,
    compressions: AtomicU64,
}

impl FeedCache {
    /// An empty cache holding at most `budget` bytes (bodies, compressed forms and overhead).
    pub fn new(budget: u64) -> FeedCache {
        FeedCache {
            budget,
            entries: Mutex::new(Entries {
                lru: LruCache::unbounded(),
                bytes: 0,
            }),
            workers: Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
            ),
            renders: AtomicU64::new(0),
            compressions: AtomicU64::new(0),
        }
    }

    /// Forgets every rendered document (after a crawl run).
    pub fn clear(&self) {
        let mut entries = self.lock();
        entries.lru.clear();
        entries.bytes = 0;
    }

    /// Documents held.
    pub fn len(&self) -> usize {
        self.lock().lru.len()
    }

    /// True when no document is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held, as counted against the budget.
    pub fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// The byte budget.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Documents rendered since start.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    /// Compressed forms made since start.
    pub fn compressions(&self) -> u64 {
        self.compressions.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry of `key`, rendered by `render` on a blocking thread if it is not cached. A failed
    /// render leaves nothing behind.
    pub async fn document<F>(&self, key: &Document, render: F) -> Result<Cached, ApiError>
    where
        F: FnOnce() -> Result<Rendered, ApiError> + Send + 'static,
    {
        let entry = self.entry(key);
        let rendered = entry
            .rendered
            .get_or_try_init(|| async {
                let _turn = self.workers.acquire().await;
                let rendered = tokio::task::spawn_blocking(render).await??;
                self.renders.fetch_add(1, Ordering::Relaxed);
                Ok::<_, ApiError>(Arc::new(rendered))
            })
            .await;
        match rendered {
            Ok(rendered) => {
                let rendered = rendered.clone();
                self.charge(key, &entry);
                Ok(Cached { rendered, entry })
            }
            Err(err) => {
                self.forget(key, &entry);
                Err(err)
            }
        }
    }

    /// The body of a rendered entry in `encoding`, compressed on a blocking thread the first time.
    pub async fn encoded(
        &self,
        key: &Document,
        cached: &Cached,
        encoding: Encoding,
    ) -> Result<Bytes, ApiError> {
        let (entry, body) = (&cached.entry, cached.rendered.body.clone());
        let cell = match encoding {
            Encoding::Identity => return Ok(body),
            Encoding::Gzip => &entry.gzip,
            Encoding::Brotli => &entry.brotli,
        };
        let encoded = cell
            .get_or_try_init(|| async move {
                let _turn = self.workers.acquire().await;
                let encoded =
                    tokio::task::spawn_blocking(move || exact(encoding.compress(&body))).await?;
                self.compressions.fetch_add(1, Ordering::Relaxed);
                Ok::<_, ApiError>(encoded)
            })
            .await?
            .clone();
        self.charge(key, entry);
        Ok(encoded)
    }

    /// The entry of `key`, made (empty) if absent, as the most recently used.
    fn entry(&self, key: &Document) -> Arc<Entry> {
        let mut entries = self.lock();
        if let Some(slot) = entries.lru.get(key) {
            return slot.entry.clone();
        }
        let entry = Arc::new(Entry::default());
        let charged = ENTRY_OVERHEAD + key.key_bytes();
        entries.lru.put(
            key.clone(),
            Slot {
                entry: entry.clone(),
                charged,
            },
        );
        entries.bytes += charged;
        self.evict(&mut entries);
        entry
    }

    /// Counts what `entry` holds now, if it is still the cached entry of `key`, and evicts the
    /// least recently used entries beyond the budget.
    fn charge(&self, key: &Document, entry: &Arc<Entry>) {
        let mut entries = self.lock();
        let Some(slot) = entries.lru.peek_mut(key) else {
            return;
        };
        if !Arc::ptr_eq(&slot.entry, entry) {
            return;
        }
        let now = ENTRY_OVERHEAD + key.key_bytes() + entry.bytes();
        let before = std::mem::replace(&mut slot.charged, now);
        entries.bytes = entries.bytes - before + now;
        self.evict(&mut entries);
    }

    fn forget(&self, key: &Document, entry: &Arc<Entry>) {
        let mut entries = self.lock();
        if entries
            .lru
            .peek(key)
            .is_some_and(|slot| Arc::ptr_eq(&slot.entry, entry))
            && let Some(slot) = entries.lru.pop(key)
        {
            entries.bytes -= slot.charged;
        }
    }

    fn evict(&self, entries: &mut Entries) {
        while entries.bytes > self.budget {
            match entries.lru.pop_lru() {
                Some((_, slot)) => entries.bytes -= slot.charged,
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(size: usize) -> Rendered {
        Rendered::new(
            vec![b'x'; size],
            DateTime::<Utc>::UNIX_EPOCH.fixed_offset(),
            "text/plain",
            String::new(),
            Format::Rss.extension(),
        )
    }

    fn key(limit: usize) -> Document {
        Document::Source {
            source: "s".into(),
            format: Format::Rss,
            limit,
            before: None,
        }
    }

    #[tokio::test]
    async fn the_least_recently_used_go_first_and_the_budget_holds() {
        let cache = FeedCache::new(3 * (1000 + ENTRY_OVERHEAD + 1));
        for limit in 1..=3 {
            cache
                .document(&key(limit), || Ok(rendered(1000)))
                .await
                .unwrap();
        }
        assert_eq!(cache.len(), 3);
        // 1 is used again, so 2 is the least recently used when 4 arrives.
        cache
            .document(&key(1), || Ok(rendered(1000)))
            .await
            .unwrap();
        cache
            .document(&key(4), || Ok(rendered(1000)))
            .await
            .unwrap();
        assert_eq!(cache.len(), 3);
        assert!(cache.bytes() <= cache.budget());
        assert_eq!(cache.renders(), 4);
        cache
            .document(&key(2), || Ok(rendered(1000)))
            .await
            .unwrap();
        assert_eq!(cache.renders(), 5, "2 was evicted and rendered again");
        cache
            .document(&key(1), || Ok(rendered(1000)))
            .await
            .unwrap();
        assert_eq!(cache.renders(), 5, "1 stayed");
    }

    #[tokio::test]
    async fn failed_renders_leave_nothing() {
        let cache = FeedCache::new(1 << 20);
        let err = cache
            .document(&key(1), || Err(ApiError::NotFound("x".into())))
            .await;
        assert!(err.is_err());
        assert!(cache.is_empty());
        assert_eq!(cache.bytes(), 0);
    }

    #[tokio::test]
    async fn compressed_forms_are_counted() {
        let cache = FeedCache::new(1 << 20);
        let cached = cache
            .document(&key(1), || Ok(rendered(10_000)))
            .await
            .unwrap();
        let before = cache.bytes();
        let gzip = cache
            .encoded(&key(1), &cached, Encoding::Gzip)
            .await
            .unwrap();
        assert_eq!(cache.bytes(), before + gzip.len() as u64);
        cache.clear();
        assert_eq!((cache.len(), cache.bytes()), (0, 0));
    }
}
