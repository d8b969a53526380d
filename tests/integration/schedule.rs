//! The scheduler against a real HTTP replay of the portal: fire times in the source's zone, runs
//! that archive and report, no overlapping runs, and a shutdown that keeps to its grace period.
//! Its clock is a `ManualClock` the tests move, and slow pages are held until released, so each
//! step waits on an event (a status change, a report) rather than on the wall clock.

use gazette::archive::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use gazette::archive::{Query, SledArchive};
use gazette::config::{Config, Schedule};
use gazette::model::RunReport;
use gazette::replay::Fault;
use gazette::schedule::SourceStatus;
use gazette::schedule::{ManualClock, Scheduler, next_fires};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::support::{self, FAST_CRAWL, TestPortal};

const SLOW_ARTICLE: &str = "/Pages/chi-tiet-tin.aspx?ItemID=1234";

/// The portal's config with its schedule replaced.
fn config_with_schedule(portal: &TestPortal, schedule: &str) -> Arc<Config> {
    let mut edit = support::portal_config(
        &portal.server.base_url(),
        &portal.dir.path().join("archive"),
        FAST_CRAWL,
    );
    edit.source("bqlkkt", &["schedule"], schedule);
    let config = edit
        .config("gazette.toml")
        .unwrap_or_else(|e| panic!("test config: {e}\n{}", edit.to_toml()));
    Arc::new(config)
}

/// Long enough for any step on a loaded machine; only a broken scheduler waits this long.
const PATIENCE: Duration = Duration::from_secs(30);

/// The clock the tests start at: 10:10:00 in Ho Chi Minh City.
fn t0() -> DateTime<Utc> {
    utc(2024, 5, 1, 3, 10, 0)
}

/// A replay that holds `SLOW_ARTICLE` until the returned semaphore is closed.
async fn portal_holding_the_slow_article() -> (TestPortal, Arc<Semaphore>) {
    let portal = TestPortal::recorded().await;
    let release = Arc::new(Semaphore::new(0));
    portal
        .server
        .fault(SLOW_ARTICLE, Fault::Hold(release.clone()));
    (portal, release)
}

/// A scheduler (no jitter) running in a task, with its reports coming out of a channel.
struct Running {
    scheduler: Arc<Scheduler>,
    archive: Arc<SledArchive>,
    shutdown: CancellationToken,
    reports: mpsc::UnboundedReceiver<RunReport>,
    task: tokio::task::JoinHandle<()>,
}

/// Starts a scheduler whose time is `clock`.
fn start(config: Arc<Config>, grace: Duration, clock: Arc<ManualClock>) -> Running {
    let archive = Arc::new(gazette::archive::open(&config.storage).expect("archive opens"));
    let scheduler =
        Arc::new(Scheduler::new(config, archive.clone(), Duration::ZERO, grace).with_clock(clock));
    let shutdown = CancellationToken::new();
    let (sender, reports) = mpsc::unbounded_channel();
    let task = tokio::spawn({
        let (scheduler, shutdown) = (scheduler.clone(), shutdown.clone());
        async move {
            scheduler
                .run(shutdown, move |report| {
                    let _ = sender.send(report.clone());
                })
                .await;
        }
    });
    Running {
        scheduler,
        archive,
        shutdown,
        reports,
        task,
    }
}

impl Running {
    async fn next_report(&mut self, within: Duration) -> RunReport {
        tokio::time::timeout(within, self.reports.recv())
            .await
            .unwrap_or_else(|_| panic!("no run reported within {within:?}"))
            .expect("the scheduler is still running")
    }

    /// Waits until the source's status passes `test`.
    async fn until(&self, what: &str, test: impl Fn(&SourceStatus) -> bool) {
        let status = self.scheduler.status();
        tokio::time::timeout(PATIENCE, status.wait_for("bqlkkt", test))
            .await
            .unwrap_or_else(|_| {
                panic!("not {what} within {PATIENCE:?}: {:?}", status.get("bqlkkt"))
            });
    }

    /// Waits until the next run is due at `at`.
    async fn until_next_run(&self, at: DateTime<Utc>) {
        self.until(&format!("due at {at}"), |s| {
            s.next_run.is_some_and(|n| n.with_timezone(&Utc) == at)
        })
        .await;
    }

    async fn until_running(&self) {
        self.until("running", |s| s.running).await;
    }

    /// Cancels the token and returns how long `run` took to return.
    async fn shut_down(self, within: Duration) -> (Duration, Arc<Scheduler>, Arc<SledArchive>) {
        let asked = Instant::now();
        self.shutdown.cancel();
        tokio::time::timeout(within, self.task)
            .await
            .unwrap_or_else(|_| panic!("run did not return within {within:?} of the shutdown"))
            .expect("the scheduler task did not panic");
        (asked.elapsed(), self.scheduler, self.archive)
    }
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn assert_no_overlap(runs: &[RunReport]) {
    let mut spans: Vec<_> = runs
        .iter()
        .map(|r| (r.started.unwrap(), r.finished.unwrap()))
        .collect();
    spans.sort();
    for pair in spans.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "runs overlap: {:?} ends after {:?} starts",
            pair[0],
            pair[1]
        );
    }
}

#[test]
fn next_fires_are_computed_in_the_source_time_zone() {
    let config = support::shipped_config();
    let source = support::portal_source(&config);
    assert_eq!(source.schedule.as_str(), "0 */30 * * * *");

    // 10:10:00 in Ho Chi Minh City.
    let fires = next_fires(source, utc(2024, 5, 1, 3, 10, 0), 3);
    let texts: Vec<String> = fires.iter().map(|f| f.to_rfc3339()).collect();
    assert_eq!(
        texts,
        [
            "2024-05-01T10:30:00+07:00",
            "2024-05-01T11:00:00+07:00",
            "2024-05-01T11:30:00+07:00",
        ]
    );

    // A fire time that is "now" has passed: the next one counts.
    let fires = next_fires(source, utc(2024, 5, 1, 3, 30, 0), 1);
    assert_eq!(fires[0].to_rfc3339(), "2024-05-01T11:00:00+07:00");

    let mut daily = source.clone();
    daily.schedule = Schedule::try_from("0 0 9 * * *".to_string()).unwrap();
    let fires = next_fires(&daily, utc(2024, 5, 1, 3, 10, 0), 2);
    let texts: Vec<String> = fires.iter().map(|f| f.to_rfc3339()).collect();
    assert_eq!(
        texts,
        ["2024-05-02T09:00:00+07:00", "2024-05-03T09:00:00+07:00"]
    );
    assert_eq!(fires[0].with_timezone(&Utc), utc(2024, 5, 2, 2, 0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_run_archives_the_articles_and_reports() {
    let portal = TestPortal::recorded().await;
    let config = config_with_schedule(&portal, "* * * * * *");
    let clock = Arc::new(ManualClock::new(t0()));
    let mut running = start(config, Duration::from_secs(2), clock.clone());
    let status = running.scheduler.status();
    let before = status.get("bqlkkt").expect("the source has a status");
    assert!(!before.running && before.last_run.is_none(), "{before:?}");

    // The first fire time after the clock's time, in the source's zone; nothing runs before it.
    let first = t0() + Duration::from_secs(1);
    running.until_next_run(first).await;
    let due = status.get("bqlkkt").unwrap().next_run.unwrap();
    assert_eq!(due.to_rfc3339(), "2024-05-01T10:10:01+07:00");
    assert!(running.reports.try_recv().is_err(), "a run before its time");

    clock.set(first);
    let report = running.next_report(PATIENCE).await;
    assert_eq!(report.source, "bqlkkt");
    assert_eq!((report.new, report.failed), (9, 0), "{report:?}");
    assert!(report.complete, "{report:?}");

    // The next fire is the next second of the clock, whatever the wall clock says.
    running.until_next_run(first + Duration::from_secs(1)).await;
    running
        .until("idle with its last run", |s| {
            !s.running && s.last_run.is_some()
        })
        .await;
    let last = status.get("bqlkkt").unwrap().last_run.unwrap();
    assert_eq!((last.source.as_str(), last.new), ("bqlkkt", 9));
    assert_eq!(running.scheduler.status().snapshot().len(), 1);

    let (_, scheduler, archive) = running.shut_down(PATIENCE).await;
    let stopped = scheduler.status().get("bqlkkt").unwrap();
    assert!(
        !stopped.running && stopped.next_run.is_none(),
        "{stopped:?}"
    );
    assert!(
        !scheduler.crawl_now("bqlkkt"),
        "nothing starts after shutdown"
    );
    assert_eq!(archive.articles(&Query::default()).unwrap().len(), 9);
    let runs = archive.runs("bqlkkt", 100).unwrap();
    assert_eq!(runs.len(), 1, "one fire time was reached: {runs:#?}");
    assert_eq!(runs[0].new, 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fire_during_a_run_is_skipped() {
    let (portal, release) = portal_holding_the_slow_article().await;
    let config = config_with_schedule(&portal, "* * * * * *");
    let clock = Arc::new(ManualClock::new(t0()));
    let mut running = start(config, Duration::from_secs(3), clock.clone());
    let first = t0() + Duration::from_secs(1);
    running.until_next_run(first).await;
    clock.set(first);
    running.until_running().await;
    running.until_next_run(first + Duration::from_secs(1)).await;

    // Past two fire times while the run is held: the loop wakes once, finds the run going,
    // skips, and does not replay the fire it missed.
    clock.set(first + Duration::from_millis(2500));
    running.until_next_run(first + Duration::from_secs(3)).await;
    assert!(running.scheduler.status().get("bqlkkt").unwrap().running);
    assert!(!running.scheduler.crawl_now("bqlkkt"), "a run is in flight");

    release.close();
    let report = running.next_report(PATIENCE).await;
    assert_eq!((report.new, report.failed), (9, 0), "{report:?}");
    running.until("idle", |s| !s.running).await;

    let (_, _, archive) = running.shut_down(PATIENCE).await;
    let runs = archive.runs("bqlkkt", 10).unwrap();
    assert_eq!(
        runs.len(),
        1,
        "the fires during the run were skipped: {runs:#?}"
    );
    assert_eq!(runs[0].new, 9, "{runs:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn crawl_now_refuses_while_a_run_is_going_and_reports_through_on_run() {
    let (portal, release) = portal_holding_the_slow_article().await;
    // Every 30 minutes, and the clock is never moved: nothing fires during the test.
    let config = config_with_schedule(&portal, "0 */30 * * * *");
    let mut running = start(
        config,
        Duration::from_secs(3),
        Arc::new(ManualClock::new(t0())),
    );
    // Once a fire is planned, `run` has taken the hook that reports come through.
    running.until_next_run(utc(2024, 5, 1, 3, 30, 0)).await;
    assert!(!running.scheduler.crawl_now("no-such-source"));

    assert!(
        running.scheduler.crawl_now("bqlkkt"),
        "idle: the run starts"
    );
    assert!(!running.scheduler.crawl_now("bqlkkt"), "a run is in flight");
    assert!(running.scheduler.status().get("bqlkkt").unwrap().running);
    release.close();
    let first = running.next_report(PATIENCE).await;
    assert_eq!(first.new, 9, "{first:?}");

    running.until("idle", |s| !s.running).await;
    assert!(running.scheduler.crawl_now("bqlkkt"), "idle again");
    let second = running.next_report(PATIENCE).await;
    assert_eq!((second.new, second.failed), (0, 0), "{second:?}");

    let (_, _, archive) = running.shut_down(PATIENCE).await;
    let runs = archive.runs("bqlkkt", 10).unwrap();
    assert_eq!(runs.len(), 2, "{runs:#?}");
    assert_no_overlap(&runs);
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_cancels_a_slow_run_after_the_grace_period() {
    // The slow article is never released: the run can only end by being cancelled.
    let (portal, _release) = portal_holding_the_slow_article().await;
    let config = config_with_schedule(&portal, "* * * * * *");
    let grace = Duration::from_millis(500);
    let clock = Arc::new(ManualClock::new(t0()));
    let running = start(config, grace, clock.clone());
    let first = t0() + Duration::from_secs(1);
    running.until_next_run(first).await;
    clock.set(first);
    running.until_running().await;

    let (took, scheduler, archive) = running.shut_down(PATIENCE).await;
    assert!(
        took >= grace,
        "shutdown took {took:?}, less than the grace of {grace:?}"
    );
    let status = scheduler.status().get("bqlkkt").unwrap();
    assert!(!status.running, "{status:?}");
    assert!(status.last_run.is_none(), "the cancelled run has no report");
    assert!(
        archive.runs("bqlkkt", 10).unwrap().is_empty(),
        "a cancelled run is not recorded"
    );
    let stored = archive.articles(&Query::default()).unwrap().len();
    assert!(stored < 9, "the held article was not stored: {stored}");
}
