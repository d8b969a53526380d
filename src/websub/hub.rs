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
use hmac::{Hmac, KeyInit, Mac};
use lru::LruCache;
use sha2::Sha256;
use tokio::sync::Semaphore;
use url::Url;

use super::address::{self, AddressError};
use super::publish::backoff;
use super::{Document, MAX_REQUESTS_IN_FLIGHT, REQUEST_TIMEOUT, Topic, all_topics, hub_urls};
use crate::archive::{Archive, ArchiveError, Subscription};
use crate::config::Config;
use crate::metrics::METRICS;

/// `hub.secret` must be shorter than this (the recommendation's limit).
pub const MAX_SECRET_BYTES: usize = 200;
/// The longest `hub.callback` accepted.
pub const MAX_CALLBACK_BYTES: usize = 2048;
/// The shortest lease granted, whatever `hub.lease_seconds` asks.
pub const MIN_LEASE_SECS: u64 = 60;
/// Tries of one delivery: the first and three retries (after 1 s, 4 s, 16 s).
pub const DELIVERY_ATTEMPTS: u32 = 4;
/// A subscriber whose deliveries failed this many times in a row (each after its retries) is
/// dropped; one that answers 410 Gone is dropped at once.
pub const MAX_FAILED_DELIVERIES: u32 = 5;
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

/// `hub.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Subscribe,
    Unsubscribe,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Subscribe => "subscribe",
            Mode::Unsubscribe => "unsubscribe",
        }
    }
}

/// A subscription request, its parameters checked.
#[derive(Debug, Clone)]
pub struct Intent {
    pub mode: Mode,
    pub topic: Url,
    pub callback: Url,
    pub lease_seconds: Option<u64>,
    pub secret: Option<String>,
}

/// Why a subscription request is refused; the server answers it as JSON.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("bad parameter {param}: {detail}")]
    BadParameter { param: &'static str, detail: String },
    #[error("hub.callback: {0}")]
    Callback(#[source] AddressError),
    #[error("too many subscription requests for this {what}; retry in {retry_after} s")]
    RateLimited {
        what: &'static str,
        retry_after: u64,
    },
    #[error("the hub holds its maximum of {0} subscriptions")]
    Full(usize),
}

fn bad(param: &'static str, detail: impl Into<String>) -> Refusal {
    Refusal::BadParameter {
        param,
        detail: detail.into(),
    }
}

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

    /// Reads a form-encoded request body. Parameters the recommendation does not name are
    /// ignored, as it asks; a named one given twice is refused.
    pub fn intent(&self, body: &[u8]) -> Result<Intent, Refusal> {
        let mut fields: [Option<String>; 5] = Default::default();
        const NAMES: [&str; 5] = [
            "hub.mode",
            "hub.topic",
            "hub.callback",
            "hub.lease_seconds",
            "hub.secret",
        ];
        for (name, value) in url::form_urlencoded::parse(body) {
            if let Some(at) = NAMES.iter().position(|n| *n == name) {
                if fields[at].is_some() {
                    return Err(bad(NAMES[at], "given more than once"));
                }
                fields[at] = Some(value.into_owned());
            }
        }
        let [mode, topic, callback, lease, secret] = fields;
        let mode = match mode.as_deref() {
            Some("subscribe") => Mode::Subscribe,
            Some("unsubscribe") => Mode::Unsubscribe,
            Some(other) => {
                return Err(bad(
                    "hub.mode",
                    format!("expected subscribe or unsubscribe, got {other:?}"),
                ));
            }
            None => return Err(bad("hub.mode", "missing")),
        };
        let topic = topic.ok_or_else(|| bad("hub.topic", "missing"))?;
        let topic = Url::parse(&topic)
            .ok()
            .filter(|url| self.topics.contains(url.as_str()))
            .ok_or_else(|| {
                bad(
                    "hub.topic",
                    format!("{topic:?} is not a feed of this server (see /feeds.opml)"),
                )
            })?;
        let callback = callback.ok_or_else(|| bad("hub.callback", "missing"))?;
        if callback.len() > MAX_CALLBACK_BYTES {
            return Err(bad(
                "hub.callback",
                format!("longer than {MAX_CALLBACK_BYTES} bytes"),
            ));
        }
        let callback = Url::parse(&callback)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| {
                bad(
                    "hub.callback",
                    format!("expected an absolute http(s) URL, got {callback:?}"),
                )
            })?;
        let lease_seconds = match lease.as_deref() {
            None | Some("") => None,
            Some(text) => Some(text.parse::<u64>().map_err(|_| {
                bad(
                    "hub.lease_seconds",
                    format!("expected a number of seconds, got {text:?}"),
                )
            })?),
        };
        if let Some(secret) = &secret
            && secret.len() >= MAX_SECRET_BYTES
        {
            return Err(bad(
                "hub.secret",
                format!("expected fewer than {MAX_SECRET_BYTES} bytes"),
            ));
        }
        Ok(Intent {
            mode,
            topic,
            callback,
            lease_seconds,
            secret: secret.filter(|s| !s.is_empty()),
        })
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

    /// Delivers `document` to every subscriber of `topic`, each on a task of its own.
    pub fn deliver(self: &Arc<Self>, topic: &Topic, document: &Document) {
        let topic_url = topic.url.to_string();
        let subscribers: Vec<Subscription> = self
            .state()
            .active
            .range((topic_url.clone(), String::new())..)
            .take_while(|((t, _), _)| *t == topic_url)
            .map(|(_, s)| s.clone())
            .collect();
        for subscription in subscribers {
            let hub = self.clone();
            let document = document.clone();
            tokio::spawn(async move {
                let Ok(_permit) = hub.permits.clone().acquire_owned().await else {
                    return;
                };
                hub.deliver_one(subscription, &document).await;
            });
        }
    }

    async fn deliver_one(&self, subscription: Subscription, document: &Document) {
        if subscription.expires <= Utc::now().fixed_offset() {
            self.drop_expired().await;
            return;
        }
        let delivered = self.post(&subscription, document).await;
        let key = (subscription.topic.clone(), subscription.callback.clone());
        // The subscription as it is now: it may have been renewed or ended meanwhile.
        let Some(mut current) = self.state().active.get(&key).cloned() else {
            return;
        };
        let outcome = match &delivered {
            Delivered::Ok if current.failures == 0 => {
                METRICS.websub_delivered("ok");
                return;
            }
            Delivered::Ok => {
                current.failures = 0;
                "ok"
            }
            Delivered::Failed(_) if current.failures + 1 < MAX_FAILED_DELIVERIES => {
                current.failures += 1;
                "failed"
            }
            Delivered::Failed(_) | Delivered::Gone => "dropped",
        };
        METRICS.websub_delivered(outcome);
        let kept = (outcome != "dropped").then_some(current);
        if let Delivered::Failed(reason) = &delivered {
            tracing::warn!(callback = %subscription.callback, topic = %subscription.topic,
                %reason, dropped = kept.is_none(), "WebSub: delivery failed");
        }
        if let Err(err) = self.keep(&key.0, &key.1, kept.clone()).await {
            tracing::error!(error = %crate::describe(&err), "WebSub: cannot update a subscription");
        }
        let mut state = self.state();
        match kept {
            Some(subscription) => {
                if let Some(slot) = state.active.get_mut(&key) {
                    *slot = subscription;
                }
            }
            None => {
                state.active.remove(&key);
                tracing::info!(callback = %key.1, topic = %key.0, "WebSub: subscriber dropped");
            }
        }
        METRICS.websub_subscriptions(state.active.len());
    }

    /// One delivery with its retries. The callback's addresses are checked again each time.
    async fn post(&self, subscription: &Subscription, document: &Document) -> Delivered {
        let Ok(callback) = Url::parse(&subscription.callback) else {
            return Delivered::Gone;
        };
        let links = format!("{}, <{}>; rel=\"self\"", self.hub_links, subscription.topic);
        let signature = subscription
            .secret
            .as_deref()
            .map(|secret| format!("sha256={}", sign(secret.as_bytes(), &document.body)));
        let mut failure = String::new();
        for attempt in 1..=DELIVERY_ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(backoff(attempt - 1)).await;
            }
            let checked =
                match address::check(&callback, self.config.server.websub_allow_private).await {
                    Ok(checked) => checked,
                    Err(err) => {
                        failure = crate::describe(&err);
                        continue;
                    }
                };
            let client = match checked.client(&self.config.crawler.user_agent, REQUEST_TIMEOUT) {
                Ok(client) => client,
                Err(err) => return Delivered::Failed(crate::describe(&err)),
            };
            let mut request = client
                .post(callback.clone())
                .header(reqwest::header::CONTENT_TYPE, &document.content_type)
                .header(reqwest::header::LINK, &links)
                .body(document.body.clone());
            if let Some(signature) = &signature {
                request = request.header("X-Hub-Signature", signature);
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => return Delivered::Ok,
                Ok(response) if response.status() == reqwest::StatusCode::GONE => {
                    return Delivered::Gone;
                }
                Ok(response) => failure = format!("the callback answered {}", response.status()),
                Err(err) => failure = crate::describe(&err),
            }
        }
        Delivered::Failed(failure)
    }
}

/// How a delivery ended.
enum Delivered {
    Ok,
    /// 410 Gone: the subscriber asks to be forgotten.
    Gone,
    Failed(String),
}

/// Hex HMAC-SHA256 of `body` with `secret`: the `X-Hub-Signature` value after `sha256=`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
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
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

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
