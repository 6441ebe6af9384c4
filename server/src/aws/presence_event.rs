//! IoT Core lifecycle events (life-cycle-events.html), selected by
//! `SELECT *, topic() AS topic FROM '$aws/events/presence/+/+'` (connected, disconnected) and
//! `... FROM '$aws/events/subscriptions/subscribed/+'`: the AWS counterpart of the embedded
//! broker's connected, disconnected and subscribed hooks.
//!
//! Lifecycle messages may arrive out of order or twice. A presence change applies only if it is
//! not older than what the store knows (`last_seen`), so a late `disconnected` cannot mark a box
//! offline after it reconnected, and a repeated one changes nothing.
use app::domain::{DeviceId, Presence};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleEvent {
    pub client_id: String,
    /// ms since the epoch.
    pub timestamp: i64,
    pub event_type: String,
    #[serde(default)]
    pub session_identifier: Option<String>,
    #[serde(default)]
    pub principal_identifier: Option<String>,
    #[serde(default)]
    pub ip_address: Option<String>,
    #[serde(default)]
    pub version_number: Option<i64>,
    #[serde(default)]
    pub client_initiated_disconnect: Option<bool>,
    #[serde(default)]
    pub disconnect_reason: Option<String>,
    /// Subscription events: the filters subscribed to.
    #[serde(default)]
    pub topics: Vec<String>,
    /// Added by the rule (`topic()`).
    #[serde(default)]
    pub topic: Option<String>,
}

/// What a lifecycle event means for boxpilot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lifecycle {
    /// A box's connection opened (`true`) or closed, at `at` (ms).
    Presence {
        device: DeviceId,
        online: bool,
        at: i64,
    },
    /// A box subscribed to these filters.
    Subscribed {
        device: DeviceId,
        filters: Vec<String>,
    },
    /// Not about a box (a console session, an unknown event type): nothing to do.
    Ignored(String),
}

impl LifecycleEvent {
    pub fn interpret(&self) -> Lifecycle {
        // Browser sessions connect as `console-<user>-<n>`; boxes' client ids are their ids.
        let device = match DeviceId::parse(&self.client_id) {
            Ok(d) if !self.client_id.starts_with("console-") => d,
            _ => return Lifecycle::Ignored(format!("client {:?} is not a box", self.client_id)),
        };
        match self.event_type.as_str() {
            "connected" => Lifecycle::Presence {
                device,
                online: true,
                at: self.timestamp,
            },
            "disconnected" => Lifecycle::Presence {
                device,
                online: false,
                at: self.timestamp,
            },
            "subscribed" => Lifecycle::Subscribed {
                device,
                filters: self.topics.clone(),
            },
            other => Lifecycle::Ignored(format!("event type {other:?} is not handled")),
        }
    }
}

/// The presence after a connection event at `at`, or `None` when the event is older than what is
/// known (out of order) and must not apply.
pub fn apply_presence(current: &Presence, online: bool, at: i64) -> Option<Presence> {
    if current.last_seen.is_some_and(|seen| seen > at) {
        return None;
    }
    let mut next = current.clone();
    next.online = online;
    next.last_seen = Some(at);
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> LifecycleEvent {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn connection_events_are_presence_changes() {
        let e = event(
            r#"{"clientId": "cold-room-7", "timestamp": 1764489600000, "eventType": "connected",
                "sessionIdentifier": "00000000-0000-0000-0000-000000000000",
                "principalIdentifier": "12345678901234567890123456789012",
                "ipAddress": "192.0.2.0", "versionNumber": 0}"#,
        );
        assert_eq!(
            e.interpret(),
            Lifecycle::Presence {
                device: DeviceId::parse("cold-room-7").unwrap(),
                online: true,
                at: 1764489600000
            }
        );
        let e = event(
            r#"{"clientId": "console-ann-00ff", "timestamp": 1, "eventType": "disconnected"}"#,
        );
        assert!(matches!(e.interpret(), Lifecycle::Ignored(_)));
        let e = event(r#"{"clientId": "a/b", "timestamp": 1, "eventType": "connected"}"#);
        assert!(matches!(e.interpret(), Lifecycle::Ignored(_)));
    }

    #[test]
    fn late_events_do_not_apply() {
        let online = Presence {
            online: true,
            last_seen: Some(2_000),
            ..Presence::default()
        };
        assert_eq!(apply_presence(&online, false, 1_000), None);
        let offline = apply_presence(&online, false, 3_000).unwrap();
        assert!(!offline.online);
        assert_eq!(offline.last_seen, Some(3_000));
        assert!(
            apply_presence(&Presence::default(), true, 5)
                .unwrap()
                .online
        );
    }
}
