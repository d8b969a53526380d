//! Per-host politeness: at most N requests at once, and a minimum delay between their starts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The longest robots.txt `Crawl-delay` honoured: a larger one would stall a run for hours.
const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);

/// The turn-taking of one host.
pub struct HostGate {
    slots: Arc<Semaphore>,
    timing: tokio::sync::Mutex<Timing>,
}

struct Timing {
    /// When the previous request started; none before the first.
    last: Option<Instant>,
    delay: Duration,
}

impl HostGate {
    fn new(concurrency: usize, delay: Duration) -> HostGate {
        HostGate {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            timing: tokio::sync::Mutex::new(Timing { last: None, delay }),
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
        // The due time is taken from the delay as it is now: a Crawl-delay read after the
        // previous request started (robots.txt itself) already spaces the next one.
        if let Some(due) = timing.last.map(|last| last + timing.delay)
            && due > Instant::now()
        {
            // A deadline already past would still wait for the timer's next tick.
            tokio::time::sleep_until(due).await;
        }
        timing.last = Some(Instant::now());
        permit
    }

    /// Raises the delay (robots.txt Crawl-delay); never lowers it below the configured one.
    pub async fn slow_down_to(&self, delay: Duration) {
        let mut timing = self.timing.lock().await;
        timing.delay = timing.delay.max(delay);
    }
}

/// The delay a robots.txt asks of us: its `Crawl-delay` for our user agent, when it is a
/// positive number of seconds, at most [`MAX_CRAWL_DELAY`].
pub fn crawl_delay(robot: &texting_robots::Robot) -> Option<Duration> {
    let seconds = robot.delay.filter(|d| d.is_finite() && *d > 0.0)?;
    Some(Duration::from_secs_f32(seconds).min(MAX_CRAWL_DELAY))
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

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "http://127.0.0.1:8000";

    /// Takes `n` turns one after another and returns when each started, from the first.
    async fn starts(gate: &HostGate, n: usize) -> Vec<Duration> {
        let first = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..n {
            let _turn = gate.turn().await;
            starts.push(first.elapsed());
        }
        starts
    }

    fn millis(list: &[u64]) -> Vec<Duration> {
        list.iter().copied().map(Duration::from_millis).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn starts_are_spaced_by_the_delay_and_hosts_do_not_wait_for_each_other() {
        let gates = Gates::new(2, Duration::from_millis(150));
        let gate = gates.host(ORIGIN);
        assert_eq!(starts(&gate, 4).await, millis(&[0, 150, 300, 450]));

        // Another host's first request does not wait for this one's delay.
        let other = gates.host("http://127.0.0.2:8000");
        let before = Instant::now();
        drop(other.turn().await);
        assert_eq!(before.elapsed(), Duration::ZERO);
        // The same origin is the same gate: its delay still runs from its last start.
        let again = gates.host(ORIGIN);
        let before = Instant::now();
        drop(again.turn().await);
        assert_eq!(before.elapsed(), Duration::from_millis(150));
    }

    #[tokio::test(start_paused = true)]
    async fn a_host_has_at_most_its_concurrency_in_flight() {
        let gates = Gates::new(2, Duration::from_millis(10));
        let gate = gates.host(ORIGIN);
        let first = gate.turn().await;
        let _second = gate.turn().await;
        // Both slots are taken: a third waits however long they are held.
        let third = tokio::time::timeout(Duration::from_secs(3600), gate.turn()).await;
        assert!(third.is_err(), "a third request started with two in flight");
        drop(first);
        let before = Instant::now();
        let _third = gate.turn().await;
        assert_eq!(
            before.elapsed(),
            Duration::ZERO,
            "the delay had long passed"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_crawl_delay_spaces_the_request_after_robots_txt_itself() {
        let gates = Gates::new(1, Duration::from_millis(150));
        let gate = gates.host(ORIGIN);
        let first = Instant::now();
        // robots.txt goes through the gate like any request; its Crawl-delay is read after.
        drop(gate.turn().await);
        let robot = texting_robots::Robot::new("gazette", b"User-agent: *\nCrawl-delay: 2\n")
            .expect("robots.txt parses");
        gate.slow_down_to(crawl_delay(&robot).expect("a delay"))
            .await;
        let mut starts = Vec::new();
        for _ in 0..3 {
            drop(gate.turn().await);
            starts.push(first.elapsed());
        }
        assert_eq!(starts, millis(&[2000, 4000, 6000]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_crawl_delay_only_ever_slows_a_host_down_and_is_capped() {
        let delay = |text: &str| {
            let robot = texting_robots::Robot::new("gazette", text.as_bytes()).unwrap();
            crawl_delay(&robot)
        };
        assert_eq!(
            delay("User-agent: gazette\nCrawl-delay: 0.5\n"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            delay("User-agent: *\nCrawl-delay: 86400\n"),
            Some(MAX_CRAWL_DELAY)
        );
        assert_eq!(delay("User-agent: *\nCrawl-delay: 0\n"), None);
        assert_eq!(delay("User-agent: *\nDisallow: /private\n"), None);
        assert_eq!(
            delay("User-agent: otherbot\nCrawl-delay: 9\n"),
            None,
            "another agent's delay"
        );

        // Half a second asked of a host configured for 1.5 s: the configured delay stays.
        let gates = Gates::new(1, Duration::from_millis(1500));
        let gate = gates.host(ORIGIN);
        gate.slow_down_to(Duration::from_millis(500)).await;
        assert_eq!(starts(&gate, 3).await, millis(&[0, 1500, 3000]));
        gate.slow_down_to(MAX_CRAWL_DELAY).await;
        let before = Instant::now();
        drop(gate.turn().await);
        assert_eq!(before.elapsed(), MAX_CRAWL_DELAY);
    }
}
