//! Index writes under load for BENCHMARKS.md (not a timed test): WRITES small index writes (the
//! validators of distinct URLs, default 1,000,000) from THREADS threads (default 64) into one
//! archive, in one process. sled 0.34.7 is known to deadlock under many concurrent writers and
//! concurrent flushes; here every write goes through the archive's one writer thread, and the
//! bench reports whether any write stalled (the watchdog) and the slowest single write.
//!
//! Run: `cargo bench --bench index_writes` (WRITES, THREADS to change the load).

use gazette::archive::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gazette::archive::{Archive, SledArchive};
use gazette::config::StorageConfig;
use gazette::model::Validators;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let writes = setting("WRITES", 1_000_000);
    let threads = setting("THREADS", 64);
    let dir = tempfile::tempdir().unwrap();
    let storage = StorageConfig {
        path: dir.path().join("archive"),
        ..StorageConfig::default()
    };
    let archive = Arc::new(SledArchive::open(&storage).unwrap());
    let next = Arc::new(AtomicU64::new(0));
    let slowest = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (archive, next, slowest) = (archive.clone(), next.clone(), slowest.clone());
            std::thread::spawn(move || {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= writes as u64 {
                        break;
                    }
                    let validators = Validators {
                        etag: Some(format!("\"{n:x}\"")),
                        last_modified: None,
                    };
                    let one = Instant::now();
                    archive
                        .set_validators(&format!("https://portal.example/p?{n}"), &validators)
                        .unwrap();
                    let micros = one.elapsed().as_micros() as u64;
                    slowest.fetch_max(micros, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut stalled = None;
    while workers.iter().any(|w| !w.is_finished()) {
        std::thread::sleep(Duration::from_millis(200));
        if let Some(reason) = archive.stalled() {
            stalled = Some(reason);
            break;
        }
    }
    if let Some(reason) = &stalled {
        println!(
            "STALLED after {:.1} s: {reason}",
            started.elapsed().as_secs_f64()
        );
        std::process::exit(1);
    }
    for worker in workers {
        worker.join().unwrap();
    }
    let elapsed = started.elapsed();
    archive.flush().unwrap();
    let last = format!("https://portal.example/p?{}", writes - 1);
    assert!(
        archive.validators(&last).unwrap().is_some(),
        "the last write is there"
    );
    println!(
        "{writes} index writes from {threads} threads in {:.1} s ({:.0}/s); slowest write {:.1} ms; stalled: no; on disk {} bytes",
        elapsed.as_secs_f64(),
        writes as f64 / elapsed.as_secs_f64(),
        slowest.load(Ordering::Relaxed) as f64 / 1000.0,
        archive.size_on_disk().unwrap()
    );
}
