//! Many nodes, one archive, on NATS JetStream: due runs are jobs on a work queue that any node
//! takes ([`jobs`]), a run holds its source's lease ([`lease`]), what lets another node continue a
//! source lives in key-value buckets ([`crawl_state`]), and every write to the archive is a
//! message of one stream that every node applies, in order, to its own archive ([`archived`]),
//! so that all nodes hold the same articles and serve the same feeds. A single node needs none
//! of this: it is on only with a `[cluster]` section.

pub mod archive;
pub mod archived;
pub mod crawl_state;
pub mod jobs;
pub mod lease;
pub mod node;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv, object_store, stream};
use thiserror::Error;

use crate::config::{ClusterConfig, NatsCredentials};

/// The work queue of due runs.
pub const JOBS_STREAM: &str = "GAZETTE_JOBS";
pub const JOBS_SUBJECT: &str = "gazette.jobs";
/// The one durable consumer every worker pulls jobs from.
pub const WORKERS_CONSUMER: &str = "gazette-workers";
/// Every write to the archive, in the order every node applies it.
pub const ARCHIVED_STREAM: &str = "GAZETTE_ARCHIVED";
pub const ARCHIVED_SUBJECTS: &str = "gazette.archived.>";
/// Per-source leases: who runs a source now.
pub const LEASES_BUCKET: &str = "gazette-leases";
/// Validators, cursors and run logs shared by the nodes.
pub const CRAWL_BUCKET: &str = "gazette-crawl";
/// Each node's heartbeat: what `gazette cluster status` lists.
pub const NODES_BUCKET: &str = "gazette-nodes";
/// Captured bodies too large for one message.
pub const BODIES_BUCKET: &str = "gazette-bodies";
/// How long the job stream remembers a message id: the same tick published by every node
/// within it is one job.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// How long one JetStream API request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Error)]
pub enum ClusterError {
    #[error("cannot connect to NATS at {servers}")]
    Connect {
        servers: String,
        #[source]
        cause: async_nats::Error,
    },
    #[error("NATS credentials: {0}")]
    Credentials(String),
    #[error("cannot set up {what} on NATS JetStream")]
    Setup {
        what: String,
        #[source]
        cause: async_nats::Error,
    },
    #[error("{what}")]
    Request {
        what: String,
        #[source]
        cause: async_nats::Error,
    },
    #[error("a message of {subject} does not decode: {detail}")]
    Decode { subject: String, detail: String },
}

/// Turns a client error into a failed request, saying what was asked.
fn failed<E: std::error::Error + Send + Sync + 'static>(
    what: impl Into<String>,
) -> impl FnOnce(E) -> ClusterError {
    let what = what.into();
    move |cause| ClusterError::Request {
        what,
        cause: Box::new(cause),
    }
}

/// Turns a client error into a failed set-up of `what`.
fn setup_failed<E: std::error::Error + Send + Sync + 'static>(
    what: &str,
) -> impl FnOnce(E) -> ClusterError {
    let what = what.to_string();
    move |cause| ClusterError::Setup {
        what,
        cause: Box::new(cause),
    }
}

/// A connection to the cluster and the streams and buckets it uses.
#[derive(Clone)]
pub struct Cluster {
    pub config: Arc<ClusterConfig>,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub leases: kv::Store,
    pub crawl: kv::Store,
    pub nodes: kv::Store,
    pub bodies: object_store::ObjectStore,
}

impl Cluster {
    /// Connects to the servers of `config` and makes sure the streams and buckets exist. A new
    /// cluster elects its JetStream leader in a second or so: setting up is retried meanwhile.
    pub async fn connect(config: &ClusterConfig) -> Result<Cluster, ClusterError> {
        let client = client(config).await?;
        let js = jetstream::ContextBuilder::new()
            .timeout(REQUEST_TIMEOUT)
            .build(client.clone());
        let mut tries = 0;
        loop {
            match setup(config, &js).await {
                Ok((leases, crawl, nodes, bodies)) => {
                    return Ok(Cluster {
                        config: Arc::new(config.clone()),
                        client,
                        js,
                        leases,
                        crawl,
                        nodes,
                        bodies,
                    });
                }
                Err(err) if tries < 20 => {
                    tries += 1;
                    tracing::debug!(error = %crate::describe(&err), "JetStream not ready; trying again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(err) => return Err(err),
            }
        }
    }

    pub fn node(&self) -> &str {
        self.config.node_id.as_str()
    }

    /// Whether the client is connected to a server now.
    pub fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }
}

/// A client for `config`'s servers, with the environment's credentials. It reconnects by itself
/// for as long as the process lives.
async fn client(config: &ClusterConfig) -> Result<async_nats::Client, ClusterError> {
    let servers = config.servers();
    let mut options = async_nats::ConnectOptions::new()
        .name(format!("gazette {}", config.node_id))
        .connection_timeout(Duration::from_secs(5))
        .max_reconnects(None);
    options = match config.credentials().map_err(ClusterError::Credentials)? {
        NatsCredentials::None => options,
        NatsCredentials::File(path) => options.credentials_file(&path).await.map_err(|err| {
            ClusterError::Credentials(format!("cannot read the credentials file {path}: {err}"))
        })?,
        NatsCredentials::UserPassword(user, password) => options.user_and_password(user, password),
        NatsCredentials::Token(token) => options.token(token),
    };
    let addresses: Vec<String> = config.nats_url.iter().map(|u| u.0.to_string()).collect();
    options
        .connect(addresses.as_slice())
        .await
        .map_err(|cause| ClusterError::Connect {
            servers,
            cause: Box::new(cause),
        })
}

type Buckets = (kv::Store, kv::Store, kv::Store, object_store::ObjectStore);

async fn setup(config: &ClusterConfig, js: &jetstream::Context) -> Result<Buckets, ClusterError> {
    let replicas = config.replicas;
    // What exists is taken as it is: nodes starting together race to create, and a fresh
    // cluster answers creations slowly while it places replicas.
    if js.get_stream(JOBS_STREAM).await.is_err() {
        js.create_or_update_stream(stream::Config {
            name: JOBS_STREAM.into(),
            subjects: vec![JOBS_SUBJECT.into()],
            retention: stream::RetentionPolicy::WorkQueue,
            duplicate_window: DUPLICATE_WINDOW,
            num_replicas: replicas,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(setup_failed(JOBS_STREAM))?;
    }
    if js.get_stream(ARCHIVED_STREAM).await.is_err() {
        js.create_or_update_stream(stream::Config {
            name: ARCHIVED_STREAM.into(),
            subjects: vec![ARCHIVED_SUBJECTS.into()],
            retention: stream::RetentionPolicy::Limits,
            duplicate_window: DUPLICATE_WINDOW,
            num_replicas: replicas,
            storage: stream::StorageType::File,
            max_message_size: archived::MAX_MESSAGE_BYTES as i32,
            ..Default::default()
        })
        .await
        .map_err(setup_failed(ARCHIVED_STREAM))?;
    }
    let bucket = |name: &str| kv::Config {
        bucket: name.into(),
        history: 1,
        num_replicas: replicas,
        storage: stream::StorageType::File,
        ..Default::default()
    };
    let mut stores = Vec::new();
    for name in [LEASES_BUCKET, CRAWL_BUCKET, NODES_BUCKET] {
        let store = match js.get_key_value(name).await {
            Ok(store) => store,
            Err(_) => js
                .create_or_update_key_value(bucket(name))
                .await
                .map_err(setup_failed(name))?,
        };
        stores.push(store);
    }
    let [leases, crawl, nodes]: [kv::Store; 3] =
        stores.try_into().map_err(|_| ClusterError::Decode {
            subject: "buckets".into(),
            detail: "three buckets expected".into(),
        })?;
    let bodies = match js.get_object_store(BODIES_BUCKET).await {
        Ok(store) => store,
        Err(_) => js
            .create_object_store(object_store::Config {
                bucket: BODIES_BUCKET.into(),
                num_replicas: replicas,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(setup_failed(BODIES_BUCKET))?,
    };
    Ok((leases, crawl, nodes, bodies))
}
