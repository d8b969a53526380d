//! A source's lease: the one node that may run it now. The lease is a key of the
//! `gazette-leases` bucket holding `{holder, expires_at}`, moved only by compare-and-set (`create`
//! when absent, `update` at the revision read): of two nodes racing for it, one wins and the
//! other is told `WrongLastRevision`. A holder renews it while its run goes; a holder that dies
//! stops renewing, and after `expires_at` another node may take it over.

use std::time::Duration;

use async_nats::jetstream::kv;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ClusterError, failed};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub node: String,
    pub expires_at: DateTime<Utc>,
}

/// A lease held: renew it while running, release it when done.
#[derive(Debug)]
pub struct Lease {
    source: String,
    node: String,
    revision: u64,
    term: Duration,
}

/// What asking for a lease came to.
#[derive(Debug)]
pub enum Taken {
    Held(Lease),
    /// Another node holds it until then.
    Busy(Holder),
}

/// Takes `source`'s lease for `term`, unless a lease that has not expired is held.
pub async fn take(
    store: &kv::Store,
    source: &str,
    node: &str,
    term: Duration,
) -> Result<Taken, ClusterError> {
    let holder = Holder {
        node: node.to_string(),
        expires_at: Utc::now() + term,
    };
    let value = encode(&holder);
    let current = store
        .entry(source)
        .await
        .map_err(failed(format!("reading the lease of {source}")))?;
    let revision = match current {
        Some(entry) if entry.operation == kv::Operation::Put => {
            // A live lease is busy whoever holds it: held by this node, another of its workers
            // runs the source now (or this node died and came back within the term).
            if let Ok(other) = serde_json::from_slice::<Holder>(&entry.value)
                && other.expires_at > Utc::now()
            {
                return Ok(Taken::Busy(other));
            }
            store
                .update(source, value, entry.revision)
                .await
                .map_err(|e| e.to_string())
        }
        // Never taken, or released (a delete leaves a marker at a revision of its own).
        Some(entry) => store
            .update(source, value, entry.revision)
            .await
            .map_err(|e| e.to_string()),
        None => store.create(source, value).await.map_err(|e| e.to_string()),
    };
    match revision {
        Ok(revision) => Ok(Taken::Held(Lease {
            source: source.to_string(),
            node: node.to_string(),
            revision,
            term,
        })),
        // Lost a race: whoever won holds it now.
        Err(_) => match store.get(source).await {
            Ok(Some(bytes)) => match serde_json::from_slice::<Holder>(&bytes) {
                Ok(other) => Ok(Taken::Busy(other)),
                Err(_) => Ok(Taken::Busy(Holder {
                    node: "unknown".into(),
                    expires_at: Utc::now() + term,
                })),
            },
            Ok(None) => Ok(Taken::Busy(Holder {
                node: "unknown".into(),
                expires_at: Utc::now() + term,
            })),
            Err(err) => Err(failed(format!("reading the lease of {source}"))(err)),
        },
    }
}

impl Lease {
    /// Moves the expiry a term ahead; an error when another node has taken the lease meanwhile
    /// (this node was too slow to renew), and the run must stop.
    pub async fn renew(&mut self, store: &kv::Store) -> Result<(), ClusterError> {
        let holder = Holder {
            node: self.node.clone(),
            expires_at: Utc::now() + self.term,
        };
        self.revision = store
            .update(&self.source, encode(&holder), self.revision)
            .await
            .map_err(failed(format!("renewing the lease of {}", self.source)))?;
        Ok(())
    }

    /// Gives the lease up, if it is still this node's.
    pub async fn release(self, store: &kv::Store) {
        if let Err(err) = store
            .delete_expect_revision(&self.source, Some(self.revision))
            .await
        {
            tracing::debug!(source = %self.source, error = %err, "the lease was not released; it expires");
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }
}

fn encode(holder: &Holder) -> Bytes {
    Bytes::from(serde_json::to_vec(holder).unwrap_or_default())
}
