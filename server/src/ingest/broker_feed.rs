//! Feeds the ingestion core from the embedded broker's events.
use super::{Inbound, IngestCore, IngestOutcome, Source};
use crate::access::Principal;
use crate::broker::{BrokerEvents, Delivery};
use crate::commands::CommandService;
use crate::shadow::ShadowService;
use app::domain::topics::{self, ContractTopic, TopicKind};
use std::sync::Arc;

pub struct BrokerFeed {
    core: Arc<IngestCore>,
    commands: Option<Arc<CommandService>>,
    shadows: Option<Arc<ShadowService>>,
}

impl BrokerFeed {
    pub fn new(core: Arc<IngestCore>) -> Self {
        Self {
            core,
            commands: None,
            shadows: None,
        }
    }

    /// Records the boxes' reported state and sends them their desired state when they subscribe.
    pub fn with_shadows(mut self, shadows: Arc<ShadowService>) -> Self {
        self.shadows = Some(shadows);
        self
    }

    /// Records the commands consoles publish and the boxes' replies.
    pub fn with_commands(mut self, commands: Arc<CommandService>) -> Self {
        self.commands = Some(commands);
        self
    }
}

#[async_trait::async_trait]
impl BrokerEvents for BrokerFeed {
    async fn on_publish(&self, principal: &Principal, topic: &str, payload: &[u8]) -> Delivery {
        let parsed = ContractTopic::parse(topic);
        let Principal::Device { fleet, device } = principal else {
            // Consoles publish commands (the ACL allows nothing else): same path as the REST API.
            return match (&self.commands, parsed) {
                (Some(commands), Some(t)) if t.kind == TopicKind::CommandRequest => {
                    commands
                        .from_console(principal, &t.fleet, &t.device, payload)
                        .await
                }
                _ => Delivery::Done,
            };
        };
        let data_topic = parsed
            .as_ref()
            .is_some_and(|t| matches!(t.kind, TopicKind::Telemetry | TopicKind::Status));
        if !data_topic {
            return match (parsed.map(|t| t.kind), &self.commands, &self.shadows) {
                (Some(TopicKind::CommandResponse), Some(commands), _) => {
                    commands.on_reply(device, payload).await;
                    Delivery::Done
                }
                (Some(TopicKind::ShadowReported), _, Some(shadows)) => {
                    shadows.on_report(fleet, device, payload).await
                }
                _ => Delivery::Done,
            };
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

    async fn on_subscribed(&self, principal: &Principal, filter: &str) {
        // A clean-session box has no subscription when it connects: held commands are delivered
        // once it subscribes to its request topic again.
        let Principal::Device { fleet, device } = principal else {
            return;
        };
        if let Some(commands) = &self.commands {
            if filter == topics::command_request(fleet, device) {
                let (commands, device) = (commands.clone(), device.clone());
                tokio::spawn(async move { commands.deliver_pending(&device).await });
            }
        }
        if let Some(shadows) = &self.shadows {
            if filter == topics::shadow_desired(fleet, device) {
                let (shadows, fleet, device) = (shadows.clone(), fleet.clone(), device.clone());
                tokio::spawn(async move { shadows.on_subscribed(&fleet, &device).await });
            }
        }
    }

    fn on_dropped(&self, topic: &str) {
        self.core.record_dropped(topic);
    }

    async fn on_disconnected(&self, principal: &Principal) {
        if let Principal::Device { device, .. } = principal {
            self.core.set_connected(device, false).await;
        }
    }
}
