//! `gazette init`: a new portal's profile, inferred from its list page and three articles.
//!
//! The list page is fetched through [`crate::fetch`] (robots.txt, politeness, only the URL's
//! host), its repeated item block found ([`list`]), three listed articles fetched and their
//! title, date, body, sapo, category, credit and attachments found ([`article`]). The result
//! is a complete, commented config ([`write`]), proved by extracting the fetched pages with it.

pub mod accuracy;
mod article;
mod files;
mod identity;
mod labels;
mod list;
mod paging;
mod proof;
mod selector;
mod template;
mod write;

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use thiserror::Error;
use url::Url;

use crate::config::{AllowedHosts, Config, ConfigError};
use crate::extract::ExtractError;
use crate::fetch::{FetchError, Fetcher, Response};
use crate::model::Page;

pub use proof::{FieldFill, FieldValue, PageProof};

/// How many listed articles are fetched at most to infer the article profile: enough to see
/// what every page repeats and each layout a section uses, few enough to stay polite (one
/// request a second by default).
pub const ARTICLES_SAMPLED: usize = 8;
/// Fewer articles than this on the first list page: the next page's are sampled too.
const ARTICLES_WANTED: usize = 5;
/// Links of the sampled bodies asked for their type with a HEAD request, at most.
const MAX_TYPE_CHECKS: usize = 4;
/// Query keys proved by fetching the article without them, at most.
const MAX_KEY_PROOFS: usize = 4;

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
    #[error("none of the {tried} listed articles could be fetched (the first: {first})")]
    NoArticles { tried: usize, first: String },
    /// No element of the article pages repeats the titles the list gave them.
    #[error(
        "no element of the {pages} article pages fetched shows the title their list item gave (tried each heading and titled element outside menus against {tried}); is {url} a list of articles of this site?"
    )]
    NoTitle {
        pages: usize,
        tried: String,
        url: String,
    },
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
    /// Per written selector: on how many sampled pages it filled its field, and a sample.
    pub fields: Vec<FieldFill>,
    /// What `init` is unsure of.
    pub unsure: Vec<Note>,
}

impl Inferred {
    /// The proof as a table: per page, what each field gave.
    pub fn proof_table(&self) -> String {
        proof::render(&self.proof)
    }

    /// Per field: the selector written, on how many sampled pages it filled, a sample value.
    pub fn fields_table(&self) -> String {
        proof::render_fields(&self.fields)
    }
}

/// Fetches the list page and up to [`ARTICLES_SAMPLED`] of its articles, infers the source's
/// profile, and proves it by fetching: the next page, the query keys left out of the canonical
/// URL, the type of links that may be documents.
pub async fn infer(options: &InitOptions, fetcher: &Fetcher) -> Result<Inferred, InitError> {
    let hosts = AllowedHosts::new(&[], &options.list_url);
    let list_page = fetch(fetcher, &options.list_url, &hosts).await?;
    let list_html =
        crate::extract::document(&list_page.page()).map_err(|cause| InitError::Page {
            url: list_page.url.to_string(),
            cause,
        })?;
    let mut list = list::infer(&list_html, &list_page.url)?;
    // The next page, followed: it has to list other articles.
    let next = paging::follow(fetcher, &hosts, &list_html, &list_page.url, &mut list).await;
    let mut candidates: Vec<list::Listed> = list.items.clone();
    if candidates.len() < ARTICLES_WANTED {
        candidates.extend(next.into_iter().flatten());
    }
    let mut articles = Vec::new();
    let mut listed = Vec::new();
    let mut failures = Vec::new();
    for item in &candidates {
        if articles.len() == ARTICLES_SAMPLED {
            break;
        }
        match fetch(fetcher, &item.url, &hosts).await {
            Ok(page) => {
                articles.push(page);
                listed.push(item.clone());
            }
            Err(err) => failures.push(Note::new("article", crate::describe(&err))),
        }
    }
    if articles.is_empty() {
        return Err(InitError::NoArticles {
            tried: failures.len(),
            first: failures
                .first()
                .map_or_else(|| "none listed".to_string(), |n| n.text.clone()),
        });
    }
    let parsed: Vec<scraper::Html> = articles
        .iter()
        .map(|page| {
            crate::extract::document(&page.page())
                .unwrap_or_else(|_| scraper::Html::parse_document(""))
        })
        .collect();
    // Of the texts an item gave its article, the one the article page heads itself with.
    let titles: Vec<String> = parsed
        .iter()
        .zip(&listed)
        .map(|(html, item)| listed_title(html, item))
        .collect();
    let all_titles: Vec<String> = candidates
        .iter()
        .flat_map(|i| i.titles.iter().cloned())
        .collect();
    let htmls: Vec<&scraper::Html> = parsed.iter().collect();
    let template = template::Template::learn(&htmls, &all_titles);
    let pages: Vec<article::ArticlePage<'_>> = parsed
        .iter()
        .zip(&articles)
        .zip(titles.iter().zip(&listed))
        .map(|((html, page), (title, item))| article::ArticlePage {
            html,
            url: &page.url,
            listed_title: title,
            listed_date: item.published,
        })
        .collect();
    let mut documents = HashSet::new();
    let mut guess = article::infer(&pages, &list.section_names, &template, &documents);
    // Links of the bodies that may be documents served without a telling address.
    let unknown = files_to_check(&pages, guess.body.as_deref(), &candidates);
    let mut checked = 0;
    for url in unknown.into_iter().take(MAX_TYPE_CHECKS) {
        checked += 1;
        if let Ok(Some(content_type)) = fetcher.content_type(&url, &hosts).await
            && files::document_type(&content_type)
        {
            documents.insert(url.to_string());
        }
    }
    if !documents.is_empty() {
        guess = article::infer(&pages, &list.section_names, &template, &documents);
    }
    if guess.title.is_none() {
        return Err(InitError::NoTitle {
            pages: pages.len(),
            tried: titles
                .iter()
                .take(3)
                .map(|t| format!("{t:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            url: list_page.url.to_string(),
        });
    }
    let mut notes: Vec<Note> = failures;
    if !documents.is_empty() {
        notes.push(Note::new(
            "article.attachments",
            format!(
                "{} of {checked} links asked for their type (HEAD) are documents",
                documents.len()
            ),
        ));
    }
    // The query keys: kept unless the article answers the same without them.
    let source_title = guess.title.clone();
    list.canonical_query = prove_keys(
        fetcher,
        &hosts,
        &list,
        articles.first(),
        titles.first(),
        source_title.as_deref(),
        &mut notes,
    )
    .await;
    let draft = write::config(options, &list, &guess, &list_page, &[]);
    let draft = crate::config::parse(&draft, "gazette init").map_err(InitError::Config)?;
    let proof = proof::prove(&draft.sources[0], &list_page, &articles);
    let fields = proof::fields(&draft.sources[0], &proof, articles.len());
    let config_text = write::config(options, &list, &guess, &list_page, &fields);
    let config = crate::config::parse(&config_text, "gazette init").map_err(InitError::Config)?;
    let mut unsure: Vec<Note> = notes;
    unsure.extend(list.notes.iter().cloned());
    unsure.extend(guess.notes.iter().cloned());
    unsure.extend(proof::doubts(&proof, &fields));
    Ok(Inferred {
        config_text,
        config,
        list: list_page,
        articles,
        proof,
        fields,
        unsure,
    })
}

/// Of the texts a list item gave its article (the title link's, a "read more" link's), the
/// one an element of the article page repeats; the title link's when none does.
fn listed_title(html: &scraper::Html, item: &list::Listed) -> String {
    item.titles
        .iter()
        .find(|title| {
            html.root_element()
                .descendants()
                .filter_map(scraper::ElementRef::wrap)
                .filter(|e| selector::small(*e, 24) && e.value().name() != "title")
                .any(|e| selector::same_title(&selector::text(e), title))
        })
        .cloned()
        .unwrap_or_else(|| item.title.clone())
}

/// Same-host links inside the sampled bodies that are neither known documents, nor images,
/// nor listed articles, nor on several pages: what a HEAD request is asked about.
fn files_to_check(
    pages: &[article::ArticlePage<'_>],
    body: Option<&str>,
    listed: &[list::Listed],
) -> Vec<Url> {
    let Some(sel) = body.and_then(selector::compile) else {
        return Vec::new();
    };
    let Some(anchor) = selector::compile("a[href]") else {
        return Vec::new();
    };
    let mut seen: Vec<Url> = Vec::new();
    let mut twice: HashSet<Url> = HashSet::new();
    for page in pages {
        let mut on_page = HashSet::new();
        for body in page.html.select(&sel).take(1) {
            for a in body.select(&anchor) {
                let Some(url) = list::article_url(a, page.url) else {
                    continue;
                };
                if listed.iter().any(|l| l.url == url) || !on_page.insert(url.clone()) {
                    continue;
                }
                if seen.contains(&url) {
                    twice.insert(url);
                } else {
                    seen.push(url);
                }
            }
        }
    }
    seen.into_iter().filter(|u| !twice.contains(u)).collect()
}

/// The canonical query keys, proved: the id is kept; a key other links set otherwise is
/// dropped; each other key is dropped only when the first article answers with the same
/// title without it. Past [`MAX_KEY_PROOFS`] fetches, the guess from the URLs alone stands.
async fn prove_keys(
    fetcher: &Fetcher,
    hosts: &AllowedHosts,
    list: &list::ListGuess,
    article: Option<&FetchedPage>,
    listed_title: Option<&String>,
    title_css: Option<&str>,
    notes: &mut Vec<Note>,
) -> Vec<String> {
    let identity = &list.identity;
    let (Some(article), Some(listed_title), Some(title_sel)) =
        (article, listed_title, title_css.and_then(selector::compile))
    else {
        return list.canonical_query.clone();
    };
    let title_sel = &title_sel;
    let same_without = |keys: Vec<&String>| {
        let mut without = article.url.clone();
        let pairs: Vec<(String, String)> = article
            .url
            .query_pairs()
            .filter(|(k, _)| !keys.iter().any(|key| *key == k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if pairs.is_empty() {
            without.set_query(None);
        } else {
            without.query_pairs_mut().clear().extend_pairs(pairs);
        }
        async move {
            match fetch(fetcher, &without, hosts).await {
                Ok(page) => crate::extract::document(&page.page()).is_ok_and(|html| {
                    html.select(title_sel)
                        .next()
                        .is_some_and(|e| selector::same_title(&selector::text(e), listed_title))
                }),
                Err(_) => false,
            }
        }
    };
    let id = identity.id_param.as_ref();
    let open: Vec<&String> = identity
        .keys
        .iter()
        .filter(|k| Some(*k) != id && !identity.varies.contains(*k))
        .collect();
    // The id alone first: one request proves every other key can go.
    if !open.is_empty() && same_without(open.clone()).await {
        return id.into_iter().cloned().collect();
    }
    let mut kept = Vec::new();
    let mut proofs = 1;
    for key in &identity.keys {
        if Some(key) == identity.id_param.as_ref() {
            kept.push(key.clone());
            continue;
        }
        if identity.varies.contains(key) {
            continue;
        }
        if proofs == MAX_KEY_PROOFS {
            if list.canonical_query.contains(key) {
                kept.push(key.clone());
            }
            notes.push(Note::new(
                "canonical_query",
                format!("`{key}` not proved by fetching (more than {MAX_KEY_PROOFS} keys)"),
            ));
            continue;
        }
        proofs += 1;
        let same = open.len() > 1 && same_without(vec![key]).await;
        if !same {
            kept.push(key.clone());
        }
    }
    kept
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
