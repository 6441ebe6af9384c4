//! Keys and attribute values of the single table (docs/DYNAMODB.md has the design).
use crate::store::{StoreError, StoreResult};
use app::domain::MetricValue;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{de::DeserializeOwned, Serialize};
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
pub const GSI2: &str = "gsi2";
pub const GSI2_PK: &str = "gsi2pk";
pub const GSI2_SK: &str = "gsi2sk";
/// Epoch seconds after which DynamoDB deletes the item (the table's TTL attribute).
pub const TTL: &str = "ttl";
/// A record kept whole, as JSON.
pub const DOC: &str = "doc";

/// An `i64` as 16 hex digits that sort like the numbers (sign bit flipped), for sort keys.
pub fn ord_i64(v: i64) -> String {
    format!("{:016x}", (v as u64) ^ (1 << 63))
}

pub fn unord_i64(s: &str) -> Option<i64> {
    u64::from_str_radix(s.get(..16)?, 16)
        .ok()
        .map(|u| (u ^ (1 << 63)) as i64)
}

pub fn ord_u64(v: u64) -> String {
    format!("{v:016x}")
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A float as a DynamoDB number when it fits its range (magnitude 1e-130 to 9.99e125), else as a
/// map `{f: "<rust repr>"}` so that any finite value round-trips.
pub fn float(v: f64) -> AttributeValue {
    if v == 0.0 || (1e-129..9.9e125).contains(&v.abs()) {
        AttributeValue::N(v.to_string())
    } else {
        AttributeValue::M(HashMap::from([("f".to_string(), s(v.to_string()))]))
    }
}

pub fn as_float(v: &AttributeValue) -> Option<f64> {
    match v {
        AttributeValue::N(x) => x.parse().ok(),
        AttributeValue::M(m) => match m.get("f") {
            Some(AttributeValue::S(x)) => x.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

pub fn metric(v: &MetricValue) -> AttributeValue {
    match v {
        MetricValue::Number(x) => float(*x),
        MetricValue::Bool(b) => AttributeValue::Bool(*b),
        MetricValue::Text(t) => s(t.clone()),
    }
}

pub fn as_metric(v: &AttributeValue) -> Option<MetricValue> {
    match v {
        AttributeValue::Bool(b) => Some(MetricValue::Bool(*b)),
        AttributeValue::S(t) => Some(MetricValue::Text(t.clone())),
        other => as_float(other).map(MetricValue::Number),
    }
}

fn corrupt(item: &Item, what: &str) -> StoreError {
    let key = item
        .get(PK)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .unwrap_or("?");
    StoreError::Corrupt(format!("item {key}: {what} missing or malformed"))
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> StoreResult<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| corrupt(item, name))
}

pub fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> StoreResult<T> {
    opt_n(item, name)?.ok_or_else(|| corrupt(item, name))
}

pub fn opt_n<T: std::str::FromStr>(item: &Item, name: &str) -> StoreResult<Option<T>> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(x)) => x.parse().map(Some).map_err(|_| corrupt(item, name)),
        Some(_) => Err(corrupt(item, name)),
    }
}

pub fn doc<T: Serialize>(value: &T) -> StoreResult<AttributeValue> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn from_doc<T: DeserializeOwned>(item: &Item) -> StoreResult<T> {
    serde_json::from_str(get_s(item, DOC)?).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))])
}

/// Builds an item: its key and attributes.
pub fn item<const N: usize>(
    pk: impl Into<String>,
    sk: impl Into<String>,
    attrs: [(&str, AttributeValue); N],
) -> Item {
    let mut it = key(pk, sk);
    it.extend(attrs.into_iter().map(|(k, v)| (k.to_string(), v)));
    it
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_numbers_sort_like_the_numbers() {
        let xs = [i64::MIN, -5, -1, 0, 1, 1_764_489_600_000, i64::MAX];
        let keys: Vec<String> = xs.iter().map(|x| ord_i64(*x)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        for x in xs {
            assert_eq!(unord_i64(&ord_i64(x)), Some(x));
        }
    }

    #[test]
    fn floats_out_of_dynamodb_range_round_trip() {
        for v in [
            0.0,
            21.5,
            -3.25e-7,
            1e300,
            -1e-300,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            assert_eq!(as_float(&float(v)), Some(v));
        }
    }
}
