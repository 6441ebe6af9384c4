//! What the embedded broker listens on and the per-connection limits it enforces.
use std::net::{Ipv4Addr, SocketAddr};
use std::num::NonZeroU16;
use std::time::Duration;

use super::BrokerError;

/// Listener addresses and limits of the embedded broker.
///
/// Both listeners apply the same authentication and ACL. A port of 0 picks a free port; the bound
/// addresses are then reported by [`EmbeddedBroker::tcp_addr`](super::EmbeddedBroker::tcp_addr) and
/// [`EmbeddedBroker::ws_addr`](super::EmbeddedBroker::ws_addr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerSettings {
    /// MQTT over TCP (default 127.0.0.1:1883).
    pub tcp: SocketAddr,
    /// MQTT over WebSocket, subprotocol `mqtt`, for browsers (default 127.0.0.1:8083). Clients use
    /// the path `/mqtt`; rmqtt 0.24 does not look at the path, so any path reaches the broker.
    pub ws: SocketAddr,
    /// Largest MQTT packet accepted, in bytes; a bigger packet closes the connection (as IoT Core
    /// does). Default 256 KiB: twice the 128 KiB payload limit that ingestion enforces itself, so an
    /// oversized payload still reaches ingestion and is kept as a dead letter with its reason.
    pub max_packet_size: usize,
    /// Outbound QoS 1 messages in flight (sent, not yet acknowledged) per connection, 1..=65535;
    /// an MQTT 5 client's smaller Receive Maximum wins. Default 32 (rmqtt's own default is 16).
    pub max_inflight: usize,
    /// Messages queued per session for a subscriber that is slow or offline (persistent session)
    /// before the broker drops some: the oldest QoS 1 message, or the incoming QoS 0 one. Drops are
    /// counted by [`EmbeddedBroker::dropped_messages`](super::EmbeddedBroker::dropped_messages).
    /// Default 1000.
    pub max_mqueue_len: usize,
}

impl BrokerSettings {
    pub const DEFAULT_MAX_PACKET_SIZE: usize = 256 * 1024;
    pub const DEFAULT_MAX_INFLIGHT: usize = 32;
    pub const DEFAULT_MAX_MQUEUE_LEN: usize = 1000;

    /// Default limits on the given addresses.
    pub fn new(tcp: SocketAddr, ws: SocketAddr) -> Self {
        Self {
            tcp,
            ws,
            max_packet_size: Self::DEFAULT_MAX_PACKET_SIZE,
            max_inflight: Self::DEFAULT_MAX_INFLIGHT,
            max_mqueue_len: Self::DEFAULT_MAX_MQUEUE_LEN,
        }
    }

    pub(crate) fn validate(&self) -> Result<ListenerLimits, BrokerError> {
        let invalid = |m: String| Err(BrokerError::InvalidSettings(m));
        if self.tcp.port() != 0 && self.tcp == self.ws {
            return invalid(format!(
                "the TCP and WebSocket listeners both use {}",
                self.tcp
            ));
        }
        // rmqtt reads 0 as "unlimited": never let that through.
        let max_packet_size = match u32::try_from(self.max_packet_size) {
            Ok(n) if n >= 1024 => n,
            _ => {
                return invalid(format!(
                    "max_packet_size must be 1 KiB..4 GiB, got {}",
                    self.max_packet_size
                ))
            }
        };
        let max_inflight = match u16::try_from(self.max_inflight)
            .ok()
            .and_then(NonZeroU16::new)
        {
            Some(n) => n,
            None => {
                return invalid(format!(
                    "max_inflight must be 1..=65535, got {}",
                    self.max_inflight
                ))
            }
        };
        if self.max_mqueue_len == 0 {
            return invalid("max_mqueue_len must be at least 1".into());
        }
        Ok(ListenerLimits {
            max_packet_size,
            max_inflight,
            max_mqueue_len: self.max_mqueue_len,
        })
    }
}

impl Default for BrokerSettings {
    fn default() -> Self {
        Self::new(
            (Ipv4Addr::LOCALHOST, 1883).into(),
            (Ipv4Addr::LOCALHOST, 8083).into(),
        )
    }
}

/// The settings, checked and in rmqtt's types.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListenerLimits {
    pub max_packet_size: u32,
    pub max_inflight: NonZeroU16,
    pub max_mqueue_len: usize,
}

/// Fixed listener parameters, chosen to match AWS IoT Core where it has a rule (what works locally
/// works in the cloud) and otherwise to bound what one client can hold.
pub(crate) mod fixed {
    use super::Duration;

    /// Time to receive CONNECT and run authentication (rmqtt default 30 s).
    pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
    /// IoT Core: client ids up to 128 bytes.
    pub const MAX_CLIENT_ID_LEN: usize = 128;
    /// IoT Core: persistent sessions expire after 1 hour by default (rmqtt default 2 h).
    pub const SESSION_EXPIRY: Duration = Duration::from_secs(60 * 60);
    /// A queued or in-flight message without an MQTT 5 expiry property is dropped (and counted)
    /// after this long (rmqtt's default, made explicit). Commands carry their own `expires_at`.
    pub const MESSAGE_EXPIRY: Duration = Duration::from_secs(5 * 60);
    /// Socket send timeout towards a client.
    pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
    /// Accept backlog of each listener.
    pub const BACKLOG: i32 = 1024;
    /// Concurrent connection limit per listener.
    pub const MAX_CONNECTIONS: usize = 100_000;
    /// Concurrent CONNECT handshakes (authentications) per listener.
    pub const MAX_HANDSHAKING: usize = 500;
    /// How long a connection that authenticated but never completed its handshake keeps its
    /// principal in the connection map before it is pruned.
    pub const STALE_HANDSHAKE: Duration = Duration::from_secs(60);
    /// How long `shutdown` waits for the client sessions to close.
    pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let s = BrokerSettings::default();
        let l = s.validate().expect("defaults");
        assert_eq!(l.max_packet_size, 256 * 1024);
        assert_eq!(l.max_inflight.get(), 32);
        assert_eq!(l.max_mqueue_len, 1000);
    }

    #[test]
    fn zero_limits_are_refused() {
        let base = BrokerSettings::default();
        let refused =
            |s: BrokerSettings| matches!(s.validate(), Err(BrokerError::InvalidSettings(_)));
        assert!(refused(BrokerSettings {
            max_packet_size: 0,
            ..base.clone()
        }));
        assert!(refused(BrokerSettings {
            max_inflight: 0,
            ..base.clone()
        }));
        assert!(refused(BrokerSettings {
            max_inflight: 70_000,
            ..base.clone()
        }));
        assert!(refused(BrokerSettings {
            max_mqueue_len: 0,
            ..base.clone()
        }));
        assert!(refused(BrokerSettings {
            ws: base.tcp,
            ..base
        }));
    }
}
