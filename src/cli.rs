//! The command line: subcommands and their flags.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Turns a legacy news portal into RSS/Atom/JSON feeds and a queryable archive.
#[derive(Debug, Parser)]
#[command(name = "gazette", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How log lines on stderr look (`RUST_LOG` sets how many).
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what the parser makes of one page, as JSON.
    Extract(ExtractArgs),
    /// Infer a new portal's profile from a category list page and three of its articles, and
    /// write a complete config for it.
    Init(InitArgs),
    /// Validate a config file and print its sources and sections.
    Check {
        /// The config file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Also print each source's selector health: the fill table of its last runs.
        #[arg(long)]
        health: bool,
    },
    /// Crawl the sources once into the archive and print what each run did.
    Crawl(CrawlArgs),
    /// List archived articles, newest first.
    Query(QueryArgs),
    /// Show one archived article, its revisions, or a captured page.
    Show(ShowArgs),
    /// Write every article with all its revisions as JSON Lines, or the WARC records as a WACZ
    /// package, or a CDXJ index of the WARC files.
    Export(ExportArgs),
    /// Restore an export into an empty archive.
    Import(ImportArgs),
    /// Run the scheduler and serve the feeds, the API and the index page until SIGTERM/SIGINT.
    Serve {
        /// The config file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Rebuild the archive's index from its WARC files alone, in a new directory swapped in at
    /// the end; validators, crawl state, the run log and WebSub subscriptions are not in the WARC
    /// files: they are taken over from the index replaced when it can be read.
    Rebuild(RebuildArgs),
    /// Check every WARC record's digests and every location the index names; exit 1 naming the
    /// first damage (file, byte offset, what).
    Verify {
        /// The config file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Upgrade a schema-1 archive (one sled directory) to the WARC layout, in a new directory
    /// swapped in at the end; the old one is kept as `<storage.path>.schema1`.
    Migrate {
        /// The config file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Extract every archived article's latest capture again with the current profile; each
    /// that reads differently gets a new revision marked as caused by reparse.
    Reparse(ReparseArgs),
    /// Search the archive's text, Vietnamese tones or not ("ha tien" finds "Hà Tiên").
    Search(SearchArgs),
    /// Rebuild the search index from the archive.
    Reindex {
        /// The config file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// The cluster the config's `[cluster]` section names: its status, or a run sent as a job.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Try gazette without the real portal: replay the recorded portal locally, crawl it, serve it.
    Demo {
        /// Where to serve.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// The nodes seen, the jobs waiting and running, each node's lag behind the archived
    /// stream and its WARC files waiting for upload.
    Status {
        /// The config file (its `[cluster]` section).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Send a run of one source to the cluster's work queue: a node's worker takes it.
    Run {
        /// The config file (its `[cluster]` section).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The source's id.
        source: String,
        /// Follow every list to its end (resuming from the cursor), not only its new pages.
        #[arg(long)]
        backfill: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct RebuildArgs {
    /// The config file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Extract every captured page again with the current profile, instead of taking the
    /// articles the metadata records hold; a revision that reads differently gets a new one.
    #[arg(long)]
    pub reparse: bool,
}

#[derive(Debug, clap::Args)]
pub struct ReparseArgs {
    /// The config file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Only this source's articles.
    #[arg(long, value_name = "ID")]
    pub source: Option<String>,
    /// Print, per field, how many articles would change, with a few examples; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// A category list page of the portal; only its host is fetched.
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// The source's id ([a-z0-9-]+) [default: from the host].
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// The source's name [default: the list page's title].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Where to write the config [default: standard output, the proof then on stderr].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Save the fetched pages here with what the profile extracts from each, as fixtures.
    #[arg(long, value_name = "DIR")]
    pub save_fixtures: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// The config file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The source whose profile reads the page.
    #[arg(long, value_name = "ID")]
    pub source: String,
    /// The section the article is listed in [default: the source's first section].
    #[arg(long, value_name = "ID")]
    pub section: Option<String>,
    /// Read the page as a category list page instead of an article.
    #[arg(long)]
    pub list: bool,
    /// The page's address: fetched, or with --file where the saved page came from.
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// A saved page to read instead of fetching --url.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// The HTTP Content-Type the saved page was served with, e.g. "text/html; charset=windows-1258".
    #[arg(long, value_name = "VALUE", requires = "file")]
    pub content_type: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct CrawlArgs {
    /// The config file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Crawl only this source.
    #[arg(long, value_name = "ID")]
    pub source: Option<String>,
    /// Walk every list page (resuming an interrupted backfill) instead of stopping at known articles.
    #[arg(long)]
    pub backfill: bool,
    /// List pages per section in this run [default: the profile's max_pages].
    #[arg(long, value_name = "N")]
    pub max_pages: Option<u32>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Jsonl,
    Csv,
}

/// Which articles `query` and `search` look at: a source, a section of it, a time range.
#[derive(Debug, clap::Args)]
pub struct ScopeArgs {
    #[arg(long, value_name = "ID")]
    pub source: Option<String>,
    #[arg(long, value_name = "ID")]
    pub section: Option<String>,
    /// Published at or after: YYYY-MM-DD (in the source's zone) or RFC 3339.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Published at or before: YYYY-MM-DD (the whole day, in the source's zone) or RFC 3339.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// The config file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The config file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The article id, e.g. bqlkkt:1234.
    pub id: String,
    /// List every revision.
    #[arg(long)]
    pub revisions: bool,
    /// Write the page captured for revision REV, byte for byte.
    #[arg(long, value_name = "REV", conflicts_with = "revisions")]
    pub raw: Option<u32>,
    /// What changed between two revisions, word by word: `--diff 1..2`.
    #[arg(long, value_name = "FROM..TO", conflicts_with_all = ["revisions", "raw"])]
    pub diff: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// The config file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Words, "quoted phrases", -excluded words.
    pub query: String,
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// Newest first instead of best first.
    #[arg(long)]
    pub newest: bool,
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The config file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Write here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Include every captured page (base64).
    #[arg(long)]
    pub raw: bool,
    /// Write a WACZ package (for ReplayWeb.page, pywb) of the WARC records instead: every
    /// record, or those of the revisions --source, --since and --until name.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["out", "raw", "cdxj"])]
    pub wacz: Option<PathBuf>,
    /// Write one sorted CDXJ index of every WARC file of the archive instead.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["out", "raw"])]
    pub cdxj: Option<PathBuf>,
    /// With --wacz: only this source's revisions.
    #[arg(long, value_name = "ID", requires = "wacz")]
    pub source: Option<String>,
    /// With --wacz: revisions fetched at or after: YYYY-MM-DD (in the source's zone) or RFC 3339.
    #[arg(long, value_name = "DATE", requires = "wacz")]
    pub since: Option<String>,
    /// With --wacz: revisions fetched at or before: YYYY-MM-DD (the whole day, in the source's
    /// zone) or RFC 3339.
    #[arg(long, value_name = "DATE", requires = "wacz")]
    pub until: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The config file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Read here instead of stdin (`-` is stdin).
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
}
