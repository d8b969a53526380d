//! This process as a node of a cluster: the archive it hands to its crawls and server, the
//! connection it keeps trying to make, and the tasks that run once it has one (applying the
//! archived stream, working jobs, the heartbeat). A node that cannot reach NATS serves what
//! its archive holds and says so in `/healthz`; it starts the rest when NATS answers.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::archive::ClusterArchive;
use super::archived::{self, OnApplied, Progress};
use super::jobs::{self, Job, RunJob};
use super::{Cluster, status};
use crate::archive::Archive;
use crate::config::ClusterConfig;
use crate::model::RunReport;
use crate::schedule::Dispatch;

/// Jobs one node runs at once.
pub const WORKER_SLOTS: usize = 4;

pub struct Node {
    config: ClusterConfig,
    slot: Arc<OnceLock<Cluster>>,
    progress: Arc<Progress>,
    /// The archive the node's crawls and server use.
    pub archive: Arc<dyn Archive>,
    /// Why the node is not connected, while it is not.
    error: Mutex<Option<String>>,
}

impl Node {
    /// A node over `local`, its own archive, from the position that archive keeps.
    pub fn new(config: &ClusterConfig, local: Arc<dyn Archive>) -> Arc<Node> {
        let slot = Arc::new(OnceLock::new());
        let progress = Progress::new(archived::position(&*local));
        let archive: Arc<dyn Archive> = Arc::new(ClusterArchive::new(
            local,
            slot.clone(),
            progress.clone(),
            tokio::runtime::Handle::current(),
        ));
        Arc::new(Node {
            config: config.clone(),
            slot,
            progress,
            archive,
            error: Mutex::new(Some("connecting to NATS".into())),
        })
    }

    /// Where the scheduler sends due runs: published as jobs, in the background.
    pub fn dispatch(self: &Arc<Node>) -> Dispatch {
        let node = self.clone();
        Arc::new(move |job: Job| {
            let Some(cluster) = node.slot.get().cloned() else {
                tracing::warn!(source = %job.source, "NATS is out of reach: a due run was not published");
                return;
            };
            tokio::spawn(async move {
                match jobs::publish(&cluster, &job).await {
                    Ok(true) => {
                        tracing::info!(source = %job.source, scheduled_at = %job.scheduled_at, "job published")
                    }
                    Ok(false) => {
                        tracing::debug!(source = %job.source, "job already published by another node")
                    }
                    Err(error) => {
                        tracing::warn!(source = %job.source, error = %crate::describe(&error), "a due run was not published")
                    }
                }
            });
        })
    }

    /// Connects, retrying until `shutdown`, then applies the stream, works jobs and beats.
    pub fn start(
        self: &Arc<Node>,
        local: Arc<dyn Archive>,
        run: RunJob,
        on_applied: OnApplied,
        listen: String,
        uploads_waiting: Arc<dyn Fn() -> Option<u64> + Send + Sync>,
        shutdown: CancellationToken,
    ) {
        let node = self.clone();
        tokio::spawn(async move {
            let mut pause = Duration::from_millis(500);
            let cluster = loop {
                match Cluster::connect(&node.config).await {
                    Ok(cluster) => break cluster,
                    Err(error) => {
                        let error = crate::describe(&error);
                        tracing::warn!(%error, "NATS is out of reach: serving what this node holds; trying again");
                        *node.error.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
                    }
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(15));
            };
            tracing::info!(node = cluster.node(), servers = %node.config.servers(), applied = node.progress.applied(), "joined the cluster");
            *node.error.lock().unwrap_or_else(PoisonError::into_inner) = None;
            let _ = node.slot.set(cluster.clone());
            tokio::spawn(archived::apply(
                cluster.clone(),
                local,
                node.progress.clone(),
                coalesced(on_applied, shutdown.clone()),
                shutdown.clone(),
            ));
            tokio::spawn(status::beat(
                cluster.clone(),
                listen,
                node.progress.clone(),
                uploads_waiting,
                shutdown.clone(),
            ));
            let metrics = {
                let (cluster, progress, shutdown) =
                    (cluster.clone(), node.progress.clone(), shutdown.clone());
                async move {
                    let mut every = tokio::time::interval(status::HEARTBEAT);
                    while !shutdown.is_cancelled() {
                        every.tick().await;
                        crate::metrics::METRICS.cluster(cluster.connected(), progress.applied());
                        // What the stream and the queue hold: kept as they were when unreachable.
                        if let Ok(Ok(seen)) =
                            tokio::time::timeout(status::HEARTBEAT, status::backlog(&cluster)).await
                        {
                            crate::metrics::METRICS.cluster_backlog(
                                seen.archived
                                    .last_sequence
                                    .saturating_sub(progress.applied()),
                                seen.jobs_pending,
                            );
                        }
                    }
                }
            };
            tokio::spawn(metrics);
            jobs::work(cluster, node.progress.clone(), run, WORKER_SLOTS, shutdown).await;
        });
    }

    /// Whether this node has reached NATS and is connected now.
    pub fn connected(&self) -> bool {
        self.slot.get().is_some_and(Cluster::connected)
    }

    /// What `/healthz` says of the cluster.
    pub fn health(&self) -> Value {
        let error = self
            .error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let apply_error = self
            .progress
            .error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let connected = self.connected();
        json!({
            "node": self.config.node_id.as_str(),
            "nats": if connected { "connected" } else { "unreachable" },
            "error": if connected { None } else { error.or(Some("disconnected; reconnecting".into())) },
            "applied": self.progress.applied(),
            "apply_error": apply_error,
        })
    }
}

/// How often groups applied from the stream are told on, together: a backfill applied on
/// another node arrives in many small groups, and each telling commits the search index.
const TELL_EVERY: Duration = Duration::from_millis(250);

/// `on_applied`, called at most every [`TELL_EVERY`] with the changes since, per source.
fn coalesced(on_applied: OnApplied, shutdown: CancellationToken) -> OnApplied {
    let pending: Arc<Mutex<std::collections::BTreeMap<String, RunReport>>> = Arc::default();
    let waiting = pending.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(TELL_EVERY);
        while !shutdown.is_cancelled() {
            every.tick().await;
            let reports: Vec<RunReport> =
                std::mem::take(&mut *waiting.lock().unwrap_or_else(PoisonError::into_inner))
                    .into_values()
                    .collect();
            if !reports.is_empty() {
                on_applied(&reports);
            }
        }
    });
    Arc::new(move |reports: &[RunReport]| {
        let mut pending = pending.lock().unwrap_or_else(PoisonError::into_inner);
        for report in reports {
            let merged = pending
                .entry(report.source.clone())
                .or_insert_with(|| RunReport {
                    source: report.source.clone(),
                    complete: true,
                    ..RunReport::default()
                });
            merged.new += report.new;
            merged.revised += report.revised;
        }
    })
}
