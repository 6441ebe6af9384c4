//! Desired state on IoT Core's Device Shadow service (feature `aws`, `--broker iot`, the Lambdas):
//! the named shadow `boxpilot` of the thing named after the box, read with `GetThingShadow` and
//! written with `UpdateThingShadow` naming the version it was read at (optimistic locking: IoT
//! answers 409 `ConflictException` on a stale version, the console's 409).
//!
//! The document:
//!
//! ```json
//! {"state": {"desired":  {"setpoint_c": 4, "mode": "eco"},
//!            "reported": {"setpoint_c": 5, "fw": "1.4",
//!                         "$boxpilot": {"fleet": "north", "desired_version": 7,
//!                                       "desired_at": 1718000000000, "desired_by": "user:ann",
//!                                       "reported_at": 1718000005000}}},
//!  "version": 8}
//! ```
//!
//! `desired` and `reported` hold exactly the keys people and boxes set (a `null` in an update
//! removes a key, as the service does itself); the Device Shadow's `version` is the version people
//! see and name. What the Device Shadow has no place for is kept under `reported."$boxpilot"` (no
//! valid shadow key starts with `$`, and a reported-only key never shows in IoT's own delta): the
//! version at which `desired` last changed (stale box reports are refused against it), who changed
//! it and when, and when the box last reported (milliseconds, as the store keeps them).
//!
//! Every write sends only what changed between the record read and the record to keep, with the
//! version read; a shadow that does not exist yet is created without a version (the service
//! refuses a version it does not have), so two first writes at the same moment merge key by key
//! instead of one getting a conflict.
use crate::http::HealthCheck;
use crate::shadow::{ShadowDocuments, ShadowRecord};
use crate::store::{StoreError, StoreResult};
use app::domain::{DeviceId, FleetId, ShadowDoc};
use aws_sdk_iotdataplane::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_iotdataplane::operation::get_thing_shadow::GetThingShadowError;
use aws_sdk_iotdataplane::operation::update_thing_shadow::UpdateThingShadowError;
use aws_sdk_iotdataplane::primitives::Blob;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The name of the boxes' shadow (a named shadow: the classic one stays free for other uses).
pub const SHADOW_NAME: &str = "boxpilot";

/// The key under `reported` holding boxpilot's own bookkeeping.
pub const BOOKKEEPING_KEY: &str = "$boxpilot";

/// What boxpilot keeps beside `desired` and `reported`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Bookkeeping {
    #[serde(default)]
    fleet: Option<String>,
    #[serde(default)]
    desired_version: u64,
    #[serde(default)]
    desired_at: Option<i64>,
    #[serde(default)]
    desired_by: Option<String>,
    #[serde(default)]
    reported_at: Option<i64>,
}

impl Bookkeeping {
    fn of(record: &ShadowRecord) -> Self {
        Self {
            fleet: Some(record.fleet.to_string()),
            desired_version: record.desired_version,
            desired_at: record.desired_at,
            desired_by: record.desired_by.clone(),
            reported_at: record.reported_at,
        }
    }
}

/// A shadow document (GetThingShadow's answer) as the record the service works on. `fleet` is
/// used when the document does not name one.
pub fn record_from_document(
    device: &DeviceId,
    fleet: &FleetId,
    document: &Value,
) -> Result<ShadowRecord, String> {
    let version = document
        .get("version")
        .and_then(Value::as_u64)
        .ok_or("the shadow document has no version")?;
    let state = document.get("state").cloned().unwrap_or(Value::Null);
    let side = |name: &str| -> Result<ShadowDoc, String> {
        match state.get(name) {
            None | Some(Value::Null) => Ok(ShadowDoc::new()),
            Some(Value::Object(map)) => Ok(map.clone().into_iter().collect()),
            Some(other) => Err(format!("state.{name} is not an object: {other}")),
        }
    };
    let desired = side("desired")?;
    let mut reported = side("reported")?;
    let books: Bookkeeping = match reported.remove(BOOKKEEPING_KEY) {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| format!("state.reported.{BOOKKEEPING_KEY}: {e}"))?,
        None => Bookkeeping::default(),
    };
    let fleet = match books.fleet.as_deref().map(FleetId::parse) {
        Some(Ok(f)) => f,
        _ => fleet.clone(),
    };
    Ok(ShadowRecord {
        device: device.clone(),
        fleet,
        version,
        desired_version: books.desired_version,
        desired,
        reported,
        desired_at: books.desired_at,
        desired_by: books.desired_by,
        reported_at: books.reported_at,
    })
}

/// The keys of `next` that differ from `current`, and `null` for the keys `next` no longer has.
fn changes(current: &ShadowDoc, next: &ShadowDoc) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in next {
        if current.get(k) != Some(v) {
            out.insert(k.clone(), v.clone());
        }
    }
    for k in current.keys() {
        if !next.contains_key(k) {
            out.insert(k.clone(), Value::Null);
        }
    }
    out
}

/// The UpdateThingShadow request turning `current` into `next`: the changed keys of each side,
/// the bookkeeping, and `current`'s version (none for a shadow that does not exist yet).
pub fn update_document(current: &ShadowRecord, next: &ShadowRecord) -> Value {
    let mut state = Map::new();
    let desired = changes(&current.desired, &next.desired);
    if !desired.is_empty() {
        state.insert("desired".into(), Value::Object(desired));
    }
    let mut reported = changes(&current.reported, &next.reported);
    reported.insert(
        BOOKKEEPING_KEY.into(),
        serde_json::to_value(Bookkeeping::of(next)).unwrap_or(Value::Null),
    );
    state.insert("reported".into(), Value::Object(reported));
    let mut doc = json!({ "state": state });
    if current.version > 0 {
        doc["version"] = json!(current.version);
    }
    doc
}

/// The Device Shadow service through IoT Core's data plane.
pub struct DeviceShadows {
    client: aws_sdk_iotdataplane::Client,
}

impl DeviceShadows {
    /// `client`: `aws::sdk::iot_data_client` (the account's data endpoint, or moto).
    pub fn new(client: aws_sdk_iotdataplane::Client) -> Self {
        Self { client }
    }

    /// The whole document of a box's shadow, `None` when there is none (or no such thing).
    pub async fn document(&self, device: &DeviceId) -> StoreResult<Option<Value>> {
        let answer = self
            .client
            .get_thing_shadow()
            .thing_name(device.as_str())
            .shadow_name(SHADOW_NAME)
            .send()
            .await;
        match answer {
            Ok(out) => {
                let bytes = out.payload().map(|b| b.as_ref()).unwrap_or_default();
                serde_json::from_slice(bytes).map(Some).map_err(|e| {
                    StoreError::Corrupt(format!(
                        "shadow {SHADOW_NAME} of {device} is not JSON: {e}"
                    ))
                })
            }
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), GetThingShadowError::ResourceNotFoundException(_)) =>
            {
                Ok(None)
            }
            Err(e) => Err(StoreError::Unavailable(format!(
                "Device Shadow of {device} not read: {}",
                DisplayErrorContext(&e)
            ))),
        }
    }

    /// Sends one UpdateThingShadow request; the version of the shadow after it.
    async fn update(&self, device: &DeviceId, document: &Value) -> StoreResult<u64> {
        let answer = self
            .client
            .update_thing_shadow()
            .thing_name(device.as_str())
            .shadow_name(SHADOW_NAME)
            .payload(Blob::new(document.to_string()))
            .send()
            .await;
        let out = match answer {
            Ok(out) => out,
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateThingShadowError::ConflictException(_)) =>
            {
                return Err(StoreError::Conflict(format!(
                    "shadow {SHADOW_NAME} of {device}"
                )))
            }
            Err(SdkError::ServiceError(e)) => {
                let hint = match e.err() {
                    UpdateThingShadowError::RequestEntityTooLargeException(_) => {
                        " (the shadow document's size limit, 8 KB by default)"
                    }
                    err if err.code() == Some("ResourceNotFoundException") => {
                        " (is the box registered as a thing? deploy/README.md, \"Register a box\")"
                    }
                    _ => "",
                };
                return Err(StoreError::Unavailable(format!(
                    "Device Shadow of {device} not written: {}{hint}",
                    DisplayErrorContext(e.err())
                )));
            }
            Err(e) => {
                return Err(StoreError::Unavailable(format!(
                    "Device Shadow of {device} not written: {}",
                    DisplayErrorContext(&e)
                )))
            }
        };
        let bytes = out.payload().map(|b| b.as_ref()).unwrap_or_default();
        serde_json::from_slice::<Value>(bytes)
            .ok()
            .and_then(|v| v.get("version").and_then(Value::as_u64))
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "UpdateThingShadow of {device} answered no version: {}",
                    String::from_utf8_lossy(bytes)
                ))
            })
    }
}

#[async_trait::async_trait]
impl ShadowDocuments for DeviceShadows {
    async fn get(&self, device: &DeviceId, fleet: &FleetId) -> StoreResult<Option<ShadowRecord>> {
        match self.document(device).await? {
            None => Ok(None),
            Some(doc) => record_from_document(device, fleet, &doc)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("shadow {SHADOW_NAME} of {device}: {e}"))),
        }
    }

    async fn put(&self, current: &ShadowRecord, next: &ShadowRecord) -> StoreResult<ShadowRecord> {
        let device = &next.device;
        let version = self.update(device, &update_document(current, next)).await?;
        let mut kept = next.clone();
        if version == next.version {
            return Ok(kept);
        }
        // Only a shadow created by this write (no version to name) can land on another version:
        // one deleted earlier keeps counting, or another first write came just before.
        tracing::info!(%device, expected = next.version, version, "Device Shadow created at another version");
        if next.desired_version == next.version {
            kept.desired_version = version;
        }
        kept.version = version;
        let fix = update_document(
            &ShadowRecord {
                version,
                ..next.clone()
            },
            &kept,
        );
        match self.update(device, &fix).await {
            Ok(v) => kept.version = v,
            Err(e) => tracing::warn!(%device, error = %e, "desired version not corrected"),
        }
        Ok(kept)
    }
}

/// `/healthz`'s broker line with `--broker iot`: one GetThingShadow of a thing that need not exist
/// (an answer, even "not found", shows the endpoint, the credentials and the permission work).
pub struct IotCoreHealth {
    pub client: aws_sdk_iotdataplane::Client,
    /// As people should read it: the data endpoint.
    pub endpoint: String,
}

#[async_trait::async_trait]
impl HealthCheck for IotCoreHealth {
    fn name(&self) -> &'static str {
        "broker"
    }
    async fn check(&self) -> Result<String, String> {
        let answer = self
            .client
            .get_thing_shadow()
            .thing_name("boxpilot-health-check")
            .shadow_name(SHADOW_NAME)
            .send()
            .await;
        match answer {
            Ok(_) => Ok(format!("AWS IoT Core at {}", self.endpoint)),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), GetThingShadowError::ResourceNotFoundException(_)) =>
            {
                Ok(format!("AWS IoT Core at {}", self.endpoint))
            }
            Err(e) => Err(format!(
                "AWS IoT Core at {} does not answer: {}",
                self.endpoint,
                DisplayErrorContext(&e)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> DeviceId {
        DeviceId::parse(s).unwrap()
    }
    fn fleet(s: &str) -> FleetId {
        FleetId::parse(s).unwrap()
    }
    fn doc(v: Value) -> ShadowDoc {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_write_sends_what_changed_with_the_version_read() {
        let mut current = ShadowRecord::empty(id("b1"), fleet("north"));
        let mut next = current.clone();
        next.desired = doc(json!({"mode": "eco", "setpoint_c": 4}));
        next.version = 1;
        next.desired_version = 1;
        next.desired_by = Some("user:ann".into());
        let first = update_document(&current, &next);
        assert_eq!(
            first.get("version"),
            None,
            "a new shadow is written without a version"
        );
        assert_eq!(
            first["state"]["desired"],
            json!({"mode": "eco", "setpoint_c": 4})
        );
        assert_eq!(
            first["state"]["reported"]["$boxpilot"]["desired_version"],
            1
        );
        assert_eq!(first["state"]["reported"]["$boxpilot"]["fleet"], "north");

        current = next.clone();
        next.desired.remove("mode");
        next.desired.insert("setpoint_c".into(), json!(5));
        next.reported = doc(json!({"fw": "1.4"}));
        next.version = 2;
        let second = update_document(&current, &next);
        assert_eq!(second["version"], 1);
        assert_eq!(
            second["state"]["desired"],
            json!({"mode": null, "setpoint_c": 5})
        );
        assert_eq!(second["state"]["reported"]["fw"], "1.4");

        // A report only: no desired section.
        current = next.clone();
        next.reported.insert("fw".into(), json!("1.5"));
        next.version = 3;
        let third = update_document(&current, &next);
        assert!(third["state"].get("desired").is_none(), "{third}");
    }

    #[test]
    fn a_document_reads_back_as_the_record_without_the_bookkeeping() {
        let document = json!({
            "state": {
                "desired": {"mode": "eco"},
                "reported": {"mode": "comfort", "$boxpilot": {"fleet": "south", "desired_version": 3, "desired_by": "user:ann", "desired_at": 5, "reported_at": 7}},
                "delta": {"mode": "eco"}
            },
            "metadata": {},
            "version": 4,
            "timestamp": 1
        });
        let r = record_from_document(&id("b1"), &fleet("north"), &document).unwrap();
        assert_eq!(r.version, 4);
        assert_eq!(r.desired_version, 3);
        assert_eq!(r.fleet, fleet("south"));
        assert_eq!(r.reported, doc(json!({"mode": "comfort"})));
        assert_eq!(r.desired_by.as_deref(), Some("user:ann"));
        assert_eq!((r.desired_at, r.reported_at), (Some(5), Some(7)));

        // A shadow written by someone else: no bookkeeping, the box's fleet.
        let bare = json!({"state": {"desired": {"a": 1}}, "version": 9});
        let r = record_from_document(&id("b1"), &fleet("north"), &bare).unwrap();
        assert_eq!((r.version, r.desired_version), (9, 0));
        assert_eq!(r.fleet, fleet("north"));
        assert!(r.reported.is_empty());
        assert!(record_from_document(&id("b1"), &fleet("north"), &json!({"state": {}})).is_err());
    }
}
