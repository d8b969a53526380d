//! `gazette serve`: the scheduler and the HTTP server in one process, stopped cleanly by SIGTERM
//! or SIGINT (scheduling stops, a run in flight gets a grace period, a search index build stops,
//! the archive is flushed and settled).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::archive::{self, Archive, ArchiveError};
use crate::cluster::jobs::RunJob;
use crate::cluster::node::Node;
use crate::config::Config;
use crate::crawl::{CrawlOptions, crawl_source};
use crate::fetch::{Fetcher, Origins};
use crate::model::RunReport;
use crate::schedule::Scheduler;
use crate::server::{AppState, app, connections};
use crate::websub::{self, Documents, Hub, WebSub};

/// Spreads the sources' runs so they do not all start at the same second.
pub const JITTER: Duration = Duration::from_secs(5);
/// How long a crawl in flight may go on after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);
/// How long a stopping server waits for the last tasks holding the archive to let it go.
const SETTLE_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("cannot listen on {addr}: {cause}")]
    Listen {
        addr: SocketAddr,
        cause: std::io::Error,
    },
    #[error("cannot start the HTTP client: {0}")]
    Client(#[from] crate::fetch::FetchError),
    #[error("cannot write {path}")]
    PidFile {
        path: String,
        #[source]
        cause: std::io::Error,
    },
    #[error("cannot start WebSub")]
    WebSub(#[from] websub::WebSubError),
    #[error("the archive is stalled: {reason}; exiting for the supervisor to restart gazette")]
    Stalled { reason: String },
}

impl DaemonError {
    /// The exit status for a supervisor: 70 (EX_SOFTWARE) when the archive stalled, so a
    /// restart is in order; 1 otherwise.
    pub fn exit_status(&self) -> u8 {
        match self {
            DaemonError::Stalled { .. } => EXIT_STALLED,
            _ => 1,
        }
    }
}

/// `serve` exits with this status when the archive writer is stuck.
pub const EXIT_STALLED: u8 = 70;

/// Watches the archive; once it is stalled, stops the server and says why.
async fn watch_stall(archive: Arc<dyn Archive>, shutdown: CancellationToken) -> Option<String> {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return archive.stalled(),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        if let Some(reason) = archive.stalled() {
            tracing::error!(%reason, "the archive is stalled; stopping");
            shutdown.cancel();
            return Some(reason);
        }
    }
}

/// What `gazette serve` leaves beside its archive while it runs, so that other commands can tell
/// who holds the archive and reach it over HTTP instead. It lives beside the archive directory
/// (`<storage.path>.pid`), not in it, because the archive directory holds only sled's files.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServeRecord {
    pub pid: u32,
    /// The address the server answers on (the bound one, also when `listen` asked for port 0).
    pub listen: SocketAddr,
}

impl ServeRecord {
    /// Where the record of the server using the archive at `archive` is kept.
    pub fn path(archive: &Path) -> PathBuf {
        let mut name = archive.components().as_path().as_os_str().to_owned();
        name.push(".pid");
        PathBuf::from(name)
    }

    /// The record of a running server; `None` when there is none, it is unreadable, or the
    /// process it names is gone (a server that did not stop cleanly).
    pub fn read(archive: &Path) -> Option<ServeRecord> {
        let text = std::fs::read(ServeRecord::path(archive)).ok()?;
        let record: ServeRecord = serde_json::from_slice(&text).ok()?;
        process_exists(record.pid).then_some(record)
    }
}

#[cfg(target_os = "linux")]
fn process_exists(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(not(target_os = "linux"))]
fn process_exists(_pid: u32) -> bool {
    true
}

/// The record written for this process; removed when dropped (a clean stop or an error).
struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Writes the record, replacing any left by a server that did not stop cleanly: this process
    /// holds the archive's lock, so no other server is using it.
    fn write(archive: &Path, listen: SocketAddr) -> Result<PidFile, DaemonError> {
        let path = ServeRecord::path(archive);
        let record = ServeRecord {
            pid: std::process::id(),
            listen,
        };
        let text = serde_json::to_vec(&record).unwrap_or_default();
        // Written whole under another name, then renamed: a reader never sees half a record.
        let partial = path.with_extension("pid.partial");
        std::fs::write(&partial, text)
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(|cause| DaemonError::PidFile {
                path: path.display().to_string(),
                cause,
            })?;
        Ok(PidFile { path })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), %err, "cannot remove the pid file");
        }
    }
}

/// What to do before serving.
#[derive(Debug, Clone, Default)]
pub struct Startup {
    /// Crawl every source once (a backfill) before answering requests, and tell `ready` only
    /// once the search index is open too, so that what is printed then comes after the
    /// start-up's log lines (the demo).
    pub crawl_first: bool,
    /// Portals reached at another address (the demo's replay); every URL stays the portal's.
    pub origins: Origins,
}

/// Serves until SIGTERM/SIGINT; `ready` is told the address once requests are answered (and,
/// with [`Startup::crawl_first`], searched).
pub async fn run(
    config: Arc<Config>,
    startup: Startup,
    ready: impl FnOnce(SocketAddr) + Send + 'static,
) -> Result<(), DaemonError> {
    if let Some(name) = &config.server.admin_token_env
        && config.server.admin_token().is_none()
    {
        tracing::warn!(
            variable = %name,
            "admin_token_env names a variable that is unset or blank; the admin endpoint is off"
        );
    }
    let local: Arc<dyn Archive> = Arc::new(archive::open(&config.storage)?);
    // One write at start: a disk that cannot take one is found before serving.
    local.flush()?;
    // In a cluster, crawls and the server get the node's archive: writes go through the stream.
    let node = config
        .cluster
        .as_ref()
        .map(|cluster| Node::new(cluster, local.clone()));
    let archive: Arc<dyn Archive> = node
        .as_ref()
        .map_or_else(|| local.clone(), |node| node.archive.clone());
    // Bind before anything slow, so a taken port is reported at once.
    let addr = config.server.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|cause| DaemonError::Listen { addr, cause })?;
    let local_addr = listener.local_addr().unwrap_or(addr);
    let open_files = connections::raise_open_file_limit();
    let limits = connections::Limits::new(&config.server, open_files);
    let pid_file = PidFile::write(&config.storage.path, local_addr)?;
    let mut first_runs = Vec::new();
    if startup.crawl_first && node.is_some() {
        tracing::warn!(
            "a first crawl is not run in a cluster: runs are jobs (gazette cluster run)"
        );
    }
    if startup.crawl_first && node.is_none() {
        let fetcher = Fetcher::new(&config.crawler)?.reaching(&startup.origins);
        let options = CrawlOptions {
            backfill: true,
            max_pages: None,
        };
        for source in &config.sources {
            let report = crawl_source(
                &fetcher,
                &archive::Handle::new(archive.clone()),
                source,
                &config.crawler,
                options,
                &crate::crawl::quiet,
            )
            .await;
            tracing::info!(source = %source.id, new = report.new, failed = report.failed, "first crawl done");
            first_runs.push(report);
        }
    }
    let mut scheduler = Scheduler::new(config.clone(), archive.clone(), JITTER, SHUTDOWN_GRACE)
        .reaching(startup.origins.clone());
    if let Some(node) = &node {
        scheduler = scheduler.dispatching(node.dispatch());
    }
    let scheduler = Arc::new(scheduler);
    let mut state = AppState::new(config.clone(), archive.clone(), scheduler.status());
    state.cluster = node.clone();
    // The index is opened (checked, or rebuilt) while feeds are already answered; runs that end
    // before it is open wait in `pending` and are caught up once it is.
    let pending: Arc<Mutex<Vec<RunReport>>> = Arc::new(Mutex::new(first_runs));
    let shutdown = CancellationToken::new();
    // Which files are uploaded is this node's own business: its own archive keeps it.
    state.uploads = start_uploads(&config, &local, &shutdown);
    let (searchable, search_opened) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn({
        let (slot, pending, archive) = (state.search.clone(), pending.clone(), archive.clone());
        let storage = config.storage.path.clone();
        let stop = shutdown.clone();
        async move {
            // Dropped on every way out: opened, failed or stopped.
            let _searchable = searchable;
            let Some(search) = crate::search::open_beside(&storage, archive.clone(), stop).await
            else {
                return;
            };
            let _ = tokio::task::spawn_blocking(move || {
                let mut waiting = pending.lock().unwrap_or_else(|e| e.into_inner());
                for report in waiting.drain(..) {
                    search.after_run(&*archive, &report);
                }
                let _ = slot.set(search);
            })
            .await;
        }
    });
    let searching = (state.search.clone(), pending, archive.clone());
    let trigger = scheduler.clone();
    state.crawl = Some(Arc::new(move |source: &str| trigger.crawl_now(source)));
    state.hubs = websub::hub_urls(&config);
    let cache = state.cache.clone();

    let (router, announce) = with_websub(&config, &archive, &state, &shutdown)?;
    tokio::spawn(signals(shutdown.clone()));
    let stall = tokio::spawn(watch_stall(archive.clone(), shutdown.clone()));
    // After each run here, and each group applied from the cluster's stream: cached feeds are
    // dropped, the search index catches up, WebSub is told.
    let after_run: Arc<dyn Fn(&RunReport) + Send + Sync> = Arc::new(move |report: &RunReport| {
        cache.clear();
        let (slot, pending, archive) = &searching;
        let (slot, pending, archive, cache) = (
            slot.clone(),
            pending.clone(),
            archive.clone(),
            cache.clone(),
        );
        let run = report.clone();
        tokio::task::spawn_blocking(move || {
            // Under the lock the opener drains and sets: a run is caught up once.
            let mut waiting = pending.lock().unwrap_or_else(|e| e.into_inner());
            match slot.get() {
                Some(search) => {
                    drop(waiting);
                    search.after_run(&*archive, &run);
                    cache.clear();
                }
                None => waiting.push(run),
            }
        });
        if let Some(announce) = &announce {
            announce.run_finished(report);
        }
    });
    if let Some(node) = &node {
        let jobs = scheduler.clone();
        let run: RunJob = Arc::new(move |job| {
            let jobs = jobs.clone();
            Box::pin(async move { jobs.run_job(job).await })
        });
        let applied = after_run.clone();
        node.start(
            local.clone(),
            run,
            Arc::new(move |reports: &[RunReport]| reports.iter().for_each(|r| applied(r))),
            local_addr.to_string(),
            {
                let uploads = state.uploads.clone();
                Arc::new(move || {
                    uploads
                        .as_ref()
                        .map(|status| status.progress().waiting_files as u64)
                })
            },
            shutdown.clone(),
        );
    }
    let scheduling = tokio::spawn({
        let scheduler = scheduler.clone();
        let shutdown = shutdown.clone();
        async move {
            scheduler
                .run(shutdown, move |report| after_run(report))
                .await
        }
    });
    tracing::info!(local = %local_addr, "serving");
    if startup.crawl_first {
        tokio::spawn(async move {
            let _ = search_opened.await;
            ready(local_addr);
        });
    } else {
        ready(local_addr);
    }
    connections::serve(listener, router, limits, shutdown.clone()).await;
    shutdown.cancel();
    if let Err(err) = scheduling.await {
        tracing::error!(%err, "the scheduler stopped abnormally");
    }
    if let Ok(Some(reason)) = stall.await {
        // The writer is stuck: a flush would wait for it forever.
        return Err(DaemonError::Stalled { reason });
    }
    archive.flush()?;
    drop((scheduler, state, node, archive));
    settle(local, &config.storage).await;
    drop(pid_file);
    tracing::info!("stopped");
    Ok(())
}

/// Opens the archive once more when this process is its last holder (see [`archive::settle`]):
/// what this run wrote, a backfill of its own above all, is replayed now rather than at the next
/// start, before its first feed. Holders still busy after [`SETTLE_WAIT`] leave it to that start.
async fn settle(archive: Arc<dyn Archive>, storage: &crate::config::StorageConfig) {
    let waited = std::time::Instant::now();
    while Arc::strong_count(&archive) > 1 {
        if waited.elapsed() > SETTLE_WAIT {
            tracing::debug!("the archive is still in use; its next open replays its log");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(archive);
    let storage = storage.clone();
    let started = std::time::Instant::now();
    if tokio::task::spawn_blocking(move || archive::settle(&storage))
        .await
        .is_ok()
    {
        tracing::debug!(took = ?started.elapsed(), "the archive is settled");
    }
}

/// Starts uploading closed WARC files when `[storage.object_store]` is set; what it does is shown
/// in `/healthz`.
fn start_uploads(
    config: &Config,
    archive: &Arc<dyn Archive>,
    shutdown: &CancellationToken,
) -> Option<Arc<archive::upload::UploadStatus>> {
    config.storage.object_store.as_ref()?;
    let status = Arc::new(archive::upload::UploadStatus::default());
    tokio::spawn(archive::upload::serve(
        archive::Handle::new(archive.clone()),
        config.storage.clone(),
        status.clone(),
        shutdown.clone(),
    ));
    Some(status)
}

/// The server's router, with the builtin WebSub hub when configured, and what announces changed
/// feeds after each run (`None` without hubs). Documents are rendered by the same router.
fn with_websub(
    config: &Arc<Config>,
    archive: &Arc<dyn Archive>,
    state: &AppState,
    shutdown: &CancellationToken,
) -> Result<(axum::Router, Option<WebSub>), DaemonError> {
    let router = app(state.clone());
    if config.server.websub_hubs.is_empty() && !config.server.websub_builtin {
        return Ok((router, None));
    }
    let hub = if config.server.websub_builtin {
        Some(Hub::open(config.clone(), archive.clone())?)
    } else {
        None
    };
    let announce = WebSub::start(
        config.clone(),
        Documents::new(router.clone()),
        hub.clone(),
        shutdown.clone(),
    )?;
    tracing::info!(hubs = ?websub::hub_urls(config).iter().map(url::Url::as_str).collect::<Vec<_>>(), "WebSub on");
    let router = match hub {
        Some(hub) => router.layer(axum::Extension(hub)),
        None => router,
    };
    Ok((router, Some(announce)))
}

/// Cancels `shutdown` on SIGTERM or SIGINT.
async fn signals(shutdown: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(err) => {
                tracing::warn!(%err, "cannot watch SIGTERM; SIGINT still stops the server");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down");
    shutdown.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pid_file_sits_beside_the_archive() {
        for archive in ["data/archive", "data/archive/", "/srv/gazette/archive"] {
            let expected = format!("{}.pid", archive.trim_end_matches('/'));
            assert_eq!(
                ServeRecord::path(Path::new(archive)),
                PathBuf::from(expected)
            );
        }
    }

    #[test]
    fn a_record_naming_a_gone_process_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive");
        let mut record = ServeRecord {
            pid: std::process::id(),
            listen: "127.0.0.1:8080".parse().unwrap(),
        };
        std::fs::write(
            ServeRecord::path(&archive),
            serde_json::to_vec(&record).unwrap(),
        )
        .unwrap();
        assert_eq!(ServeRecord::read(&archive), Some(record.clone()));
        // Above the kernel's largest pid.
        record.pid = 4_194_304 + 1;
        std::fs::write(
            ServeRecord::path(&archive),
            serde_json::to_vec(&record).unwrap(),
        )
        .unwrap();
        assert_eq!(ServeRecord::read(&archive), None);
        std::fs::write(ServeRecord::path(&archive), "half a rec").unwrap();
        assert_eq!(ServeRecord::read(&archive), None);
    }
}
