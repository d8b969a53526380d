//! The builtin WebSub hub's subscriptions, kept in the index's `websub` tree so they survive a
//! restart. Only verified subscriptions are kept; pending ones live in the hub's memory. They are
//! not in the WARC files: a rebuilt index starts without subscriptions, and subscribers renew.

use super::index;
use super::sled_store::SledArchive;
use super::write::Change;
use super::{ArchiveError, Subscription};

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
