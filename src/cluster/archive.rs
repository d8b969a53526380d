//! The archive a node of a cluster hands to its crawls and its server: reads come from the
//! node's own archive; writes go to the archived stream and are answered once this node has
//! applied them, like every other node will ([`super::archived`]); crawl state lives in the
//! cluster's buckets ([`super::crawl_state`]). Before the node has reached NATS, writes fail
//! (nothing is stored anywhere) and reads still answer.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};

use super::archived::{self, Applied, Event, Progress};
use super::{Cluster, ClusterError, crawl_state};
use crate::archive::prelude::*;
use crate::archive::{
    ArchiveError, AssetIngest, ExportEntry, Ids, Ingest, Query, Reextracted, Stored, Subscription,
};
use crate::model::{
    Archived, ArticleId, AssetInfo, Capture, Revision, RevisionCapture, RunReport, Validators,
};

/// How long a writer waits for its own write to be applied locally.
const APPLY_PATIENCE: Duration = Duration::from_secs(120);

pub struct ClusterArchive {
    local: Arc<dyn Archive>,
    cluster: Arc<OnceLock<Cluster>>,
    progress: Arc<Progress>,
    runtime: tokio::runtime::Handle,
}

impl ClusterArchive {
    /// `cluster` is filled once the node reaches NATS; `runtime` runs the calls to it.
    pub fn new(
        local: Arc<dyn Archive>,
        cluster: Arc<OnceLock<Cluster>>,
        progress: Arc<Progress>,
        runtime: tokio::runtime::Handle,
    ) -> ClusterArchive {
        ClusterArchive {
            local,
            cluster,
            progress,
            runtime,
        }
    }

    fn cluster(&self) -> Result<&Cluster, ArchiveError> {
        self.cluster
            .get()
            .ok_or_else(|| ArchiveError::Replication("this node has not reached NATS yet".into()))
    }

    /// Runs a call to the cluster from the archive's synchronous interface: archive calls run on
    /// the blocking pool (archive::Handle) or outside any runtime, where blocking is allowed.
    fn block<F: Future>(&self, work: F) -> F::Output {
        match tokio::runtime::Handle::try_current() {
            Ok(current)
                if current.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread =>
            {
                tokio::task::block_in_place(|| self.runtime.block_on(work))
            }
            _ => self.runtime.block_on(work),
        }
    }

    /// Publishes an event and waits until this node has applied it.
    fn write(&self, event: Event, message_id: String) -> Result<Applied, ArchiveError> {
        let cluster = self.cluster()?.clone();
        let progress = self.progress.clone();
        self.block(async move {
            let (sequence, duplicate) = archived::publish(&cluster, &event, &message_id)
                .await
                .map_err(replication)?;
            let outcome = progress
                .outcome(sequence, APPLY_PATIENCE)
                .await
                .map_err(|detail| ArchiveError::Replication(detail.into()))?;
            Ok(if duplicate {
                Applied::Stored(Stored::Unchanged)
            } else {
                outcome
            })
        })
    }

    fn revision_message(&self, ingest: &Ingest) -> Result<Option<String>, ArchiveError> {
        let article = &ingest.article;
        let known = self.local.article(&article.id)?;
        let validators_now = match &ingest.validators {
            Some((url, _)) => self.local.validators(url)?,
            None => None,
        };
        let validators_new = ingest.validators.as_ref().map(|(_, v)| v.clone());
        Ok(match known {
            None => Some(archived::revision_id(
                &article.id,
                1,
                &article.content_hash,
                None,
            )),
            Some(known) if known.article.content_hash != article.content_hash => {
                Some(archived::revision_id(
                    &article.id,
                    known.revisions + 1,
                    &article.content_hash,
                    None,
                ))
            }
            // The same content: only a return from gone or new validators is worth a message.
            Some(known)
                if known.gone_at.is_some()
                    || (validators_new.is_some() && validators_new != validators_now) =>
            {
                let extra = archived::short_digest(&(&known.gone_at, &validators_new));
                Some(archived::revision_id(
                    &article.id,
                    known.revisions,
                    &article.content_hash,
                    Some(&extra),
                ))
            }
            Some(_) => None,
        })
    }
}

fn replication(err: ClusterError) -> ArchiveError {
    ArchiveError::Replication(Box::new(err))
}

fn unexpected(applied: Applied) -> ArchiveError {
    match applied {
        Applied::Failed(detail) => ArchiveError::Replication(detail.into()),
        other => ArchiveError::Writer(format!("a write was answered as {other:?}")),
    }
}

impl ArticleStore for ClusterArchive {
    fn article(&self, id: &ArticleId) -> Result<Option<Archived>, ArchiveError> {
        self.local.article(id)
    }
    fn gone_at(&self, id: &ArticleId) -> Result<Option<DateTime<FixedOffset>>, ArchiveError> {
        self.local.gone_at(id)
    }
    fn id_for_url(&self, canonical_url: &str) -> Result<Option<ArticleId>, ArchiveError> {
        self.local.id_for_url(canonical_url)
    }
    fn store_many(&self, items: Vec<Ingest>) -> Result<Vec<Stored>, ArchiveError> {
        let mut answers = Vec::with_capacity(items.len());
        for ingest in items {
            let Some(message_id) = self.revision_message(&ingest)? else {
                answers.push(Stored::Unchanged);
                continue;
            };
            match self.write(Event::from_ingest(ingest), message_id)? {
                Applied::Stored(stored) => answers.push(stored),
                other => return Err(unexpected(other)),
            }
        }
        Ok(answers)
    }
    fn store_reextracted(&self, reextracted: Reextracted) -> Result<Stored, ArchiveError> {
        let article = &reextracted.article;
        let revisions = self.local.article(&article.id)?.map_or(0, |a| a.revisions);
        let message_id = format!(
            "reparse:{}",
            archived::revision_id(&article.id, revisions + 1, &article.content_hash, None)
        );
        let event = Event::Reparse {
            article: Box::new(reextracted.article),
            at: reextracted.at,
            profile: reextracted.profile,
        };
        match self.write(event, message_id)? {
            Applied::Stored(stored) => Ok(stored),
            other => Err(unexpected(other)),
        }
    }
    fn mark_gone(&self, id: &ArticleId, at: DateTime<FixedOffset>) -> Result<bool, ArchiveError> {
        if self.local.gone_at(id)?.is_some() {
            return Ok(false);
        }
        let message_id = format!("gone:{id}:{}", at.to_rfc3339());
        match self.write(Event::Gone { id: id.clone(), at }, message_id)? {
            Applied::Marked(marked) => Ok(marked),
            Applied::Stored(Stored::Unchanged) => Ok(false),
            other => Err(unexpected(other)),
        }
    }
    fn revisions(&self, id: &ArticleId) -> Result<Vec<Revision>, ArchiveError> {
        self.local.revisions(id)
    }
    fn capture(&self, id: &ArticleId, revision: u32) -> Result<Option<Capture>, ArchiveError> {
        self.local.capture(id, revision)
    }
    fn revision_captures(&self, id: &ArticleId) -> Result<Vec<RevisionCapture>, ArchiveError> {
        self.local.revision_captures(id)
    }
    fn articles(&self, query: &Query) -> Result<Vec<Archived>, ArchiveError> {
        self.local.articles(query)
    }
    fn newest_before(
        &self,
        source: &str,
        before: DateTime<FixedOffset>,
    ) -> Result<Option<DateTime<FixedOffset>>, ArchiveError> {
        self.local.newest_before(source, before)
    }
    fn all(&self) -> Result<Vec<Archived>, ArchiveError> {
        self.local.all()
    }
    fn ids(&self) -> Ids<'_> {
        self.local.ids()
    }
    fn restore(&self, entry: &ExportEntry) -> Result<(), ArchiveError> {
        self.local.restore(entry)
    }
    fn is_empty(&self) -> Result<bool, ArchiveError> {
        self.local.is_empty()
    }
}

impl CrawlLog for ClusterArchive {
    fn validators(&self, url: &str) -> Result<Option<Validators>, ArchiveError> {
        let cluster = self.cluster()?.clone();
        let url_owned = url.to_string();
        let shared = self
            .block(async move { crawl_state::validators(&cluster.crawl, &url_owned).await })
            .map_err(replication)?;
        match shared {
            Some(validators) => Ok(Some(validators)),
            // An article's page keeps them in its revision, on the stream.
            None => self.local.validators(url),
        }
    }
    fn set_validators(&self, url: &str, validators: &Validators) -> Result<(), ArchiveError> {
        let cluster = self.cluster()?.clone();
        let (url, validators) = (url.to_string(), validators.clone());
        self.block(
            async move { crawl_state::set_validators(&cluster.crawl, &url, &validators).await },
        )
        .map_err(replication)
    }
    fn state(&self, key: &str) -> Result<Option<String>, ArchiveError> {
        let cluster = self.cluster()?.clone();
        let key = key.to_string();
        self.block(async move { crawl_state::state(&cluster.crawl, &key).await })
            .map_err(replication)
    }
    fn set_state(&self, key: &str, value: Option<&str>) -> Result<(), ArchiveError> {
        let cluster = self.cluster()?.clone();
        let (key, value) = (key.to_string(), value.map(str::to_string));
        self.block(
            async move { crawl_state::set_state(&cluster.crawl, &key, value.as_deref()).await },
        )
        .map_err(replication)
    }
    fn record_run(&self, run: &RunReport) -> Result<(), ArchiveError> {
        // Kept locally too: the node's own status pages read it when NATS is away.
        self.local.record_run(run)?;
        let cluster = self.cluster()?.clone();
        let run = run.clone();
        self.block(async move { crawl_state::record_run(&cluster.crawl, &run).await })
            .map_err(replication)
    }
    fn runs(&self, source: &str, limit: usize) -> Result<Vec<RunReport>, ArchiveError> {
        let Ok(cluster) = self.cluster() else {
            return self.local.runs(source, limit);
        };
        let cluster = cluster.clone();
        let source_owned = source.to_string();
        match self
            .block(async move { crawl_state::runs(&cluster.crawl, &source_owned, limit).await })
        {
            Ok(runs) => Ok(runs),
            Err(error) => {
                tracing::debug!(error = %crate::describe(&error), "the shared run log is out of reach; the node's own is read");
                self.local.runs(source, limit)
            }
        }
    }
}

impl AssetStore for ClusterArchive {
    fn store_asset(&self, asset: AssetIngest) -> Result<AssetInfo, ArchiveError> {
        let message_id = format!(
            "asset:{}:{}",
            archived::short_digest(&asset.url),
            archived::short_digest(&(
                crate::archive::warc::payload_digest(&asset.capture.body),
                &asset.validators,
                asset.fetched_at
            ))
        );
        match self.write(Event::from_asset(asset), message_id)? {
            Applied::Asset(info) => Ok(*info),
            other => Err(unexpected(other)),
        }
    }
    fn asset(&self, url: &str) -> Result<Option<AssetInfo>, ArchiveError> {
        self.local.asset(url)
    }
    fn asset_validators(&self, url: &str) -> Result<Option<Validators>, ArchiveError> {
        self.local.asset_validators(url)
    }
    fn asset_capture(&self, url: &str) -> Result<Option<Capture>, ArchiveError> {
        self.local.asset_capture(url)
    }
}

impl SubscriptionStore for ClusterArchive {
    fn subscriptions(&self) -> Result<Vec<Subscription>, ArchiveError> {
        self.local.subscriptions()
    }
    fn set_subscription(
        &self,
        topic: &str,
        callback: &str,
        kept: Option<&Subscription>,
    ) -> Result<(), ArchiveError> {
        self.local.set_subscription(topic, callback, kept)
    }
}

impl Archive for ClusterArchive {
    fn flush(&self) -> Result<(), ArchiveError> {
        self.local.flush()
    }
    fn stalled(&self) -> Option<String> {
        self.local.stalled()
    }
}
