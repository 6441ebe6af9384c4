//! The port through which the server sends messages to boxes (commands, desired state): the
//! embedded broker here, IoT Core's data plane on AWS.
use crate::broker::BrokerPublisher;

#[async_trait::async_trait]
pub trait DevicePublisher: Send + Sync + 'static {
    /// Publishes at QoS 1, not retained.
    async fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<(), String>;
}

#[async_trait::async_trait]
impl DevicePublisher for BrokerPublisher {
    async fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<(), String> {
        BrokerPublisher::publish(self, topic, payload, false)
            .await
            .map_err(|e| e.to_string())
    }
}
