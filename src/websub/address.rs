//! Which addresses the builtin hub may call back, and a client that connects only to the
//! addresses checked. A hub calls URLs strangers give it: without this, a subscription could
//! make gazette reach its own host, its network, or a cloud metadata service.
//!
//! Callbacks are resolved here, every resolved address is checked, and the request goes to
//! those addresses only (`ClientBuilder::resolve_to_addrs`), with no redirect followed and no
//! proxy: a DNS answer that changes between the check and the connection cannot slip through.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use url::{Host, Url};

/// How long resolving a callback's host may take.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a callback cannot be called.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    #[error("expected an http or https URL, got scheme {0:?}")]
    Scheme(String),
    #[error("the URL has no host")]
    NoHost,
    #[error("cannot resolve {host}")]
    Resolve {
        host: String,
        #[source]
        cause: std::io::Error,
    },
    #[error("resolving {0} took longer than {RESOLVE_TIMEOUT:?}")]
    ResolveTimeout(String),
    #[error("{0} resolves to no address")]
    NoAddress(String),
    #[error("{}", refused(host, addr, reason))]
    Refused {
        host: String,
        addr: IpAddr,
        reason: &'static str,
    },
    #[error("cannot make the HTTP client")]
    Client(#[source] reqwest::Error),
}

fn refused(host: &str, addr: &IpAddr, reason: &str) -> String {
    let named = if host.trim_matches(['[', ']']) == addr.to_string() {
        addr.to_string()
    } else {
        format!("{host} resolves to {addr},")
    };
    format!(
        "{named} is {} {reason} address; callbacks must be public",
        article(reason)
    )
}

/// "a" or "an" before a kind of address: by its sound, so "an unspecified", "an IETF", but
/// "a unique local".
fn article(kind: &str) -> &'static str {
    let sounds_vowel = kind.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U'])
        && !kind.starts_with("uni");
    if sounds_vowel { "an" } else { "a" }
}

/// What kind of special address `ip` is, or `None` for a public unicast address.
pub fn special(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let reason = if ip.is_unspecified() || a == 0 {
        "unspecified (\"this network\", 0.0.0.0/8)"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_private() {
        "private (RFC 1918)"
    } else if ip.is_link_local() {
        "link-local"
    } else if a == 100 && (b & 0xc0) == 64 {
        "shared (carrier-grade NAT, 100.64.0.0/10)"
    } else if ip.is_broadcast() {
        "broadcast"
    } else if ip.is_multicast() {
        "multicast"
    } else if ip.is_documentation() {
        "documentation"
    } else if a == 192 && b == 0 && c == 0 {
        "IETF protocol assignment (192.0.0.0/24)"
    } else if a == 192 && b == 88 && c == 99 {
        "6to4 relay anycast"
    } else if a == 198 && (b & 0xfe) == 18 {
        "benchmarking (198.18.0.0/15)"
    } else if a >= 240 {
        "reserved (240.0.0.0/4)"
    } else {
        return None;
    };
    Some(reason)
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // Addresses that carry an IPv4 address are judged by it.
    if let Some(v4) = embedded_v4(ip) {
        return special_v4(v4);
    }
    let segments = ip.segments();
    let reason = if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_multicast() {
        "multicast"
    } else if ip.is_unique_local() {
        "unique local (fc00::/7)"
    } else if ip.is_unicast_link_local() {
        "link-local"
    } else if segments[0] & 0xffc0 == 0xfec0 {
        "site-local (fec0::/10)"
    } else if segments[0] == 0x2001 && segments[1] == 0x0db8 {
        "documentation (2001:db8::/32)"
    } else if segments[0] == 0x2001 && segments[1] < 0x0200 {
        "IETF protocol assignment (2001::/23)"
    } else if segments[..4] == [0x0100, 0, 0, 0] {
        "discard-only (100::/64)"
    } else if segments[..3] == [0x0064, 0xff9b, 0x0001] {
        "local-use NAT64 (64:ff9b:1::/48)"
    } else if segments[0] == 0 {
        "reserved (::/8)"
    } else {
        return None;
    };
    Some(reason)
}

/// The IPv4 address an IPv6 address stands for: mapped (`::ffff:a.b.c.d`), compatible
/// (`::a.b.c.d`, deprecated), NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:AABB:CCDD::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_unspecified() && !ip.is_loopback() {
        return Some(low(s[6], s[7]));
    }
    if s[..6] == [0x0064, 0xff9b, 0, 0, 0, 0] {
        return Some(low(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return Some(low(s[1], s[2]));
    }
    None
}

/// A callback's host resolved, every address checked (unless `allow_private`).
#[derive(Debug, Clone)]
pub struct Checked {
    pub url: Url,
    pub addrs: Vec<SocketAddr>,
}

/// Resolves `url`'s host and checks every address it gives; one special address refuses the
/// whole URL (a name that also points inside is not trusted).
pub async fn check(url: &Url, allow_private: bool) -> Result<Checked, AddressError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AddressError::Scheme(url.scheme().to_string()));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let (name, addrs) = match url.host() {
        None => return Err(AddressError::NoHost),
        Some(Host::Ipv4(ip)) => (ip.to_string(), vec![SocketAddr::new(ip.into(), port)]),
        Some(Host::Ipv6(ip)) => (ip.to_string(), vec![SocketAddr::new(ip.into(), port)]),
        Some(Host::Domain(domain)) => {
            let lookup = tokio::net::lookup_host((domain, port));
            let found = tokio::time::timeout(RESOLVE_TIMEOUT, lookup)
                .await
                .map_err(|_| AddressError::ResolveTimeout(domain.to_string()))?
                .map_err(|cause| AddressError::Resolve {
                    host: domain.to_string(),
                    cause,
                })?;
            (domain.to_string(), found.collect())
        }
    };
    if addrs.is_empty() {
        return Err(AddressError::NoAddress(name));
    }
    if !allow_private {
        for addr in &addrs {
            if let Some(reason) = special(addr.ip()) {
                return Err(AddressError::Refused {
                    host: name,
                    addr: addr.ip(),
                    reason,
                });
            }
        }
    }
    Ok(Checked {
        url: url.clone(),
        addrs,
    })
}

impl Checked {
    /// A client that reaches this URL's host only at the checked addresses, follows no
    /// redirect and uses no proxy.
    pub fn client(
        &self,
        user_agent: &str,
        timeout: Duration,
    ) -> Result<reqwest::Client, AddressError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if let Some(Host::Domain(domain)) = self.url.host() {
            builder = builder.resolve_to_addrs(domain, &self.addrs);
        }
        builder.build().map_err(AddressError::Client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> Option<&'static str> {
        special(text.parse().unwrap())
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:82b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(reason(ip), None, "{ip} is public");
        }
    }

    #[test]
    fn special_v4_addresses_are_refused_with_their_kind() {
        for (ip, kind) in [
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.0.0.1", "private"),
            ("172.16.5.4", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "shared"),
            ("100.127.255.255", "shared"),
            ("255.255.255.255", "broadcast"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("192.0.2.7", "documentation"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.7", "documentation"),
            ("192.0.0.8", "IETF"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.1", "benchmarking"),
            ("240.0.0.1", "reserved"),
        ] {
            let got = reason(ip).unwrap_or_else(|| panic!("{ip} should be refused"));
            assert!(got.starts_with(kind), "{ip}: {got}");
        }
    }

    #[test]
    fn special_v6_addresses_are_refused_with_their_kind() {
        for (ip, kind) in [
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("ff02::1", "multicast"),
            ("fc00::1", "unique local"),
            ("fd12:3456::1", "unique local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fec0::1", "site-local"),
            ("2001:db8::1", "documentation"),
            ("2001::1", "IETF"),
            ("100::1", "discard-only"),
            ("64:ff9b:1::1", "local-use NAT64"),
        ] {
            let got = reason(ip).unwrap_or_else(|| panic!("{ip} should be refused"));
            assert!(got.starts_with(kind), "{ip}: {got}");
        }
    }

    #[test]
    fn v4_inside_v6_is_judged_as_v4() {
        for (ip, kind) in [
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.1.2.3", "private"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::10.0.0.1", "private"),
            ("64:ff9b::a9fe:a9fe", "link-local"),
            ("2002:c0a8:0101::1", "private"),
            ("2002:7f00:0001::1", "loopback"),
        ] {
            let got = reason(ip).unwrap_or_else(|| panic!("{ip} should be refused"));
            assert!(got.starts_with(kind), "{ip}: {got}");
        }
        assert_eq!(
            reason("2002:0808:0808::1"),
            None,
            "6to4 of a public address"
        );
    }

    #[test]
    fn refusals_read_a_or_an_as_spoken() {
        for (ip, expected) in [
            (
                "0.0.0.0",
                "0.0.0.0 is an unspecified (\"this network\", 0.0.0.0/8) address",
            ),
            ("::", ":: is an unspecified address"),
            (
                "192.0.0.8",
                "192.0.0.8 is an IETF protocol assignment (192.0.0.0/24) address",
            ),
            ("fc00::1", "fc00::1 is a unique local (fc00::/7) address"),
            ("127.0.0.1", "127.0.0.1 is a loopback address"),
            ("192.88.99.1", "192.88.99.1 is a 6to4 relay anycast address"),
        ] {
            let addr: IpAddr = ip.parse().unwrap();
            let text = refused(ip, &addr, special(addr).unwrap());
            assert_eq!(text, format!("{expected}; callbacks must be public"));
        }
    }

    #[tokio::test]
    async fn literal_callbacks_are_checked_without_a_connection() {
        for url in [
            "http://10.0.0.1/cb",
            "http://169.254.169.254/latest/meta-data/",
            "http://127.0.0.1:9/cb",
            "http://[::1]/cb",
            "http://[::ffff:192.168.0.1]/cb",
        ] {
            let url = Url::parse(url).unwrap();
            let err = check(&url, false).await.unwrap_err();
            assert!(matches!(err, AddressError::Refused { .. }), "{url}: {err}");
            assert!(
                check(&url, true).await.is_ok(),
                "{url} with private allowed"
            );
        }
        let ftp = Url::parse("ftp://example.org/").unwrap();
        assert!(matches!(
            check(&ftp, true).await,
            Err(AddressError::Scheme(_))
        ));
    }

    #[tokio::test]
    async fn names_are_checked_on_what_they_resolve_to() {
        let url = Url::parse("http://localhost:9/cb").unwrap();
        let err = check(&url, false).await.unwrap_err();
        assert!(matches!(err, AddressError::Refused { .. }), "{err}");
    }
}
