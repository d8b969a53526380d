//! What can go wrong in a crawl: a page's failure is recorded and the run goes on; an archive
//! failure stops the run.

use thiserror::Error;

use crate::archive::ArchiveError;
use crate::extract::ExtractError;
use crate::fetch::FetchError;
use crate::model::RunReport;

#[derive(Debug, Error)]
pub enum CrawlError {
    #[error("archive")]
    Archive(#[from] ArchiveError),
    #[error("list page {url}")]
    Fetch {
        url: String,
        #[source]
        source: FetchError,
    },
    #[error("list page {url}: HTTP {status}")]
    Gone { url: String, status: u16 },
    #[error("list page {url}: HTTP 304 to an unconditional request")]
    NotModified { url: String },
    #[error("{url}: not a URL")]
    NotUrl { url: String },
    #[error("{url}")]
    Extract {
        url: String,
        #[source]
        source: ExtractError,
    },
    #[error("{url}: processing the page panicked: {message}")]
    Panicked { url: String, message: String },
    #[error("{url}: extraction stopped: {detail}")]
    Stopped { url: String, detail: String },
}

/// A run stopped by an archive failure: what it did until then, and why it stopped.
#[derive(Debug, Error)]
#[error("archive")]
pub struct RunStopped {
    /// Counts only what the archive acknowledged as on disk.
    pub report: RunReport,
    #[source]
    pub error: ArchiveError,
}
