//! `allowed_hosts`: which hosts and ports a source may fetch.

use std::fmt;

use serde::Deserialize;
use url::Url;

/// One `allowed_hosts` entry: `host` or `host:port` (an IPv6 address in brackets).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct AllowedHost {
    /// Lower case, as the `url` crate writes it (IPv6 in brackets).
    pub host: String,
    /// None: the scheme's default port and `base_url`'s port.
    pub port: Option<u16>,
}

impl TryFrom<String> for AllowedHost {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let refuse = || {
            format!(
                "expected a host or host:port such as \"portal.example\" or \"127.0.0.1:8080\", \
                 got {value:?}"
            )
        };
        if value.is_empty()
            || value.contains(['/', '@', '?', '#'])
            || value.contains(char::is_whitespace)
        {
            return Err(refuse());
        }
        // Parsed as the authority of a URL, so the host is written as URLs write it.
        let url = Url::parse(&format!("http://{value}/")).map_err(|_| refuse())?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(refuse)?;
        let port = match value.rsplit_once(':') {
            Some((_, after)) if !after.contains(']') => match after.parse::<u16>() {
                Ok(port) if port > 0 => Some(port),
                _ => return Err(refuse()),
            },
            _ => None,
        };
        Ok(AllowedHost {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// Where a source may fetch: a bare host on its scheme's default port or `base_url`'s port, a
/// `host:port` on that port only, so a redirect or link to another port is not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts {
    entries: Vec<AllowedHost>,
    base_port: Option<u16>,
}

impl AllowedHosts {
    /// The entries of `allowed_hosts`, or `base_url`'s host when there are none.
    pub fn new(allowed_hosts: &[AllowedHost], base_url: &Url) -> AllowedHosts {
        let entries = if allowed_hosts.is_empty() {
            base_url
                .host_str()
                .map(|host| AllowedHost {
                    host: host.to_ascii_lowercase(),
                    port: None,
                })
                .into_iter()
                .collect()
        } else {
            allowed_hosts.to_vec()
        };
        AllowedHosts {
            entries,
            base_port: base_url.port_or_known_default(),
        }
    }

    /// Whether `url`'s host and port are allowed.
    pub fn allows(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let port = url.port_or_known_default();
        self.entries.iter().any(|entry| {
            entry.host.eq_ignore_ascii_case(host)
                && match entry.port {
                    Some(allowed) => port == Some(allowed),
                    None => url.port().is_none() || port == self.base_port,
                }
        })
    }

    pub fn entries(&self) -> &[AllowedHost] {
        &self.entries
    }
}

impl fmt::Display for AllowedHosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{entry}")?;
        }
        Ok(())
    }
}

/// `host` or `host:port` of a URL, as allowed_hosts spells it.
pub fn host_and_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}
