//! The builtin WebSub hub's subscriptions, kept in the index's `websub` tree so they survive a
//! restart. Only verified subscriptions are kept; pending ones live in the hub's memory. They are
//! not in the WARC files: a rebuilt index starts without subscriptions, and subscribers renew.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::ArchiveError;
use super::index;
use super::sled_store::SledArchive;
use super::write::Change;

/// A verified subscription of a callback to a topic (one of gazette's feed URLs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub topic: String,
    pub callback: String,
    /// The `hub.secret` the subscriber gave: deliveries are signed with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// When the lease ends; the subscription is dropped then.
    pub expires: DateTime<FixedOffset>,
    /// Deliveries failed in a row (each after its retries); reset by a delivery that succeeds.
    #[serde(default)]
    pub failures: u32,
}

impl Subscription {
    /// `<topic>\0<callback>`: one subscription per pair, a topic's subscribers together.
    pub fn key(topic: &str, callback: &str) -> Vec<u8> {
        let mut key = Vec::with_capacity(topic.len() + callback.len() + 1);
        key.extend_from_slice(topic.as_bytes());
        key.push(0);
        key.extend_from_slice(callback.as_bytes());
        key
    }
}

/// The change that keeps (`Some`) or drops (`None`) the subscription of `callback` to `topic`.
pub(super) fn change(topic: &str, callback: &str, kept: Option<&Subscription>) -> Change {
    Change::Subscription {
        key: Subscription::key(topic, callback),
        value: kept.map(index::encode),
    }
}

impl SledArchive {
    /// Every kept subscription, by topic then callback.
    pub(super) fn read_subscriptions(&self) -> Result<Vec<Subscription>, ArchiveError> {
        self.trees()
            .websub
            .iter()
            .map(|item| {
                let (key, value) = item.map_err(|err| self.index_error(err))?;
                index::decode(&key, &value)
            })
            .collect()
    }
}
