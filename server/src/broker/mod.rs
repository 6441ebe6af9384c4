//! The embedded MQTT broker: rmqtt 0.24 in the server process, TCP and WebSocket listeners, with
//! the boxpilot authentication and ACL (see ARCHITECTURE.md, "Sessions and MQTT credentials").
//!
//! - [`BrokerAuthenticator`] decides who connects ([`crate::access::Principal`]); no anonymous access.
//! - [`BrokerEvents`] receives every publish the ACL allowed, with its publisher's principal, before
//!   it is acknowledged, and presence (connected / disconnected).
//! - [`EmbeddedBroker::publish`] is the server's own trusted publish (commands to boxes).
//!
//! Files: `settings.rs` (addresses, limits), `auth.rs` and `events.rs` (the ports), `hooks.rs`
//! (rmqtt hooks: authentication, ACL, presence, publish feed, drop counter), `connections.rs`
//! (connection -> principal), `refusal.rs` (CONNACK "server unavailable"), `embedded.rs` (start,
//! publish, shutdown).
mod auth;
mod connections;
mod embedded;
mod error;
mod events;
mod hooks;
mod refusal;
mod settings;

pub use auth::{BrokerAuthenticator, ConnectRefusal};
pub use embedded::{BrokerPublisher, EmbeddedBroker};
pub use error::BrokerError;
pub use events::{BrokerEvents, Delivery};
pub use settings::BrokerSettings;
