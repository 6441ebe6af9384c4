//! The desired-state service: people change `desired` (naming the version they saw), boxes report
//! `reported`; the box is sent its desired state and delta when it changes and when it subscribes.
use super::{ShadowDocuments, ShadowRecord, StoreShadows};
use crate::broker::Delivery;
use crate::clock::now_ms;
use crate::console::{store_error, visible_device};
use crate::outbound::DevicePublisher;
use crate::store::{Store, StoreError};
use app::domain::{
    apply_patch, topics, AppError, DeviceId, FleetId, Role, ShadowReport, ShadowUpdate, ShadowView,
};
use app::service::Caller;
use std::sync::{Arc, OnceLock};

/// How many times a box report is re-applied when a concurrent change won the write.
const REPORT_ATTEMPTS: usize = 3;

pub struct ShadowService {
    store: Arc<dyn Store>,
    documents: Arc<dyn ShadowDocuments>,
    publisher: OnceLock<Arc<dyn DevicePublisher>>,
}

impl ShadowService {
    /// Shadows kept in the store.
    pub fn new(store: Arc<dyn Store>) -> Arc<Self> {
        let documents = Arc::new(StoreShadows(store.clone()));
        Self::with_documents(store, documents)
    }

    /// Shadows kept by `documents` (IoT Core's Device Shadow service with `--broker iot`); boxes
    /// and their fleets are still read from `store`.
    pub fn with_documents(store: Arc<dyn Store>, documents: Arc<dyn ShadowDocuments>) -> Arc<Self> {
        Arc::new(Self {
            store,
            documents,
            publisher: OnceLock::new(),
        })
    }

    /// Set once the broker runs.
    pub fn set_publisher(&self, publisher: Arc<dyn DevicePublisher>) {
        let _ = self.publisher.set(publisher);
    }

    async fn load(&self, device: &DeviceId, fleet: &FleetId) -> Result<ShadowRecord, StoreError> {
        Ok(self
            .documents
            .get(device, fleet)
            .await?
            .unwrap_or_else(|| ShadowRecord::empty(device.clone(), fleet.clone())))
    }

    /// The shadow of a box the caller may see.
    pub async fn get(&self, caller: &Caller, device: &DeviceId) -> Result<ShadowView, AppError> {
        let d = visible_device(self.store.as_ref(), caller, device).await?;
        Ok(self
            .load(device, &d.fleet)
            .await
            .map_err(store_error)?
            .view())
    }

    /// Changes the desired state (operators and above). Refused with `Conflict` when `version`
    /// is not the current one: someone (or the box) changed the shadow since the caller read it.
    pub async fn update_desired(
        &self,
        caller: &Caller,
        device: &DeviceId,
        update: ShadowUpdate,
    ) -> Result<ShadowView, AppError> {
        let d = visible_device(self.store.as_ref(), caller, device).await?;
        caller.require(Role::Operator)?;
        let current = self.load(device, &d.fleet).await.map_err(store_error)?;
        let mut shadow = current.clone();
        if update.version != shadow.version {
            return Err(stale(update.version, shadow.version));
        }
        if update.desired.is_empty() {
            return Err(AppError::BadRequest(
                "desired is empty: name at least one key to set, or null to remove".into(),
            ));
        }
        shadow.desired = apply_patch(&shadow.desired, &update.desired, "desired")
            .map_err(AppError::BadRequest)?;
        shadow.version += 1;
        shadow.desired_version = shadow.version;
        shadow.desired_at = Some(now_ms());
        shadow.desired_by = Some(format!("user:{}", caller.username));
        let shadow = self
            .documents
            .put(&current, &shadow)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => stale(update.version, update.version + 1),
                other => store_error(other),
            })?;
        tracing::info!(%device, version = shadow.version, by = %caller.username, "desired state changed");
        self.send_desired(&shadow).await;
        Ok(shadow.view())
    }

    /// Publishes the desired state and delta on the box's shadow topic. A box that is offline
    /// gets it when it subscribes again.
    async fn send_desired(&self, shadow: &ShadowRecord) {
        let Some(publisher) = self.publisher.get() else {
            return;
        };
        let payload = serde_json::to_vec(&shadow.delta_message()).unwrap_or_default();
        let topic = topics::shadow_desired(&shadow.fleet, &shadow.device);
        if let Err(e) = publisher.publish(&topic, payload).await {
            tracing::warn!(device = %shadow.device, error = %e, "desired state not published; sent again when the box subscribes");
        }
    }

    /// A box subscribed to its shadow topic: it gets its desired state, if it has one.
    pub async fn on_subscribed(&self, fleet: &FleetId, device: &DeviceId) {
        match self.documents.get(device, fleet).await {
            Ok(Some(shadow)) if !shadow.desired.is_empty() && &shadow.fleet == fleet => {
                self.send_desired(&shadow).await
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(%device, error = %e, "desired state not read"),
        }
    }

    /// A box reported its state on `dt/boxpilot/{fleet}/{device}/shadow` (the ACL checked the
    /// topic is its own). Invalid or stale reports are refused and logged, and the box is sent
    /// the current desired state so that it reconciles again; `Retry` when the store is down.
    pub async fn on_report(&self, fleet: &FleetId, device: &DeviceId, payload: &[u8]) -> Delivery {
        let report: ShadowReport = match serde_json::from_slice(payload) {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(%device, error = %e, "shadow report refused: not a {{\"reported\": {{...}}, \"version\": n}} object");
                return Delivery::Done;
            }
        };
        for _ in 0..REPORT_ATTEMPTS {
            let current = match self.load(device, fleet).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(%device, error = %e, "shadow report not stored");
                    return Delivery::Retry;
                }
            };
            if let Some(v) = report.version {
                if v < current.desired_version {
                    tracing::info!(%device, reported_version = v, desired_version = current.desired_version,
                        "shadow report refused: stale version; the box is sent the current desired state");
                    self.send_desired(&current).await;
                    return Delivery::Done;
                }
            }
            let mut shadow = current.clone();
            shadow.reported = match apply_patch(&shadow.reported, &report.reported, "reported") {
                Ok(r) => r,
                Err(reason) => {
                    tracing::info!(%device, %reason, "shadow report refused");
                    return Delivery::Done;
                }
            };
            shadow.version += 1;
            shadow.reported_at = Some(now_ms());
            match self.documents.put(&current, &shadow).await {
                Ok(_) => return Delivery::Done,
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => {
                    tracing::warn!(%device, error = %e, "shadow report not stored");
                    return Delivery::Retry;
                }
            }
        }
        tracing::warn!(%device, "shadow report not stored: the shadow kept changing");
        Delivery::Retry
    }
}

fn stale(named: u64, current: u64) -> AppError {
    AppError::Conflict(format!(
        "version {named} is stale: the desired state changed since (now version {current}); reload and try again"
    ))
}
