//! WebSub (W3C recommendation): readers get a feed pushed within seconds of a run that changed
//! it, instead of polling.
//!
//! - [`publish`]: after such a run, each hub of `server.websub_hubs` is told
//!   (`hub.mode=publish`) of every feed that changed, and fetches it itself.
//! - [`hub`]: with `server.websub_builtin`, gazette is a hub too: `POST /websub` takes
//!   subscriptions, verifies them with the callback, keeps them in the archive, and delivers each
//!   changed feed to its subscribers, signed with their secret.
//! - [`address`]: the addresses the builtin hub may call back, checked on what a callback
//!   resolves to at every request.
//!
//! The topics are the live feeds of a source as the server serves them (source and section feeds,
//! every format, default length), as absolute URLs under `server.public_url`. Their documents are
//! rendered by asking the server's own router, so a delivery is byte for byte what a reader gets.

pub mod address;
pub mod hub;
mod intent;
mod publish;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use http::{Request, StatusCode, header};
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use url::Url;

pub use address::AddressError;
pub use hub::Hub;
pub use intent::{Intent, MAX_CALLBACK_BYTES, MAX_SECRET_BYTES, Mode, Refusal};

use crate::config::{Config, Source};
use crate::feed::Format;
use crate::model::RunReport;

/// The path of the builtin hub.
pub const HUB_PATH: &str = "/websub";
/// Publish notices in flight at once, and deliveries apart (verifications are bounded by
/// `websub_max_pending`, see [`hub`]).
pub const MAX_REQUESTS_IN_FLIGHT: usize = 8;
/// How long one publish notice or delivery may take (a verification: [`hub::VERIFY_TIMEOUT`]).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Runs waiting to be announced; a source already waiting is not queued twice in effect, since
/// its feeds are rendered when its turn comes.
const QUEUE: usize = 64;
/// The largest feed document delivered.
const MAX_DOCUMENT_BYTES: usize = 32 * 1024 * 1024;

/// Why a WebSub step failed; logged, never shown to a subscriber.
#[derive(Debug, thiserror::Error)]
pub enum WebSubError {
    #[error("rendering {topic} answered {status}")]
    Render { topic: String, status: StatusCode },
    #[error("rendering {topic}")]
    RenderBody {
        topic: String,
        #[source]
        cause: axum::Error,
    },
    #[error("cannot make the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// The hubs feeds advertise with `Link: rel="hub"`: `websub_hubs`, then the builtin one.
pub fn hub_urls(config: &Config) -> Vec<Url> {
    let mut hubs: Vec<Url> = config
        .server
        .websub_hubs
        .iter()
        .map(|hub| hub.0.clone())
        .collect();
    if config.server.websub_builtin {
        hubs.push(public(config, HUB_PATH));
    }
    hubs
}

/// A feed gazette announces: its absolute URL and the path the router serves it at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub url: Url,
    pub path: String,
}

/// The topics of a source: its feed and its sections' feeds, in every format.
pub fn topics(config: &Config, source: &Source) -> Vec<Topic> {
    let mut paths = Vec::new();
    for format in Format::ALL {
        paths.push(format!("/feeds/{}.{}", source.id, format.extension()));
        for section in &source.sections {
            paths.push(format!(
                "/feeds/{}/{}.{}",
                source.id,
                section.id,
                format.extension()
            ));
        }
    }
    paths
        .into_iter()
        .map(|path| Topic {
            url: public(config, &path),
            path,
        })
        .collect()
}

/// Every topic of every source.
pub fn all_topics(config: &Config) -> Vec<Topic> {
    config
        .sources
        .iter()
        .flat_map(|source| topics(config, source))
        .collect()
}

/// An absolute URL under `server.public_url`, joined as the server joins its self links.
fn public(config: &Config, path: &str) -> Url {
    let base = config.server.public_url();
    Url::parse(&format!("{}{path}", base.as_str().trim_end_matches('/'))).unwrap_or(base)
}

/// A topic's current document, as the server answers it.
#[derive(Debug, Clone)]
pub struct Document {
    pub body: Bytes,
    pub content_type: String,
}

/// Renders topics through the server's router (its feed cache and renderers).
#[derive(Clone)]
pub struct Documents {
    router: Router,
}

impl Documents {
    pub fn new(router: Router) -> Documents {
        Documents { router }
    }

    pub async fn get(&self, topic: &Topic) -> Result<Document, WebSubError> {
        let request = Request::get(topic.path.as_str())
            .body(Body::empty())
            .unwrap_or_default();
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        if response.status() != StatusCode::OK {
            return Err(WebSubError::Render {
                topic: topic.url.to_string(),
                status: response.status(),
            });
        }
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_string();
        let body = axum::body::to_bytes(response.into_body(), MAX_DOCUMENT_BYTES)
            .await
            .map_err(|cause| WebSubError::RenderBody {
                topic: topic.url.to_string(),
                cause,
            })?;
        Ok(Document { body, content_type })
    }
}

/// Announces the feeds each run changed, on a task of its own: the scheduler only queues the
/// source's id.
#[derive(Clone)]
pub struct WebSub {
    queue: mpsc::Sender<String>,
}

impl WebSub {
    /// Starts announcing: to `config`'s external hubs, and to `hub`'s subscribers when the
    /// builtin hub runs. Stops with `shutdown` (deliveries in flight are abandoned).
    pub fn start(
        config: Arc<Config>,
        documents: Documents,
        hub: Option<Arc<Hub>>,
        shutdown: CancellationToken,
    ) -> Result<WebSub, WebSubError> {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let announcer = Announcer {
            publisher: publish::Publisher::new(&config)?,
            config,
            documents,
            hub,
            seen: Mutex::new(HashMap::new()),
            permits: Arc::new(Semaphore::new(MAX_REQUESTS_IN_FLIGHT)),
        };
        tokio::spawn(announcer.run(receiver, shutdown));
        Ok(WebSub { queue })
    }

    /// After a run: queues its source when the run archived new or revised articles.
    pub fn run_finished(&self, report: &RunReport) {
        if report.new + report.revised == 0 {
            return;
        }
        if self.queue.try_send(report.source.clone()).is_err() {
            tracing::warn!(source = %report.source, "WebSub queue full; this run is not announced");
        }
    }
}

/// The task behind [`WebSub`].
struct Announcer {
    config: Arc<Config>,
    documents: Documents,
    publisher: publish::Publisher,
    hub: Option<Arc<Hub>>,
    /// The digest of each topic's document when last announced: an unchanged feed (a section
    /// the run did not touch) is not announced again. Bounded by the config's topics.
    seen: Mutex<HashMap<String, [u8; 32]>>,
    permits: Arc<Semaphore>,
}

impl Announcer {
    async fn run(self, mut receiver: mpsc::Receiver<String>, shutdown: CancellationToken) {
        let mut sweep = tokio::time::interval(hub::SWEEP_EVERY);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = sweep.tick() => {
                    if let Some(hub) = &self.hub {
                        hub.drop_expired().await;
                    }
                }
                source = receiver.recv() => match source {
                    Some(source) => self.announce(&source).await,
                    None => return,
                },
            }
        }
    }

    /// Renders every topic of `source` and announces those whose document changed.
    async fn announce(&self, source: &str) {
        let Some(source) = self.config.source(source) else {
            return;
        };
        for topic in topics(&self.config, source) {
            let document = match self.documents.get(&topic).await {
                Ok(document) => document,
                Err(err) => {
                    tracing::warn!(error = %crate::describe(&err), "WebSub: cannot render a topic");
                    continue;
                }
            };
            let digest: [u8; 32] = Sha256::digest(&document.body).into();
            let previous = self
                .seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(topic.url.to_string(), digest);
            if previous == Some(digest) {
                continue;
            }
            tracing::info!(topic = %topic.url, "WebSub: feed changed");
            self.publisher.publish(&topic, &self.permits);
            if let Some(hub) = &self.hub {
                hub.deliver(&topic, &document);
            }
        }
    }
}
