//! Reading an archive that `gazette serve` holds: the same answers, asked of the running server
//! over its HTTP API (sled lets one process at a time open an archive).

use std::io::Write;

use anyhow::{Context, bail};
use gazette::daemon::ServeRecord;
use gazette::model::{Archived, Revision};
use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use crate::cli::ScopeArgs;

/// Articles asked for per request; the server answers at most this many.
const PAGE: usize = gazette::server::MAX_FEED_ITEMS;

/// A running `gazette serve`, reached at the address its pid file records.
pub struct Served {
    record: ServeRecord,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

/// What `/api/articles` answers.
#[derive(Deserialize)]
struct ArticlesPage {
    articles: Vec<Archived>,
    next_cursor: Option<String>,
}

/// What `/api/articles/{id}` answers (its revision summaries are not needed here).
#[derive(Deserialize)]
struct ArticleAnswer {
    article: Archived,
}

impl Served {
    pub fn new(record: ServeRecord) -> anyhow::Result<Served> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .context("cannot start the HTTP client")?;
        Ok(Served {
            record,
            client,
            runtime: super::runtime()?,
        })
    }

    /// `http://ADDR/` followed by `segments`, each percent-encoded as one path segment.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = Url::parse(&format!("http://{}/", self.record.listen))
            .unwrap_or_else(|_| Url::parse("http://127.0.0.1/").expect("a valid URL"));
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        self.runtime.block_on(request.send()).with_context(|| {
            format!(
                "the archive is in use by gazette serve (pid {}), which does not answer on {}",
                self.record.pid, self.record.listen
            )
        })
    }

    /// The body of a successful answer as JSON; any other status is an error naming it.
    fn json<T: serde::de::DeserializeOwned>(
        &self,
        response: reqwest::Response,
    ) -> anyhow::Result<T> {
        let response = self.successful(response)?;
        let url = response.url().clone();
        let bytes = self
            .runtime
            .block_on(response.bytes())
            .with_context(|| format!("reading the answer of {url}"))?;
        serde_json::from_slice(&bytes).with_context(|| format!("the answer of {url}"))
    }

    fn successful(&self, response: reqwest::Response) -> anyhow::Result<reqwest::Response> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let url = response.url().clone();
        let detail = self.detail(response);
        bail!(
            "gazette serve (pid {}) answered {status} to {}: {detail}",
            self.record.pid,
            url.path()
        )
    }

    /// What an answer's JSON body says went wrong (its `detail`), or nothing.
    fn detail(&self, response: reqwest::Response) -> String {
        self.runtime
            .block_on(response.bytes())
            .ok()
            .and_then(|body| serde_json::from_slice::<serde_json::Value>(&body).ok())
            .and_then(|body| body["detail"].as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The articles `gazette query` lists (at most `limit`), read page by page.
    pub fn articles(
        &self,
        scope: &ScopeArgs,
        limit: Option<usize>,
    ) -> anyhow::Result<Vec<Archived>> {
        let mut found: Vec<Archived> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let want = limit.map_or(PAGE, |limit| limit.saturating_sub(found.len()).min(PAGE));
            if want == 0 {
                return Ok(found);
            }
            let mut url = self.url(&["api", "articles"]);
            url.query_pairs_mut()
                .append_pair("limit", &want.to_string());
            let given = [
                ("source", scope.source.as_deref()),
                // The API takes a section only with its source; without one the CLI ignores it.
                (
                    "section",
                    scope.section.as_deref().filter(|_| scope.source.is_some()),
                ),
                ("since", scope.since.as_deref()),
                ("until", scope.until.as_deref()),
                ("cursor", cursor.as_deref()),
            ];
            for (name, value) in given {
                if let Some(value) = value {
                    url.query_pairs_mut().append_pair(name, value);
                }
            }
            let response = self.send(self.client.get(url))?;
            let page: ArticlesPage = self.json(response)?;
            found.extend(page.articles);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(found),
            }
        }
    }

    /// One article; `None` when the server has no such article.
    pub fn article(&self, id: &str) -> anyhow::Result<Option<Archived>> {
        let response = self.send(self.client.get(self.url(&["api", "articles", id])))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Ok(Some(self.json::<ArticleAnswer>(response)?.article))
    }

    pub fn revisions(&self, id: &str) -> anyhow::Result<Vec<Revision>> {
        let response =
            self.send(
                self.client
                    .get(self.url(&["api", "articles", id, "revisions"])),
            )?;
        self.json(response)
    }

    /// `/api/search` with `params` (name, value), its `results`. A query the server refuses (400)
    /// is a usage error, as it is when the index is searched here.
    pub fn search(&self, params: &[(&str, String)]) -> anyhow::Result<Vec<gazette::search::Hit>> {
        #[derive(Deserialize)]
        struct Results {
            results: Vec<gazette::search::Hit>,
        }
        let mut url = self.url(&["api", "search"]);
        for (name, value) in params {
            url.query_pairs_mut().append_pair(name, value);
        }
        let response = self.send(self.client.get(url))?;
        if response.status() == StatusCode::BAD_REQUEST {
            return Err(super::UsageError(self.detail(response)).into());
        }
        let results: Results = self.json(response)?;
        Ok(results.results)
    }

    /// The bytes captured for a revision; `None` when there is no such revision.
    pub fn capture(&self, id: &str, number: u32) -> anyhow::Result<Option<Vec<u8>>> {
        let mut url = self.url(&["api", "articles", id, "raw"]);
        url.query_pairs_mut()
            .append_pair("rev", &number.to_string());
        let response = self.send(self.client.get(url))?;
        if matches!(
            response.status(),
            StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST
        ) {
            return Ok(None);
        }
        let response = self.successful(response)?;
        let bytes = self
            .runtime
            .block_on(response.bytes())
            .context("reading the captured page from gazette serve")?;
        Ok(Some(bytes.to_vec()))
    }

    /// Copies `/api/export` to `out` as it arrives; returns how many articles (lines).
    pub fn export(
        &self,
        token: Option<&str>,
        token_env: Option<&str>,
        raw: bool,
        out: &mut dyn Write,
    ) -> anyhow::Result<usize> {
        let Some(token) = token else {
            bail!(
                "the archive is in use by gazette serve (pid {}, listening on {}); exporting \
                 through it needs the admin token: {}",
                self.record.pid,
                self.record.listen,
                match token_env {
                    Some(name) => format!("set {name} as the server has it"),
                    None => "set server.admin_token_env in the config and that variable".into(),
                }
            )
        };
        let mut url = self.url(&["api", "export"]);
        if raw {
            url.query_pairs_mut().append_pair("raw", "true");
        }
        let response = self.send(self.client.get(url).bearer_auth(token))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            bail!(
                "gazette serve (pid {}) refused the admin token from {}",
                self.record.pid,
                token_env.unwrap_or("the environment")
            );
        }
        let mut response = self.successful(response)?;
        let mut lines = 0;
        while let Some(chunk) = self
            .runtime
            .block_on(response.chunk())
            .context("the export from gazette serve broke off")?
        {
            lines += chunk.iter().filter(|b| **b == b'\n').count();
            out.write_all(&chunk).context("cannot write the export")?;
        }
        out.flush().context("cannot write the export")?;
        Ok(lines)
    }
}
