//! Renders counters and gauges in the Prometheus text exposition format, version 0.0.4
//! (`Content-Type: text/plain; version=0.0.4`).
//!
//! The `prometheus` crate would do this too, but it is built around process-global registries,
//! while boxpilot's counters already live in its store and are read per request: a renderer of
//! a few dozen lines over plain values is simpler and keeps this crate free of global state.

use std::collections::HashSet;
use std::fmt::Write;

/// The content type to serve the rendered text with.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Why a metric family or sample was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExpositionError {
    #[error("metric name `{0}` must match [a-zA-Z_:][a-zA-Z0-9_:]*")]
    InvalidMetricName(String),
    #[error("label name `{0}` must match [a-zA-Z_][a-zA-Z0-9_]* and not start with `__`")]
    InvalidLabelName(String),
    #[error("label `{label}` appears twice in one sample of `{metric}`")]
    DuplicateLabel { metric: String, label: String },
    #[error("`{metric}` has two samples with the same labels")]
    DuplicateSample { metric: String },
    #[error("metric family `{0}` is rendered twice")]
    DuplicateFamily(String),
    #[error("counter `{metric}` must be a finite number >= 0, got {value}")]
    InvalidCounterValue { metric: String, value: f64 },
}

/// The metric types this renderer supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Only goes up (restarts at zero): messages received, rejected...
    Counter,
    /// Goes up and down: boxes online, cost per hour...
    Gauge,
}

impl MetricKind {
    fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
        }
    }
}

/// One metric name with its help text and samples (one per label set).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    name: String,
    help: String,
    kind: MetricKind,
    samples: Vec<(Vec<(String, String)>, f64)>,
}

impl MetricFamily {
    /// A family with no sample yet; the name is checked.
    pub fn new(
        name: impl Into<String>,
        help: impl Into<String>,
        kind: MetricKind,
    ) -> Result<Self, ExpositionError> {
        let name = name.into();
        if !is_metric_name(&name) {
            return Err(ExpositionError::InvalidMetricName(name));
        }
        Ok(Self {
            name,
            help: help.into(),
            kind,
            samples: Vec::new(),
        })
    }

    pub fn counter(
        name: impl Into<String>,
        help: impl Into<String>,
    ) -> Result<Self, ExpositionError> {
        Self::new(name, help, MetricKind::Counter)
    }

    pub fn gauge(
        name: impl Into<String>,
        help: impl Into<String>,
    ) -> Result<Self, ExpositionError> {
        Self::new(name, help, MetricKind::Gauge)
    }

    /// Adds a sample. Label names are checked; a label set already present is refused (two
    /// series with one identity would be rejected by the scraper).
    pub fn sample(
        &mut self,
        labels: &[(&str, &str)],
        value: f64,
    ) -> Result<&mut Self, ExpositionError> {
        let mut names = HashSet::new();
        for (label, _) in labels {
            if !is_label_name(label) {
                return Err(ExpositionError::InvalidLabelName((*label).to_owned()));
            }
            if !names.insert(*label) {
                return Err(ExpositionError::DuplicateLabel {
                    metric: self.name.clone(),
                    label: (*label).to_owned(),
                });
            }
        }
        if self.kind == MetricKind::Counter && !(value.is_finite() && value >= 0.0) {
            return Err(ExpositionError::InvalidCounterValue {
                metric: self.name.clone(),
                value,
            });
        }
        let mut owned: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        // Label order does not change a series' identity: compare sorted.
        owned.sort();
        if self.samples.iter().any(|(existing, _)| {
            let mut sorted = existing.clone();
            sorted.sort();
            sorted == owned
        }) {
            return Err(ExpositionError::DuplicateSample {
                metric: self.name.clone(),
            });
        }
        // Keep the caller's order for output (it is usually the meaningful one).
        let in_order = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples.push((in_order, value));
        Ok(self)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Renders families in the given order: `# HELP`, `# TYPE`, then one line per sample.
pub fn render(families: &[MetricFamily]) -> Result<String, ExpositionError> {
    let mut seen = HashSet::new();
    let mut out = String::new();
    for family in families {
        if !seen.insert(family.name.as_str()) {
            return Err(ExpositionError::DuplicateFamily(family.name.clone()));
        }
        // Writing to a String cannot fail.
        let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(&family.help));
        let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind.as_str());
        for (labels, value) in &family.samples {
            out.push_str(&family.name);
            if !labels.is_empty() {
                out.push('{');
                for (i, (name, value)) in labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{name}=\"{}\"", escape_label_value(value));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {}", format_value(*value));
        }
    }
    Ok(out)
}

/// HELP text escapes backslash and newline.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Label values escape backslash, double quote and newline.
fn escape_label_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Values as Go's ParseFloat reads them: `NaN`, `+Inf`, `-Inf`, or a decimal number (with an
/// exponent for very large or small magnitudes, to keep lines short).
fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else if value == 0.0 || (1e-6..1e15).contains(&value.abs()) {
        format!("{value}")
    } else {
        format!("{value:e}")
    }
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    !name.starts_with("__")
        && matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_help_type_and_samples() {
        let mut received = MetricFamily::counter(
            "boxpilot_messages_received_total",
            "Messages received by the pipeline.",
        )
        .unwrap();
        received
            .sample(&[("fleet", "north")], 1027.0)
            .unwrap()
            .sample(&[("fleet", "south")], 3.0)
            .unwrap();
        let mut online = MetricFamily::gauge("boxpilot_boxes_online", "Boxes online.").unwrap();
        online.sample(&[], 12.5).unwrap();
        let text = render(&[received, online]).unwrap();
        assert_eq!(
            text,
            "# HELP boxpilot_messages_received_total Messages received by the pipeline.\n\
             # TYPE boxpilot_messages_received_total counter\n\
             boxpilot_messages_received_total{fleet=\"north\"} 1027\n\
             boxpilot_messages_received_total{fleet=\"south\"} 3\n\
             # HELP boxpilot_boxes_online Boxes online.\n\
             # TYPE boxpilot_boxes_online gauge\n\
             boxpilot_boxes_online 12.5\n"
        );
    }

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        let mut family = MetricFamily::gauge("m", "h").unwrap();
        family
            .sample(&[("reason", "bad \"json\"\\ at\nline 2")], 1.0)
            .unwrap();
        let text = render(&[family]).unwrap();
        assert!(
            text.contains(r#"m{reason="bad \"json\"\\ at\nline 2"} 1"#),
            "{text}"
        );
        // The sample stays on one line.
        assert_eq!(text.lines().count(), 3);
    }

    #[test]
    fn help_escapes_backslash_and_newline_but_not_quotes() {
        let family = MetricFamily::gauge("m", "a \\ b\nc \"d\"").unwrap();
        let text = render(&[family]).unwrap();
        assert_eq!(text.lines().next().unwrap(), r#"# HELP m a \\ b\nc "d""#);
    }

    #[test]
    fn names_are_validated() {
        assert_eq!(
            MetricFamily::counter("2xx_total", "h"),
            Err(ExpositionError::InvalidMetricName("2xx_total".into()))
        );
        assert!(MetricFamily::counter("a-b", "h").is_err());
        assert!(MetricFamily::counter("", "h").is_err());
        assert!(MetricFamily::counter("ns:sub_total", "h").is_ok());
        let mut family = MetricFamily::gauge("m", "h").unwrap();
        assert_eq!(
            family.sample(&[("__name__", "x")], 1.0).unwrap_err(),
            ExpositionError::InvalidLabelName("__name__".into())
        );
        assert!(family.sample(&[("a:b", "x")], 1.0).is_err());
        assert!(family.sample(&[("a", "x"), ("a", "y")], 1.0).is_err());
    }

    #[test]
    fn duplicate_series_and_families_are_refused() {
        let mut family = MetricFamily::gauge("m", "h").unwrap();
        family.sample(&[("a", "1"), ("b", "2")], 1.0).unwrap();
        assert_eq!(
            family.sample(&[("b", "2"), ("a", "1")], 2.0).unwrap_err(),
            ExpositionError::DuplicateSample { metric: "m".into() }
        );
        let other = MetricFamily::counter("m", "h").unwrap();
        assert_eq!(
            render(&[family, other]).unwrap_err(),
            ExpositionError::DuplicateFamily("m".into())
        );
    }

    #[test]
    fn counters_refuse_negative_and_nan_while_gauges_render_them() {
        let mut counter = MetricFamily::counter("c_total", "h").unwrap();
        assert!(counter.sample(&[], -1.0).is_err());
        assert!(counter.sample(&[], f64::NAN).is_err());
        let mut gauge = MetricFamily::gauge("g", "h").unwrap();
        gauge
            .sample(&[("v", "nan")], f64::NAN)
            .unwrap()
            .sample(&[("v", "inf")], f64::INFINITY)
            .unwrap()
            .sample(&[("v", "ninf")], f64::NEG_INFINITY)
            .unwrap()
            .sample(&[("v", "big")], 2.5e20)
            .unwrap()
            .sample(&[("v", "neg")], -0.25)
            .unwrap();
        let text = render(&[gauge]).unwrap();
        assert!(text.contains("g{v=\"nan\"} NaN\n"));
        assert!(text.contains("g{v=\"inf\"} +Inf\n"));
        assert!(text.contains("g{v=\"ninf\"} -Inf\n"));
        assert!(text.contains("g{v=\"big\"} 2.5e20\n"));
        assert!(text.contains("g{v=\"neg\"} -0.25\n"));
    }
}
