//! The soak for BENCHMARKS.md (not a timed test, not in CI): `gazette serve` crawls a local replay
//! of the recorded portal that misbehaves in ten ways, every 10 s, while `wrk` (64 connections)
//! asks for the feeds and the API. It reports failed answers, whether `serve` restarted or died,
//! and its resident memory over time.
//!
//! Needs the Debian package `wrk`. Run: `scripts/soak.sh` (SOAK_SECONDS to change the length).

#[path = "support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gazette::replay::{Fault, Recording, ReplayServer, article_page};

const ARTICLE: &str = "/Pages/chi-tiet-tin.aspx?ItemID=";
/// The article the replay adds with a 200,000-deep body.
const DEEP_ITEM: u64 = 1300;
const DEEP_LEVELS: usize = 200_000;

/// The ten ways the portal misbehaves, one article each (at both its addresses); armed again
/// every few seconds, since some faults answer once.
fn arm(replay: &ReplayServer, canary: u16) {
    for (id, fault) in faults(canary) {
        for path in [
            format!("{ARTICLE}{id}&l=TinBanQuanLy"),
            format!("{ARTICLE}{id}"),
        ] {
            replay.fault(&path, fault.clone());
        }
    }
    replay.fault(
        "/Pages/tin-ban-quan-ly.aspx?Page=2",
        Fault::RetryAfter(429, 2),
    );
}

fn faults(canary: u16) -> Vec<(u64, Fault)> {
    vec![
        (1240, Fault::Status(500)),
        (1238, Fault::Delay(Duration::from_secs(120))),
        (1236, Fault::Truncate(700)),
        (1234, Fault::Huge(50 * 1024 * 1024)),
        (1229, Fault::Charset(Some("windows-1252".to_string()))),
        (1225, Fault::RedirectLoop),
        // Another host (a name, not the address the source allows): never to be requested.
        (
            1211,
            Fault::Redirect(format!("http://localhost:{canary}/elsewhere")),
        ),
    ]
}

fn deep_article() -> Vec<u8> {
    let page = article_page(
        DEEP_ITEM,
        "Bài viết lồng sâu",
        "(08:00 | 01/07/2020)",
        &["Đoạn văn ở tầng sâu nhất."],
    );
    let open = "<div>".repeat(DEEP_LEVELS);
    let close = "</div>".repeat(DEEP_LEVELS);
    page.replacen("<p>", &format!("{open}<p>"), 1)
        .replacen("</p>", &format!("</p>{close}"), 1)
        .into_bytes()
}

fn main() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let binary = support::root().join("target/release/gazette");
    assert!(
        binary.exists(),
        "build the release binary first: cargo build --release"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let canary = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    canary.set_nonblocking(true).unwrap();
    let canary_port = canary.local_addr().unwrap().port();
    let replay = runtime.block_on(async {
        let replay = ReplayServer::start(Recording::bundled().unwrap())
            .await
            .unwrap();
        replay.add_article(
            DEEP_ITEM,
            "Bài viết lồng sâu",
            "(08:00 | 01/07/2020)",
            &["Đoạn văn ở tầng sâu nhất."],
        );
        let deep = deep_article();
        for path in [
            format!("{ARTICLE}{DEEP_ITEM}&l=TinBanQuanLy"),
            format!("{ARTICLE}{DEEP_ITEM}"),
        ] {
            replay.set_page(&path, deep.clone(), "text/html; charset=utf-8");
        }
        replay
    });
    arm(&replay, canary_port);

    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let portal = replay.base_url();
    let mut edit = gazette::config::ConfigEdit::shipped();
    let listen: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    edit.listen(listen)
        .public_url(&format!("http://{listen}"))
        .storage_path(&dir.path().join("archive"))
        .crawler("min_delay_ms", 50)
        .crawler("timeout_secs", 5)
        .crawler("retry_base_ms", 100)
        .crawler("max_concurrency_per_host", 4)
        .source("bqlkkt", &["schedule"], "*/10 * * * * *")
        .sources_at(&portal);
    let text = edit.to_toml();
    let config = dir.path().join("gazette.toml");
    std::fs::write(&config, text).unwrap();
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let mut serve = support::Guard(
        Command::new(&binary)
            .args(["serve", "--config"])
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let pid = serve.0.id();
    let base = format!("http://127.0.0.1:{port}");
    // The first scheduled crawl has archived what wrk asks for.
    wait_until_served(&format!("{base}/api/articles/bqlkkt:1190"));
    // Archived, then withdrawn by the portal: later runs find it gone.
    for path in [
        format!("{ARTICLE}1180&l=TinBanQuanLy"),
        format!("{ARTICLE}1180"),
    ] {
        replay.remove_page(&path);
    }

    // Re-arm the one-shot faults every few seconds for the whole soak.
    let rearm = {
        let replay = std::sync::Arc::new(replay);
        let handle = replay.clone();
        runtime.spawn(async move {
            // A new article every 5 s changes list page 1, so every crawl walks it again and
            // meets the failing articles again.
            for item in 2000u64.. {
                tokio::time::sleep(Duration::from_secs(5)).await;
                arm(&handle, canary_port);
                handle.add_article(
                    item,
                    &format!("Tin mới số {item}"),
                    "(09:00 | 02/07/2020)",
                    &["Một đoạn văn của tin mới."],
                );
            }
        });
        replay
    };

    let script = dir.path().join("paths.lua");
    std::fs::write(&script, WRK_SCRIPT).unwrap();
    let started = Instant::now();
    let wrk = Command::new("wrk")
        .args(["-t2", "-c64", &format!("-d{seconds}s"), "--latency", "-s"])
        .arg(&script)
        .arg(&base)
        .stdout(Stdio::piped())
        .spawn()
        .expect("wrk runs (Debian package wrk)");
    let mut samples = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds + 1) {
        match support::resident_mib(pid) {
            Some(mib) => samples.push((started.elapsed().as_secs(), mib)),
            None => break,
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let out = wrk.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    let failed: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .collect();
    println!(
        "failed answers: {}",
        if failed.is_empty() {
            "0".to_string()
        } else {
            failed.join("; ")
        }
    );

    let alive = serve.0.try_wait().unwrap().is_none();
    let crawls = rearm
        .requests()
        .iter()
        .filter(|r| r.path_and_query == "/Pages/tin-ban-quan-ly.aspx")
        .count();
    let deep_fetches = rearm.hits(&format!("{ARTICLE}{DEEP_ITEM}"));
    let canary_hits = std::iter::from_fn(|| canary.accept().ok()).count();
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for request in rearm.requests() {
        *seen.entry(request.path_and_query).or_default() += 1;
    }
    println!("requests the portal received, by path:");
    for (path, count) in &seen {
        println!("  {count:>4} {path}");
    }
    println!("serve pid {pid} still running: {alive} (0 restarts: the same process throughout)");
    println!("crawl runs seen by the portal: {crawls}; fetches of the deep page: {deep_fetches}");
    println!("requests to the off-host redirect target: {canary_hits}");
    let mib: Vec<f64> = samples.iter().map(|(_, m)| *m).collect();
    if let (Some(first), Some(last)) = (mib.first(), mib.last()) {
        let peak = mib.iter().cloned().fold(0.0, f64::max);
        let tenth = mib.len() / 10;
        println!(
            "resident memory: start {first:.1} MiB, after 10% {:.1} MiB, peak {peak:.1} MiB, end {last:.1} MiB ({} samples)",
            mib[tenth],
            mib.len()
        );
    }
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = serve.0.wait().unwrap();
    println!("serve exited on SIGTERM with {status}");
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
    let panics = log.matches("panicked").count();
    println!(
        "serve log: {} lines, {panics} panics caught",
        log.lines().count()
    );
    assert!(alive, "serve died during the soak; its log:\n{log}");
}

/// Feeds and API in turn, each path as a subscriber or a client asks for it.
const WRK_SCRIPT: &str = r#"
paths = {
  "/feeds/bqlkkt.rss", "/feeds/bqlkkt.atom", "/feeds/bqlkkt.json",
  "/feeds/bqlkkt/tin-ban-quan-ly.atom", "/feeds.opml",
  "/api/articles?limit=20", "/api/sources", "/api/articles/bqlkkt:1190", "/healthz"
}
counter = 0
request = function()
  counter = counter + 1
  local path = paths[(counter % #paths) + 1]
  return wrk.format("GET", path, {["Accept-Encoding"] = (counter % 3 == 0) and "br" or "gzip"})
end
"#;

fn wait_until_served(url: &str) {
    let started = Instant::now();
    while !Command::new("curl")
        .args(["-sf", "-o", "/dev/null", url])
        .status()
        .is_ok_and(|s| s.success())
    {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "serve did not answer"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
