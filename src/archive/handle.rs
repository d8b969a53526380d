//! The archive as async code reaches it: each call runs on tokio's blocking pool, so a disk that
//! is slow, or a write waiting for its sync, never holds one of the async workers that the HTTP
//! server and the crawl share.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::{Archive, ArchiveError};

/// Calls of one handle running at once: each holds a blocking thread and what it reads (a
/// captured page can be megabytes), so a flood of requests waits its turn instead of growing
/// the blocking pool to hundreds of threads.
pub const MAX_CALLS: usize = 16;

/// The one way async code calls the archive (and, through [`Handle::blocking`], the way code
/// already on a blocking thread borrows it).
/// Clones share the bound on calls at once; a crawl and the server each make their own handle,
/// so that one's calls never wait behind the other's.
#[derive(Clone)]
pub struct Handle {
    archive: Arc<dyn Archive>,
    calls: Arc<Semaphore>,
}

impl Handle {
    pub fn new(archive: Arc<dyn Archive>) -> Handle {
        Handle {
            archive,
            calls: Arc::new(Semaphore::new(MAX_CALLS)),
        }
    }

    /// Runs `work` with the archive on a blocking thread and answers what it returns. A panic
    /// inside is an error of this call, not of its caller.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ArchiveError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Archive) -> Result<T, ArchiveError> + Send + 'static,
    {
        let archive = self.archive.clone();
        self.spawn(move || work(&*archive)).await?
    }

    /// Runs `work`, which reads the archive through [`Handle::blocking`] among other blocking
    /// things (rendering a page from what it read, say), on a blocking thread within this
    /// handle's bound on calls at once.
    pub async fn spawn<T, F>(&self, work: F) -> Result<T, ArchiveError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        // The semaphore is never closed.
        let _turn = self.calls.acquire().await.ok();
        tokio::task::spawn_blocking(work)
            .await
            .map_err(ArchiveError::Task)
    }

    /// The archive itself, for code that is already on a blocking thread (a `spawn_blocking`
    /// closure, a command of the CLI). Async code calls [`Handle::run`].
    pub fn blocking(&self) -> &Arc<dyn Archive> {
        &self.archive
    }

    /// Why the archive is stalled, once it has been (read from memory: no disk is touched).
    pub fn stalled(&self) -> Option<String> {
        self.archive.stalled()
    }
}

impl From<Arc<dyn Archive>> for Handle {
    fn from(archive: Arc<dyn Archive>) -> Handle {
        Handle::new(archive)
    }
}
