//! Upload throughput to S3-compatible object storage for BENCHMARKS.md (not a timed test): one
//! closed WARC file of `MIB` MiB (default 256) of incompressible pages, uploaded as `serve`
//! uploads it (multipart in 8 MiB parts, then its CDXJ index, then a HEAD), to an `s3s-fs`
//! server on loopback (its binary named by `GAZETTE_S3S_FS`). The CDXJ index is also timed alone.
//!
//! Run: `GAZETTE_S3S_FS=target/ci-tools/bin/s3s-fs cargo bench --bench upload` (MIB=256).

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use gazette::archive::warc::{Record, WarcWriter};
use gazette::archive::{cdxj, remote::Bucket, upload};
use gazette::model::Capture;

const ACCESS_KEY: &str = "bench-ak";
const SECRET_KEY: &str = "bench-sk";

fn main() {
    let Some(binary) = std::env::var_os("GAZETTE_S3S_FS") else {
        eprintln!("GAZETTE_S3S_FS is not set (the path of an s3s-fs binary): nothing measured");
        return;
    };
    // SAFETY: set before any other thread starts; the client reads its credentials from them.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", ACCESS_KEY);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    }
    let mib = support::setting("MIB", 256);
    let dir = tempfile::tempdir().unwrap();
    let warc_dir = dir.path().join("warc");
    let name = write_file(&warc_dir, mib as u64 * 1024 * 1024);
    let size = std::fs::metadata(warc_dir.join(&name)).unwrap().len();

    let started = Instant::now();
    let lines = cdxj::index(&warc_dir, &name).unwrap().lines().count();
    let indexed = started.elapsed();

    let s3_root = dir.path().join("s3");
    std::fs::create_dir_all(s3_root.join("bench")).unwrap();
    let port = support::free_port();
    let mut server = std::process::Command::new(&binary)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
        .arg(&s3_root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("s3s-fs starts");
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let config: gazette::config::ObjectStoreConfig = toml::from_str(&format!(
        "url = \"s3://bench/warcs\"\nendpoint = \"http://127.0.0.1:{port}\"\nallow_http = true\n"
    ))
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let bucket = Bucket::new(&config, Duration::from_secs(300)).unwrap();
    let started = Instant::now();
    runtime
        .block_on(upload::upload(&bucket, &warc_dir, &name, size))
        .unwrap();
    let uploaded = started.elapsed();
    let _ = server.kill();
    let _ = server.wait();

    let mb = size as f64 / 1e6;
    println!("WARC file: {mb:.1} MB, {lines} CDXJ lines");
    println!(
        "CDXJ index alone: {:.2} s, {:.0} MB/s",
        indexed.as_secs_f64(),
        mb / indexed.as_secs_f64()
    );
    println!(
        "upload (multipart 8 MiB parts + CDXJ + HEAD): {:.2} s, {:.0} MB/s",
        uploaded.as_secs_f64(),
        mb / uploaded.as_secs_f64()
    );
}

/// A closed WARC file of about `bytes`: pages of 256 KiB that do not compress.
fn write_file(dir: &std::path::Path, bytes: u64) -> String {
    // Never rotated: the one file grows past `bytes`.
    let mut writer = WarcWriter::open(dir, u64::MAX).unwrap();
    let date = chrono::Utc::now().fixed_offset();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut written = 0;
    let mut k = 0;
    while written < bytes {
        k += 1;
        let body: Vec<u8> = (0..256 * 1024 / 8)
            .flat_map(|_| {
                // xorshift: bytes gzip cannot shrink, as a file of images would be.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()
            })
            .collect();
        let capture = Capture {
            url: format!("https://portal.test/a/{k}"),
            status: 200,
            headers: vec![("Content-Type".into(), "image/jpeg".into())],
            body,
        };
        let locations = writer.append(&[Record::response(&capture, date)]).unwrap();
        written = locations[0].offset + locations[0].length;
    }
    writer.sync().unwrap();
    writer.current_file().to_string()
}
