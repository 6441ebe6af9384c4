//! The embedded broker's ACL (`Principal::may_publish` / `may_subscribe`) as an AWS IoT Core
//! policy document, for the custom authorizer's answer (consoles) and for boxes.
//!
//! ## How MQTT filters map to IoT policy resources
//!
//! IoT policies name topics by ARN: `topic/<topic>` for `iot:Publish` and `iot:Receive`,
//! `topicfilter/<filter>` for `iot:Subscribe`, `client/<client id>` for `iot:Connect`. In those
//! resources `+` and `#` are *literal* characters, and the only wildcards are `*` (any run of
//! characters, `/` included) and `?` (one character). So:
//!
//! - a level `+` becomes `*`, and a trailing `#` becomes `*`. `*` also crosses `/`, so
//!   `dt/boxpilot/north/+/+` becomes `dt/boxpilot/north/*`: the fleet level stays exact (the `/`
//!   after `north` is kept, `northwest` does not match), only deeper levels are looser. No one can
//!   publish such deeper topics (boxes publish exactly their own contract topics, consoles no
//!   `dt/` topic, the server only `cmd/.../req|shadow`), so what a console can *receive* is the
//!   same as on the embedded broker.
//! - Subscribing: `topicfilter/dt/boxpilot/north/*` admits the granted filter itself (the
//!   literal `+` characters match `*`) and any narrower one (`dt/boxpilot/north/b1/telemetry`),
//!   as `filter_within` does; it also admits `dt/boxpilot/north/#`, which the embedded ACL
//!   refuses, but `iot:Receive` still limits delivery to the same topics.
//! - Box and fleet ids are `[A-Za-z0-9_-]{1,64}`: they hold no `*`, `?` or `$`, so nothing needs
//!   escaping.
//! - A console's client id is its prefix followed by anything: `client/console-ann-*`.
//!
//! Consoles' *publish* grants (operators: `cmd/boxpilot/{fleet}/+/req`) are left out unless
//! [`PolicyOptions::console_publish`] is set: IoT Core delivers a publish to the box before any
//! rule or Lambda sees it, so the command catalogue's checks (types, ranges, least role of
//! diagnostic commands) could not refuse it as the embedded broker does. The console issues
//! commands through the HTTP API, which checks them first; it never publishes over MQTT.
use crate::access::Principal;
use app::domain::topics;
use serde_json::{json, Value};

/// Where the policy applies: `arn:{partition}:iot:{region}:{account}:...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyContext {
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl PolicyContext {
    pub fn new(region: impl Into<String>, account: impl Into<String>) -> Self {
        Self {
            partition: "aws".into(),
            region: region.into(),
            account: account.into(),
        }
    }

    fn arn(&self, kind: &str, name: &str) -> String {
        format!(
            "arn:{}:iot:{}:{}:{kind}/{name}",
            self.partition, self.region, self.account
        )
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyOptions {
    /// Grant consoles the publish filters of their credential (see the module notes).
    pub console_publish: bool,
}

/// An MQTT topic filter (or topic) as an IoT policy resource name: `+` and `#` levels become `*`.
pub fn filter_to_resource(filter: &str) -> String {
    filter
        .split('/')
        .map(|level| match level {
            "+" | "#" => "*",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn statement(action: &str, resources: Vec<String>) -> Option<Value> {
    (!resources.is_empty()).then(|| {
        json!({
            "Effect": "Allow",
            "Action": action,
            "Resource": resources,
        })
    })
}

/// The IoT policy document equivalent to the principal's ACL.
pub fn policy_for(principal: &Principal, ctx: &PolicyContext, options: PolicyOptions) -> Value {
    let (connect, publish, subscribe, receive) = match principal {
        Principal::Device { fleet, device } => {
            let own_in = [
                topics::command_request(fleet, device),
                topics::shadow_desired(fleet, device),
            ];
            let own_out = [
                topics::telemetry(fleet, device),
                topics::status(fleet, device),
                topics::shadow_reported(fleet, device),
                topics::command_response(fleet, device),
            ];
            (
                vec![ctx.arn("client", device.as_str())],
                own_out.iter().map(|t| ctx.arn("topic", t)).collect(),
                own_in.iter().map(|t| ctx.arn("topicfilter", t)).collect(),
                own_in.iter().map(|t| ctx.arn("topic", t)).collect(),
            )
        }
        Principal::Console {
            client_id_prefix,
            subscribe,
            publish,
            ..
        } => {
            let mut subscribe_res = Vec::new();
            let mut receive_res = Vec::new();
            for filter in subscribe {
                let name = filter_to_resource(filter);
                subscribe_res.push(ctx.arn("topicfilter", &name));
                receive_res.push(ctx.arn("topic", &name));
            }
            let publish_res = if options.console_publish {
                publish
                    .iter()
                    .map(|f| ctx.arn("topic", &filter_to_resource(f)))
                    .collect()
            } else {
                Vec::new()
            };
            (
                vec![ctx.arn("client", &format!("{client_id_prefix}*"))],
                publish_res,
                subscribe_res,
                receive_res,
            )
        }
    };
    let statements: Vec<Value> = [
        statement("iot:Connect", connect),
        statement("iot:Publish", publish),
        statement("iot:Subscribe", subscribe),
        statement("iot:Receive", receive),
    ]
    .into_iter()
    .flatten()
    .collect();
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// Whether an IoT policy resource pattern (`*` any run, `?` one character) matches a name: the
/// IoT Core evaluation, used by the tests to check a policy against the embedded ACL.
pub fn resource_matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// Whether `policy` allows `action` on `resource` (an ARN), Allow statements only.
pub fn policy_allows(policy: &Value, action: &str, resource: &str) -> bool {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["Effect"] == "Allow" && s["Action"] == action)
        .flat_map(|s| s["Resource"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .any(|pattern| resource_matches(pattern, resource))
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::{DeviceId, FleetId};

    fn ctx() -> PolicyContext {
        PolicyContext::new("eu-west-1", "123456789012")
    }
    fn topic(t: &str) -> String {
        format!("arn:aws:iot:eu-west-1:123456789012:topic/{t}")
    }
    fn filter(t: &str) -> String {
        format!("arn:aws:iot:eu-west-1:123456789012:topicfilter/{t}")
    }
    fn client(c: &str) -> String {
        format!("arn:aws:iot:eu-west-1:123456789012:client/{c}")
    }

    #[test]
    fn wildcards_map_to_star() {
        assert_eq!(filter_to_resource("dt/boxpilot/+/+/+"), "dt/boxpilot/*/*/*");
        assert_eq!(filter_to_resource("dt/boxpilot/f1/#"), "dt/boxpilot/f1/*");
        assert_eq!(
            filter_to_resource("cmd/boxpilot/f1/b1/req"),
            "cmd/boxpilot/f1/b1/req"
        );
        assert!(resource_matches(
            "dt/boxpilot/f1/*/*",
            "dt/boxpilot/f1/b1/telemetry"
        ));
        assert!(resource_matches("dt/boxpilot/f1/*/*", "dt/boxpilot/f1/+/+"));
        assert!(!resource_matches(
            "dt/boxpilot/f1/*/*",
            "dt/boxpilot/f10/b1/telemetry"
        ));
        assert!(!resource_matches(
            "dt/boxpilot/f1/*/*",
            "cmd/boxpilot/f1/b1/req"
        ));
        assert!(resource_matches("a?c", "abc") && !resource_matches("a?c", "ac"));
    }

    /// For every topic of the contract in two fleets, the box policy allows exactly what the
    /// embedded ACL allows.
    #[test]
    fn box_policy_is_the_embedded_acl() {
        let me = Principal::Device {
            fleet: FleetId::parse("f1").unwrap(),
            device: DeviceId::parse("b1").unwrap(),
        };
        let policy = policy_for(&me, &ctx(), PolicyOptions::default());
        assert!(policy_allows(&policy, "iot:Connect", &client("b1")));
        assert!(!policy_allows(&policy, "iot:Connect", &client("b2")));
        for f in ["f1", "f2"] {
            for d in ["b1", "b2"] {
                for t in [
                    format!("dt/boxpilot/{f}/{d}/telemetry"),
                    format!("dt/boxpilot/{f}/{d}/status"),
                    format!("dt/boxpilot/{f}/{d}/shadow"),
                    format!("cmd/boxpilot/{f}/{d}/req"),
                    format!("cmd/boxpilot/{f}/{d}/resp"),
                    format!("cmd/boxpilot/{f}/{d}/shadow"),
                ] {
                    assert_eq!(
                        policy_allows(&policy, "iot:Publish", &topic(&t)),
                        me.may_publish(&t),
                        "publish {t}"
                    );
                    assert_eq!(
                        policy_allows(&policy, "iot:Subscribe", &filter(&t)),
                        me.may_subscribe(&t),
                        "subscribe {t}"
                    );
                    assert_eq!(
                        policy_allows(&policy, "iot:Receive", &topic(&t)),
                        me.may_subscribe(&t),
                        "receive {t}"
                    );
                }
            }
        }
        assert!(!policy_allows(
            &policy,
            "iot:Subscribe",
            &filter("cmd/boxpilot/f1/+/req")
        ));
        assert!(!policy_allows(&policy, "iot:Subscribe", &filter("#")));
    }

    #[test]
    fn console_policy_follows_its_credential() {
        let ann = Principal::Console {
            username: "ann".into(),
            client_id_prefix: "console-ann-".into(),
            subscribe: vec!["dt/boxpilot/f1/+/+".into(), "cmd/boxpilot/f1/+/resp".into()],
            publish: vec!["cmd/boxpilot/f1/+/req".into()],
            expires_at: 0,
        };
        let policy = policy_for(&ann, &ctx(), PolicyOptions::default());
        assert!(policy_allows(
            &policy,
            "iot:Connect",
            &client("console-ann-00ff")
        ));
        assert!(!policy_allows(
            &policy,
            "iot:Connect",
            &client("console-bob-00ff")
        ));
        assert!(!policy_allows(&policy, "iot:Connect", &client("b1")));
        for t in [
            "dt/boxpilot/f1/b1/telemetry",
            "dt/boxpilot/f1/b9/status",
            "cmd/boxpilot/f1/b1/resp",
        ] {
            assert!(policy_allows(&policy, "iot:Receive", &topic(t)), "{t}");
            assert!(policy_allows(&policy, "iot:Subscribe", &filter(t)), "{t}");
        }
        assert!(policy_allows(
            &policy,
            "iot:Subscribe",
            &filter("dt/boxpilot/f1/+/+")
        ));
        for t in ["dt/boxpilot/f2/b1/telemetry", "cmd/boxpilot/f1/b1/req"] {
            assert!(!policy_allows(&policy, "iot:Receive", &topic(t)), "{t}");
        }
        assert!(!policy_allows(
            &policy,
            "iot:Subscribe",
            &filter("dt/boxpilot/+/+/+")
        ));
        assert!(!policy_allows(&policy, "iot:Subscribe", &filter("dt/#")));
        // No MQTT publish by default (commands go through the HTTP API's checks).
        assert!(!policy_allows(
            &policy,
            "iot:Publish",
            &topic("cmd/boxpilot/f1/b1/req")
        ));
        let parity = policy_for(
            &ann,
            &ctx(),
            PolicyOptions {
                console_publish: true,
            },
        );
        assert!(policy_allows(
            &parity,
            "iot:Publish",
            &topic("cmd/boxpilot/f1/b1/req")
        ));
        assert!(!policy_allows(
            &parity,
            "iot:Publish",
            &topic("cmd/boxpilot/f2/b1/req")
        ));
        assert!(!policy_allows(
            &parity,
            "iot:Publish",
            &topic("dt/boxpilot/f1/b1/telemetry")
        ));
    }
}
