//! The writer's watchdog: a write or flush stuck longer than `storage.stall_timeout_secs` is
//! logged and the archive reports itself stalled, for `/healthz` and `serve` to act on (sled can
//! deadlock under load; a supervisor restart is the way out).

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// What the writer is doing, and whether it ever got stuck.
pub(super) struct Heartbeat {
    timeout: Duration,
    busy_since: Mutex<Option<Instant>>,
    stalled: Mutex<Option<String>>,
}

impl Heartbeat {
    pub fn new(timeout: Duration) -> Heartbeat {
        Heartbeat {
            timeout,
            busy_since: Mutex::new(None),
            stalled: Mutex::new(None),
        }
    }

    /// The writer begins a group.
    pub fn begin(&self) {
        *lock(&self.busy_since) = Some(Instant::now());
    }

    /// The writer finished a group; one that took too long still counts as a stall.
    pub fn end(&self) {
        let since = lock(&self.busy_since).take();
        if let Some(since) = since {
            self.judge(since.elapsed());
        }
    }

    /// Looks at a group under way.
    pub fn check(&self) {
        let since = *lock(&self.busy_since);
        if let Some(since) = since {
            self.judge(since.elapsed());
        }
    }

    /// Why the archive is stalled, once it has been.
    pub fn stalled(&self) -> Option<String> {
        lock(&self.stalled).clone()
    }

    fn judge(&self, busy: Duration) {
        if busy <= self.timeout {
            return;
        }
        let mut stalled = lock(&self.stalled);
        if stalled.is_none() {
            let reason = format!(
                "an archive write or flush took {:.1} s, longer than storage.stall_timeout_secs ({} s)",
                busy.as_secs_f64(),
                self.timeout.as_secs()
            );
            tracing::error!(%reason, "archive stalled");
            *stalled = Some(reason);
        }
    }
}

/// Checks the heartbeat until it is dropped.
pub(super) fn watch(heartbeat: &Arc<Heartbeat>) -> std::io::Result<()> {
    let weak: Weak<Heartbeat> = Arc::downgrade(heartbeat);
    let every = (heartbeat.timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    std::thread::Builder::new()
        .name("archive-watchdog".into())
        .spawn(move || {
            while let Some(heartbeat) = weak.upgrade() {
                heartbeat.check();
                drop(heartbeat);
                std::thread::sleep(every);
            }
        })
        .map(drop)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_under_way_too_long_is_a_stall_and_stays_one() {
        let heartbeat = Heartbeat::new(Duration::from_millis(20));
        heartbeat.begin();
        heartbeat.check();
        assert_eq!(heartbeat.stalled(), None, "not yet too long");
        std::thread::sleep(Duration::from_millis(40));
        heartbeat.check();
        let reason = heartbeat.stalled().expect("stalled");
        assert!(reason.contains("storage.stall_timeout_secs"), "{reason}");
        heartbeat.end();
        assert_eq!(
            heartbeat.stalled(),
            Some(reason),
            "a stall is not forgotten"
        );
    }

    #[test]
    fn quick_groups_are_no_stall() {
        let heartbeat = Heartbeat::new(Duration::from_secs(60));
        for _ in 0..3 {
            heartbeat.begin();
            heartbeat.end();
        }
        assert_eq!(heartbeat.stalled(), None);
    }

    #[test]
    fn the_watchdog_sees_a_writer_that_never_finishes() {
        let heartbeat = Arc::new(Heartbeat::new(Duration::ZERO));
        watch(&heartbeat).unwrap();
        heartbeat.begin();
        let deadline = Instant::now() + Duration::from_secs(5);
        while heartbeat.stalled().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            heartbeat.stalled().is_some(),
            "the watchdog reported the stall"
        );
    }
}
