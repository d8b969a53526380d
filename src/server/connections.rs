//! Accepting connections for `serve` within bounds: a cap on connections open at once and per
//! client address, a deadline for each request's head (which also closes idle kept-alive
//! connections), a deadline on answers the client stops taking, and a reserve of open files that
//! connections never eat into, so the crawler, the archive and the search index can still open
//! theirs while clients pile up.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_io_timeout::TimeoutStream;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::config::ServerConfig;

/// Open files kept for everything but connections: the crawler's sockets, the WARC files, the
/// index's and the search index's files, the logs.
pub const FILE_RESERVE: u64 = 256;
/// How long connections still open at a stop get to finish their answers.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long to wait before accepting again after `accept` failed (out of files, say).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The bounds `serve` accepts connections within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections one client address may hold at once; 0 for no limit.
    pub per_client: usize,
    /// From a connection's start or its last answer to the end of the next request's head.
    pub header_timeout: Duration,
    /// How long a write of an answer may wait for the client to take bytes.
    pub idle_timeout: Duration,
}

impl Limits {
    /// The configured bounds, with `max_connections` lowered to what the process's open-file
    /// limit allows beside [`FILE_RESERVE`] (`open_files`: the soft limit, when known).
    pub fn new(server: &ServerConfig, open_files: Option<u64>) -> Limits {
        let mut max_connections = server.max_connections;
        if let Some(files) = open_files {
            let room = usize::try_from(files.saturating_sub(FILE_RESERVE))
                .unwrap_or(usize::MAX)
                .max(1);
            if room < max_connections {
                tracing::warn!(
                    configured = max_connections,
                    open_files = files,
                    reserve = FILE_RESERVE,
                    allowed = room,
                    "server.max_connections is more than the open-file limit leaves; lowered"
                );
                max_connections = room;
            }
        }
        Limits {
            max_connections,
            per_client: server.max_connections_per_client.min(max_connections),
            header_timeout: Duration::from_secs(server.header_timeout_secs),
            idle_timeout: Duration::from_secs(server.idle_timeout_secs),
        }
    }
}

/// Raises the soft limit on open files to the hard one and logs both; answers the soft limit now
/// in force (`None` where it cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit write or read the one struct passed.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "cannot read the open-file limit"
            );
            return None;
        }
        let before = limit.rlim_cur;
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            // SAFETY: as above.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                limit.rlim_cur = limit.rlim_max;
            } else {
                tracing::warn!(
                    error = %std::io::Error::last_os_error(),
                    soft = before,
                    hard = limit.rlim_max,
                    "cannot raise the open-file limit"
                );
            }
        }
        tracing::info!(
            soft_before = before,
            soft = limit.rlim_cur,
            hard = limit.rlim_max,
            "open-file limit"
        );
        Some(limit.rlim_cur)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    None
}

/// Connections held per client address, bounded by the connections held in all.
#[derive(Default)]
struct Clients {
    held: Mutex<HashMap<IpAddr, usize>>,
}

impl Clients {
    /// A hold on one more connection of `ip`, or `None` when it holds `limit` already.
    fn admit(self: &Arc<Self>, ip: IpAddr, limit: usize) -> Option<ClientHold> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let count = held.entry(ip).or_insert(0);
        if limit != 0 && *count >= limit {
            return None;
        }
        *count += 1;
        Some(ClientHold {
            clients: self.clone(),
            ip,
        })
    }
}

/// One connection counted against its client; the count drops with it.
struct ClientHold {
    clients: Arc<Clients>,
    ip: IpAddr,
}

impl Drop for ClientHold {
    fn drop(&mut self) {
        let mut held = self.clients.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.ip);
            }
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown`, then lets open answers finish
/// for a few seconds. Every request carries the client's [`ConnectInfo`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let clients = Arc::new(Clients::default());
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    loop {
        let slot = tokio::select! {
            _ = shutdown.cancelled() => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    crate::metrics::METRICS.connection_refused("accept_failed");
                    tracing::error!(%err, "cannot accept a connection; trying again shortly");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let Some(hold) = clients.admit(peer.ip(), limits.per_client) else {
            crate::metrics::METRICS.connection_refused("per_client");
            tracing::debug!(client = %peer.ip(), "closed: the client holds its share of connections");
            continue;
        };
        let connection = http.serve_connection(
            TokioIo::new(bounded(stream, limits.idle_timeout)),
            hyper::service::service_fn({
                let router = router.clone();
                move |request: hyper::Request<Incoming>| {
                    let mut request = request.map(axum::body::Body::new);
                    request.extensions_mut().insert(ConnectInfo(peer));
                    router.clone().oneshot(request)
                }
            }),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(held(connection, slot, hold));
    }
    drop(listener);
    if tokio::time::timeout(STOP_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("connections still open at the stop were closed");
    }
}

/// A connection's stream, whose writes fail once the client takes no byte for `idle`.
fn bounded(stream: TcpStream, idle: Duration) -> Pin<Box<TimeoutStream<TcpStream>>> {
    let _ = stream.set_nodelay(true);
    let mut stream = TimeoutStream::new(stream);
    stream.set_write_timeout(Some(idle));
    Box::pin(stream)
}

/// Runs one connection to its end, holding its slot and its client's count until then.
async fn held(
    connection: impl Future<Output = Result<(), hyper::Error>>,
    _slot: OwnedSemaphorePermit,
    _hold: ClientHold,
) {
    if let Err(err) = connection.await {
        tracing::trace!(%err, "a connection ended in error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_leave_the_file_reserve() {
        let server = ServerConfig::default();
        let roomy = Limits::new(&server, Some(1_048_576));
        assert_eq!(roomy.max_connections, server.max_connections);
        let tight = Limits::new(&server, Some(1024));
        assert_eq!(tight.max_connections, 1024 - FILE_RESERVE as usize);
        assert!(tight.per_client <= tight.max_connections);
        let starved = Limits::new(&server, Some(10));
        assert_eq!(starved.max_connections, 1);
    }

    #[test]
    fn a_client_holds_its_share_and_no_more() {
        let clients = Arc::new(Clients::default());
        let ip: IpAddr = "127.0.0.2".parse().unwrap();
        let other: IpAddr = "127.0.0.3".parse().unwrap();
        let first = clients.admit(ip, 2).unwrap();
        let _second = clients.admit(ip, 2).unwrap();
        assert!(clients.admit(ip, 2).is_none());
        assert!(clients.admit(other, 2).is_some());
        drop(first);
        assert!(clients.admit(ip, 2).is_some());
        assert!(clients.admit(ip, 0).is_some(), "0 is no limit");
    }

    #[test]
    fn counts_are_forgotten_with_their_connections() {
        let clients = Arc::new(Clients::default());
        let ip: IpAddr = "127.0.0.2".parse().unwrap();
        drop(clients.admit(ip, 1));
        assert!(clients.held.lock().unwrap().is_empty());
    }
}
