//! `gazette cluster status` and `gazette cluster run`, and what `check` says of `[cluster]`.

use std::path::Path;

use anyhow::{Context, anyhow};
use gazette::cluster::jobs::{self, Job};
use gazette::cluster::{Cluster, status};
use gazette::config::{self, ClusterConfig, NatsCredentials};

use crate::cli::ClusterCommand;

pub fn cluster(command: &ClusterCommand) -> anyhow::Result<()> {
    match command {
        ClusterCommand::Status { config, json } => show_status(config, *json),
        ClusterCommand::Run {
            config,
            source,
            backfill,
        } => run(config, source, *backfill),
    }
}

/// What `gazette check` prints of `[cluster]`: where the node would connect, and how.
pub fn describe(cluster: &ClusterConfig) -> anyhow::Result<String> {
    let credentials = match cluster
        .credentials()
        .map_err(|e| anyhow!("[cluster]: {e}"))?
    {
        NatsCredentials::None => "none".to_string(),
        NatsCredentials::File(path) => {
            format!("the credentials file {path} ({})", config::NATS_CREDS_ENV)
        }
        NatsCredentials::UserPassword(user, _) => format!(
            "user {user} ({} and {})",
            config::NATS_USER_ENV,
            config::NATS_PASSWORD_ENV
        ),
        NatsCredentials::Token(_) => format!("a token ({})", config::NATS_TOKEN_ENV),
    };
    Ok(format!(
        "cluster: node {} joins NATS at {} (credentials: {credentials}); streams and buckets with \
         {} replica(s); ack wait {}s, {} deliveries a job, retried after {}s\n",
        cluster.node_id,
        cluster.servers(),
        cluster.replicas,
        cluster.ack_wait_secs,
        cluster.max_deliver,
        cluster.retry_secs,
    ))
}

fn connect(path: &Path) -> anyhow::Result<(tokio::runtime::Runtime, Cluster, config::Config)> {
    let config = config::load(path)?;
    let Some(cluster) = &config.cluster else {
        return Err(anyhow!(
            "{}: no [cluster] section: this node runs alone",
            path.display()
        ));
    };
    let runtime = super::runtime()?;
    let connected = runtime
        .block_on(Cluster::connect(cluster))
        .map_err(|e| anyhow!(gazette::describe(&e)))?;
    Ok((runtime, connected, config))
}

fn show_status(path: &Path, json: bool) -> anyhow::Result<()> {
    let (runtime, cluster, _) = connect(path)?;
    let status = runtime
        .block_on(status::read(&cluster))
        .map_err(|e| anyhow!(gazette::describe(&e)))?;
    if json {
        return super::print(&serde_json::to_string_pretty(&status).context("status as JSON")?);
    }
    let mut out = format!(
        "jobs: {} waiting, {} running\narchived stream: {} messages, {} bytes, last sequence {}\n",
        status.jobs_pending,
        status.jobs_running,
        status.archived_messages,
        status.archived_bytes,
        status.archived_last
    );
    out.push_str("node        seen      applied   lag       uploads waiting  listen\n");
    for node in &status.nodes {
        out.push_str(&format!(
            "{:<11} {:<9} {:<9} {:<9} {:<16} {}\n",
            node.heartbeat.node,
            format!("{}s ago", node.seen_secs_ago),
            node.heartbeat.applied,
            node.lag,
            node.heartbeat
                .uploads_waiting
                .map_or("-".to_string(), |n| n.to_string()),
            node.heartbeat.listen
        ));
    }
    if status.nodes.is_empty() {
        out.push_str("(no node has written a heartbeat yet)\n");
    }
    super::print(out.trim_end())
}

fn run(path: &Path, source: &str, backfill: bool) -> anyhow::Result<()> {
    let (runtime, cluster, config) = connect(path)?;
    super::find_source(&config, source)?;
    let job = Job {
        source: source.to_string(),
        scheduled_at: chrono::Utc::now().fixed_offset(),
        backfill,
    };
    let new = runtime
        .block_on(jobs::publish(&cluster, &job))
        .map_err(|e| anyhow!(gazette::describe(&e)))?;
    super::print(&format!(
        "{} job {} for {source}{}",
        if new { "published" } else { "already had" },
        job.message_id(),
        if backfill { " (backfill)" } else { "" }
    ))
}
