//! What several benchmarks share: the synthetic portal's articles read from their pages, with
//! their captures, as the archive takes them. Each benchmark uses part of it.
#![allow(dead_code)]

use gazette::archive::Ingest;
use gazette::config::Source;
use gazette::model::{Capture, Page};
use gazette::replay::Recording;
use url::Url;

/// Synthetic article `k` (1-based) of `recording`, extracted with `source`'s profile, ready to
/// store as captured at `fetched_at`.
pub fn synthetic_ingest(
    recording: &Recording,
    source: &Source,
    k: usize,
    fetched_at: chrono::DateTime<chrono::FixedOffset>,
) -> Ingest {
    let path = format!("/Pages/chi-tiet-tin.aspx?ItemID={}", 100_000 + k);
    ingest(recording, source, &path, fetched_at)
}

/// The article page at `path` of `recording` (the synthetic or the recorded portal), extracted
/// with `source`'s profile, ready to store as captured at `fetched_at`.
pub fn ingest(
    recording: &Recording,
    source: &Source,
    path: &str,
    fetched_at: chrono::DateTime<chrono::FixedOffset>,
) -> Ingest {
    let (bytes, content_type) = recording.get(path).expect("an article page");
    let url = Url::parse(&format!("https://bqlkkt.kiengiang.gov.vn{path}")).unwrap();
    let page = Page {
        url: &url,
        content_type: Some(content_type),
        bytes,
    };
    let article = gazette::read_article(&page, source, "tin-ban-quan-ly").unwrap();
    Ingest {
        article,
        capture: Capture {
            url: url.to_string(),
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: bytes.to_vec(),
        },
        fetched_at,
        profile: None,
        user_agent: gazette::config::DEFAULT_USER_AGENT.into(),
        validators: None,
    }
}

/// The floor an archive is measured against: the page and the article JSON, each zstd-3.
pub fn floor_bytes(ingest: &Ingest) -> usize {
    let json = serde_json::to_vec(&ingest.article).unwrap();
    zstd::stream::encode_all(&ingest.capture.body[..], 3)
        .unwrap()
        .len()
        + zstd::stream::encode_all(&json[..], 3).unwrap().len()
}

/// The project's directory.
pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A number from the environment variable `name`, else `default`.
pub fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A port free on 127.0.0.1 a moment ago, for a server the benchmark starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Resident memory of process `pid`, MiB.
pub fn resident_mib(pid: u32) -> Option<f64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
}

/// A child process killed if the benchmark stops early.
pub struct Guard(pub std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

/// Bytes of every file under `dir`.
pub fn bytes_under(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| match entry.metadata() {
                    Ok(meta) if meta.is_dir() => bytes_under(&entry.path()),
                    Ok(meta) => meta.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
