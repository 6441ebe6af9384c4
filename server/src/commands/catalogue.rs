//! The command catalogue of a box model: names, typed parameters with ranges and units, a
//! `dangerous` flag and the least role that may send each command. Defined in a JSON file
//! (`server/catalogue/coldbox.json`, built in; `--command-catalogue FILE` replaces it).
use app::domain::Role;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The built-in catalogue of the `coldbox` model.
pub const BUILTIN_COLDBOX: &str = include_str!("../../catalogue/coldbox.json");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalogue {
    pub model: String,
    pub commands: Vec<CommandSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub params: Vec<ParamSpec>,
    /// The console asks for a confirmation before sending it.
    #[serde(default)]
    pub dangerous: bool,
    #[serde(default = "operator")]
    pub min_role: Role,
}

fn operator() -> Role {
    Role::Operator
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    pub name: String,
    #[serde(flatten)]
    pub kind: ParamKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ParamKind {
    Number {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    Integer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
    },
    Boolean,
    String {
        max_len: usize,
    },
    Enum {
        values: Vec<String>,
    },
}

impl Catalogue {
    /// Parses and checks a catalogue file's text.
    pub fn parse(text: &str) -> Result<Catalogue, String> {
        let catalogue: Catalogue =
            serde_json::from_str(text).map_err(|e| format!("command catalogue: {e}"))?;
        let mut names = std::collections::BTreeSet::new();
        for c in &catalogue.commands {
            if !names.insert(c.name.as_str()) {
                return Err(format!("command catalogue: {} is defined twice", c.name));
            }
            if c.name.is_empty() || c.name.len() > 64 {
                return Err(format!(
                    "command catalogue: command name {:?} must have 1 to 64 characters",
                    c.name
                ));
            }
            if c.min_role < Role::Operator {
                return Err(format!(
                    "command catalogue: {}: min_role must be operator or above",
                    c.name
                ));
            }
            for p in &c.params {
                let bad_range = match &p.kind {
                    ParamKind::Number {
                        min: Some(a),
                        max: Some(b),
                    } => a > b,
                    ParamKind::Integer {
                        min: Some(a),
                        max: Some(b),
                    } => a > b,
                    ParamKind::Enum { values } => values.is_empty(),
                    _ => false,
                };
                if bad_range {
                    return Err(format!(
                        "command catalogue: {}.{}: empty range or empty enum",
                        c.name, p.name
                    ));
                }
            }
        }
        Ok(catalogue)
    }

    pub fn builtin() -> Catalogue {
        Catalogue::parse(BUILTIN_COLDBOX).expect("the built-in catalogue is valid")
    }

    /// Reads a catalogue file.
    pub fn load(path: &std::path::Path) -> Result<Catalogue, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read command catalogue {}: {e}", path.display()))?;
        Catalogue::parse(&text)
    }

    pub fn command(&self, name: &str) -> Option<&CommandSpec> {
        self.commands.iter().find(|c| c.name == name)
    }

    /// Checks a command against the catalogue; the error is a reason fit for the caller.
    pub fn validate(&self, name: &str, params: &Value) -> Result<&CommandSpec, String> {
        let spec = self.command(name).ok_or_else(|| {
            format!(
                "unknown command {name:?} for model {}; known: {}",
                self.model,
                self.commands
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        let empty = Map::new();
        let params = match params {
            Value::Object(m) => m,
            Value::Null => &empty,
            other => return Err(format!("{name}: params must be an object, got {other}")),
        };
        for key in params.keys() {
            if !spec.params.iter().any(|p| &p.name == key) {
                return Err(format!("{name}: unknown parameter {key:?}"));
            }
        }
        for p in &spec.params {
            match params.get(&p.name) {
                None | Some(Value::Null) if p.required => {
                    return Err(format!("{name}: parameter {} is required", p.name))
                }
                None | Some(Value::Null) => {}
                Some(v) => p.check(name, v)?,
            }
        }
        Ok(spec)
    }
}

impl ParamSpec {
    fn check(&self, command: &str, v: &Value) -> Result<(), String> {
        let what = format!("{command}: {}", self.name);
        let unit = self
            .unit
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        match &self.kind {
            ParamKind::Number { min, max } => {
                let x = v
                    .as_f64()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| format!("{what} must be a number, got {v}"))?;
                check_range(&what, x, *min, *max, &unit)
            }
            ParamKind::Integer { min, max } => {
                let x = v
                    .as_i64()
                    .ok_or_else(|| format!("{what} must be an integer, got {v}"))?;
                check_range(&what, x, *min, *max, &unit)
            }
            ParamKind::Boolean => v
                .as_bool()
                .map(|_| ())
                .ok_or_else(|| format!("{what} must be true or false, got {v}")),
            ParamKind::String { max_len } => {
                let s = v
                    .as_str()
                    .ok_or_else(|| format!("{what} must be a string, got {v}"))?;
                if s.chars().count() > *max_len {
                    return Err(format!("{what} must have at most {max_len} characters"));
                }
                Ok(())
            }
            ParamKind::Enum { values } => {
                let s = v.as_str().ok_or_else(|| {
                    format!("{what} must be one of {}, got {v}", values.join(", "))
                })?;
                if values.iter().any(|x| x == s) {
                    Ok(())
                } else {
                    Err(format!(
                        "{what} must be one of {}, got {s:?}",
                        values.join(", ")
                    ))
                }
            }
        }
    }
}

fn check_range<T: PartialOrd + std::fmt::Display + Copy>(
    what: &str,
    x: T,
    min: Option<T>,
    max: Option<T>,
    unit: &str,
) -> Result<(), String> {
    if let Some(min) = min {
        if x < min {
            return Err(format!(
                "{what} = {x}{unit} is below the minimum {min}{unit}"
            ));
        }
    }
    if let Some(max) = max {
        if x > max {
            return Err(format!(
                "{what} = {x}{unit} is above the maximum {max}{unit}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_builtin_catalogue_describes_the_coldbox() {
        let c = Catalogue::builtin();
        assert_eq!(c.model, "coldbox");
        assert!(c.command("reboot").unwrap().dangerous);
        assert_eq!(c.command("diagnostics").unwrap().min_role, Role::Support);
        assert_eq!(c.command("set_setpoint").unwrap().min_role, Role::Operator);
        let p = &c.command("set_setpoint").unwrap().params[0];
        assert_eq!(p.unit.as_deref(), Some("°C"));
        assert_eq!(
            p.kind,
            ParamKind::Number {
                min: Some(-30.0),
                max: Some(30.0)
            }
        );
    }

    #[test]
    fn requests_are_validated_with_clear_reasons() {
        let c = Catalogue::builtin();
        assert!(c.validate("set_setpoint", &json!({"value": 19.5})).is_ok());
        assert!(c.validate("set_setpoint", &json!({"value": -30})).is_ok());
        assert!(c.validate("reboot", &json!({})).is_ok());
        assert!(c.validate("reboot", &Value::Null).is_ok());
        assert!(c.validate("diagnostics", &json!({"level": "full"})).is_ok());

        let err = |name: &str, p: Value| c.validate(name, &p).unwrap_err();
        assert!(err("self_destruct", json!({})).contains("unknown command"));
        assert!(err("set_setpoint", json!({"value": "cold"})).contains("must be a number"));
        assert!(err("set_setpoint", json!({"value": 31})).contains("above the maximum 30 °C"));
        assert!(err("set_setpoint", json!({})).contains("is required"));
        assert!(err("set_setpoint", json!({"value": 1, "x": 2})).contains("unknown parameter"));
        assert!(err("set_setpoint", json!([1])).contains("must be an object"));
        assert!(err("set_interval", json!({"seconds": 1.5})).contains("must be an integer"));
        assert!(err("set_interval", json!({"seconds": 0})).contains("below the minimum 1 s"));
        assert!(err("diagnostics", json!({"level": "deep"})).contains("one of basic, full"));
        assert!(err("diagnostics", json!({"note": "x".repeat(201)})).contains("at most 200"));
    }

    #[test]
    fn bad_catalogues_are_refused() {
        assert!(Catalogue::parse("{").is_err());
        let twice = r#"{"model":"m","commands":[{"name":"a"},{"name":"a"}]}"#;
        assert!(Catalogue::parse(twice).unwrap_err().contains("twice"));
        let range = r#"{"model":"m","commands":[{"name":"a","params":[{"name":"v","type":"integer","min":5,"max":1}]}]}"#;
        assert!(Catalogue::parse(range).is_err());
        let viewer = r#"{"model":"m","commands":[{"name":"a","min_role":"viewer"}]}"#;
        assert!(Catalogue::parse(viewer).is_err());
    }
}
