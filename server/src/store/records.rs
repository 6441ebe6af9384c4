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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteOutcome {
    Stored,
    Duplicate,
}

/// A rejected message, kept with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: String,
    pub received_at: i64,
    /// `None` when the message could not be tied to a fleet (bad topic, unknown box).
    pub fleet: Option<FleetId>,
    pub device: Option<String>,
    pub topic: String,
    pub source: String,
    /// Stable machine-readable reason, e.g. `metric_value_not_finite`.
    pub reason: String,
    pub detail: String,
    /// The payload, truncated to 1 KiB (lossy UTF-8).
    pub payload_preview: String,
    pub payload_bytes: usize,
}

/// Counts of one box in one fleet over one minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PipelineCounts {
    pub received: u64,
    pub accepted: u64,
    pub duplicates: u64,
    /// Sequence numbers never seen (gaps), net of late arrivals.
    pub lost: i64,
    pub rejected: BTreeMap<String, u64>,
}

impl PipelineCounts {
    pub fn add(&mut self, other: &PipelineCounts) {
        self.received += other.received;
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        self.lost += other.lost;
        for (reason, n) in &other.rejected {
            *self.rejected.entry(reason.clone()).or_default() += n;
        }
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

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
