//! Telling external hubs (`server.websub_hubs`) that a feed changed: a form POST of
//! `hub.mode=publish&hub.url=<topic>` per topic, retried with backoff. The hubs are the
//! operator's choice, so they are called as configured (loopback included).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use url::Url;

use super::{REQUEST_TIMEOUT, Topic, WebSubError};

/// Tries of one publish notice: the first and three retries.
pub const PUBLISH_ATTEMPTS: u32 = 4;
/// The wait before the first retry; each next one waits four times longer (1 s, 4 s, 16 s).
pub const RETRY_BASE: Duration = Duration::from_secs(1);

/// The wait before retry `attempt` (1-based) of a publish notice or a delivery.
pub(super) fn backoff(attempt: u32) -> Duration {
    RETRY_BASE * 4u32.saturating_pow(attempt.saturating_sub(1))
}

pub(super) struct Publisher {
    hubs: Vec<Url>,
    client: reqwest::Client,
}

impl Publisher {
    pub fn new(config: &crate::config::Config) -> Result<Publisher, WebSubError> {
        let client = reqwest::Client::builder()
            .user_agent(config.crawler.user_agent.as_str())
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(WebSubError::Client)?;
        Ok(Publisher {
            hubs: config
                .server
                .websub_hubs
                .iter()
                .map(|h| h.0.clone())
                .collect(),
            client,
        })
    }

    /// Tells every hub that `topic` changed, each on a task of its own.
    pub fn publish(&self, topic: &Topic, permits: &Arc<Semaphore>) {
        for hub in &self.hubs {
            let (client, hub, topic) = (self.client.clone(), hub.clone(), topic.url.clone());
            let permits = permits.clone();
            tokio::spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return;
                };
                let ok = notify(&client, &hub, &topic).await;
                crate::metrics::METRICS.websub_published(ok);
            });
        }
    }
}

/// One publish notice, with its retries; true once the hub answered 2xx.
async fn notify(client: &reqwest::Client, hub: &Url, topic: &Url) -> bool {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("hub.mode", "publish")
        .append_pair("hub.url", topic.as_str())
        .finish();
    for attempt in 1..=PUBLISH_ATTEMPTS {
        let sent = client
            .post(hub.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body.clone())
            .send()
            .await;
        let failure = match sent {
            Ok(response) if response.status().is_success() => {
                tracing::info!(%hub, %topic, "WebSub: hub notified");
                return true;
            }
            Ok(response) => format!("answered {}", response.status()),
            Err(err) => crate::describe(&err),
        };
        if attempt == PUBLISH_ATTEMPTS {
            tracing::warn!(%hub, %topic, %failure, attempts = attempt, "WebSub: hub not notified");
            return false;
        }
        tracing::info!(%hub, %topic, %failure, attempt, "WebSub: publish notice failed; retrying");
        tokio::time::sleep(backoff(attempt)).await;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_fourfold() {
        let waits: Vec<u64> = (1..PUBLISH_ATTEMPTS)
            .map(|a| backoff(a).as_secs())
            .collect();
        assert_eq!(waits, [1, 4, 16]);
    }
}
