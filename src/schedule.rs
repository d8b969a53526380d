//! The daemon's scheduler: one cron loop per source, in the source's time zone. A source never
//! has two runs at once, missed fire times are not replayed, and shutdown lets a run in flight
//! finish within a grace period before cancelling it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockWriteGuard};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use rand::RngExt;
use serde::Serialize;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::archive::Archive;
use crate::cluster::jobs::{Job, Ran};
use crate::config::{Config, Source};
use crate::crawl::{CrawlOptions, run_source};
use crate::fetch::{Fetcher, Origins};
use crate::model::RunReport;

mod clock;

#[cfg(feature = "testing")]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};

/// The next `n` fire times of a source's schedule after `after`, in the source's zone.
pub fn next_fires(source: &Source, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Tz>> {
    source
        .schedule
        .cron()
        .after(&after.with_timezone(&source.tz()))
        .take(n)
        .collect()
}

/// What the daemon knows about a source between runs (for /healthz and the index page).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceStatus {
    /// A run of the source is in flight.
    pub running: bool,
    /// The latest finished run, since the daemon started or as the archive last recorded it.
    pub last_run: Option<RunReport>,
    /// When the next scheduled run starts (jitter included); none once the scheduler stops.
    pub next_run: Option<DateTime<FixedOffset>>,
}

/// Shared view of every source's status, keyed by source id; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Status {
    sources: Arc<RwLock<BTreeMap<String, SourceStatus>>>,
    /// Bumped after every change, for those who wait on one.
    changes: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Status {
    /// Every source's status as it is now.
    pub fn snapshot(&self) -> BTreeMap<String, SourceStatus> {
        self.sources
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// One source's status; `None` for a source the scheduler does not know.
    pub fn get(&self, source: &str) -> Option<SourceStatus> {
        self.sources
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(source)
            .cloned()
    }

    /// Waits until `source`'s status passes `test`: a change wakes the wait, no polling. It
    /// waits for ever when no change ever passes; callers bound it with a timeout.
    pub async fn wait_for(&self, source: &str, test: impl Fn(&SourceStatus) -> bool) {
        // Subscribed before the first look: a change between the two still wakes the loop.
        let mut changes = self.changes.subscribe();
        while !self.get(source).is_some_and(|status| test(&status)) {
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, SourceStatus>> {
        self.sources.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes the waiters of [`Status::wait_for`]; called once a write guard is dropped.
    fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn update(&self, source: &str, change: impl FnOnce(&mut SourceStatus)) {
        if let Some(status) = self.write().get_mut(source) {
            change(status);
        }
        self.changed();
    }
}

/// The caller's hook, called after each run.
type OnRun = Arc<dyn Fn(&RunReport) + Send + Sync>;

/// Where due runs go in a cluster: published as jobs that any node's worker takes, instead of
/// run here ([`crate::cluster::jobs`]).
pub type Dispatch = Arc<dyn Fn(Job) + Send + Sync>;

/// The runs in flight, and whether the scheduler has stopped taking new ones.
#[derive(Default)]
struct Runs {
    tasks: JoinSet<()>,
    stopped: bool,
}

/// Why a run did or did not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Started,
    Busy,
    Stopped,
    Unknown,
}

/// Crawls every source on its schedule, one run per source at a time.
pub struct Scheduler {
    config: Arc<Config>,
    archive: Arc<dyn Archive>,
    status: Status,
    jitter: Duration,
    grace: Duration,
    on_run: Arc<RwLock<Option<OnRun>>>,
    runs: Mutex<Runs>,
    /// Portals reached at another address (the demo's replay).
    origins: Origins,
    /// When fire times come.
    clock: Arc<dyn Clock>,
    /// In a cluster, where due runs are sent.
    dispatch: Option<Dispatch>,
}

impl Scheduler {
    /// A scheduler for `config`'s sources. Each fire is delayed by a random `0..=jitter`; at
    /// shutdown a run in flight gets `grace` to finish before it is cancelled. The status starts
    /// with each source's last run recorded in the archive.
    pub fn new(
        config: Arc<Config>,
        archive: Arc<dyn Archive>,
        jitter: Duration,
        grace: Duration,
    ) -> Scheduler {
        let status = Status::default();
        {
            let mut sources = status.write();
            for source in &config.sources {
                let last_run = match archive.runs(source.id.as_str(), 1) {
                    Ok(runs) => runs.into_iter().next(),
                    Err(error) => {
                        tracing::warn!(source = %source.id, %error, "cannot read the last run");
                        None
                    }
                };
                let status = SourceStatus {
                    last_run,
                    ..SourceStatus::default()
                };
                sources.insert(source.id.to_string(), status);
            }
        }
        Scheduler {
            config,
            archive,
            status,
            jitter,
            grace,
            on_run: Arc::new(RwLock::new(None)),
            runs: Mutex::new(Runs::default()),
            origins: Origins::default(),
            clock: Arc::new(SystemClock),
            dispatch: None,
        }
    }

    /// Due runs and requested ones go to `dispatch` (a cluster's job queue) instead of starting
    /// here; a job comes back through [`Scheduler::run_job`] on whichever node takes it.
    pub fn dispatching(mut self, dispatch: Dispatch) -> Scheduler {
        self.dispatch = Some(dispatch);
        self
    }

    /// Fire times come by `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Scheduler {
        self.clock = clock;
        self
    }

    /// Runs send the requests for these origins to their addresses.
    pub fn reaching(mut self, origins: Origins) -> Scheduler {
        self.origins = origins;
        self
    }

    /// The shared status view; it stays current while the scheduler runs.
    pub fn status(&self) -> Status {
        self.status.clone()
    }

    /// Runs until `shutdown` is cancelled. `on_run` is called after each run with its report
    /// (the server uses it to drop cached feeds), runs started by [`Scheduler::crawl_now`]
    /// included. Then waits up to the grace period for runs in flight, cancels those still
    /// going, and flushes the archive. A scheduler runs once: after this returns it starts
    /// nothing more.
    pub async fn run(
        &self,
        shutdown: CancellationToken,
        on_run: impl Fn(&RunReport) + Send + Sync + 'static,
    ) {
        *self.on_run.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(on_run));
        tracing::info!(sources = self.config.sources.len(), "scheduler started");
        let loops = self
            .config
            .sources
            .iter()
            .map(|source| self.fire_loop(source, &shutdown));
        futures_util::future::join_all(loops).await;
        self.stop().await;
    }

    /// Starts a crawl of one source now (the admin endpoint), unless one is running: returns
    /// false then, and also for an unknown source or once the scheduler has stopped. The run is
    /// a task of the current tokio runtime, reports through the `on_run` given to
    /// [`Scheduler::run`] (when `run` has been called), and is covered by its shutdown.
    pub fn crawl_now(&self, source: &str) -> bool {
        if let Some(dispatch) = &self.dispatch {
            if self.config.source(source).is_none() || self.lock_runs().stopped {
                return false;
            }
            dispatch(Job {
                source: source.to_string(),
                scheduled_at: Utc::now().fixed_offset(),
                backfill: false,
            });
            tracing::info!(source, "crawl requested; sent to the cluster");
            return true;
        }
        let start = self.start(source);
        tracing::info!(source, ?start, "crawl requested");
        start == Start::Started
    }

    /// Fires one source's runs until shutdown; a fire that finds the previous run still going
    /// is skipped.
    async fn fire_loop(&self, source: &Source, shutdown: &CancellationToken) {
        let id = source.id.as_str();
        // Only fire times after now count, and never the same one twice.
        let mut after = self.clock.now();
        loop {
            let Some(fire) = next_fires(source, after.max(self.clock.now()), 1).pop() else {
                tracing::info!(
                    source = id,
                    schedule = source.schedule.as_str(),
                    "no further fire times"
                );
                self.status.update(id, |s| s.next_run = None);
                return;
            };
            after = fire.with_timezone(&Utc);
            let due = fire + self.pick_jitter();
            self.status
                .update(id, |s| s.next_run = Some(due.fixed_offset()));
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.clock.sleep_until(due.with_timezone(&Utc)) => {}
            }
            if let Some(dispatch) = &self.dispatch {
                // The fire time, not the jittered one: every node names the tick alike.
                dispatch(Job {
                    source: id.to_string(),
                    scheduled_at: fire.fixed_offset(),
                    backfill: false,
                });
                continue;
            }
            match self.start(id) {
                Start::Started => {}
                Start::Busy => {
                    tracing::info!(source = id, %fire, "previous run still going; fire skipped");
                }
                Start::Stopped | Start::Unknown => return,
            }
        }
    }

    fn pick_jitter(&self) -> chrono::TimeDelta {
        let max = u64::try_from(self.jitter.as_millis()).unwrap_or(u64::MAX);
        let millis = rand::rng().random_range(0..=max);
        chrono::TimeDelta::try_milliseconds(i64::try_from(millis).unwrap_or(i64::MAX))
            .unwrap_or_default()
    }

    /// Runs a job a cluster worker took, here and now, as a scheduled run would run; `Busy`
    /// when this node runs the source already.
    pub async fn run_job(&self, job: Job) -> Ran {
        let claim = {
            let runs = self.lock_runs();
            if runs.stopped {
                return Ran::Failed(RunReport {
                    source: job.source.clone(),
                    errors: vec!["the node is stopping".into()],
                    ..RunReport::default()
                });
            }
            match self.claim(&job.source) {
                Ok(claim) => claim,
                Err(Start::Busy) => return Ran::Busy,
                Err(_) => {
                    return Ran::Failed(RunReport {
                        source: job.source.clone(),
                        errors: vec![format!("no source {:?} in this node's config", job.source)],
                        ..RunReport::default()
                    });
                }
            }
        };
        let options = CrawlOptions {
            backfill: job.backfill,
            max_pages: None,
        };
        match run_once(
            self.config.clone(),
            self.archive.clone(),
            job.source.clone(),
            options,
            claim,
            self.on_run.clone(),
            self.origins.clone(),
        )
        .await
        {
            Ok(report) => Ran::Done(report),
            Err(report) => Ran::Failed(report),
        }
    }

    /// Claims the source's running flag and spawns its run; the one place runs start.
    fn start(&self, id: &str) -> Start {
        // Holding `runs` makes the stop check and the spawn one step with respect to `stop`.
        let mut runs = self.lock_runs();
        if runs.stopped {
            return Start::Stopped;
        }
        let claim = match self.claim(id) {
            Ok(claim) => claim,
            Err(start) => return start,
        };
        // Reap finished runs so the set does not grow for the daemon's lifetime.
        while runs.tasks.try_join_next().is_some() {}
        let run = run_once(
            self.config.clone(),
            self.archive.clone(),
            id.to_string(),
            CrawlOptions::default(),
            claim,
            self.on_run.clone(),
            self.origins.clone(),
        );
        runs.tasks.spawn(async move {
            let _ = run.await;
        });
        Start::Started
    }

    /// Sets the source's running flag, unless it is set or the source is unknown.
    fn claim(&self, id: &str) -> Result<Claim, Start> {
        if self.config.source(id).is_none() {
            return Err(Start::Unknown);
        }
        {
            let mut sources = self.status.write();
            let Some(status) = sources.get_mut(id) else {
                return Err(Start::Unknown);
            };
            if status.running {
                return Err(Start::Busy);
            }
            status.running = true;
        }
        self.status.changed();
        Ok(Claim {
            status: self.status.clone(),
            source: id.to_string(),
            released: false,
        })
    }

    /// Stops taking runs, lets those in flight finish within the grace period, cancels the
    /// rest, and flushes the archive.
    async fn stop(&self) {
        let mut tasks = {
            let mut runs = self.lock_runs();
            runs.stopped = true;
            std::mem::take(&mut runs.tasks)
        };
        for status in self.status.write().values_mut() {
            status.next_run = None;
        }
        self.status.changed();
        let in_flight = tasks.len();
        if in_flight > 0 {
            tracing::info!(in_flight, grace = ?self.grace, "waiting for runs in flight");
        }
        if tokio::time::timeout(self.grace, drain(&mut tasks))
            .await
            .is_err()
        {
            tracing::warn!(grace = ?self.grace, "runs still going after the grace period; cancelled");
            // Dropping a crawl at an await point is a clean cancel: each archive write is atomic.
            tasks.abort_all();
            drain(&mut tasks).await;
        }
        if let Err(error) = self.archive.flush() {
            tracing::error!(%error, "flushing the archive at shutdown failed");
        }
        tracing::info!("scheduler stopped");
    }

    fn lock_runs(&self) -> MutexGuard<'_, Runs> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Waits for every task of the set; a run that panicked or was cancelled is logged.
async fn drain(tasks: &mut JoinSet<()>) {
    while let Some(result) = tasks.join_next().await {
        if let Err(error) = result
            && error.is_panic()
        {
            tracing::error!(%error, "a crawl run panicked");
        }
    }
}

/// A source's running flag, held by its run; cleared when the run ends however it ends.
struct Claim {
    status: Status,
    source: String,
    released: bool,
}

impl Claim {
    /// Clears the flag and records the report in the same step.
    fn finish(mut self, report: &RunReport) {
        self.status.update(&self.source, |s| {
            s.running = false;
            s.last_run = Some(report.clone());
        });
        self.released = true;
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.released {
            // Cancelled or panicked: no report to keep.
            self.status.update(&self.source, |s| s.running = false);
        }
    }
}

/// One crawl of one source with a fresh fetcher; the crawl records it in the archive. `Err`
/// when it could not start or its archive stopped it.
async fn run_once(
    config: Arc<Config>,
    archive: Arc<dyn Archive>,
    id: String,
    options: CrawlOptions,
    claim: Claim,
    on_run: Arc<RwLock<Option<OnRun>>>,
    origins: Origins,
) -> Result<RunReport, RunReport> {
    let Some(source) = config.source(&id) else {
        return Err(RunReport::default());
    };
    tracing::info!(source = %id, backfill = options.backfill, "run started");
    let archive = crate::archive::Handle::new(archive);
    let (report, went) = match Fetcher::new(&config.crawler).map(|f| f.reaching(&origins)) {
        Ok(fetcher) => {
            match run_source(
                &fetcher,
                &archive,
                source,
                &config.crawler,
                options,
                &crate::crawl::quiet,
            )
            .await
            {
                Ok(report) => (report, true),
                Err(stopped) => (stopped.report, false),
            }
        }
        Err(error) => (
            unstarted(&archive, &id, &crate::describe(&error)).await,
            false,
        ),
    };
    if report.complete {
        tracing::info!(
            source = %id,
            new = report.new,
            revised = report.revised,
            failed = report.failed,
            "run finished"
        );
    } else {
        tracing::warn!(
            source = %id,
            new = report.new,
            revised = report.revised,
            failed = report.failed,
            first_error = report.errors.first().map(String::as_str).unwrap_or("none recorded"),
            "run finished incomplete"
        );
    }
    claim.finish(&report);
    let on_run = on_run
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if let Some(on_run) = on_run {
        on_run(&report);
    }
    if went { Ok(report) } else { Err(report) }
}

/// The report of a run that could not start (its HTTP client could not be made: out of files,
/// say), logged as an error with why and recorded like any other.
async fn unstarted(archive: &crate::archive::Handle, source: &str, error: &str) -> RunReport {
    tracing::error!(source, error, "a run could not start");
    let now = Utc::now().fixed_offset();
    let mut report = RunReport {
        source: source.to_string(),
        started: Some(now),
        finished: Some(now),
        errors: vec![format!("the run could not start: {error}")],
        ..RunReport::default()
    };
    let run = report.clone();
    if let Err(error) = archive.run(move |archive| archive.record_run(&run)).await {
        report
            .errors
            .push(format!("archive: {}", crate::describe(&error)));
    }
    report
}
