//! Async code never waits on the archive's disk: with its writer held (a commit that takes as
//! long as the test likes, as a slow disk would), a crawl waiting on that commit shares the one
//! async worker with the server, and `/healthz` and a feed still answer.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gazette::archive::Handle;
use gazette::server::connections::{self, Limits};
use gazette::server::{AppState, app};

use crate::support::TestPortal;

/// Long enough that only a blocked server makes an answer take this long.
const BOUND: Duration = Duration::from_secs(15);

/// One GET from a plain thread (not the runtime under test): status line and the time taken.
fn get(addr: SocketAddr, path: &str) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(BOUND)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    let status = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    (
        format!(
            "{status}{}",
            read.err().map(|e| format!(" ({e})")).unwrap_or_default()
        ),
        started.elapsed(),
    )
}

#[test]
fn healthz_and_a_feed_answer_while_a_commit_is_held() {
    // One async worker for the server and the crawl: a call that blocked it would stop both.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (portal, archive, addr) = runtime.block_on(async {
        let portal = TestPortal::recorded().await;
        let archive = portal.open_archive();
        let state = AppState::new(
            Arc::new(portal.config.clone()),
            archive.clone(),
            gazette::schedule::Status::default(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = Limits::new(&portal.config.server, None);
        tokio::spawn(connections::serve(
            listener,
            app(state),
            limits,
            tokio_util::sync::CancellationToken::new(),
        ));
        (portal, archive, addr)
    });
    archive.hold_writes();
    let crawl = runtime.spawn({
        let (config, archive) = (portal.config.clone(), archive.clone());
        async move {
            let fetcher = gazette::fetch::Fetcher::new(&config.crawler).unwrap();
            gazette::crawl::crawl_source(
                &fetcher,
                &Handle::new(archive),
                &config.sources[0],
                &config.crawler,
                gazette::crawl::CrawlOptions::default(),
                &gazette::crawl::quiet,
            )
            .await
        }
    });
    let waited = Instant::now();
    while archive.writes_held() == 0 && waited.elapsed() < BOUND {
        std::thread::sleep(Duration::from_millis(10));
    }
    let held = archive.writes_held();
    let health = get(addr, "/healthz");
    let feed = get(addr, "/feeds/bqlkkt.atom");
    let still_held = archive.writes_held();
    archive.release_writes();
    let report = runtime.block_on(crawl).unwrap();
    eprintln!("while a commit was held: /healthz {health:?}, feed {feed:?}");
    assert!(held >= 1, "the crawl never reached a commit");
    assert_eq!(
        still_held, held,
        "the commit was let go before the answers came"
    );
    assert!(health.0.starts_with("HTTP/1.1 200"), "/healthz: {health:?}");
    assert!(feed.0.starts_with("HTTP/1.1 200"), "feed: {feed:?}");
    assert_eq!(report.new, 9, "{report:?}");
    drop(portal);
}
