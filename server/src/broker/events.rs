//! What the embedded broker tells the host about its clients.
use crate::access::Principal;

/// Receives what authenticated clients do on the embedded broker.
///
/// The calls are awaited inline on the publishing connection's task: a slow implementation slows
/// that connection (and only that one) down, which is the back-pressure we want for ingestion.
#[async_trait::async_trait]
pub trait BrokerEvents: Send + Sync + 'static {
    /// Every publish the ACL allowed (never one it denied), with the publisher's authenticated principal.
    ///
    /// **PUBACK timing: yes, rmqtt 0.24 delays it.** The broker calls this from rmqtt's
    /// `MessagePublishCheckAcl` hook once the ACL has allowed the message, and rmqtt answers a
    /// QoS 1 PUBLISH (PUBACK) — or a QoS 2 one (PUBREC) — only after its publish hooks have
    /// returned and the message has been routed to subscribers. So when this future completes after a
    /// durable write, nothing acknowledged is lost. If the process dies before it completes, the
    /// client never got a PUBACK and sends the message again (ingestion is idempotent on
    /// `(device, seq)`).
    ///
    /// Also called for a last will when rmqtt publishes it (the `status` topic; its topic was
    /// checked against the ACL at CONNECT). For a will there is no client waiting for an ack.
    /// Not called for [`EmbeddedBroker::publish`](super::EmbeddedBroker::publish) (trusted server
    /// publishes).
    ///
    /// Returns [`Delivery::Retry`] when the message could not be kept (the store is down): the
    /// broker then closes the connection without acknowledging, so the client sends it again.
    async fn on_publish(&self, principal: &Principal, topic: &str, payload: &[u8]) -> Delivery;
    /// A client id got a live connection: a client authenticated and its session is established
    /// (just before its CONNACK is sent).
    ///
    /// Presence is per client id: when a new connection takes over an old one with the same client
    /// id (a box reconnecting before the broker noticed the old connection was dead), rmqtt closes
    /// the old one while the new one connects, in either order; the broker reports neither, so the
    /// host never sees a box as offline while it is connected. For one client id, `on_connected`
    /// and `on_disconnected` alternate and never run concurrently.
    async fn on_connected(&self, principal: &Principal);
    /// The last live connection of a client id that `on_connected` reported is gone, for any reason
    /// (DISCONNECT, network error, keepalive timeout, denied publish, expired console credential,
    /// broker shutdown). Its last will, if any, has already been passed to `on_publish` (unless
    /// the MQTT 5 client asked for a will delay). Note that rmqtt 0.24 keeps a connection open after
    /// the client's DISCONNECT until the client closes it (as the protocol requires clients to do).
    async fn on_disconnected(&self, principal: &Principal);
    /// A client's subscription to `filter` is in place (rmqtt's `SessionSubscribed` hook, after the
    /// ACL allowed it): a message published from now on reaches it. Commands held for an offline
    /// box are delivered from here rather than from `on_connected`, when a clean-session box has no
    /// subscription yet.
    async fn on_subscribed(&self, _principal: &Principal, _filter: &str) {}
    /// The broker dropped a message on `topic` (a full queue, no route, an expired message);
    /// ACL denials are not reported here. Called on the broker's path: must not block.
    fn on_dropped(&self, _topic: &str) {}
}

/// What became of a publish handed to [`BrokerEvents::on_publish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Kept (stored, or rejected and kept as a dead letter, or not ours to keep): acknowledge it.
    Done,
    /// Not kept: do not acknowledge; close the connection so that the client retries.
    Retry,
    /// Refused (e.g. an invalid command): not routed to subscribers, treated as a denied publish
    /// (PUBACK 0x87 for MQTT 5; an MQTT 3.1.1 client is disconnected, as by the ACL).
    Refuse,
}
