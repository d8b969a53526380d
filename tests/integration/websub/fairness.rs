//! The builtin hub's fairness, in process: a refused request costs its client and nobody else,
//! a callback is one callback whatever its query, verifications wait in a queue of their own
//! that hanging callbacks cannot block, and a callback that timed out is retried later.
//! Requests carry their client's address as `serve` gives it (`ConnectInfo`). Callbacks are
//! servers on loopback; private addresses appear only as callbacks refused before any dial.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use gazette::websub::hub::{
    CALLBACK_REQUESTS_PER_MINUTE, CLIENT_REFUSALS_PER_MINUTE, Timing, VERIFY_TIMEOUT, client_share,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::{ATOM, Recorder, WITHIN, hub_app, hub_app_with, post_from, until_subscribed};
use crate::support::TestPortal;

/// A loopback server that accepts connections and never answers: a callback that hangs. It
/// sends the request line of every request it reads on a channel.
struct Hanging {
    addr: std::net::SocketAddr,
    heard: mpsc::UnboundedReceiver<(String, Instant)>,
}

impl Hanging {
    async fn start() -> Hanging {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (sender, heard) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let sender = sender.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16_384 {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let line = String::from_utf8_lossy(&head);
                    let line = line.lines().next().unwrap_or_default().to_string();
                    let _ = sender.send((line, Instant::now()));
                    // Held open, unanswered, until the hub gives up on it.
                    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                    let _ = stream.shutdown().await;
                });
            }
        });
        Hanging { addr, heard }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The request line of the next request, with the time it was read.
    async fn next(&mut self) -> (String, Instant) {
        match tokio::time::timeout(WITHIN, self.heard.recv()).await {
            Ok(Some(heard)) => heard,
            Ok(None) => panic!("the hanging server stopped"),
            Err(_) => panic!("no request reached {} within {WITHIN:?}", self.addr),
        }
    }
}

fn subscribe(callback: &str) -> [(&'static str, &str); 3] {
    [
        ("hub.mode", "subscribe"),
        ("hub.topic", ATOM),
        ("hub.callback", callback),
    ]
}

/// A subscriber on a loopback server, from an address of its own, that echoes the challenge:
/// accepted, asked, and then the hub's first subscription.
async fn reader_verified(app: &axum::Router, hub: &gazette::websub::Hub) -> Recorder {
    let mut reader = Recorder::start().await;
    let ((status, body), _) = post_from(
        app,
        "198.51.100.7:50000",
        &subscribe(&reader.url("/reader")),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    reader.until("GET", "/reader", 1).await;
    until_subscribed(hub, 1).await;
    reader
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_of_one_address_do_not_limit_another() {
    let portal = TestPortal::recorded().await;
    let (app, hub, without) = hub_app(&portal, |_| ());
    // Private callbacks, refused by the address guard before any dial; `?i=` makes each URL
    // new. More than the topic limit there was (120 a minute).
    let mut answers: BTreeMap<u16, u32> = BTreeMap::new();
    for i in 0..130 {
        let callback = format!("http://10.0.0.1/cb?i={i}");
        let ((status, _), _) = post_from(&app, "192.0.2.1:40000", &subscribe(&callback)).await;
        *answers.entry(status.as_u16()).or_default() += 1;
    }
    let limit = CLIENT_REFUSALS_PER_MINUTE;
    assert_eq!(
        answers,
        BTreeMap::from([(400, limit), (429, 130 - limit)]),
        "refusals are limited per client address"
    );
    // Another address is judged on its own request, not turned away with 429.
    let ((status, body), _) =
        post_from(&app, "198.51.100.7:50000", &subscribe("http://10.0.0.2/cb")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("private"),
        "{body}"
    );
    drop((app, hub, without));

    // With loopback allowed: one address floods the topic with callbacks that do not echo,
    // and a subscriber elsewhere is still accepted and verified.
    let (app, hub, _) = hub_app(&portal, |config| config.server.websub_allow_private = true);
    let deaf = Recorder::start().await;
    for i in 0..130 {
        let callback = deaf.url(&format!("/deaf?i={i}"));
        let ((status, body), _) = post_from(&app, "192.0.2.1:40000", &subscribe(&callback)).await;
        assert!(
            [StatusCode::ACCEPTED, StatusCode::TOO_MANY_REQUESTS].contains(&status),
            "{body}"
        );
    }
    reader_verified(&app, &hub).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn callbacks_that_differ_by_query_share_one_limit() {
    let portal = TestPortal::recorded().await;
    let (app, _hub, _) = hub_app(&portal, |config| config.server.websub_allow_private = true);
    let deaf = Recorder::start().await;
    // Each request from an address of its own: only the callback's limit is in play.
    let limit = CALLBACK_REQUESTS_PER_MINUTE;
    for i in 0..limit {
        let callback = deaf.url(&format!("/deaf?i={i}"));
        let client = format!("192.0.2.{}:40000", i + 1);
        let ((status, body), _) = post_from(&app, &client, &subscribe(&callback)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "request {i}: {body}");
    }
    for path in [format!("/deaf?i={limit}"), "/deaf/other".to_string()] {
        let ((status, body), retry_after) =
            post_from(&app, "192.0.2.200:40000", &subscribe(&deaf.url(&path))).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{path}: {body}");
        assert_eq!(body["error"], "too many requests");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("for this callback"), "{detail}");
        assert!(retry_after.is_some_and(|s| (1..=60).contains(&s)));
    }
    // Another port is another origin.
    let other = Recorder::start().await;
    let ((status, body), _) = post_from(
        &app,
        "192.0.2.200:40000",
        &subscribe(&other.url("/deaf?i=0")),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn hanging_callbacks_neither_fill_the_hub_nor_delay_a_verification() {
    let portal = TestPortal::recorded().await;
    let (app, hub, _) = hub_app(&portal, |config| {
        config.server.websub_allow_private = true;
        config.server.websub_max_subscriptions = 1;
        config.server.websub_max_pending = 64;
    });
    // Four hanging callbacks (four origins), six requests each from an address each.
    let mut hanging = Vec::new();
    for _ in 0..4 {
        hanging.push(Hanging::start().await);
    }
    for (j, server) in hanging.iter().enumerate() {
        for i in 0..CALLBACK_REQUESTS_PER_MINUTE {
            let client = format!("192.0.2.{}:40000", j + 1);
            let callback = server.url(&format!("/cb?i={i}"));
            let ((status, body), _) = post_from(&app, &client, &subscribe(&callback)).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{callback}: {body}");
        }
    }
    let hung = 4 * CALLBACK_REQUESTS_PER_MINUTE as usize;
    // Every one of them is being answered by nobody, now.
    for server in &mut hanging {
        for _ in 0..CALLBACK_REQUESTS_PER_MINUTE {
            server.next().await;
        }
    }
    assert_eq!(hub.pending(), hung);
    assert_eq!(hub.subscriptions(), 0);

    let started = Instant::now();
    let reader = reader_verified(&app, &hub).await;
    let took = started.elapsed();
    assert!(
        took < VERIFY_TIMEOUT,
        "verified in {took:?}, before any hanging callback timed out ({VERIFY_TIMEOUT:?})"
    );
    // The cap counts verified subscriptions: now it is reached.
    let ((status, body), _) = post_from(
        &app,
        "198.51.100.8:50000",
        &subscribe(&reader.url("/second")),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "too many subscriptions");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_queue_of_verifications_is_bounded_and_shared_between_addresses() {
    let portal = TestPortal::recorded().await;
    let max_pending = 16;
    let (app, hub, _) = hub_app(&portal, |config| {
        config.server.websub_allow_private = true;
        config.server.websub_max_pending = max_pending;
    });
    let share = client_share(max_pending);
    let mut servers = Vec::new();
    for _ in 0..=max_pending / share {
        servers.push(Hanging::start().await);
    }
    // One address holds its share of the queue, then is told to wait.
    for i in 0..share {
        let callback = servers[0].url(&format!("/cb?i={i}"));
        let ((status, body), _) = post_from(&app, "192.0.2.1:40000", &subscribe(&callback)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let again = servers[0].url("/cb?i=0");
    let ((status, body), _) = post_from(&app, "192.0.2.1:40000", &subscribe(&again)).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "a request being verified is answered by that verification: {body}"
    );
    let more = servers[0].url("/cb?i=more");
    let ((status, body), retry_after) = post_from(&app, "192.0.2.1:40000", &subscribe(&more)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("being verified"),
        "{body}"
    );
    assert_eq!(retry_after, Some(VERIFY_TIMEOUT.as_secs()));
    // Other addresses fill the rest; past it, 503 with Retry-After.
    let mut client = 1;
    while hub.pending() < max_pending {
        client += 1;
        let server = &servers[client - 1];
        for i in 0..share {
            let callback = server.url(&format!("/cb?i={i}"));
            let from = format!("192.0.2.{client}:40000");
            let ((status, body), _) = post_from(&app, &from, &subscribe(&callback)).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        }
    }
    let late = servers[max_pending / share].url("/late");
    let ((status, body), retry_after) =
        post_from(&app, "198.51.100.7:50000", &subscribe(&late)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "too many verifications pending");
    assert_eq!(
        body["detail"],
        format!(
            "the hub is verifying its maximum of {max_pending} requests; retry in {} s",
            VERIFY_TIMEOUT.as_secs()
        )
    );
    assert_eq!(retry_after, Some(VERIFY_TIMEOUT.as_secs()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_that_timed_out_is_retried_later() {
    let portal = TestPortal::recorded().await;
    let timing = Timing {
        attempt: Duration::from_millis(300),
        retry_after: vec![Duration::from_millis(500), Duration::from_millis(500)],
    };
    let (app, hub, _) = hub_app_with(
        &portal,
        |config| config.server.websub_allow_private = true,
        timing.clone(),
    );
    let mut hanging = Hanging::start().await;
    let callback = hanging.url("/slow");
    let ((status, body), _) = post_from(&app, "192.0.2.1:40000", &subscribe(&callback)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (first, first_at) = hanging.next().await;
    assert!(first.starts_with("GET /slow?hub.mode=subscribe"), "{first}");
    let mut last = first_at;
    for wait in &timing.retry_after {
        let (line, at) = hanging.next().await;
        assert!(line.starts_with("GET /slow?hub.mode=subscribe"), "{line}");
        // The attempt before began before it was read, and timed out before the wait began.
        let gap = at - last;
        assert!(
            gap >= *wait,
            "retried {gap:?} after the attempt before: not after its wait ({wait:?})"
        );
        last = at;
    }
    // Waiting for its retries, it left the queue of first attempts to others.
    assert_eq!(hub.pending(), 0);
    assert_eq!(hub.subscriptions(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_gives_its_reason_once() {
    let portal = TestPortal::recorded().await;
    let (app, _hub, _) = hub_app(&portal, |_| ());
    for (callback, reason) in [
        (
            "http://0.0.0.0/cb",
            "0.0.0.0 is an unspecified (\"this network\", 0.0.0.0/8) address",
        ),
        ("http://127.0.0.1:9/cb", "127.0.0.1 is a loopback address"),
        (
            "http://[fc00::1]/cb",
            "fc00::1 is a unique local (fc00::/7) address",
        ),
    ] {
        let ((status, body), _) = post_from(&app, "192.0.2.1:40000", &subscribe(callback)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            body["detail"],
            format!("hub.callback: {reason}; callbacks must be public"),
            "{callback}"
        );
    }
}
