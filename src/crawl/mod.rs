//! Crawl runs: list pages to new articles (incremental or backfill), then a recheck of recent
//! articles; fetch -> extract -> normalize -> archive. A failure is recorded and the run goes on.

mod assets;
mod error;
pub mod health;
mod isolation;
mod pending;
pub mod reparse;

pub use assets::MAX_ASSETS_PER_ARTICLE;
pub use error::{CrawlError, RunStopped};
pub use pending::count as pending_assets;

use crate::describe;

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use futures_util::{FutureExt, StreamExt};
use url::Url;

use crate::archive::{ArchiveError, Handle, Ingest, Profile, Query, Stored, url_key};
use crate::config::{CrawlerConfig, Section, Source};
use crate::extract::ExtractError;
use crate::fetch::{Fetcher, Response};
use crate::model::{
    Article, ArticleId, Capture, ListCount, ListItem, ListPage, Page, RunReport, Validators,
};
use crate::normalize::date::Published;

/// How a run walks the lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct CrawlOptions {
    /// Follow `next_page` to the end (resuming an interrupted backfill) instead of stopping at
    /// the first page of known articles.
    pub backfill: bool,
    /// List pages per section in this run; the profile's `max_pages` when absent.
    pub max_pages: Option<u32>,
}

/// What a run is doing, as it goes, for whoever shows progress.
#[derive(Debug, Clone, Copy)]
pub enum CrawlEvent<'a> {
    /// A list page of `section` is being read.
    ListPage { section: &'a str, url: &'a Url },
    /// `articles` recently archived ones are to be read again.
    Rechecking { articles: usize },
    /// One listed article has been handled (stored, unchanged or failed).
    Article { url: &'a str },
}

/// Told of each [`CrawlEvent`] of a run.
pub type OnEvent<'a> = &'a (dyn Fn(CrawlEvent<'_>) + Send + Sync);

/// An [`OnEvent`] that shows nothing: the scheduler's and the tests'.
pub fn quiet(_: CrawlEvent<'_>) {}

/// One article to fetch: where it was listed and what the list said of it.
struct Candidate {
    url: String,
    section: String,
    listed_published: Option<Published>,
    known: Option<ArticleId>,
    /// Archived and marked gone: fetched without validators, to see whether it answers again.
    gone: bool,
}

/// What fetching one article came to, before it is stored.
enum Fetched {
    Article {
        article: Box<Article>,
        capture: Capture,
        validators: Validators,
        /// The page nested too deep or held too many elements; its text was kept.
        flattened: bool,
        /// What the page itself gave, for selector health.
        found: crate::Found,
        /// The body came from the readability fallback.
        readability: bool,
    },
    NotModified,
    Gone,
    Failed(String),
    /// Extraction refused the page: the `field` selector (`article.body`, say) found nothing.
    Unmatched {
        error: String,
        field: &'static str,
    },
}

/// A crawl of one source.
pub struct Crawl<'a> {
    fetcher: &'a Fetcher,
    archive: &'a Handle,
    source: Arc<Source>,
    settings: &'a CrawlerConfig,
    options: CrawlOptions,
    on_event: OnEvent<'a>,
    report: RunReport,
    /// The article URLs handled in this run, as `by_url` digests: a backfill handles every
    /// article of the portal, and 16 bytes each keep that small.
    handled: HashSet<[u8; 16]>,
    /// Written beside each revision: which profile produced it.
    profile: Profile,
    /// The run's asset budget and the asset URLs it has dealt with.
    assets: assets::RunAssets,
}

fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

/// Crawls every section of `source` once and records the run in the archive. An archive
/// failure stops the run; it is recorded in the report's errors.
pub async fn crawl_source(
    fetcher: &Fetcher,
    archive: &Handle,
    source: &Source,
    settings: &CrawlerConfig,
    options: CrawlOptions,
    on_event: OnEvent<'_>,
) -> RunReport {
    match run_source(fetcher, archive, source, settings, options, on_event).await {
        Ok(report) => report,
        Err(stopped) => stopped.report,
    }
}

/// [`crawl_source`], telling a run an archive failure stopped (a full disk, say) from one that
/// went through: then the report counts only what is on disk.
pub async fn run_source(
    fetcher: &Fetcher,
    archive: &Handle,
    source: &Source,
    settings: &CrawlerConfig,
    options: CrawlOptions,
    on_event: OnEvent<'_>,
) -> Result<RunReport, RunStopped> {
    let report = RunReport {
        source: source.id.to_string(),
        started: Some(now()),
        backfill: options.backfill,
        ..RunReport::default()
    };
    let mut crawl = Crawl {
        fetcher,
        archive,
        source: Arc::new(source.clone()),
        settings,
        options,
        on_event,
        report,
        handled: HashSet::new(),
        profile: profile(source),
        assets: assets::RunAssets::new(settings.max_assets_per_run),
    };
    let mut complete = true;
    // What earlier runs left goes first: a backlog is fetched oldest first, none starves.
    let mut stopped = crawl.carried_assets().await.err();
    let sections = match stopped {
        None => &source.sections[..],
        Some(_) => &[],
    };
    for section in sections {
        match crawl.section(section).await {
            Ok(()) => {}
            Err(CrawlError::Archive(error)) => {
                stopped = Some(error);
                break;
            }
            Err(error) => {
                crawl
                    .report
                    .errors
                    .push(format!("section {}: {}", section.id, describe(&error)));
                complete = false;
            }
        }
    }
    if stopped.is_none()
        && let Err(error) = crawl.recheck().await
    {
        stopped = Some(error);
    }
    let mut report = crawl.report;
    let id = source.id.to_string();
    // A figure of the report only: the queue itself is what the next run reads.
    report.assets_deferred = archive
        .run(move |archive| pending::count(archive, &id))
        .await
        .unwrap_or_default();
    report.complete = complete && stopped.is_none();
    report.finished = Some(now());
    // Without the earlier runs the fill shares have nothing to be compared with; the run goes on.
    let id = source.id.to_string();
    let earlier = archive
        .run(move |archive| archive.runs(&id, health::HEALTH_SCAN))
        .await
        .unwrap_or_default();
    let verdict = health::assess(source, &report, &earlier);
    health::warn(source.id.as_str(), &verdict);
    report.health = Some(verdict);
    crate::metrics::METRICS.run(&report);
    if let Some(error) = stopped {
        report.errors.push(format!("archive: {}", describe(&error)));
        // Recorded if the archive still takes writes; a full disk may refuse this too.
        let run = report.clone();
        let _ = archive.run(move |archive| archive.record_run(&run)).await;
        return Err(RunStopped { report, error });
    }
    let run = report.clone();
    let recorded = archive
        .run(move |archive| archive.record_run(&run).and_then(|_| archive.flush()))
        .await;
    if let Err(error) = recorded {
        report.errors.push(format!("archive: {}", describe(&error)));
        report.complete = false;
    }
    Ok(report)
}

/// The source's id and a digest of its parsed settings (lists, article selectors, dates).
pub fn profile(source: &Source) -> Profile {
    use sha2::Digest;
    let settings = format!("{source:?}");
    Profile {
        name: source.id.to_string(),
        digest: format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(settings.as_bytes()))
        ),
    }
}

/// The state key of a section's backfill cursor.
pub fn backfill_key(source: &str, section: &str) -> String {
    format!("backfill:{source}:{section}")
}

impl Crawl<'_> {
    async fn section(&mut self, section: &Section) -> Result<(), CrawlError> {
        let cursor_key = backfill_key(self.source.id.as_str(), section.id.as_str());
        let first = self.source.list_url(section);
        let mut page_url = first.clone();
        if self.options.backfill
            && let Some(cursor) = {
                let key = cursor_key.clone();
                self.archive.run(move |archive| archive.state(&key)).await?
            }
        {
            page_url = Url::parse(&cursor).unwrap_or_else(|_| first.clone());
            tracing::info!(section = %section.id, %page_url, "resuming backfill");
        }
        let max_pages = self.options.max_pages.unwrap_or(self.source.list.max_pages);
        let mut visited = HashSet::new();
        for _ in 0..max_pages {
            if !visited.insert(page_url.clone()) {
                break;
            }
            (self.on_event)(CrawlEvent::ListPage {
                section: section.id.as_str(),
                url: &page_url,
            });
            // An incremental run asks for the first page conditionally: unchanged means nothing new.
            let conditional = !self.options.backfill && page_url == first;
            let read = self.list_page(&page_url, conditional).await;
            if let Err(CrawlError::Extract {
                source: ExtractError::NoMatch { .. } | ExtractError::NoLinks { .. },
                ..
            }) = &read
            {
                // A list page the profile finds no item in: selector health's alarm.
                self.report.list_items.push(ListCount {
                    url: page_url.to_string(),
                    items: 0,
                });
            }
            let Some((list, validators)) = read? else {
                break;
            };
            self.report.list_items.push(ListCount {
                url: page_url.to_string(),
                items: list.items.len() as u64,
            });
            let mut candidates = Vec::new();
            let mut found_new = false;
            let urls: Vec<String> = list.items.iter().map(|item| item.url.clone()).collect();
            let known = self
                .archive
                .run(move |archive| known_of(archive, &urls))
                .await?;
            for (item, (known, gone)) in list.items.into_iter().zip(known) {
                // Archived before (unless gone: listed again, it may answer again), or already
                // fetched in this run (a repeated listing).
                if (known.is_some() && !gone) || !self.handled.insert(url_key(&item.url)) {
                    continue;
                }
                found_new |= known.is_none();
                candidates.push(Candidate {
                    gone,
                    ..candidate(item, section, known)
                });
            }
            let failed_before = self.report.failed;
            self.process(candidates).await?;
            if self.report.failed == failed_before {
                // Validators mean "fully processed": a page with failures is read again next time.
                let url = page_url.to_string();
                self.archive
                    .run(move |archive| archive.set_validators(&url, &validators))
                    .await?;
            }
            let next = list.next_page.and_then(|n| Url::parse(&n).ok());
            if self.options.backfill {
                let (key, cursor) = (cursor_key.clone(), next.as_ref().map(Url::to_string));
                self.archive
                    .run(move |archive| archive.set_state(&key, cursor.as_deref()))
                    .await?;
            } else if !found_new {
                break;
            }
            match next {
                Some(next) => page_url = next,
                None => break,
            }
        }
        Ok(())
    }

    /// Fetches and reads a list page; `None` when a conditional request says it is unchanged.
    async fn list_page(
        &mut self,
        url: &Url,
        conditional: bool,
    ) -> Result<Option<(ListPage, Validators)>, CrawlError> {
        let validators = match conditional {
            true => {
                let url = url.to_string();
                self.archive
                    .run(move |archive| archive.validators(&url))
                    .await?
            }
            false => None,
        };
        let response = self
            .fetcher
            .get(url, &self.source.hosts(), validators.as_ref())
            .await
            .map_err(|source| CrawlError::Fetch {
                url: url.to_string(),
                source,
            })?;
        self.report.pages_fetched += 1;
        let (capture, validators) = match response {
            Response::Page {
                capture,
                validators,
            } => (capture, validators),
            Response::Gone { status } => {
                return Err(CrawlError::Gone {
                    url: url.to_string(),
                    status,
                });
            }
            Response::NotModified if conditional => return Ok(None),
            Response::NotModified => {
                return Err(CrawlError::NotModified {
                    url: url.to_string(),
                });
            }
        };
        let source = self.source.clone();
        let (list, _) = read_capture(capture, move |page| {
            crate::read_list(page, &source).map_err(|source| CrawlError::Extract {
                url: page.url.to_string(),
                source,
            })
        })
        .await?;
        Ok(Some((list, validators)))
    }

    /// Re-fetches, conditionally, the articles published within `recheck_days`, to catch edits
    /// and removals (and a gone article answering again, fetched whole).
    async fn recheck(&mut self) -> Result<(), ArchiveError> {
        if self.settings.recheck_days == 0 {
            return Ok(());
        }
        let since = now() - chrono::Duration::days(i64::from(self.settings.recheck_days));
        let query = Query {
            source: Some(self.source.id.to_string()),
            since: Some(since),
            ..Query::default()
        };
        let recent = self
            .archive
            .run(move |archive| archive.articles(&query))
            .await?;
        let mut candidates = Vec::new();
        for archived in recent {
            let article = archived.article;
            // A gone article is fetched too: it may answer again.
            if !self.handled.insert(url_key(&article.url)) {
                continue;
            }
            let Some(section) = self.source.section(&article.section) else {
                continue;
            };
            let item = ListItem {
                url: article.url.clone(),
                title: article.title.clone(),
                published: article.published,
                published_inferred: article.published_inferred,
                summary: None,
            };
            candidates.push(Candidate {
                gone: archived.gone_at.is_some(),
                ..candidate(item, section, Some(article.id.clone()))
            });
        }
        (self.on_event)(CrawlEvent::Rechecking {
            articles: candidates.len(),
        });
        self.process(candidates).await
    }

    /// Fetches candidates concurrently (the fetcher keeps each host's limits), stores in order.
    async fn process(&mut self, candidates: Vec<Candidate>) -> Result<(), ArchiveError> {
        let concurrency = self.settings.max_concurrency_per_host.max(1);
        let (fetcher, archive, source) = (self.fetcher, self.archive, &self.source);
        let mut fetches = futures_util::stream::iter(candidates)
            .map(|c| async move {
                let fetched = AssertUnwindSafe(fetch_article(fetcher, archive, source, &c))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|panic| {
                        Fetched::Failed(isolation::panicked(&c.url, &*panic).to_string())
                    });
                (c, fetched)
            })
            .buffered(concurrency);
        // What the stored articles link, captured once they all are (fetching assets meanwhile
        // would leave the article fetches in flight unread).
        let mut linked_assets = Vec::new();
        // Articles read from their pages, stored together once the fetches end: one group, one
        // sync, and a smaller index than a group per article. Nothing is counted before it is
        // stored.
        let mut reads: Vec<Read> = Vec::new();
        while let Some((candidate, fetched)) = fetches.next().await {
            (self.on_event)(CrawlEvent::Article {
                url: &candidate.url,
            });
            let url = candidate.url.clone();
            let report = &mut self.report;
            let made_by = (&self.profile, self.settings.user_agent.as_str());
            let capture_kinds = &self.settings.capture;
            let outcome = isolation::run_page(&url, || {
                Ok(record(made_by, report, candidate, fetched, capture_kinds))
            });
            match outcome {
                Ok(Recorded::Read(read)) => reads.push(*read),
                Ok(Recorded::Gone(id)) => {
                    let newly = archive
                        .run(move |archive| archive.mark_gone(&id, now()))
                        .await?;
                    // Gone before, gone still: as archived.
                    match newly {
                        true => self.report.gone += 1,
                        false => self.report.unchanged += 1,
                    }
                }
                Ok(Recorded::Counted) => {}
                Err(panic) => {
                    self.report.failed += 1;
                    self.report.errors.push(panic.to_string());
                }
            }
        }
        drop(fetches);
        self.store(reads, &mut linked_assets).await?;
        // In the same run as their articles, as far as the budget goes; the rest wait.
        let plan = self.plan_assets(linked_assets).await?;
        self.capture_assets(plan.now).await?;
        if !plan.later.is_empty() {
            let source = self.source.id.to_string();
            self.archive
                .run(move |archive| pending::push(archive, &source, &plan.later))
                .await?;
        }
        Ok(())
    }

    /// Fetches, within the run's budget, the assets earlier runs left, oldest first; what the
    /// budget does not reach stays where it was in the queue.
    async fn carried_assets(&mut self) -> Result<(), ArchiveError> {
        while !self.assets.spent() {
            let source = self.source.id.to_string();
            let oldest = self
                .archive
                .run(move |archive| pending::oldest(archive, &source))
                .await?;
            let Some((n, urls)) = oldest else {
                break;
            };
            let taken = urls.len();
            let plan = self.plan_assets(urls).await?;
            self.capture_assets(plan.now).await?;
            let source = self.source.id.to_string();
            self.archive
                .run(move |archive| pending::settle(archive, &source, (n, taken), &plan.later))
                .await?;
        }
        Ok(())
    }

    async fn plan_assets(&mut self, urls: Vec<String>) -> Result<assets::Plan, ArchiveError> {
        let recheck_days = self.settings.recheck_days;
        self.assets
            .plan(self.archive, recheck_days, urls, &mut self.report)
            .await
    }

    async fn capture_assets(&mut self, urls: Vec<String>) -> Result<(), ArchiveError> {
        if urls.is_empty() {
            return Ok(());
        }
        let hosts = self.source.hosts();
        assets::capture(
            self.fetcher,
            self.archive,
            &hosts,
            self.settings,
            urls,
            &mut self.report,
        )
        .await
    }

    /// Stores the articles read, in list order, and counts what each came to.
    async fn store(
        &mut self,
        reads: Vec<Read>,
        linked_assets: &mut Vec<String>,
    ) -> Result<(), ArchiveError> {
        if reads.is_empty() {
            return Ok(());
        }
        let (ingests, reads): (Vec<Ingest>, Vec<Counted>) = reads
            .into_iter()
            .map(|read| (read.ingest, read.counted))
            .unzip();
        let first = reads[0].url.clone();
        let stored = match self
            .archive
            .run(move |archive| archive.store_many(ingests))
            .await
        {
            Ok(stored) => stored,
            Err(ArchiveError::Task(task)) if task.is_panic() => {
                let panic = isolation::panicked(&first, &*task.into_panic());
                self.report.failed += reads.len() as u64;
                self.report.errors.push(panic.to_string());
                return Ok(());
            }
            Err(error) => return Err(error),
        };
        for (read, stored) in reads.into_iter().zip(stored) {
            match stored {
                Stored::New => self.report.new += 1,
                Stored::Revised(_) => self.report.revised += 1,
                Stored::Unchanged => self.report.unchanged += 1,
            }
            if read.flattened {
                self.report.flattened.push(read.url.clone());
            }
            if read.readability {
                self.report.readability.push(read.url.clone());
            }
            if !matches!(stored, Stored::Unchanged) {
                assets::queue(linked_assets, read.linked, &read.url, &mut self.report);
            }
        }
        Ok(())
    }
}

/// An article read from its page, to be stored with the others of its list page.
struct Read {
    ingest: Ingest,
    counted: Counted,
}

/// What the run report notes of an article once it is stored.
struct Counted {
    url: String,
    flattened: bool,
    readability: bool,
    /// The attachments and images it links, captured if it is new or revised.
    linked: Vec<String>,
}

/// What fetching one article leaves for the archive.
enum Recorded {
    /// Read from its page: to be stored (and counted then).
    Read(Box<Read>),
    /// Archived before, and now answering 404/410: to be marked gone (and counted then).
    Gone(ArticleId),
    /// Counted already: nothing to store.
    Counted,
}

/// Counts what fetching one article came to, and says what is left for the archive.
fn record(
    (profile, user_agent): (&Profile, &str),
    report: &mut RunReport,
    candidate: Candidate,
    fetched: Fetched,
    capture_kinds: &[crate::config::CaptureKind],
) -> Recorded {
    let counted = !matches!(&fetched, Fetched::Failed(_) | Fetched::Unmatched { .. });
    report.pages_fetched += u64::from(counted);
    match fetched {
        Fetched::Article {
            article,
            capture,
            validators,
            flattened,
            found,
            readability,
        } => {
            health::count(report, &article, found);
            let linked = assets::wanted(&article, capture_kinds);
            let ingest = Ingest {
                article: *article,
                capture,
                fetched_at: now(),
                profile: Some(profile.clone()),
                user_agent: user_agent.to_string(),
                validators: Some((candidate.url.clone(), validators)),
            };
            return Recorded::Read(Box::new(Read {
                ingest,
                counted: Counted {
                    url: candidate.url,
                    flattened,
                    readability,
                    linked,
                },
            }));
        }
        Fetched::NotModified => report.unchanged += 1,
        Fetched::Gone => match candidate.known {
            Some(id) => return Recorded::Gone(id),
            None => {
                report.failed += 1;
                report.errors.push(format!(
                    "{}: listed, but the page answers 404/410",
                    candidate.url
                ));
            }
        },
        Fetched::Failed(error) => {
            report.failed += 1;
            report.errors.push(error);
        }
        Fetched::Unmatched { error, field } => {
            health::count_unmatched(report, field);
            report.failed += 1;
            report.errors.push(error);
        }
    }
    Recorded::Counted
}

/// Fetches and extracts one article; nothing is stored here.
async fn fetch_article(
    fetcher: &Fetcher,
    archive: &Handle,
    source: &Arc<Source>,
    candidate: &Candidate,
) -> Fetched {
    let Ok(url) = Url::parse(&candidate.url) else {
        return Fetched::Failed(
            CrawlError::NotUrl {
                url: candidate.url.clone(),
            }
            .to_string(),
        );
    };
    let validators = match &candidate.known {
        Some(_) if !candidate.gone => {
            let url = candidate.url.clone();
            archive
                .run(move |archive| archive.validators(&url))
                .await
                .ok()
                .flatten()
        }
        _ => None,
    };
    let response = match fetcher
        .get(&url, &source.hosts(), validators.as_ref())
        .await
    {
        Ok(response) => response,
        Err(error) => return Fetched::Failed(error.to_string()),
    };
    let (capture, validators) = match response {
        Response::Page {
            capture,
            validators,
        } => (capture, validators),
        Response::NotModified => return Fetched::NotModified,
        Response::Gone { .. } => return Fetched::Gone,
    };
    let source = source.clone();
    let section = candidate.section.clone();
    // When the page shows no time, the list page's is the article's.
    let listed = candidate.listed_published;
    let extracted = read_capture(capture, move |page| {
        crate::read_article_noted(page, &source, &section, listed).map_err(|source| {
            CrawlError::Extract {
                url: page.url.to_string(),
                source,
            }
        })
    })
    .await;
    match extracted {
        Ok((read, capture)) => Fetched::Article {
            article: Box::new(read.article),
            capture,
            validators,
            flattened: read.flattened,
            found: read.found,
            readability: read.readability,
        },
        Err(error) => match &error {
            CrawlError::Extract {
                source: ExtractError::NoMatch { field, .. } | ExtractError::Empty { field, .. },
                ..
            } => Fetched::Unmatched {
                error: describe(&error),
                field,
            },
            _ => Fetched::Failed(describe(&error)),
        },
    }
}

/// Reads a captured page off the async threads (scraper's `Html` is not `Send`); gives the
/// capture back with the result. A panic while reading is the page's failure.
async fn read_capture<T: Send + 'static>(
    capture: Capture,
    read: impl FnOnce(&Page<'_>) -> Result<T, CrawlError> + Send + 'static,
) -> Result<(T, Capture), CrawlError> {
    let url = capture.url.clone();
    tokio::task::spawn_blocking(move || {
        let url = Url::parse(&capture.url).map_err(|_| CrawlError::NotUrl {
            url: capture.url.clone(),
        })?;
        let page = Page {
            url: &url,
            content_type: capture.content_type(),
            bytes: &capture.body,
        };
        let value = isolation::run_page(&capture.url, || read(&page))?;
        Ok((value, capture))
    })
    .await
    .map_err(|error| match error.try_into_panic() {
        Ok(panic) => isolation::panicked(&url, &*panic),
        Err(error) => CrawlError::Stopped {
            url: url.clone(),
            detail: error.to_string(),
        },
    })?
}

/// Each listed URL's article, if archived, and whether it is marked gone: one trip to the
/// archive for a list page.
fn known_of(
    archive: &dyn crate::archive::Archive,
    urls: &[String],
) -> Result<Vec<(Option<ArticleId>, bool)>, ArchiveError> {
    urls.iter()
        .map(|url| {
            let known = archive.id_for_url(url)?;
            let gone = match &known {
                Some(id) => archive.gone_at(id)?.is_some(),
                None => false,
            };
            Ok((known, gone))
        })
        .collect()
}

fn candidate(item: ListItem, section: &Section, known: Option<ArticleId>) -> Candidate {
    Candidate {
        url: item.url,
        section: section.id.to_string(),
        listed_published: item.published.map(|at| Published {
            at,
            inferred: item.published_inferred,
        }),
        known,
        gone: false,
    }
}
