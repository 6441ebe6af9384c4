//! Alert notifications to an SNS topic (the AWS shape: the template's alerts topic; e-mail, SMS,
//! chat or a queue subscribe to it). The SDK's standard retries (3 tries, backoff) apply.
use super::notify::{NotificationMessage, Notifier};
use app::domain::DeliveryView;

pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    /// A notifier publishing to `topic_arn`, in `region`, at `endpoint` if given (moto).
    pub async fn connect(topic_arn: String, region: &str, endpoint: Option<&str>) -> Self {
        let config = crate::aws::sdk::config_loader(Some(region), endpoint)
            .load()
            .await;
        Self {
            client: aws_sdk_sns::Client::new(&config),
            topic_arn,
        }
    }
}

/// SNS subjects are at most 100 printable ASCII characters.
fn subject(message: &NotificationMessage) -> String {
    let a = &message.alert;
    format!(
        "boxpilot alert {}: {} on {}",
        message.event, a.kind, a.subject
    )
    .chars()
    .filter(|c| c.is_ascii() && !c.is_ascii_control())
    .take(100)
    .collect()
}

#[async_trait::async_trait]
impl Notifier for SnsNotifier {
    fn channel(&self) -> &'static str {
        "sns"
    }

    async fn deliver(&self, message: &NotificationMessage) -> DeliveryView {
        let body = serde_json::to_string(message).unwrap_or_default();
        let outcome = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject(message))
            .message(body)
            .send()
            .await;
        match outcome {
            Ok(published) => DeliveryView {
                channel: "sns".into(),
                status: "delivered".into(),
                attempts: 1,
                detail: published.message_id.map(|id| format!("message {id}")),
            },
            Err(e) => {
                let detail = format!(
                    "{}: {}",
                    self.topic_arn,
                    aws_sdk_sns::error::DisplayErrorContext(&e)
                );
                tracing::warn!(%detail, "SNS notification not delivered");
                DeliveryView {
                    channel: "sns".into(),
                    status: "failed".into(),
                    attempts: 1,
                    detail: Some(detail),
                }
            }
        }
    }
}
