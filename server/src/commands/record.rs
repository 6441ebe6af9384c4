//! A command and its lifecycle, modelled on AWS IoT commands:
//! `created -> sent -> accepted -> succeeded | failed | rejected | timed_out | expired`.
use app::domain::{DeviceId, FleetId};
use serde::{Deserialize, Serialize};

/// The lifecycle's states and changes are the shared domain types: the console shows the same.
pub use app::domain::{CommandState, CommandStateChange as StateChange};

/// How a command reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandSource {
    /// `POST /api/v1/devices/{device}/commands` (bearer token or session).
    Api,
    /// Published by a console over MQTT on the box's request topic.
    Mqtt,
    /// One box's share of a bulk command (rollout).
    Rollout,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRecord {
    /// A UUID, chosen by the server (REST) or by the console (MQTT); never reused.
    pub id: String,
    pub device: DeviceId,
    pub fleet: FleetId,
    pub name: String,
    pub params: serde_json::Value,
    /// From the authenticated identity (`user:<name>`), never from the payload.
    pub issuer: String,
    pub source: CommandSource,
    /// Server time, ms.
    pub issued_at: i64,
    /// The box must not run it after this time (ms); also the deadline of its final answer.
    pub expires_at: i64,
    pub state: CommandState,
    pub history: Vec<StateChange>,
    /// The rollout this command belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {from} command cannot become {to}")]
pub struct BadTransition {
    pub from: CommandState,
    pub to: CommandState,
}

impl CommandRecord {
    /// Moves to `next` and records the change, if the lifecycle allows it.
    pub fn advance(
        &mut self,
        next: CommandState,
        at: i64,
        detail: Option<String>,
    ) -> Result<(), BadTransition> {
        if !self.state.may_become(next) {
            return Err(BadTransition {
                from: self.state,
                to: next,
            });
        }
        self.state = next;
        self.history.push(StateChange {
            state: next,
            at,
            detail,
        });
        Ok(())
    }

    /// The message published on the box's request topic.
    pub fn request_payload(&self) -> Vec<u8> {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "params": self.params,
            "expires_at": self.expires_at,
        })
        .to_string()
        .into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CommandState::*;

    fn record() -> CommandRecord {
        CommandRecord {
            id: "c1".into(),
            device: DeviceId::parse("b1").unwrap(),
            fleet: FleetId::parse("f1").unwrap(),
            name: "reboot".into(),
            params: serde_json::json!({}),
            issuer: "user:ann".into(),
            source: CommandSource::Api,
            issued_at: 1,
            expires_at: 100,
            state: Created,
            history: vec![StateChange {
                state: Created,
                at: 1,
                detail: None,
            }],
            rollout: None,
        }
    }

    #[test]
    fn the_happy_path_is_recorded_in_order() {
        let mut c = record();
        c.advance(Sent, 2, None).unwrap();
        c.advance(Accepted, 3, None).unwrap();
        c.advance(Succeeded, 4, Some("done".into())).unwrap();
        let states: Vec<_> = c.history.iter().map(|h| (h.state, h.at)).collect();
        assert_eq!(
            states,
            vec![(Created, 1), (Sent, 2), (Accepted, 3), (Succeeded, 4)]
        );
        assert!(c.state.is_final());
    }

    #[test]
    fn only_lifecycle_transitions_are_allowed() {
        assert!(Created.may_become(Expired));
        assert!(Created.may_become(Rejected));
        assert!(!Created.may_become(Accepted), "not sent yet");
        assert!(!Created.may_become(TimedOut));
        assert!(Sent.may_become(Failed));
        assert!(Sent.may_become(TimedOut));
        assert!(!Sent.may_become(Expired), "delivered: it times out instead");
        assert!(!Accepted.may_become(Rejected));
        assert!(!Accepted.may_become(Sent));
        for done in [Succeeded, Failed, Rejected, TimedOut, Expired] {
            assert!(done.is_final());
            for next in [
                Created, Sent, Accepted, Succeeded, Failed, Rejected, TimedOut, Expired,
            ] {
                assert!(!done.may_become(next), "{done} -> {next}");
            }
        }
        let mut c = record();
        c.advance(Sent, 2, None).unwrap();
        c.advance(Succeeded, 3, None).unwrap();
        let err = c.advance(Failed, 4, None).unwrap_err();
        assert_eq!(err.to_string(), "a succeeded command cannot become failed");
        assert_eq!(c.history.len(), 3, "a refused change is not recorded");
    }

    #[test]
    fn states_serialize_in_snake_case() {
        assert_eq!(serde_json::to_string(&TimedOut).unwrap(), "\"timed_out\"");
        let payload: serde_json::Value =
            serde_json::from_slice(&record().request_payload()).unwrap();
        assert_eq!(
            payload,
            serde_json::json!({"id":"c1","name":"reboot","params":{},"expires_at":100})
        );
    }
}
