//! The crawl's way to the network (WebSub and `init` have their own clients): one HTTP client,
//! allowed hosts only, robots.txt, per-host politeness, retries with backoff, conditional GET
//! and a cap on body size.

mod origins;
mod politeness;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::RngExt;
use reqwest::header::{self, HeaderMap};
use thiserror::Error;
use url::Url;

use crate::config::{AllowedHosts, CrawlerConfig, host_and_port};
use crate::model::{Capture, Validators};
use politeness::Gates;

pub use origins::Origins;

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 5;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// `host` is `host:port` when the port is not the scheme's default.
    #[error("{url}: host {host:?} is not among the source's allowed hosts; not requested")]
    OffHost { url: String, host: String },
    #[error("{url}: only http and https are fetched")]
    Scheme { url: String },
    #[error("{url}: disallowed by robots.txt")]
    Robots { url: String },
    #[error("{url}: the body is larger than {setting} ({limit} bytes); cut off")]
    TooLarge {
        url: String,
        limit: u64,
        setting: &'static str,
    },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {detail}")]
    Network { url: String, detail: String },
    #[error("{url}: more than {MAX_REDIRECTS} redirects")]
    Redirects { url: String },
}

/// What a GET came back with.
#[derive(Debug, Clone)]
pub enum Response {
    /// 2xx: the page, and the validators to send next time.
    Page {
        capture: Capture,
        validators: Validators,
    },
    /// 304: unchanged since the validators sent.
    NotModified,
    /// 404 or 410: an answer, not an error to retry.
    Gone { status: u16 },
}

/// One attempt's failure, and whether another attempt may help.
struct Failure {
    error: FetchError,
    retry: bool,
    retry_after: Option<Duration>,
}

/// A fetcher for one run: the politeness and robots.txt state live as long as it does.
/// The most body bytes one fetch keeps, and the setting that says so (named in the error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit {
    pub bytes: u64,
    pub setting: &'static str,
}

pub struct Fetcher {
    client: reqwest::Client,
    settings: CrawlerConfig,
    gates: Gates,
    robots: tokio::sync::Mutex<HashMap<String, Arc<Option<texting_robots::Robot>>>>,
    refused_hosts: Mutex<HashSet<String>>,
    origins: Origins,
}

impl Fetcher {
    pub fn new(settings: &CrawlerConfig) -> Result<Fetcher, FetchError> {
        let timeout = Duration::from_secs(settings.timeout_secs);
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .gzip(true)
            .brotli(true)
            .build()
            .map_err(|err| FetchError::Network {
                url: String::new(),
                detail: err.to_string(),
            })?;
        Ok(Fetcher {
            client,
            gates: Gates::new(
                settings.max_concurrency_per_host,
                Duration::from_millis(settings.min_delay_ms),
            ),
            settings: settings.clone(),
            robots: tokio::sync::Mutex::new(HashMap::new()),
            refused_hosts: Mutex::new(HashSet::new()),
            origins: Origins::default(),
        })
    }

    /// This fetcher sends the requests for `origin` to `address` instead (a replay of the
    /// portal), while every URL it checks, reports and captures stays the portal's.
    pub fn reaching_origin_at(mut self, origin: &Url, address: &Url) -> Fetcher {
        self.origins.add(origin, address);
        self
    }

    /// This fetcher sends the requests for each of `origins` to its address.
    pub fn reaching(mut self, origins: &Origins) -> Fetcher {
        self.origins = origins.clone();
        self
    }

    /// GETs `url`, following redirects within `allowed_hosts` (host and port, checked before
    /// every request, robots.txt included); `validators` make it conditional.
    pub async fn get(
        &self,
        url: &Url,
        allowed_hosts: &AllowedHosts,
        validators: Option<&Validators>,
    ) -> Result<Response, FetchError> {
        self.get_within(url, allowed_hosts, validators, self.page_limit())
            .await
    }

    /// [`Fetcher::get`] with its own body limit (`max_asset_bytes` for attachments and images).
    pub async fn get_within(
        &self,
        url: &Url,
        allowed_hosts: &AllowedHosts,
        validators: Option<&Validators>,
        limit: BodyLimit,
    ) -> Result<Response, FetchError> {
        let mut url = url.clone();
        for hop in 0..=MAX_REDIRECTS {
            self.permitted(&url, allowed_hosts).await?;
            let (status, headers, body) = self
                .with_retries(&url, if hop == 0 { validators } else { None }, limit)
                .await?;
            match status {
                300..=399 if status != 304 => {
                    let location = headers.get(header::LOCATION).and_then(|v| v.to_str().ok());
                    let next = location.and_then(|l| url.join(l).ok());
                    let Some(next) = next.map(|n| self.origins.logical(&n)) else {
                        return Err(FetchError::Status {
                            url: url.to_string(),
                            status,
                        });
                    };
                    url = next;
                }
                304 => return Ok(Response::NotModified),
                404 | 410 => return Ok(Response::Gone { status }),
                200..=299 => {
                    let validators = Validators {
                        etag: header_text(&headers, header::ETAG),
                        last_modified: header_text(&headers, header::LAST_MODIFIED),
                    };
                    let headers = headers
                        .iter()
                        .map(|(name, value)| {
                            (
                                name.to_string(),
                                String::from_utf8_lossy(value.as_bytes()).into_owned(),
                            )
                        })
                        .collect();
                    let capture = Capture {
                        url: url.to_string(),
                        status,
                        headers,
                        body,
                    };
                    return Ok(Response::Page {
                        capture,
                        validators,
                    });
                }
                _ => {
                    return Err(FetchError::Status {
                        url: url.to_string(),
                        status,
                    });
                }
            }
        }
        Err(FetchError::Redirects {
            url: url.to_string(),
        })
    }

    /// The Content-Type a HEAD request for `url` answers, on the same terms as a GET (allowed
    /// hosts, robots.txt, the host's turn), once and without following a redirect: `None` when
    /// the answer is not a 2xx or has no type.
    pub async fn content_type(
        &self,
        url: &Url,
        allowed_hosts: &AllowedHosts,
    ) -> Result<Option<String>, FetchError> {
        self.permitted(url, allowed_hosts).await?;
        let gate = self.gates.host(&url.origin().ascii_serialization());
        let _turn = gate.turn().await;
        let response = self
            .client
            .head(self.origins.wire(url))
            .send()
            .await
            .map_err(|err| FetchError::Network {
                url: url.to_string(),
                detail: describe(&err),
            })?;
        Ok(response
            .status()
            .is_success()
            .then(|| header_text(response.headers(), header::CONTENT_TYPE))
            .flatten())
    }

    /// Whether `url` may be requested: an allowed host and port, and robots.txt.
    async fn permitted(&self, url: &Url, allowed_hosts: &AllowedHosts) -> Result<(), FetchError> {
        self.check_allowed(url, allowed_hosts)?;
        if self.settings.respect_robots_txt && !self.robots_allow(url).await {
            return Err(FetchError::Robots {
                url: url.to_string(),
            });
        }
        Ok(())
    }

    fn page_limit(&self) -> BodyLimit {
        BodyLimit {
            bytes: self.settings.max_page_bytes,
            setting: "max_page_bytes",
        }
    }

    fn check_allowed(&self, url: &Url, allowed_hosts: &AllowedHosts) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Scheme {
                url: url.to_string(),
            });
        }
        if allowed_hosts.allows(url) {
            return Ok(());
        }
        let host = host_and_port(url);
        let mut refused = self.refused_hosts.lock().unwrap_or_else(|e| e.into_inner());
        if refused.insert(host.clone()) {
            tracing::warn!(%url, %host, "not fetching a page on a host or port outside allowed_hosts");
        }
        Err(FetchError::OffHost {
            url: url.to_string(),
            host,
        })
    }

    /// Reads robots.txt once per origin; a missing or unreadable one allows everything.
    async fn robots_allow(&self, url: &Url) -> bool {
        let origin = url.origin().ascii_serialization();
        let mut cache = self.robots.lock().await;
        let robot = match cache.get(&origin) {
            Some(robot) => robot.clone(),
            None => {
                let robot = Arc::new(self.load_robots(url, &origin).await);
                cache.insert(origin.clone(), robot.clone());
                robot
            }
        };
        drop(cache);
        robot
            .as_ref()
            .as_ref()
            .is_none_or(|r| r.allowed(url.as_str()))
    }

    async fn load_robots(&self, url: &Url, origin: &str) -> Option<texting_robots::Robot> {
        let robots_url = url.join("/robots.txt").ok()?;
        match self
            .with_retries(&robots_url, None, self.page_limit())
            .await
        {
            Ok((200..=299, _, body)) => {
                match texting_robots::Robot::new(&self.settings.user_agent, &body) {
                    Ok(robot) => {
                        if let Some(delay) = politeness::crawl_delay(&robot) {
                            self.gates.host(origin).slow_down_to(delay).await;
                        }
                        Some(robot)
                    }
                    Err(err) => {
                        tracing::warn!(%robots_url, %err, "robots.txt unreadable; fetching as if it allowed all");
                        None
                    }
                }
            }
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(%robots_url, %err, "robots.txt not available; fetching as if it allowed all");
                None
            }
        }
    }

    /// One request with retries: connection errors, timeouts, cut-off bodies and 5xx/429 are
    /// tried again with exponential backoff and jitter, honouring `Retry-After`.
    async fn with_retries(
        &self,
        url: &Url,
        validators: Option<&Validators>,
        limit: BodyLimit,
    ) -> Result<(u16, HeaderMap, Vec<u8>), FetchError> {
        let mut attempt = 0;
        loop {
            match self.attempt(url, validators, limit).await {
                Ok(done) => return Ok(done),
                Err(failure) if failure.retry && attempt < self.settings.retries => {
                    let wait = failure.retry_after.unwrap_or_else(|| self.backoff(attempt));
                    tracing::debug!(%url, error = %failure.error, ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(failure) => return Err(failure.error),
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .settings
            .retry_base_ms
            .saturating_mul(1 << attempt.min(10));
        let jitter = rand::rng().random_range(0..=base / 2);
        Duration::from_millis((base + jitter).min(30_000))
    }

    async fn attempt(
        &self,
        url: &Url,
        validators: Option<&Validators>,
        limit: BodyLimit,
    ) -> Result<(u16, HeaderMap, Vec<u8>), Failure> {
        let network = |err: reqwest::Error| Failure {
            error: FetchError::Network {
                url: url.to_string(),
                detail: describe(&err),
            },
            retry: true,
            retry_after: None,
        };
        let gate = self.gates.host(&url.origin().ascii_serialization());
        let _turn = gate.turn().await;
        let mut request = self.client.get(self.origins.wire(url));
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(modified) = &v.last_modified {
                request = request.header(header::IF_MODIFIED_SINCE, modified);
            }
        }
        let started = std::time::Instant::now();
        let mut response = request.send().await.map_err(network)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if status >= 500 || status == 429 {
            crate::metrics::METRICS.fetched(status, started.elapsed().as_secs_f64());
            return Err(Failure {
                error: FetchError::Status {
                    url: url.to_string(),
                    status,
                },
                retry: true,
                retry_after: retry_after(&headers),
            });
        }
        let too_large = || Failure {
            error: FetchError::TooLarge {
                url: url.to_string(),
                limit: limit.bytes,
                setting: limit.setting,
            },
            retry: false,
            retry_after: None,
        };
        if response
            .content_length()
            .is_some_and(|len| len > limit.bytes)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if body.len() as u64 + chunk.len() as u64 > limit.bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        crate::metrics::METRICS.fetched(status, started.elapsed().as_secs_f64());
        Ok((status, headers, body))
    }
}

/// A Content-Type's media type alone, lowercase: `text/html; charset=utf-8` → `text/html`.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .to_std()
                .unwrap_or_default()
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// A reqwest error with its causes, in one line.
fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_string()
    } else {
        err.to_string()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = cause_source(source);
    }
    text
}

fn cause_source<'a>(
    err: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    err.and_then(|e| e.source())
}
