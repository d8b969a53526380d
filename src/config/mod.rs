//! The config file: typed, strict (`deny_unknown_fields`), defaults as named constants, and errors
//! that name the file, line and key.

mod cluster;
mod edit;
mod error;
mod hosts;
mod values;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

pub use cluster::{
    ClusterConfig, NATS_CREDS_ENV, NATS_PASSWORD_ENV, NATS_TOKEN_ENV, NATS_USER_ENV,
    NatsCredentials, NatsUrl, ObjectStoreConfig, S3Url,
};
pub use edit::{ConfigEdit, SHIPPED};
pub use error::ConfigError;
pub use hosts::{AllowedHost, AllowedHosts, host_and_port};
pub use values::{Css, DateFormat, HttpUrl, IdPattern, Schedule, Slug, TimeZone};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_STORAGE_PATH: &str = "data/archive";
pub const DEFAULT_USER_AGENT: &str = concat!("gazette/", env!("CARGO_PKG_VERSION"));
pub const DEFAULT_RESPECT_ROBOTS_TXT: bool = true;
pub const DEFAULT_MIN_DELAY_MS: u64 = 1000;
pub const DEFAULT_MAX_CONCURRENCY_PER_HOST: usize = 2;
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;
pub const DEFAULT_MAX_PAGE_BYTES: u64 = 10 * 1024 * 1024;
pub const DEFAULT_RETRIES: u32 = 3;
pub const DEFAULT_FEED_TTL_MINUTES: u32 = 30;
pub const DEFAULT_FEED_CACHE_BYTES: u64 = 64 * 1024 * 1024;
pub const DEFAULT_SCHEDULE: &str = "0 */30 * * * *";
pub const DEFAULT_MAX_PAGES: u32 = 1000;
pub const DEFAULT_RETRY_BASE_MS: u64 = 500;
pub const DEFAULT_RECHECK_DAYS: u32 = 3;
/// sled counts its cache in bytes as stored, compressed: in memory an index page takes about
/// three times that.
pub const DEFAULT_CACHE_CAPACITY: u64 = 4 * 1024 * 1024;
/// The size past which a WARC file is closed and the next one begun.
pub const DEFAULT_WARC_MAX_BYTES: u64 = 1 << 30;
/// How long one archive write or flush may take before the archive reports itself stalled.
pub const DEFAULT_STALL_TIMEOUT_SECS: u64 = 60;
/// The largest attachment or image body kept (`crawler.max_asset_bytes`).
pub const DEFAULT_MAX_ASSET_BYTES: u64 = 50 * 1024 * 1024;
/// The largest `max_asset_bytes` accepted: an asset's record must stay within what the WARC
/// reader takes back (256 MiB with its headers).
pub const MAX_ASSET_BYTES_CEILING: u64 = 255 * 1024 * 1024;
/// What is captured beside each article by default (`crawler.capture`): a page with its images,
/// as an archivist expects it.
pub const DEFAULT_CAPTURE: &[CaptureKind] = &[CaptureKind::Attachments, CaptureKind::Images];
/// Asset requests one run makes at most (`crawler.max_assets_per_run`); the rest wait for the
/// next run. A provincial portal posts a few articles a day with up to five images or files
/// each: 500 is a day's output many times over, and a backfill's backlog drains at 500 a run.
pub const DEFAULT_MAX_ASSETS_PER_RUN: usize = 500;
/// Verified subscriptions the builtin WebSub hub holds at most.
pub const DEFAULT_WEBSUB_MAX_SUBSCRIPTIONS: usize = 1000;
/// Subscription requests the builtin WebSub hub verifies at once (each is one outgoing request
/// at most); a request past them is answered 503 with `Retry-After`.
pub const DEFAULT_WEBSUB_MAX_PENDING: usize = 64;
/// The most `websub_max_pending` may be.
pub const WEBSUB_MAX_PENDING_CEILING: usize = 10_000;
/// The lease the builtin WebSub hub grants when a subscriber asks for none, and the longest it
/// grants (10 days).
pub const DEFAULT_WEBSUB_LEASE_SECS: u64 = 864_000;
/// The bounds of `websub_lease_secs`: a minute to a year.
pub const WEBSUB_LEASE_SECS_RANGE: std::ops::RangeInclusive<u64> = 60..=31_536_000;
/// The most `websub_max_subscriptions` may be: each takes memory and a delivery per change.
pub const WEBSUB_MAX_SUBSCRIPTIONS_CEILING: usize = 1_000_000;
/// The most hubs `websub_hubs` may list.
pub const WEBSUB_MAX_HUBS: usize = 16;
/// Connections `serve` holds open at once; more wait until one closes.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Connections one client address may hold at once; more are closed as they arrive.
pub const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: usize = 64;
/// How long a client has to send a request's head, from when the connection opens or the last
/// answer was sent: it is also how long an idle kept-alive connection stays open.
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
/// How long a connection may go without a byte written to it while an answer is owed.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 30;

/// The whole config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub crawler: CrawlerConfig,
    #[serde(default)]
    pub sources: Vec<Source>,
    /// Many nodes on NATS JetStream; absent for a single node.
    #[serde(default)]
    pub cluster: Option<ClusterConfig>,
}

/// `[server]`: where `gazette serve` listens and the base of the URLs it writes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Base of self links in feeds; `http://<listen>` when absent.
    pub public_url: Option<HttpUrl>,
    /// Name of the environment variable holding the admin token; no token, no admin endpoint.
    pub admin_token_env: Option<String>,
    /// How long readers may cache a live feed (RSS `ttl`, `Cache-Control: max-age`).
    #[serde(default = "default_feed_ttl_minutes")]
    pub feed_ttl_minutes: u32,
    /// Bytes of rendered feeds (bodies and compressed forms) kept in memory; at least 1.
    #[serde(default = "default_feed_cache_bytes")]
    pub feed_cache_bytes: u64,
    /// External WebSub hubs told (`hub.mode=publish`) of every feed a run changed.
    #[serde(default)]
    pub websub_hubs: Vec<HttpUrl>,
    /// Serve a WebSub hub at `/websub` that delivers changed feeds to verified subscribers.
    #[serde(default)]
    pub websub_builtin: bool,
    /// Let the builtin hub call back loopback, private and other special addresses (tests, a
    /// closed network); off, such callbacks are refused.
    #[serde(default)]
    pub websub_allow_private: bool,
    /// Verified subscriptions the builtin hub holds at most.
    #[serde(default = "default_websub_max_subscriptions")]
    pub websub_max_subscriptions: usize,
    /// Subscription requests being verified at most; apart from `websub_max_subscriptions`.
    #[serde(default = "default_websub_max_pending")]
    pub websub_max_pending: usize,
    /// The lease granted when a subscriber asks for none, and the longest granted.
    #[serde(default = "default_websub_lease_secs")]
    pub websub_lease_secs: u64,
    /// Connections held open at once; past it, new ones wait to be accepted. At start it is
    /// lowered, with a warning, to leave the crawler and the archive their reserve of files.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Connections one client address may hold at once (0: no limit per client, for a server
    /// behind a proxy that every client reaches it through).
    #[serde(default = "default_max_connections_per_client")]
    pub max_connections_per_client: usize,
    /// Seconds a client has to send a request's head, from the connection's start or the last
    /// answer (so also how long an idle kept-alive connection stays open).
    #[serde(default = "default_header_timeout_secs")]
    pub header_timeout_secs: u64,
    /// Seconds a connection may go without taking a byte of the answer it is owed.
    #[serde(default = "default_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            public_url: None,
            admin_token_env: None,
            feed_ttl_minutes: DEFAULT_FEED_TTL_MINUTES,
            feed_cache_bytes: DEFAULT_FEED_CACHE_BYTES,
            websub_hubs: Vec::new(),
            websub_builtin: false,
            websub_allow_private: false,
            websub_max_subscriptions: DEFAULT_WEBSUB_MAX_SUBSCRIPTIONS,
            websub_max_pending: DEFAULT_WEBSUB_MAX_PENDING,
            websub_lease_secs: DEFAULT_WEBSUB_LEASE_SECS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_client: DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
            header_timeout_secs: DEFAULT_HEADER_TIMEOUT_SECS,
            idle_timeout_secs: DEFAULT_IDLE_TIMEOUT_SECS,
        }
    }
}

impl ServerConfig {
    /// The admin token, read from the environment variable `admin_token_env` names, without
    /// surrounding whitespace (a header value never carries it); empty means no token.
    pub fn admin_token(&self) -> Option<String> {
        let name = self.admin_token_env.as_deref()?;
        std::env::var(name)
            .ok()
            .map(|token| token.trim().to_string())
            .filter(|token| !token.is_empty())
    }

    /// The base URL feeds are served under.
    pub fn public_url(&self) -> Url {
        match &self.public_url {
            Some(url) => url.0.clone(),
            None => Url::parse(&format!("http://{}/", self.listen))
                .unwrap_or_else(|_| Url::parse("http://127.0.0.1:8080/").expect("constant URL")),
        }
    }
}

/// `[storage]`: where the archive lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    #[serde(default = "default_storage_path")]
    pub path: PathBuf,
    /// Bytes of page cache the sled index may use.
    #[serde(default = "default_cache_capacity")]
    pub cache_capacity: u64,
    /// The size past which a WARC file is closed and the next one begun.
    #[serde(default = "default_warc_max_bytes")]
    pub warc_max_bytes: u64,
    /// Seconds one write or flush may take before the archive reports itself stalled.
    #[serde(default = "default_stall_timeout_secs")]
    pub stall_timeout_secs: u64,
    /// No longer used (every write is flushed before it is acknowledged); still read, so that
    /// config files written for earlier versions load, with a warning.
    #[serde(default)]
    pub flush_every_ms: Option<u64>,
    /// Where closed WARC files are uploaded; absent to keep them on the local disk only.
    #[serde(default)]
    pub object_store: Option<ObjectStoreConfig>,
    /// This node's id in a cluster (`cluster.node_id`), carried in WARC file names.
    #[serde(skip)]
    pub node_id: Option<String>,
    /// The config file this came from, when loaded from one: messages name it.
    #[serde(skip)]
    pub config_file: Option<PathBuf>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            path: default_storage_path(),
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            warc_max_bytes: DEFAULT_WARC_MAX_BYTES,
            stall_timeout_secs: DEFAULT_STALL_TIMEOUT_SECS,
            flush_every_ms: None,
            object_store: None,
            node_id: None,
            config_file: None,
        }
    }
}

/// `[crawler]`: how politely and patiently pages are fetched.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrawlerConfig {
    pub user_agent: String,
    pub respect_robots_txt: bool,
    pub min_delay_ms: u64,
    pub max_concurrency_per_host: usize,
    pub timeout_secs: u64,
    pub max_page_bytes: u64,
    pub retries: u32,
    /// First retry waits about this long; each further retry doubles it (plus jitter).
    pub retry_base_ms: u64,
    /// Articles published within this many days are re-fetched each run to catch edits.
    pub recheck_days: u32,
    /// What an article links that is captured beside it: its attachments, its images.
    pub capture: Vec<CaptureKind>,
    /// An attachment or image larger than this is not captured.
    pub max_asset_bytes: u64,
    /// Asset requests one run makes at most; those past it are fetched by the next run.
    pub max_assets_per_run: usize,
}

/// A kind of file an article links, captured with it (`crawler.capture`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptureKind {
    Attachments,
    Images,
}

impl Default for CrawlerConfig {
    fn default() -> Self {
        CrawlerConfig {
            user_agent: DEFAULT_USER_AGENT.to_string(),
            respect_robots_txt: DEFAULT_RESPECT_ROBOTS_TXT,
            min_delay_ms: DEFAULT_MIN_DELAY_MS,
            max_concurrency_per_host: DEFAULT_MAX_CONCURRENCY_PER_HOST,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            max_page_bytes: DEFAULT_MAX_PAGE_BYTES,
            retries: DEFAULT_RETRIES,
            retry_base_ms: DEFAULT_RETRY_BASE_MS,
            recheck_days: DEFAULT_RECHECK_DAYS,
            capture: DEFAULT_CAPTURE.to_vec(),
            max_asset_bytes: DEFAULT_MAX_ASSET_BYTES,
            max_assets_per_run: DEFAULT_MAX_ASSETS_PER_RUN,
        }
    }
}

/// `[[sources]]`: one portal, its sections and the profile that parses its pages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub id: Slug,
    pub name: String,
    pub base_url: HttpUrl,
    pub timezone: TimeZone,
    pub language: String,
    #[serde(default = "default_schedule")]
    pub schedule: Schedule,
    /// Hosts (`host` or `host:port`) that may be fetched; the base URL's host when empty.
    #[serde(default)]
    pub allowed_hosts: Vec<AllowedHost>,
    /// Query keys that identify an article. Absent: every key is kept (sorted); empty: none.
    pub canonical_query: Option<Vec<String>>,
    /// Query key whose value makes the article id `<source>:<value>`.
    pub id_param: Option<String>,
    /// A regex whose first group is the id within the `id_param` value (Joomla's `1452:alias`
    /// gives `1452`); the canonical URL carries that id as the value.
    pub id_pattern: Option<IdPattern>,
    pub sections: Vec<Section>,
    pub list: ListProfile,
    pub article: ArticleProfile,
}

impl Source {
    pub fn base_url(&self) -> &Url {
        &self.base_url.0
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.0
    }

    /// The absolute address of a section's first list page.
    pub fn list_url(&self, section: &Section) -> Url {
        // Checked when the config was loaded, so the join cannot fail here.
        self.base_url()
            .join(&section.list_url)
            .unwrap_or_else(|_| self.base_url().clone())
    }

    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id.as_str() == id)
    }

    /// Hosts and ports that may be fetched for this source.
    pub fn hosts(&self) -> AllowedHosts {
        AllowedHosts::new(&self.allowed_hosts, self.base_url())
    }
}

/// `[[sources.sections]]`: one category list of the portal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: Slug,
    pub name: String,
    /// Relative to the source's `base_url`.
    pub list_url: String,
}

/// `[sources.list]`: selectors for a category list page.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListProfile {
    pub item: Css,
    pub link: Css,
    pub published: Option<Css>,
    pub summary: Option<Css>,
    pub next_page: Option<Css>,
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
}

/// `[sources.article]`: selectors for an article page.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleProfile {
    pub title: Css,
    pub published: Option<Css>,
    pub summary: Option<Css>,
    pub body: Css,
    pub category: Option<Css>,
    pub credit: Option<Css>,
    pub attachments: Option<Css>,
    #[serde(default)]
    pub remove: Vec<Css>,
    #[serde(default)]
    pub date_formats: Vec<DateFormat>,
    /// What reads the body when the `body` selector matches nothing; absent: the page fails.
    pub fallback: Option<BodyFallback>,
}

/// `article.fallback`: how a body is found when the body selector matches nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyFallback {
    /// The main content as Mozilla's Readability finds it (the `dom_smoothie` crate).
    Readability,
}

impl Config {
    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id.as_str() == id)
    }
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        file: file.clone(),
        cause: source,
    })?;
    let text = String::from_utf8(bytes).map_err(|err| {
        let at = err.utf8_error().valid_up_to();
        let bytes = err.as_bytes();
        ConfigError::Invalid {
            line: error::line_of_bytes(bytes, at),
            file: file.clone(),
            key: String::new(),
            message: format!(
                "not UTF-8 text: byte 0x{:02x} cannot start a character",
                bytes[at]
            ),
        }
    })?;
    let mut config = parse(&text, &file)?;
    config.storage.config_file = Some(path.to_path_buf());
    if config.storage.flush_every_ms.is_some() {
        tracing::warn!(
            "{file}: storage.flush_every_ms is no longer used (every write is flushed before it is acknowledged); remove it"
        );
    }
    Ok(config)
}

/// Parses and validates config text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
    // Without a span the fault is the file as a whole: line 1.
    let invalid = |key: String, span: Option<std::ops::Range<usize>>, message: String| {
        let line = span.map_or(1, |s| error::line_of(text, s.start));
        ConfigError::Invalid {
            file: file.to_string(),
            line,
            key,
            message,
        }
    };
    if text.trim().is_empty() {
        return Err(invalid(
            String::new(),
            None,
            "the file is empty: expected at least one [[sources]] table".into(),
        ));
    }
    let deserializer = toml::Deserializer::parse(text).map_err(|err| {
        let message = err.message().trim().to_string();
        // toml says "duplicate key" without the key; its span covers it.
        let key = match err.span() {
            Some(span) if message.starts_with("duplicate key") => {
                error::duplicate_key_path(text, span.clone()).unwrap_or_else(|| {
                    text.get(span)
                        .unwrap_or_default()
                        .trim()
                        .trim_matches(['"', '\''])
                        .to_string()
                })
            }
            _ => String::new(),
        };
        invalid(key, err.span(), message)
    })?;
    let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let key = if path == "." { String::new() } else { path };
        let inner = err.into_inner();
        let line = inner.span().or_else(|| error::span_of(text, &key));
        invalid(key, line, inner.message().trim().to_string())
    })?;
    validate(&config).map_err(|(key, message)| {
        let span = error::span_of(text, &key);
        invalid(key, span, message)
    })?;
    let mut config = config;
    config.storage.node_id = config.cluster.as_ref().map(|c| c.node_id.to_string());
    Ok(config)
}

/// Checks that span several keys; returns the key at fault and what is wrong.
fn validate(config: &Config) -> Result<(), (String, String)> {
    if config.storage.path.to_string_lossy().trim().is_empty() {
        return Err((
            "storage.path".into(),
            "expected the archive's directory, not an empty path".into(),
        ));
    }
    if config.storage.warc_max_bytes == 0 {
        return Err((
            "storage.warc_max_bytes".into(),
            "expected at least 1 byte".into(),
        ));
    }
    if config.sources.is_empty() {
        return Err((
            "sources".into(),
            "expected at least one [[sources]] table".into(),
        ));
    }
    for (i, source) in config.sources.iter().enumerate() {
        let key = |k: &str| format!("sources[{i}].{k}");
        if config.sources[..i].iter().any(|s| s.id == source.id) {
            return Err((
                key("id"),
                format!("source id {:?} is used twice", source.id.as_str()),
            ));
        }
        if source.name.trim().is_empty() {
            return Err((key("name"), "expected a non-empty name".into()));
        }
        if source.language.trim().is_empty() {
            return Err((
                key("language"),
                "expected a language tag such as \"vi\"".into(),
            ));
        }
        let hosts = source.hosts();
        if !hosts.allows(source.base_url()) {
            return Err((
                key("base_url"),
                format!(
                    "host {:?} is not in allowed_hosts [{hosts}]",
                    host_and_port(source.base_url())
                ),
            ));
        }
        if source.sections.is_empty() {
            return Err((
                key("sections"),
                "expected at least one [[sources.sections]] table".into(),
            ));
        }
        for (j, section) in source.sections.iter().enumerate() {
            let key = |k: &str| format!("sources[{i}].sections[{j}].{k}");
            if source.sections[..j].iter().any(|s| s.id == section.id) {
                return Err((
                    key("id"),
                    format!("section id {:?} is used twice", section.id.as_str()),
                ));
            }
            match source.base_url().join(&section.list_url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {
                    if !hosts.allows(&url) {
                        return Err((
                            key("list_url"),
                            format!(
                                "host {:?} is not in allowed_hosts [{hosts}]; every crawl of \
                                 this section would be refused",
                                host_and_port(&url)
                            ),
                        ));
                    }
                }
                _ => {
                    return Err((
                        key("list_url"),
                        format!(
                            "expected a URL relative to base_url, got {:?}",
                            section.list_url
                        ),
                    ));
                }
            }
        }
        if source.list.max_pages == 0 {
            return Err((key("list.max_pages"), "expected at least 1".into()));
        }
    }
    if config.server.feed_cache_bytes == 0 {
        return Err((
            "server.feed_cache_bytes".into(),
            "expected at least 1".into(),
        ));
    }
    validate_websub(&config.server)?;
    validate_connections(&config.server)?;
    cluster::validate(
        config.cluster.as_ref(),
        config.storage.object_store.as_ref(),
    )?;
    let crawler = &config.crawler;
    if crawler.max_concurrency_per_host == 0 {
        return Err((
            "crawler.max_concurrency_per_host".into(),
            "expected at least 1".into(),
        ));
    }
    if crawler.timeout_secs == 0 {
        return Err(("crawler.timeout_secs".into(), "expected at least 1".into()));
    }
    if crawler.max_page_bytes == 0 {
        return Err((
            "crawler.max_page_bytes".into(),
            "expected at least 1".into(),
        ));
    }
    if crawler.max_asset_bytes == 0 || crawler.max_asset_bytes > MAX_ASSET_BYTES_CEILING {
        return Err((
            "crawler.max_asset_bytes".into(),
            format!("expected from 1 to {MAX_ASSET_BYTES_CEILING} bytes"),
        ));
    }
    if crawler.max_assets_per_run == 0 {
        return Err((
            "crawler.max_assets_per_run".into(),
            "expected at least 1 (`capture = []` captures nothing)".into(),
        ));
    }
    Ok(())
}

fn validate_connections(server: &ServerConfig) -> Result<(), (String, String)> {
    let at_least_one = [
        ("server.max_connections", server.max_connections as u64),
        ("server.header_timeout_secs", server.header_timeout_secs),
        ("server.idle_timeout_secs", server.idle_timeout_secs),
    ];
    for (key, value) in at_least_one {
        if value == 0 {
            return Err((key.into(), "expected at least 1".into()));
        }
    }
    if server.max_connections_per_client > server.max_connections {
        return Err((
            "server.max_connections_per_client".into(),
            format!(
                "expected at most max_connections ({}), or 0 for no limit per client",
                server.max_connections
            ),
        ));
    }
    Ok(())
}

fn validate_websub(server: &ServerConfig) -> Result<(), (String, String)> {
    if server.websub_hubs.len() > WEBSUB_MAX_HUBS {
        return Err((
            "server.websub_hubs".into(),
            format!("expected at most {WEBSUB_MAX_HUBS} hubs"),
        ));
    }
    for (i, hub) in server.websub_hubs.iter().enumerate() {
        if server.websub_hubs[..i].iter().any(|h| h.0 == hub.0) {
            return Err((
                "server.websub_hubs".into(),
                format!("hub {} is listed twice", hub.0),
            ));
        }
    }
    if server.websub_max_subscriptions == 0
        || server.websub_max_subscriptions > WEBSUB_MAX_SUBSCRIPTIONS_CEILING
    {
        return Err((
            "server.websub_max_subscriptions".into(),
            format!("expected from 1 to {WEBSUB_MAX_SUBSCRIPTIONS_CEILING}"),
        ));
    }
    if server.websub_max_pending == 0 || server.websub_max_pending > WEBSUB_MAX_PENDING_CEILING {
        return Err((
            "server.websub_max_pending".into(),
            format!("expected from 1 to {WEBSUB_MAX_PENDING_CEILING}"),
        ));
    }
    if !WEBSUB_LEASE_SECS_RANGE.contains(&server.websub_lease_secs) {
        return Err((
            "server.websub_lease_secs".into(),
            format!(
                "expected from {} (a minute) to {} (a year) seconds",
                WEBSUB_LEASE_SECS_RANGE.start(),
                WEBSUB_LEASE_SECS_RANGE.end()
            ),
        ));
    }
    Ok(())
}

fn default_websub_max_subscriptions() -> usize {
    DEFAULT_WEBSUB_MAX_SUBSCRIPTIONS
}

fn default_websub_max_pending() -> usize {
    DEFAULT_WEBSUB_MAX_PENDING
}

fn default_websub_lease_secs() -> u64 {
    DEFAULT_WEBSUB_LEASE_SECS
}

fn default_max_connections() -> usize {
    DEFAULT_MAX_CONNECTIONS
}

fn default_max_connections_per_client() -> usize {
    DEFAULT_MAX_CONNECTIONS_PER_CLIENT
}

fn default_header_timeout_secs() -> u64 {
    DEFAULT_HEADER_TIMEOUT_SECS
}

fn default_idle_timeout_secs() -> u64 {
    DEFAULT_IDLE_TIMEOUT_SECS
}

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN
        .parse()
        .expect("DEFAULT_LISTEN is a socket address")
}

fn default_feed_ttl_minutes() -> u32 {
    DEFAULT_FEED_TTL_MINUTES
}

fn default_feed_cache_bytes() -> u64 {
    DEFAULT_FEED_CACHE_BYTES
}

fn default_storage_path() -> PathBuf {
    PathBuf::from(DEFAULT_STORAGE_PATH)
}

fn default_cache_capacity() -> u64 {
    DEFAULT_CACHE_CAPACITY
}

fn default_warc_max_bytes() -> u64 {
    DEFAULT_WARC_MAX_BYTES
}

fn default_stall_timeout_secs() -> u64 {
    DEFAULT_STALL_TIMEOUT_SECS
}

fn default_schedule() -> Schedule {
    Schedule::try_from(DEFAULT_SCHEDULE.to_string()).expect("DEFAULT_SCHEDULE is a valid schedule")
}

fn default_max_pages() -> u32 {
    DEFAULT_MAX_PAGES
}
