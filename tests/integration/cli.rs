//! The `gazette` binary as a user runs it: output, exit codes and readable errors.

use gazette::archive::prelude::*;
use std::process::{Command, Output};

use crate::support;
use crate::support::explain;

const SEED_URL: &str =
    "https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID=1234&l=TinBanQuanLy";

fn gazette(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .current_dir(support::root())
        .output()
        .expect("the gazette binary runs")
}

fn assert_readable_error(stderr: &str) {
    assert!(!stderr.contains("panicked"), "a panic: {stderr}");
    assert!(
        !stderr.contains("{ ") && !stderr.contains("Error {"),
        "a Debug dump: {stderr}"
    );
    assert!(stderr.lines().count() <= 2, "more than two lines: {stderr}");
}

#[test]
fn extract_prints_the_seed_article() {
    let args = [
        "extract",
        "--config",
        "config/gazette.toml",
        "--source",
        "bqlkkt",
        "--file",
        "fixtures/portal/article-1234.html",
        "--url",
        SEED_URL,
    ];
    let out = gazette(&args);
    assert!(out.status.success(), "{}", explain(&args, &out));
    let article: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(article["id"], "bqlkkt:1234");
    assert_eq!(
        article["url"],
        "https://bqlkkt.kiengiang.gov.vn/Pages/chi-tiet-tin.aspx?ItemID=1234"
    );
    assert_eq!(article["published"], "2020-07-08T13:54:00+07:00");
    assert_eq!(article["published_inferred"], false);
    assert_eq!(article["section"], "tin-ban-quan-ly");
    assert_eq!(article["category"], "Tin Ban Quản lý");
    assert_eq!(article["images"].as_array().unwrap().len(), 3);
    for field in ["title", "summary", "body_html", "body_text", "content_hash"] {
        assert!(
            article[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field} is empty"
        );
    }
}

#[test]
fn extract_list_prints_items_and_next_page() {
    let args = [
        "extract",
        "--list",
        "--config",
        "config/gazette.toml",
        "--source",
        "bqlkkt",
        "--file",
        "fixtures/portal/list-tin-ban-quan-ly-p2.html",
        "--url",
        "https://bqlkkt.kiengiang.gov.vn/Pages/tin-ban-quan-ly.aspx?Page=2",
    ];
    let out = gazette(&args);
    assert!(out.status.success(), "{}", explain(&args, &out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    assert_eq!(
        list["next_page"],
        "https://bqlkkt.kiengiang.gov.vn/Pages/tin-ban-quan-ly.aspx?Page=3"
    );
}

#[test]
fn content_type_flag_gives_the_http_charset() {
    let args = [
        "extract",
        "--config",
        "config/gazette.toml",
        "--source",
        "bqlkkt",
        "--file",
        "fixtures/portal/article-1180.html",
        "--url",
        SEED_URL,
        "--content-type",
        "text/html",
    ];
    let out = gazette(&args);
    assert!(out.status.success(), "{}", explain(&args, &out));
    let article: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        article["title"],
        "Ban Quản lý Khu kinh tế tổ chức hội nghị triển khai nhiệm vụ năm 2012"
    );
}

#[test]
fn a_page_from_elsewhere_fails_naming_the_selector() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("other.html");
    std::fs::write(&page, "<html><body><h2>Not found</h2></body></html>").unwrap();
    let page = page.to_str().unwrap();
    let args = [
        "extract",
        "--config",
        "config/gazette.toml",
        "--source",
        "bqlkkt",
        "--file",
        page,
        "--url",
        SEED_URL,
    ];
    let out = gazette(&args);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`h1.News_Detail_Title`"), "{stderr}");
    assert_readable_error(&stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_config_exits_2_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(support::root().join("config/gazette.toml")).unwrap();
    let bad = text.replace(
        "schedule = \"0 */30 * * * *\"",
        "schedule = \"*/30 * * * *\"",
    );
    let line = bad
        .lines()
        .position(|l| l.starts_with("schedule ="))
        .unwrap()
        + 1;
    let path = dir.path().join("gazette.toml");
    std::fs::write(&path, bad).unwrap();
    let args = ["check", "--config", path.to_str().unwrap()];
    let out = gazette(&args);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "gazette.toml:{line}: sources[0].schedule: expected 6 fields"
        )),
        "{stderr}"
    );
    assert_readable_error(&stderr);
}

#[test]
fn usage_mistakes_exit_2_and_missing_files_exit_1() {
    let cases: [(&[&str], i32, &str); 4] = [
        (
            &[
                "extract",
                "--config",
                "config/gazette.toml",
                "--source",
                "nope",
                "--file",
                "x",
                "--url",
                SEED_URL,
            ],
            2,
            "no source \"nope\"",
        ),
        (
            &["check", "--config", "no/such/file.toml"],
            2,
            "cannot read the config file",
        ),
        (
            &[
                "extract",
                "--config",
                "config/gazette.toml",
                "--source",
                "bqlkkt",
                "--file",
                "no/such/page.html",
                "--url",
                SEED_URL,
            ],
            1,
            "cannot read no/such/page.html",
        ),
        (
            &[
                "extract",
                "--config",
                "config/gazette.toml",
                "--source",
                "bqlkkt",
                "--file",
                "x",
                "--url",
                "not a url",
            ],
            2,
            "--url",
        ),
    ];
    for (args, code, message) in cases {
        let out = gazette(args);
        assert_eq!(out.status.code(), Some(code), "{}", explain(args, &out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{}", explain(args, &out));
        assert_readable_error(&stderr);
    }
}

#[test]
fn check_lists_sources_and_sections() {
    let args = ["check", "--config", "config/gazette.toml"];
    let out = gazette(&args);
    assert!(out.status.success(), "{}", explain(&args, &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("source bqlkkt (Ban Quản lý Khu kinh tế tỉnh Kiên Giang)"),
        "{stdout}"
    );
    assert!(stdout.contains("section tin-ban-quan-ly (Tin Ban Quản lý): https://bqlkkt.kiengiang.gov.vn/Pages/tin-ban-quan-ly.aspx"), "{stdout}");
    assert!(
        stdout.contains("  allowed hosts: bqlkkt.kiengiang.gov.vn\n"),
        "{stdout}"
    );
    let next = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("next runs: "))
        .expect("next runs are shown");
    let times: Vec<&str> = next
        .trim_start()
        .trim_start_matches("next runs: ")
        .split(", ")
        .collect();
    assert_eq!(times.len(), 3, "{next}");
    for time in times {
        let at = chrono::DateTime::parse_from_rfc3339(time).unwrap();
        assert_eq!(
            at.offset().local_minus_utc(),
            7 * 3600,
            "in the source's zone: {time}"
        );
        assert!(
            matches!(chrono::Timelike::minute(&at), 0 | 30) && chrono::Timelike::second(&at) == 0,
            "{time}"
        );
    }
}

fn run(args: &[&str]) -> Output {
    let out = gazette(args);
    assert!(out.status.success(), "{}", explain(args, &out));
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn crawl_then_query_show_and_export_as_the_readme_says() {
    let portal = support::TestPortal::recorded().await;
    let config = portal.config_path.to_str().unwrap().to_string();
    let out = tokio::task::spawn_blocking({
        let config = config.clone();
        move || run(&["crawl", "--config", &config])
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(
            "bqlkkt: 12 pages fetched, 9 new, 0 revised, 0 unchanged, 0 gone, 0 failed,"
        ),
        "{stdout}"
    );
    // The five figures of articles 1234 (3), 1238 and 1211 are captured; the recording holds no
    // attachment: the two of article 1236 answer 404, noted by URL.
    assert!(
        stdout.contains(
            "bqlkkt: assets: 5 captured, 0 unchanged, 0 skipped, 2 failed, 0 left for the next run\n"
        ),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("asset ") && stderr.contains("BC-6T-2020.pdf: HTTP 404"),
        "{stderr}"
    );

    let out = run(&[
        "query", "--config", &config, "--format", "jsonl", "--limit", "3",
    ]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["article"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["bqlkkt:1240", "bqlkkt:1238", "bqlkkt:1236"]);

    let out = run(&[
        "query",
        "--config",
        &config,
        "--since",
        "2020-06-25",
        "--until",
        "2020-06-30",
        "--format",
        "csv",
    ]);
    let csv = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "id,published,title,url,section,category,updated,revisions,gone_at"
    );
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(
        rows[1].starts_with("bqlkkt:1229,2020-06-30T16:02:00+07:00,"),
        "{csv}"
    );
    assert!(
        rows[2].starts_with("bqlkkt:1225,2020-06-25T07:45:00+07:00,"),
        "{csv}"
    );

    let out = run(&["show", "--config", &config, "bqlkkt:1234"]);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["revisions"], 1);
    assert_eq!(shown["article"]["published"], "2020-07-08T13:54:00+07:00");
    let out = run(&["show", "--config", &config, "bqlkkt:1180", "--raw", "1"]);
    assert_eq!(
        out.stdout,
        std::fs::read(support::fixture("portal/article-1180.html")).unwrap(),
        "bytes as captured"
    );
    let out = run(&["show", "--config", &config, "bqlkkt:1234", "--revisions"]);
    let revisions: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(revisions.as_array().unwrap().len(), 1);

    let args = ["show", "--config", &config, "bqlkkt:9999"];
    let out = gazette(&args);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&args, &out));
    assert_readable_error(&String::from_utf8_lossy(&out.stderr));

    // Backup and restore: export, import into an empty archive, export again: the same bytes.
    let first = portal.dir.path().join("first.jsonl");
    run(&[
        "export",
        "--config",
        &config,
        "--raw",
        "--out",
        first.to_str().unwrap(),
    ]);
    let restored_dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&portal.config_path).unwrap();
    let archive_line = text.lines().find(|l| l.starts_with("path = ")).unwrap();
    let other = text.replace(
        archive_line,
        &format!(
            "path = {:?}",
            restored_dir.path().join("archive").display().to_string()
        ),
    );
    let other_config = restored_dir.path().join("gazette.toml");
    std::fs::write(&other_config, other).unwrap();
    let other_config = other_config.to_str().unwrap();
    run(&[
        "import",
        "--config",
        other_config,
        "--in",
        first.to_str().unwrap(),
    ]);
    let second = restored_dir.path().join("second.jsonl");
    run(&[
        "export",
        "--config",
        other_config,
        "--raw",
        "--out",
        second.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap()
    );
    assert_eq!(std::fs::read_to_string(&first).unwrap().lines().count(), 9);
}

#[test]
fn an_unreachable_portal_fails_per_section_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let base = url::Url::parse("http://127.0.0.1:9/").unwrap();
    let text = support::portal_config_text(
        &base,
        &dir.path().join("archive"),
        &[("retries", "0"), ("min_delay_ms", "0")],
    );
    let config = dir.path().join("gazette.toml");
    std::fs::write(&config, text).unwrap();
    let args = ["crawl", "--config", config.to_str().unwrap()];
    let out = gazette(&args);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bqlkkt: section tin-ban-quan-ly: list page http://127.0.0.1:9/Pages/tin-ban-quan-ly.aspx"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("0 new"), "{stdout}");
}

#[test]
fn a_foreign_storage_directory_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("archive");
    std::fs::create_dir(&storage).unwrap();
    std::fs::write(storage.join("thesis.docx"), b"precious").unwrap();
    let base = url::Url::parse("http://127.0.0.1:9/").unwrap();
    let config = dir.path().join("gazette.toml");
    std::fs::write(&config, support::portal_config_text(&base, &storage, &[])).unwrap();
    let args = ["query", "--config", config.to_str().unwrap()];
    let out = gazette(&args);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a gazette archive"), "{stderr}");
    assert_readable_error(&stderr);
    assert_eq!(std::fs::read_dir(&storage).unwrap().count(), 1);
    assert_eq!(
        std::fs::read(storage.join("thesis.docx")).unwrap(),
        b"precious"
    );
}

/// A backfill killed with SIGKILL at five random moments, restarted each time, ends with every
/// article exactly once and an archive that opens cleanly.
#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_killed_five_times_ends_with_every_article_once() {
    use rand::RngExt;
    let portal = support::TestPortal::start(
        gazette::replay::Recording::synthetic(500),
        support::FAST_CRAWL,
    )
    .await;
    let config = portal.config_path.to_str().unwrap().to_string();
    let mut rng = rand::rng();
    let mut kills = 0;
    for _ in 0..5 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gazette"))
            .args(["crawl", "--backfill", "--config", &config])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(rng.random_range(150..900))).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(
        kills >= 3,
        "the crawl was killed mid-way at least three times ({kills})"
    );
    let out = tokio::task::spawn_blocking({
        let config = config.clone();
        move || run(&["crawl", "--backfill", "--config", &config])
    })
    .await
    .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(" 0 failed"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let archive = portal.open_archive();
    let all = archive.all().unwrap();
    assert_eq!(all.len(), 500);
    let ids: std::collections::HashSet<_> = all.iter().map(|a| a.article.id.clone()).collect();
    assert_eq!(ids.len(), 500, "no duplicate ids");
    assert!(all.iter().all(|a| a.revisions == 1), "one revision each");
    let listed = archive
        .articles(&gazette::archive::Query::default())
        .unwrap();
    assert_eq!(listed.len(), 500, "the time index has each article once");
    for a in &all {
        assert_eq!(archive.revisions(&a.article.id).unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn extract_with_url_alone_fetches_through_the_real_fetcher() {
    let portal = support::TestPortal::recorded().await;
    let config = portal.config_path.to_str().unwrap().to_string();
    let url = format!(
        "{}Pages/chi-tiet-tin.aspx?ItemID=1180&l=TinBanQuanLy",
        portal.server.base_url()
    );
    let out = tokio::task::spawn_blocking(move || {
        run(&[
            "extract", "--config", &config, "--source", "bqlkkt", "--url", &url,
        ])
    })
    .await
    .unwrap();
    let article: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        article["title"],
        "Ban Quản lý Khu kinh tế tổ chức hội nghị triển khai nhiệm vụ năm 2012"
    );
    assert_eq!(article["id"], "bqlkkt:1180");
    assert_eq!(
        portal
            .server
            .hits("/Pages/chi-tiet-tin.aspx?ItemID=1180&l=TinBanQuanLy"),
        1
    );
    assert_eq!(
        portal.server.hits("/robots.txt"),
        1,
        "robots.txt is read first"
    );

    let config = portal.config_path.to_str().unwrap().to_string();
    let args = [
        "extract",
        "--config",
        &config,
        "--source",
        "bqlkkt",
        "--url",
        "https://example.org/elsewhere",
    ];
    let out = gazette(&args);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&args, &out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not among the source's allowed hosts"));
}

/// `gazette serve` answers, then stops on SIGTERM with exit 0 within 10 s, leaving an archive
/// that opens cleanly.
#[tokio::test(flavor = "multi_thread")]
async fn serve_stops_cleanly_on_sigterm() {
    use std::io::BufRead;
    let portal = support::TestPortal::recorded().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["serve", "--config", portal.config_path.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let addr = loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("serve says where it listens");
        if let Some(rest) = line.strip_prefix("gazette: serving on http://") {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let feed = reqwest::get(format!("http://{addr}/feeds/bqlkkt.atom"))
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);

    let started = std::time::Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
    let archive = portal.open_archive();

    assert!(archive.is_empty().is_ok(), "the archive opens cleanly");
}

/// A stopping `gazette serve` takes, before it exits, the log replay that its writes would cost
/// the next start: the index's state is recorded again (sled's newest `snap.*` file moves on).
/// The builtin WebSub hub is on, so its tasks hold the archive too until the stop.
#[tokio::test(flavor = "multi_thread")]
async fn serve_stopping_leaves_what_it_wrote_settled_for_the_next_start() {
    let portal = support::TestPortal::recorded().await;
    let text = std::fs::read_to_string(&portal.config_path).unwrap();
    let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
    doc["server"]["websub_builtin"] = toml_edit::value(true);
    doc["server"]["public_url"] = toml_edit::value("http://gazette.test");
    std::fs::write(&portal.config_path, doc.to_string()).unwrap();
    let db = portal.config.storage.path.join("db");
    let newest_snapshot = || {
        std::fs::read_dir(&db)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.starts_with("snap.") && !name.ends_with(".generating"))
            .max()
    };
    let mut served = serve(&portal, &[("GAZETTE_ADMIN_TOKEN", "s3cret")]);
    let at_start = newest_snapshot();
    assert_eq!(post_crawl(&served.addr, "s3cret").await, 202);
    let api = format!("http://{}/api/articles?limit=1", served.addr);
    let waited = std::time::Instant::now();
    loop {
        let body = reqwest::get(&api).await.unwrap().text().await.unwrap();
        let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
        if listed["articles"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(30),
            "no article 30 s after a crawl was asked: {listed}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let killed = Command::new("kill")
        .args(["-TERM", &served.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = served.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let at_stop = newest_snapshot();
    assert!(
        at_stop > at_start,
        "the index's state was not recorded at stop: {at_start:?} then {at_stop:?}"
    );

    assert!(!portal.open_archive().is_empty().unwrap());
}

/// A `gazette serve` child and what it wrote to stderr before it said where it listens.
struct Served {
    child: std::process::Child,
    addr: String,
    logs: Vec<String>,
}

/// Starts `gazette serve` on the portal's config with `envs` set, and waits until it listens.
fn serve(portal: &support::TestPortal, envs: &[(&str, &str)]) -> Served {
    use std::io::BufRead;
    let mut command = Command::new(env!("CARGO_BIN_EXE_gazette"));
    command
        .args(["serve", "--config", portal.config_path.to_str().unwrap()])
        .env_remove("GAZETTE_ADMIN_TOKEN")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    for (name, value) in envs {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut logs = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_else(|_| {
                panic!("serve says where it listens; it said:\n{}", logs.join("\n"))
            });
        if let Some(rest) = line.strip_prefix("gazette: serving on http://") {
            break rest.split('/').next().unwrap().to_string();
        }
        logs.push(line);
    };
    Served { child, addr, logs }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn post_crawl(addr: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("http://{addr}/api/sources/bqlkkt/crawl"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_token_with_surrounding_spaces_still_matches() {
    let portal = support::TestPortal::recorded().await;
    let served = serve(&portal, &[("GAZETTE_ADMIN_TOKEN", "  s3cret \n")]);
    assert!(
        !served
            .logs
            .iter()
            .any(|l| l.contains("admin endpoint is off")),
        "{:?}",
        served.logs
    );
    assert_eq!(post_crawl(&served.addr, "wrong").await, 401);
    assert_eq!(post_crawl(&served.addr, "s3cret").await, 202);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blank_admin_token_turns_the_endpoint_off_with_a_warning() {
    let portal = support::TestPortal::recorded().await;
    let served = serve(&portal, &[("GAZETTE_ADMIN_TOKEN", "   ")]);
    let warning: Vec<&String> = served
        .logs
        .iter()
        .filter(|l| l.contains("WARN") && l.contains("admin endpoint is off"))
        .collect();
    assert_eq!(warning.len(), 1, "{:?}", served.logs);
    assert!(warning[0].contains("GAZETTE_ADMIN_TOKEN"), "{}", warning[0]);
    assert_eq!(post_crawl(&served.addr, "").await, 404);
    assert_eq!(post_crawl(&served.addr, "   ").await, 404);
}

#[test]
fn logs_to_a_pipe_or_file_carry_no_colour_codes() {
    // A page on another host: the fetcher logs a warning before the command fails.
    let args = [
        "extract",
        "--config",
        "config/gazette.toml",
        "--source",
        "bqlkkt",
        "--url",
        "https://example.org/elsewhere",
    ];
    let out = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .current_dir(support::root())
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("WARN"), "{}", explain(&args, &out));
    assert!(!out.stderr.contains(&0x1b), "an ESC byte: {stderr:?}");

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gazette.log");
    let file = std::fs::File::create(&log).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .current_dir(support::root())
        .env("RUST_LOG", "debug")
        .stderr(file)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let written = std::fs::read(&log).unwrap();
    assert!(String::from_utf8_lossy(&written).contains("WARN"));
    assert!(!written.contains(&0x1b), "an ESC byte in the log file");
}

#[test]
fn check_refuses_a_list_url_outside_allowed_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(support::root().join("config/gazette.toml")).unwrap();
    let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
    doc["sources"][0]["sections"][0]["list_url"] =
        toml_edit::value("https://bqlkkt.kiengiang.gov.vn:8443/Pages/tin-ban-quan-ly.aspx");
    let bad = doc.to_string();
    let line = bad
        .lines()
        .position(|l| l.trim_start().starts_with("list_url ="))
        .unwrap()
        + 1;
    let path = dir.path().join("gazette.toml");
    std::fs::write(&path, bad).unwrap();
    let args = ["check", "--config", path.to_str().unwrap()];
    let out = gazette(&args);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        format!(
            "gazette: {}:{line}: sources[0].sections[0].list_url: host \
             \"bqlkkt.kiengiang.gov.vn:8443\" is not in allowed_hosts [bqlkkt.kiengiang.gov.vn]; \
             every crawl of this section would be refused",
            path.display()
        )
    );
    assert_readable_error(&stderr);
}

/// A stalled archive (every write slower than a `stall_timeout_secs` of 0) makes `serve` exit
/// with status 70, for its supervisor to restart it.
#[tokio::test(flavor = "multi_thread")]
async fn serve_exits_70_when_the_archive_stalls() {
    let portal = support::TestPortal::recorded().await;
    let text = std::fs::read_to_string(&portal.config_path).unwrap();
    let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
    doc["storage"]["stall_timeout_secs"] = toml_edit::value(0);
    let config = portal.dir.path().join("stalling.toml");
    std::fs::write(&config, doc.to_string()).unwrap();
    let args = ["serve", "--config", config.to_str().unwrap()];
    let mut child = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("serve still runs 20 s after its archive stalled");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(70), "{}", explain(&args, &out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the archive is stalled"), "{stderr}");
}

/// `gazette demo` on a first start: the missing search index is created without a warning,
/// tantivy's own lines stay out, and the list of URLs comes after every start-up log line.
#[tokio::test(flavor = "multi_thread")]
async fn demo_prints_its_urls_after_a_quiet_start() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = listener.local_addr().unwrap().to_string();
    drop(listener);
    let mut child = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["demo", "--listen", &listen])
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let rx = support::stderr_lines(&mut child);
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l == "Stop with Ctrl-C.") {
        match rx.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(line) => lines.push(line),
            Err(_) => panic!("the demo did not list its URLs:\n{}", lines.join("\n")),
        }
    }
    // Whatever the demo logs in the next moments comes after the list, not inside it.
    std::thread::sleep(std::time::Duration::from_millis(500));
    lines.extend(rx.try_iter());
    let _ = child.kill();
    let _ = child.wait();
    let shown = lines.join("\n");
    let open = lines
        .iter()
        .position(|l| l == "gazette demo: ready. Open:")
        .unwrap();
    let stop = lines.iter().position(|l| l == "Stop with Ctrl-C.").unwrap();
    assert!(
        lines[open + 1..stop]
            .iter()
            .all(|l| l.starts_with("  http://")),
        "{shown}"
    );
    let created = lines
        .iter()
        .position(|l| l.contains("search index"))
        .unwrap_or_else(|| panic!("no line on the search index:\n{shown}"));
    assert!(created < open, "{shown}");
    assert!(!lines.iter().any(|l| l.contains("WARN")), "{shown}");
    for tantivy in ["save metas", "Preparing commit", "Garbage collect"] {
        assert!(!shown.contains(tantivy), "{shown}");
    }
    let after: Vec<&String> = lines[stop + 1..].iter().collect();
    assert!(after.iter().all(|l| !l.contains("search index")), "{shown}");
}
