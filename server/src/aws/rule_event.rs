//! The IoT rule event that carries a box's message to the ingestion Lambda, made by
//!
//! ```sql
//! SELECT encode(*, 'base64') AS payload, topic() AS topic, clientid() AS client_id,
//!        timestamp() AS received_at FROM 'dt/boxpilot/+/+/+'
//! ```
//!
//! (the same for `cmd/boxpilot/+/+/resp`). `encode(*, 'base64')` passes the exact bytes the box
//! sent, whatever they are, so the ingestion core validates the same bytes as on the embedded
//! broker, and the 128 KiB limit applies to them.
use crate::ingest::{Inbound, Source, MAX_PAYLOAD_BYTES};
use app::domain::{DeviceId, FleetId};
use base64::Engine;
use serde::Deserialize;

/// A Lambda event is at most 256 KiB (asynchronous invocation); refuse more before parsing.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleEventError {
    #[error("event is {0} bytes, more than a Lambda event can be ({MAX_EVENT_BYTES})")]
    TooLarge(usize),
    #[error("event is not JSON: {0}")]
    NotJson(String),
    #[error("event is neither a message (payload, topic, client_id, received_at) nor a lifecycle event (clientId, eventType, timestamp): {0}")]
    UnknownShape(String),
    #[error("payload is not base64: {0}")]
    BadBase64(String),
    #[error("client id is empty")]
    NoClientId,
}

/// A box's message as the rule selected it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RuleMessage {
    /// Base64 of the payload bytes.
    pub payload: String,
    pub topic: String,
    pub client_id: String,
    /// `timestamp()`: when IoT Core received the message, ms since the epoch.
    pub received_at: i64,
}

impl RuleMessage {
    /// The payload's bytes. An oversized payload is decoded too: the ingestion core refuses it
    /// (`payload_too_large`) and keeps it as a dead letter, as on the embedded broker.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, RuleEventError> {
        base64::engine::general_purpose::STANDARD
            .decode(self.payload.trim())
            .map_err(|e| RuleEventError::BadBase64(e.to_string()))
    }

    /// Whether the decoded payload is over the contract's limit (from the padded base64 length,
    /// without decoding).
    pub fn payload_over_limit(&self) -> bool {
        let text = self.payload.trim();
        let padding = text.bytes().rev().take_while(|b| *b == b'=').count();
        (text.len() / 4 * 3).saturating_sub(padding) > MAX_PAYLOAD_BYTES
    }

    /// The message for the ingestion core. `publisher`: the registered box the client id belongs
    /// to, if any (the core then checks the topic is the box's own).
    pub fn to_inbound(
        &self,
        publisher: Option<(FleetId, DeviceId)>,
    ) -> Result<Inbound, RuleEventError> {
        if self.client_id.is_empty() {
            return Err(RuleEventError::NoClientId);
        }
        Ok(Inbound {
            topic: self.topic.clone(),
            payload: self.payload_bytes()?,
            source: Source::Lambda {
                client_id: self.client_id.clone(),
            },
            received_at: self.received_at,
            publisher,
        })
    }
}

/// What the ingestion Lambda receives: a message, or a lifecycle event (presence, subscription).
#[derive(Debug, Clone, PartialEq)]
pub enum RuleEvent {
    Message(RuleMessage),
    Lifecycle(super::presence_event::LifecycleEvent),
}

/// Parses one event, refusing oversized or malformed ones with a clear reason.
pub fn parse_event(bytes: &[u8]) -> Result<RuleEvent, RuleEventError> {
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(RuleEventError::TooLarge(bytes.len()));
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| RuleEventError::NotJson(e.to_string()))?;
    parse_value(value)
}

/// The same for an event already parsed as JSON (the Lambda runtime's `LambdaEvent<Value>`).
pub fn parse_value(value: serde_json::Value) -> Result<RuleEvent, RuleEventError> {
    if value.get("eventType").is_some() {
        return serde_json::from_value(value)
            .map(RuleEvent::Lifecycle)
            .map_err(|e| RuleEventError::UnknownShape(e.to_string()));
    }
    let message: RuleMessage =
        serde_json::from_value(value).map_err(|e| RuleEventError::UnknownShape(e.to_string()))?;
    if message.client_id.is_empty() {
        return Err(RuleEventError::NoClientId);
    }
    Ok(RuleEvent::Message(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(payload: &[u8]) -> String {
        serde_json::json!({
            "payload": base64::engine::general_purpose::STANDARD.encode(payload),
            "topic": "dt/boxpilot/north/cold-room-7/telemetry",
            "client_id": "cold-room-7",
            "received_at": 1764489600123i64,
        })
        .to_string()
    }

    #[test]
    fn a_message_keeps_its_exact_bytes() {
        let bytes = br#"{"seq": 42, "ts": 1764489600000, "metrics": {"temp_c": 21.5}}"#;
        let RuleEvent::Message(m) = parse_event(event(bytes).as_bytes()).unwrap() else {
            panic!("not a message")
        };
        let inbound = m.to_inbound(None).unwrap();
        assert_eq!(inbound.payload, bytes);
        assert_eq!(inbound.received_at, 1764489600123);
        assert_eq!(
            inbound.source,
            Source::Lambda {
                client_id: "cold-room-7".into()
            }
        );
        assert!(!m.payload_over_limit());
    }

    #[test]
    fn malformed_events_say_why() {
        assert!(matches!(parse_event(b"{"), Err(RuleEventError::NotJson(_))));
        assert!(matches!(
            parse_event(br#"{"topic": "dt/boxpilot/a/b/telemetry"}"#),
            Err(RuleEventError::UnknownShape(_))
        ));
        assert!(matches!(
            parse_event(br#"{"payload": "e30=", "topic": "t", "client_id": "", "received_at": 1}"#),
            Err(RuleEventError::NoClientId)
        ));
        let RuleEvent::Message(m) = parse_event(
            br#"{"payload": "not base64!", "topic": "t", "client_id": "c", "received_at": 1}"#,
        )
        .unwrap() else {
            panic!()
        };
        assert!(matches!(
            m.to_inbound(None),
            Err(RuleEventError::BadBase64(_))
        ));
        let huge = vec![b' '; MAX_EVENT_BYTES + 1];
        assert_eq!(
            parse_event(&huge),
            Err(RuleEventError::TooLarge(MAX_EVENT_BYTES + 1))
        );
    }

    #[test]
    fn oversized_payloads_are_seen_before_decoding() {
        let big = vec![b'x'; MAX_PAYLOAD_BYTES + 1];
        let RuleEvent::Message(m) = parse_event(event(&big).as_bytes()).unwrap() else {
            panic!()
        };
        assert!(m.payload_over_limit());
        assert_eq!(m.payload_bytes().unwrap().len(), MAX_PAYLOAD_BYTES + 1);
        let at_limit = vec![b'x'; MAX_PAYLOAD_BYTES];
        let RuleEvent::Message(m) = parse_event(event(&at_limit).as_bytes()).unwrap() else {
            panic!()
        };
        assert!(!m.payload_over_limit());
    }
}
