//! `gazette serve`: the scheduler and the HTTP server in one process, stopped cleanly by SIGTERM
//! or SIGINT (scheduling stops, a run in flight gets a grace period, the archive is flushed).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::archive::{self, Archive, ArchiveError};
use crate::config::Config;
use crate::crawl::{CrawlOptions, crawl_source};
use crate::fetch::Fetcher;
use crate::schedule::Scheduler;
use crate::server::{AppState, app};

/// Spreads the sources' runs so they do not all start at the same second.
pub const JITTER: Duration = Duration::from_secs(5);
/// How long a crawl in flight may go on after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

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
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
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

/// What to do before serving.
#[derive(Debug, Clone, Copy, Default)]
pub struct Startup {
    /// Crawl every source once (a backfill) before answering requests.
    pub crawl_first: bool,
}

/// Serves until SIGTERM/SIGINT; `ready` is told the address once requests are answered.
pub async fn run(
    config: Arc<Config>,
    startup: Startup,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), DaemonError> {
    if let Some(name) = &config.server.admin_token_env
        && config.server.admin_token().is_none()
    {
        tracing::warn!(
            variable = %name,
            "admin_token_env names a variable that is unset or blank; the admin endpoint is off"
        );
    }
    let archive: Arc<dyn Archive> = Arc::new(archive::open(&config.storage)?);
    // One write at start: a disk that cannot take one is found before serving.
    archive.flush()?;
    // Bind before anything slow, so a taken port is reported at once.
    let addr = config.server.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|cause| DaemonError::Listen { addr, cause })?;
    let local = listener.local_addr().unwrap_or(addr);
    if startup.crawl_first {
        let fetcher = Fetcher::new(&config.crawler)?;
        let options = CrawlOptions {
            backfill: true,
            max_pages: None,
        };
        for source in &config.sources {
            let report = crawl_source(
                &fetcher,
                &*archive,
                source,
                &config.crawler,
                options,
                &indicatif::ProgressBar::hidden(),
            )
            .await;
            tracing::info!(source = %source.id, new = report.new, failed = report.failed, "first crawl done");
        }
    }
    let scheduler = Arc::new(Scheduler::new(
        config.clone(),
        archive.clone(),
        JITTER,
        SHUTDOWN_GRACE,
    ));
    let mut state = AppState::new(config.clone(), archive.clone(), scheduler.status());
    let trigger = scheduler.clone();
    state.crawl = Some(Arc::new(move |source: &str| trigger.crawl_now(source)));
    let cache = state.cache.clone();

    let shutdown = CancellationToken::new();
    tokio::spawn(signals(shutdown.clone()));
    let stall = tokio::spawn(watch_stall(archive.clone(), shutdown.clone()));
    let scheduling = tokio::spawn({
        let scheduler = scheduler.clone();
        let shutdown = shutdown.clone();
        async move { scheduler.run(shutdown, move |_| cache.clear()).await }
    });
    ready(local);
    tracing::info!(%local, "serving");
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await;
    shutdown.cancel();
    if let Err(err) = scheduling.await {
        tracing::error!(%err, "the scheduler stopped abnormally");
    }
    if let Ok(Some(reason)) = stall.await {
        // The writer is stuck: a flush would wait for it forever.
        return Err(DaemonError::Stalled { reason });
    }
    archive.flush()?;
    tracing::info!("stopped");
    served.map_err(DaemonError::Serve)
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
