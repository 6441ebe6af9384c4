//! The kinds of alert rule as the console's rule editor shows them (the editor is built from
//! this list, as the command forms are built from the catalogue).
use app::domain::{RuleFieldSpec, RuleKindSpec};
use monitor::rules::MAX_RULE_MINUTES;

fn field(
    name: &str,
    kind: &str,
    unit: Option<&str>,
    range: (Option<f64>, Option<f64>),
    default: Option<f64>,
    description: &str,
) -> RuleFieldSpec {
    RuleFieldSpec {
        name: name.into(),
        kind: kind.into(),
        unit: unit.map(Into::into),
        min: range.0,
        max: range.1,
        default,
        description: description.into(),
    }
}

fn kind(kind: &str, label: &str, description: &str, fields: Vec<RuleFieldSpec>) -> RuleKindSpec {
    RuleKindSpec {
        kind: kind.into(),
        label: label.into(),
        description: description.into(),
        fields,
    }
}

pub fn rule_kinds() -> Vec<RuleKindSpec> {
    let minutes = (Some(1.0), Some(f64::from(MAX_RULE_MINUTES)));
    let percent = (Some(0.0), Some(100.0));
    vec![
        kind("cost_spike", "Cost spike", "The fleet's modelled cost per minute jumps far above its usual level for this hour of the day.", vec![]),
        kind("message_rate_spike", "Message rate spike", "The fleet's messages per minute jump far above their usual level for this hour of the day.", vec![]),
        kind("loss_ratio_above", "Lost messages", "More than this share of the messages the boxes sent in the last 5 minutes never arrived (sequence gaps).", vec![
            field("percent", "number", Some("%"), percent, Some(5.0), "lost / (accepted + lost)"),
        ]),
        kind("reject_rate_rising", "Rejections rising", "The share of rejected messages over the window rises above the last day's by a factor.", vec![
            field("factor", "number", Some("×"), (Some(1.0), None), Some(3.0), "times the last day's reject share (more than 1)"),
            field("min_percent", "number", Some("%"), percent, Some(2.0), "and at least this share"),
            field("window_minutes", "integer", Some("min"), minutes, Some(15.0), "the window compared"),
        ]),
        kind("box_offline_longer_than", "Box offline", "A box of the fleet has been offline longer than this.", vec![
            field("minutes", "integer", Some("min"), minutes, Some(30.0), "offline for"),
        ]),
        kind("metric_above", "Metric above", "A box's latest value of a metric stays above a threshold.", vec![
            field("metric", "metric", None, (None, None), None, "a metric the boxes report, e.g. temp_c"),
            field("value", "number", None, (None, None), None, "threshold"),
            field("for_minutes", "integer", Some("min"), minutes, Some(5.0), "for at least"),
        ]),
        kind("metric_below", "Metric below", "A box's latest value of a metric stays below a threshold.", vec![
            field("metric", "metric", None, (None, None), None, "a metric the boxes report, e.g. battery_pct"),
            field("value", "number", None, (None, None), None, "threshold"),
            field("for_minutes", "integer", Some("min"), minutes, Some(5.0), "for at least"),
        ]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind listed parses as a rule with its defaults (and a metric), so the editor never
    /// offers a kind the server would not take.
    #[test]
    fn every_kind_listed_is_a_rule_the_server_takes() {
        for spec in rule_kinds() {
            let mut rule = serde_json::json!({"id": "r", "fleet": "f", "kind": spec.kind});
            for f in &spec.fields {
                rule[&f.name] = match f.kind.as_str() {
                    "metric" => serde_json::json!("temp_c"),
                    "integer" => serde_json::json!(f.default.unwrap_or(5.0) as u64),
                    _ => serde_json::json!(f.default.unwrap_or(1.0)),
                };
            }
            let parsed: monitor::rules::AlertRule = serde_json::from_value(rule.clone())
                .unwrap_or_else(|e| panic!("{}: {e}", spec.kind));
            parsed.validate(&|m| m == "temp_c").unwrap();
            assert_eq!(parsed.kind.name(), spec.kind);
        }
    }
}
