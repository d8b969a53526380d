//! What a node says of itself to the others (a heartbeat in the `gazette-nodes` bucket) and
//! what `gazette cluster status` and `/healthz` show: the nodes seen, the jobs waiting, each
//! node's lag behind the archived stream and the WARC files it has yet to upload.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::archived::Progress;
use super::{ARCHIVED_STREAM, Cluster, ClusterError, JOBS_STREAM, WORKERS_CONSUMER, failed};

/// How often a node writes its heartbeat.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// A node's heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub node: String,
    pub at: DateTime<Utc>,
    /// Where it serves.
    pub listen: String,
    /// The last sequence of the archived stream it has applied.
    pub applied: u64,
    /// WARC files waiting for upload, when it uploads to object storage.
    pub uploads_waiting: Option<u64>,
}

/// Writes this node's heartbeat every [`HEARTBEAT`] until `shutdown`.
pub async fn beat(
    cluster: Cluster,
    listen: String,
    progress: Arc<Progress>,
    uploads_waiting: Arc<dyn Fn() -> Option<u64> + Send + Sync>,
    shutdown: CancellationToken,
) {
    let mut every = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let heartbeat = Heartbeat {
            node: cluster.node().to_string(),
            at: Utc::now(),
            listen: listen.clone(),
            applied: progress.applied(),
            uploads_waiting: uploads_waiting(),
        };
        let value = Bytes::from(serde_json::to_vec(&heartbeat).unwrap_or_default());
        if let Err(err) = cluster.nodes.put(cluster.node(), value).await {
            tracing::debug!(error = %err, "heartbeat not written");
        }
    }
}

/// The cluster as one node sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    pub nodes: Vec<NodeStatus>,
    /// Jobs waiting for a worker, and jobs a worker holds now.
    pub jobs_pending: u64,
    pub jobs_running: u64,
    /// The last sequence of the archived stream.
    pub archived_last: u64,
    pub archived_messages: u64,
    pub archived_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    #[serde(flatten)]
    pub heartbeat: Heartbeat,
    /// Messages of the archived stream it has yet to apply.
    pub lag: u64,
    /// Seconds since its last heartbeat.
    pub seen_secs_ago: i64,
}

/// What the streams hold, without the nodes: what a node's metrics need every few seconds.
pub struct Backlog {
    pub archived: async_nats::jetstream::stream::State,
    pub jobs_pending: u64,
    pub jobs_running: u64,
}

pub async fn backlog(cluster: &Cluster) -> Result<Backlog, ClusterError> {
    let mut archived = cluster
        .js
        .get_stream(ARCHIVED_STREAM)
        .await
        .map_err(failed("reading the archived stream"))?;
    let state = archived
        .info()
        .await
        .map_err(failed("reading the archived stream"))?
        .state
        .clone();
    let mut jobs = cluster
        .js
        .get_stream(JOBS_STREAM)
        .await
        .map_err(failed("reading the job stream"))?;
    let jobs_state = jobs
        .info()
        .await
        .map_err(failed("reading the job stream"))?
        .state
        .clone();
    let (jobs_pending, jobs_running) = match jobs
        .get_consumer::<async_nats::jetstream::consumer::pull::Config>(WORKERS_CONSUMER)
        .await
    {
        Ok(mut consumer) => {
            let info = consumer
                .info()
                .await
                .map_err(failed("reading the workers' consumer"))?;
            (info.num_pending, info.num_ack_pending as u64)
        }
        // No worker has pulled yet: every job waits.
        Err(_) => (jobs_state.messages, 0),
    };
    Ok(Backlog {
        archived: state,
        jobs_pending,
        jobs_running,
    })
}

pub async fn read(cluster: &Cluster) -> Result<ClusterStatus, ClusterError> {
    let Backlog {
        archived: state,
        jobs_pending,
        jobs_running,
    } = backlog(cluster).await?;
    let mut nodes = Vec::new();
    let mut keys = cluster
        .nodes
        .keys()
        .await
        .map_err(failed("listing the nodes"))?;
    while let Some(key) = keys.next().await {
        let Ok(key) = key else { continue };
        let Ok(Some(bytes)) = cluster.nodes.get(&key).await else {
            continue;
        };
        let Ok(heartbeat) = serde_json::from_slice::<Heartbeat>(&bytes) else {
            continue;
        };
        nodes.push(NodeStatus {
            lag: state.last_sequence.saturating_sub(heartbeat.applied),
            seen_secs_ago: (Utc::now() - heartbeat.at).num_seconds(),
            heartbeat,
        });
    }
    nodes.sort_by(|a, b| a.heartbeat.node.cmp(&b.heartbeat.node));
    Ok(ClusterStatus {
        nodes,
        jobs_pending,
        jobs_running,
        archived_last: state.last_sequence,
        archived_messages: state.messages,
        archived_bytes: state.bytes,
    })
}
