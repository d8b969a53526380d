//! What was archived, as a stream: every write a crawl makes (a revision with the page it was
//! read from, a gone mark, a reparse, a captured asset) is one message of `GAZETTE_ARCHIVED`,
//! and every node applies the stream in order to its own archive. The node that crawled applies
//! its own messages like any other, so every archive is the same function of the same stream.
//!
//! A message is the event as JSON, a newline, then the captured bytes. One larger than
//! [`INLINE_BYTES`] (NATS takes 1 MB a message by default, and a page may reach
//! `crawler.max_page_bytes`) is put whole in the `gazette-bodies` object store, named by its
//! digest, and the message names it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer};
use bytes::Bytes;
use chrono::{DateTime, FixedOffset};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{ARCHIVED_STREAM, Cluster, ClusterError, failed};
use crate::archive::AssetIngest;
use crate::archive::{Archive, ArchiveError, Ingest, Profile, Reextracted, Stored};
use crate::model::{Article, ArticleId, AssetInfo, Capture, RunReport, Validators};

/// The largest message the stream takes: NATS's default payload limit.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Messages past this go to the object store (headers and the reference stay well below 1 MB).
pub const INLINE_BYTES: usize = 900 * 1024;
/// The header naming the node that published a message.
pub const NODE_HEADER: &str = "Gazette-Node";
/// The header naming the object that holds a message too large to send.
pub const STORED_HEADER: &str = "Gazette-Stored";
/// The local crawl-state key holding the last sequence applied: the node's durable position.
pub const APPLIED_KEY: &str = "cluster:applied";
/// Outcomes kept for this node's own writers, waiting to be collected.
const OUTCOMES_KEPT: usize = 65_536;
/// Messages applied in one group commit.
const BATCH: usize = 64;
/// How long the consumer may stay quiet before the stream is asked whether it moved on.
const QUIET: Duration = Duration::from_secs(3);

/// One write to the archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Revision {
        article: Box<Article>,
        capture: Capture,
        fetched_at: DateTime<FixedOffset>,
        profile: Option<Profile>,
        user_agent: String,
        validators: Option<(String, Validators)>,
    },
    Gone {
        id: ArticleId,
        at: DateTime<FixedOffset>,
    },
    Reparse {
        article: Box<Article>,
        at: DateTime<FixedOffset>,
        profile: Option<Profile>,
    },
    Asset {
        url: String,
        capture: Capture,
        fetched_at: DateTime<FixedOffset>,
        user_agent: String,
        validators: Validators,
    },
}

impl Event {
    pub fn from_ingest(ingest: Ingest) -> Event {
        Event::Revision {
            article: Box::new(ingest.article),
            capture: ingest.capture,
            fetched_at: ingest.fetched_at,
            profile: ingest.profile,
            user_agent: ingest.user_agent,
            validators: ingest.validators,
        }
    }

    pub fn from_asset(asset: AssetIngest) -> Event {
        Event::Asset {
            url: asset.url,
            capture: asset.capture,
            fetched_at: asset.fetched_at,
            user_agent: asset.user_agent,
            validators: asset.validators,
        }
    }

    /// The source the event belongs to: its subject is `gazette.archived.<source>`.
    pub fn source(&self) -> &str {
        match self {
            Event::Revision { article, .. } | Event::Reparse { article, .. } => &article.source,
            Event::Gone { id, .. } => id.0.split(':').next().unwrap_or("unknown"),
            Event::Asset { .. } => "assets",
        }
    }

    fn body(&self) -> &[u8] {
        match self {
            Event::Revision { capture, .. } | Event::Asset { capture, .. } => &capture.body,
            _ => &[],
        }
    }

    fn set_body(&mut self, body: Vec<u8>) {
        if let Event::Revision { capture, .. } | Event::Asset { capture, .. } = self {
            capture.body = body;
        }
    }

    /// The event as a message: JSON, a newline, the captured bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes.extend_from_slice(self.body());
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Result<Event, String> {
        let at = memchr::memchr(b'\n', bytes).ok_or("no newline after the event")?;
        let mut event: Event =
            serde_json::from_slice(&bytes[..at]).map_err(|err| err.to_string())?;
        event.set_body(bytes[at + 1..].to_vec());
        Ok(event)
    }
}

/// The message id of a revision: the article, its revision number and its content hash, so a
/// publish retried after a lost ack is not a second revision. `extra` tells apart writes of the
/// same revision (new validators, back after gone).
pub fn revision_id(
    id: &ArticleId,
    revision: u32,
    content_hash: &str,
    extra: Option<&str>,
) -> String {
    match extra {
        Some(extra) => format!("{id}:{revision}:{content_hash}:{extra}"),
        None => format!("{id}:{revision}:{content_hash}"),
    }
}

/// A short digest of anything serialisable, for message ids.
pub fn short_digest(value: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    hex::encode(&Sha256::digest(&bytes)[..8])
}

/// What applying one message did.
#[derive(Debug, Clone)]
pub enum Applied {
    Stored(Stored),
    Marked(bool),
    Asset(Box<AssetInfo>),
    Failed(String),
}

/// How far this node has applied the stream, and the outcomes of its own writes.
pub struct Progress {
    applied: watch::Sender<u64>,
    outcomes: Mutex<BTreeMap<u64, Applied>>,
    /// The last error applying, until a message applies again.
    pub error: Mutex<Option<String>>,
}

impl Progress {
    pub fn new(applied: u64) -> Arc<Progress> {
        Arc::new(Progress {
            applied: watch::channel(applied).0,
            outcomes: Mutex::new(BTreeMap::new()),
            error: Mutex::new(None),
        })
    }

    pub fn applied(&self) -> u64 {
        *self.applied.borrow()
    }

    fn record(&self, sequence: u64, applied: Applied) {
        let mut outcomes = self.outcomes.lock().unwrap_or_else(PoisonError::into_inner);
        outcomes.insert(sequence, applied);
        while outcomes.len() > OUTCOMES_KEPT {
            outcomes.pop_first();
        }
    }

    /// Waits until the stream is applied up to `sequence`, at most `patience`.
    pub async fn reach(&self, sequence: u64, patience: Duration) -> Result<(), String> {
        let mut applied = self.applied.subscribe();
        match tokio::time::timeout(patience, applied.wait_for(|a| *a >= sequence)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err("the node stopped applying the stream".into()),
            Err(_) => Err(format!(
                "the local archive has not applied the stream up to {sequence} within {}s (at {}{})",
                patience.as_secs(),
                self.applied(),
                self.error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            )),
        }
    }

    /// The outcome of this node's own message at `sequence`, once applied.
    pub async fn outcome(&self, sequence: u64, patience: Duration) -> Result<Applied, String> {
        self.reach(sequence, patience).await?;
        let outcome = self
            .outcomes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&sequence);
        // A duplicate of a message another node published, or one applied before this node
        // asked: it changed nothing now.
        Ok(outcome.unwrap_or(Applied::Stored(Stored::Unchanged)))
    }
}

/// Publishes one event and returns its stream sequence once the stream has it (on every replica
/// JetStream keeps), and whether it was a duplicate.
pub async fn publish(
    cluster: &Cluster,
    event: &Event,
    message_id: &str,
) -> Result<(u64, bool), ClusterError> {
    let subject = format!("gazette.archived.{}", event.source());
    let mut payload = event.encode();
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", message_id);
    headers.insert(NODE_HEADER, cluster.node());
    if payload.len() > INLINE_BYTES {
        let name = format!("sha256-{}", hex::encode(Sha256::digest(&payload)));
        let mut reader: &[u8] = &payload;
        cluster
            .bodies
            .put(name.as_str(), &mut reader)
            .await
            .map_err(failed(format!("storing {name}")))?;
        headers.insert(STORED_HEADER, name.as_str());
        payload = Vec::new();
    }
    let ack = cluster
        .js
        .publish_with_headers(subject.clone(), headers, Bytes::from(payload))
        .await
        .map_err(failed(format!("publishing to {subject}")))?
        .await
        .map_err(failed(format!("publishing to {subject}")))?;
    Ok((ack.sequence, ack.duplicate))
}

/// Called with the sources whose articles changed after each applied group (the server drops
/// cached feeds, catches the search index up and tells WebSub).
pub type OnApplied = Arc<dyn Fn(&[RunReport]) + Send + Sync>;

/// Applies the stream to `local` from the position it keeps, until `shutdown`; a connection
/// lost or an archive that refuses a write pauses it, and it starts again where it stopped.
pub async fn apply(
    cluster: Cluster,
    local: Arc<dyn Archive>,
    progress: Arc<Progress>,
    on_applied: OnApplied,
    shutdown: CancellationToken,
) {
    let mut pause = Duration::from_millis(250);
    loop {
        let result = tokio::select! {
            () = shutdown.cancelled() => return,
            result = apply_from(&cluster, &local, &progress, &on_applied) => result,
        };
        if let Err(error) = result {
            tracing::warn!(error = %error, applied = progress.applied(), "applying the archived stream paused; it goes on from there");
            *progress
                .error
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(error);
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// One ordered consumer from the next sequence on; returns why it stopped.
async fn apply_from(
    cluster: &Cluster,
    local: &Arc<dyn Archive>,
    progress: &Arc<Progress>,
    on_applied: &OnApplied,
) -> Result<(), String> {
    let start = progress.applied() + 1;
    let stream = cluster
        .js
        .get_stream(ARCHIVED_STREAM)
        .await
        .map_err(|err| format!("cannot reach {ARCHIVED_STREAM}: {err}"))?;
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ..Default::default()
        })
        .await
        .map_err(|err| format!("cannot read {ARCHIVED_STREAM}: {err}"))?;
    let messages = consumer
        .messages()
        .await
        .map_err(|err| format!("cannot read {ARCHIVED_STREAM}: {err}"))?;
    let mut batches = messages.ready_chunks(BATCH);
    loop {
        let batch = match tokio::time::timeout(QUIET, batches.next()).await {
            Ok(Some(batch)) => batch,
            Ok(None) => break,
            Err(_) => {
                // Quiet: fine when nothing is new. A consumer lost with its server stays quiet
                // too, and is made again when the stream has moved on without it.
                let mut stream = stream.clone();
                let last = match tokio::time::timeout(QUIET, stream.info()).await {
                    Ok(Ok(info)) => info.state.last_sequence,
                    _ => continue,
                };
                if last > progress.applied() {
                    return Err(format!(
                        "no message for {}s while the stream is at {last}: reading again",
                        QUIET.as_secs()
                    ));
                }
                continue;
            }
        };
        let mut received = Vec::with_capacity(batch.len());
        let mut stopped = None;
        for message in batch {
            match message {
                Ok(message) => received.push(message),
                Err(err) => {
                    stopped = Some(format!("reading {ARCHIVED_STREAM}: {err}"));
                    break;
                }
            }
        }
        let mut decoded = Vec::with_capacity(received.len());
        for message in &received {
            decoded.push(read(cluster, message).await?);
        }
        if !decoded.is_empty() {
            let local = local.clone();
            let progress_for_task = progress.clone();
            let changed = tokio::task::spawn_blocking(move || {
                apply_group(&*local, &progress_for_task, decoded)
            })
            .await
            .map_err(|err| format!("applying messages ended abnormally: {err}"))??;
            *progress
                .error
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = None;
            if !changed.is_empty() {
                on_applied(&changed);
            }
        }
        if let Some(stopped) = stopped {
            return Err(stopped);
        }
    }
    Err(format!("{ARCHIVED_STREAM} ended"))
}

/// A received message: its sequence, who published it and the event.
struct Received {
    sequence: u64,
    own: bool,
    event: Result<Event, String>,
}

async fn read(cluster: &Cluster, message: &jetstream::Message) -> Result<Received, String> {
    let sequence = message
        .info()
        .map_err(|err| format!("a message without its sequence: {err}"))?
        .stream_sequence;
    let headers = message.headers.as_ref();
    let own = headers
        .and_then(|h| h.get(NODE_HEADER))
        .is_some_and(|node| node.as_str() == cluster.node());
    let stored = headers
        .and_then(|h| h.get(STORED_HEADER))
        .map(|name| name.as_str().to_string());
    let event = match stored {
        None => Event::decode(&message.payload),
        Some(name) => {
            // A large message: fetched whole, checked against its name.
            let mut object = cluster
                .bodies
                .get(name.as_str())
                .await
                .map_err(|err| format!("cannot fetch {name} from the object store: {err}"))?;
            let mut bytes = Vec::new();
            object
                .read_to_end(&mut bytes)
                .await
                .map_err(|err| format!("cannot read {name}: {err}"))?;
            if format!("sha256-{}", hex::encode(Sha256::digest(&bytes))) != name {
                Err(format!("{name} does not match its digest"))
            } else {
                Event::decode(&bytes)
            }
        }
    };
    Ok(Received {
        sequence,
        own,
        event,
    })
}

/// Applies decoded messages in order, revisions in one group commit; records the position.
/// A write the archive refuses stops the group there, to be applied again.
fn apply_group(
    local: &dyn Archive,
    progress: &Progress,
    received: Vec<Received>,
) -> Result<Vec<RunReport>, String> {
    let mut changed: HashMap<String, RunReport> = HashMap::new();
    let mut last = progress.applied();
    let mut pending = received.into_iter().peekable();
    while let Some(first) = pending.next() {
        // Revisions in a row go in one commit.
        let mut group = vec![first];
        while group
            .iter()
            .all(|r| matches!(r.event, Ok(Event::Revision { .. })))
            && let Some(next) = pending.next_if(|r| matches!(r.event, Ok(Event::Revision { .. })))
        {
            group.push(next);
        }
        let outcomes = apply_events(local, &group);
        for (received, outcome) in group.iter().zip(outcomes) {
            let outcome = match outcome {
                Ok(outcome) => outcome,
                Err(ArchiveErrorOr::Archive(err)) => {
                    let error = crate::describe(&err);
                    if received.own {
                        progress.record(received.sequence, Applied::Failed(error.clone()));
                    }
                    finish(local, progress, last)?;
                    return Err(format!(
                        "the local archive refused message {}: {error}",
                        received.sequence
                    ));
                }
                Err(ArchiveErrorOr::Undecodable(detail)) => {
                    // Nothing any node can apply: logged and passed over by every node alike.
                    tracing::error!(sequence = received.sequence, %detail, "a message of the archived stream does not decode; passed over");
                    Applied::Failed(detail)
                }
            };
            if let Ok(event) = &received.event {
                let report = changed
                    .entry(event.source().to_string())
                    .or_insert_with(|| RunReport {
                        source: event.source().to_string(),
                        complete: true,
                        ..RunReport::default()
                    });
                match &outcome {
                    Applied::Stored(Stored::New) => report.new += 1,
                    Applied::Stored(Stored::Revised(_)) => report.revised += 1,
                    _ => {}
                }
            }
            if received.own {
                progress.record(received.sequence, outcome);
            }
            last = received.sequence;
        }
    }
    finish(local, progress, last)?;
    Ok(changed
        .into_values()
        .filter(|r| r.new + r.revised > 0)
        .collect())
}

enum ArchiveErrorOr {
    Archive(ArchiveError),
    Undecodable(String),
}

/// Revisions in a row, in one group commit: an answer each.
fn apply_revisions(
    local: &dyn Archive,
    group: &[Received],
) -> Vec<Result<Applied, ArchiveErrorOr>> {
    let ingests: Vec<Ingest> = group
        .iter()
        .filter_map(|r| match &r.event {
            Ok(Event::Revision {
                article,
                capture,
                fetched_at,
                profile,
                user_agent,
                validators,
            }) => Some(Ingest {
                article: (**article).clone(),
                capture: capture.clone(),
                fetched_at: *fetched_at,
                profile: profile.clone(),
                user_agent: user_agent.clone(),
                validators: validators.clone(),
            }),
            _ => None,
        })
        .collect();
    match local.store_many(ingests) {
        Ok(stored) => stored.into_iter().map(|s| Ok(Applied::Stored(s))).collect(),
        Err(err) => {
            let error = crate::describe(&err);
            let mut answers = vec![Err(ArchiveErrorOr::Archive(err))];
            answers.extend(
                group[1..]
                    .iter()
                    .map(|_| Err(ArchiveErrorOr::Archive(ArchiveError::Writer(error.clone())))),
            );
            answers
        }
    }
}

/// A group of one revision or more, or of one other event.
fn apply_events(local: &dyn Archive, group: &[Received]) -> Vec<Result<Applied, ArchiveErrorOr>> {
    let answer = match &group[0].event {
        Ok(Event::Revision { .. }) => return apply_revisions(local, group),
        Err(detail) => Err(ArchiveErrorOr::Undecodable(detail.clone())),
        Ok(Event::Gone { id, at }) => local
            .mark_gone(id, *at)
            .map(Applied::Marked)
            .map_err(ArchiveErrorOr::Archive),
        Ok(Event::Reparse {
            article,
            at,
            profile,
        }) => local
            .store_reextracted(Reextracted {
                article: (**article).clone(),
                at: *at,
                profile: profile.clone(),
            })
            .map(Applied::Stored)
            .map_err(ArchiveErrorOr::Archive),
        Ok(Event::Asset {
            url,
            capture,
            fetched_at,
            user_agent,
            validators,
        }) => local
            .store_asset(AssetIngest {
                url: url.clone(),
                capture: capture.clone(),
                fetched_at: *fetched_at,
                user_agent: user_agent.clone(),
                validators: validators.clone(),
            })
            .map(|info| Applied::Asset(Box::new(info)))
            .map_err(ArchiveErrorOr::Archive),
    };
    vec![answer]
}

/// Keeps the position durably, then tells the waiting writers.
fn finish(local: &dyn Archive, progress: &Progress, last: u64) -> Result<(), String> {
    if last > progress.applied() {
        local
            .set_state(APPLIED_KEY, Some(&last.to_string()))
            .map_err(|err| format!("cannot keep the stream position: {}", crate::describe(&err)))?;
        progress.applied.send_replace(last);
    }
    Ok(())
}

/// The position this node's archive keeps: 0 when it has applied nothing.
pub fn position(local: &dyn Archive) -> u64 {
    local
        .state(APPLIED_KEY)
        .ok()
        .flatten()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(body: &[u8]) -> Capture {
        Capture {
            url: "http://portal.test/a?ItemID=1".into(),
            status: 200,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: body.to_vec(),
        }
    }

    #[test]
    fn an_event_keeps_its_captured_bytes_through_a_message() {
        // Bytes that are not UTF-8 and hold newlines: only the first newline ends the JSON.
        let body = b"<html>\n\xff\xfe\n</html>".to_vec();
        let event = Event::Asset {
            url: "http://portal.test/a.pdf".into(),
            capture: capture(&body),
            fetched_at: "2026-12-07T10:00:00+07:00".parse().unwrap(),
            user_agent: "gazette".into(),
            validators: Validators::default(),
        };
        let decoded = Event::decode(&event.encode()).unwrap();
        match decoded {
            Event::Asset { capture, url, .. } => {
                assert_eq!(capture.body, body);
                assert_eq!(url, "http://portal.test/a.pdf");
            }
            other => panic!("decoded as {other:?}"),
        }
        assert!(Event::decode(b"{\"event\":\"gone\"}").is_err());
        assert!(Event::decode(b"not json\n").is_err());
    }

    #[test]
    fn a_revision_is_named_by_article_number_and_hash() {
        let id = ArticleId("bqlkkt:42".into());
        assert_eq!(
            revision_id(&id, 2, "sha256:ab", None),
            "bqlkkt:42:2:sha256:ab"
        );
        assert_ne!(
            revision_id(&id, 2, "sha256:ab", Some("1")),
            revision_id(&id, 2, "sha256:ab", Some("2"))
        );
        assert_eq!(short_digest(&("a", 1)), short_digest(&("a", 1)));
        assert_ne!(short_digest(&("a", 1)), short_digest(&("a", 2)));
    }
}
