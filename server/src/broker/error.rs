use std::net::SocketAddr;

/// Errors of the embedded broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("invalid broker settings: {0}")]
    InvalidSettings(String),

    /// Another process (or another broker in this one) holds the port.
    #[error("MQTT {listener} listener: address {addr} already in use")]
    AddressInUse {
        listener: &'static str,
        addr: SocketAddr,
    },

    #[error("MQTT {listener} listener: cannot listen on {addr}: {source}")]
    Bind {
        listener: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },

    /// The in-process retained-message store (rmqtt-retainer plugin) did not start.
    #[error("retained-message store failed to start: {0}")]
    Retainer(String),

    /// A server publish named a topic no client could subscribe to (empty, wildcard, NUL).
    #[error("invalid topic for a server publish: {0:?}")]
    InvalidTopic(String),

    #[error("server publish of {size} bytes exceeds the broker's max packet size {max}")]
    PayloadTooLarge { size: usize, max: usize },

    #[error("server publish to {topic} failed: {reason}")]
    Publish { topic: String, reason: String },
}

impl BrokerError {
    /// Maps a listener bind failure from rmqtt (an `anyhow` error around an `io::Error`).
    pub(crate) fn bind(listener: &'static str, addr: SocketAddr, err: rmqtt::Error) -> Self {
        match err.downcast::<std::io::Error>() {
            Ok(io) if io.kind() == std::io::ErrorKind::AddrInUse => {
                BrokerError::AddressInUse { listener, addr }
            }
            Ok(io) => BrokerError::Bind {
                listener,
                addr,
                source: io,
            },
            Err(other) => BrokerError::Bind {
                listener,
                addr,
                source: std::io::Error::other(other.to_string()),
            },
        }
    }
}
