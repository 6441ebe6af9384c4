use super::{FleetId, Role};
use serde::{Deserialize, Serialize};

/// What the browser knows of its session: never a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub username: String,
    pub role: Role,
    /// The fleets this user may see; `all_fleets` is true for admins.
    pub fleets: Vec<FleetId>,
    pub all_fleets: bool,
}

/// A short-lived credential for the MQTT-over-WebSocket connection of a browser session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerCredential {
    /// WebSocket URL of the broker, e.g. `ws://127.0.0.1:8083/mqtt`.
    pub url: String,
    pub client_id: String,
    pub username: String,
    /// A token signed by the server, checked by the broker's authentication hook.
    pub password: String,
    /// Milliseconds since the epoch; renew before.
    pub expires_at: i64,
    pub subscribe: Vec<String>,
    pub publish: Vec<String>,
}
