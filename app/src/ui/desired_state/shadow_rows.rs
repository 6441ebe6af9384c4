use crate::domain::ShadowView;
use serde_json::Value;
use std::collections::BTreeSet;

/// One key of a box's shadow as the card lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShadowRow {
    pub key: String,
    pub desired: Option<String>,
    pub reported: Option<String>,
    /// Desired and not reached yet.
    pub pending: bool,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every key that is desired or reported, in key order.
pub fn shadow_rows(shadow: &ShadowView) -> Vec<ShadowRow> {
    let keys: BTreeSet<&String> = shadow
        .desired
        .keys()
        .chain(shadow.reported.keys())
        .collect();
    keys.into_iter()
        .map(|k| ShadowRow {
            key: k.clone(),
            desired: shadow.desired.get(k).map(text),
            reported: shadow.reported.get(k).map(text),
            pending: shadow.delta.contains_key(k),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_merge_both_sides_and_mark_what_is_pending() {
        let shadow = ShadowView {
            version: 3,
            desired: serde_json::from_value(json!({"mode": "eco", "setpoint_c": 4})).unwrap(),
            reported: serde_json::from_value(json!({"setpoint_c": 4.0, "fw": "1.2"})).unwrap(),
            delta: serde_json::from_value(json!({"mode": "eco"})).unwrap(),
            ..Default::default()
        };
        let rows = shadow_rows(&shadow);
        let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["fw", "mode", "setpoint_c"]);
        assert_eq!(rows[0].desired, None);
        assert_eq!(rows[1].desired.as_deref(), Some("eco"));
        assert!(rows[1].pending && !rows[2].pending && !rows[0].pending);
        assert_eq!(rows[2].reported.as_deref(), Some("4.0"));
    }
}
