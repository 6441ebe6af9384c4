use app::domain::topics::{self, filter_matches, filter_within};
use app::domain::{DeviceId, FleetId};

/// An authenticated broker connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A box, authenticated with its own secret; its MQTT client id is its box id.
    Device { fleet: FleetId, device: DeviceId },
    /// A browser session holding a server-issued broker token.
    Console {
        username: String,
        client_id_prefix: String,
        subscribe: Vec<String>,
        publish: Vec<String>,
        /// Milliseconds since the epoch.
        expires_at: i64,
    },
}

impl Principal {
    /// A box publishes only its own telemetry, status, command replies and reported state.
    pub fn may_publish(&self, topic: &str) -> bool {
        if topic.contains(['+', '#']) {
            return false;
        }
        match self {
            Principal::Device { fleet, device } => {
                topic == topics::telemetry(fleet, device)
                    || topic == topics::status(fleet, device)
                    || topic == topics::command_response(fleet, device)
                    || topic == topics::shadow_reported(fleet, device)
            }
            Principal::Console { publish, .. } => publish.iter().any(|f| filter_matches(f, topic)),
        }
    }

    /// A box subscribes only to its own command requests and desired state; a console within its
    /// granted filters.
    pub fn may_subscribe(&self, filter: &str) -> bool {
        match self {
            Principal::Device { fleet, device } => {
                filter == topics::command_request(fleet, device)
                    || filter == topics::shadow_desired(fleet, device)
            }
            Principal::Console { subscribe, .. } => subscribe
                .iter()
                .any(|allowed| filter_within(filter, allowed)),
        }
    }

    /// The name recorded as the issuer of what this connection publishes.
    pub fn identity(&self) -> String {
        match self {
            Principal::Device { device, .. } => format!("device:{device}"),
            Principal::Console { username, .. } => format!("user:{username}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(f: &str, d: &str) -> Principal {
        Principal::Device {
            fleet: FleetId::parse(f).unwrap(),
            device: DeviceId::parse(d).unwrap(),
        }
    }

    #[test]
    fn a_box_uses_only_its_own_topics() {
        let p = device("f1", "b1");
        assert!(p.may_publish("dt/boxpilot/f1/b1/telemetry"));
        assert!(p.may_publish("dt/boxpilot/f1/b1/status"));
        assert!(p.may_publish("cmd/boxpilot/f1/b1/resp"));
        assert!(p.may_publish("dt/boxpilot/f1/b1/shadow"));
        assert!(!p.may_publish("dt/boxpilot/f1/b2/shadow"));
        assert!(!p.may_publish("cmd/boxpilot/f1/b1/shadow"));
        assert!(p.may_subscribe("cmd/boxpilot/f1/b1/shadow"));
        assert!(!p.may_subscribe("cmd/boxpilot/f1/b2/shadow"));
        assert!(!p.may_publish("dt/boxpilot/f1/b2/telemetry"));
        assert!(!p.may_publish("dt/boxpilot/f2/b1/telemetry"));
        assert!(!p.may_publish("cmd/boxpilot/f1/b1/req"));
        assert!(p.may_subscribe("cmd/boxpilot/f1/b1/req"));
        assert!(!p.may_subscribe("cmd/boxpilot/f1/+/req"));
        assert!(!p.may_subscribe("#"));
    }

    #[test]
    fn a_console_stays_within_its_filters() {
        let p = Principal::Console {
            username: "ann".into(),
            client_id_prefix: "console-ann-".into(),
            subscribe: vec!["dt/boxpilot/f1/+/+".into()],
            publish: vec![],
            expires_at: 0,
        };
        assert!(p.may_subscribe("dt/boxpilot/f1/+/+"));
        assert!(p.may_subscribe("dt/boxpilot/f1/b1/telemetry"));
        assert!(!p.may_subscribe("dt/boxpilot/+/+/+"));
        assert!(!p.may_subscribe("dt/#"));
        assert!(!p.may_publish("cmd/boxpilot/f1/b1/req"));
        assert!(!p.may_publish("dt/boxpilot/f1/b1/telemetry"));
    }
}
