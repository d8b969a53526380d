//! What each subcommand does: load the config, call the library, print the result.

mod backup;
pub mod cluster;
mod health;
mod init;
mod package;
mod reparse;
pub mod search;
mod served;

use gazette::archive::prelude::*;
use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, FixedOffset};
use gazette::archive::{self, ArchiveError, Query, SledArchive};
use gazette::config::{self, Config, Source};
use gazette::crawl::{CrawlEvent, CrawlOptions, run_source};
use gazette::daemon::{DaemonError, ServeRecord};
use gazette::fetch::{Fetcher, Response};
use gazette::model::{Archived, ArticleId, Page, RunReport};
use indicatif::ProgressBar;
use url::Url;

pub use backup::{export, import};
pub use init::init;
pub use reparse::reparse;

use crate::cli::{CrawlArgs, ExtractArgs, Format, QueryArgs, ScopeArgs, ShowArgs};

/// A mistake in how gazette was called: exit code 2, like a bad config.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub fn extract(args: &ExtractArgs) -> anyhow::Result<()> {
    let config = config::load(&args.config)?;
    let source = find_source(&config, &args.source)?;
    let section = match &args.section {
        Some(id) => source
            .section(id)
            .ok_or_else(|| UsageError(format!("source {:?} has no section {id:?}", args.source)))?,
        None => &source.sections[0],
    };
    let url =
        Url::parse(&args.url).map_err(|err| UsageError(format!("--url {:?}: {err}", args.url)))?;
    let (url, content_type, bytes) = match &args.file {
        Some(file) => {
            let bytes =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            (url, args.content_type.clone(), bytes)
        }
        None => fetch_one(&config, source, &url)?,
    };
    let page = Page {
        url: &url,
        content_type: content_type.as_deref(),
        bytes: &bytes,
    };
    let json = if args.list {
        serde_json::to_string_pretty(&gazette::read_list(&page, source)?)?
    } else {
        serde_json::to_string_pretty(&gazette::read_article(&page, source, section.id.as_str())?)?
    };
    print(&json)
}

/// Fetches one page through the real fetcher (allowed hosts, robots.txt, retries).
fn fetch_one(
    config: &Config,
    source: &Source,
    url: &Url,
) -> anyhow::Result<(Url, Option<String>, Vec<u8>)> {
    let fetcher = Fetcher::new(&config.crawler)?;
    let response = runtime()?.block_on(fetcher.get(url, &source.hosts(), None))?;
    match response {
        Response::Page { capture, .. } => {
            let final_url = Url::parse(&capture.url).unwrap_or_else(|_| url.clone());
            let content_type = capture.content_type().map(str::to_string);
            Ok((final_url, content_type, capture.body))
        }
        Response::Gone { status } => bail!("{url}: HTTP {status}"),
        Response::NotModified => bail!("{url}: HTTP 304 to an unconditional request"),
    }
}

/// `check`: the config's sources and next runs; with `health`, the fill table of the last runs
/// read from the archive.
pub fn check(path: &Path, health: bool) -> anyhow::Result<()> {
    let config = config::load(path)?;
    let mut out = format!(
        "{}: ok, {} source(s)\n",
        path.display(),
        config.sources.len()
    );
    for source in &config.sources {
        out.push_str(&format!(
            "source {} ({}): {} timezone {} language {} schedule \"{}\"\n",
            source.id,
            source.name,
            source.base_url(),
            source.tz(),
            source.language,
            source.schedule.as_str()
        ));
        out.push_str(&format!("  allowed hosts: {}\n", source.hosts()));
        for section in &source.sections {
            out.push_str(&format!(
                "  section {} ({}): {}\n",
                section.id,
                section.name,
                source.list_url(section)
            ));
        }
        let fires = gazette::schedule::next_fires(source, chrono::Utc::now(), 3);
        let fires: Vec<String> = fires.iter().map(|t| t.to_rfc3339()).collect();
        out.push_str(&format!("  next runs: {}\n", fires.join(", ")));
    }
    if let Some(cluster) = &config.cluster {
        out.push_str(&cluster::describe(cluster)?);
    }
    if let Some(store) = &config.storage.object_store {
        out.push_str(&object_store_check(store));
    }
    if health {
        let archive = archive::open_existing(&config.storage).map_err(|err| match err {
            ArchiveError::Locked { path } => match ServeRecord::read(&config.storage.path) {
                Some(record) => anyhow!(
                    "the archive is in use by gazette serve (pid {}, listening on {}); its \
                     /healthz tells each source's selector health",
                    record.pid,
                    record.listen
                ),
                None => held_by_another(&path),
            },
            other => other.into(),
        })?;
        out.push_str(&health::fill_table(&config, &archive)?);
    }
    print(out.trim_end())
}

/// What `[storage.object_store]` connects to (never a credential's value) and whether a LIST of
/// its prefix answers.
fn object_store_check(store: &gazette::config::ObjectStoreConfig) -> String {
    use gazette::archive::remote::{CREDENTIAL_VARIABLES, Remote};
    let endpoint = store
        .endpoint
        .as_ref()
        .map_or("AWS".to_string(), |e| e.to_string());
    let (set, unset): (Vec<&str>, Vec<&str>) = CREDENTIAL_VARIABLES
        .iter()
        .partition(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    let mut out = format!(
        "object store: bucket {} prefix {:?} endpoint {endpoint} region {}; set: {}; unset: {}\n",
        store.url.bucket,
        store.url.prefix,
        store.region,
        if set.is_empty() {
            "none".to_string()
        } else {
            set.join(", ")
        },
        if unset.is_empty() {
            "none".to_string()
        } else {
            unset.join(", ")
        },
    );
    let listed =
        Remote::open(store).and_then(|remote| remote.run(|b| async move { b.list().await }));
    out.push_str(&match listed {
        Ok(files) => format!(
            "object store: list ok, {} WARC file(s) under {}\n",
            files.len(),
            store.url
        ),
        Err(err) => format!("object store: list failed: {}\n", gazette::describe(&err)),
    });
    out
}

pub fn crawl(args: &CrawlArgs) -> anyhow::Result<()> {
    let config = config::load(&args.config)?;
    alone_only(&config, "crawl")?;
    let sources: Vec<&Source> = match &args.source {
        Some(id) => vec![find_source(&config, id)?],
        None => config.sources.iter().collect(),
    };
    let archive = archive::Handle::new(std::sync::Arc::new(open_for_writing(
        &config,
        CRAWL_INSTEAD,
    )?));
    let fetcher = Fetcher::new(&config.crawler)?;
    let options = CrawlOptions {
        backfill: args.backfill,
        max_pages: args.max_pages,
    };
    let progress = if std::io::stderr().is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    let runtime = runtime()?;
    let mut reports = Vec::new();
    for source in sources {
        progress.set_message(format!("crawling {}", source.id));
        let run = runtime.block_on(run_source(
            &fetcher,
            &archive,
            source,
            &config.crawler,
            options,
            &|event| show_progress(&progress, event),
        ));
        match run {
            Ok(report) => reports.push(report),
            Err(stopped) => {
                progress.finish_and_clear();
                return Err(run_stopped(&config, &reports, stopped));
            }
        }
    }
    progress.finish_and_clear();
    // The runs' index cache, threads and connections go back to the system before the search
    // index reads the whole archive (a first crawl builds it).
    drop((archive, runtime, fetcher));
    crate::give_back_freed_memory();
    search::after_crawl(&config, &reports);
    for report in &reports {
        print(&summary(report))?;
        if let Some(line) = asset_summary(report) {
            print(&line)?;
        }
        if let Some(verdict) = &report.health {
            for line in health::degraded_lines(&report.source, verdict) {
                print(&line)?;
            }
        }
        for error in &report.errors {
            eprintln!("  {}: {error}", report.source);
        }
        for note in &report.asset_errors {
            eprintln!("  {}: asset {note}", report.source);
        }
        for url in &report.flattened {
            eprintln!(
                "  {}: {url}: archived flattened (too deep or too many elements; text kept)",
                report.source
            );
        }
    }
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.complete)
        .map(|r| r.source.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("not every section was crawled: {}", failed.join(", "));
    }
    Ok(())
}

/// The crawl's spinner: the list page being read, a tick per article.
fn show_progress(progress: &ProgressBar, event: CrawlEvent<'_>) {
    match event {
        CrawlEvent::ListPage { section, url } => progress.set_message(format!("{section} {url}")),
        CrawlEvent::Rechecking { articles } => {
            progress.set_message(format!("rechecking {articles} recent articles"))
        }
        CrawlEvent::Article { .. } => progress.inc(1),
    }
}

/// The one line a run stopped by the archive ends with; a full disk says what is saved and what
/// to do.
fn run_stopped(
    config: &Config,
    earlier: &[RunReport],
    stopped: gazette::crawl::RunStopped,
) -> anyhow::Error {
    let saved: u64 = earlier
        .iter()
        .chain([&stopped.report])
        .map(|r| r.new + r.revised)
        .sum();
    if stopped.error.is_no_space() {
        anyhow::anyhow!(
            "archive: no space left on device at {} ({saved} articles of this run are saved; free space and run again)",
            config.storage.path.display()
        )
    } else {
        anyhow::anyhow!(
            "archive: {} ({saved} articles of this run are saved)",
            gazette::describe(&stopped.error)
        )
    }
}

fn summary(report: &RunReport) -> String {
    let seconds = match (report.started, report.finished) {
        (Some(start), Some(end)) => (end - start).num_milliseconds() as f64 / 1000.0,
        _ => 0.0,
    };
    format!(
        "{}: {} pages fetched, {} new, {} revised, {} unchanged, {} gone, {} failed, {seconds:.1}s",
        report.source,
        report.pages_fetched,
        report.new,
        report.revised,
        report.unchanged,
        report.gone,
        report.failed
    )
}

/// The assets line of a run, when it touched any.
fn asset_summary(report: &RunReport) -> Option<String> {
    let counts = [
        report.assets_captured,
        report.assets_unchanged,
        report.assets_skipped,
        report.assets_failed,
        report.assets_deferred,
    ];
    (counts.iter().sum::<u64>() > 0).then(|| {
        format!(
            "{}: assets: {} captured, {} unchanged, {} skipped, {} failed, {} left for the next run",
            report.source, counts[0], counts[1], counts[2], counts[3], counts[4]
        )
    })
}

/// One end of a `--since`/`--until` range.
type Bound = DateTime<FixedOffset>;

/// `--since` and `--until` read in the zone of `--source` (else the first source's), once
/// `--source` and `--section` are checked against the config.
fn time_range(
    config: &Config,
    scope: &ScopeArgs,
) -> anyhow::Result<(Option<Bound>, Option<Bound>)> {
    let zone = match &scope.source {
        Some(id) => find_source(config, id)?,
        None => &config.sources[0],
    };
    if let Some(section) = &scope.section {
        let Some(source) = &scope.source else {
            bail!(UsageError("--section needs --source".into()));
        };
        if zone.section(section).is_none() {
            bail!(UsageError(format!(
                "source {source:?} has no section {section:?}"
            )));
        }
    }
    let tz = zone.tz();
    let since = (scope.since.as_deref())
        .map(|d| parse_date("--since", d, tz, false))
        .transpose()?;
    let until = (scope.until.as_deref())
        .map(|d| parse_date("--until", d, tz, true))
        .transpose()?;
    Ok((since, until))
}

pub fn query(args: &QueryArgs) -> anyhow::Result<()> {
    let config = config::load(&args.config)?;
    let (since, until) = time_range(&config, &args.scope)?;
    let query = Query {
        source: args.scope.source.clone(),
        section: args.scope.section.clone(),
        since,
        until,
        limit: args.limit,
    };
    let found = match open_for_reading(&config)? {
        Reader::Local(archive) => archive.articles(&query)?,
        Reader::Served(served) => served.articles(&args.scope, args.limit)?,
    };
    let columns = [
        "id",
        "published",
        "title",
        "url",
        "section",
        "category",
        "updated",
        "revisions",
        "gone_at",
    ];
    print_records(&found, args.format, &columns, |a| {
        let time = |t: Option<DateTime<FixedOffset>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
        vec![
            a.article.id.0.clone(),
            time(a.article.published),
            a.article.title.clone(),
            a.article.url.clone(),
            a.article.section.clone(),
            a.article.category.clone().unwrap_or_default(),
            a.updated.to_rfc3339(),
            a.revisions.to_string(),
            time(a.gone_at),
        ]
    })
}

/// Records as `--format` asks: pretty JSON, JSON Lines, or CSV with `columns` and one `row` each.
fn print_records<T: serde::Serialize>(
    records: &[T],
    format: Format,
    columns: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> anyhow::Result<()> {
    let out = match format {
        Format::Json => serde_json::to_string_pretty(records)?,
        Format::Jsonl => records
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()?
            .join("\n"),
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(columns)?;
            for record in records {
                writer.write_record(row(record))?;
            }
            String::from_utf8(writer.into_inner()?)?
        }
    };
    print(out.trim_end())
}

/// `YYYY-MM-DD` (in `tz`) or RFC 3339, as a usage error naming the flag when it is neither.
fn parse_date(
    flag: &str,
    text: &str,
    tz: chrono_tz::Tz,
    end_of_day: bool,
) -> anyhow::Result<DateTime<FixedOffset>> {
    gazette::normalize::date::parse_bound(text, tz, end_of_day)
        .map_err(|detail| UsageError(format!("{flag}: {detail}")).into())
}

pub fn show(args: &ShowArgs) -> anyhow::Result<()> {
    let config = config::load(&args.config)?;
    let reader = open_for_reading(&config)?;
    let id = ArticleId(args.id.clone());
    let found: Option<Archived> = match &reader {
        Reader::Local(archive) => archive.article(&id)?,
        Reader::Served(served) => served.article(&args.id)?,
    };
    let Some(archived) = found else {
        bail!("no article {:?} in the archive", args.id)
    };
    if let Some(number) = args.raw {
        let body = match &reader {
            Reader::Local(archive) => archive.capture(&id, number)?.map(|c| c.body),
            Reader::Served(served) => served.capture(&args.id, number)?,
        };
        let Some(body) = body else {
            if (1..=archived.revisions).contains(&number) {
                bail!("article {id} revision {number} has no captured page")
            }
            bail!(
                "article {id} has no revision {number} (it has {})",
                archived.revisions
            )
        };
        let mut stdout = std::io::stdout().lock();
        return match stdout.write_all(&body).and_then(|_| stdout.flush()) {
            Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(err).context("cannot write to stdout")
            }
            _ => Ok(()),
        };
    }
    if let Some(range) = &args.diff {
        let revisions = match &reader {
            Reader::Local(archive) => archive.revisions(&id)?,
            Reader::Served(served) => served.revisions(&args.id)?,
        };
        return print(&search::diff(&revisions, range)?);
    }
    if args.revisions {
        let revisions = match &reader {
            Reader::Local(archive) => archive.revisions(&id)?,
            Reader::Served(served) => served.revisions(&args.id)?,
        };
        return print(&serde_json::to_string_pretty(&revisions)?);
    }
    print(&serde_json::to_string_pretty(&archived)?)
}

/// Where a read command reads: the archive itself, or the `gazette serve` that holds it.
enum Reader {
    Local(SledArchive),
    Served(served::Served),
}

/// Opens the archive to read, never creating one; through the running server when it holds it.
fn open_for_reading(config: &Config) -> anyhow::Result<Reader> {
    match archive::open_existing(&config.storage) {
        Ok(archive) => Ok(Reader::Local(archive)),
        Err(ArchiveError::Locked { path }) => match ServeRecord::read(&config.storage.path) {
            Some(record) => Ok(Reader::Served(served::Served::new(record)?)),
            None => Err(held_by_another(&path)),
        },
        Err(err) => Err(err.into()),
    }
}

/// Opens (or creates) the archive to write; refused while a server or another command holds it,
/// `instead` following "stop it" when `serve` holds it.
fn open_for_writing(config: &Config, instead: &str) -> anyhow::Result<SledArchive> {
    archive::open(&config.storage).map_err(|err| match err {
        ArchiveError::Locked { path } => held(config, &path, instead),
        other => other.into(),
    })
}

/// Opens an existing archive (never creating one) for a command that needs it to itself:
/// refused while a server or another command holds it.
pub(crate) fn open_alone(config: &Config, instead: &str) -> anyhow::Result<SledArchive> {
    archive::open_existing(&config.storage).map_err(|err| match err {
        ArchiveError::Locked { path } => held(config, &path, instead),
        other => other.into(),
    })
}

/// What `crawl` can do while `serve` holds the archive: ask the server to crawl. Nothing
/// replaces the other writing commands (import, reparse, rebuild, migrate): they say to stop
/// `serve` before them.
pub(crate) const CRAWL_INSTEAD: &str = ", or use POST /api/sources/ID/crawl";

/// Who holds the archive, for a command that cannot go on while it is held; `instead` follows
/// "stop it" when `serve` holds it.
pub(crate) fn held(config: &Config, path: &str, instead: &str) -> anyhow::Error {
    match ServeRecord::read(&config.storage.path) {
        Some(record) => anyhow!(
            "the archive is in use by gazette serve (pid {}, listening on {}); stop it{instead}",
            record.pid,
            record.listen
        ),
        None => held_by_another(path),
    }
}

fn held_by_another(path: &str) -> anyhow::Error {
    anyhow!(
        "{path}: the archive is open in another gazette command; try again when it has finished"
    )
}

fn find_source<'c>(config: &'c Config, id: &str) -> anyhow::Result<&'c Source> {
    config.source(id).ok_or_else(|| {
        let known: Vec<&str> = config.sources.iter().map(|s| s.id.as_str()).collect();
        UsageError(format!(
            "no source {id:?} in the config (it has: {})",
            known.join(", ")
        ))
        .into()
    })
}

/// Refuses a command that writes the node's archive directly when the config names a cluster:
/// every write of a node goes through the archived stream, or its archive parts from the
/// others'.
fn alone_only(config: &Config, command: &str) -> anyhow::Result<()> {
    match &config.cluster {
        Some(cluster) => Err(UsageError(format!(
            "{command} writes this node's archive directly, and node {} is in a cluster: its \
             writes go through the cluster (gazette cluster run SOURCE [--backfill], or serve \
             runs it on its schedule)",
            cluster.node_id
        ))
        .into()),
        None => Ok(()),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Prints to stdout; a closed pipe is not an error worth a panic.
fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}") {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}

pub fn serve(path: &Path) -> anyhow::Result<()> {
    let config = std::sync::Arc::new(config::load(path)?);
    let public = config.server.public_url();
    let served = runtime()?.block_on(gazette::daemon::run(
        config.clone(),
        gazette::daemon::Startup::default(),
        move |addr| {
            eprintln!("gazette: serving on http://{addr}/ (feeds under {public}feeds/)");
        },
    ));
    match served {
        Err(DaemonError::Archive(ArchiveError::Locked { path })) => Err(held(&config, &path, "")),
        other => Ok(other?),
    }
}

pub fn demo(listen: std::net::SocketAddr) -> anyhow::Result<()> {
    let runtime = runtime()?;
    let dir = std::env::temp_dir().join(format!("gazette-demo-{}", std::process::id()));
    let result = runtime.block_on(async {
        let recording = gazette::replay::Recording::bundled().context("the bundled recording")?;
        let portal = gazette::replay::ReplayServer::start(recording)
            .await
            .context("cannot start the portal replay")?;
        let base = portal.base_url();
        // The portal's own URLs everywhere (ids, links, captures), the same on every run; only
        // the requests go to the replay.
        let mut edit = config::ConfigEdit::shipped();
        edit.listen(listen)
            .public_url(&format!("http://{listen}"))
            .storage_path(&dir.join("archive"))
            .crawler("min_delay_ms", 0)
            // No admin endpoint in the demo, and no warning that its variable is unset.
            .remove(&["server", "admin_token_env"]);
        let config = std::sync::Arc::new(edit.config("demo config")?);
        let mut origins = gazette::fetch::Origins::default();
        for source in &config.sources {
            origins.add(source.base_url(), &base);
        }
        eprintln!(
            "gazette demo: replaying the recorded portal at {base} (requests for the portal go there), crawling it once…"
        );
        gazette::daemon::run(
            config,
            gazette::daemon::Startup {
                crawl_first: true,
                origins,
            },
            |addr| {
                eprintln!("gazette demo: ready. Open:");
                eprintln!("  http://{addr}/                         sources, sections and feeds");
                eprintln!("  http://{addr}/feeds/bqlkkt.rss         RSS 2.0");
                eprintln!("  http://{addr}/feeds/bqlkkt.atom        Atom 1.0");
                eprintln!("  http://{addr}/feeds/bqlkkt.json        JSON Feed 1.1");
                eprintln!("  http://{addr}/feeds.opml               every feed, for a reader");
                eprintln!("  http://{addr}/api/articles             the archive as JSON");
                eprintln!("Stop with Ctrl-C.");
            },
        )
        .await?;
        Ok::<_, anyhow::Error>(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}
