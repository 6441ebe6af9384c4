//! A fleet's cost breakdown published both ways: as Prometheus gauges and as an EMF log line.

use chrono::{TimeZone, Utc};
use monitor::emf::{EmfDocument, EmfUnit};
use monitor::prometheus_text::{render, MetricFamily, CONTENT_TYPE};
use monitor::{cost, CostItem, MessageRoute, PriceTable, Usage};

fn one_hour_of_north() -> monitor::CostBreakdown {
    let mut usage = Usage::new();
    usage.record_connection(100, 60);
    usage.record_messages(6_000, 1024, MessageRoute::BROKER_ONE_RULE);
    cost(&usage, &PriceTable::aws_us_east_1()).unwrap()
}

#[test]
fn cost_lines_render_as_labelled_prometheus_gauges() {
    let breakdown = one_hour_of_north();
    let mut family = MetricFamily::gauge(
        "boxpilot_modelled_cost_usd",
        "Modelled cloud cost of the last hour, by fleet and item.",
    )
    .unwrap();
    for line in &breakdown.lines {
        let item = serde_json::to_value(line.item).unwrap();
        family
            .sample(
                &[("fleet", "north"), ("item", item.as_str().unwrap())],
                line.cost_usd,
            )
            .unwrap();
    }
    let text = render(&[family]).unwrap();
    assert!(CONTENT_TYPE.contains("version=0.0.4"));
    assert_eq!(text.lines().count(), 2 + CostItem::ALL.len());
    // 6,000 messages at $1.00 per million.
    assert!(
        text.contains("boxpilot_modelled_cost_usd{fleet=\"north\",item=\"iot_messaging\"} 0.006\n"),
        "{text}"
    );
    // Every sample line parses back as `name{labels} value`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}

#[test]
fn the_same_breakdown_as_an_emf_line() {
    let breakdown = one_hour_of_north();
    let at = Utc.with_ymd_and_hms(2026, 4, 6, 10, 0, 0).unwrap();
    let line = EmfDocument::new("boxpilot", at)
        .dimension("fleet", "north")
        .metric("ModelledCostUsd", EmfUnit::None, breakdown.total_usd)
        .metric(
            "BilledMessageUnits",
            EmfUnit::Count,
            breakdown.line(CostItem::IotMessaging).quantity,
        )
        .to_log_line()
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(value["_aws"]["Timestamp"], at.timestamp_millis());
    assert_eq!(value["fleet"], "north");
    assert_eq!(value["BilledMessageUnits"], 6000.0);
    let total = value["ModelledCostUsd"].as_f64().unwrap();
    assert!((total - breakdown.total_usd).abs() < 1e-15);
    let names: Vec<&str> = value["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ModelledCostUsd", "BilledMessageUnits"]);
}
