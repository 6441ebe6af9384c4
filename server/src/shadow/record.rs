//! The desired state of one box as stored.
use app::domain::{delta, DeviceId, FleetId, ShadowDelta, ShadowDoc, ShadowView};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowRecord {
    pub device: DeviceId,
    pub fleet: FleetId,
    /// Bumped by every change of either side; the store writes a record only over the version
    /// it was read at.
    pub version: u64,
    /// The version at which `desired` last changed: a box report naming an older version was
    /// made against a desired state that has changed since, and is refused.
    pub desired_version: u64,
    pub desired: ShadowDoc,
    pub reported: ShadowDoc,
    pub desired_at: Option<i64>,
    pub desired_by: Option<String>,
    pub reported_at: Option<i64>,
}

impl ShadowRecord {
    /// The shadow of a box nobody has touched yet (version 0).
    pub fn empty(device: DeviceId, fleet: FleetId) -> Self {
        Self {
            device,
            fleet,
            version: 0,
            desired_version: 0,
            desired: ShadowDoc::new(),
            reported: ShadowDoc::new(),
            desired_at: None,
            desired_by: None,
            reported_at: None,
        }
    }

    pub fn view(&self) -> ShadowView {
        ShadowView {
            version: self.version,
            delta: delta(&self.desired, &self.reported),
            desired: self.desired.clone(),
            reported: self.reported.clone(),
            desired_at: self.desired_at,
            desired_by: self.desired_by.clone(),
            reported_at: self.reported_at,
        }
    }

    /// The message sent to the box on its shadow topic.
    pub fn delta_message(&self) -> ShadowDelta {
        ShadowDelta {
            version: self.version,
            desired: self.desired.clone(),
            delta: delta(&self.desired, &self.reported),
        }
    }
}
