//! A rollout as stored: the view the API shows, plus the boxes it targets in sending order.
use app::domain::{
    AbortRule, DeviceId, FleetId, RolloutProgress, RolloutStatus, RolloutTarget, RolloutView,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutRecord {
    /// A UUID; each box's command id is derived from it (see [`RolloutRecord::command_id`]).
    pub id: String,
    pub fleet: FleetId,
    pub name: String,
    pub params: Value,
    pub target: RolloutTarget,
    pub rate_per_minute: u32,
    pub abort: Option<AbortRule>,
    pub ttl_secs: i64,
    pub issuer: String,
    pub created_at: i64,
    pub status: RolloutStatus,
    pub status_detail: Option<String>,
    pub finished_at: Option<i64>,
    /// The boxes resolved from `target` when the rollout started, in sending order; the first
    /// `progress.issued` of them have their command.
    pub devices: Vec<DeviceId>,
    /// Counts as of the last step of the rollout.
    pub progress: RolloutProgress,
}

impl RolloutRecord {
    /// The id of the command this rollout sends to `device`: a name-based UUID (v5) of the
    /// rollout and the box, so that a rollout resumed after a restart never sends a box a second
    /// command (the store refuses a reused id).
    pub fn command_id(&self, device: &DeviceId) -> String {
        let namespace = uuid::Uuid::parse_str(&self.id).unwrap_or(uuid::Uuid::NAMESPACE_OID);
        uuid::Uuid::new_v5(&namespace, device.as_str().as_bytes()).to_string()
    }

    pub fn view(&self) -> RolloutView {
        RolloutView {
            id: self.id.clone(),
            fleet: self.fleet.clone(),
            name: self.name.clone(),
            params: self.params.clone(),
            target: self.target.clone(),
            rate_per_minute: self.rate_per_minute,
            abort: self.abort,
            ttl_secs: self.ttl_secs,
            issuer: self.issuer.clone(),
            created_at: self.created_at,
            status: self.status,
            status_detail: self.status_detail.clone(),
            finished_at: self.finished_at,
            progress: self.progress.clone(),
        }
    }
}
