//! The MQTT topics of the device contract (AWS IoT topic design: `dt/` data, `cmd/` commands).
use super::{DeviceId, FleetId};

pub const APP: &str = "boxpilot";

/// The kind of message a contract topic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicKind {
    Telemetry,
    Status,
    CommandRequest,
    CommandResponse,
    /// Box -> cloud: the box's reported state (desired-state model).
    ShadowReported,
    /// Cloud -> box: the desired state and its delta.
    ShadowDesired,
}

/// A topic of the device contract, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractTopic {
    pub fleet: FleetId,
    pub device: DeviceId,
    pub kind: TopicKind,
}

impl ContractTopic {
    /// Parses `dt/boxpilot/{fleet}/{device}/telemetry|status` and `cmd/boxpilot/{fleet}/{device}/req|resp`.
    /// Wildcards, empty or extra levels and bad ids all give `None`.
    pub fn parse(topic: &str) -> Option<ContractTopic> {
        let mut levels = topic.split('/');
        let (root, app, fleet, device, leaf) = (
            levels.next()?,
            levels.next()?,
            levels.next()?,
            levels.next()?,
            levels.next()?,
        );
        if levels.next().is_some() || app != APP {
            return None;
        }
        let kind = match (root, leaf) {
            ("dt", "telemetry") => TopicKind::Telemetry,
            ("dt", "status") => TopicKind::Status,
            ("cmd", "req") => TopicKind::CommandRequest,
            ("cmd", "resp") => TopicKind::CommandResponse,
            ("dt", "shadow") => TopicKind::ShadowReported,
            ("cmd", "shadow") => TopicKind::ShadowDesired,
            _ => return None,
        };
        Some(ContractTopic {
            fleet: FleetId::parse(fleet).ok()?,
            device: DeviceId::parse(device).ok()?,
            kind,
        })
    }

    pub fn render(&self) -> String {
        let (root, leaf) = match self.kind {
            TopicKind::Telemetry => ("dt", "telemetry"),
            TopicKind::Status => ("dt", "status"),
            TopicKind::CommandRequest => ("cmd", "req"),
            TopicKind::CommandResponse => ("cmd", "resp"),
            TopicKind::ShadowReported => ("dt", "shadow"),
            TopicKind::ShadowDesired => ("cmd", "shadow"),
        };
        format!("{root}/{APP}/{}/{}/{leaf}", self.fleet, self.device)
    }
}

pub fn telemetry(fleet: &FleetId, device: &DeviceId) -> String {
    format!("dt/{APP}/{fleet}/{device}/telemetry")
}

pub fn status(fleet: &FleetId, device: &DeviceId) -> String {
    format!("dt/{APP}/{fleet}/{device}/status")
}

pub fn command_request(fleet: &FleetId, device: &DeviceId) -> String {
    format!("cmd/{APP}/{fleet}/{device}/req")
}

pub fn command_response(fleet: &FleetId, device: &DeviceId) -> String {
    format!("cmd/{APP}/{fleet}/{device}/resp")
}

/// Where a box reports its state (desired-state model).
pub fn shadow_reported(fleet: &FleetId, device: &DeviceId) -> String {
    format!("dt/{APP}/{fleet}/{device}/shadow")
}

/// Where the server sends a box its desired state.
pub fn shadow_desired(fleet: &FleetId, device: &DeviceId) -> String {
    format!("cmd/{APP}/{fleet}/{device}/shadow")
}

/// Everything a browser session may watch in one fleet: telemetry and status of every box.
pub fn fleet_data_filter(fleet: &FleetId) -> String {
    format!("dt/{APP}/{fleet}/+/+")
}

/// MQTT topic-filter matching (`+` one level, `#` the rest), as brokers apply it.
pub fn filter_matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return f.next().is_none(),
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// True when every topic `inner` can match is also matched by `outer`: a subscription to `inner`
/// stays within what `outer` allows.
pub fn filter_within(inner: &str, outer: &str) -> bool {
    let mut i = inner.split('/');
    let mut o = outer.split('/');
    loop {
        match (i.next(), o.next()) {
            (_, Some("#")) => return o.next().is_none(),
            (Some("#"), _) => return false,
            (Some(_), Some("+")) => {}
            (Some("+"), Some(_)) => return false,
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders_contract_topics() {
        let t = ContractTopic::parse("dt/boxpilot/f1/box-1/telemetry").unwrap();
        assert_eq!(t.kind, TopicKind::Telemetry);
        assert_eq!(t.render(), "dt/boxpilot/f1/box-1/telemetry");
        assert_eq!(
            ContractTopic::parse("cmd/boxpilot/f1/b/resp").unwrap().kind,
            TopicKind::CommandResponse
        );
        for (topic, kind) in [
            ("dt/boxpilot/f1/b/shadow", TopicKind::ShadowReported),
            ("cmd/boxpilot/f1/b/shadow", TopicKind::ShadowDesired),
        ] {
            let t = ContractTopic::parse(topic).unwrap();
            assert_eq!(t.kind, kind);
            assert_eq!(t.render(), topic);
        }
    }

    #[test]
    fn refuses_wildcards_extra_levels_and_foreign_roots() {
        for bad in [
            "dt/boxpilot/+/box/telemetry",
            "dt/boxpilot/f/#",
            "dt/boxpilot/f/b/telemetry/x",
            "dt/boxpilot/f/b",
            "dt/other/f/b/telemetry",
            "cmd/boxpilot/f/b/telemetry",
            "dt/boxpilot//b/telemetry",
        ] {
            assert!(ContractTopic::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn filter_matching_follows_mqtt() {
        assert!(filter_matches(
            "dt/boxpilot/f/+/+",
            "dt/boxpilot/f/b/telemetry"
        ));
        assert!(!filter_matches(
            "dt/boxpilot/f/+/+",
            "dt/boxpilot/g/b/telemetry"
        ));
        assert!(filter_matches("dt/#", "dt/boxpilot/f/b/status"));
        assert!(!filter_matches("dt/boxpilot/f/+", "dt/boxpilot/f/b/status"));
    }

    #[test]
    fn filter_within_refuses_widening() {
        assert!(filter_within(
            "dt/boxpilot/f/b/telemetry",
            "dt/boxpilot/f/+/+"
        ));
        assert!(filter_within("dt/boxpilot/f/+/status", "dt/boxpilot/f/+/+"));
        assert!(!filter_within("dt/boxpilot/+/+/+", "dt/boxpilot/f/+/+"));
        assert!(!filter_within("dt/boxpilot/f/#", "dt/boxpilot/f/+/+"));
        assert!(!filter_within("#", "dt/boxpilot/f/+/+"));
        assert!(filter_within("dt/boxpilot/f/x/y", "dt/#"));
    }
}
