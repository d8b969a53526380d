//! Per-host politeness: at most N requests at once, and a minimum delay between their starts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The turn-taking of one host.
pub struct HostGate {
    slots: Arc<Semaphore>,
    timing: tokio::sync::Mutex<Timing>,
}

struct Timing {
    next: Instant,
    delay: Duration,
}

impl HostGate {
    fn new(concurrency: usize, delay: Duration) -> HostGate {
        HostGate {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            timing: tokio::sync::Mutex::new(Timing {
                next: Instant::now(),
                delay,
            }),
        }
    }

    /// Waits for a free slot and for the host's delay since the previous request started.
    pub async fn turn(&self) -> OwnedSemaphorePermit {
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        // The lock is held across the wait, so starts are spaced by the delay as they happen,
        // not only as they were planned.
        let mut timing = self.timing.lock().await;
        if timing.next > Instant::now() {
            // A deadline already past would still wait for the timer's next tick.
            tokio::time::sleep_until(timing.next).await;
        }
        timing.next = Instant::now() + timing.delay;
        permit
    }

    /// Raises the delay (robots.txt Crawl-delay); never lowers it below the configured one.
    pub async fn slow_down_to(&self, delay: Duration) {
        let mut timing = self.timing.lock().await;
        timing.delay = timing.delay.max(delay);
    }
}

/// The gates of every host seen in a run.
pub struct Gates {
    concurrency: usize,
    delay: Duration,
    hosts: Mutex<HashMap<String, Arc<HostGate>>>,
}

impl Gates {
    pub fn new(concurrency: usize, delay: Duration) -> Gates {
        Gates {
            concurrency,
            delay,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    pub fn host(&self, origin: &str) -> Arc<HostGate> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .entry(origin.to_string())
            .or_insert_with(|| Arc::new(HostGate::new(self.concurrency, self.delay)))
            .clone()
    }
}
