//! The `Store` port: everything boxpilot keeps. Two adapters implement it (embedded redb here,
//! DynamoDB on AWS) and both must pass the conformance suite in `conformance.rs`.
//!
//! The contract is shaped for a key-value store with range queries: every read is a point get or
//! a range over one partition (a box, a fleet, a user), never a scan over everything.
mod embedded;
pub(crate) mod latest;
mod reading_codec;
mod records;
mod roll_up;

pub mod conformance;

pub use embedded::EmbeddedStore;
#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "aws")]
pub use dynamodb::DynamoStore;
pub use records::*;
pub use roll_up::{start_roll_ups, ROLL_UP_EVERY};

pub use crate::commands::{CommandRecord, CommandState};
pub use crate::monitoring::AlertRecord;
pub use crate::rollouts::RolloutRecord;
pub use crate::shadow::ShadowRecord;
use app::domain::{DeviceId, FleetId, Presence, SeriesPoint};
pub use monitor::rules::AlertRule;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0} not found")]
    NotFound(String),
    /// A conditional write lost: the record changed since it was read.
    #[error("{0} changed meanwhile")]
    Conflict(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    // Boxes
    /// Registers a box; fails with `AlreadyExists` if the id is taken (ids are unique across fleets).
    async fn create_device(&self, device: &DeviceRecord) -> StoreResult<()>;
    async fn get_device(&self, id: &DeviceId) -> StoreResult<Option<DeviceRecord>>;
    /// Boxes of one fleet, or of every fleet, ordered by id.
    async fn list_devices(&self, fleet: Option<&FleetId>) -> StoreResult<Vec<DeviceRecord>>;
    /// Replaces the presence of a box (connection events and the status topic).
    async fn set_presence(&self, id: &DeviceId, presence: &Presence) -> StoreResult<()>;

    // Telemetry
    /// Stores readings idempotently on (device, ts, seq) and advances each box's latest values.
    /// Returns one outcome per reading, in order. Either the whole batch is durable or an error.
    async fn put_readings(&self, readings: &[Reading]) -> StoreResult<Vec<WriteOutcome>>;
    /// Brings the latest values and last-seen time of these boxes (from `get_device` or
    /// `list_devices`) up to date with their readings. The embedded store's records are current
    /// already (it keeps them in memory between roll-ups); the DynamoDB store keeps them as of
    /// the last `roll_up`, so that a reading costs one write, and applies the readings after it
    /// here (one Query per box). Call it where latest values are shown; presence and
    /// registration need no refresh.
    async fn refresh_latest(&self, _devices: &mut [DeviceRecord]) -> StoreResult<()> {
        Ok(())
    }
    /// `get_device` with the latest values brought up to date (`refresh_latest`).
    async fn get_device_latest(&self, id: &DeviceId) -> StoreResult<Option<DeviceRecord>> {
        let mut found = self.get_device(id).await?;
        if let Some(d) = &mut found {
            self.refresh_latest(std::slice::from_mut(d)).await?;
        }
        Ok(found)
    }
    /// Writes what the store derives from readings: DynamoDB, the hourly aggregates and latest
    /// values of the hours closed before `now_ms`; embedded, the latest values kept in memory.
    /// Called every minute (the scheduled function, `serve`) and when `serve` stops; cheap when
    /// there is nothing new.
    async fn roll_up(&self, _now_ms: i64) -> StoreResult<RollUpReport> {
        Ok(RollUpReport::default())
    }
    /// Points of one numeric or boolean metric of one box in `[from, to]` (ms), in time order.
    async fn metric_series(
        &self,
        id: &DeviceId,
        metric: &str,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<SeriesPoint>>;

    // Pipeline
    async fn put_dead_letters(&self, letters: &[DeadLetter]) -> StoreResult<()>;
    /// The newest dead letters first, at most `limit`.
    async fn list_dead_letters(
        &self,
        fleet: Option<&FleetId>,
        limit: usize,
    ) -> StoreResult<Vec<DeadLetter>>;
    /// Adds counter deltas to their (fleet, minute, box) buckets.
    async fn add_counters(&self, deltas: &[CounterDelta]) -> StoreResult<()>;
    /// Counter buckets of a fleet whose minute is in `[from, to)` (ms).
    async fn counters(&self, fleet: &FleetId, from: i64, to: i64)
        -> StoreResult<Vec<CounterDelta>>;
    /// The fleet's counts summed per hour (kept by `add_counters`), for hours starting in
    /// `[from, to)` (ms), oldest first: a month is at most 744 rows.
    async fn hourly_counters(
        &self,
        fleet: &FleetId,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, PipelineCounts)>>;

    // Alerting
    async fn put_alert_rule(&self, rule: &AlertRule) -> StoreResult<()>;
    async fn delete_alert_rule(&self, id: &str) -> StoreResult<()>;
    async fn list_alert_rules(&self) -> StoreResult<Vec<AlertRule>>;
    /// Stores or replaces an alert (fired, then resolved, with its deliveries).
    async fn put_alert(&self, alert: &AlertRecord) -> StoreResult<()>;
    /// The newest alerts first (by time fired), at most `limit`.
    async fn list_alerts(&self, limit: usize) -> StoreResult<Vec<AlertRecord>>;
    /// Alerts not resolved yet (to resume the evaluator after a restart).
    async fn active_alerts(&self) -> StoreResult<Vec<AlertRecord>>;

    // Identity (built-in provider)
    async fn put_user(&self, user: &UserRecord) -> StoreResult<()>;
    async fn get_user(&self, username: &str) -> StoreResult<Option<UserRecord>>;
    async fn list_users(&self) -> StoreResult<Vec<UserRecord>>;

    // Sessions and refresh tokens, keyed by the hash of their secret
    async fn put_grant(&self, grant: &Grant) -> StoreResult<()>;
    async fn get_grant(&self, kind: GrantKind, secret_hash: &str) -> StoreResult<Option<Grant>>;
    async fn delete_grant(&self, kind: GrantKind, secret_hash: &str) -> StoreResult<()>;

    // Commands (keys: (box, issued_at, id), plus an index by id)
    /// Stores a command, or replaces it (state changes). Refuses with `AlreadyExists` an id that
    /// belongs to another command (another box or issue time): ids are never reused.
    async fn put_command(&self, command: &CommandRecord) -> StoreResult<()>;
    async fn get_command(&self, id: &str) -> StoreResult<Option<CommandRecord>>;
    /// Commands of one box, newest first, at most `limit`.
    async fn list_commands(
        &self,
        device: &DeviceId,
        limit: usize,
    ) -> StoreResult<Vec<CommandRecord>>;
    /// Commands of one fleet issued in `[from, to]` (ms), newest first, at most `limit` (the audit
    /// trail; key: (fleet, issued_at, id)).
    async fn list_fleet_commands(
        &self,
        fleet: &FleetId,
        from: i64,
        to: i64,
        limit: usize,
    ) -> StoreResult<Vec<CommandRecord>>;
    /// Commands of one box still `created` (not delivered) and not expired at `now` (ms), oldest first.
    async fn pending_commands(
        &self,
        device: &DeviceId,
        now: i64,
    ) -> StoreResult<Vec<CommandRecord>>;

    // Rollouts (key: (fleet, created_at, id), plus an index by id and one of running rollouts)
    /// Stores or replaces a rollout.
    async fn put_rollout(&self, rollout: &RolloutRecord) -> StoreResult<()>;
    async fn get_rollout(&self, id: &str) -> StoreResult<Option<RolloutRecord>>;
    /// Rollouts of one fleet, newest first, at most `limit`.
    async fn list_rollouts(&self, fleet: &FleetId, limit: usize)
        -> StoreResult<Vec<RolloutRecord>>;
    /// Rollouts still running (to resume them at start), oldest first.
    async fn unfinished_rollouts(&self) -> StoreResult<Vec<RolloutRecord>>;

    // Desired state (key: box)
    async fn get_shadow(&self, device: &DeviceId) -> StoreResult<Option<ShadowRecord>>;
    /// Writes a box's shadow only if the stored version is still `expected` (0: none stored);
    /// otherwise `Conflict`, and nothing is written.
    async fn put_shadow(&self, shadow: &ShadowRecord, expected: u64) -> StoreResult<()>;

    /// A cheap round trip for readiness checks.
    async fn ping(&self) -> StoreResult<()>;
}
