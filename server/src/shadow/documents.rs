//! Where the shadow documents are kept: the port [`ShadowDocuments`], with the store-backed keeper
//! (embedded store, DynamoDB; the shadow record is a store row) here, and IoT Core's Device Shadow
//! service in `aws::device_shadow` (feature `aws`, `--broker iot`).
//!
//! The desired-state service decides what changes (patches, checks, stale reports); a keeper only
//! reads a record and writes the next one over the version it was read at.
use super::ShadowRecord;
use crate::store::{Store, StoreResult};
use app::domain::{DeviceId, FleetId};
use std::sync::Arc;

#[async_trait::async_trait]
pub trait ShadowDocuments: Send + Sync + 'static {
    /// The shadow of a box, `None` while nothing was ever set or reported. `fleet` is the box's
    /// fleet, for a keeper that does not keep it.
    async fn get(&self, device: &DeviceId, fleet: &FleetId) -> StoreResult<Option<ShadowRecord>>;

    /// Writes `next` (the service changed `desired` or `reported` of `current`, and set
    /// `next.version` to `current.version + 1`) only if the shadow is still at `current.version`
    /// (0: none yet). `StoreError::Conflict` when it moved meanwhile. Returns the record as now
    /// kept: a keeper that numbers versions itself may return another version.
    async fn put(&self, current: &ShadowRecord, next: &ShadowRecord) -> StoreResult<ShadowRecord>;
}

/// The shadow as a store record (`Store::get_shadow` / `put_shadow`, conditional on the version).
pub struct StoreShadows(pub Arc<dyn Store>);

#[async_trait::async_trait]
impl ShadowDocuments for StoreShadows {
    async fn get(&self, device: &DeviceId, _fleet: &FleetId) -> StoreResult<Option<ShadowRecord>> {
        self.0.get_shadow(device).await
    }

    async fn put(&self, current: &ShadowRecord, next: &ShadowRecord) -> StoreResult<ShadowRecord> {
        self.0.put_shadow(next, current.version).await?;
        Ok(next.clone())
    }
}
