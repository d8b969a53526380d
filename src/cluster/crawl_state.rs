//! What lets any node continue a source where another left off, in the `gazette-crawl` bucket:
//! the validators of list pages (an article page's are in its revision, on the archived
//! stream), crawl state such as backfill cursors, and each source's run log (which carries the
//! selector-health verdicts). Keys are `v.<digest of the URL>`, `s.<hex of the key>` and
//! `r.<source>`: a KV key allows only `[-/_=.a-zA-Z0-9]`.

use async_nats::jetstream::kv;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::{ClusterError, failed};
use crate::model::{RunReport, Validators};

/// Runs kept per source: more than selector health reads back.
pub const RUNS_KEPT: usize = 64;

fn validators_key(url: &str) -> String {
    format!("v.{}", hex::encode(&Sha256::digest(url.as_bytes())[..20]))
}

fn state_key(key: &str) -> String {
    format!("s.{}", hex::encode(key.as_bytes()))
}

fn runs_key(source: &str) -> String {
    format!("r.{source}")
}

pub async fn validators(store: &kv::Store, url: &str) -> Result<Option<Validators>, ClusterError> {
    let Some(bytes) = store
        .get(validators_key(url))
        .await
        .map_err(failed(format!("reading the validators of {url}")))?
    else {
        return Ok(None);
    };
    Ok(serde_json::from_slice(&bytes).ok())
}

pub async fn set_validators(
    store: &kv::Store,
    url: &str,
    validators: &Validators,
) -> Result<(), ClusterError> {
    let value = serde_json::to_vec(validators).unwrap_or_default();
    store
        .put(validators_key(url), Bytes::from(value))
        .await
        .map_err(failed(format!("keeping the validators of {url}")))?;
    Ok(())
}

pub async fn state(store: &kv::Store, key: &str) -> Result<Option<String>, ClusterError> {
    let value = store
        .get(state_key(key))
        .await
        .map_err(failed(format!("reading crawl state {key}")))?;
    Ok(value.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

pub async fn set_state(
    store: &kv::Store,
    key: &str,
    value: Option<&str>,
) -> Result<(), ClusterError> {
    match value {
        Some(value) => store
            .put(state_key(key), Bytes::from(value.to_string()))
            .await
            .map(drop)
            .map_err(failed(format!("keeping crawl state {key}"))),
        None => store
            .delete(state_key(key))
            .await
            .map_err(failed(format!("keeping crawl state {key}"))),
    }
}

/// Adds a run to its source's log, newest first, keeping [`RUNS_KEPT`]; compare-and-set, so two
/// nodes recording at once both land.
pub async fn record_run(store: &kv::Store, run: &RunReport) -> Result<(), ClusterError> {
    let key = runs_key(&run.source);
    loop {
        let entry = store
            .entry(&key)
            .await
            .map_err(failed(format!("reading the runs of {}", run.source)))?;
        let (mut runs, revision) = match entry {
            Some(entry) if entry.operation == kv::Operation::Put => (
                serde_json::from_slice::<Vec<RunReport>>(&entry.value).unwrap_or_default(),
                Some(entry.revision),
            ),
            Some(entry) => (Vec::new(), Some(entry.revision)),
            None => (Vec::new(), None),
        };
        runs.insert(0, run.clone());
        runs.truncate(RUNS_KEPT);
        let value = Bytes::from(serde_json::to_vec(&runs).unwrap_or_default());
        // A lost race (another node recorded first) reads again.
        match revision {
            Some(revision) => match store.update(&key, value, revision).await {
                Ok(_) => return Ok(()),
                Err(err) if err.kind() == kv::UpdateErrorKind::WrongLastRevision => {}
                Err(err) => return Err(failed(format!("recording a run of {}", run.source))(err)),
            },
            None => match store.create(&key, value).await {
                Ok(_) => return Ok(()),
                Err(err) if err.kind() == kv::CreateErrorKind::AlreadyExists => {}
                Err(err) => return Err(failed(format!("recording a run of {}", run.source))(err)),
            },
        }
    }
}

pub async fn runs(
    store: &kv::Store,
    source: &str,
    limit: usize,
) -> Result<Vec<RunReport>, ClusterError> {
    let bytes = store
        .get(runs_key(source))
        .await
        .map_err(failed(format!("reading the runs of {source}")))?;
    let mut runs: Vec<RunReport> = bytes
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    runs.truncate(limit);
    Ok(runs)
}
