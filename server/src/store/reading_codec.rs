//! Compact encoding of a reading's metrics, written by hand because chart queries decode up to
//! 86,400 readings per box-day: `metric_value` finds one metric without allocating.
//!
//! Layout: `[count u8]` then per metric `[name_len u8][name][tag u8][payload]`, with tag 0 false,
//! 1 true, 2 f64 (8 bytes LE), 3 text (`[len u16 LE][utf-8]`). The contract bounds names to
//! 64 bytes, texts to 256 bytes and counts to 100, so the length fields never overflow.
use app::domain::MetricValue;
use std::collections::BTreeMap;

const FALSE: u8 = 0;
const TRUE: u8 = 1;
const NUMBER: u8 = 2;
const TEXT: u8 = 3;

pub fn encode(metrics: &BTreeMap<String, MetricValue>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + metrics.len() * 16);
    out.push(metrics.len().min(u8::MAX as usize) as u8);
    for (name, value) in metrics.iter().take(u8::MAX as usize) {
        let name = &name.as_bytes()[..name.len().min(u8::MAX as usize)];
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        match value {
            MetricValue::Bool(false) => out.push(FALSE),
            MetricValue::Bool(true) => out.push(TRUE),
            MetricValue::Number(v) => {
                out.push(NUMBER);
                out.extend_from_slice(&v.to_le_bytes());
            }
            MetricValue::Text(s) => {
                let s = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
                out.push(TEXT);
                out.extend_from_slice(&(s.len() as u16).to_le_bytes());
                out.extend_from_slice(s);
            }
        }
    }
    out
}

/// One entry: the name, and where its value lies.
struct Entry<'a> {
    name: &'a [u8],
    tag: u8,
    payload: &'a [u8],
}

fn entries(bytes: &[u8]) -> impl Iterator<Item = Option<Entry<'_>>> + '_ {
    let count = bytes.first().copied().unwrap_or(0) as usize;
    let mut pos = 1;
    (0..count).map(move |_| {
        let name_len = *bytes.get(pos)? as usize;
        let name = bytes.get(pos + 1..pos + 1 + name_len)?;
        pos += 1 + name_len;
        let tag = *bytes.get(pos)?;
        pos += 1;
        let payload_len = match tag {
            FALSE | TRUE => 0,
            NUMBER => 8,
            TEXT => 2 + u16::from_le_bytes(bytes.get(pos..pos + 2)?.try_into().ok()?) as usize,
            _ => return None,
        };
        let payload = bytes.get(pos..pos + payload_len)?;
        pos += payload_len;
        Some(Entry { name, tag, payload })
    })
}

#[cfg_attr(not(feature = "aws"), allow(dead_code))]
fn value_of(entry: &Entry<'_>) -> Option<MetricValue> {
    Some(match entry.tag {
        FALSE => MetricValue::Bool(false),
        TRUE => MetricValue::Bool(true),
        NUMBER => MetricValue::Number(f64::from_le_bytes(entry.payload.try_into().ok()?)),
        TEXT => MetricValue::Text(String::from_utf8(entry.payload[2..].to_vec()).ok()?),
        _ => return None,
    })
}

/// All metrics; `None` if the bytes are corrupt.
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
pub fn decode(bytes: &[u8]) -> Option<BTreeMap<String, MetricValue>> {
    entries(bytes)
        .map(|e| {
            let e = e?;
            Some((String::from_utf8(e.name.to_vec()).ok()?, value_of(&e)?))
        })
        .collect()
}

/// The chartable value of one metric (numbers, booleans as 0/1), without allocating.
pub fn metric_value(bytes: &[u8], metric: &str) -> Option<f64> {
    for entry in entries(bytes) {
        let entry = entry?;
        if entry.name == metric.as_bytes() {
            return match entry.tag {
                FALSE => Some(0.0),
                TRUE => Some(1.0),
                NUMBER => Some(f64::from_le_bytes(entry.payload.try_into().ok()?)),
                _ => None,
            };
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BTreeMap<String, MetricValue> {
        BTreeMap::from([
            ("temp_c".to_string(), MetricValue::Number(21.5)),
            ("door_open".to_string(), MetricValue::Bool(true)),
            ("mode".to_string(), MetricValue::Text("eco".into())),
        ])
    }

    #[test]
    fn round_trips() {
        assert_eq!(decode(&encode(&sample())), Some(sample()));
    }

    #[test]
    fn finds_one_metric() {
        let bytes = encode(&sample());
        assert_eq!(metric_value(&bytes, "temp_c"), Some(21.5));
        assert_eq!(metric_value(&bytes, "door_open"), Some(1.0));
        assert_eq!(metric_value(&bytes, "mode"), None);
        assert_eq!(metric_value(&bytes, "missing"), None);
    }

    #[test]
    fn truncated_bytes_are_refused_not_panicking() {
        let bytes = encode(&sample());
        for cut in 0..bytes.len() {
            let _ = metric_value(&bytes[..cut], "mode");
            assert_ne!(decode(&bytes[..cut]), Some(sample()));
        }
    }
}
