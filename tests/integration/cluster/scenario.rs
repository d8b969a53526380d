//! The cluster scenario: three NATS servers, three gazette nodes, the synthetic portal with 500
//! articles. A backfill; the node holding it killed; another resumes; every node ends with the
//! same archive and the same feed bytes; one NATS server stopped; a fourth, empty node
//! converges. And the duplicates: one tick published by three schedulers is one job, a
//! revision published twice is one revision.

use std::time::{Duration, Instant};

use gazette::cluster::jobs::{self, Job};
use gazette::cluster::{Cluster, JOBS_STREAM};
use gazette::config::ClusterConfig;
use gazette::replay::{Recording, ReplayServer};

use super::{Node, NodeSettings, eventually, get, get_json, nats_cluster};

const ARTICLES: usize = 500;
const SOURCE: &str = "bqlkkt";
const ACK_WAIT_SECS: i64 = 6;

fn cluster_config(nats: &[String], node: &str) -> ClusterConfig {
    let urls: Vec<String> = nats.iter().map(|u| format!("{u:?}")).collect();
    let text = format!(
        "nats_url = [{}]\nnode_id = \"{node}\"\nreplicas = 3\n",
        urls.join(", ")
    );
    toml::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Articles the node lists, every page of the API followed.
async fn article_count(node: &Node) -> Option<usize> {
    let mut count = 0;
    let mut cursor = String::new();
    loop {
        let url = format!(
            "{}/api/articles?source={SOURCE}&limit=500{cursor}",
            node.base()
        );
        let value = get_json(&url).await.ok()?;
        count += value["articles"].as_array()?.len();
        match value["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return Some(count),
        }
    }
}

async fn connected(node: &Node) -> bool {
    get_json(&format!("{}/healthz", node.base()))
        .await
        .is_ok_and(|h| h["cluster"]["nats"] == "connected")
}

/// Who holds the source's lease now, as the bucket says.
async fn lease_holder(cluster: &Cluster) -> Option<String> {
    let bytes = cluster.leases.get(SOURCE).await.ok()??;
    let holder: gazette::cluster::lease::Holder = serde_json::from_slice(&bytes).ok()?;
    (holder.expires_at > chrono::Utc::now()).then_some(holder.node)
}

/// The portal's ItemID in a URL or path.
fn item_id(url: &str) -> Option<String> {
    let at = url.find("ItemID=")? + "ItemID=".len();
    let digits: String = url[at..].chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

/// The ItemIDs of the articles a listing holds.
fn item_ids(listing: &serde_json::Value) -> std::collections::BTreeSet<String> {
    listing["articles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["article"]["url"].as_str().and_then(item_id))
        .collect()
}

/// Every article of a node, as the API lists them (ids, revisions, content hashes, dates).
async fn listing(node: &Node) -> serde_json::Value {
    get_json(&format!(
        "{}/api/articles?source={SOURCE}&limit=500",
        node.base()
    ))
    .await
    .unwrap_or_else(|e| panic!("{}: {e}", node.id))
}

async fn feeds(node: &Node) -> Vec<(String, Option<String>, Vec<u8>)> {
    let mut out = Vec::new();
    for format in ["rss", "atom", "json"] {
        let url = format!("{}/feeds/{SOURCE}.{format}?limit=500", node.base());
        let (status, etag, body) = get(&url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(status, 200, "{url}");
        out.push((format.to_string(), etag, body));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs nats-server (GAZETTE_NATS_SERVER); .ci/run installs it and runs this"]
async fn three_nodes_share_one_archive_through_a_kill_and_a_lost_server() {
    // Logs of every server and node stay there when GAZETTE_KEEP_CLUSTER_DIR is set.
    let dir = tempfile::Builder::new()
        .disable_cleanup(std::env::var_os("GAZETTE_KEEP_CLUSTER_DIR").is_some())
        .tempdir()
        .unwrap();
    eprintln!("cluster scenario in {}", dir.path().display());
    let mut nats = nats_cluster(dir.path(), 3);
    let s3_binary = crate::object_store::s3s_fs().expect(
        "GAZETTE_S3S_FS names the s3s-fs binary: the scenario puts WARC files in object storage",
    );
    let bucket_root = dir.path().join("s3");
    std::fs::create_dir_all(bucket_root.join("gazette")).unwrap();
    let s3_port = super::free_port();
    let _s3 = crate::object_store::S3::start(&s3_binary, s3_port, &bucket_root);
    let nats_urls: Vec<String> = nats.iter().map(|s| s.url()).collect();
    let portal = ReplayServer::start(Recording::synthetic(ARTICLES))
        .await
        .unwrap();
    let base = portal.base_url();
    // Slow enough that the backfill is still going when its node is killed.
    let crawler: &[(&str, &str)] = &[
        ("min_delay_ms", "15"),
        ("retries", "2"),
        ("retry_base_ms", "10"),
        ("timeout_secs", "5"),
        ("recheck_days", "0"),
    ];
    let settings = NodeSettings {
        portal: &base,
        nats: nats_urls.clone(),
        crawler,
        ack_wait_secs: ACK_WAIT_SECS,
        object_store: Some((
            "s3://gazette/archive".into(),
            format!("http://127.0.0.1:{s3_port}"),
        )),
    };
    let mut nodes: Vec<Node> = ["node-a", "node-b", "node-c"]
        .iter()
        .map(|id| Node::start(dir.path(), id, &settings))
        .collect();
    for node in &nodes {
        eventually(
            Duration::from_secs(60),
            &format!("{} joins", node.id),
            || async { connected(node).await.then_some(()) },
        )
        .await;
    }
    let observer = Cluster::connect(&cluster_config(&nats_urls, "observer"))
        .await
        .expect("the test connects");

    // The backfill, as an operator sends it.
    let out = super::super::support::gazette_async(&[
        "cluster",
        "run",
        "--config",
        nodes[0].config_path.to_str().unwrap(),
        SOURCE,
        "--backfill",
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Kill the node holding the job once it has stored some articles.
    let holder = eventually(Duration::from_secs(30), "a node takes the job", || async {
        lease_holder(&observer).await
    })
    .await;
    let victim = nodes.iter().position(|n| n.id == holder).unwrap();
    eventually(
        Duration::from_secs(60),
        "the backfill stores articles",
        || async { article_count(&nodes[victim]).await.filter(|n| *n >= 60) },
    )
    .await;
    let stored_before_kill = item_ids(&listing(&nodes[victim]).await);
    let before_kill = stored_before_kill.len();
    assert!(
        before_kill >= 60,
        "the listing names {before_kill} articles"
    );
    assert!(
        before_kill < ARTICLES,
        "the backfill ended before the kill ({before_kill} articles): the test would prove nothing"
    );
    nodes[victim].kill();
    let killed_at = Instant::now();
    let successor = eventually(
        Duration::from_secs(ACK_WAIT_SECS as u64 * 2 + 20),
        "another node resumes the job",
        || async { lease_holder(&observer).await.filter(|h| *h != holder) },
    )
    .await;
    let failover = killed_at.elapsed();
    eprintln!(
        "failover: {holder} killed with {before_kill} articles, {successor} resumed after {failover:?}"
    );
    assert!(
        failover <= Duration::from_secs(ACK_WAIT_SECS as u64 * 2 + 10),
        "resumed after {failover:?}"
    );
    for node in nodes.iter().filter(|n| n.id != holder) {
        eventually(
            Duration::from_secs(180),
            &format!("{} holds every article", node.id),
            || async { article_count(node).await.filter(|n| *n == ARTICLES) },
        )
        .await;
    }
    // The killed node comes back and catches up from its own position.
    nodes[victim].spawn();
    eventually(
        Duration::from_secs(60),
        "the killed node catches up",
        || async {
            article_count(&nodes[victim])
                .await
                .filter(|n| *n == ARTICLES)
        },
    )
    .await;

    // Nothing stored was fetched again: only pages in flight at the kill, never stored, twice.
    let mut hits: std::collections::BTreeMap<String, usize> = Default::default();
    for request in portal.requests() {
        if let Some(id) = item_id(&request.path_and_query)
            && request.path_and_query.contains("chi-tiet-tin.aspx")
        {
            *hits.entry(id).or_default() += 1;
        }
    }
    let twice: Vec<&String> = hits
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    eprintln!(
        "fetched twice: {} article(s), in flight at the kill",
        twice.len()
    );
    for id in &twice {
        assert!(
            !stored_before_kill.contains(*id),
            "article {id} was stored before the kill and fetched again ({} times)",
            hits[*id]
        );
        assert!(hits[*id] <= 2, "article {id} fetched {} times", hits[*id]);
    }
    assert!(twice.len() <= 20, "{} articles fetched twice", twice.len());
    assert_eq!(hits.len(), ARTICLES, "every article fetched");

    // Every node: the same articles, revisions and hashes, the same feed bytes and ETags.
    let reference = listing(&nodes[0]).await;
    let reference_feeds = feeds(&nodes[0]).await;
    for node in &nodes[1..] {
        assert_eq!(
            listing(node).await,
            reference,
            "{} lists differently",
            node.id
        );
        assert_eq!(
            feeds(node).await,
            reference_feeds,
            "{} serves other feed bytes",
            node.id
        );
    }

    // One NATS server stops: a new article is still crawled and served everywhere.
    nats[2].kill();
    portal.add_article(
        999_001,
        "Tin mới sau khi một máy chủ dừng",
        "(08:00 | 02/01/2021)",
        &["Đoạn một.", "Đoạn hai."],
    );
    let out = super::super::support::gazette_async(&[
        "cluster",
        "run",
        "--config",
        nodes[0].config_path.to_str().unwrap(),
        SOURCE,
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for node in &nodes {
        eventually(
            Duration::from_secs(60),
            &format!("{} has the new article", node.id),
            || async { article_count(node).await.filter(|n| *n == ARTICLES + 1) },
        )
        .await;
    }

    // A fourth, empty node converges to the same archive.
    let mut newcomer = Node::start(dir.path(), "node-d", &settings);
    eventually(
        Duration::from_secs(120),
        "the new node converges",
        || async {
            article_count(&newcomer)
                .await
                .filter(|n| *n == ARTICLES + 1)
        },
    )
    .await;
    let reference = listing(&nodes[0]).await;
    let reference_feeds = feeds(&nodes[0]).await;
    assert_eq!(listing(&newcomer).await, reference);
    assert_eq!(feeds(&newcomer).await, reference_feeds);
    for node in &nodes[1..] {
        assert_eq!(feeds(node).await, reference_feeds, "{}", node.id);
    }
    // `gazette cluster status` sees the four nodes caught up with the stream.
    let status = eventually(
        Duration::from_secs(30),
        "cluster status shows four nodes caught up",
        || async {
            let out = nodes[0].command(&["cluster", "status", "--json"]).await;
            let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            let seen: Vec<&str> = status["nodes"]
                .as_array()?
                .iter()
                .filter_map(|n| n["node"].as_str())
                .collect();
            let caught_up = status["nodes"].as_array()?.iter().all(|n| n["lag"] == 0);
            (seen == ["node-a", "node-b", "node-c", "node-d"] && caught_up).then_some(status)
        },
    )
    .await;
    assert!(
        status["archived_last"].as_u64().unwrap() > ARTICLES as u64,
        "{status}"
    );
    assert_eq!(status["jobs_running"], 0, "{status}");
    // The same in each node's metrics: connected, the stream applied to its last message.
    let last = status["archived_last"].as_u64().unwrap();
    for node in nodes.iter().chain([&newcomer]) {
        eventually(
            Duration::from_secs(20),
            &format!("{} reports no lag", node.id),
            || async {
                let (_, _, body) = get(&format!("{}/metrics", node.base())).await.ok()?;
                let text = String::from_utf8(body).ok()?;
                let applied = format!("gazette_cluster_applied_sequence {last}\n");
                (text.contains("gazette_cluster_lag_messages 0\n")
                    && text.contains("gazette_cluster_connected 1\n")
                    && text.contains(&applied))
                .then_some(())
            },
        )
        .await;
    }
    // Every node, stopped: each closed WARC file of its own is in the bucket with its CDXJ, the
    // local copies are gone (no local cache), and its archive verifies clean, reading them back.
    let bucket = bucket_root.join("gazette").join("archive");
    for node in nodes.iter_mut().chain([&mut newcomer]) {
        node.stop();
        let uploaded: Vec<String> = std::fs::read_dir(&bucket)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(&format!("-{}.warc.gz", node.id)))
            .collect();
        assert!(
            !uploaded.is_empty(),
            "{}: no WARC file in the bucket",
            node.id
        );
        for name in &uploaded {
            assert!(
                bucket.join(format!("{name}.cdxj")).is_file(),
                "{name} without its CDXJ"
            );
        }
        let local_dir = dir.path().join(&node.id).join("archive").join("warc");
        let local: Vec<String> = std::fs::read_dir(&local_dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".warc.gz"))
            .collect();
        // Only the file being written stays: the newest, not yet closed.
        assert!(local.len() <= 1, "{}: {local:?} still local", node.id);
        let out = node.command(&["verify"]).await;
        assert!(
            out.status.success(),
            "{}: {}",
            node.id,
            super::super::support::explain(&["verify"], &out)
        );
    }
    drop(nats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server (GAZETTE_NATS_SERVER); .ci/run installs it and runs this"]
async fn one_tick_from_three_schedulers_is_one_job() {
    let dir = tempfile::tempdir().unwrap();
    let nats = nats_cluster(dir.path(), 1);
    let urls = vec![nats[0].url()];
    let mut config = cluster_config(&urls, "node-a");
    config.replicas = 1;
    let job = Job {
        source: SOURCE.into(),
        scheduled_at: "2026-12-07T10:30:00+07:00".parse().unwrap(),
        backfill: false,
    };
    let mut published = Vec::new();
    for node in ["node-a", "node-b", "node-c"] {
        let mut config = config.clone();
        config.node_id = node.to_string().try_into().unwrap();
        let cluster = Cluster::connect(&config).await.expect("connects");
        published.push(jobs::publish(&cluster, &job).await.expect("publishes"));
    }
    assert_eq!(published, [true, false, false]);
    let cluster = Cluster::connect(&config).await.unwrap();
    let mut stream = cluster.js.get_stream(JOBS_STREAM).await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 1);
    // The next tick is a job of its own.
    let next = Job {
        scheduled_at: "2026-12-07T11:00:00+07:00".parse().unwrap(),
        ..job
    };
    assert!(jobs::publish(&cluster, &next).await.unwrap());
    assert_eq!(stream.info().await.unwrap().state.messages, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server (GAZETTE_NATS_SERVER); .ci/run installs it and runs this"]
async fn a_publish_retried_after_a_lost_ack_is_one_revision() {
    use gazette::archive::prelude::*;
    use gazette::cluster::archived::{self, Event};
    use gazette::cluster::jobs::{Ran, RunJob};
    use gazette::cluster::node::Node;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let nats = nats_cluster(dir.path(), 1);
    let mut config = cluster_config(&[nats[0].url()], "node-a");
    config.replicas = 1;
    let portal = crate::support::TestPortal::recorded().await;
    let local: Arc<dyn Archive> = portal.open_archive();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let node = Node::new(&config, local.clone());
    let idle: RunJob = Arc::new(|_| Box::pin(async { Ran::Busy }));
    node.start(
        local.clone(),
        idle,
        Arc::new(|_: &[gazette::model::RunReport]| {}),
        "127.0.0.1:0".into(),
        Arc::new(|| None),
        shutdown.clone(),
    );
    eventually(Duration::from_secs(30), "the node joins", || async {
        node.connected().then_some(())
    })
    .await;
    // One article, crawled into the node's archive through the stream.
    let handle = gazette::archive::Handle::new(node.archive.clone());
    let fetcher = gazette::fetch::Fetcher::new(&portal.config.crawler).unwrap();
    let report = gazette::crawl::crawl_source(
        &fetcher,
        &handle,
        portal.source(),
        &portal.config.crawler,
        gazette::crawl::CrawlOptions::default(),
        &gazette::crawl::quiet,
    )
    .await;
    assert!(report.new > 0, "{report:?}");
    let archived = local.all().unwrap();
    let first = archived[0].clone();
    assert_eq!(first.revisions, 1);
    let capture = local.capture(&first.article.id, 1).unwrap().unwrap();
    let event = Event::Revision {
        article: Box::new(first.article.clone()),
        capture,
        fetched_at: first.updated,
        profile: None,
        user_agent: "gazette".into(),
        validators: None,
    };
    let cluster = Cluster::connect(&config).await.unwrap();
    let id = archived::revision_id(&first.article.id, 1, &first.article.content_hash, None);
    // The ack was lost: the same message again, within the duplicate window.
    let (_, duplicate) = archived::publish(&cluster, &event, &id).await.unwrap();
    assert!(duplicate, "the stream took the same revision twice");
    // Past the window, under another id: applied, and nothing changes.
    let (sequence, duplicate) = archived::publish(&cluster, &event, &format!("{id}:late"))
        .await
        .unwrap();
    assert!(!duplicate);
    eventually(
        Duration::from_secs(10),
        "the late copy is applied",
        || async { (archived::position(&*local) >= sequence).then_some(()) },
    )
    .await;
    let after = local.article(&first.article.id).unwrap().unwrap();
    assert_eq!(
        after.revisions, 1,
        "a retried publish made a second revision"
    );
    assert_eq!(local.all().unwrap().len(), archived.len());
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server (GAZETTE_NATS_SERVER); .ci/run installs it and runs this"]
async fn a_source_has_one_lease_at_a_time() {
    use gazette::cluster::lease::{self, Taken};
    let dir = tempfile::tempdir().unwrap();
    let nats = nats_cluster(dir.path(), 1);
    let mut config = cluster_config(&[nats[0].url()], "node-a");
    config.replicas = 1;
    let cluster = Cluster::connect(&config).await.unwrap();
    let term = Duration::from_secs(2);
    let Taken::Held(mut held) = lease::take(&cluster.leases, SOURCE, "node-a", term)
        .await
        .unwrap()
    else {
        panic!("a free lease is not taken");
    };
    // Busy for another node, and for another worker of the same node.
    for node in ["node-b", "node-a"] {
        match lease::take(&cluster.leases, SOURCE, node, term)
            .await
            .unwrap()
        {
            Taken::Busy(holder) => assert_eq!(holder.node, "node-a"),
            Taken::Held(_) => panic!("{node} took a lease node-a holds"),
        }
    }
    held.renew(&cluster.leases).await.unwrap();
    // A holder that stops renewing loses it once it expires; its late renewal then fails.
    tokio::time::sleep(term + Duration::from_millis(200)).await;
    let Taken::Held(taken) = lease::take(&cluster.leases, SOURCE, "node-b", term)
        .await
        .unwrap()
    else {
        panic!("an expired lease is not taken over");
    };
    assert!(
        held.renew(&cluster.leases).await.is_err(),
        "a lost lease was renewed"
    );
    // Released, it is free at once.
    taken.release(&cluster.leases).await;
    assert!(matches!(
        lease::take(&cluster.leases, SOURCE, "node-c", term)
            .await
            .unwrap(),
        Taken::Held(_)
    ));
}
