//! How metric values read on screen.
use crate::domain::MetricValue;
use std::collections::BTreeMap;

/// The unit a metric's name announces by its suffix (`temp_c`, `battery_pct`...), if any.
pub fn unit_for(metric: &str) -> Option<&'static str> {
    const SUFFIXES: [(&str, &str); 16] = [
        ("_c", "°C"),
        ("_f", "°F"),
        ("_pct", "%"),
        ("_percent", "%"),
        ("_v", "V"),
        ("_mv", "mV"),
        ("_a", "A"),
        ("_ma", "mA"),
        ("_w", "W"),
        ("_kwh", "kWh"),
        ("_hpa", "hPa"),
        ("_ppm", "ppm"),
        ("_dbm", "dBm"),
        ("_db", "dB"),
        ("_s", "s"),
        ("_ms", "ms"),
    ];
    SUFFIXES
        .iter()
        .find(|(suffix, _)| metric.ends_with(suffix))
        .map(|(_, unit)| *unit)
}

/// A number with at most two decimals and no trailing zeros: 21.5, 3, 0.12.
pub fn format_number(value: f64) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    if value.abs() >= 1e6 || value.fract() == 0.0 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The value with its unit: "21.5 °C", "yes", "idle".
pub fn format_value(metric: &str, value: &MetricValue) -> String {
    match value {
        MetricValue::Number(n) => match unit_for(metric) {
            Some(unit) => format!("{} {unit}", format_number(*n)),
            None => format_number(*n),
        },
        MetricValue::Bool(b) => if *b { "yes" } else { "no" }.into(),
        MetricValue::Text(text) => text.clone(),
    }
}

/// The few values a fleet row shows: numbers first (what operators scan for), then the rest,
/// each group by name.
pub fn key_metrics(latest: &BTreeMap<String, MetricValue>, count: usize) -> Vec<(String, String)> {
    let numbers = latest
        .iter()
        .filter(|(_, v)| matches!(v, MetricValue::Number(_)));
    let others = latest
        .iter()
        .filter(|(_, v)| !matches!(v, MetricValue::Number(_)));
    numbers
        .chain(others)
        .take(count)
        .map(|(name, value)| (name.clone(), format_value(name, value)))
        .collect()
}

/// The metrics a chart can draw (numbers, and booleans as 0/1), numbers first.
pub fn chartable_metrics(latest: &BTreeMap<String, MetricValue>) -> Vec<String> {
    let numbers = latest
        .iter()
        .filter(|(_, v)| matches!(v, MetricValue::Number(_)));
    let booleans = latest
        .iter()
        .filter(|(_, v)| matches!(v, MetricValue::Bool(_)));
    numbers
        .chain(booleans)
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_with_units() {
        assert_eq!(
            format_value("temp_c", &MetricValue::Number(21.5)),
            "21.5 °C"
        );
        assert_eq!(
            format_value("battery_pct", &MetricValue::Number(80.0)),
            "80 %"
        );
        assert_eq!(format_value("count", &MetricValue::Number(0.126)), "0.13");
        assert_eq!(format_value("door_open", &MetricValue::Bool(false)), "no");
        assert_eq!(
            format_value("mode", &MetricValue::Text("idle".into())),
            "idle"
        );
    }

    #[test]
    fn numbers_come_first() {
        let latest = BTreeMap::from([
            ("a_flag".to_string(), MetricValue::Bool(true)),
            ("temp_c".to_string(), MetricValue::Number(20.0)),
            ("mode".to_string(), MetricValue::Text("x".into())),
        ]);
        assert_eq!(key_metrics(&latest, 2)[0].0, "temp_c");
        assert_eq!(chartable_metrics(&latest), ["temp_c", "a_flag"]);
    }
}
