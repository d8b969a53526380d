//! The config `init` writes: server, storage and crawler defaults, and the inferred source,
//! every key commented.

use std::fmt::Write as _;

use url::Url;

use super::article::ArticleGuess;
use super::list::ListGuess;
use super::proof::FieldFill;
use super::{FetchedPage, InitOptions};
use crate::config::{
    DEFAULT_CACHE_CAPACITY, DEFAULT_FEED_CACHE_BYTES, DEFAULT_FEED_TTL_MINUTES, DEFAULT_LISTEN,
    DEFAULT_MAX_ASSET_BYTES, DEFAULT_MAX_ASSETS_PER_RUN, DEFAULT_MAX_CONCURRENCY_PER_HOST,
    DEFAULT_MAX_PAGE_BYTES, DEFAULT_MAX_PAGES, DEFAULT_MIN_DELAY_MS, DEFAULT_RECHECK_DAYS,
    DEFAULT_RETRIES, DEFAULT_RETRY_BASE_MS, DEFAULT_SCHEDULE, DEFAULT_STORAGE_PATH,
    DEFAULT_TIMEOUT_SECS, DEFAULT_USER_AGENT,
};

/// A TOML string literal.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn quoted_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| quoted(i)).collect();
    format!("[{}]", items.join(", "))
}

/// The time zone a portal in this language writes its times in, and how sure that is.
fn timezone(language: &str) -> (&'static str, &'static str) {
    match language {
        "vi" => ("Asia/Ho_Chi_Minh", "Vietnamese portal: local time, UTC+7"),
        "th" => ("Asia/Bangkok", "Thai portal: local time, UTC+7"),
        "lo" => ("Asia/Vientiane", "Lao portal: local time, UTC+7"),
        "km" => ("Asia/Phnom_Penh", "Khmer portal: local time, UTC+7"),
        _ => (
            "UTC",
            "UNSURE: the page's language does not say its zone; set it",
        ),
    }
}

/// A source id from the host: `sokhcn.tinh.example` -> `sokhcn`.
fn id_from_host(url: &Url) -> String {
    let host = url.host_str().unwrap_or("source");
    let label = host
        .split('.')
        .find(|l| *l != "www" && !l.is_empty())
        .unwrap_or(host);
    let id: String = label
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if id.trim_matches('-').is_empty() {
        "source".into()
    } else {
        id.trim_matches('-').to_string()
    }
}

/// A section id from the section's name or the list URL.
fn section_id(name: Option<&str>, url: &Url) -> String {
    let from = name.map(crate::normalize::text::clean).unwrap_or_else(|| {
        url.path_segments()
            .and_then(|mut s| s.rfind(|s| !s.is_empty()).map(str::to_string))
            .unwrap_or_default()
    });
    // Tones off and đ as d first (`Đường dây nóng` -> `duong-day-nong`), then what is left of
    // non-ASCII goes.
    let folded: String = crate::search::analysis::folded(&from)
        .chars()
        .filter(char::is_ascii)
        .collect();
    let mut id = String::new();
    for c in folded.to_ascii_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c);
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    let id = id.trim_matches('-').to_string();
    if id.is_empty() { "news".into() } else { id }
}

fn title_of(list_page: &FetchedPage) -> Option<String> {
    let html = crate::extract::document(&list_page.page()).ok()?;
    let sel = scraper::Selector::parse("title").ok()?;
    let title = html.select(&sel).next().map(super::selector::text)?;
    (!title.is_empty()).then_some(title)
}

/// What the proof says of a written selector, for its comment: `filled on 8 of 8 sampled
/// pages, e.g. "…"`.
fn filled(fields: &[FieldFill], field: &str) -> String {
    fields
        .iter()
        .find(|f| f.field == field)
        .map(|f| {
            let pages = if f.of == 1 { "page" } else { "pages" };
            let sample = f
                .sample
                .as_deref()
                .map(|s| format!(", e.g. {}", quoted(&crate::normalize::text::shorten(s, 50))))
                .unwrap_or_default();
            format!(
                "; filled on {} of {} sampled {pages}{sample}",
                f.filled, f.of
            )
        })
        .unwrap_or_default()
}

/// The whole config file; `fields` (empty on a first draft) say how each selector did.
pub fn config(
    options: &InitOptions,
    list: &ListGuess,
    article: &ArticleGuess,
    list_page: &FetchedPage,
    fields: &[FieldFill],
) -> String {
    let url = &options.list_url;
    let mut base = url.clone();
    base.set_path("/");
    base.set_query(None);
    base.set_fragment(None);
    let id = options.id.clone().unwrap_or_else(|| id_from_host(url));
    let name = options
        .name
        .clone()
        .or_else(|| title_of(list_page))
        .unwrap_or_else(|| url.host_str().unwrap_or("portal").to_string());
    let language = list.language.clone().unwrap_or_else(|| "vi".into());
    let (zone, zone_note) = timezone(&language);
    let mut list_url = url.path().to_string();
    if let Some(query) = url.query() {
        list_url.push('?');
        list_url.push_str(query);
    }
    let section_name = list.section_name.clone().unwrap_or_else(|| name.clone());
    let mut t = String::new();
    let _ = writeln!(t, "# gazette config written by `gazette init --url {url}`.");
    let _ = writeln!(
        t,
        "# Every key is documented in docs/CONFIG.md; lines marked UNSURE need a look."
    );
    let _ = writeln!(t);
    let _ = writeln!(t, "[server]");
    let _ = writeln!(
        t,
        "listen = {}                   # where `gazette serve` listens",
        quoted(DEFAULT_LISTEN)
    );
    let _ = writeln!(
        t,
        "feed_ttl_minutes = {DEFAULT_FEED_TTL_MINUTES}                       # RSS ttl and Cache-Control max-age of live feeds"
    );
    let _ = writeln!(
        t,
        "feed_cache_bytes = {DEFAULT_FEED_CACHE_BYTES}                 # bytes of rendered feeds kept in memory"
    );
    let _ = writeln!(t);
    let _ = writeln!(t, "[storage]");
    let _ = writeln!(
        t,
        "path = {}                       # db/ (sled index) and warc/ (WARC files)",
        quoted(DEFAULT_STORAGE_PATH)
    );
    let _ = writeln!(
        t,
        "cache_capacity = {DEFAULT_CACHE_CAPACITY:<27}# bytes of page cache of the index, as stored on disk"
    );
    let _ = writeln!(t);
    let _ = writeln!(t, "[crawler]");
    let _ = writeln!(
        t,
        "user_agent = {}           # say who you are: add a contact URL",
        quoted(DEFAULT_USER_AGENT)
    );
    let _ = writeln!(t, "respect_robots_txt = true");
    let _ = writeln!(
        t,
        "min_delay_ms = {DEFAULT_MIN_DELAY_MS}                         # per host, between requests"
    );
    let _ = writeln!(
        t,
        "max_concurrency_per_host = {DEFAULT_MAX_CONCURRENCY_PER_HOST}"
    );
    let _ = writeln!(t, "timeout_secs = {DEFAULT_TIMEOUT_SECS}");
    let _ = writeln!(t, "max_page_bytes = {DEFAULT_MAX_PAGE_BYTES}");
    let _ = writeln!(
        t,
        "retries = {DEFAULT_RETRIES}                                 # connection errors, timeouts, 5xx and 429"
    );
    let _ = writeln!(t, "retry_base_ms = {DEFAULT_RETRY_BASE_MS}");
    let _ = writeln!(
        t,
        "recheck_days = {DEFAULT_RECHECK_DAYS}                            # re-fetch articles this recent each run to catch edits"
    );
    let _ = writeln!(
        t,
        "capture = [\"attachments\", \"images\"]         # captured beside each article: \"attachments\", \"images\""
    );
    let _ = writeln!(t, "max_asset_bytes = {DEFAULT_MAX_ASSET_BYTES}");
    let _ = writeln!(
        t,
        "max_assets_per_run = {DEFAULT_MAX_ASSETS_PER_RUN}                    # asset requests per run; the rest wait for the next"
    );
    let _ = writeln!(t);
    let _ = writeln!(t, "[[sources]]");
    let _ = writeln!(
        t,
        "id = {}                               # [a-z0-9-]+, used in URLs and article ids",
        quoted(&id)
    );
    let _ = writeln!(t, "name = {}", quoted(&name));
    let _ = writeln!(t, "base_url = {}", quoted(base.as_str()));
    let _ = writeln!(t, "timezone = {}               # {zone_note}", quoted(zone));
    let _ = writeln!(
        t,
        "language = {}                              # <html lang> of the list page",
        quoted(&language)
    );
    let _ = writeln!(
        t,
        "schedule = {}                 # cron, seconds first: every 30 minutes",
        quoted(DEFAULT_SCHEDULE)
    );
    let _ = writeln!(
        t,
        "allowed_hosts = [{}]",
        quoted(&crate::config::host_and_port(url))
    );
    match &list.id_param {
        Some(param) => {
            let _ = writeln!(
                t,
                "canonical_query = {}    # these keys identify an article; the others vary with the link",
                quoted_list(&list.canonical_query)
            );
            let _ = writeln!(
                t,
                "id_param = {}                          # article id = \"{id}:<{param}>\"",
                quoted(param)
            );
            if let Some(pattern) = &list.id_pattern {
                let _ = writeln!(
                    t,
                    "id_pattern = {}                      # the id is the number that opens the {param} value (\"1452:alias\")",
                    quoted(pattern)
                );
            }
        }
        None => {
            let _ = writeln!(
                t,
                "canonical_query = []                        # article URLs carry no identifying query; the path is the identity"
            );
        }
    }
    let _ = writeln!(t);
    let _ = writeln!(t, "  [[sources.sections]]");
    let _ = writeln!(
        t,
        "  id = {}",
        quoted(&section_id(list.section_name.as_deref(), url))
    );
    let _ = writeln!(t, "  name = {}", quoted(&section_name));
    let _ = writeln!(t, "  list_url = {}", quoted(&list_url));
    let _ = writeln!(t);
    let _ = writeln!(t, "  [sources.list]");
    let _ = writeln!(
        t,
        "  item = {}        # one element per listed article ({} found)",
        quoted(&list.item),
        list.items.len()
    );
    let _ = writeln!(
        t,
        "  link = {}                                  # inside item",
        quoted(&list.link)
    );
    optional(
        &mut t,
        "published",
        list.published.as_deref(),
        &format!("inside item{}", filled(fields, "list.published")),
        list_note(list, "list.published"),
    );
    match &list.summary {
        Some(css) => {
            let _ = writeln!(
                t,
                "  summary = {}        # inside item{}",
                quoted(css),
                filled(fields, "list.summary")
            );
        }
        None => {
            let _ = writeln!(t, "  # summary = \"…\"        # the items show no summary");
        }
    }
    optional(
        &mut t,
        "next_page",
        list.next_page.as_deref(),
        &format!(
            "absent on the last page{}",
            filled(fields, "list.next_page")
        ),
        list_note(list, "list.next_page"),
    );
    let _ = writeln!(t, "  max_pages = {DEFAULT_MAX_PAGES}");
    let _ = writeln!(t);
    let _ = writeln!(t, "  [sources.article]");
    // `init` refuses to write a config without a title (see `InitError::NoTitle`).
    let title = article.title.clone().unwrap_or_default();
    let title_note = match article_note(article, "article.title") {
        Some(note) => format!("UNSURE: {note}"),
        None => "the element whose text is the listed title".to_string(),
    };
    let _ = writeln!(
        t,
        "  title = {}        # {title_note}{}",
        quoted(&title),
        filled(fields, "article.title")
    );
    optional(
        &mut t,
        "published",
        article.published.as_deref(),
        &format!(
            "the date between the title and the text{}",
            filled(fields, "article.published")
        ),
        article_note(article, "article.published"),
    );
    match &article.summary {
        Some(css) => {
            let _ = writeln!(
                t,
                "  summary = {}        # the sapo{}",
                quoted(css),
                filled(fields, "article.summary")
            );
        }
        None => {
            let _ = writeln!(
                t,
                "  # summary = \"…\"        # no sapo found: the body's first paragraph stands in"
            );
        }
    }
    let (body, body_note) = match (&article.body, article_note(article, "article.body")) {
        (Some(css), None) => (
            css.clone(),
            "the block holding the text that differs from page to page".to_string(),
        ),
        (Some(css), Some(note)) => (css.clone(), format!("UNSURE: {note}")),
        // Matches nothing, so readability finds each page's body.
        (None, note) => (
            "body > gazette-no-body".to_string(),
            format!(
                "UNSURE: {}; readability reads every page",
                note.unwrap_or("no block found")
            ),
        ),
    };
    let _ = writeln!(
        t,
        "  body = {}        # {body_note}{}",
        quoted(&body),
        filled(fields, "article.body")
    );
    optional(
        &mut t,
        "category",
        article.category.as_deref(),
        &format!(
            "the section's name as the page shows it{}",
            filled(fields, "article.category")
        ),
        article_note(article, "article.category"),
    );
    optional(
        &mut t,
        "credit",
        article.credit.as_deref(),
        &format!("the source line{}", filled(fields, "article.credit")),
        article_note(article, "article.credit"),
    );
    optional(
        &mut t,
        "attachments",
        article.attachments.as_deref(),
        &format!(
            "links to documents (.pdf/.doc/…, download handlers){}",
            filled(fields, "article.attachments")
        ),
        None,
    );
    let _ = writeln!(
        t,
        "  remove = {}   # what every sampled page repeats inside the body (toolbars, labels, related lists, widgets); other fields still see them",
        quoted_list(&article.remove)
    );
    let _ = writeln!(
        t,
        "  date_formats = []                         # chrono formats tried before the built-in recogniser"
    );
    let _ = writeln!(
        t,
        "  fallback = \"readability\"                   # when the body selector matches nothing, readability finds the body"
    );
    t
}

fn list_note<'a>(list: &'a ListGuess, field: &str) -> Option<&'a str> {
    list.notes
        .iter()
        .find(|n| n.field == field)
        .map(|n| n.text.as_str())
}

fn article_note<'a>(article: &'a ArticleGuess, field: &str) -> Option<&'a str> {
    article
        .notes
        .iter()
        .find(|n| n.field == field)
        .map(|n| n.text.as_str())
}

/// A selector line, or a commented-out line saying none was found.
fn optional(t: &mut String, key: &str, css: Option<&str>, what: &str, note: Option<&str>) {
    match (css, note) {
        (Some(css), None) => {
            let _ = writeln!(t, "  {key} = {}        # {what}", quoted(css));
        }
        (Some(css), Some(note)) => {
            let _ = writeln!(
                t,
                "  {key} = {}        # {what}; UNSURE: {note}",
                quoted(css)
            );
        }
        (None, note) => {
            let _ = writeln!(
                t,
                "  # {key} = \"…\"        # {what}: UNSURE, none found{}",
                note.map(|n| format!(" ({n})")).unwrap_or_default()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_id_reads_d_for_the_barred_d() {
        let url = Url::parse("https://x.example/tin-tuc").unwrap();
        assert_eq!(section_id(Some("Đường dây nóng"), &url), "duong-day-nong");
        assert_eq!(section_id(Some("Tin hoạt động"), &url), "tin-hoat-dong");
        assert_eq!(section_id(None, &url), "tin-tuc");
    }
}
