//! gazette turns a legacy news portal that has no feed into clean feeds and a queryable archive.
//!
//! Data flows one way: fetch -> extract -> normalize -> archive -> feed/server.
//!
//! - [`config`]: the typed config file, its defaults and its checks (file, line and key in errors).
//! - [`model`]: the types every stage passes on: pages, articles, revisions, captures, run reports.
//! - [`fetch`]: the only module that touches the network (robots.txt, politeness, retries,
//!   origins reached at another address for the demo).
//! - [`extract`]: pure, a page's bytes and a profile in, the raw pieces of an article or list out.
//! - [`normalize`]: pure, raw pieces in, an [`model::Article`] or [`model::ListPage`] out.
//! - [`archive`]: the only module that touches storage, behind the [`archive::Archive`] trait.
//! - [`crawl`]: incremental and backfill runs of one source, fetch to archive.
//! - [`schedule`]: the cron loop over sources, without overlapping runs.
//! - [`search`]: the full-text index beside the archive (tantivy), Vietnamese tones folded.
//! - [`feed`]: pure renderers of RSS, Atom, JSON Feed and OPML, following `docs/FEEDS.md`; the
//!   server gathers what they need (articles, captured files, links) and passes it in.
//! - [`server`]: the HTTP interface, `app(state) -> Router`: feeds, month archives, OPML, the
//!   JSON API, captured assets, health and metrics.
//! - [`diff`]: pure, two revisions of an article compared word by word.
//! - [`daemon`]: `serve`, the scheduler and the server together until a signal.
//! - [`metrics`]: the Prometheus counters both of them feed.
//! - [`websub`]: WebSub: external hubs told of changed feeds, and a builtin hub that delivers them.
//! - [`html`]: HTML escaping shared by every stage that writes HTML.
//! - [`init`]: `gazette init`, a new portal's profile inferred from its list page and three
//!   articles, written as a commented config and proved by extracting the fetched pages.
//! - [`replay`]: a local replay of a recorded portal, for the demo, the tests and the benchmarks.
//!
//! The binary (`src/main.rs`) adds what only the command line needs: `cli` (the clap
//! subcommands), `commands` (what each does, with progress and output) and `maintenance` (the
//! archive's upkeep commands: rebuild, verify, migrate).

pub mod archive;
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
