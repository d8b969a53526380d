//! gazette turns a legacy news portal that has no feed into clean feeds and a queryable archive.
//!
//! Data flows one way: fetch -> extract -> normalize -> archive -> feed/server. `ARCHITECTURE.md`
//! at the repository's top describes each module, which ones do I/O and which touch the network.
//!
//! - [`fetch`]: the portal over HTTP (robots.txt, politeness, retries); [`extract`] and
//!   [`normalize`]: pure, a page in, an [`model::Article`] or [`model::ListPage`] out.
//! - [`archive`]: WARC files under a sled index, behind the [`archive::Archive`] trait.
//! - [`crawl`] drives those for one source; [`schedule`] runs it on each source's cron;
//!   [`daemon`] is `serve`, the scheduler and the [`server`] together.
//! - [`feed`]: pure renderers; [`server`]: the HTTP interface, `app(state) -> Router`.
//! - Beside the pipeline: [`config`], [`model`], [`search`], [`websub`] (which also reaches the
//!   network: hubs and subscribers), [`diff`], [`metrics`], [`html`], [`init`], [`replay`].
//!
//! The binary (`src/main.rs`) adds `cli`, `commands` and `maintenance`.

pub mod archive;
pub mod cluster;
pub mod config;
pub mod crawl;
pub mod daemon;
pub mod diff;
pub mod extract;
pub mod feed;
pub mod fetch;
pub mod html;
pub mod init;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod replay;
pub mod schedule;
pub mod search;
pub mod server;
pub mod websub;

use config::Source;
use model::{Article, ListPage, Page};

/// Extracts and normalises one article page of `source`, listed in `section`.
pub fn read_article(
    page: &Page<'_>,
    source: &Source,
    section: &str,
) -> Result<Article, extract::ExtractError> {
    read_article_noted(page, source, section, None).map(|read| read.article)
}

/// An article read from its page, with what a run report notes about the page.
#[derive(Debug, Clone)]
pub struct ArticleRead {
    pub article: Article,
    /// The page was past extraction's limits ([`extract::MAX_DEPTH`], [`extract::MAX_ELEMENTS`],
    /// [`extract::MAX_ATTRIBUTES`]): part of its structure was read as plain text.
    pub flattened: bool,
    /// The body selector matched nothing and `article.fallback = "readability"` found the body.
    pub readability: bool,
    /// What the page itself gave, before normalisation filled gaps from elsewhere.
    pub found: Found,
}

/// What an article page gave of the fields normalisation may fill from elsewhere: selector
/// health counts what the selectors found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Found {
    /// A published date (else it came from the list page, or there is none).
    pub dated: bool,
    /// A summary (else the body's first paragraph stands in).
    pub summarised: bool,
}

/// [`read_article`], with the published time to fall back on when the page shows none (the
/// list page's, see [`normalize::article`]), also saying whether the page was flattened.
pub fn read_article_noted(
    page: &Page<'_>,
    source: &Source,
    section: &str,
    listed: Option<normalize::date::Published>,
) -> Result<ArticleRead, extract::ExtractError> {
    let raw = extract::article(page, source)?;
    Ok(ArticleRead {
        article: normalize::article(&raw, source, section, listed),
        flattened: raw.flattened,
        found: Found {
            dated: raw.published.is_some(),
            summarised: raw.summary.as_deref().is_some_and(|s| !s.trim().is_empty()),
        },
        readability: raw.readability,
    })
}

/// Extracts and normalises one list page of `source`.
pub fn read_list(page: &Page<'_>, source: &Source) -> Result<ListPage, extract::ExtractError> {
    extract::list(page, source).map(|raw| normalize::list(&raw, source))
}

/// An error with its causes, on one line: what a run report records and a log line shows.
pub fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
