use super::{DeviceId, FleetId, MetricValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Presence {
    pub online: bool,
    /// Milliseconds since the epoch of the last message or connection event.
    pub last_seen: Option<i64>,
    pub firmware: Option<String>,
}

/// One box as the fleet view shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSummary {
    pub id: DeviceId,
    pub fleet: FleetId,
    pub presence: Presence,
    /// Time (ms) of the latest stored reading.
    pub latest_ts: Option<i64>,
    pub latest: BTreeMap<String, MetricValue>,
}
