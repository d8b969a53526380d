//! Feed serving figures for BENCHMARKS.md (not a timed test): `gazette serve` with 100,000
//! archived articles against nginx serving the same bytes as a static file, both under `wrk`
//! (64 connections, 20 s) for the full answer and for the 304 path; resident memory of `serve`
//! after the runs; time from start to the first feed served, on the first start after the fill
//! (which replays it) and after a clean stop.
//!
//! Needs the Debian packages `wrk` and `nginx-light` (or `nginx`). Run:
//! `cargo build --release && cargo bench --bench serve` (ARTICLES, SECONDS to change the load;
//! START_ONLY=1 for the two starts and the index's size alone).

#[path = "support/mod.rs"]
mod support;

use gazette::archive::prelude::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gazette::archive::{Archive, SledArchive};
use gazette::model::{ArticleId, Capture, Page};
use url::Url;

fn main() {
    let articles = support::setting("ARTICLES", 100_000);
    let seconds = support::setting("SECONDS", 20) as u64;
    let dir = tempfile::tempdir().unwrap();
    let archive_path = dir.path().join("archive");
    fill_archive(&archive_path, articles);
    if std::env::var_os("FILL_ONLY").is_some() {
        // Keep the archive to look at startup by hand: `gazette query` against it.
        println!("archive kept at {}", dir.keep().join("archive").display());
        return;
    }

    let port = support::free_port();
    let mut edit = gazette::config::ConfigEdit::shipped();
    let listen: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    edit.listen(listen)
        .public_url(&format!("http://{listen}"))
        .storage_path(&archive_path)
        .source("bqlkkt", &["schedule"], "0 0 0 1 1 * 2099");
    let text = edit.to_toml();
    let config = dir.path().join("gazette.toml");
    std::fs::write(&config, text).unwrap();
    let binary = support::root().join("target/release/gazette");
    assert!(
        binary.exists(),
        "build the release binary first: cargo build --release"
    );
    let feed = format!("http://127.0.0.1:{port}/feeds/bqlkkt.rss");
    // The fill above never opened the archive again, as after a crash: this start replays sled's
    // log of all of it. A clean stop settles the archive, so the second start is an ordinary one.
    let (first, after_fill, _) = start_serve(&binary, &config, &feed);
    let stopping = Instant::now();
    stop(first);
    let stopped_in = stopping.elapsed();
    let (serve, ordinary, body) = start_serve(&binary, &config, &feed);
    let index_bytes = support::bytes_under(&archive_path.join("db"));
    println!(
        "index on disk: {:.1} MiB ({:.0} B an article)",
        index_bytes as f64 / 1048576.0,
        index_bytes as f64 / articles as f64
    );
    println!(
        "{articles} articles archived; first feed served {:.0} ms after the first start (replaying the fill's log), {:.0} ms after a start following a clean stop ({:.0} ms to stop) ({} bytes, 50 items)",
        after_fill.as_secs_f64() * 1000.0,
        ordinary.as_secs_f64() * 1000.0,
        stopped_in.as_secs_f64() * 1000.0,
        body.len()
    );

    if std::env::var_os("START_ONLY").is_some() {
        stop(serve);
        return;
    }
    let etag = header(&feed, "etag");
    let static_dir = dir.path().join("static");
    std::fs::create_dir_all(&static_dir).unwrap();
    std::fs::write(static_dir.join("bqlkkt.rss"), &body).unwrap();
    let nginx_port = support::free_port();
    let _nginx = start_nginx(dir.path(), &static_dir, nginx_port);
    let static_url = format!("http://127.0.0.1:{nginx_port}/bqlkkt.rss");
    let static_etag = header(&static_url, "etag");

    println!("| target | requests/s | p50 | p99 |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, url, tag) in [
        ("gazette 200", &feed, None),
        ("nginx 200", &static_url, None),
        ("gazette 304", &feed, Some(etag.as_str())),
        ("nginx 304", &static_url, Some(static_etag.as_str())),
    ] {
        let (rps, p50, p99) = wrk(url, tag, seconds);
        println!("| {name} | {rps:.0} | {p50} | {p99} |");
    }
    let rss = support::resident_mib(serve.0.id()).expect("serve is running");
    println!("gazette serve resident memory after the runs: {rss:.1} MiB");
    stop(serve);
}

/// Starts `gazette serve` and waits for its first feed: the process, how long, and the feed.
fn start_serve(binary: &Path, config: &Path, feed: &str) -> (support::Guard, Duration, Vec<u8>) {
    let started = Instant::now();
    let serve = support::Guard(
        Command::new(binary)
            .args(["serve", "--config"])
            .arg(config)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    loop {
        if let Ok(out) = Command::new("curl").args(["-sf", feed]).output()
            && out.status.success()
        {
            return (serve, started.elapsed(), out.stdout);
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve did not answer"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Stops `gazette serve` as a supervisor would (SIGTERM) and waits for it to exit.
fn stop(mut serve: support::Guard) {
    let _ = Command::new("kill")
        .args(["-TERM", &serve.0.id().to_string()])
        .status();
    let _ = serve.0.wait();
}

fn header(url: &str, name: &str) -> String {
    let out = Command::new("curl").args(["-sI", url]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("{url} has no {name}"))
}

/// wrk at 64 connections; requests/s and the p50 and p99 latencies as wrk prints them.
fn wrk(url: &str, etag: Option<&str>, seconds: u64) -> (f64, String, String) {
    let mut command = Command::new("wrk");
    command.args(["-t2", "-c64", &format!("-d{seconds}s"), "--latency"]);
    if let Some(tag) = etag {
        command.args(["-H", &format!("If-None-Match: {tag}")]);
    }
    let out = command
        .arg(url)
        .output()
        .expect("wrk runs (Debian package wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_string()
    };
    let rps = field("Requests/sec:").parse().unwrap_or(0.0);
    let non_2xx = text
        .lines()
        .find(|l| l.contains("Non-2xx"))
        .map(str::trim)
        .unwrap_or("");
    if etag.is_none() && !non_2xx.is_empty() {
        eprintln!("{url}: {non_2xx}");
    }
    (rps, field("50%"), field("99%"))
}

fn start_nginx(dir: &Path, root_dir: &Path, port: u16) -> support::Guard {
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off; worker_processes 1; pid {pid}; error_log {log};\n\
             events {{ worker_connections 1024; }}\n\
             http {{ access_log off; types {{ }} default_type \"application/rss+xml; charset=utf-8\";\n\
             client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};\n\
             server {{ listen 127.0.0.1:{port}; root {root}; }} }}\n",
            pid = dir.join("nginx.pid").display(),
            log = dir.join("nginx.log").display(),
            tmp = dir.display(),
            root = root_dir.display(),
        ),
    )
    .unwrap();
    let nginx = ["/usr/sbin/nginx", "nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("nginx");
    let child = Command::new(nginx)
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir)
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx runs");
    let url = format!("http://127.0.0.1:{port}/bqlkkt.rss");
    for _ in 0..200 {
        if Command::new("curl")
            .args(["-sf", "-o", "/dev/null", &url])
            .status()
            .is_ok_and(|s| s.success())
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    support::Guard(child)
}

/// `articles` articles in one source, made from the recorded seed article with new ids, URLs and
/// times (one a minute, going back), stored as a crawl would.
fn fill_archive(path: &Path, articles: usize) {
    let config = gazette::config::load(&support::root().join("config/gazette.toml")).unwrap();
    let source = config.source("bqlkkt").unwrap();
    let bytes = std::fs::read(support::root().join("fixtures/portal/article-1234.html")).unwrap();
    let url =
        Url::parse("https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID=1234").unwrap();
    let page = Page {
        url: &url,
        content_type: Some("text/html; charset=utf-8"),
        bytes: &bytes,
    };
    let seed = gazette::read_article(&page, source, "tin-ban-quan-ly").unwrap();
    let capture = Capture {
        url: url.to_string(),
        status: 200,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: bytes.clone(),
    };
    let storage = gazette::config::StorageConfig {
        path: path.to_path_buf(),
        ..gazette::config::StorageConfig::default()
    };
    let archive = SledArchive::open(&storage).unwrap();
    let newest = seed.published.unwrap();
    let started = Instant::now();
    let now = chrono::Utc::now().fixed_offset();
    let mut batch = Vec::with_capacity(1000);
    for k in 0..articles {
        let mut article = seed.clone();
        let item = 1_000_000 + k;
        article.id = ArticleId(format!("bqlkkt:{item}"));
        article.url =
            format!("https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID={item}");
        article.title = format!("{} ({item})", seed.title);
        article.published = Some(newest - chrono::Duration::minutes(k as i64));
        article.content_hash = gazette::normalize::content_hash(
            &article.title,
            article.published.as_ref(),
            &article.body_text,
        );
        batch.push(gazette::archive::Ingest {
            article,
            capture: capture.clone(),
            fetched_at: now,
            profile: None,
            user_agent: gazette::config::DEFAULT_USER_AGENT.into(),
            validators: None,
        });
        // The batch path: one sync and one flush per thousand articles.
        if batch.len() == 1000 || k + 1 == articles {
            archive.store_many(std::mem::take(&mut batch)).unwrap();
        }
    }
    archive.flush().unwrap();
    eprintln!(
        "archived {articles} articles in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
