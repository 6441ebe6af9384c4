//! Alert rules as the editor handles them: flat JSON objects (`{"id", "fleet", "enabled",
//! "kind", ...fields}`) built from, and read back into, the text of the form's fields.
use crate::domain::{RuleFieldSpec, RuleKindSpec};
use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;

/// The form's text of each field of a kind, by field name.
pub type FieldTexts = BTreeMap<String, String>;

/// The text a field starts with: its default, if it has one.
pub fn default_text(field: &RuleFieldSpec) -> String {
    field.default.map(number_text).unwrap_or_default()
}

/// The starting texts of every field of a kind.
pub fn default_texts(kind: &RuleKindSpec) -> FieldTexts {
    kind.fields
        .iter()
        .map(|f| (f.name.clone(), default_text(f)))
        .collect()
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// The rule's JSON, or what is wrong with the form (a field that is not a number). Thresholds
/// are checked by the server, whose message is shown as is.
pub fn build_rule(
    id: &str,
    fleet: &str,
    enabled: bool,
    kind: &RuleKindSpec,
    texts: &FieldTexts,
) -> Result<Value, String> {
    let id = id.trim();
    if id.is_empty() {
        return Err("Name the rule (its id), e.g. high-loss.".into());
    }
    let mut rule = Map::new();
    rule.insert("id".into(), Value::from(id));
    rule.insert("fleet".into(), Value::from(fleet));
    rule.insert("enabled".into(), Value::from(enabled));
    rule.insert("kind".into(), Value::from(kind.kind.as_str()));
    for field in &kind.fields {
        let raw = texts.get(&field.name).map_or("", |t| t.trim());
        if raw.is_empty() {
            return Err(format!("{}: a value is needed.", field.name));
        }
        let value = match field.kind.as_str() {
            "integer" => raw
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("{}: a whole number, e.g. 15.", field.name))?,
            "number" => raw
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("{}: a number, e.g. 2.5.", field.name))?,
            _ => Value::from(raw),
        };
        rule.insert(field.name.clone(), value);
    }
    Ok(Value::Object(rule))
}

/// A member of a rule as text (`""` when missing).
pub fn member_text(rule: &Value, name: &str) -> String {
    match rule.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.as_f64().map(number_text).unwrap_or_default(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// The texts of a saved rule's fields, to edit it.
pub fn rule_texts(rule: &Value, kind: &RuleKindSpec) -> FieldTexts {
    kind.fields
        .iter()
        .map(|f| (f.name.clone(), member_text(rule, &f.name)))
        .collect()
}

/// `percent 50 %, window_minutes 15 min`: a rule's thresholds in one line. Without the kind's
/// spec, every member but the rule's own are listed.
pub fn rule_summary(rule: &Value, kind: Option<&RuleKindSpec>) -> String {
    match kind {
        Some(kind) => kind
            .fields
            .iter()
            .map(|f| {
                let value = member_text(rule, &f.name);
                match &f.unit {
                    Some(unit) if !unit.is_empty() => format!("{} {value} {unit}", f.name),
                    _ => format!("{} {value}", f.name),
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
        None => rule
            .as_object()
            .map(|members| {
                members
                    .iter()
                    .filter(|(k, _)| !["id", "fleet", "enabled", "kind"].contains(&k.as_str()))
                    .map(|(k, _)| format!("{k} {}", member_text(rule, k)))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
    }
}

/// The same rule with `enabled` switched.
pub fn with_enabled(rule: &Value, enabled: bool) -> Value {
    let mut rule = rule.clone();
    if let Some(members) = rule.as_object_mut() {
        members.insert("enabled".into(), Value::from(enabled));
    }
    rule
}

/// Whether a rule is enabled (rules saved without the member are).
pub fn is_enabled(rule: &Value) -> bool {
    rule.get("enabled").and_then(Value::as_bool).unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str, kind: &str, unit: Option<&str>, default: Option<f64>) -> RuleFieldSpec {
        RuleFieldSpec {
            name: name.into(),
            kind: kind.into(),
            unit: unit.map(Into::into),
            min: None,
            max: None,
            default,
            description: String::new(),
        }
    }

    fn metric_above() -> RuleKindSpec {
        RuleKindSpec {
            kind: "metric_above".into(),
            label: "Metric above".into(),
            description: String::new(),
            fields: vec![
                field("metric", "metric", None, None),
                field("value", "number", None, Some(8.0)),
                field("for_minutes", "integer", Some("min"), Some(15.0)),
            ],
        }
    }

    #[test]
    fn builds_flat_rules_with_typed_members() {
        let kind = metric_above();
        let mut texts = default_texts(&kind);
        assert_eq!(texts["value"], "8");
        assert_eq!(texts["metric"], "");
        texts.insert("metric".into(), " temp_c ".into());
        texts.insert("value".into(), "7.5".into());
        let rule = build_rule(" cold ", "north", true, &kind, &texts).unwrap();
        assert_eq!(
            rule,
            json!({"id": "cold", "fleet": "north", "enabled": true, "kind": "metric_above",
                   "metric": "temp_c", "value": 7.5, "for_minutes": 15})
        );
        assert!(
            rule["for_minutes"].is_u64(),
            "integers are sent as integers"
        );
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        let kind = metric_above();
        let mut texts = default_texts(&kind);
        texts.insert("metric".into(), "temp_c".into());
        texts.insert("for_minutes".into(), "2.5".into());
        assert!(build_rule("r", "north", true, &kind, &texts)
            .unwrap_err()
            .contains("for_minutes"));
        texts.insert("for_minutes".into(), "5".into());
        texts.insert("value".into(), "warm".into());
        assert!(build_rule("r", "north", true, &kind, &texts).is_err());
        assert!(build_rule("  ", "north", true, &kind, &default_texts(&kind)).is_err());
    }

    #[test]
    fn reads_saved_rules_back() {
        let kind = metric_above();
        let rule = json!({"id": "cold", "fleet": "north", "kind": "metric_above",
                          "metric": "temp_c", "value": 8.0, "for_minutes": 15});
        assert_eq!(rule_texts(&rule, &kind)["value"], "8");
        assert_eq!(
            rule_summary(&rule, Some(&kind)),
            "metric temp_c, value 8, for_minutes 15 min"
        );
        assert_eq!(
            rule_summary(&rule, None),
            "for_minutes 15, metric temp_c, value 8"
        );
        assert!(is_enabled(&rule));
        assert!(!is_enabled(&with_enabled(&rule, false)));
    }
}
