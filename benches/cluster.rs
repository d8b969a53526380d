//! Cluster figures for BENCHMARKS.md (not a timed test, not in CI), on the synthetic portal's
//! articles, with real nats-server processes on loopback (`GAZETTE_NATS_SERVER` names the
//! binary; `SERVERS` of them, routed, streams with as many replicas, default 3):
//! - the cost of cluster mode on one node: articles stored one at a time, each answered once
//!   on disk, straight into the archive and through the archived stream (published, acked by
//!   the stream's replicas, applied by the node itself), articles/s;
//! - replication lag: an article stored on node A until node B's archive has it, p50/p99/max
//!   over `LAG_SAMPLES` articles stored one at a time (B then serves it: its feed cache is
//!   dropped at most 250 ms later, when applied groups are told on).
//!
//! Run: `GAZETTE_NATS_SERVER=target/ci-venv/bin/nats-server cargo bench --bench cluster`
//! (ARTICLES=1000, LAG_SAMPLES=200, SERVERS=3).

#[path = "support/mod.rs"]
mod support;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gazette::archive::prelude::*;
use gazette::archive::{Ingest, SledArchive};
use gazette::cluster::jobs::{Ran, RunJob};
use gazette::cluster::node::Node;
use gazette::config::{ClusterConfig, StorageConfig};
use gazette::replay::Recording;
use tokio_util::sync::CancellationToken;

struct Servers(Vec<Child>);

impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start_servers(binary: &str, dir: &std::path::Path, count: usize) -> (Servers, Vec<String>) {
    let ports: Vec<(u16, u16)> = (0..count)
        .map(|_| (support::free_port(), support::free_port()))
        .collect();
    let mut children = Vec::new();
    for (i, (port, cluster)) in ports.iter().enumerate() {
        let mut command = Command::new(binary);
        command
            .args(["-js", "-sd"])
            .arg(dir.join(format!("nats-{i}")))
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-n",
                &format!("nats-{i}"),
            ]);
        if count > 1 {
            let routes: Vec<String> = ports
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, (_, c))| format!("nats://127.0.0.1:{c}"))
                .collect();
            command
                .args(["--cluster_name", "bench"])
                .args(["--cluster", &format!("nats://127.0.0.1:{cluster}")])
                .args(["--routes", &routes.join(",")]);
        }
        children.push(
            command
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("nats-server starts"),
        );
    }
    for (port, _) in &ports {
        while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let urls = ports
        .iter()
        .map(|(p, _)| format!("nats://127.0.0.1:{p}"))
        .collect();
    (Servers(children), urls)
}

fn cluster_config(urls: &[String], node: &str, replicas: usize) -> ClusterConfig {
    let list: Vec<String> = urls.iter().map(|u| format!("{u:?}")).collect();
    toml::from_str(&format!(
        "nats_url = [{}]\nnode_id = \"{node}\"\nreplicas = {replicas}\n",
        list.join(", ")
    ))
    .unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

fn main() {
    let Ok(binary) = std::env::var("GAZETTE_NATS_SERVER") else {
        eprintln!(
            "GAZETTE_NATS_SERVER is unset: it names the nats-server binary this bench starts"
        );
        std::process::exit(2);
    };
    let articles = support::setting("ARTICLES", 1000);
    let samples = support::setting("LAG_SAMPLES", 200);
    let servers = support::setting("SERVERS", 3).max(1);
    let recording = Recording::synthetic(articles + samples);
    let config = gazette::config::load(&support::root().join("config/gazette.toml")).unwrap();
    let source = config.source("bqlkkt").unwrap();
    let now = chrono::Utc::now().fixed_offset();
    let prepared: Vec<Ingest> = (1..=articles + samples)
        .map(|k| support::synthetic_ingest(&recording, source, k, now))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let open = |name: &str| -> Arc<dyn Archive> {
        Arc::new(
            SledArchive::open(&StorageConfig {
                path: dir.path().join(name),
                ..StorageConfig::default()
            })
            .unwrap(),
        )
    };

    // The baseline: one node alone, one article a call.
    let alone = open("alone");
    let started = Instant::now();
    for ingest in &prepared[..articles] {
        alone.store_many(vec![ingest.clone()]).unwrap();
    }
    let alone_rate = articles as f64 / started.elapsed().as_secs_f64();
    println!("alone: {articles} articles one at a time, {alone_rate:.0} articles/s");
    drop(alone);

    let (_servers, urls) = start_servers(&binary, dir.path(), servers);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let shutdown = CancellationToken::new();
    let (a, b, local_b) = runtime.block_on(async {
        let idle: RunJob = Arc::new(|_| Box::pin(async { Ran::Busy }));
        let start = |name: &str| {
            let local = open(name);
            let node = Node::new(&cluster_config(&urls, name, servers), local.clone());
            node.start(
                local.clone(),
                idle.clone(),
                Arc::new(|_: &[gazette::model::RunReport]| {}),
                "127.0.0.1:0".into(),
                Arc::new(|| None),
                shutdown.clone(),
            );
            (node, local)
        };
        let (a, _) = start("node-a");
        let (b, local_b) = start("node-b");
        let waited = Instant::now();
        while !(a.connected() && b.connected()) {
            assert!(
                waited.elapsed() < Duration::from_secs(120),
                "the nodes did not join"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (a, b, local_b)
    });
    let archive_a = a.archive.clone();

    // Through the stream: the same articles, one a call, on node A.
    let started = Instant::now();
    for ingest in &prepared[..articles] {
        archive_a.store_many(vec![ingest.clone()]).unwrap();
    }
    let cluster_rate = articles as f64 / started.elapsed().as_secs_f64();
    println!(
        "cluster ({servers} NATS server(s), {servers} replica(s)): {articles} articles one at a time, {cluster_rate:.0} articles/s ({:.0}% of alone)",
        cluster_rate / alone_rate * 100.0
    );

    // Replication lag: from the call that stores on A until B's archive has the article; and
    // beside it how long A took to answer (its own copy applied).
    let mut lags = Vec::with_capacity(samples);
    let mut answers = Vec::with_capacity(samples);
    for ingest in &prepared[articles..] {
        let id = ingest.article.id.clone();
        let (ingest, archive_a) = (ingest.clone(), archive_a.clone());
        let url = ingest.article.url.clone();
        let started = Instant::now();
        let storing = std::thread::spawn(move || {
            archive_a.store_many(vec![ingest]).unwrap();
            started.elapsed()
        });
        while local_b.id_for_url(&url).ok().flatten().as_ref() != Some(&id) {
            std::thread::sleep(Duration::from_micros(100));
        }
        lags.push(started.elapsed());
        answers.push(storing.join().unwrap());
    }
    lags.sort();
    answers.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "replication lag over {samples} articles (store called on A until B has it): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; A's own answer: p50 {:.1} ms, p99 {:.1} ms",
        ms(percentile(&lags, 0.5)),
        ms(percentile(&lags, 0.99)),
        ms(*lags.last().unwrap()),
        ms(percentile(&answers, 0.5)),
        ms(percentile(&answers, 0.99)),
    );
    shutdown.cancel();
    drop((a, b));
}
