//! Capturing what a stored article links: its attachments, and its images when configured
//! (`crawler.capture`). Each asset goes through the same [`Fetcher`] as pages (allowed hosts,
//! robots.txt, per-host politeness, retries) with its own body limit, `max_asset_bytes`.
//!
//! A run requests each asset URL once at most (a file a portal links from several articles is
//! fetched once). An asset URL captured before is skipped when that capture is within
//! `recheck_days`, else fetched conditionally with its stored validators; a 304 writes nothing.
//! What fails or is skipped is counted and noted in the run report; it never fails the article.
//!
//! A run makes `max_assets_per_run` asset requests at most, whatever they answer: the budget
//! bounds what a run costs the portal, so a 304 spends it and a skip within `recheck_days`
//! (no request) does not. The assets past it wait in the archive ([`super::pending`]).

use std::collections::HashSet;

use chrono::{DateTime, FixedOffset, Utc};
use futures_util::StreamExt;
use url::Url;

use crate::archive::{ArchiveError, AssetIngest, Handle, url_key};
use crate::config::{AllowedHosts, CaptureKind, CrawlerConfig};
use crate::describe;
use crate::fetch::{BodyLimit, FetchError, Fetcher, Response};
use crate::model::{Article, RunReport};

/// Assets captured per article at most; a page linking more is noted.
pub const MAX_ASSETS_PER_ARTICLE: usize = 64;

/// What became of one asset.
enum Outcome {
    Captured,
    Unchanged,
    Skipped(String),
    Failed(String),
}

/// The URLs of `article` that `capture` asks for, attachments first, each once.
pub(super) fn wanted(article: &Article, capture: &[CaptureKind]) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    let attachments = article.attachments.iter().map(|a| &a.url);
    let images = article.images.iter().map(|i| &i.url);
    let chosen = attachments
        .filter(|_| capture.contains(&CaptureKind::Attachments))
        .chain(images.filter(|_| capture.contains(&CaptureKind::Images)));
    for url in chosen {
        if !urls.contains(url) {
            urls.push(url.clone());
        }
    }
    urls
}

/// Adds the assets a stored article links to those to capture, each URL once; past
/// [`MAX_ASSETS_PER_ARTICLE`] they are noted and left.
pub(super) fn queue(
    queued: &mut Vec<String>,
    mut linked: Vec<String>,
    article: &str,
    report: &mut RunReport,
) {
    if linked.len() > MAX_ASSETS_PER_ARTICLE {
        for url in linked.drain(MAX_ASSETS_PER_ARTICLE..) {
            report.assets_skipped += 1;
            report.asset_errors.push(format!(
                "{url}: {article} links more than {MAX_ASSETS_PER_ARTICLE} assets; not fetched"
            ));
        }
    }
    for url in linked {
        if !queued.contains(&url) {
            queued.push(url);
        }
    }
}

/// The assets of one run: how many requests its budget still allows, and every URL it has dealt
/// with (as `url_key` digests, like the articles a run handles).
pub(super) struct RunAssets {
    left: usize,
    seen: HashSet<[u8; 16]>,
}

/// What a run does with the assets it is given: request them now, or leave them for later.
pub(super) struct Plan {
    pub now: Vec<String>,
    pub later: Vec<String>,
}

impl RunAssets {
    pub fn new(budget: usize) -> RunAssets {
        RunAssets {
            left: budget,
            seen: HashSet::new(),
        }
    }

    /// True once the budget is spent.
    pub fn spent(&self) -> bool {
        self.left == 0
    }

    /// Splits `urls` into those to request now, within the budget, and those past it. A URL this
    /// run has dealt with is dropped; one captured within `recheck_days` is counted unchanged and
    /// costs nothing.
    pub async fn plan(
        &mut self,
        archive: &Handle,
        recheck_days: u32,
        urls: Vec<String>,
        report: &mut RunReport,
    ) -> Result<Plan, ArchiveError> {
        let fresh: Vec<String> = urls
            .into_iter()
            .filter(|url| self.seen.insert(url_key(url)))
            .collect();
        let known = archive
            .run(move |archive| {
                fresh
                    .into_iter()
                    .map(|url| {
                        let captured = archive.asset(&url)?.map(|info| info.captured_at);
                        Ok((url, captured))
                    })
                    .collect::<Result<Vec<_>, ArchiveError>>()
            })
            .await?;
        let mut plan = Plan {
            now: Vec::new(),
            later: Vec::new(),
        };
        for (url, captured) in known {
            if captured.is_some_and(|at| recent(at, recheck_days)) {
                report.assets_unchanged += 1;
            } else if self.left > 0 {
                self.left -= 1;
                plan.now.push(url);
            } else {
                plan.later.push(url);
            }
        }
        Ok(plan)
    }
}

/// Fetches and stores assets, counting each in `report`. Only an archive failure is an error:
/// it stops the run like any other.
pub(super) async fn capture(
    fetcher: &Fetcher,
    archive: &Handle,
    hosts: &AllowedHosts,
    settings: &CrawlerConfig,
    urls: Vec<String>,
    report: &mut RunReport,
) -> Result<(), ArchiveError> {
    let concurrency = settings.max_concurrency_per_host.max(1);
    let mut outcomes = futures_util::stream::iter(urls)
        .map(|url| async move {
            let outcome = capture_one(fetcher, archive, hosts, settings, &url).await;
            (url, outcome)
        })
        .buffered(concurrency);
    let mut stopped = None;
    while let Some((url, outcome)) = outcomes.next().await {
        match outcome {
            Ok(Outcome::Captured) => report.assets_captured += 1,
            Ok(Outcome::Unchanged) => report.assets_unchanged += 1,
            Ok(Outcome::Skipped(why)) => {
                report.assets_skipped += 1;
                report.asset_errors.push(why);
            }
            Ok(Outcome::Failed(why)) => {
                report.assets_failed += 1;
                report.asset_errors.push(why);
            }
            Err(error) => {
                report.assets_failed += 1;
                report
                    .asset_errors
                    .push(format!("{url}: archive: {}", describe(&error)));
                stopped.get_or_insert(error);
            }
        }
    }
    match stopped {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

async fn capture_one(
    fetcher: &Fetcher,
    archive: &Handle,
    hosts: &AllowedHosts,
    settings: &CrawlerConfig,
    url: &str,
) -> Result<Outcome, ArchiveError> {
    let Ok(parsed) = Url::parse(url) else {
        return Ok(Outcome::Skipped(format!("{url}: not a URL; not fetched")));
    };
    let validators = {
        let url = url.to_string();
        archive
            .run(move |archive| archive.asset_validators(&url))
            .await?
    };
    let limit = BodyLimit {
        bytes: settings.max_asset_bytes,
        setting: "max_asset_bytes",
    };
    let response = fetcher
        .get_within(&parsed, hosts, validators.as_ref(), limit)
        .await;
    let (capture, validators) = match response {
        Ok(Response::Page {
            capture,
            validators,
        }) => (capture, validators),
        Ok(Response::NotModified) => return Ok(Outcome::Unchanged),
        Ok(Response::Gone { status }) => {
            return Ok(Outcome::Failed(format!("{url}: HTTP {status}")));
        }
        Err(
            error @ (FetchError::OffHost { .. }
            | FetchError::Scheme { .. }
            | FetchError::Robots { .. }
            | FetchError::TooLarge { .. }),
        ) => return Ok(Outcome::Skipped(error.to_string())),
        Err(error) => return Ok(Outcome::Failed(error.to_string())),
    };
    let asset = AssetIngest {
        url: url.to_string(),
        capture,
        fetched_at: Utc::now().fixed_offset(),
        user_agent: settings.user_agent.clone(),
        validators,
    };
    archive
        .run(move |archive| archive.store_asset(asset))
        .await?;
    Ok(Outcome::Captured)
}

/// True when `captured_at` is within the last `days` days (never, for 0).
fn recent(captured_at: DateTime<FixedOffset>, days: u32) -> bool {
    days > 0 && Utc::now().fixed_offset() - captured_at < chrono::Duration::days(i64::from(days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArticleId, Attachment, Image};

    #[test]
    fn only_the_configured_kinds_are_wanted_each_once() {
        let article = Article {
            id: ArticleId("s:1".into()),
            source: "s".into(),
            section: "x".into(),
            url: "http://h/a".into(),
            title: String::new(),
            published: None,
            published_inferred: false,
            category: None,
            credit: None,
            summary: String::new(),
            body_html: String::new(),
            body_text: String::new(),
            images: vec![Image {
                url: "http://h/i.jpg".into(),
                caption: None,
            }],
            attachments: ["http://h/a.pdf", "http://h/a.pdf", "http://h/b.doc"]
                .map(|url| Attachment {
                    url: url.into(),
                    title: String::new(),
                })
                .to_vec(),
            content_hash: String::new(),
        };
        assert_eq!(
            wanted(&article, &[CaptureKind::Attachments]),
            ["http://h/a.pdf", "http://h/b.doc"]
        );
        assert_eq!(wanted(&article, &[CaptureKind::Images]), ["http://h/i.jpg"]);
        assert!(wanted(&article, &[]).is_empty());
    }

    #[test]
    fn each_url_is_queued_once_and_an_article_linking_too_many_is_noted() {
        let mut report = RunReport::default();
        let mut queued = vec!["http://h/0".to_string()];
        let many: Vec<String> = (0..MAX_ASSETS_PER_ARTICLE + 2)
            .map(|i| format!("http://h/{i}"))
            .collect();
        queue(&mut queued, many, "http://h/article", &mut report);
        assert_eq!(queued.len(), MAX_ASSETS_PER_ARTICLE);
        assert_eq!(report.assets_skipped, 2);
        assert!(
            report.asset_errors[0].contains("http://h/article"),
            "{report:?}"
        );
    }

    #[test]
    fn a_capture_is_recent_within_recheck_days_only() {
        let now = Utc::now().fixed_offset();
        assert!(recent(now, 3));
        assert!(!recent(now, 0));
        assert!(!recent(now - chrono::Duration::days(4), 3));
    }
}
