//! Desired state of a box, on the model of the AWS IoT Device Shadow: people set `desired`, the box
//! reports `reported`, the `delta` is what the box still has to do, and every change bumps a
//! `version` that an update must name (optimistic locking: a stale version is refused).
//!
//! Values are flat scalars (numbers, booleans, short strings), like telemetry metrics: enough for
//! set-points and modes, and simple to edit on a phone. A `null` in an update removes the key.
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Keys in one document (desired or reported).
pub const MAX_SHADOW_KEYS: usize = 50;
/// Bytes of one string value.
pub const MAX_SHADOW_TEXT: usize = 256;

/// One side of the shadow: key -> scalar.
pub type ShadowDoc = BTreeMap<String, Value>;

/// The shadow of one box as the API shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShadowView {
    /// 0 while nothing was ever set or reported.
    pub version: u64,
    pub desired: ShadowDoc,
    pub reported: ShadowDoc,
    /// Desired keys whose reported value differs (or is missing).
    pub delta: ShadowDoc,
    pub desired_at: Option<i64>,
    /// `user:<name>` of the last change of `desired`.
    pub desired_by: Option<String>,
    pub reported_at: Option<i64>,
}

/// `PUT /api/v1/devices/{device}/shadow`: keys to set (`null` removes), and the version the
/// change is based on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowUpdate {
    pub desired: ShadowDoc,
    pub version: u64,
}

/// What a box publishes on `dt/boxpilot/{fleet}/{device}/shadow`: its state after reconciling,
/// and the version it reconciled to (optional; a stale one is refused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowReport {
    pub reported: ShadowDoc,
    #[serde(default)]
    pub version: Option<u64>,
}

/// What the server publishes on `cmd/boxpilot/{fleet}/{device}/shadow`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShadowDelta {
    pub version: u64,
    pub desired: ShadowDoc,
    pub delta: ShadowDoc,
}

/// The desired keys whose reported value differs. Numbers compare by value (`19` equals `19.0`).
pub fn delta(desired: &ShadowDoc, reported: &ShadowDoc) -> ShadowDoc {
    desired
        .iter()
        .filter(|(k, want)| !reported.get(*k).is_some_and(|have| same_value(want, have)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn valid_key(k: &str) -> bool {
    (1..=64).contains(&k.len())
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

/// Applies `patch` to `doc` (`null` removes a key), refusing bad keys and values with the reason.
/// `doc` is unchanged on error.
pub fn apply_patch(doc: &ShadowDoc, patch: &ShadowDoc, side: &str) -> Result<ShadowDoc, String> {
    let mut out = doc.clone();
    for (k, v) in patch {
        if !valid_key(k) {
            return Err(format!(
                "{side} key {k:?} must be 1 to 64 characters among a-z, 0-9, _ and ."
            ));
        }
        match v {
            Value::Null => {
                out.remove(k);
            }
            Value::Bool(_) => {
                out.insert(k.clone(), v.clone());
            }
            Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => {
                out.insert(k.clone(), v.clone());
            }
            Value::String(s) if s.len() <= MAX_SHADOW_TEXT => {
                out.insert(k.clone(), v.clone());
            }
            Value::String(_) => {
                return Err(format!(
                    "{side}.{k}: text longer than {MAX_SHADOW_TEXT} bytes"
                ))
            }
            _ => {
                return Err(format!(
                    "{side}.{k}: a value is a number, a boolean, a string or null (to remove it)"
                ))
            }
        }
    }
    if out.len() > MAX_SHADOW_KEYS {
        return Err(format!("{side} holds more than {MAX_SHADOW_KEYS} keys"));
    }
    Ok(out)
}

/// Reads what a person typed for a desired value: a number, `true`/`false`, `null` to remove the
/// key, anything else as text.
pub fn parse_typed_value(raw: &str) -> Value {
    let raw = raw.trim();
    match raw {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" | "" => Value::Null,
        _ => raw
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(raw.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> ShadowDoc {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn delta_lists_desired_keys_the_box_has_not_reached() {
        let desired = doc(json!({"setpoint_c": 19, "mode": "eco", "interval_s": 10}));
        let reported = doc(json!({"setpoint_c": 19.0, "mode": "comfort", "fw": "1.4"}));
        assert_eq!(
            delta(&desired, &reported),
            doc(json!({"mode": "eco", "interval_s": 10}))
        );
        assert!(delta(&reported, &reported).is_empty());
    }

    #[test]
    fn a_patch_sets_and_removes_and_refuses_bad_input_whole() {
        let before = doc(json!({"a": 1, "b": true}));
        let after = apply_patch(&before, &doc(json!({"a": null, "c": "x"})), "desired").unwrap();
        assert_eq!(after, doc(json!({"b": true, "c": "x"})));
        let bad = apply_patch(&before, &doc(json!({"d": 1, "Bad Key": 2})), "desired");
        assert!(bad.unwrap_err().contains("Bad Key"));
        let nested = apply_patch(&before, &doc(json!({"a": {"x": 1}})), "desired");
        assert!(nested.unwrap_err().contains("desired.a"));
        let long = apply_patch(&before, &doc(json!({"a": "x".repeat(300)})), "reported");
        assert!(long.unwrap_err().contains("longer than"));
        let many: ShadowDoc = (0..51).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(apply_patch(&ShadowDoc::new(), &many, "desired").is_err());
    }

    #[test]
    fn typed_values_are_read_as_people_mean_them() {
        assert_eq!(parse_typed_value(" 19.5 "), json!(19.5));
        assert_eq!(parse_typed_value("true"), json!(true));
        assert_eq!(parse_typed_value(""), Value::Null);
        assert_eq!(parse_typed_value("eco"), json!("eco"));
        assert_eq!(parse_typed_value("NaN"), json!("NaN"));
    }
}
