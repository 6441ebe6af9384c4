//! Pipeline health, modelled cloud cost and alerts, as the API and the console show them.
use super::FleetId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Counts of one box in one fleet over one minute (or their sum over a window). Every field is
/// additive, so minutes add up to hours and windows. Fields added after the first release default
/// to zero when an older stored count is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PipelineCounts {
    pub received: u64,
    pub accepted: u64,
    pub duplicates: u64,
    /// Sequence numbers never seen (gaps), net of late arrivals.
    pub lost: i64,
    pub rejected: BTreeMap<String, u64>,
    /// Bytes received (topic and payload), what IoT Core meters.
    #[serde(default)]
    pub bytes: u64,
    /// Messages in IoT Core's 5 KB billing steps.
    #[serde(default)]
    pub message_units: u64,
    /// DynamoDB write request units the stored readings would take (1 KB steps).
    #[serde(default)]
    pub write_units: u64,
    /// DynamoDB read request units of telemetry reads (4 KB steps, eventually consistent).
    #[serde(default)]
    pub read_units: u64,
    /// Ingestion latency (box timestamp to stored), over the accepted readings that have one.
    #[serde(default)]
    pub latency_ms_sum: u64,
    #[serde(default)]
    pub latency_samples: u64,
    #[serde(default)]
    pub latency_ms_max: u64,
    /// Messages the broker dropped (queue full, no route, refused by the ACL).
    #[serde(default)]
    pub dropped: u64,
    /// Minutes boxes were connected.
    #[serde(default)]
    pub connection_minutes: u64,
    /// REST and server-function calls (counted on the console's own bucket).
    #[serde(default)]
    pub api_requests: u64,
}

impl PipelineCounts {
    pub fn add(&mut self, other: &PipelineCounts) {
        self.received += other.received;
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        self.lost += other.lost;
        for (reason, n) in &other.rejected {
            *self.rejected.entry(reason.clone()).or_default() += n;
        }
        self.bytes += other.bytes;
        self.message_units += other.message_units;
        self.write_units += other.write_units;
        self.read_units += other.read_units;
        self.latency_ms_sum += other.latency_ms_sum;
        self.latency_samples += other.latency_samples;
        self.latency_ms_max = self.latency_ms_max.max(other.latency_ms_max);
        self.dropped += other.dropped;
        self.connection_minutes += other.connection_minutes;
        self.api_requests += other.api_requests;
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Share of the messages the boxes sent that never arrived: lost / (accepted + lost), in %.
    pub fn loss_percent(&self) -> f64 {
        let lost = self.lost.max(0) as f64;
        let expected = self.accepted as f64 + lost;
        if expected == 0.0 {
            0.0
        } else {
            lost * 100.0 / expected
        }
    }

    /// Share of the received messages that were rejected, in %.
    pub fn reject_percent(&self) -> f64 {
        if self.received == 0 {
            0.0
        } else {
            self.rejected_total() as f64 * 100.0 / self.received as f64
        }
    }

    pub fn latency_ms_avg(&self) -> Option<f64> {
        (self.latency_samples > 0).then(|| self.latency_ms_sum as f64 / self.latency_samples as f64)
    }
}

/// A rejected message, kept with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub id: String,
    pub received_at: i64,
    /// `None` when the message could not be tied to a fleet (bad topic, unknown box).
    pub fleet: Option<FleetId>,
    pub device: Option<String>,
    pub topic: String,
    pub source: String,
    /// Stable machine-readable reason, e.g. `metric_value_not_finite`.
    pub reason: String,
    pub detail: String,
    /// The payload, truncated to 1 KiB (lossy UTF-8).
    pub payload_preview: String,
    pub payload_bytes: usize,
}

/// The pipeline windows the health page offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HealthWindow {
    #[serde(rename = "5m")]
    Minutes5,
    #[serde(rename = "1h")]
    Hour1,
    #[serde(rename = "24h")]
    Hours24,
}

impl HealthWindow {
    pub const ALL: [HealthWindow; 3] = [
        HealthWindow::Minutes5,
        HealthWindow::Hour1,
        HealthWindow::Hours24,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HealthWindow::Minutes5 => "5m",
            HealthWindow::Hour1 => "1h",
            HealthWindow::Hours24 => "24h",
        }
    }

    pub fn parse(raw: &str) -> Option<HealthWindow> {
        HealthWindow::ALL.into_iter().find(|w| w.as_str() == raw)
    }

    pub fn millis(self) -> i64 {
        match self {
            HealthWindow::Minutes5 => 5 * 60_000,
            HealthWindow::Hour1 => 3_600_000,
            HealthWindow::Hours24 => 86_400_000,
        }
    }
}

/// One box's line on the health page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoxHealth {
    /// The box id, or `-` for messages that could not be tied to a box.
    pub device: String,
    pub counts: PipelineCounts,
}

/// Pipeline health of one fleet over a window: totals, and the boxes ranked by loss (most lost
/// first, then most rejected).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineHealth {
    pub fleet: FleetId,
    pub from: i64,
    pub to: i64,
    pub total: PipelineCounts,
    pub boxes: Vec<BoxHealth>,
}

/// The periods a cost report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostPeriod {
    /// The last 60 minutes.
    Hour,
    /// The last 24 hours.
    Day,
    /// The calendar month so far (UTC), with the month-end projection.
    Month,
}

impl CostPeriod {
    pub const ALL: [CostPeriod; 3] = [CostPeriod::Hour, CostPeriod::Day, CostPeriod::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            CostPeriod::Hour => "hour",
            CostPeriod::Day => "day",
            CostPeriod::Month => "month",
        }
    }

    pub fn parse(raw: &str) -> Option<CostPeriod> {
        CostPeriod::ALL.into_iter().find(|p| p.as_str() == raw)
    }
}

/// One priced item of a cost report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostLineView {
    /// `IoT Core messaging`, `DynamoDB writes`...
    pub name: String,
    pub quantity: f64,
    /// What the quantity counts (`messages (5 KB units)`).
    pub unit: String,
    /// Price of `per_units` of the unit.
    pub unit_price_usd: f64,
    pub per_units: f64,
    pub cost_usd: f64,
}

/// One point of the cost chart: the modelled cost of one hour (or day).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CostPoint {
    pub at: i64,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthProjection {
    pub month_start: i64,
    pub month_end: i64,
    pub month_to_date_usd: f64,
    pub projected_usd: f64,
    /// How the projection was made, in words.
    pub method: String,
}

/// What a fleet would cost on AWS, modelled from measured counts and a price table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostReport {
    pub fleet: FleetId,
    pub period: CostPeriod,
    pub from: i64,
    pub to: i64,
    pub region: String,
    /// The date the prices were read.
    pub prices_as_of: String,
    /// What the model assumes (message route, Lambda size), in words.
    pub assumptions: Vec<String>,
    pub lines: Vec<CostLineView>,
    pub total_usd: f64,
    pub boxes: usize,
    pub per_box_usd: Option<f64>,
    /// Hourly costs (daily for the month) of the period, oldest first.
    pub series: Vec<CostPoint>,
    pub projection: Option<MonthProjection>,
}

/// How a notification reached (or failed to reach) one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// `in_app`, `webhook`, `sns`.
    pub channel: String,
    /// `delivered`, `retrying` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub detail: Option<String>,
}

/// An alert, firing or resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    pub rule_id: String,
    pub fleet: String,
    /// The rule's kind (`loss_ratio_above`).
    pub kind: String,
    /// What the alert is about: the fleet, or one box.
    pub subject: String,
    /// When the condition started.
    pub since: i64,
    pub fired_at: i64,
    pub last_value: Option<f64>,
    pub resolved_at: Option<i64>,
    /// Why it resolved (`condition_ended`, `rule_disabled`, `rule_deleted`).
    pub resolved_because: Option<String>,
    pub deliveries: Vec<DeliveryView>,
}

/// One field of an alert rule kind, for the rule editor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleFieldSpec {
    pub name: String,
    /// `number`, `integer` or `metric`.
    pub kind: String,
    pub unit: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub default: Option<f64>,
    pub description: String,
}

/// An alert rule kind, for the rule editor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleKindSpec {
    pub kind: String,
    pub label: String,
    pub description: String,
    pub fields: Vec<RuleFieldSpec>,
}

/// The alerts page: active alerts, recent ones, the rules (as their JSON) and the kinds of rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertsOverview {
    pub active: Vec<AlertView>,
    pub recent: Vec<AlertView>,
    /// Rules in their API shape: `{"id", "fleet", "enabled", "kind", ...fields}`.
    pub rules: Vec<Value>,
    pub kinds: Vec<RuleKindSpec>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_give_ratios() {
        let mut a = PipelineCounts {
            received: 10,
            accepted: 8,
            lost: 2,
            latency_ms_sum: 40,
            latency_samples: 8,
            latency_ms_max: 9,
            rejected: BTreeMap::from([("bad_json".to_string(), 2)]),
            ..Default::default()
        };
        let b = PipelineCounts {
            received: 10,
            accepted: 10,
            latency_ms_sum: 100,
            latency_samples: 10,
            latency_ms_max: 30,
            ..Default::default()
        };
        a.add(&b);
        assert_eq!(a.received, 20);
        assert_eq!(a.latency_ms_max, 30);
        assert_eq!(a.latency_ms_avg(), Some(140.0 / 18.0));
        assert!((a.loss_percent() - 2.0 * 100.0 / 20.0).abs() < 1e-9);
        assert!((a.reject_percent() - 10.0).abs() < 1e-9);
        assert_eq!(PipelineCounts::default().loss_percent(), 0.0);
        assert_eq!(PipelineCounts::default().latency_ms_avg(), None);
    }

    #[test]
    fn older_stored_counts_read_with_zero_new_fields() {
        let old = r#"{"received":3,"accepted":3,"duplicates":0,"lost":0,"rejected":{}}"#;
        let c: PipelineCounts = serde_json::from_str(old).unwrap();
        assert_eq!((c.received, c.bytes, c.api_requests), (3, 0, 0));
    }

    #[test]
    fn windows_and_periods_round_trip_their_names() {
        for w in HealthWindow::ALL {
            assert_eq!(HealthWindow::parse(w.as_str()), Some(w));
        }
        for p in CostPeriod::ALL {
            assert_eq!(CostPeriod::parse(p.as_str()), Some(p));
        }
        assert_eq!(HealthWindow::parse("2h"), None);
    }
}
