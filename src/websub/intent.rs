//! A subscription request (`hub.mode`, `hub.topic`, `hub.callback`, `hub.lease_seconds`,
//! `hub.secret`) read from its form, and why one is refused.

use std::collections::HashSet;

use url::Url;

use super::address::AddressError;

/// `hub.secret` must be shorter than this (the recommendation's limit).
pub const MAX_SECRET_BYTES: usize = 200;
/// The longest `hub.callback` accepted.
pub const MAX_CALLBACK_BYTES: usize = 2048;

/// `hub.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Subscribe,
    Unsubscribe,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Subscribe => "subscribe",
            Mode::Unsubscribe => "unsubscribe",
        }
    }
}

/// A subscription request, its parameters checked.
#[derive(Debug, Clone)]
pub struct Intent {
    pub mode: Mode,
    pub topic: Url,
    pub callback: Url,
    pub lease_seconds: Option<u64>,
    pub secret: Option<String>,
}

/// Why a subscription request is refused; the server answers it as JSON.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("bad parameter {param}: {detail}")]
    BadParameter { param: &'static str, detail: String },
    // The reason is the source's: `describe` prints it once, after this.
    #[error("hub.callback")]
    Callback(#[source] AddressError),
    #[error("too many {what}; retry in {retry_after} s")]
    RateLimited {
        what: &'static str,
        retry_after: u64,
    },
    #[error("the hub holds its maximum of {0} subscriptions")]
    Full(usize),
    #[error("the hub is verifying its maximum of {pending} requests; retry in {retry_after} s")]
    Busy { pending: usize, retry_after: u64 },
}

fn bad(param: &'static str, detail: impl Into<String>) -> Refusal {
    Refusal::BadParameter {
        param,
        detail: detail.into(),
    }
}

impl Intent {
    /// Reads a form-encoded request body; `topics` are the feed URLs one may subscribe to. Parameters the recommendation does not name are
    /// ignored, as it asks; a named one given twice is refused.
    pub fn parse(body: &[u8], topics: &HashSet<String>) -> Result<Intent, Refusal> {
        let mut fields: [Option<String>; 5] = Default::default();
        const NAMES: [&str; 5] = [
            "hub.mode",
            "hub.topic",
            "hub.callback",
            "hub.lease_seconds",
            "hub.secret",
        ];
        for (name, value) in url::form_urlencoded::parse(body) {
            if let Some(at) = NAMES.iter().position(|n| *n == name) {
                if fields[at].is_some() {
                    return Err(bad(NAMES[at], "given more than once"));
                }
                fields[at] = Some(value.into_owned());
            }
        }
        let [mode, topic, callback, lease, secret] = fields;
        let mode = match mode.as_deref() {
            Some("subscribe") => Mode::Subscribe,
            Some("unsubscribe") => Mode::Unsubscribe,
            Some(other) => {
                return Err(bad(
                    "hub.mode",
                    format!("expected subscribe or unsubscribe, got {other:?}"),
                ));
            }
            None => return Err(bad("hub.mode", "missing")),
        };
        let topic = topic.ok_or_else(|| bad("hub.topic", "missing"))?;
        let topic = Url::parse(&topic)
            .ok()
            .filter(|url| topics.contains(url.as_str()))
            .ok_or_else(|| {
                bad(
                    "hub.topic",
                    format!("{topic:?} is not a feed of this server (see /feeds.opml)"),
                )
            })?;
        let callback = callback.ok_or_else(|| bad("hub.callback", "missing"))?;
        if callback.len() > MAX_CALLBACK_BYTES {
            return Err(bad(
                "hub.callback",
                format!("longer than {MAX_CALLBACK_BYTES} bytes"),
            ));
        }
        let callback = Url::parse(&callback)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| {
                bad(
                    "hub.callback",
                    format!("expected an absolute http(s) URL, got {callback:?}"),
                )
            })?;
        let lease_seconds = match lease.as_deref() {
            None | Some("") => None,
            Some(text) => Some(text.parse::<u64>().map_err(|_| {
                bad(
                    "hub.lease_seconds",
                    format!("expected a number of seconds, got {text:?}"),
                )
            })?),
        };
        if let Some(secret) = &secret
            && secret.len() >= MAX_SECRET_BYTES
        {
            return Err(bad(
                "hub.secret",
                format!("expected fewer than {MAX_SECRET_BYTES} bytes"),
            ));
        }
        Ok(Intent {
            mode,
            topic,
            callback,
            lease_seconds,
            secret: secret.filter(|s| !s.is_empty()),
        })
    }
}
