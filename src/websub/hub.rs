//! The builtin hub (`server.websub_builtin`): subscription requests, verification of intent,
//! leases kept in the archive, and signed deliveries of changed feeds.
//!
//! A request is checked at once (parameters, rate limits, the callback's resolved addresses,
//! the number of subscriptions) and answered 202; the callback is then asked to echo a challenge,
//! and only a callback that does becomes a subscriber. Nothing is delivered before that.

use std::collections::{BTreeMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{FixedOffset, Utc};
use lru::LruCache;
use tokio::sync::Semaphore;

use super::address;
use super::intent::{Intent, Mode, Refusal};
use super::{MAX_REQUESTS_IN_FLIGHT, REQUEST_TIMEOUT, all_topics, hub_urls};
use crate::archive::{Archive, ArchiveError, Subscription};
use crate::config::Config;
use crate::metrics::METRICS;

mod delivery;

pub use delivery::{DELIVERY_ATTEMPTS, MAX_FAILED_DELIVERIES, sign};

/// The shortest lease granted, whatever `hub.lease_seconds` asks.
pub const MIN_LEASE_SECS: u64 = 60;
/// Subscription requests accepted per callback per minute.
pub const CALLBACK_REQUESTS_PER_MINUTE: u32 = 6;
/// Subscription requests accepted per topic per minute.
pub const TOPIC_REQUESTS_PER_MINUTE: u32 = 120;
/// Callbacks and topics whose request counts are remembered; the least recently seen are
/// forgotten first.
const LIMITED_KEYS: usize = 4096;
const WINDOW: Duration = Duration::from_secs(60);
/// How often expired leases are dropped (deliveries check too).
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// The most of a verification answer read: a challenge is 32 characters.
const MAX_ANSWER_BYTES: usize = 1024;

/// Requests counted in the current minute.
struct Window {
    started: Instant,
    count: u32,
}

/// What the hub holds in memory: the verified subscriptions (as kept in the archive), the
/// requests being verified, and the request counts of the rate limit.
struct State {
    active: BTreeMap<(String, String), Subscription>,
    pending: HashSet<(String, String)>,
    limits: LruCache<String, Window>,
}

/// The builtin hub.
pub struct Hub {
    config: Arc<Config>,
    archive: Arc<dyn Archive>,
    topics: HashSet<String>,
    /// `Link` header of deliveries, less the topic's `rel="self"`.
    hub_links: String,
    state: Mutex<State>,
    permits: Arc<Semaphore>,
}

impl Hub {
    /// The hub of `config`, with the subscriptions the archive kept (expired ones dropped).
    pub fn open(config: Arc<Config>, archive: Arc<dyn Archive>) -> Result<Arc<Hub>, ArchiveError> {
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
            state: Mutex::new(State {
                active,
                pending: HashSet::new(),
                limits: LruCache::new(NonZeroUsize::new(LIMITED_KEYS).unwrap_or(NonZeroUsize::MIN)),
            }),
            permits: Arc::new(Semaphore::new(MAX_REQUESTS_IN_FLIGHT)),
        }))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Verified subscriptions held now.
    pub fn subscriptions(&self) -> usize {
        self.state().active.len()
    }

    /// Reads a subscription request's form (see [`Intent::parse`]).
    pub fn intent(&self, body: &[u8]) -> Result<Intent, Refusal> {
        Intent::parse(body, &self.topics)
    }

    /// Admits a request: rate limits, the callback's addresses, room for it; then verifies it
    /// on a task of its own. `Ok` is the 202 of the recommendation: accepted, not yet verified.
    pub async fn request(self: &Arc<Self>, intent: Intent) -> Result<(), Refusal> {
        {
            let now = Instant::now();
            let mut state = self.state();
            for (what, key, max) in [
                (
                    "callback",
                    format!("c {}", intent.callback),
                    CALLBACK_REQUESTS_PER_MINUTE,
                ),
                (
                    "topic",
                    format!("t {}", intent.topic),
                    TOPIC_REQUESTS_PER_MINUTE,
                ),
            ] {
                if let Some(retry_after) = admit(&mut state.limits, key, max, now) {
                    return Err(Refusal::RateLimited { what, retry_after });
                }
            }
        }
        // Refused before any connection: an internal callback is never contacted.
        address::check(&intent.callback, self.config.server.websub_allow_private)
            .await
            .map_err(Refusal::Callback)?;
        let key = (intent.topic.to_string(), intent.callback.to_string());
        {
            let mut state = self.state();
            let max = self.config.server.websub_max_subscriptions;
            let held = state.active.len() + state.pending.len();
            let adds = intent.mode == Mode::Subscribe && !state.active.contains_key(&key);
            if (adds && held >= max) || state.pending.len() >= max {
                return Err(Refusal::Full(max));
            }
            if !state.pending.insert(key.clone()) {
                // Being verified already: that verification answers this request too.
                return Ok(());
            }
        }
        let hub = self.clone();
        tokio::spawn(async move {
            let verified = match hub.permits.clone().acquire_owned().await {
                Ok(_permit) => hub.verify(&intent).await,
                Err(_) => Err("the hub is stopping".to_string()),
            };
            hub.state().pending.remove(&key);
            METRICS.websub_verified(verified.is_ok());
            match verified {
                Ok(lease) => hub.apply(intent, lease).await,
                Err(reason) => tracing::info!(
                    callback = %intent.callback, topic = %intent.topic, mode = intent.mode.as_str(),
                    %reason, "WebSub: intent not verified"
                ),
            }
        });
        Ok(())
    }

    /// The lease this request gets: the one asked for, within [`MIN_LEASE_SECS`] and
    /// `websub_lease_secs`; that when none is asked for.
    fn lease(&self, intent: &Intent) -> u64 {
        let longest = self.config.server.websub_lease_secs;
        intent.lease_seconds.map_or(longest, |asked| {
            asked.clamp(MIN_LEASE_SECS.min(longest), longest)
        })
    }

    /// Asks the callback to echo a challenge; `Ok` with the lease granted when it does.
    async fn verify(&self, intent: &Intent) -> Result<u64, String> {
        let checked = address::check(&intent.callback, self.config.server.websub_allow_private)
            .await
            .map_err(|err| crate::describe(&err))?;
        let client = checked
            .client(&self.config.crawler.user_agent, REQUEST_TIMEOUT)
            .map_err(|err| crate::describe(&err))?;
        let challenge = uuid::Uuid::new_v4().simple().to_string();
        let lease = self.lease(intent);
        let mut url = intent.callback.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("hub.mode", intent.mode.as_str())
                .append_pair("hub.topic", intent.topic.as_str())
                .append_pair("hub.challenge", &challenge);
            if intent.mode == Mode::Subscribe {
                query.append_pair("hub.lease_seconds", &lease.to_string());
            }
        }
        let mut response = client
            .get(url)
            .send()
            .await
            .map_err(|err| crate::describe(&err))?;
        if !response.status().is_success() {
            return Err(format!("the callback answered {}", response.status()));
        }
        let mut answer = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| crate::describe(&err))?
        {
            answer.extend_from_slice(&chunk);
            if answer.len() > MAX_ANSWER_BYTES {
                return Err("the callback answered something else than the challenge".into());
            }
        }
        if answer.trim_ascii() != challenge.as_bytes() {
            return Err("the callback did not echo the challenge".into());
        }
        Ok(lease)
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
        if let Err(err) = self.keep(&topic, &callback, kept.clone()).await {
            tracing::error!(error = %crate::describe(&err), %callback, "WebSub: cannot keep a subscription");
            return;
        }
        let mut state = self.state();
        let key = (topic.clone(), callback.clone());
        match kept {
            Some(subscription) => {
                state.active.insert(key, subscription);
            }
            None => {
                state.active.remove(&key);
            }
        }
        METRICS.websub_subscriptions(state.active.len());
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
        .unwrap_or_else(|err| Err(ArchiveError::Writer(format!("the write stopped: {err}"))))
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
            METRICS.websub_subscriptions(state.active.len());
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

/// Counts a request of `key` in its minute; the seconds to wait when it is over `max`.
fn admit(
    limits: &mut LruCache<String, Window>,
    key: String,
    max: u32,
    now: Instant,
) -> Option<u64> {
    let window = limits.get_or_insert_mut(key, || Window {
        started: now,
        count: 0,
    });
    if now.duration_since(window.started) >= WINDOW {
        *window = Window {
            started: now,
            count: 0,
        };
    }
    if window.count >= max {
        let left = WINDOW.saturating_sub(now.duration_since(window.started));
        return Some(left.as_secs().max(1));
    }
    window.count += 1;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limit_counts_per_key_per_minute_within_its_memory() {
        let mut limits = LruCache::new(NonZeroUsize::new(2).unwrap());
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(admit(&mut limits, "a".into(), 3, start), None);
        }
        assert_eq!(admit(&mut limits, "a".into(), 3, start), Some(60));
        assert_eq!(admit(&mut limits, "b".into(), 3, start), None, "keys apart");
        let later = start + WINDOW;
        assert_eq!(
            admit(&mut limits, "a".into(), 3, later),
            None,
            "a new minute"
        );
        admit(&mut limits, "c".into(), 3, later);
        admit(&mut limits, "d".into(), 3, later);
        assert_eq!(limits.len(), 2, "bounded");
    }
}
