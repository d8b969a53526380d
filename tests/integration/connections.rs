//! `serve`'s connections on a real listener: a cap in all and per client address, a deadline for
//! a request's head (slow clients and idle kept-alive connections), and a deadline on answers a
//! client stops taking. Each test waits on what the sockets do, with a generous bound only to
//! fail instead of hanging.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use gazette::server::connections::{self, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;

/// Long enough that only a fault makes a test wait this long.
const BOUND: Duration = Duration::from_secs(20);

struct Server {
    addr: SocketAddr,
    stop: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A router answering who asked at `/who`, and 32 MiB at `/big`, served within `limits`.
async fn start(limits: Limits) -> Server {
    let router = Router::new()
        .route(
            "/who",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        )
        .route("/big", get(|| async { vec![b'x'; 32 << 20] }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(connections::serve(listener, router, limits, stop.clone()));
    Server { addr, stop }
}

fn limits(max_connections: usize, per_client: usize) -> Limits {
    Limits {
        max_connections,
        per_client,
        header_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
    }
}

/// A connection from the loopback address `from`.
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Sends one request and reads the whole answer (the connection is closed after it).
async fn ask(stream: &mut TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(BOUND, stream.read_to_end(&mut answer))
        .await
        .expect("an answer within the bound")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// Waits for the server to close `stream`, reading and dropping whatever it sends first.
async fn closed(stream: &mut TcpStream) -> bool {
    let mut sink = vec![0; 64 * 1024];
    tokio::time::timeout(BOUND, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn a_client_holding_its_share_is_refused_more_while_others_are_served() {
    let server = start(limits(16, 2)).await;
    let _held: Vec<TcpStream> = vec![
        connect_from("127.0.0.2", server.addr).await,
        connect_from("127.0.0.2", server.addr).await,
    ];
    let mut third = connect_from("127.0.0.2", server.addr).await;
    assert!(
        closed(&mut third).await,
        "a third connection from 127.0.0.2 was not closed"
    );
    let mut other = connect_from("127.0.0.3", server.addr).await;
    let answer = ask(&mut other, "/who").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("127.0.0.3"), "{answer}");
}

#[tokio::test]
async fn past_the_cap_a_connection_waits_until_one_closes() {
    let server = start(limits(2, 0)).await;
    let first = connect_from("127.0.0.1", server.addr).await;
    let _second = connect_from("127.0.0.1", server.addr).await;
    let mut third = connect_from("127.0.0.1", server.addr).await;
    third
        .write_all(b"GET /who HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut byte)).await;
    assert!(
        early.is_err(),
        "the third connection was answered while two were held"
    );
    drop(first);
    let mut answer = Vec::new();
    tokio::time::timeout(BOUND, third.read_to_end(&mut answer))
        .await
        .expect("answered once a slot was free")
        .unwrap();
    let answer = format!("{}{}", byte[0] as char, String::from_utf8_lossy(&answer));
    assert!(answer.contains("200 OK"), "{answer}");
}

#[tokio::test]
async fn a_head_sent_too_slowly_and_an_idle_connection_are_closed() {
    let mut fast = limits(16, 0);
    fast.header_timeout = Duration::from_millis(500);
    let server = start(fast).await;
    // A slowloris: a head begun and never finished.
    let mut slow = connect_from("127.0.0.1", server.addr).await;
    slow.write_all(b"GET /who HTTP/1.1\r\nX-Slow: 1\r\n")
        .await
        .unwrap();
    assert!(closed(&mut slow).await, "a head never finished held on");
    // A kept-alive connection that asks nothing more after its answer.
    let mut idle = connect_from("127.0.0.1", server.addr).await;
    idle.write_all(b"GET /who HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    assert!(closed(&mut idle).await, "an idle connection held on");
}

#[tokio::test]
async fn a_client_that_stops_taking_its_answer_gives_its_slot_back() {
    let mut one = limits(1, 0);
    one.idle_timeout = Duration::from_millis(500);
    let server = start(one).await;
    let mut stalled = connect_from("127.0.0.1", server.addr).await;
    stalled
        .write_all(b"GET /big HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    // The one slot is the stalled client's until its answer's write times out.
    let mut next = connect_from("127.0.0.1", server.addr).await;
    let answer = ask(&mut next, "/who").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(stalled);
}
