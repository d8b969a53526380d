//! `gazette search`, `gazette reindex`, `show --diff`, and keeping the index current after
//! `gazette crawl`.

use std::path::Path;

use anyhow::Context;
use gazette::archive::SledArchive;
use gazette::config::{self, Config};
use gazette::model::{Revision, RunReport};
use gazette::search::{Hit, Opened, Request, SearchIndex};
use gazette::server::MAX_FEED_ITEMS;

use super::{Reader, UsageError, open_for_reading, open_for_writing, print};
use crate::cli::SearchArgs;

/// The index beside `config`'s archive, rebuilt (and said so on stderr) when it must be.
fn open_index(config: &Config, archive: &SledArchive) -> anyhow::Result<(SearchIndex, Opened)> {
    let dir = SearchIndex::dir(&config.storage.path);
    let (index, opened) = SearchIndex::open(&dir, archive)
        .map_err(|err| anyhow::anyhow!(gazette::search::chain(&err)))?;
    match &opened {
        Opened::Rebuilt { reason, articles } if reason == gazette::search::NO_INDEX => {
            eprintln!("search index created: {articles} article(s)");
        }
        Opened::Rebuilt { reason, articles } => {
            eprintln!("search index rebuilt ({reason}): {articles} article(s)");
        }
        Opened::Existing => {}
    }
    Ok((index, opened))
}

/// After `gazette crawl`: the new and revised articles made searchable. A failure is told and
/// the crawl still counts: the archive holds the articles.
pub fn after_crawl(config: &Config, reports: &[RunReport]) {
    if reports.iter().all(|r| r.new + r.revised == 0)
        && SearchIndex::dir(&config.storage.path).exists()
    {
        return;
    }
    let archive = match open_for_writing(config, super::CRAWL_INSTEAD) {
        Ok(archive) => archive,
        Err(err) => {
            eprintln!("the search index was not updated ({err:#}); gazette reindex rebuilds it");
            return;
        }
    };
    match open_index(config, &archive) {
        // Rebuilt from the archive as it is now: the runs' articles are in it.
        Ok((_, Opened::Rebuilt { .. })) => {}
        Ok((index, Opened::Existing)) => {
            for report in reports {
                index.after_run(&archive, report);
            }
        }
        Err(err) => {
            eprintln!("the search index was not updated ({err:#}); gazette reindex rebuilds it")
        }
    }
}

pub fn reindex(config_path: &Path) -> anyhow::Result<()> {
    let config = config::load(config_path)?;
    // `serve` keeps its own search index up to date.
    let archive = super::open_alone(&config, "")?;
    let started = std::time::Instant::now();
    let dir = SearchIndex::dir(&config.storage.path);
    let (_, articles) = SearchIndex::rebuild(&dir, &archive)
        .map_err(|err| anyhow::anyhow!(gazette::search::chain(&err)))?;
    print(&format!(
        "search index rebuilt: {articles} article(s) in {:.1} s",
        started.elapsed().as_secs_f64()
    ))
}

pub fn search(args: &SearchArgs) -> anyhow::Result<()> {
    let config = config::load(&args.config)?;
    let (since, until) = super::time_range(&config, &args.scope)?;
    // Checked here, so the answer is the same whether `serve` holds the archive or not.
    gazette::search::query::parse(&args.query).map_err(|err| UsageError(err.to_string()))?;
    if !(1..=MAX_FEED_ITEMS).contains(&args.limit) {
        return Err(UsageError(format!(
            "--limit: expected a whole number from 1 to {MAX_FEED_ITEMS}, got {}",
            args.limit
        ))
        .into());
    }
    let hits: Vec<Hit> = match open_for_reading(&config)? {
        Reader::Local(archive) => {
            let (index, _) = open_index(&config, &archive)?;
            let request = Request {
                text: args.query.clone(),
                source: args.scope.source.clone(),
                section: args.scope.section.clone(),
                since,
                until,
                limit: args.limit,
                newest_first: args.newest,
                cursor: None,
                ranking: gazette::search::Ranking::Pairs,
            };
            index
                .search(&archive, &request)
                .map_err(|err| match err {
                    gazette::search::SearchError::Query(err) => UsageError(err.to_string()).into(),
                    other => anyhow::anyhow!(gazette::search::chain(&other)),
                })?
                .hits
        }
        Reader::Served(served) => {
            let mut params = vec![("q", args.query.clone()), ("limit", args.limit.to_string())];
            let scope = &args.scope;
            let given = [
                ("source", &scope.source),
                ("section", &scope.section),
                ("since", &scope.since),
                ("until", &scope.until),
            ];
            for (name, value) in given {
                if let Some(value) = value {
                    params.push((name, value.clone()));
                }
            }
            if args.newest {
                params.push(("order", "newest".into()));
            }
            served.search(&params)?
        }
    };
    let columns = [
        "id",
        "published",
        "title",
        "url",
        "section",
        "score",
        "snippet",
    ];
    super::print_records(&hits, args.format, &columns, |hit| {
        let a = &hit.archived.article;
        vec![
            a.id.0.clone(),
            a.published.map(|t| t.to_rfc3339()).unwrap_or_default(),
            a.title.clone(),
            a.url.clone(),
            a.section.clone(),
            format!("{:.3}", hit.score),
            hit.snippet.clone(),
        ]
    })
}

/// `show ID --diff FROM..TO`: the two revisions compared, for a terminal.
pub fn diff(revisions: &[Revision], range: &str) -> anyhow::Result<String> {
    let bad = || UsageError(format!("--diff {range:?}: expected FROM..TO, e.g. 1..2"));
    let (from, to) = range.split_once("..").ok_or_else(bad)?;
    let number = |text: &str| text.trim().parse::<u32>().map_err(|_| bad());
    let (from, to) = (number(from)?, number(to)?);
    let find = |n: u32| {
        revisions
            .iter()
            .find(|r| r.number == n)
            .with_context(|| format!("no revision {n} (the article has {})", revisions.len()))
    };
    Ok(gazette::diff::plain(&gazette::diff::compare(
        find(from)?,
        find(to)?,
    )?))
}
