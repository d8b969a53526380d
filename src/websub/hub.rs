//! The builtin hub (`server.websub_builtin`): subscription requests, verification of intent,
//! leases kept in the archive, and signed deliveries of changed feeds.
//!
//! A request is checked at once (parameters, rate limits, the callback's resolved addresses,
//! the number of subscriptions, room among the requests being verified) and answered 202; the
//! callback is then asked to echo a challenge, and only a callback that does becomes a
//! subscriber. Nothing is delivered before that.
//!
//! - [`limits`]: who is counted for what (refusals per client address, accepted requests per
//!   client address and per callback origin).
//! - [`verify`]: the queue of requests being verified, apart from the subscriptions, and the
//!   retries of callbacks that timed out.
//! - [`delivery`]: pushing changed feeds to subscribers.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{FixedOffset, Utc};
use tokio::sync::{Semaphore, watch};

use super::address;
use super::intent::{Intent, Mode, Refusal};
use super::{MAX_REQUESTS_IN_FLIGHT, all_topics, hub_urls};
use crate::archive::{Archive, ArchiveError, Subscription};
use crate::config::Config;
use crate::metrics::METRICS;

mod delivery;
mod limits;
mod verify;

pub use delivery::{DELIVERY_ATTEMPTS, MAX_FAILED_DELIVERIES, sign};
pub use limits::{
    CALLBACK_REQUESTS_PER_MINUTE, CLIENT_REFUSALS_PER_MINUTE, CLIENT_REQUESTS_PER_MINUTE, Client,
};
pub use verify::{RETRY_SLOTS, Timing, VERIFY_RETRY_AFTER, VERIFY_TIMEOUT, client_share};

use verify::{Crowded, Pending};

/// The shortest lease granted, whatever `hub.lease_seconds` asks.
pub const MIN_LEASE_SECS: u64 = 60;
/// How often expired leases are dropped (deliveries check too).
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// What the hub holds in memory: the verified subscriptions (as kept in the archive), the
/// requests being verified, and the request counts of the rate limits.
struct State {
    active: BTreeMap<(String, String), Subscription>,
    pending: Pending,
    limits: limits::Limits,
}

/// The builtin hub.
pub struct Hub {
    config: Arc<Config>,
    archive: Arc<dyn Archive>,
    topics: HashSet<String>,
    /// `Link` header of deliveries, less the topic's `rel="self"`.
    hub_links: String,
    state: Mutex<State>,
    /// Deliveries in flight at once.
    permits: Arc<Semaphore>,
    timing: Timing,
    /// Retries of verifications in flight at once ([`RETRY_SLOTS`]).
    retry_slots: Semaphore,
    /// The number of verified subscriptions, sent at every change.
    subscribed: watch::Sender<usize>,
}

impl Hub {
    /// The hub of `config`, with the subscriptions the archive kept (expired ones dropped).
    pub fn open(config: Arc<Config>, archive: Arc<dyn Archive>) -> Result<Arc<Hub>, ArchiveError> {
        Hub::open_with(config, archive, Timing::default())
    }

    /// [`Hub::open`], waiting on callbacks it verifies as `timing` says.
    pub fn open_with(
        config: Arc<Config>,
        archive: Arc<dyn Archive>,
        timing: Timing,
    ) -> Result<Arc<Hub>, ArchiveError> {
        let now = Utc::now().fixed_offset();
        let mut active = BTreeMap::new();
        for subscription in archive.subscriptions()? {
            if subscription.expires <= now {
                archive.set_subscription(&subscription.topic, &subscription.callback, None)?;
                continue;
            }
            let key = (subscription.topic.clone(), subscription.callback.clone());
            active.insert(key, subscription);
        }
        METRICS.websub_subscriptions(active.len());
        let hub_links = hub_urls(&config)
            .iter()
            .map(|hub| format!("<{hub}>; rel=\"hub\""))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(Arc::new(Hub {
            topics: all_topics(&config)
                .into_iter()
                .map(|t| t.url.to_string())
                .collect(),
            config,
            archive,
            hub_links,
            subscribed: watch::Sender::new(active.len()),
            state: Mutex::new(State {
                active,
                pending: Pending::default(),
                limits: limits::Limits::new(),
            }),
            permits: Arc::new(Semaphore::new(MAX_REQUESTS_IN_FLIGHT)),
            timing,
            retry_slots: Semaphore::new(RETRY_SLOTS),
        }))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Verified subscriptions held now.
    pub fn subscriptions(&self) -> usize {
        self.state().active.len()
    }

    /// The number of verified subscriptions, changed each time it does: what waits for a
    /// subscription to take effect (or to end) watches this.
    pub fn watch_subscriptions(&self) -> watch::Receiver<usize> {
        self.subscribed.subscribe()
    }

    /// Requests being verified now, on their first attempt.
    pub fn pending(&self) -> usize {
        self.state().pending.len()
    }

    /// Publishes the number of verified subscriptions.
    fn counted(&self, subscriptions: usize) {
        METRICS.websub_subscriptions(subscriptions);
        self.subscribed.send_replace(subscriptions);
    }

    /// Reads a subscription request's form (see [`Intent::parse`]) and admits it: rate limits,
    /// the callback's addresses, room for it; then verifies it on a task of its own. `Ok` is the
    /// 202 of the recommendation: accepted, not yet verified. `client` is the address the
    /// request came from; without it (a server started without connection info) the limits of
    /// clients are not applied.
    pub async fn request(
        self: &Arc<Self>,
        client: Option<IpAddr>,
        body: &[u8],
    ) -> Result<(), Refusal> {
        let client = client.map(Client::of);
        if let Some(client) = client {
            self.state().limits.check_refusals(client, Instant::now())?;
        }
        let admitted = self.admit(client, body).await;
        if let (Err(_), Some(client)) = (&admitted, client) {
            self.state().limits.refused(client, Instant::now());
        }
        admitted
    }

    async fn admit(self: &Arc<Self>, client: Option<Client>, body: &[u8]) -> Result<(), Refusal> {
        let intent = Intent::parse(body, &self.topics)?;
        let origin = limits::callback_origin(&intent.callback);
        let taken = self.state().limits.take(origin, client, Instant::now())?;
        // Refused before any connection: an internal callback is never contacted.
        let checked =
            address::check(&intent.callback, self.config.server.websub_allow_private).await;
        let mut state = self.state();
        if let Err(err) = checked {
            state.limits.give_back(taken);
            return Err(Refusal::Callback(err));
        }
        let key = (intent.topic.to_string(), intent.callback.to_string());
        if state.pending.contains(&key) {
            // Being verified already: that verification answers this request too.
            return Ok(());
        }
        let max = self.config.server.websub_max_subscriptions;
        let adds = intent.mode == Mode::Subscribe && !state.active.contains_key(&key);
        let max_pending = self.config.server.websub_max_pending;
        let retry_after = self.timing.attempt.as_secs().max(1);
        let queued = if adds && state.active.len() >= max {
            Err(Refusal::Full(max))
        } else {
            state
                .pending
                .insert(key.clone(), client, max_pending)
                .map_err(|crowded| match crowded {
                    Crowded::Full => Refusal::Busy {
                        pending: max_pending,
                        retry_after,
                    },
                    Crowded::Client => Refusal::RateLimited {
                        what: "subscription requests from this address being verified",
                        retry_after,
                    },
                })
        };
        if let Err(refusal) = queued {
            state.limits.give_back(taken);
            return Err(refusal);
        }
        drop(state);
        self.start_verifying(key, intent);
        Ok(())
    }

    /// Makes a verified request take effect, in the archive first.
    async fn apply(&self, intent: Intent, lease: u64) {
        let topic = intent.topic.to_string();
        let callback = intent.callback.to_string();
        let kept = match intent.mode {
            Mode::Subscribe => Some(Subscription {
                topic: topic.clone(),
                callback: callback.clone(),
                secret: intent.secret,
                expires: in_seconds(lease),
                failures: 0,
            }),
            Mode::Unsubscribe => None,
        };
        let max = self.config.server.websub_max_subscriptions;
        let key = (topic.clone(), callback.clone());
        {
            // Verified while others were: room was checked when it was asked, not since.
            let state = self.state();
            if kept.is_some() && !state.active.contains_key(&key) && state.active.len() >= max {
                tracing::warn!(%callback, %topic, max, "WebSub: verified, but the hub holds its maximum of subscriptions");
                return;
            }
        }
        if let Err(err) = self.keep(&topic, &callback, kept.clone()).await {
            tracing::error!(error = %crate::describe(&err), %callback, "WebSub: cannot keep a subscription");
            return;
        }
        let mut state = self.state();
        match kept {
            Some(subscription) => {
                state.active.insert(key, subscription);
            }
            None => {
                state.active.remove(&key);
            }
        }
        self.counted(state.active.len());
        tracing::info!(%callback, %topic, mode = intent.mode.as_str(), "WebSub: intent verified");
    }

    /// Writes (or drops) a subscription through the archive's writer, off the async threads.
    async fn keep(
        &self,
        topic: &str,
        callback: &str,
        kept: Option<Subscription>,
    ) -> Result<(), ArchiveError> {
        let archive = self.archive.clone();
        let (topic, callback) = (topic.to_string(), callback.to_string());
        tokio::task::spawn_blocking(move || {
            archive.set_subscription(&topic, &callback, kept.as_ref())
        })
        .await
        .unwrap_or_else(|err| Err(ArchiveError::Task(err)))
    }

    /// Drops the subscriptions whose lease has ended.
    pub async fn drop_expired(&self) {
        let now = Utc::now().fixed_offset();
        let expired: Vec<Subscription> = {
            let mut state = self.state();
            let keys: Vec<_> = state
                .active
                .iter()
                .filter(|(_, s)| s.expires <= now)
                .map(|(k, _)| k.clone())
                .collect();
            let gone = keys.iter().filter_map(|k| state.active.remove(k)).collect();
            self.counted(state.active.len());
            gone
        };
        for subscription in expired {
            tracing::info!(callback = %subscription.callback, topic = %subscription.topic, "WebSub: lease ended");
            if let Err(err) = self
                .keep(&subscription.topic, &subscription.callback, None)
                .await
            {
                tracing::error!(error = %crate::describe(&err), "WebSub: cannot drop a subscription");
            }
        }
    }
}

fn in_seconds(seconds: u64) -> chrono::DateTime<FixedOffset> {
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    (Utc::now() + chrono::Duration::try_seconds(seconds).unwrap_or(chrono::Duration::MAX))
        .fixed_offset()
}
