//! The browser's MQTT-over-WebSocket connection to the broker, and the live events it delivers.
mod client;
pub mod codec;
mod live;

pub use client::{ConnectionState, MqttClient};
pub use live::LiveEvent;
