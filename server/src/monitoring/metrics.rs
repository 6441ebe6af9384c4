//! `GET /metrics`: the pipeline's counters in the Prometheus text format, for the tools people
//! already run. Totals since the store began (summed from the hourly counters), so they only grow.
use crate::console::store_error;
use crate::store::Store;
use app::domain::{AppError, FleetId, PipelineCounts};
use monitor::prometheus_text::{render, MetricFamily};
use std::collections::BTreeMap;

/// A counter family: name, help, and how to read it from a fleet's totals.
type CounterSpec = (&'static str, &'static str, fn(&PipelineCounts) -> f64);

fn exposition(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("metrics: {e}"))
}

/// Renders every fleet's totals, the boxes online and offline, and the alerts firing.
pub async fn render_metrics(store: &dyn Store, alerts_firing: usize) -> Result<String, AppError> {
    let devices = store.list_devices(None).await.map_err(store_error)?;
    let mut fleets: BTreeMap<FleetId, (usize, usize)> = BTreeMap::new();
    for d in &devices {
        let entry = fleets.entry(d.fleet.clone()).or_default();
        if d.presence.online {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }
    if let Ok(console) = FleetId::parse(super::CONSOLE_FLEET) {
        fleets.entry(console).or_default();
    }
    let mut totals: BTreeMap<FleetId, PipelineCounts> = BTreeMap::new();
    for fleet in fleets.keys() {
        let mut sum = PipelineCounts::default();
        for (_, c) in store
            .hourly_counters(fleet, i64::MIN, i64::MAX)
            .await
            .map_err(store_error)?
        {
            sum.add(&c);
        }
        totals.insert(fleet.clone(), sum);
    }

    let counters: [CounterSpec; 11] = [
        (
            "boxpilot_messages_received_total",
            "Messages received from boxes (MQTT and HTTP).",
            |c| c.received as f64,
        ),
        (
            "boxpilot_messages_accepted_total",
            "Messages stored (telemetry) or applied (status).",
            |c| c.accepted as f64,
        ),
        (
            "boxpilot_messages_duplicate_total",
            "Messages received again (QoS 1 redelivery), stored once.",
            |c| c.duplicates as f64,
        ),
        (
            "boxpilot_messages_lost_total",
            "Sequence numbers never received (net of late arrivals).",
            |c| c.lost.max(0) as f64,
        ),
        (
            "boxpilot_messages_dropped_total",
            "Messages the broker dropped.",
            |c| c.dropped as f64,
        ),
        (
            "boxpilot_received_bytes_total",
            "Bytes received (topic and payload).",
            |c| c.bytes as f64,
        ),
        (
            "boxpilot_ingest_latency_ms_sum",
            "Sum of box-timestamp-to-stored latencies, ms.",
            |c| c.latency_ms_sum as f64,
        ),
        (
            "boxpilot_ingest_latency_ms_count",
            "Readings whose latency is in the sum.",
            |c| c.latency_samples as f64,
        ),
        (
            "boxpilot_connection_minutes_total",
            "Minutes boxes were connected.",
            |c| c.connection_minutes as f64,
        ),
        (
            "boxpilot_api_requests_total",
            "API requests (REST and server functions), on fleet _console.",
            |c| c.api_requests as f64,
        ),
        (
            "boxpilot_modelled_write_units_total",
            "DynamoDB write units the stored readings would take.",
            |c| c.write_units as f64,
        ),
    ];
    let mut families = Vec::new();
    for (name, help, value) in counters {
        let mut family = MetricFamily::counter(name, help).map_err(exposition)?;
        for (fleet, c) in &totals {
            family
                .sample(&[("fleet", fleet.as_str())], value(c))
                .map_err(exposition)?;
        }
        families.push(family);
    }
    let mut rejected = MetricFamily::counter(
        "boxpilot_messages_rejected_total",
        "Messages rejected (kept as dead letters), by reason.",
    )
    .map_err(exposition)?;
    for (fleet, c) in &totals {
        for (reason, n) in &c.rejected {
            rejected
                .sample(&[("fleet", fleet.as_str()), ("reason", reason)], *n as f64)
                .map_err(exposition)?;
        }
    }
    families.push(rejected);
    let mut boxes = MetricFamily::gauge("boxpilot_boxes", "Registered boxes, by presence.")
        .map_err(exposition)?;
    for (fleet, (online, offline)) in &fleets {
        boxes
            .sample(
                &[("fleet", fleet.as_str()), ("state", "online")],
                *online as f64,
            )
            .map_err(exposition)?;
        boxes
            .sample(
                &[("fleet", fleet.as_str()), ("state", "offline")],
                *offline as f64,
            )
            .map_err(exposition)?;
    }
    families.push(boxes);
    let mut firing =
        MetricFamily::gauge("boxpilot_alerts_firing", "Alerts firing now.").map_err(exposition)?;
    firing
        .sample(&[], alerts_firing as f64)
        .map_err(exposition)?;
    families.push(firing);
    render(&families).map_err(exposition)
}
