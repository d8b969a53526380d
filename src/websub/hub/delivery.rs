//! Deliveries of changed feeds to the builtin hub's subscribers: the document as served, its
//! `Link` headers, the signature, retries with backoff, and dropping subscribers that fail.

use std::sync::Arc;

use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use url::Url;

use super::Hub;
use crate::archive::Subscription;
use crate::metrics::METRICS;
use crate::websub::address;
use crate::websub::publish::backoff;
use crate::websub::{Document, REQUEST_TIMEOUT, Topic};

/// Tries of one delivery: the first and three retries (after 1 s, 4 s, 16 s).
pub const DELIVERY_ATTEMPTS: u32 = 4;
/// A subscriber whose deliveries failed this many times in a row (each after its retries) is
/// dropped; one that answers 410 Gone is dropped at once.
pub const MAX_FAILED_DELIVERIES: u32 = 5;

impl Hub {
    /// Delivers `document` to every subscriber of `topic`, each on a task of its own.
    pub fn deliver(self: &Arc<Self>, topic: &Topic, document: &Document) {
        let topic_url = topic.url.to_string();
        let subscribers: Vec<Subscription> = self
            .state()
            .active
            .range((topic_url.clone(), String::new())..)
            .take_while(|((t, _), _)| *t == topic_url)
            .map(|(_, s)| s.clone())
            .collect();
        for subscription in subscribers {
            let hub = self.clone();
            let document = document.clone();
            tokio::spawn(async move {
                let Ok(_permit) = hub.permits.clone().acquire_owned().await else {
                    return;
                };
                hub.deliver_one(subscription, &document).await;
            });
        }
    }

    async fn deliver_one(&self, subscription: Subscription, document: &Document) {
        if subscription.expires <= Utc::now().fixed_offset() {
            self.drop_expired().await;
            return;
        }
        let delivered = self.post(&subscription, document).await;
        let key = (subscription.topic.clone(), subscription.callback.clone());
        // The subscription as it is now: it may have been renewed or ended meanwhile.
        let Some(mut current) = self.state().active.get(&key).cloned() else {
            return;
        };
        let next = failures_after(&delivered, current.failures);
        let outcome = match (&delivered, next) {
            (_, None) => "dropped",
            (Delivered::Ok, _) => "ok",
            _ => "failed",
        };
        METRICS.websub_delivered(outcome);
        if next == Some(current.failures) {
            return;
        }
        let kept = next.map(|failures| {
            current.failures = failures;
            current
        });
        if let Delivered::Failed(reason) = &delivered {
            tracing::warn!(callback = %subscription.callback, topic = %subscription.topic,
                %reason, dropped = kept.is_none(), "WebSub: delivery failed");
        }
        if let Err(err) = self.keep(&key.0, &key.1, kept.clone()).await {
            tracing::error!(error = %crate::describe(&err), "WebSub: cannot update a subscription");
        }
        let mut state = self.state();
        match kept {
            Some(subscription) => {
                if let Some(slot) = state.active.get_mut(&key) {
                    *slot = subscription;
                }
            }
            None => {
                state.active.remove(&key);
                tracing::info!(callback = %key.1, topic = %key.0, "WebSub: subscriber dropped");
            }
        }
        self.counted(state.active.len());
    }

    /// One delivery with its retries. The callback's addresses are checked again each time.
    async fn post(&self, subscription: &Subscription, document: &Document) -> Delivered {
        let Ok(callback) = Url::parse(&subscription.callback) else {
            return Delivered::Gone;
        };
        let links = format!("{}, <{}>; rel=\"self\"", self.hub_links, subscription.topic);
        let signature = subscription
            .secret
            .as_deref()
            .map(|secret| format!("sha256={}", sign(secret.as_bytes(), &document.body)));
        let mut failure = String::new();
        for attempt in 1..=DELIVERY_ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(backoff(attempt - 1)).await;
            }
            let checked =
                match address::check(&callback, self.config.server.websub_allow_private).await {
                    Ok(checked) => checked,
                    Err(err) => {
                        failure = crate::describe(&err);
                        continue;
                    }
                };
            let client = match checked.client(&self.config.crawler.user_agent, REQUEST_TIMEOUT) {
                Ok(client) => client,
                Err(err) => return Delivered::Failed(crate::describe(&err)),
            };
            let mut request = client
                .post(callback.clone())
                .header(reqwest::header::CONTENT_TYPE, &document.content_type)
                .header(reqwest::header::LINK, &links)
                .body(document.body.clone());
            if let Some(signature) = &signature {
                request = request.header("X-Hub-Signature", signature);
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => return Delivered::Ok,
                Ok(response) if response.status() == reqwest::StatusCode::GONE => {
                    return Delivered::Gone;
                }
                Ok(response) => failure = format!("the callback answered {}", response.status()),
                Err(err) => failure = crate::describe(&err),
            }
        }
        Delivered::Failed(failure)
    }
}

/// How a delivery ended.
enum Delivered {
    Ok,
    /// 410 Gone: the subscriber asks to be forgotten.
    Gone,
    Failed(String),
}

/// What a delivery leaves of a subscriber whose deliveries had failed `failures` times in a row:
/// the count to keep, or `None` when the subscriber is dropped.
fn failures_after(delivered: &Delivered, failures: u32) -> Option<u32> {
    match delivered {
        Delivered::Ok => Some(0),
        Delivered::Failed(_) if failures + 1 < MAX_FAILED_DELIVERIES => Some(failures + 1),
        Delivered::Failed(_) | Delivered::Gone => None,
    }
}

/// Hex HMAC-SHA256 of `body` with `secret`: the `X-Hub-Signature` value after `sha256=`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscriber_is_dropped_after_failures_in_a_row_or_at_once_when_gone() {
        let failed = Delivered::Failed("answered 500".into());
        let mut failures = 0;
        for _ in 1..MAX_FAILED_DELIVERIES {
            failures = failures_after(&failed, failures).expect("kept");
        }
        assert_eq!(failures, MAX_FAILED_DELIVERIES - 1);
        assert_eq!(failures_after(&Delivered::Ok, failures), Some(0), "reset");
        assert_eq!(
            failures_after(&failed, failures),
            None,
            "the last failure drops"
        );
        assert_eq!(failures_after(&Delivered::Gone, 0), None);
    }

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
