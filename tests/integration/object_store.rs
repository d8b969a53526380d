//! WARC files in S3-compatible object storage, against a real `s3s-fs` server on loopback (its
//! binary named by `GAZETTE_S3S_FS`): closed files are uploaded with their CDXJ index and
//! trimmed from the disk, reads of them go to the bucket, `verify` and `rebuild` reach it, and
//! an unreachable server leaves uploads waiting, said in `/healthz` and `/metrics`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::support::{self, Serve, explain};

const BUCKET: &str = "gazette-test";
const PREFIX: &str = "warcs/eu";
const TOKEN: &str = "object-store-s3cret";
pub(crate) const ACCESS_KEY: &str = "gazette-ak";
pub(crate) const SECRET_KEY: &str = "gazette-sk";

/// The s3s-fs binary, or `None` (said on stderr) when the test cannot run here.
pub(crate) fn s3s_fs() -> Option<PathBuf> {
    match std::env::var_os("GAZETTE_S3S_FS") {
        Some(path) if Path::new(&path).is_file() => Some(PathBuf::from(path)),
        found => {
            let why = match found {
                Some(path) => format!("GAZETTE_S3S_FS={} is not a file", path.to_string_lossy()),
                None => "GAZETTE_S3S_FS is not set".to_string(),
            };
            if std::env::var("GAZETTE_REQUIRE_CLUSTER").as_deref() == Ok("1") {
                panic!("{why}, and GAZETTE_REQUIRE_CLUSTER=1 requires the object store tests");
            }
            eprintln!("object store tests skipped: {why} (the path of an s3s-fs binary)");
            None
        }
    }
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An `s3s-fs` child serving `root` (a bucket is a subdirectory), killed when dropped.
pub(crate) struct S3 {
    child: Child,
}

impl S3 {
    pub(crate) fn start(binary: &Path, port: u16, root: &Path) -> S3 {
        let child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", binary.display()));
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "s3s-fs did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        S3 { child }
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gazette(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT")
        .env_remove("RUST_LOG")
        .output()
        .expect("the gazette binary runs")
}

fn run(args: &[&str]) -> Output {
    let out = gazette(args);
    assert!(out.status.success(), "{}", explain(args, &out));
    out
}

/// `gazette serve` with the object store's credentials.
fn serve_with_credentials(config: &str) -> Serve {
    Serve::start(
        config,
        &[
            ("GAZETTE_ADMIN_TOKEN", TOKEN),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ],
    )
}

/// Polls `/healthz` until `done` holds of its body, or fails after `limit` with the last body.
async fn healthz_until(
    serve: &Serve,
    limit: Duration,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let answer = reqwest::get(serve.url("/healthz")).await.unwrap();
        assert_eq!(answer.status(), 200);
        let body: serde_json::Value =
            serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
        if done(&body) {
            return body;
        }
        assert!(started.elapsed() < limit, "{what}; /healthz says {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn export_through(serve: &Serve) -> Vec<u8> {
    let answer = reqwest::Client::new()
        .get(serve.url("/api/export?raw=true"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.bytes().await.unwrap().to_vec()
}

fn warc_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| gazette::archive::warc::is_warc_file_name(name))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_warc_files_go_to_the_bucket_and_are_read_back_from_it() {
    let Some(binary) = s3s_fs() else { return };
    let port = free_port();
    let s3_root = tempfile::tempdir().unwrap();
    std::fs::create_dir(s3_root.path().join(BUCKET)).unwrap();
    let recording = gazette::replay::Recording::load(&support::fixture("portal")).unwrap();
    let object_store = |edit: &mut gazette::config::ConfigEdit| {
        edit.set(&["storage", "warc_max_bytes"], 8_000)
            .set(
                &["storage", "object_store", "url"],
                format!("s3://{BUCKET}/{PREFIX}"),
            )
            .set(
                &["storage", "object_store", "endpoint"],
                format!("http://127.0.0.1:{port}"),
            )
            .set(&["storage", "object_store", "allow_http"], true)
            .set(&["storage", "object_store", "local_cache_bytes"], 0);
    };
    let portal =
        support::TestPortal::start_edited(recording, support::FAST_CRAWL, object_store).await;
    let config = portal.config_path.to_str().unwrap().to_string();
    tokio::task::block_in_place(|| run(&["crawl", "--config", &config]));
    let warc_dir = portal.config.storage.path.join("warc");
    let written = warc_names(&warc_dir);
    assert!(written.len() >= 3, "too few files to rotate: {written:?}");
    let (closed, newest) = written.split_at(written.len() - 1);
    let before = portal.dir.path().join("before");
    std::fs::create_dir(&before).unwrap();
    for name in &written {
        std::fs::copy(warc_dir.join(name), before.join(name)).unwrap();
    }
    // The oldest file was closed an hour ago, as far as its clock can tell.
    std::fs::File::options()
        .write(true)
        .open(warc_dir.join(&closed[0]))
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    let exported =
        tokio::task::block_in_place(|| run(&["export", "--config", &config, "--raw"])).stdout;
    assert!(!exported.is_empty());

    // The object store is down: every closed file waits, and /healthz and /metrics say so.
    let mut serve = serve_with_credentials(&config);
    let waiting = healthz_until(
        &serve,
        Duration::from_secs(30),
        "uploads do not wait",
        |b| {
            b["uploads"]["waiting_files"] == closed.len()
                && b["uploads"]["failures"].as_u64() >= Some(1)
        },
    )
    .await;
    assert_eq!(waiting["status"], "degraded", "{waiting}");
    assert_eq!(waiting["uploads"]["state"], "failing", "{waiting}");
    assert!(
        waiting["uploads"]["oldest_waiting_secs"].as_u64() >= Some(3600),
        "{waiting}"
    );
    assert!(
        waiting["uploads"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("127.0.0.1")),
        "{waiting}"
    );
    let metrics = reqwest::get(serve.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "gazette_warc_upload_waiting_files {}",
            closed.len()
        )),
        "{metrics}"
    );
    let oldest = metrics
        .lines()
        .find_map(|l| l.strip_prefix("gazette_warc_upload_oldest_waiting_seconds "))
        .and_then(|v| v.parse::<u64>().ok());
    assert!(oldest >= Some(3600), "{metrics}");
    assert!(
        metrics.contains("gazette_warc_upload_failures_total "),
        "{metrics}"
    );
    assert_eq!(
        warc_names(&warc_dir),
        written,
        "nothing is deleted before its upload"
    );

    // Back: every closed file goes up, then leaves the disk (local_cache_bytes = 0).
    let s3 = S3::start(&binary, port, s3_root.path());
    let done = healthz_until(
        &serve,
        Duration::from_secs(90),
        "uploads did not finish",
        |b| b["uploads"]["waiting_files"] == 0 && b["uploads"]["uploaded_files"] == closed.len(),
    )
    .await;
    assert_eq!(done["status"], "ok", "{done}");
    let started = Instant::now();
    while warc_names(&warc_dir) != newest {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "uploaded files were not trimmed: {:?}",
            warc_names(&warc_dir)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let metrics = reqwest::get(serve.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let total: u64 = closed
        .iter()
        .map(|n| std::fs::metadata(before.join(n)).unwrap().len())
        .sum();
    assert!(
        metrics.contains(&format!("gazette_warc_uploaded_bytes_total {total}")),
        "{metrics}"
    );
    let in_bucket = s3_root.path().join(BUCKET).join(PREFIX);
    for name in closed {
        let uploaded = std::fs::read(in_bucket.join(name))
            .unwrap_or_else(|e| panic!("{name} is not in the bucket: {e}"));
        assert!(
            uploaded == std::fs::read(before.join(name)).unwrap(),
            "{name} differs"
        );
        let index = std::fs::read_to_string(in_bucket.join(format!("{name}.cdxj"))).unwrap();
        assert!(index.lines().count() > 0, "{name}.cdxj is empty");
        for line in index.lines() {
            assert!(line.contains(&format!("\"filename\":\"{name}\"")), "{line}");
        }
    }
    assert!(
        !in_bucket.join(&newest[0]).exists(),
        "the file being written was uploaded"
    );
    serve.stop();

    // A fresh server, with no cache. With the object store down, a feed that needs an uploaded
    // file fails (a failure, not damage: nothing is left out, nothing is cached)...
    drop(s3);
    let mut serve = serve_with_credentials(&config);
    let feed = reqwest::get(serve.url("/feeds/bqlkkt.atom")).await.unwrap();
    assert_eq!(feed.status(), 500);
    // ...and once it is back, feeds and captures read the uploaded files with ranged GETs.
    let _s3 = S3::start(&binary, port, s3_root.path());
    assert!(
        export_through(&serve).await == exported,
        "the export changed"
    );
    let feed = reqwest::get(serve.url("/feeds/bqlkkt.atom")).await.unwrap();
    assert_eq!(feed.status(), 200);
    let listed = reqwest::get(serve.url("/api/articles?limit=100"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let articles: serde_json::Value = serde_json::from_slice(&listed).unwrap();
    let items = articles["articles"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no articles listed: {articles}"));
    assert!(!items.is_empty());
    for item in &items {
        let id = item["id"]
            .as_str()
            .or(item["article"]["id"].as_str())
            .unwrap_or_else(|| panic!("no id in {item}"));
        let raw = reqwest::get(serve.url(&format!("/api/articles/{id}/raw?rev=1")))
            .await
            .unwrap();
        assert_eq!(raw.status(), 200, "the capture of {id}");
    }
    serve.stop();

    tokio::task::block_in_place(|| {
        let out = run(&["verify", "--config", &config]);
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.contains(&format!("in {} WARC files", written.len())),
            "{said}"
        );

        // A byte changed in an uploaded file is found, though the file is no longer local.
        let object = in_bucket.join(&closed[0]);
        let good = std::fs::read(&object).unwrap();
        let mut bad = good.clone();
        bad[good.len() / 2] ^= 0x55;
        std::fs::write(&object, bad).unwrap();
        let args = ["verify", "--config", &config];
        let out = gazette(&args);
        assert_eq!(out.status.code(), Some(1), "{}", explain(&args, &out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&closed[0]),
            "{}",
            explain(&args, &out)
        );
        std::fs::write(&object, good).unwrap();

        // A fresh archive directory, with the one file that was never uploaded: the rest comes
        // from the bucket, and the articles are the same.
        let mut edit = support::portal_config(
            &portal.server.base_url(),
            &portal.dir.path().join("rebuilt"),
            support::FAST_CRAWL,
        );
        object_store(&mut edit);
        let rebuilt_config = portal.dir.path().join("rebuilt.toml");
        std::fs::write(&rebuilt_config, edit.to_toml()).unwrap();
        let rebuilt_config = rebuilt_config.to_str().unwrap();
        let rebuilt_warc = portal.dir.path().join("rebuilt/warc");
        std::fs::create_dir_all(&rebuilt_warc).unwrap();
        std::fs::copy(before.join(&newest[0]), rebuilt_warc.join(&newest[0])).unwrap();
        let out = run(&["rebuild", "--config", rebuilt_config]);
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.contains(&format!("copied {} WARC files", closed.len())),
            "{said}"
        );
        assert_eq!(warc_names(&rebuilt_warc), written);
        let again = run(&["export", "--config", rebuilt_config, "--raw"]).stdout;
        assert!(again == exported, "the rebuilt archive exports otherwise");
    });
}

#[test]
fn check_names_the_bucket_and_lists_it() {
    let Some(binary) = s3s_fs() else { return };
    let port = free_port();
    let s3_root = tempfile::tempdir().unwrap();
    std::fs::create_dir(s3_root.path().join(BUCKET)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut edit = support::portal_config(
        &url::Url::parse("http://127.0.0.1:9/").unwrap(),
        &dir.path().join("archive"),
        &[],
    );
    edit.set(
        &["storage", "object_store", "url"],
        format!("s3://{BUCKET}/{PREFIX}"),
    )
    .set(
        &["storage", "object_store", "endpoint"],
        format!("http://127.0.0.1:{port}"),
    )
    .set(&["storage", "object_store", "allow_http"], true);
    let config = dir.path().join("gazette.toml");
    std::fs::write(&config, edit.to_toml()).unwrap();
    let config = config.to_str().unwrap();
    let out = run(&["check", "--config", config]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!(
            "object store: bucket {BUCKET} prefix \"{PREFIX}\""
        )),
        "{said}"
    );
    assert!(
        said.contains("set: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"),
        "{said}"
    );
    assert!(
        !said.contains(SECRET_KEY),
        "a credential's value is shown: {said}"
    );
    assert!(said.contains("object store: list failed: "), "{said}");
    let _s3 = S3::start(&binary, port, s3_root.path());
    let out = run(&["check", "--config", config]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("object store: list ok, 0 WARC file(s)"),
        "{said}"
    );
}
