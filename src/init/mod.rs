//! `gazette init`: a new portal's profile, inferred from its list page and three articles.
//!
//! The list page is fetched through [`crate::fetch`] (robots.txt, politeness, only the URL's
//! host), its repeated item block found ([`list`]), three listed articles fetched and their
//! title, date, body, sapo, category, credit and attachments found ([`article`]). The result
//! is a complete, commented config ([`write`]), proved by extracting the fetched pages with it.

pub mod accuracy;
mod article;
mod identity;
mod labels;
mod list;
mod paging;
mod proof;
mod selector;
mod write;

use std::fmt;
use std::path::Path;

use thiserror::Error;
use url::Url;

use crate::config::{AllowedHosts, Config, ConfigError};
use crate::extract::ExtractError;
use crate::fetch::{FetchError, Fetcher, Response};
use crate::model::Page;

pub use proof::{FieldValue, PageProof};

/// How many listed articles are fetched to infer the article profile.
pub const ARTICLES_SAMPLED: usize = 3;

/// Why a profile could not be inferred.
#[derive(Debug, Error)]
pub enum InitError {
    #[error("fetching {url} failed")]
    Fetch {
        url: String,
        #[source]
        cause: FetchError,
    },
    #[error("{url} answers {status}: no page to learn from")]
    Gone { url: String, status: u16 },
    #[error("{url} cannot be read")]
    Page {
        url: String,
        #[source]
        cause: ExtractError,
    },
    #[error("no repeated block of article links found on {url}: is it a category list page?")]
    NoItems { url: String },
    #[error("none of the listed articles could be fetched")]
    NoArticles,
    /// The written config does not load: a fault of `init`, reported with the text's error.
    #[error("the inferred config does not load")]
    Config(#[source] ConfigError),
    #[error("cannot write {path}")]
    Write {
        path: String,
        #[source]
        cause: std::io::Error,
    },
}

/// Something `init` is unsure of: the field (`list.next_page`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub field: &'static str,
    pub text: String,
}

impl Note {
    fn new(field: &'static str, text: impl Into<String>) -> Note {
        Note {
            field,
            text: text.into(),
        }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.text)
    }
}

/// What `init` is asked for.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// A category list page of the portal.
    pub list_url: Url,
    /// The source id; from the host when absent.
    pub id: Option<String>,
    /// The source name; the page's title when absent.
    pub name: Option<String>,
}

/// A page as fetched.
#[derive(Debug, Clone)]
pub struct FetchedPage {
    pub url: Url,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl FetchedPage {
    pub fn page(&self) -> Page<'_> {
        Page {
            url: &self.url,
            content_type: self.content_type.as_deref(),
            bytes: &self.bytes,
        }
    }
}

/// The inferred profile, as config text and loaded, with the pages it was learnt from.
#[derive(Debug)]
pub struct Inferred {
    /// The complete, commented config file.
    pub config_text: String,
    pub config: Config,
    pub list: FetchedPage,
    pub articles: Vec<FetchedPage>,
    /// What the config extracts from each fetched page, field by field.
    pub proof: Vec<PageProof>,
    /// What `init` is unsure of.
    pub unsure: Vec<Note>,
}

impl Inferred {
    /// The proof as a table: per page, what each field gave.
    pub fn proof_table(&self) -> String {
        proof::render(&self.proof)
    }
}

/// Fetches the list page and three of its articles, and infers the source's profile.
pub async fn infer(options: &InitOptions, fetcher: &Fetcher) -> Result<Inferred, InitError> {
    let hosts = AllowedHosts::new(&[], &options.list_url);
    let list_page = fetch(fetcher, &options.list_url, &hosts).await?;
    let list = {
        let html =
            crate::extract::document(&list_page.page()).map_err(|cause| InitError::Page {
                url: list_page.url.to_string(),
                cause,
            })?;
        list::infer(&html, &list_page.url)?
    };
    let mut articles = Vec::new();
    let mut titles = Vec::new();
    let mut failures = Vec::new();
    for listed in &list.items {
        if articles.len() == ARTICLES_SAMPLED {
            break;
        }
        match fetch(fetcher, &listed.url, &hosts).await {
            Ok(page) => {
                articles.push(page);
                titles.push(listed.title.clone());
            }
            Err(err) => failures.push(Note::new("article", crate::describe(&err))),
        }
    }
    if articles.is_empty() {
        return Err(InitError::NoArticles);
    }
    let guess = {
        let parsed: Vec<(scraper::Html, &FetchedPage, &String)> = articles
            .iter()
            .zip(&titles)
            .filter_map(|(page, title)| {
                crate::extract::document(&page.page())
                    .ok()
                    .map(|html| (html, page, title))
            })
            .collect();
        let pages: Vec<article::ArticlePage<'_>> = parsed
            .iter()
            .map(|(html, page, title)| article::ArticlePage {
                html,
                url: &page.url,
                listed_title: title,
            })
            .collect();
        article::infer(&pages, &list.section_names)
    };
    let config_text = write::config(options, &list, &guess, &list_page);
    let config = crate::config::parse(&config_text, "gazette init").map_err(InitError::Config)?;
    let source = &config.sources[0];
    let proof = proof::prove(source, &list_page, &articles);
    let mut unsure: Vec<Note> = failures;
    unsure.extend(list.notes.iter().cloned());
    unsure.extend(guess.notes.iter().cloned());
    unsure.extend(proof::doubts(&proof, articles.len()));
    Ok(Inferred {
        config_text,
        config,
        list: list_page,
        articles,
        proof,
        unsure,
    })
}

async fn fetch(
    fetcher: &Fetcher,
    url: &Url,
    hosts: &AllowedHosts,
) -> Result<FetchedPage, InitError> {
    match fetcher.get(url, hosts, None).await {
        Ok(Response::Page { capture, .. }) => Ok(FetchedPage {
            url: url.clone(),
            content_type: capture.content_type().map(str::to_string),
            bytes: capture.body,
        }),
        Ok(Response::Gone { status }) => Err(InitError::Gone {
            url: url.to_string(),
            status,
        }),
        Ok(Response::NotModified) => Err(InitError::Gone {
            url: url.to_string(),
            status: 304,
        }),
        Err(cause) => Err(InitError::Fetch {
            url: url.to_string(),
            cause,
        }),
    }
}

/// Saves the fetched pages in the fixture format (`fixtures/pages`): each page beside a JSON
/// of what the inferred profile extracts from it, to review and keep as the source's tests;
/// and the config that reads them, `gazette.toml`.
pub fn save_fixtures(inferred: &Inferred, dir: &Path) -> Result<Vec<String>, InitError> {
    std::fs::create_dir_all(dir).map_err(|cause| InitError::Write {
        path: dir.display().to_string(),
        cause,
    })?;
    let mut files = Vec::new();
    let mut save = |name: String, bytes: &[u8]| -> Result<(), InitError> {
        let path = dir.join(&name);
        std::fs::write(&path, bytes).map_err(|cause| InitError::Write {
            path: path.display().to_string(),
            cause,
        })?;
        files.push(name);
        Ok(())
    };
    save("gazette.toml".into(), inferred.config_text.as_bytes())?;
    let source = &inferred.config.sources[0];
    let section = source.sections[0].id.to_string();
    save("list.html".into(), &inferred.list.bytes)?;
    if let Ok(list) = crate::read_list(&inferred.list.page(), source) {
        let json = serde_json::json!({
            "url": inferred.list.url.as_str(),
            "content_type": inferred.list.content_type,
            "kind": "list",
            "what": "the list page `gazette init` learnt from; review before keeping",
            "expect": list,
        });
        save("list.json".into(), pretty(&json).as_bytes())?;
    }
    for (i, page) in inferred.articles.iter().enumerate() {
        let stem = format!("article-{}", i + 1);
        save(format!("{stem}.html"), &page.bytes)?;
        let Ok(article) = crate::read_article(&page.page(), source, &section) else {
            continue;
        };
        let json = serde_json::json!({
            "url": page.url.as_str(),
            "content_type": page.content_type,
            "kind": "article",
            "what": "an article `gazette init` learnt from; review before keeping",
            "expect": article,
        });
        save(format!("{stem}.json"), pretty(&json).as_bytes())?;
    }
    Ok(files)
}

fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}
