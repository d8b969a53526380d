//! The builtin hub's rate limits. A refused request costs the client that sent it, never the
//! next one: refusals are counted per client address, and only requests accepted for
//! verification count against the limits of their callback's origin and their client. Nothing
//! is counted per topic, which every subscriber shares.
//!
//! Each count lives in a minute's window, in an LRU map of bounded size: the least recently seen
//! keys are forgotten first.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use lru::LruCache;
use url::Url;

use crate::websub::Refusal;

/// Subscription requests accepted per callback origin (scheme, host and port) per minute: a
/// query string or a path does not make another callback.
pub const CALLBACK_REQUESTS_PER_MINUTE: u32 = 6;
/// Subscription requests accepted per client address per minute.
pub const CLIENT_REQUESTS_PER_MINUTE: u32 = 60;
/// Refused subscription requests per client address per minute; past them the address is
/// answered 429 before its request is read.
pub const CLIENT_REFUSALS_PER_MINUTE: u32 = 30;
/// Keys remembered by each of the three counts.
const LIMITED_KEYS: usize = 4096;
const WINDOW: Duration = Duration::from_secs(60);

/// Who sent a request: its address, an IPv6 one by its /64 (one host commonly holds a whole
/// /64, and would otherwise have as many budgets as it likes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client(IpAddr);

impl Client {
    pub fn of(addr: IpAddr) -> Client {
        match addr {
            IpAddr::V4(v4) => Client(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Client(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & (u128::MAX << 64);
                    Client(IpAddr::V6(Ipv6Addr::from(prefix)))
                }
            },
        }
    }
}

/// The key of a callback's count: its origin, `scheme://host:port`.
pub fn callback_origin(callback: &Url) -> String {
    callback.origin().ascii_serialization()
}

/// Requests counted in the current minute.
struct Window {
    started: Instant,
    count: u32,
}

/// A request counted against one limit, given back if the request is refused after all.
pub(super) struct Taken<K> {
    key: K,
    started: Instant,
}

/// The three counts.
pub(super) struct Limits {
    refusals: LruCache<Client, Window>,
    accepted: LruCache<Client, Window>,
    callbacks: LruCache<String, Window>,
}

impl Limits {
    pub fn new() -> Limits {
        let size = NonZeroUsize::new(LIMITED_KEYS).unwrap_or(NonZeroUsize::MIN);
        Limits {
            refusals: LruCache::new(size),
            accepted: LruCache::new(size),
            callbacks: LruCache::new(size),
        }
    }

    /// 429 when `client` was refused too often this minute.
    pub fn check_refusals(&mut self, client: Client, now: Instant) -> Result<(), Refusal> {
        match over(&mut self.refusals, client, CLIENT_REFUSALS_PER_MINUTE, now) {
            Some(retry_after) => Err(Refusal::RateLimited {
                what: "refused subscription requests from this address",
                retry_after,
            }),
            None => Ok(()),
        }
    }

    /// Counts a refusal of `client`.
    pub fn refused(&mut self, client: Client, now: Instant) {
        let _ = take(&mut self.refusals, client, u32::MAX, now);
    }

    /// Counts a request against its callback's origin and its client; 429 when either is
    /// over its limit (and then neither is counted).
    pub fn take(
        &mut self,
        origin: String,
        client: Option<Client>,
        now: Instant,
    ) -> Result<(Taken<String>, Option<Taken<Client>>), Refusal> {
        let callback = take(
            &mut self.callbacks,
            origin,
            CALLBACK_REQUESTS_PER_MINUTE,
            now,
        )
        .map_err(|retry_after| Refusal::RateLimited {
            what: "subscription requests for this callback",
            retry_after,
        })?;
        let Some(client) = client else {
            return Ok((callback, None));
        };
        match take(&mut self.accepted, client, CLIENT_REQUESTS_PER_MINUTE, now) {
            Ok(taken) => Ok((callback, Some(taken))),
            Err(retry_after) => {
                give_back(&mut self.callbacks, callback);
                Err(Refusal::RateLimited {
                    what: "subscription requests from this address",
                    retry_after,
                })
            }
        }
    }

    /// Uncounts what [`Limits::take`] counted, for a request refused after it.
    pub fn give_back(&mut self, (callback, client): (Taken<String>, Option<Taken<Client>>)) {
        give_back(&mut self.callbacks, callback);
        if let Some(client) = client {
            give_back(&mut self.accepted, client);
        }
    }
}

/// The window of `key`, begun anew when its minute is over.
fn window<K: std::hash::Hash + Eq>(
    limits: &mut LruCache<K, Window>,
    key: K,
    now: Instant,
) -> &mut Window {
    let window = limits.get_or_insert_mut(key, || Window {
        started: now,
        count: 0,
    });
    if now.duration_since(window.started) >= WINDOW {
        *window = Window {
            started: now,
            count: 0,
        };
    }
    window
}

/// The seconds to wait when `key` is at `max` this minute.
fn over<K: std::hash::Hash + Eq>(
    limits: &mut LruCache<K, Window>,
    key: K,
    max: u32,
    now: Instant,
) -> Option<u64> {
    let window = window(limits, key, now);
    (window.count >= max).then(|| {
        let left = WINDOW.saturating_sub(now.duration_since(window.started));
        left.as_secs().max(1)
    })
}

/// Counts a request of `key` in its minute; the seconds to wait when it is at `max` already.
fn take<K: std::hash::Hash + Eq + Clone>(
    limits: &mut LruCache<K, Window>,
    key: K,
    max: u32,
    now: Instant,
) -> Result<Taken<K>, u64> {
    if let Some(retry_after) = over(limits, key.clone(), max, now) {
        return Err(retry_after);
    }
    let window = window(limits, key.clone(), now);
    window.count += 1;
    Ok(Taken {
        key,
        started: window.started,
    })
}

/// Uncounts `taken`, unless its window has ended (or been forgotten) since.
fn give_back<K: std::hash::Hash + Eq>(limits: &mut LruCache<K, Window>, taken: Taken<K>) {
    if let Some(window) = limits.peek_mut(&taken.key)
        && window.started == taken.started
    {
        window.count = window.count.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(text: &str) -> Client {
        Client::of(text.parse().unwrap())
    }

    #[test]
    fn the_rate_limit_counts_per_key_per_minute_within_its_memory() {
        let mut limits = LruCache::new(NonZeroUsize::new(2).unwrap());
        let start = Instant::now();
        for _ in 0..3 {
            assert!(take(&mut limits, "a", 3, start).is_ok());
        }
        assert_eq!(take(&mut limits, "a", 3, start).err(), Some(60));
        assert!(take(&mut limits, "b", 3, start).is_ok(), "keys apart");
        let later = start + WINDOW;
        assert!(take(&mut limits, "a", 3, later).is_ok(), "a new minute");
        let _ = take(&mut limits, "c", 3, later);
        let _ = take(&mut limits, "d", 3, later);
        assert_eq!(limits.len(), 2, "bounded");
    }

    #[test]
    fn a_request_given_back_is_not_counted() {
        let mut limits = Limits::new();
        let now = Instant::now();
        for _ in 0..CALLBACK_REQUESTS_PER_MINUTE * 2 {
            let taken = limits.take("http://a.example".into(), None, now).unwrap();
            limits.give_back(taken);
        }
        assert!(limits.take("http://a.example".into(), None, now).is_ok());
    }

    #[test]
    fn callbacks_are_counted_by_origin() {
        let origin = |text: &str| callback_origin(&Url::parse(text).unwrap());
        assert_eq!(
            origin("http://Reader.example/cb?i=1"),
            origin("http://reader.example:80/other?i=2")
        );
        assert_ne!(
            origin("http://reader.example/cb"),
            origin("http://reader.example:8080/cb")
        );
        assert_ne!(
            origin("http://reader.example/cb"),
            origin("https://reader.example/cb")
        );
    }

    #[test]
    fn clients_are_their_address_or_their_ipv6_64() {
        assert_eq!(
            client("2001:db8:1:2:aaaa::1"),
            client("2001:db8:1:2:ffff::9")
        );
        assert_ne!(client("2001:db8:1:2::1"), client("2001:db8:1:3::1"));
        assert_eq!(client("::ffff:192.0.2.1"), client("192.0.2.1"));
        assert_ne!(client("192.0.2.1"), client("192.0.2.2"));
    }
}
