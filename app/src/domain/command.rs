//! Remote commands as the console sees them: the catalogue of a box model and the commands sent
//! to a box with their lifecycle (`created -> sent -> accepted -> succeeded | failed | rejected |
//! timed_out | expired`).
use super::{DeviceId, FleetId, Role};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a command is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandState {
    /// Stored, not yet handed to the broker (the box is offline).
    Created,
    /// Published to the box's request topic.
    Sent,
    /// The box said it is working on it.
    Accepted,
    Succeeded,
    Failed,
    /// Refused by the server (validation) or by the box.
    Rejected,
    /// Sent, but no final answer before its deadline.
    TimedOut,
    /// Never delivered before it expired.
    Expired,
    /// Withdrawn before delivery (its rollout was cancelled or aborted).
    Cancelled,
}

impl CommandState {
    pub const ALL: [CommandState; 9] = [
        CommandState::Created,
        CommandState::Sent,
        CommandState::Accepted,
        CommandState::Succeeded,
        CommandState::Failed,
        CommandState::Rejected,
        CommandState::TimedOut,
        CommandState::Expired,
        CommandState::Cancelled,
    ];

    /// The wire name (`timed_out`), also the `data-state` of the console's rows.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandState::Created => "created",
            CommandState::Sent => "sent",
            CommandState::Accepted => "accepted",
            CommandState::Succeeded => "succeeded",
            CommandState::Failed => "failed",
            CommandState::Rejected => "rejected",
            CommandState::TimedOut => "timed_out",
            CommandState::Expired => "expired",
            CommandState::Cancelled => "cancelled",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            CommandState::Created => "Waiting for the box",
            CommandState::Sent => "Sent",
            CommandState::Accepted => "Accepted",
            CommandState::Succeeded => "Succeeded",
            CommandState::Failed => "Failed",
            CommandState::Rejected => "Rejected",
            CommandState::TimedOut => "Timed out",
            CommandState::Expired => "Expired",
            CommandState::Cancelled => "Cancelled",
        }
    }

    /// The state with this wire name (`timed_out`).
    pub fn parse(raw: &str) -> Option<CommandState> {
        CommandState::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn is_final(self) -> bool {
        !matches!(
            self,
            CommandState::Created | CommandState::Sent | CommandState::Accepted
        )
    }

    /// Whether the lifecycle allows going from `self` to `next`.
    pub fn may_become(self, next: CommandState) -> bool {
        use CommandState::*;
        match self {
            Created => matches!(next, Sent | Expired | Rejected | Cancelled),
            // A box may answer with a final state straight away.
            Sent => matches!(next, Accepted | Succeeded | Failed | Rejected | TimedOut),
            Accepted => matches!(next, Succeeded | Failed | TimedOut),
            _ => false,
        }
    }
}

impl std::fmt::Display for CommandState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One state change with its server time (ms) and detail (a reason, the box's words).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandStateChange {
    pub state: CommandState,
    pub at: i64,
    #[serde(default)]
    pub detail: Option<String>,
}

/// Command parameters for people: `value: 19.5, mode: "eco"`.
pub fn params_text(params: &Value) -> String {
    match params {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// What the audit trail of commands should list. Every filter is optional; the fleet is required
/// unless the caller sees every fleet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub fleet: Option<FleetId>,
    pub device: Option<DeviceId>,
    /// `user:<name>` or just `<name>`.
    pub issuer: Option<String>,
    pub state: Option<CommandState>,
    /// The command's name (`set_setpoint`).
    pub name: Option<String>,
    /// Issued at or after this time (ms); the beginning of time when `None`.
    pub from: Option<i64>,
    /// Issued at or before this time (ms); now when `None`.
    pub to: Option<i64>,
    /// At most this many, newest first: 1 to 1000, 100 when `None`.
    pub limit: Option<usize>,
}

impl AuditQuery {
    /// The query string of `GET /api/v1/audit/commands` for these filters (without `?`), e.g. for
    /// the console's "Download CSV" link; absent filters are left out.
    pub fn to_query_string(&self, format: &str) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(f) = &self.fleet {
            pairs.push(("fleet", f.to_string()));
        }
        if let Some(d) = &self.device {
            pairs.push(("device", d.to_string()));
        }
        if let Some(i) = &self.issuer {
            pairs.push(("issuer", i.clone()));
        }
        if let Some(s) = self.state {
            pairs.push(("state", s.as_str().to_owned()));
        }
        if let Some(n) = &self.name {
            pairs.push(("name", n.clone()));
        }
        if let Some(from) = self.from {
            pairs.push(("from", from.to_string()));
        }
        if let Some(to) = self.to {
            pairs.push(("to", to.to_string()));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        pairs.push(("format", format.to_owned()));
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", percent_encode(&v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One line of the audit trail: a command and the fleet of its box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub fleet: FleetId,
    pub command: CommandView,
}

/// A command sent to a box, as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandView {
    pub id: String,
    pub device: DeviceId,
    pub name: String,
    pub params: Value,
    /// `user:<name>`, from the authenticated identity.
    pub issuer: String,
    /// Server time, ms.
    pub issued_at: i64,
    pub expires_at: i64,
    pub state: CommandState,
    /// Every change, oldest first.
    pub history: Vec<CommandStateChange>,
}

impl CommandView {
    /// The detail of the latest change that has one (the box's answer, the reason of a refusal).
    pub fn detail(&self) -> Option<&str> {
        self.history.iter().rev().find_map(|h| h.detail.as_deref())
    }

    /// When it reached its current state.
    pub fn changed_at(&self) -> i64 {
        self.history.last().map_or(self.issued_at, |h| h.at)
    }

    /// The parameters for people: `value: 19.5, mode: "eco"`.
    pub fn params_text(&self) -> String {
        params_text(&self.params)
    }

    /// The issuer for people: a user's name without the `user:` prefix.
    pub fn issuer_name(&self) -> &str {
        self.issuer.strip_prefix("user:").unwrap_or(&self.issuer)
    }
}

/// The type of a command parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    Number,
    Integer,
    Boolean,
    String,
    Enum,
}

/// A typed parameter of a catalogue command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandParam {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ParamType,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub unit: Option<String>,
    /// The values of an `enum` parameter.
    #[serde(default)]
    pub values: Vec<String>,
    /// The longest `string` parameter, in characters.
    #[serde(default)]
    pub max_len: Option<usize>,
    pub required: bool,
    #[serde(default)]
    pub description: String,
}

impl CommandParam {
    /// The step of a number input: whole numbers for integers, tenths otherwise.
    pub fn step(&self) -> &'static str {
        match self.kind {
            ParamType::Integer => "1",
            _ => "0.1",
        }
    }

    /// Checks what the user typed (a checkbox gives `true`/`false`) and gives the JSON value to
    /// send, `None` for an optional parameter left empty, or a message fit for the user.
    pub fn parse_input(&self, raw: &str) -> Result<Option<Value>, String> {
        let raw = raw.trim();
        let unit = self
            .unit
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        if raw.is_empty() && self.kind != ParamType::Boolean {
            return if self.required {
                Err(format!("{} is required", self.name))
            } else {
                Ok(None)
            };
        }
        let in_range = |x: f64| -> Result<(), String> {
            match (self.min, self.max) {
                (Some(min), Some(max)) if x < min || x > max => Err(format!(
                    "{} must be between {min} and {max}{unit}",
                    self.name
                )),
                (Some(min), None) if x < min => {
                    Err(format!("{} must be at least {min}{unit}", self.name))
                }
                (None, Some(max)) if x > max => {
                    Err(format!("{} must be at most {max}{unit}", self.name))
                }
                _ => Ok(()),
            }
        };
        match self.kind {
            ParamType::Number => {
                let x: f64 = raw
                    .parse()
                    .ok()
                    .filter(|x: &f64| x.is_finite())
                    .ok_or_else(|| format!("{} must be a number", self.name))?;
                in_range(x)?;
                Ok(Some(
                    serde_json::Number::from_f64(x)
                        .map(Value::Number)
                        .unwrap_or(Value::Null),
                ))
            }
            ParamType::Integer => {
                let x: i64 = raw
                    .parse()
                    .map_err(|_| format!("{} must be a whole number", self.name))?;
                in_range(x as f64)?;
                Ok(Some(Value::from(x)))
            }
            ParamType::Boolean => Ok(Some(Value::Bool(raw == "true"))),
            ParamType::String => match self.max_len {
                Some(max) if raw.chars().count() > max => {
                    Err(format!("{} must have at most {max} characters", self.name))
                }
                _ => Ok(Some(Value::from(raw))),
            },
            ParamType::Enum => {
                if self.values.iter().any(|v| v == raw) {
                    Ok(Some(Value::from(raw)))
                } else {
                    Err(format!(
                        "{} must be one of {}",
                        self.name,
                        self.values.join(", ")
                    ))
                }
            }
        }
    }
}

/// A command of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogueCommand {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub params: Vec<CommandParam>,
    /// The console asks for a confirmation before sending it.
    #[serde(default)]
    pub dangerous: bool,
    /// The least role that may send it.
    pub min_role: Role,
}

impl CatalogueCommand {
    /// `set_setpoint` reads "Set setpoint".
    pub fn label(&self) -> String {
        let words = self.name.replace('_', " ");
        let mut chars = words.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }
}

/// The commands a box model understands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandCatalogue {
    pub model: String,
    pub commands: Vec<CatalogueCommand>,
}

impl CommandCatalogue {
    /// The commands `role` may send (none for viewers).
    pub fn for_role(&self, role: Role) -> Vec<CatalogueCommand> {
        self.commands
            .iter()
            .filter(|c| role >= Role::Operator && role >= c.min_role)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn audit_queries_become_query_strings_and_states_parse() {
        let q = AuditQuery {
            fleet: Some(FleetId::parse("north").unwrap()),
            issuer: Some("user:ann smith".into()),
            state: Some(CommandState::TimedOut),
            from: Some(1_000),
            ..AuditQuery::default()
        };
        assert_eq!(
            q.to_query_string("csv"),
            "fleet=north&issuer=user%3Aann%20smith&state=timed_out&from=1000&format=csv"
        );
        assert_eq!(AuditQuery::default().to_query_string("json"), "format=json");
        for state in CommandState::ALL {
            assert_eq!(CommandState::parse(state.as_str()), Some(state));
        }
        assert_eq!(CommandState::parse("done"), None);
    }

    fn number() -> CommandParam {
        CommandParam {
            name: "value".into(),
            kind: ParamType::Number,
            min: Some(-30.0),
            max: Some(30.0),
            unit: Some("°C".into()),
            values: vec![],
            max_len: None,
            required: true,
            description: String::new(),
        }
    }

    #[test]
    fn inputs_are_checked_with_clear_messages() {
        let p = number();
        assert_eq!(p.parse_input("19.5").unwrap(), Some(json!(19.5)));
        assert_eq!(p.parse_input(" -30 ").unwrap(), Some(json!(-30.0)));
        assert_eq!(
            p.parse_input("31").unwrap_err(),
            "value must be between -30 and 30 °C"
        );
        assert_eq!(p.parse_input("").unwrap_err(), "value is required");
        assert_eq!(p.parse_input("cold").unwrap_err(), "value must be a number");
        let int = CommandParam {
            kind: ParamType::Integer,
            min: Some(1.0),
            max: Some(3600.0),
            unit: Some("s".into()),
            ..number()
        };
        assert_eq!(int.parse_input("5").unwrap(), Some(json!(5)));
        assert!(int.parse_input("1.5").unwrap_err().contains("whole number"));
        assert!(int
            .parse_input("0")
            .unwrap_err()
            .contains("between 1 and 3600 s"));
        let level = CommandParam {
            kind: ParamType::Enum,
            values: vec!["basic".into(), "full".into()],
            required: false,
            min: None,
            max: None,
            unit: None,
            ..number()
        };
        assert_eq!(level.parse_input("").unwrap(), None);
        assert_eq!(level.parse_input("full").unwrap(), Some(json!("full")));
        assert!(level.parse_input("deep").is_err());
    }

    #[test]
    fn viewers_get_no_commands_and_operators_no_support_ones() {
        let cmd = |name: &str, min_role| CatalogueCommand {
            name: name.into(),
            description: String::new(),
            params: vec![],
            dangerous: false,
            min_role,
        };
        let c = CommandCatalogue {
            model: "m".into(),
            commands: vec![
                cmd("reboot", Role::Operator),
                cmd("diagnostics", Role::Support),
            ],
        };
        assert!(c.for_role(Role::Viewer).is_empty());
        assert_eq!(c.for_role(Role::Operator).len(), 1);
        assert_eq!(c.for_role(Role::Support).len(), 2);
        assert_eq!(c.commands[0].label(), "Reboot");
        assert_eq!(CommandState::TimedOut.as_str(), "timed_out");
        assert!(!CommandState::Accepted.is_final());
    }
}
