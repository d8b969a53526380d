//! WARC files in S3-compatible object storage (`[storage.object_store]`): the bucket, and the
//! reads of records whose file is no longer on the local disk (one ranged GET a record).
//! [`super::upload`] puts the files there.

use std::future::Future;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as Key;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use thiserror::Error;
use tokio::io::AsyncWriteExt;

use super::warc::{self, Location, ParsedRecord, WarcError};
use crate::config::{ObjectStoreConfig, StorageConfig};

/// The environment variables the object store's credentials are read from.
pub const CREDENTIAL_VARIABLES: [&str; 3] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// How long one request to the object store may take: a record read waits this long at most.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one request of an upload or a download may take (a part is 8 MiB).
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Error)]
pub enum RemoteError {
    #[error("cannot set up the object store {url}")]
    Config {
        url: String,
        #[source]
        source: Box<object_store::Error>,
    },
    /// A server of one's own (an `endpoint`) without credentials: the client would otherwise ask
    /// AWS's instance metadata address for them, which only an EC2 machine answers.
    #[error(
        "{url}: no credentials for {endpoint}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    NoCredentials { url: String, endpoint: String },
    #[error("cannot start the object store's client")]
    Runtime(#[source] std::io::Error),
    #[error("{url}: cannot {action} {key}")]
    Store {
        url: String,
        action: &'static str,
        key: String,
        #[source]
        source: Box<object_store::Error>,
    },
    #[error("cannot write {}", path.display())]
    Local {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the object store's client stopped")]
    Stopped,
}

impl RemoteError {
    /// True when the object asked for is not in the bucket.
    pub fn is_not_found(&self) -> bool {
        matches!(self, RemoteError::Store { source, .. }
            if matches!(**source, object_store::Error::NotFound { .. }))
    }
}

/// The bucket and prefix WARC files go to, as async code uses it.
#[derive(Clone)]
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// `s3://bucket/prefix`, for messages.
    url: String,
}

impl Bucket {
    /// A client of the configured bucket, its credentials from the `AWS_*` variables. Nothing is
    /// sent until it is used.
    pub fn new(config: &ObjectStoreConfig, timeout: Duration) -> Result<Bucket, RemoteError> {
        let url = config.url.to_string();
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&config.url.bucket)
            .with_region(&config.region)
            .with_allow_http(config.allow_http)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(config.allow_http)
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(timeout),
            )
            // gazette retries uploads itself, with its own backoff, and a read fails fast.
            .with_retry(RetryConfig {
                max_retries: 2,
                retry_timeout: timeout,
                ..RetryConfig::default()
            });
        if let Some(endpoint) = &config.endpoint {
            let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
            if !set("AWS_ACCESS_KEY_ID") || !set("AWS_SECRET_ACCESS_KEY") {
                return Err(RemoteError::NoCredentials {
                    url,
                    endpoint: endpoint.to_string(),
                });
            }
            builder = builder
                .with_endpoint(endpoint.as_str().trim_end_matches('/'))
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build().map_err(|source| RemoteError::Config {
            url: url.clone(),
            source: Box::new(source),
        })?;
        Ok(Bucket {
            store: Arc::new(store),
            prefix: config.url.prefix.clone(),
            url,
        })
    }

    /// The key of a file under the prefix.
    pub fn key(&self, name: &str) -> Key {
        if self.prefix.is_empty() {
            Key::from(name)
        } else {
            Key::from(format!("{}/{name}", self.prefix))
        }
    }

    /// `s3://bucket/prefix`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub(super) fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub(super) fn error(
        &self,
        action: &'static str,
        key: &Key,
    ) -> impl FnOnce(object_store::Error) -> RemoteError {
        let (url, key) = (self.url.clone(), key.to_string());
        move |source| RemoteError::Store {
            url,
            action,
            key,
            source: Box::new(source),
        }
    }

    /// The WARC files directly under the prefix with their sizes, by name.
    pub async fn list(&self) -> Result<Vec<(String, u64)>, RemoteError> {
        let prefix = (!self.prefix.is_empty()).then(|| Key::from(self.prefix.as_str()));
        let listed = self
            .store
            .list_with_delimiter(prefix.as_ref())
            .await
            .map_err(self.error("list", prefix.as_ref().unwrap_or(&Key::from(""))))?;
        let mut files: Vec<(String, u64)> = listed
            .objects
            .into_iter()
            .filter_map(|object| {
                let name = object.location.filename()?.to_string();
                warc::is_warc_file_name(&name).then_some((name, object.size))
            })
            .collect();
        files.sort();
        Ok(files)
    }

    /// The size of an object, or `None` when there is none.
    pub async fn size(&self, name: &str) -> Result<Option<u64>, RemoteError> {
        let key = self.key(name);
        match self.store.head(&key).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(self.error("read", &key)(source)),
        }
    }

    /// Bytes `range` of a file.
    pub async fn range(&self, name: &str, range: Range<u64>) -> Result<Vec<u8>, RemoteError> {
        let key = self.key(name);
        let bytes = self
            .store
            .get_range(&key, range)
            .await
            .map_err(self.error("read", &key))?;
        Ok(bytes.to_vec())
    }

    /// Copies a file into `dir` (written under another name, then renamed: a half-copied file is
    /// never taken for a WARC file). Answers its size.
    pub async fn download(&self, name: &str, dir: &Path) -> Result<u64, RemoteError> {
        let key = self.key(name);
        let path = dir.join(name);
        let partial = dir.join(format!("{name}.partial"));
        let local = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RemoteError::Local { path, source }
        };
        let mut stream = self
            .store
            .get(&key)
            .await
            .map_err(self.error("read", &key))?
            .into_stream();
        let mut file = tokio::fs::File::create(&partial)
            .await
            .map_err(local(&partial))?;
        let mut size = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(self.error("read", &key))?;
            size += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(local(&partial))?;
        }
        file.sync_all().await.map_err(local(&partial))?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(local(&path))?;
        Ok(size)
    }
}

/// A bucket for code on a blocking thread (the archive's readers and its writer, the upkeep
/// commands): each call runs on a small runtime of its own, so it works the same called from
/// the blocking pool, the writer thread, or a command without a runtime.
pub struct Remote {
    bucket: Bucket,
    runtime: Background,
    /// `storage.node_id`: the files of the bucket that are this archive's carry it.
    node_id: Option<String>,
}

impl Remote {
    pub fn open(config: &ObjectStoreConfig) -> Result<Remote, RemoteError> {
        Remote::with_timeout(config, READ_TIMEOUT)
    }

    /// For commands that copy whole files.
    pub fn for_transfers(config: &ObjectStoreConfig) -> Result<Remote, RemoteError> {
        Remote::with_timeout(config, TRANSFER_TIMEOUT)
    }

    fn with_timeout(config: &ObjectStoreConfig, timeout: Duration) -> Result<Remote, RemoteError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("gazette-object-store")
            .enable_all()
            .build()
            .map_err(RemoteError::Runtime)?;
        Ok(Remote {
            bucket: Bucket::new(config, timeout)?,
            runtime: Background(Some(runtime)),
            node_id: None,
        })
    }

    pub fn bucket(&self) -> &Bucket {
        &self.bucket
    }

    /// Runs `work` with the bucket and waits for its answer.
    pub fn run<T, F, Fut>(&self, work: F) -> Result<T, RemoteError>
    where
        T: Send + 'static,
        F: FnOnce(Bucket) -> Fut,
        Fut: Future<Output = Result<T, RemoteError>> + Send + 'static,
    {
        self.runtime
            .wait(work(self.bucket.clone()))
            .unwrap_or(Err(RemoteError::Stopped))
    }

    /// The record at `at`, read with one ranged GET. A file missing from the bucket is damage,
    /// as a file missing from the disk is; any other failure is not.
    pub fn read(&self, at: &Location) -> Result<ParsedRecord, WarcError> {
        warc::check_location(at)?;
        let (name, range) = (at.file.clone(), at.offset..at.offset + at.length);
        let member = self
            .run(move |bucket| async move { bucket.range(&name, range).await })
            .map_err(|err| match err {
                err if err.is_not_found() => WarcError::RemoteMissing {
                    file: at.file.clone(),
                },
                RemoteError::Store { source, .. } => WarcError::Remote {
                    file: at.file.clone(),
                    source,
                },
                other => WarcError::Remote {
                    file: at.file.clone(),
                    source: Box::new(object_store::Error::Generic {
                        store: "S3",
                        source: Box::new(other),
                    }),
                },
            })?;
        warc::decode_member(&member, at)
    }

    /// The WARC files under the prefix that belong to this node, with their sizes: those named
    /// with its node id, or every one when it has none (a single node owns its prefix).
    pub fn list_own(&self) -> Result<Vec<(String, u64)>, RemoteError> {
        let node = self.node_id.clone();
        let listed = self.run(|bucket| async move { bucket.list().await })?;
        Ok(listed
            .into_iter()
            .filter(|(name, _)| node.is_none() || warc::node_of(name) == node.as_deref())
            .collect())
    }
}

/// A runtime shut down without waiting when dropped: the archive holding it may be dropped on
/// an async worker, where waiting is not allowed.
struct Background(Option<tokio::runtime::Runtime>);

impl Background {
    /// Runs `future` on the runtime and blocks this thread until it answers. Never called from
    /// the runtime's own threads.
    fn wait<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        let (answer, answered) = std::sync::mpsc::sync_channel(1);
        self.0.as_ref()?.spawn(async move {
            let _ = answer.send(future.await);
        });
        answered.recv().ok()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Where records are read from: the WARC directory, and the object store for files no longer
/// in it (when one is configured).
#[derive(Clone)]
pub struct Records {
    dir: PathBuf,
    remote: Option<Arc<Remote>>,
}

impl Records {
    /// The records of `storage`'s archive, with its object store when it has one.
    pub fn open(storage: &StorageConfig) -> Result<Records, RemoteError> {
        let remote = match &storage.object_store {
            Some(config) => Some(Arc::new(Remote {
                node_id: storage.node_id.clone(),
                ..Remote::open(config)?
            })),
            None => None,
        };
        Ok(Records {
            dir: storage.path.join("warc"),
            remote,
        })
    }

    /// The WARC directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn remote(&self) -> Option<&Arc<Remote>> {
        self.remote.as_ref()
    }

    /// The record at `at`: from the local file, or with a ranged GET when the file is no longer
    /// on the disk.
    pub fn read(&self, at: &Location) -> Result<ParsedRecord, WarcError> {
        match warc::read(&self.dir, at) {
            Err(err) if err.is_missing_file() => match &self.remote {
                Some(remote) => remote.read(at),
                None => Err(err),
            },
            read => read,
        }
    }
}

/// Copies into the WARC directory the files of the bucket that belong to this node (see
/// [`Remote::list_own`]) and are not on the disk; answers how many and their bytes.
pub fn download_missing(storage: &StorageConfig) -> Result<(usize, u64), RemoteError> {
    let Some(config) = &storage.object_store else {
        return Ok((0, 0));
    };
    let remote = Remote {
        node_id: storage.node_id.clone(),
        ..Remote::for_transfers(config)?
    };
    let dir = storage.path.join("warc");
    std::fs::create_dir_all(&dir).map_err(|source| RemoteError::Local {
        path: dir.clone(),
        source,
    })?;
    let mut copied = (0, 0);
    for (name, _) in remote.list_own()? {
        if dir.join(&name).exists() {
            continue;
        }
        let target = dir.clone();
        let size =
            remote.run(move |bucket| async move { bucket.download(&name, &target).await })?;
        copied.0 += 1;
        copied.1 += size;
    }
    Ok(copied)
}
