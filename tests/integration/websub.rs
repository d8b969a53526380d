//! WebSub: the builtin hub in process (subscribe, verify, signed deliveries after a crawl,
//! unsubscribe; its refusals), publish notices to an external hub from `gazette serve`, and the
//! config keys. Subscribers and hubs are small servers on loopback; tests wait on what they
//! receive, through channels. [`fairness`]: the hub's limits and its queue of verifications.

mod fairness;

use gazette::archive::prelude::*;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use gazette::archive::{Archive, SledArchive};
use gazette::server::{AppState, app};
use gazette::websub::{Documents, Hub, WebSub, hub::sign};
use http_body_util::BodyExt;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};
use tower::ServiceExt;

use crate::support::TestPortal;

const PUBLIC: &str = "http://gazette.test";
const ATOM: &str = "http://gazette.test/feeds/bqlkkt.atom";
const TOKEN: &str = "websub-test-token";
/// The longest a test waits for what a callback should receive: a bound for failing, never a
/// pace (waits end as soon as the request arrives).
const WITHIN: Duration = Duration::from_secs(20);

/// A request a loopback server received.
#[derive(Debug, Clone)]
struct Call {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Call {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// A loopback server that sends every request it receives on a channel. A GET echoes
/// `hub.challenge` unless its path starts with `/deaf`; a POST is answered 410 under `/gone`,
/// 500 the first time under `/flaky`, 200 otherwise.
struct Recorder {
    addr: SocketAddr,
    received: mpsc::UnboundedReceiver<Call>,
    seen: Vec<Call>,
}

impl Recorder {
    async fn start() -> Recorder {
        let (sender, received) = mpsc::unbounded_channel();
        let posted: Arc<Mutex<HashSet<String>>> = Arc::default();
        let router = Router::new().fallback(move |request: Request<Body>| {
            let (sender, posted) = (sender.clone(), posted.clone());
            async move {
                let (parts, body) = request.into_parts();
                let body = body.collect().await.unwrap().to_bytes().to_vec();
                let query: Vec<(String, String)> =
                    url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                        .into_owned()
                        .collect();
                let call = Call {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_string(),
                    query,
                    headers: parts.headers,
                    body,
                };
                let answer = match call.param("hub.challenge") {
                    Some(challenge) if !call.path.starts_with("/deaf") => challenge.to_string(),
                    _ => "no".to_string(),
                };
                let posted_before =
                    call.method == "POST" && !posted.lock().unwrap().insert(call.path.clone());
                let status = match (call.method.as_str(), call.path.as_str()) {
                    ("POST", path) if path.starts_with("/gone") => StatusCode::GONE,
                    ("POST", path) if path.starts_with("/flaky") && !posted_before => {
                        StatusCode::INTERNAL_SERVER_ERROR
                    }
                    _ => StatusCode::OK,
                };
                let _ = sender.send(call);
                (status, answer)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Recorder {
            addr,
            received,
            seen: Vec::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The requests of `method` to `path` received so far, without waiting.
    fn calls(&mut self, method: &str, path: &str) -> Vec<Call> {
        while let Ok(call) = self.received.try_recv() {
            self.seen.push(call);
        }
        self.seen
            .iter()
            .filter(|c| c.method == method && c.path == path)
            .cloned()
            .collect()
    }

    /// Waits until `path` has received `count` requests of `method`, and returns them.
    async fn until(&mut self, method: &str, path: &str, count: usize) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + WITHIN;
        loop {
            let calls = self.calls(method, path);
            if calls.len() >= count {
                return calls;
            }
            match tokio::time::timeout_at(deadline, self.received.recv()).await {
                Ok(Some(call)) => self.seen.push(call),
                Ok(None) => panic!("the loopback server stopped"),
                Err(_) => panic!(
                    "{method} {path}: {} of {count} requests within {WITHIN:?}; all received: {:#?}",
                    calls.len(),
                    self.seen
                ),
            }
        }
    }
}

/// Waits until the hub holds `count` verified subscriptions.
async fn until_subscribed(hub: &Hub, count: usize) {
    let mut subscribed = hub.watch_subscriptions();
    let reached = tokio::time::timeout(WITHIN, subscribed.wait_for(|n| *n == count)).await;
    assert!(
        matches!(reached, Ok(Ok(_))),
        "{} subscriptions, not {count}, after {WITHIN:?}",
        hub.subscriptions()
    );
}

/// `gazette serve` on the portal's config with WebSub settings, killed on drop.
struct Daemon {
    child: std::process::Child,
    base: String,
    logs: Arc<Mutex<Vec<String>>>,
    client: reqwest::Client,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// Serves the portal's config with `public_url` set, the source scheduled once a year (runs
    /// come from the admin endpoint), and `configure`'s changes to `[server]`.
    fn start(portal: &TestPortal, configure: impl FnOnce(&mut toml_edit::Table)) -> Daemon {
        use std::io::BufRead;
        let text = std::fs::read_to_string(&portal.config_path).unwrap();
        let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
        let server = doc["server"].as_table_mut().unwrap();
        server["public_url"] = toml_edit::value(PUBLIC);
        configure(server);
        let sources = doc["sources"].as_array_of_tables_mut().unwrap();
        sources.get_mut(0).unwrap()["schedule"] = toml_edit::value("0 0 0 1 1 *");
        let path = portal.dir.path().join("websub.toml");
        std::fs::write(&path, doc.to_string()).unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gazette"))
            .args(["serve", "--config", path.to_str().unwrap()])
            .env("GAZETTE_ADMIN_TOKEN", TOKEN)
            .env("RUST_LOG", "gazette=info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let kept = logs.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(rest) = line.strip_prefix("gazette: serving on http://") {
                    let _ = tx.send(rest.split('/').next().unwrap_or_default().to_string());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("serve did not start:\n{}", logs_of(&logs)));
        Daemon {
            child,
            base: format!("http://{addr}"),
            logs,
            client: reqwest::Client::new(),
        }
    }

    fn logs(&self) -> String {
        logs_of(&self.logs)
    }

    async fn health(&self) -> serde_json::Value {
        let answer = self.client.get(format!("{}/healthz", self.base)).send();
        let bytes = answer.await.unwrap().bytes().await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// Starts a crawl through the admin endpoint and waits for its report.
    async fn crawl(&self) -> serde_json::Value {
        let before = self.health().await["sources"]["bqlkkt"]["last_run"].clone();
        let started = self
            .client
            .post(format!("{}/api/sources/bqlkkt/crawl", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), 202, "{}", self.logs());
        let start = Instant::now();
        loop {
            let source = self.health().await["sources"]["bqlkkt"].clone();
            if source["running"] == false && source["last_run"] != before {
                return source["last_run"].clone();
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the crawl did not finish:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn websub(&self, form: &[(&str, &str)]) -> (StatusCode, String) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let answer = self
            .client
            .post(format!("{}/websub", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
        (status, answer.text().await.unwrap())
    }

    /// A metric's value as `/metrics` shows it (`name{labels}` exactly), 0 when absent.
    async fn metric(&self, series: &str) -> f64 {
        let text = self.client.get(format!("{}/metrics", self.base)).send();
        let text = text.await.unwrap().text().await.unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    }

    async fn until_metric(&self, series: &str, value: f64) {
        let start = Instant::now();
        while self.metric(series).await != value {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{series} is {} not {value}:\n{}",
                self.metric(series).await,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// What `serve` wrote, numbered, for a failure message.
fn logs_of(logs: &Mutex<Vec<String>>) -> String {
    let lines = logs.lock().unwrap();
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| format!("{:>4} {line}\n", i + 1))
        .collect()
}

/// The builtin hub and the announcer wired as `serve` wires them, on the portal's archive:
/// runs come from [`InProcess::crawl`], which tells the announcer as the scheduler does.
struct InProcess {
    archive: Arc<SledArchive>,
    state: AppState,
    app: Router,
    hub: Arc<Hub>,
    websub: WebSub,
    _stop: DropGuard,
}

impl InProcess {
    fn start(portal: &TestPortal, archive: Arc<SledArchive>) -> InProcess {
        let mut config = portal.config.clone();
        config.server.public_url = Some(gazette::config::HttpUrl(url::Url::parse(PUBLIC).unwrap()));
        config.server.websub_builtin = true;
        config.server.websub_allow_private = true;
        let config = Arc::new(config);
        let shared: Arc<dyn Archive> = archive.clone();
        let mut state = AppState::new(
            config.clone(),
            shared.clone(),
            gazette::schedule::Status::default(),
        );
        state.hubs = gazette::websub::hub_urls(&config);
        let router = app(state.clone());
        let hub = Hub::open(config.clone(), shared).unwrap();
        let stop = CancellationToken::new();
        let websub = WebSub::start(
            config,
            Documents::new(router.clone()),
            Some(hub.clone()),
            stop.clone(),
        )
        .unwrap();
        InProcess {
            archive,
            app: router.layer(axum::Extension(hub.clone())),
            state,
            hub,
            websub,
            _stop: stop.drop_guard(),
        }
    }

    /// A run of the source; after it, the feed cache is cleared and the announcer told.
    async fn crawl(&self, portal: &TestPortal) -> gazette::model::RunReport {
        let report = portal.crawl(&self.archive, false).await;
        self.state.cache.clear();
        self.websub.run_finished(&report);
        report
    }

    async fn websub(&self, form: &[(&str, &str)]) -> (StatusCode, serde_json::Value) {
        post_form(&self.app, FORM, form).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn subscribers_get_signed_feeds_after_a_crawl_until_they_unsubscribe() {
    let portal = TestPortal::recorded().await;
    let mut subscriber = Recorder::start().await;
    let archive = portal.open_archive();
    // The first run before the hub starts: its change is never announced, so a subscriber gets
    // nothing until the next run changes the feed.
    let first = portal.crawl(&archive, false).await;
    assert_eq!(first.new, 9, "{first:?}");
    let gazette = InProcess::start(&portal, archive);

    let (signed, plain, deaf) = (
        subscriber.url("/signed"),
        subscriber.url("/plain"),
        subscriber.url("/deaf"),
    );
    let (gone, flaky) = (subscriber.url("/gone"), subscriber.url("/flaky"));
    for (callback, secret) in [
        (&signed, "s3cret"),
        (&plain, ""),
        (&deaf, ""),
        (&gone, ""),
        (&flaky, ""),
    ] {
        let mut form = vec![
            ("hub.mode", "subscribe"),
            ("hub.topic", ATOM),
            ("hub.callback", callback.as_str()),
        ];
        if !secret.is_empty() {
            form.push(("hub.secret", secret));
        }
        let (status, body) = gazette.websub(&form).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{callback}: {body}");
    }
    let check = &subscriber.until("GET", "/signed", 1).await[0];
    assert_eq!(check.param("hub.mode"), Some("subscribe"));
    assert_eq!(check.param("hub.topic"), Some(ATOM));
    assert_eq!(
        check.param("hub.lease_seconds"),
        Some("864000"),
        "the default lease"
    );
    assert!(check.param("hub.challenge").is_some_and(|c| c.len() >= 16));
    subscriber.until("GET", "/deaf", 1).await;
    until_subscribed(&gazette.hub, 4).await;
    assert!(
        subscriber.calls("POST", "/signed").is_empty(),
        "nothing is delivered before a run changes the feed"
    );

    portal.server.add_article(
        1250,
        "Bài mới về khu công nghiệp",
        "(09:00 | 05/08/2020)",
        &["Đoạn một của bài mới.", "Đoạn hai."],
    );
    let crawled = Instant::now();
    let second = gazette.crawl(&portal).await;
    assert_eq!(second.new, 1, "{second:?}");
    let delivery = subscriber.until("POST", "/signed", 1).await[0].clone();
    eprintln!("delivered {:?} after the run began", crawled.elapsed());
    assert_eq!(
        delivery.header("x-hub-signature"),
        format!("sha256={}", sign(b"s3cret", &delivery.body)),
        "the body signed with the subscriber's secret"
    );
    assert!(
        delivery
            .header("content-type")
            .starts_with("application/atom+xml")
    );
    let link = delivery.header("link");
    assert!(
        link.contains("<http://gazette.test/websub>; rel=\"hub\"")
            && link.contains(&format!("<{ATOM}>; rel=\"self\"")),
        "{link}"
    );
    let feed = feed_rs::parser::parse(&delivery.body[..]).expect("the delivery is a feed");
    assert!(
        feed.entries.iter().any(|e| e
            .title
            .as_ref()
            .is_some_and(|t| t.content == "Bài mới về khu công nghiệp")),
        "the new article is in the delivered feed"
    );
    let request = Request::get("/feeds/bqlkkt.atom")
        .body(Body::empty())
        .unwrap();
    let served = gazette.app.clone().oneshot(request).await.unwrap();
    let served_link = served
        .headers()
        .get("link")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        served_link.contains("<http://gazette.test/websub>; rel=\"hub\""),
        "the served feed's Link header names the builtin hub: {served_link:?}"
    );
    let served = served.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&served);
    assert!(
        text.contains("http://gazette.test/websub") && text.contains("rel=\"hub\""),
        "the served feed advertises the builtin hub in its body"
    );
    assert_eq!(served, delivery.body, "the delivery is the feed as served");
    let unsigned = subscriber.until("POST", "/plain", 1).await;
    assert_eq!(
        unsigned[0].header("x-hub-signature"),
        "",
        "no secret, no signature"
    );
    // 410 Gone ends a subscription at once; a 500 is retried (after 1 s).
    subscriber.until("POST", "/gone", 1).await;
    let retried = subscriber.until("POST", "/flaky", 2).await;
    assert_eq!(retried[0].body, retried[1].body);
    until_subscribed(&gazette.hub, 3).await;

    let (status, body) = gazette
        .websub(&[
            ("hub.mode", "unsubscribe"),
            ("hub.topic", ATOM),
            ("hub.callback", signed.as_str()),
        ])
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let checks = subscriber.until("GET", "/signed", 2).await;
    assert_eq!(checks[1].param("hub.mode"), Some("unsubscribe"));
    assert_eq!(checks[1].param("hub.lease_seconds"), None);
    until_subscribed(&gazette.hub, 2).await;

    portal.server.add_article(
        1251,
        "Một bài nữa",
        "(10:00 | 06/08/2020)",
        &["Đoạn một.", "Đoạn hai."],
    );
    let third = gazette.crawl(&portal).await;
    assert_eq!(third.new, 1, "{third:?}");
    let plain_deliveries = subscriber.until("POST", "/plain", 2).await;
    assert!(String::from_utf8_lossy(&plain_deliveries[1].body).contains("Một bài nữa"));
    subscriber.until("POST", "/flaky", 3).await;
    assert_eq!(
        subscriber.calls("POST", "/signed").len(),
        1,
        "no delivery after unsubscribing"
    );
    assert!(
        subscriber.calls("POST", "/deaf").is_empty(),
        "a callback that did not echo the challenge never gets a delivery"
    );
    assert_eq!(
        subscriber.calls("POST", "/gone").len(),
        1,
        "dropped after its 410"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn external_hubs_hear_of_changed_feeds_and_of_nothing_else() {
    let portal = TestPortal::recorded().await;
    let mut hub = Recorder::start().await;
    let hub_url = hub.url("/hub");
    let daemon = Daemon::start(&portal, |server| {
        let mut hubs = toml_edit::Array::new();
        hubs.push(hub_url.as_str());
        server["websub_hubs"] = toml_edit::value(hubs);
        server["websub_builtin"] = toml_edit::value(true);
    });
    // `serve` mounts the builtin hub: it reads requests (this one is refused before any call).
    let (status, body) = daemon
        .websub(&[
            ("hub.mode", "subscribe"),
            ("hub.topic", ATOM),
            ("hub.callback", "http://10.0.0.1/cb"),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("private"), "{body}");
    let first = daemon.crawl().await;
    assert_eq!(first["new"], 9, "{first}");
    let source = portal.source();
    // Every live feed of the source: 3 formats, the source's and each section's.
    let expected = 3 * (1 + source.sections.len());
    let notices = hub.until("POST", "/hub", expected).await;
    let mut topics: Vec<String> = notices
        .iter()
        .map(|call| {
            assert_eq!(
                call.header("content-type"),
                "application/x-www-form-urlencoded"
            );
            let form: Vec<(String, String)> = url::form_urlencoded::parse(&call.body)
                .into_owned()
                .collect();
            assert_eq!(form[0], ("hub.mode".into(), "publish".into()), "{form:?}");
            assert_eq!(form[1].0, "hub.url");
            form[1].1.clone()
        })
        .collect();
    topics.sort();
    topics.dedup();
    assert_eq!(topics.len(), expected, "one notice per feed: {topics:#?}");
    for feed in ["bqlkkt.rss", "bqlkkt.atom", "bqlkkt.json"] {
        assert!(
            topics.contains(&format!("{PUBLIC}/feeds/{feed}")),
            "{topics:#?}"
        );
    }
    let section = &source.sections[0];
    assert!(topics.contains(&format!("{PUBLIC}/feeds/bqlkkt/{}.rss", section.id)));
    daemon
        .until_metric(
            "gazette_websub_publish_total{outcome=\"ok\"}",
            expected as f64,
        )
        .await;

    let second = daemon.crawl().await;
    assert_eq!(
        (second["new"].clone(), second["revised"].clone()),
        (0.into(), 0.into())
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        hub.calls("POST", "/hub").len(),
        expected,
        "a run that archived nothing is not announced"
    );
}

/// The app with the builtin hub as `serve` makes it, on the portal's archive, and the app
/// without it.
fn hub_app(
    portal: &TestPortal,
    configure: impl FnOnce(&mut gazette::config::Config),
) -> (Router, Arc<Hub>, Router) {
    hub_app_with(portal, configure, gazette::websub::hub::Timing::default())
}

/// [`hub_app`] with a hub that waits on callbacks as `timing` says.
fn hub_app_with(
    portal: &TestPortal,
    configure: impl FnOnce(&mut gazette::config::Config),
    timing: gazette::websub::hub::Timing,
) -> (Router, Arc<Hub>, Router) {
    let mut config = portal.config.clone();
    config.server.public_url = Some(gazette::config::HttpUrl(url::Url::parse(PUBLIC).unwrap()));
    config.server.websub_builtin = true;
    configure(&mut config);
    let config = Arc::new(config);
    let archive: Arc<dyn Archive> = portal.open_archive();
    let state = AppState::new(
        config.clone(),
        archive.clone(),
        gazette::schedule::Status::default(),
    );
    let hub = Hub::open_with(config, archive, timing).unwrap();
    let with_hub = app(state.clone()).layer(axum::Extension(hub.clone()));
    (with_hub, hub, app(state))
}

async fn post_form(
    app: &Router,
    content_type: &str,
    form: &[(&str, &str)],
) -> (StatusCode, serde_json::Value) {
    post(app, content_type, None, form).await.0
}

/// A subscription request from `client`, as a server started with connection info sees it;
/// the answer and its `Retry-After`.
async fn post_from(
    app: &Router,
    client: &str,
    form: &[(&str, &str)],
) -> ((StatusCode, serde_json::Value), Option<u64>) {
    post(app, FORM, Some(client.parse().unwrap()), form).await
}

async fn post(
    app: &Router,
    content_type: &str,
    client: Option<SocketAddr>,
    form: &[(&str, &str)],
) -> ((StatusCode, serde_json::Value), Option<u64>) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut request = Request::post("/websub")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    if let Some(client) = client {
        request.extensions_mut().insert(ConnectInfo(client));
    }
    let response = app.clone().oneshot(request).await.unwrap();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
    };
    ((status, json), retry_after)
}

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test(flavor = "multi_thread")]
async fn internal_callbacks_are_refused_before_any_connection() {
    let portal = TestPortal::recorded().await;
    let (app, hub, _) = hub_app(&portal, |_| ());
    // A real listener on loopback that counts connections: it must see none.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = format!("http://{}/cb", listener.local_addr().unwrap());
    let connections = Arc::new(Mutex::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            *counted.lock().unwrap() += 1;
        }
    });
    for (callback, kind) in [
        ("http://10.0.0.1/cb", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        (local.as_str(), "loopback"),
        ("http://[::ffff:10.0.0.1]/cb", "private"),
        ("http://localhost:9/cb", "loopback"),
    ] {
        let started = Instant::now();
        let (status, body) = post_form(
            &app,
            FORM,
            &[
                ("hub.mode", "subscribe"),
                ("hub.topic", ATOM),
                ("hub.callback", callback),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{callback}: {body}");
        assert_eq!(body["error"], "bad parameter: hub.callback", "{body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(kind), "{callback}: {detail}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "refused at once"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hub.subscriptions(), 0);
    assert_eq!(*connections.lock().unwrap(), 0, "no callback was contacted");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_refused_naming_the_parameter() {
    let portal = TestPortal::recorded().await;
    let (app, _hub, without_hub) = hub_app(&portal, |_| ());
    let cb = "https://example.org/cb";
    for (form, param) in [
        (vec![("hub.topic", ATOM), ("hub.callback", cb)], "hub.mode"),
        (
            vec![
                ("hub.mode", "publish"),
                ("hub.topic", ATOM),
                ("hub.callback", cb),
            ],
            "hub.mode",
        ),
        (
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", "http://gazette.test/feeds/other.rss"),
                ("hub.callback", cb),
            ],
            "hub.topic",
        ),
        (
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", "https://elsewhere.example/feed"),
                ("hub.callback", cb),
            ],
            "hub.topic",
        ),
        (
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", ATOM),
                ("hub.callback", "ftp://example.org/"),
            ],
            "hub.callback",
        ),
        (
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", ATOM),
                ("hub.callback", cb),
                ("hub.lease_seconds", "soon"),
            ],
            "hub.lease_seconds",
        ),
        (
            vec![
                ("hub.mode", "subscribe"),
                ("hub.topic", ATOM),
                ("hub.callback", cb),
                ("hub.topic", ATOM),
            ],
            "hub.topic",
        ),
    ] {
        let (status, body) = post_form(&app, FORM, &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{form:?}: {body}");
        assert_eq!(
            body["error"],
            format!("bad parameter: {param}"),
            "{form:?}: {body}"
        );
    }
    let secret = "x".repeat(200);
    let (status, body) = post_form(
        &app,
        FORM,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", ATOM),
            ("hub.callback", cb),
            ("hub.secret", &secret),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad parameter: hub.secret"))
    );
    let (status, body) = post_form(&app, "application/json", &[("hub.mode", "subscribe")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "bad parameter: Content-Type");

    // Without the builtin hub the path is not there.
    let (status, _) = post_form(&without_hub, FORM, &[("hub.mode", "subscribe")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The shipped config with `[server]` changed by `configure`, parsed.
fn shipped_with(
    configure: impl FnOnce(&mut toml_edit::Table),
) -> Result<gazette::config::Config, String> {
    let text = std::fs::read_to_string(crate::support::root().join("config/gazette.toml")).unwrap();
    let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
    configure(doc["server"].as_table_mut().unwrap());
    gazette::config::parse(&doc.to_string(), "gazette.toml").map_err(|e| e.to_string())
}

#[test]
fn the_websub_keys_take_their_defaults_and_are_checked() {
    let config = crate::support::shipped_config();
    assert!(config.server.websub_hubs.is_empty());
    assert!(!config.server.websub_builtin && !config.server.websub_allow_private);
    assert_eq!(config.server.websub_max_subscriptions, 1000);
    assert_eq!(config.server.websub_max_pending, 64);
    assert_eq!(config.server.websub_lease_secs, 864_000);
    assert!(gazette::websub::hub_urls(&config).is_empty());

    let config = shipped_with(|server| {
        let mut hubs = toml_edit::Array::new();
        hubs.push("https://hub.example/");
        server["websub_hubs"] = toml_edit::value(hubs);
        server["websub_builtin"] = toml_edit::value(true);
    })
    .unwrap();
    let hubs: Vec<String> = gazette::websub::hub_urls(&config)
        .iter()
        .map(|u| u.to_string())
        .collect();
    assert_eq!(
        hubs,
        ["https://hub.example/", "http://127.0.0.1:8080/websub"]
    );

    for (key, value, message) in [
        (
            "websub_lease_secs",
            toml_edit::value(59),
            "server.websub_lease_secs: expected from 60",
        ),
        (
            "websub_lease_secs",
            toml_edit::value(31_536_001),
            "server.websub_lease_secs: expected from 60",
        ),
        (
            "websub_max_subscriptions",
            toml_edit::value(0),
            "server.websub_max_subscriptions: expected from 1",
        ),
        (
            "websub_max_pending",
            toml_edit::value(0),
            "server.websub_max_pending: expected from 1 to 10000",
        ),
        (
            "websub_max_pending",
            toml_edit::value(10_001),
            "server.websub_max_pending: expected from 1 to 10000",
        ),
        (
            "websub_builtin",
            toml_edit::value("yes"),
            "server.websub_builtin",
        ),
    ] {
        let err = shipped_with(|server| server[key] = value).unwrap_err();
        assert!(err.contains(message), "{key}: {err}");
        assert!(err.starts_with("gazette.toml:"), "{err}");
    }
    let mut hubs = toml_edit::Array::new();
    hubs.push("ftp://hub.example/");
    let err = shipped_with(|server| server["websub_hubs"] = toml_edit::value(hubs)).unwrap_err();
    assert!(
        err.contains("server.websub_hubs") && err.contains("http(s)"),
        "{err}"
    );
    let mut twice = toml_edit::Array::new();
    twice.push("https://hub.example/");
    twice.push("https://hub.example/");
    let err = shipped_with(|server| server["websub_hubs"] = toml_edit::value(twice)).unwrap_err();
    assert!(err.contains("listed twice"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn subscriptions_survive_a_restart_and_ended_leases_are_dropped() {
    use gazette::archive::Subscription;
    let portal = TestPortal::recorded().await;
    let now = chrono::Utc::now().fixed_offset();
    let kept = Subscription {
        topic: ATOM.into(),
        callback: "https://reader.example/cb".into(),
        secret: Some("s3cret".into()),
        expires: now + chrono::Duration::days(3),
        failures: 1,
    };
    let ended = Subscription {
        callback: "https://reader.example/old".into(),
        secret: None,
        expires: now - chrono::Duration::seconds(1),
        ..kept.clone()
    };
    {
        let archive = portal.open_archive();
        for s in [&kept, &ended] {
            archive
                .set_subscription(&s.topic, &s.callback, Some(s))
                .unwrap();
        }
        assert_eq!(archive.subscriptions().unwrap().len(), 2);
    }
    let archive: Arc<dyn Archive> = portal.open_archive();
    assert_eq!(
        archive.subscriptions().unwrap().len(),
        2,
        "kept across a reopen"
    );
    let mut config = portal.config.clone();
    config.server.websub_builtin = true;
    let hub = Hub::open(Arc::new(config), archive.clone()).unwrap();
    assert_eq!(hub.subscriptions(), 1, "the ended lease is not held");
    assert_eq!(archive.subscriptions().unwrap(), vec![kept.clone()]);
    archive
        .set_subscription(&kept.topic, &kept.callback, None)
        .unwrap();
    assert!(archive.subscriptions().unwrap().is_empty());
}
