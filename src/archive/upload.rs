//! Uploading closed WARC files to the object store (`[storage.object_store]`), each with its CDXJ
//! index, and trimming the local copies down to `local_cache_bytes` once an upload is confirmed.
//! A closed file is any WARC file but the newest: the writer only ever appends to the newest.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use serde::Serialize;
use thiserror::Error;
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use super::remote::{Bucket, RemoteError};
use super::warc::{self, WarcError};
use super::{ArchiveError, Handle, cdxj};
use crate::config::StorageConfig;
use crate::metrics::METRICS;

/// Bytes of one part of a multipart upload.
pub const CHUNK_BYTES: usize = 8 * 1024 * 1024;
/// Parts in flight at once for one file.
const PARTS_AT_ONCE: usize = 4;
/// How often the WARC directory is looked at for newly closed files.
pub const POLL: Duration = Duration::from_secs(2);
/// The first wait after a failure; each further failure doubles it, up to [`LAST_RETRY`].
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(300);
/// The crawl state key under which a file's confirmed upload (its size) is kept.
const STATE_PREFIX: &str = "warc-uploaded:";
/// Bounds the time one request of an upload may take (a part is [`CHUNK_BYTES`]).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Error)]
pub enum UploadError {
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error("the archive's upload records")]
    Archive(#[from] ArchiveError),
    #[error("cannot read {}", path.display())]
    Local {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot index {file}")]
    Index {
        file: String,
        #[source]
        source: WarcError,
    },
    #[error(
        "{file}: the object store holds {remote:?} bytes after the upload, the local file {local}"
    )]
    Unconfirmed {
        file: String,
        local: u64,
        remote: Option<u64>,
    },
    #[error("an upload task ended abnormally")]
    Task(#[source] tokio::task::JoinError),
}

/// What the uploader has done and has to do: `/healthz` shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Progress {
    /// Closed files not yet uploaded.
    pub waiting_files: usize,
    /// Seconds since the oldest of them was last written (0 when none waits).
    pub oldest_waiting_secs: u64,
    /// The last failure, until an upload succeeds again.
    pub last_error: Option<String>,
    pub uploaded_files: u64,
    pub uploaded_bytes: u64,
    pub failures: u64,
}

/// The uploader's [`Progress`], shared with the server.
#[derive(Debug, Default)]
pub struct UploadStatus(Mutex<(Progress, Option<SystemTime>)>);

impl UploadStatus {
    /// The progress now: the oldest waiting file's age is counted to this moment, also while
    /// the uploader waits out a backoff.
    pub fn progress(&self) -> Progress {
        let (progress, oldest) = &*self.lock();
        Progress {
            oldest_waiting_secs: age(*oldest),
            ..progress.clone()
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Progress, Option<SystemTime>)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn waiting(&self, files: &[Waiting]) {
        let oldest = files.iter().map(|f| f.modified).min();
        let mut status = self.lock();
        status.0.waiting_files = files.len();
        status.1 = oldest;
        METRICS.uploads_waiting(files.len(), age(oldest));
    }

    /// Brings the gauges up to date while nothing else changes.
    fn tick(&self) {
        let status = self.lock();
        METRICS.uploads_waiting(status.0.waiting_files, age(status.1));
    }

    fn uploaded(&self, bytes: u64) {
        let progress = &mut self.lock().0;
        progress.uploaded_files += 1;
        progress.uploaded_bytes += bytes;
        progress.last_error = None;
        METRICS.uploaded(bytes);
    }

    fn failed(&self, err: &UploadError) {
        let progress = &mut self.lock().0;
        progress.failures += 1;
        progress.last_error = Some(crate::describe(err));
        METRICS.upload_failed();
    }
}

/// Whole seconds since `since`; 0 for none.
fn age(since: Option<SystemTime>) -> u64 {
    since.map_or(0, |since| {
        SystemTime::now()
            .duration_since(since)
            .unwrap_or_default()
            .as_secs()
    })
}

/// A closed file not yet uploaded.
struct Waiting {
    name: String,
    size: u64,
    modified: SystemTime,
}

/// A closed file on the local disk, and the size its confirmed upload had, if any.
struct Closed {
    name: String,
    size: u64,
    modified: SystemTime,
    uploaded: Option<u64>,
}

/// Uploads closed WARC files until `shutdown`: every [`POLL`], or after a failure once its
/// backoff has passed.
pub async fn serve(
    archive: Handle,
    storage: StorageConfig,
    status: Arc<UploadStatus>,
    shutdown: CancellationToken,
) {
    let Some(config) = storage.object_store.clone() else {
        return;
    };
    let bucket = match Bucket::new(&config, REQUEST_TIMEOUT) {
        Ok(bucket) => bucket,
        Err(err) => {
            let err = UploadError::from(err);
            tracing::error!(error = %crate::describe(&err), "WARC files are not uploaded");
            status.failed(&err);
            return;
        }
    };
    tracing::info!(bucket = %bucket.url(), "uploading closed WARC files");
    let mut retry = FIRST_RETRY;
    loop {
        let passed = tokio::select! {
            _ = shutdown.cancelled() => return,
            passed = pass(&archive, &bucket, &storage, &status) => passed,
        };
        let wait = match passed {
            Ok(()) => {
                retry = FIRST_RETRY;
                POLL
            }
            Err(err) => {
                tracing::warn!(error = %crate::describe(&err), retry_in = ?retry, "a WARC upload failed");
                status.failed(&err);
                let wait = retry;
                retry = (retry * 2).min(LAST_RETRY);
                wait
            }
        };
        let until = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < until {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(until.min(tokio::time::Instant::now() + POLL)) => {}
            }
            status.tick();
        }
    }
}

/// Uploads every closed file not yet uploaded, oldest first, then trims the local copies.
async fn pass(
    archive: &Handle,
    bucket: &Bucket,
    storage: &StorageConfig,
    status: &UploadStatus,
) -> Result<(), UploadError> {
    let dir = storage.path.join("warc");
    let closed = closed_files(archive, &dir).await?;
    let mut waiting: Vec<Waiting> = closed
        .iter()
        .filter(|f| f.uploaded != Some(f.size))
        .map(|f| Waiting {
            name: f.name.clone(),
            size: f.size,
            modified: f.modified,
        })
        .collect();
    status.waiting(&waiting);
    while let Some(file) = waiting.first() {
        upload(bucket, &dir, &file.name, file.size).await?;
        let (key, size) = (
            format!("{STATE_PREFIX}{}", file.name),
            file.size.to_string(),
        );
        archive
            .run(move |archive| archive.set_state(&key, Some(&size)))
            .await?;
        tracing::info!(file = %file.name, bytes = file.size, "WARC file uploaded");
        status.uploaded(file.size);
        waiting.remove(0);
        status.waiting(&waiting);
    }
    let limit = storage
        .object_store
        .as_ref()
        .map_or(u64::MAX, |c| c.local_cache_bytes);
    trim(&dir, closed_files(archive, &dir).await?, limit).await
}

/// The closed files of the WARC directory, oldest first, with their recorded uploads.
async fn closed_files(archive: &Handle, dir: &Path) -> Result<Vec<Closed>, UploadError> {
    let dir = dir.to_path_buf();
    archive
        .run(move |archive| {
            let mut names = match warc::files(&dir) {
                Ok(names) => names,
                // No file written yet.
                Err(err) if err.is_missing_file() || !dir.exists() => Vec::new(),
                Err(err) => return Err(ArchiveError::Warc(err)),
            };
            names.pop();
            let mut closed = Vec::with_capacity(names.len());
            for name in names {
                let path = dir.join(&name);
                let meta = match std::fs::metadata(&path) {
                    Ok(meta) => meta,
                    // Trimmed meanwhile.
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(source) => return Err(ArchiveError::Io { path, source }),
                };
                let uploaded = archive
                    .state(&format!("{STATE_PREFIX}{name}"))?
                    .and_then(|size| size.parse().ok());
                closed.push(Closed {
                    name,
                    size: meta.len(),
                    modified: meta.modified().unwrap_or_else(|_| SystemTime::now()),
                    uploaded,
                });
            }
            Ok(closed)
        })
        .await
        .map_err(UploadError::from)
}

/// Uploads one closed file of `dir` (unless the bucket holds it already, at its size) and its
/// CDXJ index, and confirms the upload with a HEAD.
pub async fn upload(bucket: &Bucket, dir: &Path, name: &str, size: u64) -> Result<(), UploadError> {
    if bucket.size(name).await? != Some(size) {
        put_file(bucket, &dir.join(name), name).await?;
    }
    let index_name = cdxj::file_name(name);
    let index = {
        let (dir, file) = (dir.to_path_buf(), name.to_string());
        tokio::task::spawn_blocking(move || cdxj::index(&dir, &file))
            .await
            .map_err(UploadError::Task)?
            .map_err(|source| UploadError::Index {
                file: name.to_string(),
                source,
            })?
    };
    let key = bucket.key(&index_name);
    bucket
        .store()
        .put(&key, PutPayload::from(index.into_bytes()))
        .await
        .map_err(bucket.error("write", &key))?;
    match bucket.size(name).await? {
        Some(remote) if remote == size => Ok(()),
        remote => Err(UploadError::Unconfirmed {
            file: name.to_string(),
            local: size,
            remote,
        }),
    }
}

/// A multipart upload of the file at `path`, [`CHUNK_BYTES`] a part; aborted on failure.
async fn put_file(bucket: &Bucket, path: &Path, name: &str) -> Result<(), UploadError> {
    let key = bucket.key(name);
    let local = |source| UploadError::Local {
        path: path.to_path_buf(),
        source,
    };
    let mut file = tokio::fs::File::open(path).await.map_err(local)?;
    let upload = bucket
        .store()
        .put_multipart(&key)
        .await
        .map_err(bucket.error("write", &key))?;
    let mut parts = WriteMultipart::new_with_chunk_size(upload, CHUNK_BYTES);
    let mut buffer = vec![0; CHUNK_BYTES];
    let sent: Result<(), UploadError> = async {
        loop {
            let read = file.read(&mut buffer).await.map_err(local)?;
            if read == 0 {
                return Ok(());
            }
            parts
                .wait_for_capacity(PARTS_AT_ONCE)
                .await
                .map_err(bucket.error("write", &key))?;
            parts.write(&buffer[..read]);
        }
    }
    .await;
    match sent {
        Ok(()) => {
            parts.finish().await.map_err(bucket.error("write", &key))?;
            Ok(())
        }
        Err(err) => {
            let _ = parts.abort().await;
            Err(err)
        }
    }
}

/// Deletes confirmed uploads from the local disk, oldest first, until those left take at most
/// `limit` bytes. A file changed since its upload is kept until it is uploaded again.
async fn trim(dir: &Path, closed: Vec<Closed>, limit: u64) -> Result<(), UploadError> {
    let uploaded: Vec<Closed> = closed
        .into_iter()
        .filter(|f| f.uploaded == Some(f.size))
        .collect();
    let mut kept: u64 = uploaded.iter().map(|f| f.size).sum();
    for file in uploaded {
        if kept <= limit {
            break;
        }
        let path = dir.join(&file.name);
        // Its CDXJ goes first: a local index naming a file no longer here would send a replay
        // tool reading the directory to a missing file (the bucket has both).
        let index = dir.join(cdxj::file_name(&file.name));
        match tokio::fs::remove_file(&index).await {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(UploadError::Local {
                    path: index,
                    source,
                });
            }
        }
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {
                tracing::debug!(file = %file.name, "uploaded WARC file removed from the local cache")
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(UploadError::Local { path, source }),
        }
        kept -= file.size;
    }
    Ok(())
}
