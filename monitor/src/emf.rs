//! CloudWatch Embedded Metric Format (EMF): a JSON log line from which CloudWatch Logs extracts
//! metrics, so that the Lambda shape publishes metrics by printing, without a PutMetricData call.
//!
//! Shape produced (one metric directive, one dimension set holding every dimension):
//!
//! ```json
//! {"_aws": {"Timestamp": 1764489600000,
//!           "CloudWatchMetrics": [{"Namespace": "boxpilot",
//!                                  "Dimensions": [["fleet"]],
//!                                  "Metrics": [{"Name": "MessagesReceived", "Unit": "Count"}]}]},
//!  "fleet": "north", "MessagesReceived": 1027}
//! ```
//!
//! Limits checked, from the EMF specification: at most 100 metrics per directive, at most 30
//! dimension keys per dimension set, names non-empty (namespace and metric names up to 1,024
//! characters, dimension keys up to 250), dimension values up to 1,024 characters. Metric,
//! dimension and property names share the root object, so a name used twice is refused.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

/// At most this many metrics in one document.
pub const MAX_METRICS: usize = 100;
/// At most this many dimension keys in a dimension set.
pub const MAX_DIMENSIONS: usize = 30;
const MAX_NAME_CHARS: usize = 1024;
const MAX_DIMENSION_KEY_CHARS: usize = 250;
const MAX_DIMENSION_VALUE_CHARS: usize = 1024;

/// Why a document cannot be rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmfError {
    #[error("the namespace must be 1 to {MAX_NAME_CHARS} characters")]
    InvalidNamespace,
    #[error("a document needs at least one metric")]
    NoMetric,
    #[error("a document may hold at most {MAX_METRICS} metrics, this one has {0}")]
    TooManyMetrics(usize),
    #[error("a dimension set may hold at most {MAX_DIMENSIONS} dimensions, this one has {0}")]
    TooManyDimensions(usize),
    #[error("{what} name `{name}` must be 1 to {max} characters")]
    InvalidName {
        what: &'static str,
        name: String,
        max: usize,
    },
    #[error("dimension `{name}` value must be 1 to {MAX_DIMENSION_VALUE_CHARS} characters")]
    InvalidDimensionValue { name: String },
    #[error("`{0}` is used twice among metrics, dimensions and properties")]
    DuplicateName(String),
    #[error("metric `{name}` must be a finite number, got {value}")]
    NotFinite { name: String, value: f64 },
}

/// CloudWatch units accepted in a metric definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmfUnit {
    Seconds,
    Microseconds,
    Milliseconds,
    Bytes,
    Kilobytes,
    Megabytes,
    Gigabytes,
    Terabytes,
    Bits,
    Kilobits,
    Megabits,
    Gigabits,
    Terabits,
    Percent,
    Count,
    BytesPerSecond,
    KilobytesPerSecond,
    MegabytesPerSecond,
    GigabytesPerSecond,
    TerabytesPerSecond,
    BitsPerSecond,
    KilobitsPerSecond,
    MegabitsPerSecond,
    GigabitsPerSecond,
    TerabitsPerSecond,
    CountPerSecond,
    None,
}

impl EmfUnit {
    /// The unit as CloudWatch spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            EmfUnit::Seconds => "Seconds",
            EmfUnit::Microseconds => "Microseconds",
            EmfUnit::Milliseconds => "Milliseconds",
            EmfUnit::Bytes => "Bytes",
            EmfUnit::Kilobytes => "Kilobytes",
            EmfUnit::Megabytes => "Megabytes",
            EmfUnit::Gigabytes => "Gigabytes",
            EmfUnit::Terabytes => "Terabytes",
            EmfUnit::Bits => "Bits",
            EmfUnit::Kilobits => "Kilobits",
            EmfUnit::Megabits => "Megabits",
            EmfUnit::Gigabits => "Gigabits",
            EmfUnit::Terabits => "Terabits",
            EmfUnit::Percent => "Percent",
            EmfUnit::Count => "Count",
            EmfUnit::BytesPerSecond => "Bytes/Second",
            EmfUnit::KilobytesPerSecond => "Kilobytes/Second",
            EmfUnit::MegabytesPerSecond => "Megabytes/Second",
            EmfUnit::GigabytesPerSecond => "Gigabytes/Second",
            EmfUnit::TerabytesPerSecond => "Terabytes/Second",
            EmfUnit::BitsPerSecond => "Bits/Second",
            EmfUnit::KilobitsPerSecond => "Kilobits/Second",
            EmfUnit::MegabitsPerSecond => "Megabits/Second",
            EmfUnit::GigabitsPerSecond => "Gigabits/Second",
            EmfUnit::TerabitsPerSecond => "Terabits/Second",
            EmfUnit::CountPerSecond => "Count/Second",
            EmfUnit::None => "None",
        }
    }
}

/// One EMF document: a namespace, dimensions, metrics and optional extra properties (searchable
/// in Logs Insights, not turned into metrics).
#[derive(Debug, Clone, PartialEq)]
pub struct EmfDocument {
    namespace: String,
    timestamp: DateTime<Utc>,
    dimensions: Vec<(String, String)>,
    metrics: Vec<(String, EmfUnit, f64)>,
    properties: Vec<(String, Value)>,
}

impl EmfDocument {
    /// An empty document for `namespace` at `timestamp` (rendered in epoch milliseconds).
    pub fn new(namespace: impl Into<String>, timestamp: DateTime<Utc>) -> Self {
        Self {
            namespace: namespace.into(),
            timestamp,
            dimensions: Vec::new(),
            metrics: Vec::new(),
            properties: Vec::new(),
        }
    }

    /// Adds a dimension (applies to every metric of the document).
    pub fn dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.dimensions.push((name.into(), value.into()));
        self
    }

    /// Adds a metric.
    pub fn metric(mut self, name: impl Into<String>, unit: EmfUnit, value: f64) -> Self {
        self.metrics.push((name.into(), unit, value));
        self
    }

    /// Adds a property: logged, not a metric.
    pub fn property(mut self, name: impl Into<String>, value: Value) -> Self {
        self.properties.push((name.into(), value));
        self
    }

    /// The document as a JSON value, after checking the limits.
    pub fn to_json(&self) -> Result<Value, EmfError> {
        self.validate()?;
        let definitions: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        let keys: Vec<&str> = self.dimensions.iter().map(|(k, _)| k.as_str()).collect();
        let mut root = Map::new();
        root.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": self.timestamp.timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [keys],
                    "Metrics": definitions,
                }],
            }),
        );
        for (name, value) in &self.dimensions {
            root.insert(name.clone(), Value::String(value.clone()));
        }
        for (name, _, value) in &self.metrics {
            root.insert(name.clone(), json!(value));
        }
        for (name, value) in &self.properties {
            root.insert(name.clone(), value.clone());
        }
        Ok(Value::Object(root))
    }

    /// The document as one log line (no newline inside, none at the end).
    pub fn to_log_line(&self) -> Result<String, EmfError> {
        Ok(self.to_json()?.to_string())
    }

    fn validate(&self) -> Result<(), EmfError> {
        let chars = |s: &str| s.chars().count();
        if !(1..=MAX_NAME_CHARS).contains(&chars(&self.namespace)) {
            return Err(EmfError::InvalidNamespace);
        }
        if self.metrics.is_empty() {
            return Err(EmfError::NoMetric);
        }
        if self.metrics.len() > MAX_METRICS {
            return Err(EmfError::TooManyMetrics(self.metrics.len()));
        }
        if self.dimensions.len() > MAX_DIMENSIONS {
            return Err(EmfError::TooManyDimensions(self.dimensions.len()));
        }
        // `_aws` is the metadata member: nothing else may take its name.
        let mut names = HashSet::from(["_aws"]);
        for (name, value) in &self.dimensions {
            if !(1..=MAX_DIMENSION_KEY_CHARS).contains(&chars(name)) {
                return Err(EmfError::InvalidName {
                    what: "dimension",
                    name: name.clone(),
                    max: MAX_DIMENSION_KEY_CHARS,
                });
            }
            if !(1..=MAX_DIMENSION_VALUE_CHARS).contains(&chars(value)) {
                return Err(EmfError::InvalidDimensionValue { name: name.clone() });
            }
            claim(&mut names, name)?;
        }
        for (name, _, value) in &self.metrics {
            if !(1..=MAX_NAME_CHARS).contains(&chars(name)) {
                return Err(EmfError::InvalidName {
                    what: "metric",
                    name: name.clone(),
                    max: MAX_NAME_CHARS,
                });
            }
            // JSON has no NaN or infinity; CloudWatch would drop the line.
            if !value.is_finite() {
                return Err(EmfError::NotFinite {
                    name: name.clone(),
                    value: *value,
                });
            }
            claim(&mut names, name)?;
        }
        for (name, _) in &self.properties {
            if name.is_empty() {
                return Err(EmfError::InvalidName {
                    what: "property",
                    name: name.clone(),
                    max: MAX_NAME_CHARS,
                });
            }
            claim(&mut names, name)?;
        }
        Ok(())
    }
}

/// Reserves a root-object member name, refusing one already taken.
fn claim<'a>(names: &mut HashSet<&'a str>, name: &'a str) -> Result<(), EmfError> {
    if names.insert(name) {
        Ok(())
    } else {
        Err(EmfError::DuplicateName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_764_489_600_123).unwrap()
    }

    #[test]
    fn renders_the_documented_shape() {
        let doc = EmfDocument::new("boxpilot", at())
            .dimension("fleet", "north")
            .metric("MessagesReceived", EmfUnit::Count, 1027.0)
            .metric("CostPerHour", EmfUnit::None, 0.25)
            .property("requestId", json!("abc"));
        let value = doc.to_json().unwrap();
        assert_eq!(
            value,
            json!({
                "_aws": {
                    "Timestamp": 1_764_489_600_123_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "boxpilot",
                        "Dimensions": [["fleet"]],
                        "Metrics": [
                            {"Name": "MessagesReceived", "Unit": "Count"},
                            {"Name": "CostPerHour", "Unit": "None"}
                        ]
                    }]
                },
                "fleet": "north",
                "MessagesReceived": 1027.0,
                "CostPerHour": 0.25,
                "requestId": "abc"
            })
        );
        let line = doc.to_log_line().unwrap();
        assert!(!line.contains('\n'));
        assert!(line.starts_with('{') && line.ends_with('}'));
    }

    #[test]
    fn every_dimension_key_is_a_root_member_and_an_empty_set_is_allowed() {
        let doc = EmfDocument::new("ns", at()).metric("m", EmfUnit::BytesPerSecond, 1.0);
        let value = doc.to_json().unwrap();
        assert_eq!(
            value["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert_eq!(
            value["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Bytes/Second"
        );
        let doc = EmfDocument::new("ns", at())
            .dimension("a", "1")
            .dimension("b", "2")
            .metric("m", EmfUnit::Count, 1.0);
        let value = doc.to_json().unwrap();
        for key in value["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
            .as_array()
            .unwrap()
        {
            assert!(value[key.as_str().unwrap()].is_string());
        }
    }

    #[test]
    fn metric_and_dimension_counts_are_limited() {
        let mut doc = EmfDocument::new("ns", at());
        for i in 0..MAX_METRICS {
            doc = doc.metric(format!("m{i}"), EmfUnit::Count, 1.0);
        }
        assert!(doc.to_json().is_ok());
        assert_eq!(
            doc.metric("one_more", EmfUnit::Count, 1.0).to_json(),
            Err(EmfError::TooManyMetrics(101))
        );

        let mut doc = EmfDocument::new("ns", at()).metric("m", EmfUnit::Count, 1.0);
        for i in 0..MAX_DIMENSIONS {
            doc = doc.dimension(format!("d{i}"), "v");
        }
        assert!(doc.to_json().is_ok());
        assert_eq!(
            doc.dimension("d30", "v").to_json(),
            Err(EmfError::TooManyDimensions(31))
        );
    }

    #[test]
    fn names_and_values_are_checked() {
        let base = || EmfDocument::new("ns", at());
        assert_eq!(
            EmfDocument::new("", at())
                .metric("m", EmfUnit::Count, 1.0)
                .to_json(),
            Err(EmfError::InvalidNamespace)
        );
        assert_eq!(base().to_json(), Err(EmfError::NoMetric));
        assert!(matches!(
            base().metric("", EmfUnit::Count, 1.0).to_json(),
            Err(EmfError::InvalidName { what: "metric", .. })
        ));
        assert!(matches!(
            base()
                .dimension("", "v")
                .metric("m", EmfUnit::Count, 1.0)
                .to_json(),
            Err(EmfError::InvalidName {
                what: "dimension",
                ..
            })
        ));
        assert_eq!(
            base()
                .dimension("fleet", "")
                .metric("m", EmfUnit::Count, 1.0)
                .to_json(),
            Err(EmfError::InvalidDimensionValue {
                name: "fleet".into()
            })
        );
        assert!(matches!(
            base().metric("m", EmfUnit::Count, f64::NAN).to_json(),
            Err(EmfError::NotFinite { .. })
        ));
    }

    #[test]
    fn names_may_not_collide_on_the_root_object() {
        let clash = EmfDocument::new("ns", at())
            .dimension("fleet", "north")
            .metric("fleet", EmfUnit::Count, 1.0);
        assert_eq!(
            clash.to_json(),
            Err(EmfError::DuplicateName("fleet".into()))
        );
        let reserved = EmfDocument::new("ns", at()).metric("_aws", EmfUnit::Count, 1.0);
        assert_eq!(
            reserved.to_json(),
            Err(EmfError::DuplicateName("_aws".into()))
        );
        let twice = EmfDocument::new("ns", at())
            .metric("m", EmfUnit::Count, 1.0)
            .metric("m", EmfUnit::Count, 2.0);
        assert!(twice.to_json().is_err());
    }
}
