//! Fixture loading shared by the integration tests: the one place that knows the fixture layout.

pub mod xml;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gazette::config::{self, Config, ConfigEdit, Source};
use gazette::model::Page;
use url::Url;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Opens a sled database directly, waiting (up to 2 s) for its lock as gazette's own open does:
/// a program another test starts holds a copy of an archive's locked file until it runs.
pub fn open_sled(config: &sled::Config) -> sled::Db {
    let started = std::time::Instant::now();
    loop {
        match config.open() {
            Err(err)
                if err.to_string().contains("could not acquire lock")
                    && started.elapsed() < std::time::Duration::from_secs(2) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            result => return result.unwrap(),
        }
    }
}

/// Flips a byte in the middle of the metadata record of the article whose URL holds `item`
/// (an ItemID), in the WARC files of `warc_dir`; returns where that record is.
pub fn damage_metadata_record(warc_dir: &Path, item: &str) -> gazette::archive::warc::Location {
    use gazette::archive::warc::{self, RecordType};
    let (location, _) = warc::scan(warc_dir)
        .map(Result::unwrap)
        .find(|(_, record)| {
            *record.kind() == RecordType::Metadata
                && record.target_uri().is_some_and(|uri| uri.contains(item))
        })
        .unwrap_or_else(|| panic!("no metadata record of {item}"));
    let file = warc_dir.join(&location.file);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[(location.offset + location.length / 2) as usize] ^= 0x55;
    std::fs::write(&file, bytes).unwrap();
    location
}

pub fn fixture(path: &str) -> PathBuf {
    root().join("fixtures").join(path)
}

/// The shipped config, as users get it.
pub fn shipped_config() -> Config {
    let path = root().join("config/gazette.toml");
    config::load(&path).unwrap_or_else(|err| panic!("config/gazette.toml does not load: {err}"))
}

pub fn portal_source(config: &Config) -> &Source {
    config
        .source("bqlkkt")
        .expect("the shipped config has the bqlkkt source")
}

/// One row of `fixtures/portal/manifest.tsv`.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path_and_query: String,
    pub file: String,
    pub content_type: String,
}

pub fn manifest() -> Vec<Recorded> {
    let text = std::fs::read_to_string(fixture("portal/manifest.tsv")).expect("manifest.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 3, "manifest line has 3 columns: {line:?}");
            Recorded {
                path_and_query: cols[0].into(),
                file: cols[1].into(),
                content_type: cols[2].into(),
            }
        })
        .collect()
}

/// A saved page with the address and header it came with.
pub struct SavedPage {
    pub url: Url,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl SavedPage {
    pub fn read(path: &Path, url: &str, content_type: Option<&str>) -> SavedPage {
        let bytes =
            std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        SavedPage {
            url: Url::parse(url).unwrap_or_else(|e| panic!("bad url {url:?}: {e}")),
            content_type: content_type.map(str::to_string),
            bytes,
        }
    }

    pub fn page(&self) -> Page<'_> {
        Page {
            url: &self.url,
            content_type: self.content_type.as_deref(),
            bytes: &self.bytes,
        }
    }
}

/// A recorded portal page at the address the portal serves it under.
pub fn recorded(file: &str) -> SavedPage {
    let row = manifest()
        .into_iter()
        .find(|r| r.file == file)
        .unwrap_or_else(|| panic!("{file} is not in the manifest"));
    let url = format!("https://bqlkkt.kiengiang.gov.vn{}", row.path_and_query);
    SavedPage::read(
        &fixture(&format!("portal/{file}")),
        &url,
        Some(&row.content_type),
    )
}

/// Compares the fields an expectation names with what came out; returns one line per mismatch.
pub fn mismatches(
    name: &str,
    expected: &serde_json::Value,
    actual: &serde_json::Value,
) -> Vec<String> {
    let Some(fields) = expected.as_object() else {
        return vec![format!("{name}: expect is not an object")];
    };
    fields
        .iter()
        .filter_map(|(field, want)| {
            let got = actual.get(field).unwrap_or(&serde_json::Value::Null);
            (got != want).then(|| {
                format!("{name}: field `{field}`\n    expected: {want}\n    got:      {got}")
            })
        })
        .collect()
}

/// A replay of a portal on loopback, and a config and archive directory pointing at it.
pub struct TestPortal {
    pub server: gazette::replay::ReplayServer,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub config: Config,
}

/// Settings a test changes in the shipped config (`key = value` lines of `[crawler]`).
pub const FAST_CRAWL: &[(&str, &str)] = &[
    ("min_delay_ms", "0"),
    ("retries", "2"),
    ("retry_base_ms", "10"),
    ("timeout_secs", "5"),
    ("recheck_days", "0"),
];

impl TestPortal {
    /// The recorded portal, crawled without politeness delays.
    pub async fn recorded() -> TestPortal {
        let recording =
            gazette::replay::Recording::load(&fixture("portal")).expect("the recording loads");
        TestPortal::start(recording, FAST_CRAWL).await
    }

    pub async fn start(
        recording: gazette::replay::Recording,
        crawler: &[(&str, &str)],
    ) -> TestPortal {
        TestPortal::start_edited(recording, crawler, |_| {}).await
    }

    /// [`TestPortal::start`], with more fields of the config set by `edit`.
    pub async fn start_edited(
        recording: gazette::replay::Recording,
        crawler: &[(&str, &str)],
        edit: impl FnOnce(&mut ConfigEdit),
    ) -> TestPortal {
        let server = gazette::replay::ReplayServer::start(recording)
            .await
            .expect("the replay server starts");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config_path = dir.path().join("gazette.toml");
        let mut config = portal_config(&server.base_url(), &dir.path().join("archive"), crawler);
        edit(&mut config);
        let text = config.to_toml();
        std::fs::write(&config_path, &text).expect("config written");
        let config = config::parse(&text, "gazette.toml")
            .unwrap_or_else(|e| panic!("test config: {e}\n{text}"));
        TestPortal {
            server,
            dir,
            config_path,
            config,
        }
    }

    /// The config's one source (the shipped `bqlkkt`, unless a test renamed it).
    pub fn source(&self) -> &Source {
        &self.config.sources[0]
    }

    /// The archive of the config, shared: a crawl reaches it from its blocking threads.
    pub fn open_archive(&self) -> Arc<gazette::archive::SledArchive> {
        Arc::new(
            gazette::archive::open(&self.config.storage)
                .unwrap_or_else(|e| panic!("archive opens: {e}")),
        )
    }

    /// One crawl run of the source through the library, as `gazette crawl` does it.
    pub async fn crawl(
        &self,
        archive: &Arc<gazette::archive::SledArchive>,
        backfill: bool,
    ) -> gazette::model::RunReport {
        let fetcher = gazette::fetch::Fetcher::new(&self.config.crawler).expect("fetcher");
        let options = gazette::crawl::CrawlOptions {
            backfill,
            max_pages: None,
        };
        gazette::crawl::crawl_source(
            &fetcher,
            &gazette::archive::Handle::new(archive.clone()),
            self.source(),
            &self.config.crawler,
            options,
            &gazette::crawl::quiet,
        )
        .await
    }
}

/// The shipped config pointed at a replay: its address, a private archive, a port of its own
/// to listen on, and `crawler` settings (`key`, TOML value).
pub fn portal_config(base: &Url, archive: &Path, crawler: &[(&str, &str)]) -> ConfigEdit {
    let mut edit = ConfigEdit::shipped();
    edit.sources_at(base)
        .storage_path(archive)
        .listen("127.0.0.1:0".parse().expect("a socket address"));
    for (key, value) in crawler {
        let value: toml_edit::Value = value
            .parse()
            .unwrap_or_else(|e| panic!("crawler.{key} = {value}: not a TOML value: {e}"));
        edit.crawler(key, value);
    }
    edit
}

/// [`portal_config`] as the text of a config file.
pub fn portal_config_text(base: &Url, archive: &Path, crawler: &[(&str, &str)]) -> String {
    portal_config(base, archive, crawler).to_toml()
}

/// The command, its exit code and both streams, so that a failure explains itself.
pub fn explain(args: &[&str], out: &std::process::Output) -> String {
    format!(
        "gazette {}\nexit: {:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs the built `gazette` binary off the async threads (the test's replay keeps answering).
pub async fn gazette_async(args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_gazette"))
            .args(args)
            .output()
            .expect("the gazette binary runs")
    })
    .await
    .unwrap()
}

/// The lines a child writes to its piped stderr, as they come, read on a thread of their own.
pub fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    rx
}

/// A `gazette serve` child with `envs` set, killed if a test fails before stopping it.
pub struct Serve {
    pub child: std::process::Child,
    /// The address it answers on.
    pub addr: String,
}

impl Serve {
    /// Starts `gazette serve --config config` and waits until it says where it listens.
    pub fn start(config: &str, envs: &[(&str, &str)]) -> Serve {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_gazette"));
        command
            .args(["serve", "--config", config])
            .env_remove("RUST_LOG")
            // Object store credentials are only those a test gives.
            .env_remove("AWS_SESSION_TOKEN")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (name, value) in envs {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let rx = stderr_lines(&mut child);
        let addr = loop {
            let line = rx
                .recv_timeout(std::time::Duration::from_secs(20))
                .expect("serve says where it listens");
            if let Some(rest) = line.strip_prefix("gazette: serving on http://") {
                break rest.split('/').next().unwrap().to_string();
            }
        };
        Serve { child, addr }
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// SIGTERM, then waits (up to 15 s) for a clean exit.
    pub fn stop(&mut self) {
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert_eq!(status.code(), Some(0));
                return;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(15),
                "still running"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where an export writes `path` before it is complete: `FILE.partial`.
pub fn partial_beside(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}
