use crate::domain::topics::{ContractTopic, TopicKind};
use crate::domain::{DeviceId, DeviceSummary, FleetId, MetricValue, Presence};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A message of the device contract received over MQTT, checked and typed.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    Telemetry {
        fleet: FleetId,
        device: DeviceId,
        seq: Option<u64>,
        /// The box's own timestamp (ms).
        ts: i64,
        metrics: BTreeMap<String, MetricValue>,
        /// When the browser received it (ms): "last seen" uses this, not the box's clock.
        received_at: i64,
    },
    Status {
        fleet: FleetId,
        device: DeviceId,
        online: bool,
        firmware: Option<String>,
        /// A retained message replayed on subscription: its state is current, but it says
        /// nothing about when the box was last seen.
        retained: bool,
        received_at: i64,
    },
    /// A box answered a command on `cmd/boxpilot/{fleet}/{device}/resp` (sessions of operators
    /// and above subscribe to it): the command's state changed on the server.
    CommandReply {
        fleet: FleetId,
        device: DeviceId,
        id: String,
    },
    /// A box reported its state on `dt/boxpilot/{fleet}/{device}/shadow`: the desired-state card
    /// reloads it from the server (which may have refused a stale report).
    ShadowReport { fleet: FleetId, device: DeviceId },
}

impl LiveEvent {
    pub fn device(&self) -> &DeviceId {
        match self {
            LiveEvent::Telemetry { device, .. }
            | LiveEvent::Status { device, .. }
            | LiveEvent::CommandReply { device, .. }
            | LiveEvent::ShadowReport { device, .. } => device,
        }
    }

    /// Parses a PUBLISH of the device contract; anything else (other topics, bad JSON) is `None`.
    pub fn parse(topic: &str, payload: &[u8], retained: bool, received_at: i64) -> Option<Self> {
        let topic = ContractTopic::parse(topic)?;
        match topic.kind {
            TopicKind::Telemetry => {
                let body: TelemetryPayload = serde_json::from_slice(payload).ok()?;
                let ts = match body.ts {
                    Some(Timestamp::Millis(ms)) => ms,
                    Some(Timestamp::Text(text)) => parse_rfc3339(&text)?,
                    None => received_at,
                };
                Some(LiveEvent::Telemetry {
                    fleet: topic.fleet,
                    device: topic.device,
                    seq: body.seq,
                    ts,
                    metrics: body.metrics,
                    received_at,
                })
            }
            TopicKind::Status => {
                let body: StatusPayload = serde_json::from_slice(payload).ok()?;
                Some(LiveEvent::Status {
                    fleet: topic.fleet,
                    device: topic.device,
                    online: body.online,
                    firmware: body.fw,
                    retained,
                    received_at,
                })
            }
            TopicKind::CommandResponse => {
                let body: ReplyPayload = serde_json::from_slice(payload).ok()?;
                Some(LiveEvent::CommandReply {
                    fleet: topic.fleet,
                    device: topic.device,
                    id: body.id,
                })
            }
            TopicKind::ShadowReported => Some(LiveEvent::ShadowReport {
                fleet: topic.fleet,
                device: topic.device,
            }),
            TopicKind::CommandRequest | TopicKind::ShadowDesired => None,
        }
    }
}

#[derive(Deserialize)]
struct TelemetryPayload {
    seq: Option<u64>,
    ts: Option<Timestamp>,
    #[serde(default)]
    metrics: BTreeMap<String, MetricValue>,
}

/// The contract allows milliseconds since the epoch or an RFC 3339 string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Timestamp {
    Millis(i64),
    Text(String),
}

#[derive(Deserialize)]
struct ReplyPayload {
    id: String,
}

#[derive(Deserialize)]
struct StatusPayload {
    online: bool,
    fw: Option<String>,
}

fn parse_rfc3339(text: &str) -> Option<i64> {
    let ms = js_sys::Date::parse(text);
    ms.is_finite().then_some(ms as i64)
}

impl LiveEvent {
    /// A summary of a box seen for the first time through MQTT (it joined after the page loaded).
    pub fn new_summary(&self) -> DeviceSummary {
        let (fleet, device) = match self {
            LiveEvent::Telemetry { fleet, device, .. }
            | LiveEvent::Status { fleet, device, .. }
            | LiveEvent::CommandReply { fleet, device, .. }
            | LiveEvent::ShadowReport { fleet, device } => (fleet.clone(), device.clone()),
        };
        let mut summary = DeviceSummary {
            id: device,
            fleet,
            presence: Presence::default(),
            latest_ts: None,
            latest: BTreeMap::new(),
        };
        self.apply_to(&mut summary);
        summary
    }

    /// Whether the event says anything about a box's summary (command replies and shadow
    /// reports do not).
    pub fn is_summary_event(&self) -> bool {
        !matches!(
            self,
            LiveEvent::CommandReply { .. } | LiveEvent::ShadowReport { .. }
        )
    }

    /// Updates a box's summary with this event. Redelivered or late telemetry (QoS 1 may repeat)
    /// never replaces newer values.
    pub fn apply_to(&self, summary: &mut DeviceSummary) {
        match self {
            LiveEvent::Telemetry {
                ts,
                metrics,
                received_at,
                ..
            } => {
                if summary.latest_ts.is_none_or(|latest| *ts >= latest) {
                    summary
                        .latest
                        .extend(metrics.iter().map(|(k, v)| (k.clone(), v.clone())));
                    summary.latest_ts = Some(*ts);
                }
                summary.presence.online = true;
                summary.presence.last_seen =
                    Some(latest_of(summary.presence.last_seen, *received_at));
            }
            LiveEvent::Status {
                online,
                firmware,
                retained,
                received_at,
                ..
            } => {
                summary.presence.online = *online;
                if firmware.is_some() {
                    summary.presence.firmware = firmware.clone();
                }
                if !retained {
                    summary.presence.last_seen =
                        Some(latest_of(summary.presence.last_seen, *received_at));
                }
            }
            // A reply says nothing about the box's values or presence shown here.
            LiveEvent::CommandReply { .. } | LiveEvent::ShadowReport { .. } => {}
        }
    }
}

fn latest_of(current: Option<i64>, candidate: i64) -> i64 {
    current.map_or(candidate, |c| c.max(candidate))
}
