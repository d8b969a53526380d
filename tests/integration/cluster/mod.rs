//! Many nodes on a real NATS JetStream cluster: nats-server child processes (named by
//! `GAZETTE_NATS_SERVER`), gazette nodes as child processes of the built binary, the synthetic
//! portal replayed on loopback. Every address is on 127.0.0.1. `.ci/run` installs the servers
//! and runs these tests with `--ignored`; a plain `cargo test` lists them as ignored, saying why.

mod scenario;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gazette::config::ConfigEdit;
use serde_json::Value;
use url::Url;

/// The nats-server binary, or a panic saying how to get one: these tests are run on purpose.
pub fn nats_server_binary() -> PathBuf {
    match std::env::var_os("GAZETTE_NATS_SERVER") {
        Some(path) if Path::new(&path).is_file() => PathBuf::from(path),
        Some(path) => panic!(
            "GAZETTE_NATS_SERVER names {}, which is not a file",
            Path::new(&path).display()
        ),
        None => panic!(
            "GAZETTE_NATS_SERVER is unset: these tests need a nats-server binary \
             (.ci/cluster-tools.sh installs one)"
        ),
    }
}

/// A port free on 127.0.0.1 now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// One nats-server of a loopback cluster.
pub struct NatsServer {
    pub name: String,
    pub port: u16,
    pub cluster_port: u16,
    dir: PathBuf,
    child: Option<Child>,
    routes: String,
}

impl NatsServer {
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.join(format!("{}.log", self.name))).unwrap();
        let mut command = Command::new(nats_server_binary());
        command
            .args(["-js", "-sd"])
            .arg(self.dir.join(&self.name))
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-n", &self.name]);
        if !self.routes.is_empty() {
            command
                .args(["--cluster_name", "gazette"])
                .args([
                    "--cluster",
                    &format!("nats://127.0.0.1:{}", self.cluster_port),
                ])
                .args(["--routes", &self.routes]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        wait_for_port(self.port);
    }

    /// Stops it at once (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three nats-servers routed to each other, JetStream on, in `dir`.
pub fn nats_cluster(dir: &Path, size: usize) -> Vec<NatsServer> {
    let ports: Vec<(u16, u16)> = (0..size).map(|_| (free_port(), free_port())).collect();
    let mut servers: Vec<NatsServer> = ports
        .iter()
        .enumerate()
        .map(|(i, (port, cluster_port))| {
            let routes = ports
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, (_, c))| format!("nats://127.0.0.1:{c}"))
                .collect::<Vec<_>>()
                .join(",");
            NatsServer {
                name: format!("nats-{}", i + 1),
                port: *port,
                cluster_port: *cluster_port,
                dir: dir.to_path_buf(),
                child: None,
                routes,
            }
        })
        .collect();
    for server in &mut servers {
        server.spawn();
    }
    servers
}

fn wait_for_port(port: u16) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nothing listens on 127.0.0.1:{port} after 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A gazette node: `gazette serve` with a config of its own.
pub struct Node {
    pub id: String,
    pub port: u16,
    pub config_path: PathBuf,
    pub log: PathBuf,
    child: Option<Child>,
}

/// The settings every node of a scenario shares.
pub struct NodeSettings<'a> {
    pub portal: &'a Url,
    pub nats: Vec<String>,
    pub crawler: &'a [(&'a str, &'a str)],
    pub ack_wait_secs: i64,
    /// `(url, endpoint)` of the object store, when the scenario has one.
    pub object_store: Option<(String, String)>,
}

impl Node {
    pub fn start(dir: &Path, id: &str, settings: &NodeSettings<'_>) -> Node {
        let port = free_port();
        let mut edit = crate::support::portal_config(
            settings.portal,
            &dir.join(id).join("archive"),
            settings.crawler,
        );
        edit.listen(format!("127.0.0.1:{port}").parse().unwrap());
        // Every node writes the same links: a load balancer's address, not its own.
        edit.public_url("http://127.0.0.1:8080/");
        cluster_section(&mut edit, id, settings);
        std::fs::create_dir_all(dir.join(id)).unwrap();
        let config_path = dir.join(id).join("gazette.toml");
        std::fs::write(&config_path, edit.to_toml()).unwrap();
        let mut node = Node {
            id: id.to_string(),
            port,
            config_path,
            log: dir.join(id).join("serve.log"),
            child: None,
        };
        node.spawn();
        node
    }

    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_gazette"))
            .args(["serve", "--config"])
            .arg(&self.config_path)
            .env("RUST_LOG", "info,gazette=debug")
            .env("AWS_ACCESS_KEY_ID", crate::object_store::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", crate::object_store::SECRET_KEY)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("gazette serve starts");
        self.child = Some(child);
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills it as `kill -9` does.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs `gazette ARGS --config <its config>` with the object store's credentials.
    pub async fn command(&self, args: &[&str]) -> std::process::Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gazette"));
        command
            .args(args)
            .arg("--config")
            .arg(&self.config_path)
            .env("AWS_ACCESS_KEY_ID", crate::object_store::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", crate::object_store::SECRET_KEY);
        tokio::task::spawn_blocking(move || command.output().expect("gazette runs"))
            .await
            .unwrap()
    }

    /// Stops it with SIGTERM and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn cluster_section(edit: &mut ConfigEdit, id: &str, settings: &NodeSettings<'_>) {
    let mut urls = toml_edit::Array::new();
    for url in &settings.nats {
        urls.push(url.as_str());
    }
    edit.set(&["cluster", "nats_url"], urls);
    edit.set(&["cluster", "node_id"], id);
    edit.set(&["cluster", "replicas"], 3_i64);
    edit.set(&["cluster", "ack_wait_secs"], settings.ack_wait_secs);
    edit.set(&["cluster", "retry_secs"], 2_i64);
    if let Some((url, endpoint)) = &settings.object_store {
        edit.set(&["storage", "object_store", "url"], url.as_str());
        edit.set(&["storage", "object_store", "endpoint"], endpoint.as_str());
        edit.set(&["storage", "object_store", "allow_http"], true);
        edit.set(&["storage", "object_store", "local_cache_bytes"], 0_i64);
        // Small files, so that many close and go to the bucket during the scenario.
        edit.set(&["storage", "warc_max_bytes"], 262_144_i64);
    }
}

/// GET `url`: status, ETag and body.
pub async fn get(url: &str) -> Result<(u16, Option<String>, Vec<u8>), String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let etag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.bytes().await.map_err(|e| e.to_string())?.to_vec();
    Ok((status, etag, body))
}

pub async fn get_json(url: &str) -> Result<Value, String> {
    let (status, _, body) = get(url).await?;
    if status != 200 {
        return Err(format!("{url}: {status}"));
    }
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

/// Polls `check` every 100 ms until it gives `Some`, or panics after `patience` with `what`.
pub async fn eventually<T, F, Fut>(patience: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            started.elapsed() < patience,
            "{what}: not within {patience:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A node whose NATS is out of reach keeps serving what it holds, and says so. No NATS server
/// is needed: the address given is a closed port on loopback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_nats_serves_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let portal = gazette::replay::ReplayServer::start(gazette::replay::Recording::synthetic(3))
        .await
        .unwrap();
    let settings = NodeSettings {
        portal: &portal.base_url(),
        nats: vec![format!("nats://127.0.0.1:{}", free_port())],
        crawler: crate::support::FAST_CRAWL,
        ack_wait_secs: 6,
        object_store: None,
    };
    let node = Node::start(dir.path(), "node-a", &settings);
    let health = eventually(Duration::from_secs(30), "serve answers", || async {
        get_json(&format!("{}/healthz", node.base())).await.ok()
    })
    .await;
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["cluster"]["nats"], "unreachable", "{health}");
    assert!(
        health["cluster"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{health}"
    );
    let (status, _, _) = get(&format!("{}/feeds/bqlkkt.atom", node.base()))
        .await
        .unwrap();
    assert_eq!(status, 200);
}

/// A node of a cluster writes only through the cluster: the commands that would write its
/// archive directly refuse, saying what to do instead.
#[tokio::test]
async fn a_node_refuses_direct_writes() {
    let dir = tempfile::tempdir().unwrap();
    let base = Url::parse("http://127.0.0.1:9/").unwrap();
    let mut edit = crate::support::portal_config(&base, &dir.path().join("archive"), &[]);
    cluster_section(
        &mut edit,
        "node-a",
        &NodeSettings {
            portal: &base,
            nats: vec!["nats://127.0.0.1:9".into()],
            crawler: &[],
            ack_wait_secs: 6,
            object_store: None,
        },
    );
    let config = dir.path().join("gazette.toml");
    std::fs::write(&config, edit.to_toml()).unwrap();
    let config = config.to_str().unwrap();
    for args in [
        vec!["crawl", "--config", config],
        vec!["reparse", "--config", config],
        vec!["import", "--config", config, "--in", "/dev/null"],
    ] {
        let out = crate::support::gazette_async(&args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            crate::support::explain(&args, &out)
        );
        assert!(
            stderr.contains("node-a is in a cluster") && stderr.contains("gazette cluster run"),
            "{stderr}"
        );
    }
    assert!(!dir.path().join("archive").exists(), "an archive was made");
}

/// A bucket on a server of one's own without credentials is said so, and never sent to AWS's
/// instance metadata address for them.
#[test]
fn an_endpoint_without_credentials_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let base = Url::parse("http://127.0.0.1:9/").unwrap();
    let mut edit = crate::support::portal_config(&base, &dir.path().join("archive"), &[]);
    edit.set(&["storage", "object_store", "url"], "s3://gazette/archive");
    edit.set(
        &["storage", "object_store", "endpoint"],
        "http://127.0.0.1:9",
    );
    edit.set(&["storage", "object_store", "allow_http"], true);
    let config = dir.path().join("gazette.toml");
    std::fs::write(&config, edit.to_toml()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(["check", "--config"])
        .arg(&config)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("no credentials for http://127.0.0.1:9"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("169.254.169.254"), "{stdout}");
}
