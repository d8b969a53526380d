//! Verification of intent: the callback is asked to echo a challenge, and only one that does
//! becomes a subscriber (or stops being one).
//!
//! Requests being verified wait in a queue of their own (`websub_max_pending`), apart from the
//! verified subscriptions (`websub_max_subscriptions`), so callbacks that never answer cannot
//! fill the hub. Every first attempt starts at once (the queue bounds how many run) and may
//! take [`Timing::attempt`]: a verification never waits behind another. A callback that timed
//! out leaves the queue for the retries, which wait their turn ([`Timing::retry_after`]) and run
//! [`RETRY_SLOTS`] at a time, so they never hold back a first attempt.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::{Client, Hub, MIN_LEASE_SECS};
use crate::metrics::METRICS;
use crate::websub::address::{self, AddressError};
use crate::websub::intent::{Intent, Mode};

/// The most of a verification answer read: a challenge is 32 characters.
const MAX_ANSWER_BYTES: usize = 1024;
/// Retries of timed-out verifications that run at once.
pub const RETRY_SLOTS: usize = 2;
/// How long one verification attempt may take. Shorter than a delivery's: a callback that is
/// there answers a GET at once, and one that is not gives its place back sooner.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(5);
/// The waits before each retry of a verification that timed out; after the last, it is given up.
pub const VERIFY_RETRY_AFTER: [Duration; 3] = [
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(480),
];

/// How long the hub waits on callbacks it verifies.
#[derive(Debug, Clone)]
pub struct Timing {
    /// The longest one attempt may take.
    pub attempt: Duration,
    /// The wait before each retry of an attempt that timed out.
    pub retry_after: Vec<Duration>,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            attempt: VERIFY_TIMEOUT,
            retry_after: VERIFY_RETRY_AFTER.to_vec(),
        }
    }
}

/// A request being verified, by (topic, callback): a request already there is answered by the
/// verification under way.
pub(super) type Key = (String, String);

/// The requests being verified: those on their first attempt (bounded by
/// `websub_max_pending`, and each client to a share of it) and those waiting for a retry
/// (bounded alike, apart).
#[derive(Default)]
pub(super) struct Pending {
    first: HashMap<Key, Option<Client>>,
    retrying: HashSet<Key>,
    per_client: HashMap<Client, usize>,
}

/// Why a request may not be verified now.
#[derive(Debug)]
pub(super) enum Crowded {
    /// The queue is full.
    Full,
    /// This client holds its share of it.
    Client,
}

impl Pending {
    pub fn contains(&self, key: &Key) -> bool {
        self.first.contains_key(key) || self.retrying.contains(key)
    }

    /// Requests on their first attempt.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// Queues a first attempt of `key`, within `max` and the client's share of it.
    pub fn insert(&mut self, key: Key, client: Option<Client>, max: usize) -> Result<(), Crowded> {
        if self.first.len() >= max {
            return Err(Crowded::Full);
        }
        if let Some(client) = client {
            let held = self.per_client.entry(client).or_default();
            if *held >= client_share(max) {
                return Err(Crowded::Client);
            }
            *held += 1;
        }
        self.first.insert(key, client);
        Ok(())
    }

    /// Moves a timed-out first attempt to the retries; false when they are full (`max`).
    fn retry(&mut self, key: &Key, max: usize) -> bool {
        if self.first.contains_key(key) {
            if self.retrying.len() >= max {
                return false;
            }
            self.leave_first(key);
            self.retrying.insert(key.clone());
        }
        true
    }

    fn remove(&mut self, key: &Key) {
        self.leave_first(key);
        self.retrying.remove(key);
    }

    fn leave_first(&mut self, key: &Key) {
        if let Some(Some(client)) = self.first.remove(key)
            && let Some(held) = self.per_client.get_mut(&client)
        {
            *held -= 1;
            if *held == 0 {
                self.per_client.remove(&client);
            }
        }
    }
}

/// First attempts one client may have queued at once: an eighth of the queue, so that a few
/// addresses cannot fill it.
pub fn client_share(max_pending: usize) -> usize {
    (max_pending / 8).max(1)
}

/// How an attempt failed.
struct Unverified {
    reason: String,
    /// The callback did not answer in time: worth a retry, later.
    timed_out: bool,
}

impl Unverified {
    fn new(reason: impl Into<String>) -> Unverified {
        Unverified {
            reason: reason.into(),
            timed_out: false,
        }
    }
}

impl From<reqwest::Error> for Unverified {
    fn from(err: reqwest::Error) -> Unverified {
        Unverified {
            timed_out: err.is_timeout(),
            reason: crate::describe(&err),
        }
    }
}

impl From<AddressError> for Unverified {
    fn from(err: AddressError) -> Unverified {
        Unverified {
            timed_out: matches!(err, AddressError::ResolveTimeout(_)),
            reason: crate::describe(&err),
        }
    }
}

impl Hub {
    /// Verifies a queued request on a task of its own, with its retries, then applies it.
    pub(super) fn start_verifying(self: &Arc<Self>, key: Key, intent: Intent) {
        let hub = self.clone();
        tokio::spawn(async move {
            let mut hub = hub;
            let mut outcome = hub.verify(&intent).await;
            let mut waits = hub.timing.retry_after.clone().into_iter();
            while let Err(failed) = &outcome {
                let Some(wait) = waits.next().filter(|_| failed.timed_out) else {
                    break;
                };
                let max = hub.config.server.websub_max_pending;
                if !hub.state().pending.retry(&key, max) {
                    let reason = format!("{}; the retries are full", failed.reason);
                    outcome = Err(Unverified::new(reason));
                    break;
                }
                tracing::info!(callback = %intent.callback, topic = %intent.topic,
                    reason = %failed.reason, retry_in = ?wait, "WebSub: verification timed out");
                // Waiting, a retry does not keep a stopped hub (and its archive) alive.
                let waiting: Weak<Hub> = Arc::downgrade(&hub);
                drop(hub);
                tokio::time::sleep(wait).await;
                let Some(again) = waiting.upgrade() else {
                    return;
                };
                hub = again;
                let Ok(_slot) = hub.retry_slots.acquire().await else {
                    break;
                };
                outcome = hub.verify(&intent).await;
            }
            hub.state().pending.remove(&key);
            METRICS.websub_verified(outcome.is_ok());
            match outcome {
                Ok(lease) => hub.apply(intent, lease).await,
                Err(failed) => tracing::info!(
                    callback = %intent.callback, topic = %intent.topic, mode = intent.mode.as_str(),
                    reason = %failed.reason, "WebSub: intent not verified"
                ),
            }
        });
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
    async fn verify(&self, intent: &Intent) -> Result<u64, Unverified> {
        let checked =
            address::check(&intent.callback, self.config.server.websub_allow_private).await?;
        let client = checked.client(&self.config.crawler.user_agent, self.timing.attempt)?;
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
        let mut response = client.get(url).send().await?;
        if !response.status().is_success() {
            return Err(Unverified::new(format!(
                "the callback answered {}",
                response.status()
            )));
        }
        let mut answer = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            answer.extend_from_slice(&chunk);
            if answer.len() > MAX_ANSWER_BYTES {
                return Err(Unverified::new(
                    "the callback answered something else than the challenge",
                ));
            }
        }
        if answer.trim_ascii() != challenge.as_bytes() {
            return Err(Unverified::new("the callback did not echo the challenge"));
        }
        Ok(lease)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> Key {
        ("topic".into(), format!("http://reader.example/{i}"))
    }

    #[test]
    fn the_queue_is_bounded_and_a_client_holds_a_share_of_it() {
        let mut pending = Pending::default();
        let one = Client::of("192.0.2.1".parse().unwrap());
        let share = client_share(16);
        assert_eq!(share, 2);
        for i in 0..share {
            assert!(pending.insert(key(i), Some(one), 16).is_ok());
        }
        assert!(matches!(
            pending.insert(key(99), Some(one), 16),
            Err(Crowded::Client)
        ));
        for i in share..16 {
            assert!(pending.insert(key(i), None, 16).is_ok());
        }
        assert!(matches!(
            pending.insert(key(100), None, 16),
            Err(Crowded::Full)
        ));
        // A timed-out attempt leaves room in the queue, and in its client's share.
        assert!(pending.retry(&key(0), 16));
        assert!(pending.contains(&key(0)));
        assert_eq!(pending.len(), 15);
        assert!(pending.insert(key(101), Some(one), 16).is_ok());
        pending.remove(&key(0));
        assert!(!pending.contains(&key(0)));
    }

    #[test]
    fn retries_are_bounded_apart() {
        let mut pending = Pending::default();
        for i in 0..3 {
            pending.insert(key(i), None, 3).unwrap();
        }
        assert!(pending.retry(&key(0), 2));
        assert!(pending.retry(&key(1), 2));
        assert!(!pending.retry(&key(2), 2), "the retries are full");
        assert_eq!(pending.len(), 1);
    }
}
