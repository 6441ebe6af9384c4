use app::domain::{DeviceId, FleetId, MetricValue, Presence};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A registered box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub id: DeviceId,
    pub fleet: FleetId,
    /// SHA-256 of the box's secret (hex). The secret is 256 random bits, so a slow hash adds
    /// nothing but cost to every reconnect storm.
    pub secret_hash: String,
    pub created_at: i64,
    #[serde(default)]
    pub presence: Presence,
    #[serde(default)]
    pub latest_ts: Option<i64>,
    #[serde(default)]
    pub latest_seq: Option<u64>,
    #[serde(default)]
    pub latest: BTreeMap<String, MetricValue>,
}

/// One accepted telemetry message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub device: DeviceId,
    pub fleet: FleetId,
    pub seq: u64,
    /// Box time, ms since the epoch.
    pub ts: i64,
    /// Server time when it was received, ms.
    pub received_at: i64,
    pub metrics: BTreeMap<String, MetricValue>,
}

/// What one `Store::roll_up` call did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollUpReport {
    /// Boxes with readings in the hours rolled up.
    pub boxes: usize,
    /// (box, hour) aggregates written.
    pub hours: usize,
    /// Boxes with more hours left for the next call (a long pause of the roll-ups).
    pub pending: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteOutcome {
    Stored,
    Duplicate,
}

/// Shared with the console: the same types cross the wire.
pub use app::domain::{DeadLetter, PipelineCounts};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterDelta {
    pub fleet: FleetId,
    /// Start of the minute, ms.
    pub minute: i64,
    /// The box, or `-` for messages that could not be tied to one.
    pub device: String,
    pub counts: PipelineCounts,
}

/// A user of the built-in identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub username: String,
    pub sub: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Role and fleet groups, as Cognito groups: `admin`, `operator`, `fleet:north`, ...
    pub groups: Vec<String>,
    pub enabled: bool,
    pub created_at: i64,
    /// The last login of a month (ms): monthly active users, as Cognito bills them.
    #[serde(default)]
    pub last_active_at: Option<i64>,
    /// "Sign out everywhere" (ms): refresh tokens issued before it no longer work.
    #[serde(default)]
    pub signed_out_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GrantKind {
    /// A browser session (backend-for-frontend): the cookie holds the secret.
    Session,
    /// A refresh token of the built-in identity provider.
    RefreshToken,
}

/// A bearer secret held by a client, stored only as its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub kind: GrantKind,
    pub secret_hash: String,
    pub username: String,
    pub expires_at: i64,
    /// For sessions: the identity provider's tokens, kept on the server.
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
}
