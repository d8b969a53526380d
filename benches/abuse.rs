//! The abuse check for BENCHMARKS.md (not a timed test, not in CI): a release `gazette serve`
//! crawls a local replay of the recorded portal every 10 s while three attacks run in turn, each
//! for PHASE_SECONDS (default 30):
//!
//! 1. slowloris: 3,000 connections from 127.0.0.2, each sending one header line every 5 s;
//! 2. diff flood: 50 clients from 127.0.0.5 asking in a loop for the diff of an article with a
//!    3.6 MB body and two revisions;
//! 3. WebSub flood: 100 refused requests from 127.0.0.3, then 1,000 subscriptions from
//!    127.0.0.4 whose callbacks (on loopback) accept and never answer, then a legitimate
//!    subscriber from 127.0.0.1.
//!
//! Meanwhile a client on 127.0.0.1 asks for `/healthz` every 20 ms on a new connection. For each
//! phase it prints: answers that failed, the p99 of `/healthz`, the peak resident memory of
//! `serve`, the scheduled runs that finished and whether each was complete, and (phase 3) how long
//! the legitimate subscriber waited to be verified. Goals: p99 < 100 ms, memory < 256 MiB, every
//! run complete, verification within 30 s. Every address is on loopback.
//!
//! Run: `scripts/abuse.sh` (builds the release binary first).

#[path = "support/mod.rs"]
mod support;

use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gazette::replay::{Recording, ReplayServer, article_page};
use tokio::io::AsyncWriteExt;

const ARTICLE: &str = "/Pages/chi-tiet-tin.aspx?ItemID=";
/// The long article whose two revisions the diff flood compares.
const LONG_ITEM: u64 = 1500;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// Paragraphs of about 3.6 MB in all; `edited` changes one in the middle.
fn long_body(edited: bool) -> Vec<String> {
    (0..24_000)
        .map(|i| {
            let word = if edited && i == 12_000 { "đã sửa" } else { "gốc" };
            format!("Đoạn {i} ({word}): Khu kinh tế Phú Quốc tiếp tục thu hút đầu tư, hạ tầng được hoàn thiện dần.")
        })
        .collect()
}

fn today() -> String {
    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap());
    format!("(08:00 | {})", now.format("%d/%m/%Y"))
}

/// What the health prober and the memory sampler saw during one phase.
#[derive(Default)]
struct Watch {
    latencies_ms: Vec<f64>,
    failed: u64,
    peak_mib: f64,
    /// Each scheduled run seen finishing: (finished, complete).
    runs: Vec<(String, bool)>,
}

impl Watch {
    fn p99(&self) -> f64 {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        sorted
            .get((sorted.len() * 99 / 100).min(sorted.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    }
}

/// Probes `/healthz` every 20 ms (a new connection each time) and samples memory until `stop`.
async fn watch(base: String, pid: u32, stop: Arc<AtomicBool>, into: Arc<Mutex<Watch>>) {
    let client = reqwest::Client::builder()
        .local_address(ip("127.0.0.1"))
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let answer = client.get(format!("{base}/healthz")).send().await;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        let run = match answer {
            Ok(response) if response.status().is_success() => {
                let body = response.bytes().await.ok();
                let run = body
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                    .and_then(|body| {
                        let run = &body["sources"]["bqlkkt"]["last_run"];
                        let finished = run["finished"].as_str()?.to_string();
                        Some((finished, run["complete"].as_bool().unwrap_or(false)))
                    });
                Ok(run)
            }
            _ => Err(()),
        };
        {
            let mut seen = into.lock().unwrap();
            match run {
                Ok(run) => {
                    seen.latencies_ms.push(elapsed);
                    if let Some((finished, complete)) = run
                        && !seen.runs.iter().any(|(f, _)| *f == finished)
                    {
                        seen.runs.push((finished, complete));
                    }
                }
                Err(()) => seen.failed += 1,
            }
            if let Some(mib) = support::resident_mib(pid) {
                seen.peak_mib = seen.peak_mib.max(mib);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `attack` for `seconds` while watching; prints the phase's line.
async fn phase<F>(name: &str, base: &str, pid: u32, seconds: u64, attack: F) -> Watch
where
    F: std::future::Future<Output = String>,
{
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Watch::default()));
    let watcher = tokio::spawn(watch(base.to_string(), pid, stop.clone(), seen.clone()));
    let note = tokio::select! {
        note = attack => note,
        _ = tokio::time::sleep(Duration::from_secs(seconds)) => String::new(),
    };
    stop.store(true, Ordering::Relaxed);
    watcher.await.unwrap();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let complete = seen.runs.iter().filter(|(_, c)| *c).count();
    println!(
        "| {name} | {} | {:.1} ms | {:.1} MiB | {} of {} complete | {note} |",
        seen.failed,
        seen.p99(),
        seen.peak_mib,
        complete,
        seen.runs.len(),
    );
    seen
}

/// 3,000 connections from 127.0.0.2, each a request head sent one line every 5 s, reopened when
/// the server closes it.
async fn slowloris(addr: SocketAddr, connections: usize) -> String {
    let opened = Arc::new(AtomicU64::new(0));
    let closed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (opened, closed) = (opened.clone(), closed.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                if socket.bind("127.0.0.2:0".parse().unwrap()).is_err() {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                let Ok(mut stream) = socket.connect(addr).await else {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                };
                opened.fetch_add(1, Ordering::Relaxed);
                let mut line = 0u64;
                let mut head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec();
                while stream.write_all(&head).await.is_ok() {
                    line += 1;
                    head = format!("X-Slow-{line}: 1\r\n").into_bytes();
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                closed.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Runs until the phase ends it.
    std::future::pending::<()>().await;
    drop(tasks);
    String::new()
}

/// 50 clients from 127.0.0.5 asking for the diff in a loop; answers that were not 200 counted.
async fn diff_flood(base: String, clients: usize, done: Arc<AtomicU64>, bad: Arc<AtomicU64>) {
    let client = reqwest::Client::builder()
        .local_address(ip("127.0.0.5"))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let url = format!("{base}/articles/bqlkkt:{LONG_ITEM}/diff?from=1&to=2");
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url, done, bad) = (client.clone(), url.clone(), done.clone(), bad.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                match client.get(&url).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    std::future::pending::<()>().await;
}

/// The WebSub flood; answers how long the legitimate subscriber waited for its verification.
async fn websub_flood(base: String, public: String) -> String {
    // Callbacks that accept and never answer.
    let hang = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hang_port = hang.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = hang.accept().await {
            held.push(stream);
        }
    });
    // The legitimate subscriber: answers the challenge and says when.
    let (verified_tx, mut verified_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let good = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let good_port = good.local_addr().unwrap().port();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::get(
            move |axum::extract::Query(q): axum::extract::Query<
                std::collections::HashMap<String, String>,
            >| {
                let verified = verified_tx.clone();
                async move {
                    if q.get("hub.mode").map(String::as_str) == Some("subscribe") {
                        let _ = verified.send(Instant::now());
                    }
                    q.get("hub.challenge").cloned().unwrap_or_default()
                }
            },
        )
        .post(|| async { "" }),
    );
    tokio::spawn(async move { axum::serve(good, app).await });

    let hub = format!("{base}/websub");
    let topic = format!("{public}/feeds/bqlkkt.atom");
    let from = |addr: &str| {
        reqwest::Client::builder()
            .local_address(ip(addr))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    };
    let post = |client: &reqwest::Client, pairs: &[(&str, &str)]| {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        client
            .post(&hub)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let mut statuses = std::collections::BTreeMap::<String, u64>::new();
    let refused = from("127.0.0.3");
    for i in 0..100 {
        let form = [
            ("hub.mode", "subscribe"),
            ("hub.topic", topic.as_str()),
            ("hub.callback", &format!("ftp://127.0.0.1/refused?i={i}")),
        ];
        let status = match post(&refused, &form).await {
            Ok(r) => r.status().as_u16().to_string(),
            Err(_) => "error".into(),
        };
        *statuses.entry(format!("refused:{status}")).or_default() += 1;
    }
    let hanging = from("127.0.0.4");
    for i in 0..1000 {
        let callback = format!("http://127.0.0.1:{hang_port}/cb?i={i}");
        let form = [
            ("hub.mode", "subscribe"),
            ("hub.topic", topic.as_str()),
            ("hub.callback", callback.as_str()),
        ];
        let status = match post(&hanging, &form).await {
            Ok(r) => r.status().as_u16().to_string(),
            Err(_) => "error".into(),
        };
        *statuses.entry(format!("hanging:{status}")).or_default() += 1;
    }
    let asked = Instant::now();
    let callback = format!("http://127.0.0.1:{good_port}/cb");
    let form = [
        ("hub.mode", "subscribe"),
        ("hub.topic", topic.as_str()),
        ("hub.callback", callback.as_str()),
    ];
    let status = match post(&from("127.0.0.1"), &form).await {
        Ok(r) => r.status().as_u16().to_string(),
        Err(e) => format!("error {e}"),
    };
    let waited = tokio::time::timeout(Duration::from_secs(60), verified_rx.recv()).await;
    let verified = match waited {
        Ok(Some(at)) => format!("verified in {:.2} s", (at - asked).as_secs_f64()),
        _ => "NOT verified within 60 s".into(),
    };
    let summary: Vec<String> = statuses.iter().map(|(k, v)| format!("{k}×{v}")).collect();
    // Holds the phase open for its length.
    let note = format!(
        "legitimate subscriber: {status}, {verified}; flood answers {}",
        summary.join(" ")
    );
    println!("  {note}");
    note
}

fn main() {
    let seconds = support::setting("PHASE_SECONDS", 30) as u64;
    let connections = support::setting("SLOW_CONNECTIONS", 3000);
    gazette::server::connections::raise_open_file_limit();
    let binary = support::root().join("target/release/gazette");
    assert!(
        binary.exists(),
        "build the release binary first: cargo build --release"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let replay = runtime.block_on(async {
        let replay = ReplayServer::start(Recording::bundled().unwrap())
            .await
            .unwrap();
        let body = long_body(false);
        let paragraphs: Vec<&str> = body.iter().map(String::as_str).collect();
        replay.add_article(LONG_ITEM, "Bài rất dài", &today(), &paragraphs);
        replay
    });

    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let listen: SocketAddr = ([127, 0, 0, 1], port).into();
    let public = format!("http://{listen}");
    let mut edit = gazette::config::ConfigEdit::shipped();
    edit.listen(listen)
        .public_url(&public)
        .storage_path(&dir.path().join("archive"))
        .crawler("min_delay_ms", 50)
        .crawler("timeout_secs", 5)
        .crawler("retry_base_ms", 100)
        .crawler("max_concurrency_per_host", 4)
        .set(&["server", "websub_builtin"], true)
        .set(&["server", "websub_allow_private"], true)
        .source("bqlkkt", &["schedule"], "*/10 * * * * *")
        .sources_at(&replay.base_url());
    let config = dir.path().join("gazette.toml");
    std::fs::write(&config, edit.to_toml()).unwrap();
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let mut serve = support::Guard(
        Command::new(&binary)
            .args(["serve", "--config"])
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stderr(log)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = serve.0.id();
    let base = public.clone();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let article = format!("{base}/api/articles/bqlkkt:{LONG_ITEM}");
        let ready = Instant::now();
        // The first run archives the long article; then its page changes, and a later run (which
        // rechecks today's articles) makes its second revision.
        while !client
            .get(&article)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(
                ready.elapsed() < Duration::from_secs(120),
                "serve did not archive the long article"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let edited = long_body(true);
        let paragraphs: Vec<&str> = edited.iter().map(String::as_str).collect();
        let page = article_page(LONG_ITEM, "Bài rất dài", &today(), &paragraphs).into_bytes();
        for path in [
            format!("{ARTICLE}{LONG_ITEM}&l=TinBanQuanLy"),
            format!("{ARTICLE}{LONG_ITEM}"),
        ] {
            replay.set_page(&path, page.clone(), "text/html; charset=utf-8");
        }
        let revised = format!("{base}/api/articles/bqlkkt:{LONG_ITEM}/revisions/2");
        while !client
            .get(&revised)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(
                ready.elapsed() < Duration::from_secs(180),
                "no second revision"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        println!(
            "serve pid {pid}, {PHASE} s a phase, the long article has two revisions",
            PHASE = seconds
        );
        println!("| phase | failed /healthz | /healthz p99 | peak RSS | scheduled runs | note |");
        println!("| --- | ---: | ---: | ---: | --- | --- |");
        phase(
            "quiet (baseline)",
            &base,
            pid,
            seconds.min(15),
            std::future::pending(),
        )
        .await;
        let addr = listen;
        phase(
            "slowloris",
            &base,
            pid,
            seconds,
            slowloris(addr, connections),
        )
        .await;
        // Let the slow connections' sockets go before the next phase.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (done, bad) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let flood = {
            let (base, done, bad) = (base.clone(), done.clone(), bad.clone());
            async move {
                diff_flood(base, 50, done, bad).await;
                String::new()
            }
        };
        phase("diff flood", &base, pid, seconds, flood).await;
        println!(
            "  diff answers: {} OK, {} failed",
            done.load(Ordering::Relaxed),
            bad.load(Ordering::Relaxed)
        );
        let websub = {
            let (base, public) = (base.clone(), public.clone());
            async move {
                let note = websub_flood(base, public).await;
                // The phase lasts its length whatever the flood took.
                std::future::pending::<()>().await;
                note
            }
        };
        phase("WebSub flood", &base, pid, seconds, websub).await;
    });
    let alive = serve.0.try_wait().unwrap().is_none();
    println!("serve still running: {alive}");
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = serve.0.wait();
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ERROR"))
        .take(5)
        .collect();
    println!(
        "serve log: {} lines; first errors: {errors:#?}",
        log.lines().count()
    );
}
