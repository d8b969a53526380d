//! The scheduler's clock: the system's by default, or one a test moves by hand, so that fire
//! times can be reached without waiting for them.

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

/// What the scheduler asks of time: what time it is, and to wake it at a fire time.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// Completes once [`Clock::now`] has reached `at` (at once when it already has).
    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture<'_, ()>;
}

/// The system clock, with tokio's timer for the waits.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture<'_, ()> {
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that stands still until it is set: a scheduler on it fires exactly when the clock
/// is moved past a fire time, however slow the machine is.
#[cfg(feature = "testing")]
#[derive(Debug)]
pub struct ManualClock {
    now: tokio::sync::watch::Sender<DateTime<Utc>>,
}

#[cfg(feature = "testing")]
impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: tokio::sync::watch::Sender::new(at),
        }
    }

    /// Moves the clock to `at` (or back), waking the sleepers it has reached.
    pub fn set(&self, at: DateTime<Utc>) {
        self.now.send_replace(at);
    }
}

#[cfg(feature = "testing")]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> BoxFuture<'_, ()> {
        let mut now = self.now.subscribe();
        Box::pin(async move {
            // The sender lives as long as `self`, which outlives this future: never an error.
            let _ = now.wait_for(|now| *now >= at).await;
        })
    }
}
