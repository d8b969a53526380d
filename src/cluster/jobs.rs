//! Due runs as jobs on a JetStream work queue. Every node's scheduler publishes each due run
//! with `Nats-Msg-Id = <source>@<fire time>`: the stream's duplicate window keeps one job per
//! tick however many nodes publish it. Workers on every node pull from one shared durable
//! consumer, one job at a time; a worker holds the source's lease while it runs, signs of life
//! (`AckKind::Progress`) every third of the ack wait so a long backfill is not handed to
//! another node, acks at the end, and NAKs with a delay on failure. A job that fails at its
//! last delivery is logged and dropped.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer};
use bytes::Bytes;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::archived::Progress;
use super::lease::{self, Taken};
use super::{
    ARCHIVED_STREAM, Cluster, ClusterError, JOBS_STREAM, JOBS_SUBJECT, WORKERS_CONSUMER, failed,
};
use crate::model::RunReport;

/// One due run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub source: String,
    pub scheduled_at: DateTime<FixedOffset>,
    pub backfill: bool,
}

impl Job {
    /// The id every node gives the same tick.
    pub fn message_id(&self) -> String {
        format!("{}@{}", self.source, self.scheduled_at.to_rfc3339())
    }
}

/// Publishes a job; true when it is new, false when the stream already had it.
pub async fn publish(cluster: &Cluster, job: &Job) -> Result<bool, ClusterError> {
    let payload = Bytes::from(serde_json::to_vec(job).unwrap_or_default());
    let ack = cluster
        .js
        .send_publish(
            JOBS_SUBJECT,
            jetstream::message::PublishMessage::build()
                .payload(payload)
                .message_id(job.message_id()),
        )
        .await
        .map_err(failed("publishing a job"))?
        .await
        .map_err(failed("publishing a job"))?;
    Ok(!ack.duplicate)
}

/// How a run ended, for the job it came from.
pub enum Ran {
    /// It went through (complete or not): the job is done.
    Done(RunReport),
    /// It could not run or its archive stopped it: the job is tried again later.
    Failed(RunReport),
    /// This node already runs the source.
    Busy,
}

/// Runs a source on this node: the scheduler's `run_job`.
pub type RunJob = Arc<dyn Fn(Job) -> Pin<Box<dyn Future<Output = Ran> + Send>> + Send + Sync>;

/// The shared consumer, made on first use.
pub async fn workers(cluster: &Cluster) -> Result<consumer::PullConsumer, ClusterError> {
    let config = &cluster.config;
    let stream = cluster
        .js
        .get_stream(JOBS_STREAM)
        .await
        .map_err(failed(format!("reading {JOBS_STREAM}")))?;
    stream
        .get_or_create_consumer(
            WORKERS_CONSUMER,
            consumer::pull::Config {
                durable_name: Some(WORKERS_CONSUMER.into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(config.ack_wait_secs),
                max_deliver: config.max_deliver,
                ..Default::default()
            },
        )
        .await
        .map_err(failed(format!("the consumer {WORKERS_CONSUMER}")))
}

/// Pulls and runs jobs, `slots` at once, until `shutdown`.
pub async fn work(
    cluster: Cluster,
    progress: Arc<Progress>,
    run: RunJob,
    slots: usize,
    shutdown: CancellationToken,
) {
    let loops = (0..slots).map(|_| worker(&cluster, &progress, &run, &shutdown));
    futures_util::future::join_all(loops).await;
}

async fn worker(
    cluster: &Cluster,
    progress: &Arc<Progress>,
    run: &RunJob,
    shutdown: &CancellationToken,
) {
    let mut pause = Duration::from_millis(500);
    while !shutdown.is_cancelled() {
        // A node behind the archived stream (new, or back after a while) takes no job until it
        // has applied what it lacks: the job would wait for that anyway, and count a delivery.
        let ready = tokio::select! {
            () = shutdown.cancelled() => return,
            ready = catch_up(cluster, progress, Duration::from_secs(5)) => ready,
        };
        if let Err(error) = ready {
            tracing::debug!(%error, "not taking jobs yet");
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_secs(10));
            continue;
        }
        let pulled = async {
            let consumer = workers(cluster).await?;
            let mut batch = consumer
                .fetch()
                .max_messages(1)
                .expires(Duration::from_secs(5))
                .messages()
                .await
                .map_err(failed("pulling a job"))?;
            use futures_util::StreamExt;
            match batch.next().await {
                Some(Ok(message)) => Ok(Some(message)),
                Some(Err(err)) => Err(ClusterError::Request {
                    what: "pulling a job".into(),
                    cause: err,
                }),
                None => Ok(None),
            }
        };
        let message = tokio::select! {
            () = shutdown.cancelled() => return,
            pulled = pulled => pulled,
        };
        match message {
            Ok(Some(message)) => {
                pause = Duration::from_millis(500);
                handle(cluster, progress, run, message, shutdown).await;
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(error = %crate::describe(&error), "cannot pull jobs; trying again");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn handle(
    cluster: &Cluster,
    progress: &Arc<Progress>,
    run: &RunJob,
    message: jetstream::Message,
    shutdown: &CancellationToken,
) {
    let config = &cluster.config;
    let delivered = message.info().map_or(1, |info| info.delivered);
    let job: Job = match serde_json::from_slice(&message.payload) {
        Ok(job) => job,
        Err(err) => {
            tracing::error!(error = %err, "a job does not decode; dropped");
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
    };
    let ack_wait = Duration::from_secs(config.ack_wait_secs);
    let mut lease = match lease::take(&cluster.leases, &job.source, cluster.node(), ack_wait).await
    {
        Ok(Taken::Held(lease)) => lease,
        Ok(Taken::Busy(holder)) if delivered <= 1 => {
            // A later tick while a run goes: as on one node, the fire is skipped.
            tracing::info!(source = %job.source, holder = %holder.node, "a run of this source is going on another node; job skipped");
            crate::metrics::METRICS.job("skipped");
            let _ = message.double_ack().await;
            return;
        }
        Ok(Taken::Busy(holder)) => {
            // A job handed over from a node that may be dead: its lease runs out first.
            let wait = (holder.expires_at - Utc::now())
                .to_std()
                .unwrap_or_default()
                + Duration::from_secs(1);
            tracing::info!(source = %job.source, holder = %holder.node, wait = ?wait, "the source's lease is held; job offered again after it");
            let _ = message.ack_with(AckKind::Nak(Some(wait))).await;
            return;
        }
        Err(error) => {
            tracing::warn!(source = %job.source, error = %crate::describe(&error), "cannot take the lease; job offered again");
            let _ = message
                .ack_with(AckKind::Nak(Some(Duration::from_secs(config.retry_secs))))
                .await;
            return;
        }
    };
    tracing::info!(source = %job.source, backfill = job.backfill, delivered, scheduled_at = %job.scheduled_at, "job taken");
    // Everything archived before this lease was taken is applied here before the run reads
    // what is known: no revision is numbered twice, nothing stored is fetched again.
    let caught_up = catch_up(cluster, progress, ack_wait / 2);
    let ran = match keep_alive(cluster, &message, &mut lease, caught_up).await {
        Some(Ok(())) => keep_alive(cluster, &message, &mut lease, run(job.clone())).await,
        Some(Err(error)) => {
            tracing::warn!(source = %job.source, %error, "not caught up with the archived stream; job offered again");
            None
        }
        None => None,
    };
    match ran {
        Some(Ran::Done(report)) => {
            crate::metrics::METRICS.job("done");
            if let Err(err) = message.double_ack().await {
                // Past the ack wait the job may have gone to another node meanwhile: the run is
                // idempotent, what it stored is not stored again.
                tracing::warn!(source = %job.source, error = %err, "the job's ack was not confirmed");
            }
            tracing::info!(source = %job.source, new = report.new, revised = report.revised, "job done");
        }
        Some(Ran::Busy) => {
            let _ = message
                .ack_with(AckKind::Nak(Some(Duration::from_secs(config.retry_secs))))
                .await;
        }
        Some(Ran::Failed(report)) => {
            let error = report.errors.last().cloned().unwrap_or_default();
            retry_or_drop(config, &message, &job, delivered, &error).await;
        }
        None => {
            retry_or_drop(config, &message, &job, delivered, "the run was stopped").await;
        }
    }
    if !shutdown.is_cancelled() {
        lease.release(&cluster.leases).await;
    }
}

/// Waits, at most `patience`, until this node has applied the archived stream as far as it
/// reaches now.
async fn catch_up(
    cluster: &Cluster,
    progress: &Progress,
    patience: Duration,
) -> Result<(), String> {
    let mut stream = cluster
        .js
        .get_stream(ARCHIVED_STREAM)
        .await
        .map_err(|err| format!("cannot reach {ARCHIVED_STREAM}: {err}"))?;
    let last = stream
        .info()
        .await
        .map_err(|err| format!("cannot read {ARCHIVED_STREAM}: {err}"))?
        .state
        .last_sequence;
    progress.reach(last, patience).await
}

async fn retry_or_drop(
    config: &crate::config::ClusterConfig,
    message: &jetstream::Message,
    job: &Job,
    delivered: i64,
    error: &str,
) {
    if delivered >= config.max_deliver {
        tracing::error!(source = %job.source, scheduled_at = %job.scheduled_at, delivered, error, "job failed at its last delivery; dropped");
        crate::metrics::METRICS.job("dropped");
        let _ = message.ack_with(AckKind::Term).await;
    } else {
        crate::metrics::METRICS.job("failed");
        tracing::warn!(source = %job.source, delivered, error, retry_secs = config.retry_secs, "job failed; offered again");
        let _ = message
            .ack_with(AckKind::Nak(Some(Duration::from_secs(config.retry_secs))))
            .await;
    }
}

/// Runs `work` while telling the stream the job is in progress and renewing the lease every
/// third of the ack wait. `None` when the lease was lost (another node took the source over):
/// the work is dropped at once so that two runs never overlap.
async fn keep_alive<T>(
    cluster: &Cluster,
    message: &jetstream::Message,
    lease: &mut lease::Lease,
    work: impl Future<Output = T>,
) -> Option<T> {
    let every = Duration::from_secs(cluster.config.ack_wait_secs) / 3;
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return Some(done),
            _ = beat.tick() => {
                if let Err(err) = message.ack_with(AckKind::Progress).await {
                    tracing::warn!(source = %lease.source(), error = %err, "cannot tell the stream the job is in progress");
                }
                if let Err(error) = lease.renew(&cluster.leases).await {
                    tracing::error!(source = %lease.source(), error = %crate::describe(&error), "the source's lease was lost; the run stops");
                    return None;
                }
            }
        }
    }
}
