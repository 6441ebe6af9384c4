//! The device contract's rules for message payloads. Pure functions: every entry point (broker
//! hook, HTTP ingest, Lambda) calls them through the ingestion core.
use app::domain::MetricValue;
use serde_json::Value;
use std::collections::BTreeMap;

/// The AWS IoT Core payload limit, enforced here too so that what works locally works in the cloud.
pub const MAX_PAYLOAD_BYTES: usize = 128 * 1024;
pub const MAX_METRICS: usize = 100;
pub const MAX_METRIC_NAME: usize = 64;
pub const MAX_TEXT_BYTES: usize = 256;
/// How far ahead of the server clock a box timestamp may be.
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60_000;
/// How old a reading may be (a box that buffered while offline for up to a week still gets in).
pub const MAX_AGE_MS: i64 = 7 * 86_400_000;

/// Why a message was rejected: a stable code for counters and dead letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    InvalidTopic,
    UnknownDevice,
    WrongFleet,
    PayloadTooLarge,
    MalformedJson,
    NotFiniteNumber,
    InvalidShape,
    InvalidSeq,
    InvalidTimestamp,
    TimestampInFuture,
    TimestampTooOld,
    NoMetrics,
    TooManyMetrics,
    InvalidMetricName,
    InvalidMetricValue,
    TextTooLong,
    StoreUnavailable,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::InvalidTopic => "invalid_topic",
            RejectReason::UnknownDevice => "unknown_device",
            RejectReason::WrongFleet => "wrong_fleet",
            RejectReason::PayloadTooLarge => "payload_too_large",
            RejectReason::MalformedJson => "malformed_json",
            RejectReason::NotFiniteNumber => "not_finite_number",
            RejectReason::InvalidShape => "invalid_shape",
            RejectReason::InvalidSeq => "invalid_seq",
            RejectReason::InvalidTimestamp => "invalid_timestamp",
            RejectReason::TimestampInFuture => "timestamp_in_future",
            RejectReason::TimestampTooOld => "timestamp_too_old",
            RejectReason::NoMetrics => "no_metrics",
            RejectReason::TooManyMetrics => "too_many_metrics",
            RejectReason::InvalidMetricName => "invalid_metric_name",
            RejectReason::InvalidMetricValue => "invalid_metric_value",
            RejectReason::TextTooLong => "text_too_long",
            RejectReason::StoreUnavailable => "store_unavailable",
        }
    }
}

/// A rejection: the reason code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {detail}", reason.as_str())]
pub struct Rejection {
    pub reason: RejectReason,
    pub detail: String,
}

pub(crate) fn reject(reason: RejectReason, detail: impl Into<String>) -> Rejection {
    Rejection {
        reason,
        detail: detail.into(),
    }
}

/// A telemetry payload that passed every rule.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryMessage {
    pub seq: u64,
    pub ts: i64,
    pub metrics: BTreeMap<String, MetricValue>,
}

/// A status (presence) payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMessage {
    pub online: bool,
    pub firmware: Option<String>,
}

fn parse_json(payload: &[u8]) -> Result<serde_json::Map<String, Value>, Rejection> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(reject(
            RejectReason::PayloadTooLarge,
            format!(
                "payload is {} bytes, the limit is {MAX_PAYLOAD_BYTES}",
                payload.len()
            ),
        ));
    }
    let value: Value = serde_json::from_slice(payload).map_err(|e| {
        // JSON has no NaN or Infinity; boxes that print them (or 1e999) produce invalid JSON.
        let text = String::from_utf8_lossy(payload);
        if text.contains("NaN")
            || text.contains("Infinity")
            || e.to_string().contains("out of range")
        {
            reject(
                RejectReason::NotFiniteNumber,
                format!("numbers must be finite: {e}"),
            )
        } else {
            reject(RejectReason::MalformedJson, format!("not valid JSON: {e}"))
        }
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(reject(
            RejectReason::InvalidShape,
            format!("payload must be a JSON object, got {}", kind(&other)),
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn valid_metric_name(name: &str) -> bool {
    (1..=MAX_METRIC_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

/// `ts` as milliseconds since the epoch, from an integer or an RFC 3339 string.
fn parse_timestamp(v: Option<&Value>) -> Result<i64, Rejection> {
    match v {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_u64().and_then(|u| i64::try_from(u).ok()))
            .ok_or_else(|| {
                reject(
                    RejectReason::InvalidTimestamp,
                    format!("ts {n} is not a whole number of milliseconds"),
                )
            }),
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .map_err(|e| {
                reject(
                    RejectReason::InvalidTimestamp,
                    format!("ts {s:?} is not RFC 3339: {e}"),
                )
            }),
        Some(other) => Err(reject(
            RejectReason::InvalidTimestamp,
            format!("ts must be milliseconds or RFC 3339, got {}", kind(other)),
        )),
        None => Err(reject(RejectReason::InvalidShape, "missing field ts")),
    }
}

fn parse_metric(name: &str, v: &Value) -> Result<MetricValue, Rejection> {
    match v {
        Value::Bool(b) => Ok(MetricValue::Bool(*b)),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() => Ok(MetricValue::Number(f)),
            _ => Err(reject(
                RejectReason::NotFiniteNumber,
                format!("metric {name} is not a finite number"),
            )),
        },
        Value::String(s) if s.len() > MAX_TEXT_BYTES => Err(reject(
            RejectReason::TextTooLong,
            format!(
                "metric {name} is {} bytes of text, the limit is {MAX_TEXT_BYTES}",
                s.len()
            ),
        )),
        Value::String(s) => Ok(MetricValue::Text(s.clone())),
        other => Err(reject(
            RejectReason::InvalidMetricValue,
            format!(
                "metric {name} must be a number, a boolean or a string, got {}",
                kind(other)
            ),
        )),
    }
}

/// Checks a telemetry payload against the device contract; `now_ms` is the server clock.
pub fn validate_telemetry(payload: &[u8], now_ms: i64) -> Result<TelemetryMessage, Rejection> {
    let map = parse_json(payload)?;
    let seq = match map.get("seq") {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            reject(
                RejectReason::InvalidSeq,
                format!("seq {n} must be a whole number >= 0"),
            )
        })?,
        Some(other) => {
            return Err(reject(
                RejectReason::InvalidSeq,
                format!("seq must be a number, got {}", kind(other)),
            ))
        }
        None => return Err(reject(RejectReason::InvalidShape, "missing field seq")),
    };
    let ts = parse_timestamp(map.get("ts"))?;
    if ts > now_ms + MAX_FUTURE_SKEW_MS {
        return Err(reject(
            RejectReason::TimestampInFuture,
            format!(
                "ts is {} s ahead of the server clock (limit {} s)",
                (ts - now_ms) / 1000,
                MAX_FUTURE_SKEW_MS / 1000
            ),
        ));
    }
    if ts < now_ms - MAX_AGE_MS {
        return Err(reject(
            RejectReason::TimestampTooOld,
            format!(
                "ts is {} h old (limit {} h)",
                (now_ms - ts) / 3_600_000,
                MAX_AGE_MS / 3_600_000
            ),
        ));
    }
    let raw = match map.get("metrics") {
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(reject(
                RejectReason::InvalidShape,
                format!("metrics must be an object, got {}", kind(other)),
            ))
        }
        None => return Err(reject(RejectReason::InvalidShape, "missing field metrics")),
    };
    if raw.is_empty() {
        return Err(reject(
            RejectReason::NoMetrics,
            "metrics must hold at least one entry",
        ));
    }
    if raw.len() > MAX_METRICS {
        return Err(reject(
            RejectReason::TooManyMetrics,
            format!("{} metrics, the limit is {MAX_METRICS}", raw.len()),
        ));
    }
    let mut metrics = BTreeMap::new();
    for (name, value) in raw {
        if !valid_metric_name(name) {
            return Err(reject(
                RejectReason::InvalidMetricName,
                format!(
                    "metric name {:?} must match [a-z0-9_.]{{1,64}}",
                    name.chars().take(80).collect::<String>()
                ),
            ));
        }
        metrics.insert(name.clone(), parse_metric(name, value)?);
    }
    Ok(TelemetryMessage { seq, ts, metrics })
}

/// Checks a status payload: `{"online": bool, "fw": "1.4.2"}` (`fw` optional).
pub fn validate_status(payload: &[u8]) -> Result<StatusMessage, Rejection> {
    let map = parse_json(payload)?;
    let online = match map.get("online") {
        Some(Value::Bool(b)) => *b,
        _ => {
            return Err(reject(
                RejectReason::InvalidShape,
                "status needs a boolean field online",
            ))
        }
    };
    let firmware = match map.get("fw") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= 64 => Some(s.clone()),
        Some(_) => {
            return Err(reject(
                RejectReason::InvalidShape,
                "fw must be a string of at most 64 bytes",
            ))
        }
    };
    Ok(StatusMessage { online, firmware })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_489_600_000;

    fn reason(payload: &str) -> RejectReason {
        validate_telemetry(payload.as_bytes(), NOW)
            .unwrap_err()
            .reason
    }

    #[test]
    fn accepts_the_contract_example() {
        let m = validate_telemetry(br#"{"seq": 42, "ts": 1764489600000, "metrics": {"temp_c": 21.5, "door_open": false, "mode": "eco"}}"#, NOW).unwrap();
        assert_eq!((m.seq, m.ts), (42, NOW));
        assert_eq!(m.metrics["temp_c"], MetricValue::Number(21.5));
        assert_eq!(m.metrics["door_open"], MetricValue::Bool(false));
        assert_eq!(m.metrics["mode"], MetricValue::Text("eco".into()));
    }

    #[test]
    fn accepts_rfc3339_timestamps() {
        let m = validate_telemetry(
            br#"{"seq":1,"ts":"2025-11-30T08:00:00Z","metrics":{"a":1}}"#,
            NOW,
        )
        .unwrap();
        assert_eq!(m.ts, NOW);
    }

    #[test]
    fn rejects_each_rule_with_its_reason() {
        use RejectReason::*;
        let ok_ts = NOW;
        let cases: Vec<(String, RejectReason)> = vec![
            ("{not json".into(), MalformedJson),
            (
                r#"{"seq":1,"ts":1,"metrics":{"a":NaN}}"#.into(),
                NotFiniteNumber,
            ),
            (
                r#"{"seq":1,"ts":1,"metrics":{"a":Infinity}}"#.into(),
                NotFiniteNumber,
            ),
            (
                format!(r#"{{"seq":1,"ts":{ok_ts},"metrics":{{"a":1e999}}}}"#),
                NotFiniteNumber,
            ),
            ("[1,2]".into(), InvalidShape),
            (
                format!(r#"{{"ts":{ok_ts},"metrics":{{"a":1}}}}"#),
                InvalidShape,
            ),
            (
                format!(r#"{{"seq":-1,"ts":{ok_ts},"metrics":{{"a":1}}}}"#),
                InvalidSeq,
            ),
            (
                format!(r#"{{"seq":1.5,"ts":{ok_ts},"metrics":{{"a":1}}}}"#),
                InvalidSeq,
            ),
            (
                format!(r#"{{"seq":"1","ts":{ok_ts},"metrics":{{"a":1}}}}"#),
                InvalidSeq,
            ),
            (
                r#"{"seq":1,"ts":"yesterday","metrics":{"a":1}}"#.into(),
                InvalidTimestamp,
            ),
            (
                r#"{"seq":1,"ts":true,"metrics":{"a":1}}"#.into(),
                InvalidTimestamp,
            ),
            (r#"{"seq":1,"metrics":{"a":1}}"#.into(), InvalidShape),
            (
                format!(
                    r#"{{"seq":1,"ts":{},"metrics":{{"a":1}}}}"#,
                    NOW + MAX_FUTURE_SKEW_MS + 1000
                ),
                TimestampInFuture,
            ),
            (
                format!(
                    r#"{{"seq":1,"ts":{},"metrics":{{"a":1}}}}"#,
                    NOW - MAX_AGE_MS - 1000
                ),
                TimestampTooOld,
            ),
            (format!(r#"{{"seq":1,"ts":{ok_ts}}}"#), InvalidShape),
            (
                format!(r#"{{"seq":1,"ts":{ok_ts},"metrics":[1]}}"#),
                InvalidShape,
            ),
            (
                format!(r#"{{"seq":1,"ts":{ok_ts},"metrics":{{}}}}"#),
                NoMetrics,
            ),
            (
                format!(r#"{{"seq":1,"ts":{ok_ts},"metrics":{{"Temp":1}}}}"#),
                InvalidMetricName,
            ),
            (
                format!(r#"{{"seq":1,"ts":{ok_ts},"metrics":{{"a/b":1}}}}"#),
                InvalidMetricName,
            ),
            (
                format!(
                    r#"{{"seq":1,"ts":{ok_ts},"metrics":{{"{}":1}}}}"#,
                    "a".repeat(65)
                ),
                InvalidMetricName,
            ),
            (
                format!(r#"{{"seq":1,"ts":{ok_ts},"metrics":{{"a":null}}}}"#),
                InvalidMetricValue,
            ),
            (
                format!(r#"{{"seq":1,"ts":{ok_ts},"metrics":{{"a":[1]}}}}"#),
                InvalidMetricValue,
            ),
            (
                format!(
                    r#"{{"seq":1,"ts":{ok_ts},"metrics":{{"a":"{}"}}}}"#,
                    "x".repeat(257)
                ),
                TextTooLong,
            ),
        ];
        for (payload, expected) in cases {
            assert_eq!(reason(&payload), expected, "{payload}");
        }
    }

    #[test]
    fn limits_metric_count_and_payload_size() {
        let metrics: Vec<String> = (0..=MAX_METRICS).map(|i| format!("\"m{i}\":1")).collect();
        let payload = format!(
            r#"{{"seq":1,"ts":{NOW},"metrics":{{{}}}}}"#,
            metrics.join(",")
        );
        assert_eq!(reason(&payload), RejectReason::TooManyMetrics);
        let at_limit: Vec<String> = (0..MAX_METRICS).map(|i| format!("\"m{i}\":1")).collect();
        assert!(validate_telemetry(
            format!(
                r#"{{"seq":1,"ts":{NOW},"metrics":{{{}}}}}"#,
                at_limit.join(",")
            )
            .as_bytes(),
            NOW
        )
        .is_ok());
        let big = format!(
            r#"{{"seq":1,"ts":{NOW},"metrics":{{"a":"x"}},"pad":"{}"}}"#,
            " ".repeat(MAX_PAYLOAD_BYTES)
        );
        assert_eq!(reason(&big), RejectReason::PayloadTooLarge);
        let text_at_limit = format!(
            r#"{{"seq":1,"ts":{NOW},"metrics":{{"a":"{}"}}}}"#,
            "x".repeat(MAX_TEXT_BYTES)
        );
        assert!(validate_telemetry(text_at_limit.as_bytes(), NOW).is_ok());
    }

    #[test]
    fn status_payloads() {
        assert_eq!(
            validate_status(br#"{"online":true,"fw":"1.4.2"}"#).unwrap(),
            StatusMessage {
                online: true,
                firmware: Some("1.4.2".into())
            }
        );
        assert!(!validate_status(br#"{"online":false}"#).unwrap().online);
        assert_eq!(
            validate_status(br#"{"fw":"1"}"#).unwrap_err().reason,
            RejectReason::InvalidShape
        );
        assert_eq!(
            validate_status(b"nope").unwrap_err().reason,
            RejectReason::MalformedJson
        );
    }
}
