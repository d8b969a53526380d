//! Process-wide counters for `GET /metrics`, in the Prometheus text format.

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::model::RunReport;

type Labels = Vec<(String, String)>;

/// Every metric gazette keeps.
pub struct Metrics {
    registry: Registry,
    runs: Family<Labels, Counter>,
    pages_fetched: Family<Labels, Counter>,
    fetch_seconds: Histogram,
    articles_archived: Family<Labels, Counter>,
    feed_requests: Family<Labels, Counter>,
    not_modified: Counter,
    websub_publish: Family<Labels, Counter>,
    websub_verifications: Family<Labels, Counter>,
    websub_deliveries: Family<Labels, Counter>,
    websub_subscriptions: Gauge,
    field_fill: Family<Labels, Gauge<f64, AtomicU64>>,
    source_degraded: Family<Labels, Gauge>,
    connections_refused: Family<Labels, Counter>,
    cluster_jobs: Family<Labels, Counter>,
    cluster_connected: Gauge,
    cluster_applied: Gauge,
    cluster_lag: Gauge,
    cluster_jobs_pending: Gauge,
    upload_waiting_files: Gauge,
    upload_oldest_waiting_seconds: Gauge,
    uploaded_bytes: Counter,
    upload_failures: Counter,
}

/// The one registry of the process.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

fn label(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("gazette");
        let runs = Family::<Labels, Counter>::default();
        let pages_fetched = Family::<Labels, Counter>::default();
        let fetch_seconds = Histogram::new(exponential_buckets(0.005, 2.0, 12));
        let articles_archived = Family::<Labels, Counter>::default();
        let feed_requests = Family::<Labels, Counter>::default();
        let not_modified = Counter::default();
        let websub_publish = Family::<Labels, Counter>::default();
        let websub_verifications = Family::<Labels, Counter>::default();
        let websub_deliveries = Family::<Labels, Counter>::default();
        let websub_subscriptions = Gauge::default();
        let field_fill = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        let source_degraded = Family::<Labels, Gauge>::default();
        let connections_refused = Family::<Labels, Counter>::default();
        let cluster_jobs = Family::<Labels, Counter>::default();
        let cluster_connected = Gauge::default();
        let cluster_applied = Gauge::default();
        let cluster_lag = Gauge::default();
        let cluster_jobs_pending = Gauge::default();
        registry.register(
            "cluster_lag_messages",
            "Messages of the archived stream this node has yet to apply",
            cluster_lag.clone(),
        );
        registry.register(
            "cluster_jobs_pending",
            "Jobs waiting in the cluster's work queue for a worker",
            cluster_jobs_pending.clone(),
        );
        registry.register(
            "cluster_jobs",
            "Jobs this node took from the cluster's work queue, by outcome (done, failed, dropped, skipped)",
            cluster_jobs.clone(),
        );
        registry.register(
            "cluster_connected",
            "1 while this node is connected to NATS, 0 otherwise (only in a cluster)",
            cluster_connected.clone(),
        );
        registry.register(
            "cluster_applied_sequence",
            "The last sequence of the archived stream this node has applied to its archive",
            cluster_applied.clone(),
        );
        let upload_waiting_files = Gauge::default();
        let upload_oldest_waiting_seconds = Gauge::default();
        let uploaded_bytes = Counter::default();
        let upload_failures = Counter::default();
        registry.register(
            "warc_upload_waiting_files",
            "Closed WARC files not yet uploaded to the object store",
            upload_waiting_files.clone(),
        );
        registry.register(
            "warc_upload_oldest_waiting_seconds",
            "Seconds the oldest closed WARC file not yet uploaded has waited",
            upload_oldest_waiting_seconds.clone(),
        );
        registry.register(
            "warc_uploaded_bytes",
            "Bytes of WARC files uploaded to the object store",
            uploaded_bytes.clone(),
        );
        registry.register(
            "warc_upload_failures",
            "Upload attempts to the object store that failed (each is retried)",
            upload_failures.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections not served, by reason (per_client: the client held its share; accept_failed: out of files or another accept error)",
            connections_refused.clone(),
        );
        registry.register(
            "crawl_runs",
            "Crawl runs by source and outcome",
            runs.clone(),
        );
        registry.register(
            "pages_fetched",
            "HTTP answers received while crawling, by status",
            pages_fetched.clone(),
        );
        registry.register(
            "fetch_duration_seconds",
            "Time to fetch one page, body included",
            fetch_seconds.clone(),
        );
        registry.register(
            "articles_archived",
            "Articles stored, by source and kind (new, revised)",
            articles_archived.clone(),
        );
        registry.register(
            "feed_requests",
            "Feed requests by format",
            feed_requests.clone(),
        );
        registry.register(
            "feed_not_modified",
            "Feed requests answered 304 Not Modified",
            not_modified.clone(),
        );
        registry.register(
            "websub_publish",
            "Publish notices sent to external WebSub hubs, by outcome (ok, failed)",
            websub_publish.clone(),
        );
        registry.register(
            "websub_verifications",
            "Intent verifications of the builtin WebSub hub, by outcome (verified, refused)",
            websub_verifications.clone(),
        );
        registry.register(
            "websub_deliveries",
            "Feed deliveries of the builtin WebSub hub, by outcome (ok, failed, dropped)",
            websub_deliveries.clone(),
        );
        registry.register(
            "websub_subscriptions",
            "Verified subscriptions the builtin WebSub hub holds",
            websub_subscriptions.clone(),
        );
        registry.register(
            "field_fill_ratio",
            "Share of the last run's articles with the field filled, by source and field",
            field_fill.clone(),
        );
        registry.register(
            "source_degraded",
            "1 when a source's selectors stopped finding what they used to (selector health)",
            source_degraded.clone(),
        );
        Metrics {
            registry,
            runs,
            pages_fetched,
            fetch_seconds,
            articles_archived,
            feed_requests,
            not_modified,
            websub_publish,
            websub_verifications,
            websub_deliveries,
            websub_subscriptions,
            field_fill,
            source_degraded,
            connections_refused,
            cluster_jobs,
            cluster_connected,
            cluster_applied,
            cluster_lag,
            cluster_jobs_pending,
            upload_waiting_files,
            upload_oldest_waiting_seconds,
            uploaded_bytes,
            upload_failures,
        }
    }

    /// A job of the cluster's work queue handled here: `done`, `failed`, `dropped` or `skipped`.
    pub fn job(&self, outcome: &'static str) {
        self.cluster_jobs
            .get_or_create(&label(&[("outcome", outcome)]))
            .inc();
    }

    /// What this node has yet to apply of the archived stream, and the jobs waiting for a worker.
    pub fn cluster_backlog(&self, lag: u64, jobs_pending: u64) {
        self.cluster_lag.set(i64::try_from(lag).unwrap_or(i64::MAX));
        self.cluster_jobs_pending
            .set(i64::try_from(jobs_pending).unwrap_or(i64::MAX));
    }

    /// Whether this node is connected to NATS, and how far it has applied the archived stream.
    pub fn cluster(&self, connected: bool, applied: u64) {
        self.cluster_connected.set(i64::from(connected));
        self.cluster_applied
            .set(i64::try_from(applied).unwrap_or(i64::MAX));
    }

    /// The closed WARC files waiting for upload, and how long the oldest has waited.
    pub fn uploads_waiting(&self, files: usize, oldest_secs: u64) {
        self.upload_waiting_files
            .set(i64::try_from(files).unwrap_or(i64::MAX));
        self.upload_oldest_waiting_seconds
            .set(i64::try_from(oldest_secs).unwrap_or(i64::MAX));
    }

    /// A WARC file uploaded and confirmed.
    pub fn uploaded(&self, bytes: u64) {
        self.uploaded_bytes.inc_by(bytes);
    }

    /// An upload attempt that failed.
    pub fn upload_failed(&self) {
        self.upload_failures.inc();
    }

    /// A connection closed unserved, or an accept that failed.
    pub fn connection_refused(&self, reason: &'static str) {
        self.connections_refused
            .get_or_create(&label(&[("reason", reason)]))
            .inc();
    }

    /// One HTTP answer received by the fetcher, and how long it took.
    pub fn fetched(&self, status: u16, seconds: f64) {
        self.pages_fetched
            .get_or_create(&label(&[("status", &status.to_string())]))
            .inc();
        self.fetch_seconds.observe(seconds);
    }

    /// A finished crawl run.
    pub fn run(&self, report: &RunReport) {
        let outcome = if report.complete {
            "complete"
        } else {
            "incomplete"
        };
        self.runs
            .get_or_create(&label(&[("source", &report.source), ("outcome", outcome)]))
            .inc();
        for (kind, count) in [("new", report.new), ("revised", report.revised)] {
            self.articles_archived
                .get_or_create(&label(&[("source", &report.source), ("kind", kind)]))
                .inc_by(count);
        }
        if let Some(health) = &report.health {
            for field in &health.fields {
                if let Some(fill) = field.fill {
                    self.field_fill
                        .get_or_create(&label(&[
                            ("source", &report.source),
                            ("field", &field.field),
                        ]))
                        .set(fill);
                }
            }
            self.source_degraded
                .get_or_create(&label(&[("source", &report.source)]))
                .set(i64::from(health.degraded));
        }
    }

    /// A feed request, and whether it was answered 304.
    pub fn feed_request(&self, format: &str, not_modified: bool) {
        self.feed_requests
            .get_or_create(&label(&[("format", format)]))
            .inc();
        if not_modified {
            self.not_modified.inc();
        }
    }

    /// A publish notice to an external hub, after its retries.
    pub fn websub_published(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "failed" };
        self.websub_publish
            .get_or_create(&label(&[("outcome", outcome)]))
            .inc();
    }

    /// An intent verification of the builtin hub: the callback echoed the challenge or not.
    pub fn websub_verified(&self, verified: bool) {
        let outcome = if verified { "verified" } else { "refused" };
        self.websub_verifications
            .get_or_create(&label(&[("outcome", outcome)]))
            .inc();
    }

    /// A delivery to a subscriber, after its retries: `ok`, `failed`, or `dropped` when the
    /// failure ended the subscription.
    pub fn websub_delivered(&self, outcome: &'static str) {
        self.websub_deliveries
            .get_or_create(&label(&[("outcome", outcome)]))
            .inc();
    }

    /// How many verified subscriptions the builtin hub holds now.
    pub fn websub_subscriptions(&self, count: usize) {
        self.websub_subscriptions
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            tracing::error!("metrics could not be encoded");
        }
        out
    }
}
