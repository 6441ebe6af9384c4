//! Feeds the ingestion core from the embedded broker's events.
use super::{Inbound, IngestCore, IngestOutcome, Source};
use crate::access::Principal;
use crate::broker::{BrokerEvents, Delivery};
use app::domain::topics::{ContractTopic, TopicKind};
use std::sync::Arc;

pub struct BrokerFeed {
    core: Arc<IngestCore>,
}

impl BrokerFeed {
    pub fn new(core: Arc<IngestCore>) -> Self {
        Self { core }
    }
}

#[async_trait::async_trait]
impl BrokerEvents for BrokerFeed {
    async fn on_publish(&self, principal: &Principal, topic: &str, payload: &[u8]) -> Delivery {
        let Principal::Device { fleet, device } = principal else {
            return Delivery::Done; // consoles publish commands, which are not telemetry
        };
        let data_topic = ContractTopic::parse(topic)
            .is_some_and(|t| matches!(t.kind, TopicKind::Telemetry | TopicKind::Status));
        if !data_topic {
            return Delivery::Done; // command replies are handled by the command service
        }
        let outcome = self
            .core
            .ingest(Inbound {
                topic: topic.to_owned(),
                payload: payload.to_vec(),
                source: Source::Mqtt {
                    client_id: device.to_string(),
                },
                received_at: chrono::Utc::now().timestamp_millis(),
                publisher: Some((fleet.clone(), device.clone())),
            })
            .await;
        match outcome {
            IngestOutcome::Rejected(r) => {
                tracing::debug!(%device, reason = r.reason.as_str(), "message rejected, kept as a dead letter");
                Delivery::Done
            }
            IngestOutcome::Failed(e) => {
                tracing::error!(%device, error = %e, "message not stored");
                Delivery::Retry
            }
            IngestOutcome::Stored | IngestOutcome::Duplicate | IngestOutcome::StatusUpdated => {
                Delivery::Done
            }
        }
    }

    async fn on_connected(&self, principal: &Principal) {
        if let Principal::Device { device, .. } = principal {
            self.core.set_connected(device, true).await;
        }
    }

    async fn on_disconnected(&self, principal: &Principal) {
        if let Principal::Device { device, .. } = principal {
            self.core.set_connected(device, false).await;
        }
    }
}
