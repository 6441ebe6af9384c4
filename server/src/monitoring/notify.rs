//! Where alert notifications go: webhooks here (JSON POST, retried), SNS on AWS (issue 4). The
//! console's in-app list is the stored alerts themselves.
use super::AlertRecord;
use app::domain::DeliveryView;
use serde::Serialize;
use std::time::Duration;

/// What a notification says: `fired` or `resolved`, and the alert.
#[derive(Debug, Clone, Serialize)]
pub struct NotificationMessage {
    pub event: &'static str,
    pub alert: AlertRecord,
    /// ms since the epoch.
    pub sent_at: i64,
}

#[async_trait::async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// The channel's name in the alert's deliveries (`webhook`, `sns`).
    fn channel(&self) -> &'static str;
    /// Delivers one notification, retrying as the channel allows; says how it went.
    async fn deliver(&self, message: &NotificationMessage) -> DeliveryView;
}

/// POSTs each notification as JSON. Timeouts, connection errors, 429 and 5xx answers are retried
/// with a doubling wait; other 4xx answers are final (the receiver refuses the message).
pub struct WebhookNotifier {
    client: reqwest::Client,
    url: String,
    attempts: u32,
    backoff: Duration,
}

impl WebhookNotifier {
    pub fn new(url: String, attempts: u32, backoff: Duration, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("boxpilot/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            client,
            url,
            attempts: attempts.max(1),
            backoff,
        }
    }
}

#[async_trait::async_trait]
impl Notifier for WebhookNotifier {
    fn channel(&self) -> &'static str {
        "webhook"
    }

    async fn deliver(&self, message: &NotificationMessage) -> DeliveryView {
        let mut wait = self.backoff;
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            let outcome = self.client.post(&self.url).json(message).send().await;
            let retry = match outcome {
                Ok(r) if r.status().is_success() => {
                    return DeliveryView {
                        channel: "webhook".into(),
                        status: "delivered".into(),
                        attempts: attempt,
                        detail: Some(format!("{} answered {}", self.url, r.status())),
                    };
                }
                Ok(r) => {
                    last = format!("{} answered {}", self.url, r.status());
                    r.status().is_server_error() || r.status().as_u16() == 429
                }
                Err(e) if e.is_timeout() => {
                    last = format!("{} did not answer in time", self.url);
                    true
                }
                Err(e) => {
                    last = format!("{}: {e}", self.url);
                    true
                }
            };
            tracing::warn!(url = %self.url, attempt, detail = %last, "webhook notification not delivered");
            if !retry {
                break;
            }
            if attempt < self.attempts {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        DeliveryView {
            channel: "webhook".into(),
            status: "failed".into(),
            attempts: self.attempts,
            detail: Some(last),
        }
    }
}
