use serde::{Deserialize, Serialize};

/// A metric value as the device contract allows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MetricValue {
    Bool(bool),
    Number(f64),
    Text(String),
}

impl MetricValue {
    /// The value on a chart: numbers as they are, booleans as 0 or 1, text not at all.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            MetricValue::Number(v) => Some(*v),
            MetricValue::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            MetricValue::Text(_) => None,
        }
    }
}

impl std::fmt::Display for MetricValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetricValue::Bool(b) => write!(f, "{b}"),
            MetricValue::Number(v) => {
                if v.fract() == 0.0 && v.abs() < 1e15 {
                    write!(f, "{v:.0}")
                } else {
                    write!(f, "{v:.2}")
                }
            }
            MetricValue::Text(s) => f.write_str(s),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub ts: i64,
    pub value: f64,
}

/// A downsampled series of one metric of one box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub device: String,
    pub metric: String,
    pub from: i64,
    pub to: i64,
    /// Readings in the range before downsampling.
    pub raw_points: u64,
    pub points: Vec<SeriesPoint>,
}

/// The chart windows of the box view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeRange {
    Minutes15,
    Hour1,
    Hours24,
    Days7,
}

impl TimeRange {
    pub const ALL: [TimeRange; 4] = [
        TimeRange::Minutes15,
        TimeRange::Hour1,
        TimeRange::Hours24,
        TimeRange::Days7,
    ];

    pub fn millis(self) -> i64 {
        const MIN: i64 = 60_000;
        match self {
            TimeRange::Minutes15 => 15 * MIN,
            TimeRange::Hour1 => 60 * MIN,
            TimeRange::Hours24 => 24 * 60 * MIN,
            TimeRange::Days7 => 7 * 24 * 60 * MIN,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TimeRange::Minutes15 => "15 min",
            TimeRange::Hour1 => "1 h",
            TimeRange::Hours24 => "24 h",
            TimeRange::Days7 => "7 d",
        }
    }
}
