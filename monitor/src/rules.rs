//! Alert rules an admin edits: which condition, on which fleet, with which thresholds.
//!
//! JSON shape (one flat object, the condition's members next to the rule's):
//!
//! ```json
//! {"id": "cold-chain", "fleet": "north", "enabled": true,
//!  "kind": "metric_above", "metric": "temp_c", "value": 8.0, "for_minutes": 15}
//! ```
//!
//! Unknown members are refused, so that a misspelt threshold (`"precent"`) is an error instead of
//! a rule that silently uses no threshold. [`AlertRule::validate`] then checks the values.
//!
//! A rule is evaluated per *subject*: the fleet itself for fleet-wide conditions (spikes, loss and
//! reject ratios), a box id for per-box conditions (offline, metric thresholds).

use chrono::Duration;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest window or hold a rule may use: 7 days. Longer ones would outlive the retention of
/// the per-minute counters they are computed from.
pub const MAX_RULE_MINUTES: u32 = 7 * 24 * 60;

/// Why a rule, or a signal given for it, was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    #[error("rule id `{0}` must be 1 to 64 characters among A-Z, a-z, 0-9, `_` and `-`")]
    InvalidId(String),
    #[error("fleet `{0}` must be 1 to 64 characters among A-Z, a-z, 0-9, `_` and `-`")]
    InvalidFleet(String),
    #[error("`{field}` must be a finite number, got {value}")]
    NotFinite { field: &'static str, value: f64 },
    #[error("`{field}` must be a percentage between 0 and 100, got {value}")]
    PercentOutOfRange { field: &'static str, value: f64 },
    #[error("`{field}` must be greater than 1 (a rise over the baseline), got {value}")]
    FactorNotARise { field: &'static str, value: f64 },
    #[error(
        "`{field}` must be between 1 minute and 7 days ({MAX_RULE_MINUTES} minutes), got {value}"
    )]
    MinutesOutOfRange { field: &'static str, value: u32 },
    #[error("metric name `{0}` must be 1 to 64 characters among a-z, 0-9, `_` and `.`")]
    InvalidMetricName(String),
    #[error("unknown metric `{0}`: no box of this deployment reports it")]
    UnknownMetric(String),
    #[error("rule kind `{kind}` is evaluated from {expected}, not from the signal given")]
    SignalMismatch {
        kind: &'static str,
        expected: &'static str,
    },
}

/// An admin-defined alert rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    pub id: String,
    pub fleet: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// The condition, flattened into the rule's JSON object (`"kind": "...", ...`).
    #[serde(flatten)]
    pub kind: AlertKind,
}

fn enabled_by_default() -> bool {
    true
}

/// The conditions a rule can watch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AlertKind {
    /// The fleet's modelled cost per minute spikes (see `detect`). An empty struct variant, not
    /// a unit one: serde ignores unknown members on unit variants, and a misspelt member must be
    /// refused on every kind.
    CostSpike {},
    /// The fleet's messages per minute spike (see `detect`).
    MessageRateSpike {},
    /// Lost messages over received exceed `percent`.
    LossRatioAbove { percent: f64 },
    /// The reject ratio over the last `window_minutes` exceeds both `factor` times its baseline
    /// and `min_percent` (so that going from 0.01% to 0.05% does not page anyone).
    RejectRateRising {
        factor: f64,
        min_percent: f64,
        window_minutes: u32,
    },
    /// A box has been offline for more than `minutes`.
    BoxOfflineLongerThan { minutes: u32 },
    /// A box's metric stays above `value` for `for_minutes`.
    MetricAbove {
        metric: String,
        value: f64,
        for_minutes: u32,
    },
    /// A box's metric stays below `value` for `for_minutes`.
    MetricBelow {
        metric: String,
        value: f64,
        for_minutes: u32,
    },
}

/// The measurement a rule is evaluated from, for one subject at one tick.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "signal", rename_all = "snake_case")]
pub enum Signal {
    /// For spike rules: the detector's verdict, and the value it judged.
    Spike { spike: bool, value: f64 },
    /// For `loss_ratio_above`: lost / received over the rule's window, in percent.
    LossPercent { percent: f64 },
    /// For `reject_rate_rising`: the reject ratio over the window and its baseline, in percent.
    RejectPercent { window: f64, baseline: f64 },
    /// For `box_offline_longer_than`: whether the box is offline now, and since when when known
    /// (its last sign of life, ms): the hold time then counts from there, not from the first
    /// look, so a restarted server or a fresh function instance does not wait the hold again.
    Offline {
        offline: bool,
        #[serde(default)]
        since_ms: Option<i64>,
    },
    /// For `metric_above` / `metric_below`: the box's latest value of the metric.
    Metric { value: f64 },
}

impl Signal {
    /// The number to show with a notification, when there is one.
    pub fn value(&self) -> Option<f64> {
        match *self {
            Signal::Spike { value, .. } => Some(value),
            Signal::LossPercent { percent } => Some(percent),
            Signal::RejectPercent { window, .. } => Some(window),
            Signal::Offline { .. } => None,
            Signal::Metric { value } => Some(value),
        }
    }

    /// When the breach began, if the measurement knows it.
    pub fn breached_since(&self) -> Option<DateTime<Utc>> {
        match *self {
            Signal::Offline {
                since_ms: Some(ms), ..
            } => DateTime::from_timestamp_millis(ms),
            _ => None,
        }
    }
}

impl AlertKind {
    /// The `kind` tag, as in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            AlertKind::CostSpike {} => "cost_spike",
            AlertKind::MessageRateSpike {} => "message_rate_spike",
            AlertKind::LossRatioAbove { .. } => "loss_ratio_above",
            AlertKind::RejectRateRising { .. } => "reject_rate_rising",
            AlertKind::BoxOfflineLongerThan { .. } => "box_offline_longer_than",
            AlertKind::MetricAbove { .. } => "metric_above",
            AlertKind::MetricBelow { .. } => "metric_below",
        }
    }

    /// How long the condition must hold before the alert fires. Offline and metric rules wait,
    /// so that a reboot or one odd reading does not page anyone; the others fire at once (spike
    /// detection and ratio windows already smooth over time).
    pub fn hold(&self) -> Duration {
        match self {
            AlertKind::BoxOfflineLongerThan { minutes } => Duration::minutes(i64::from(*minutes)),
            AlertKind::MetricAbove { for_minutes, .. }
            | AlertKind::MetricBelow { for_minutes, .. } => {
                Duration::minutes(i64::from(*for_minutes))
            }
            _ => Duration::zero(),
        }
    }

    /// Whether `signal` breaches this condition (not counting the hold time).
    pub fn is_breached(&self, signal: &Signal) -> Result<bool, RuleError> {
        let mismatch = |expected| RuleError::SignalMismatch {
            kind: self.name(),
            expected,
        };
        match (self, *signal) {
            (
                AlertKind::CostSpike {} | AlertKind::MessageRateSpike {},
                Signal::Spike { spike, .. },
            ) => Ok(spike),
            (AlertKind::CostSpike {} | AlertKind::MessageRateSpike {}, _) => {
                Err(mismatch("a spike verdict"))
            }
            (AlertKind::LossRatioAbove { percent }, Signal::LossPercent { percent: loss }) => {
                Ok(loss > *percent)
            }
            (AlertKind::LossRatioAbove { .. }, _) => Err(mismatch("a loss percentage")),
            (
                AlertKind::RejectRateRising {
                    factor,
                    min_percent,
                    ..
                },
                Signal::RejectPercent { window, baseline },
            ) => Ok(window > baseline * factor && window > *min_percent),
            (AlertKind::RejectRateRising { .. }, _) => Err(mismatch("reject percentages")),
            (AlertKind::BoxOfflineLongerThan { .. }, Signal::Offline { offline, .. }) => {
                Ok(offline)
            }
            (AlertKind::BoxOfflineLongerThan { .. }, _) => Err(mismatch("an offline state")),
            (AlertKind::MetricAbove { value, .. }, Signal::Metric { value: v }) => Ok(v > *value),
            (AlertKind::MetricBelow { value, .. }, Signal::Metric { value: v }) => Ok(v < *value),
            (AlertKind::MetricAbove { .. } | AlertKind::MetricBelow { .. }, _) => {
                Err(mismatch("a metric value"))
            }
        }
    }
}

impl AlertRule {
    /// Checks names and thresholds. `known_metric` says whether a metric name is reported by
    /// some box (the caller knows its device catalogue).
    ///
    /// Metric thresholds may be negative (a freezer at -18 °C); percentages, factors and
    /// durations may not.
    pub fn validate(&self, known_metric: &dyn Fn(&str) -> bool) -> Result<(), RuleError> {
        if !is_identifier(&self.id) {
            return Err(RuleError::InvalidId(self.id.clone()));
        }
        if !is_identifier(&self.fleet) {
            return Err(RuleError::InvalidFleet(self.fleet.clone()));
        }
        match &self.kind {
            AlertKind::CostSpike {} | AlertKind::MessageRateSpike {} => Ok(()),
            AlertKind::LossRatioAbove { percent } => check_percent("percent", *percent),
            AlertKind::RejectRateRising {
                factor,
                min_percent,
                window_minutes,
            } => {
                check_finite("factor", *factor)?;
                if *factor <= 1.0 {
                    return Err(RuleError::FactorNotARise {
                        field: "factor",
                        value: *factor,
                    });
                }
                check_percent("min_percent", *min_percent)?;
                check_minutes("window_minutes", *window_minutes)
            }
            AlertKind::BoxOfflineLongerThan { minutes } => check_minutes("minutes", *minutes),
            AlertKind::MetricAbove {
                metric,
                value,
                for_minutes,
            }
            | AlertKind::MetricBelow {
                metric,
                value,
                for_minutes,
            } => {
                if !is_metric_name(metric) {
                    return Err(RuleError::InvalidMetricName(metric.clone()));
                }
                if !known_metric(metric) {
                    return Err(RuleError::UnknownMetric(metric.clone()));
                }
                check_finite("value", *value)?;
                check_minutes("for_minutes", *for_minutes)
            }
        }
    }
}

/// Fleet and rule ids follow the device contract: `[A-Za-z0-9_-]{1,64}`.
fn is_identifier(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Metric names follow the device contract: `[a-z0-9_.]{1,64}`.
fn is_metric_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

fn check_finite(field: &'static str, value: f64) -> Result<(), RuleError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(RuleError::NotFinite { field, value })
    }
}

fn check_percent(field: &'static str, value: f64) -> Result<(), RuleError> {
    check_finite(field, value)?;
    if (0.0..=100.0).contains(&value) {
        Ok(())
    } else {
        Err(RuleError::PercentOutOfRange { field, value })
    }
}

fn check_minutes(field: &'static str, value: u32) -> Result<(), RuleError> {
    if (1..=MAX_RULE_MINUTES).contains(&value) {
        Ok(())
    } else {
        Err(RuleError::MinutesOutOfRange { field, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any_metric(_: &str) -> bool {
        true
    }

    fn parse(json: &str) -> Result<AlertRule, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn json_is_one_flat_object_tagged_by_kind() {
        let rule = parse(
            r#"{"id": "cold", "fleet": "north", "enabled": true,
                "kind": "metric_above", "metric": "temp_c", "value": 8.0, "for_minutes": 15}"#,
        )
        .unwrap();
        assert_eq!(
            rule.kind,
            AlertKind::MetricAbove {
                metric: "temp_c".into(),
                value: 8.0,
                for_minutes: 15
            }
        );
        let back = serde_json::to_value(&rule).unwrap();
        assert_eq!(back["kind"], "metric_above");
        assert_eq!(back["for_minutes"], 15);
        assert_eq!(back["id"], "cold");
    }

    #[test]
    fn unit_kinds_and_default_enabled() {
        let rule = parse(r#"{"id": "c", "fleet": "f", "kind": "cost_spike"}"#).unwrap();
        assert!(rule.enabled);
        assert_eq!(rule.kind, AlertKind::CostSpike {});
    }

    #[test]
    fn a_misspelt_member_is_refused() {
        let err = parse(r#"{"id": "l", "fleet": "f", "kind": "loss_ratio_above", "precent": 5}"#)
            .unwrap_err();
        assert!(err.to_string().contains("precent"), "{err}");
        let err =
            parse(r#"{"id": "l", "fleet": "f", "kind": "cost_spike", "treshold": 5}"#).unwrap_err();
        assert!(err.to_string().contains("treshold"), "{err}");
        let err = parse(r#"{"id": "l", "fleet": "f", "kind": "cost_spiek"}"#).unwrap_err();
        assert!(err.to_string().contains("cost_spiek"), "{err}");
    }

    #[test]
    fn thresholds_are_validated() {
        let rule = |kind: AlertKind| AlertRule {
            id: "r1".into(),
            fleet: "north".into(),
            enabled: true,
            kind,
        };
        assert_eq!(
            rule(AlertKind::LossRatioAbove { percent: 101.0 }).validate(&any_metric),
            Err(RuleError::PercentOutOfRange {
                field: "percent",
                value: 101.0
            })
        );
        assert!(rule(AlertKind::LossRatioAbove { percent: -1.0 })
            .validate(&any_metric)
            .is_err());
        assert!(matches!(
            rule(AlertKind::LossRatioAbove { percent: f64::NAN }).validate(&any_metric),
            Err(RuleError::NotFinite {
                field: "percent",
                ..
            })
        ));
        assert!(rule(AlertKind::LossRatioAbove { percent: 0.0 })
            .validate(&any_metric)
            .is_ok());
        assert_eq!(
            rule(AlertKind::BoxOfflineLongerThan { minutes: 0 }).validate(&any_metric),
            Err(RuleError::MinutesOutOfRange {
                field: "minutes",
                value: 0
            })
        );
        assert!(rule(AlertKind::BoxOfflineLongerThan {
            minutes: MAX_RULE_MINUTES + 1
        })
        .validate(&any_metric)
        .is_err());
        assert!(rule(AlertKind::BoxOfflineLongerThan {
            minutes: MAX_RULE_MINUTES
        })
        .validate(&any_metric)
        .is_ok());
        let rising = |factor, min_percent, window_minutes| {
            rule(AlertKind::RejectRateRising {
                factor,
                min_percent,
                window_minutes,
            })
        };
        assert!(matches!(
            rising(1.0, 1.0, 60).validate(&any_metric),
            Err(RuleError::FactorNotARise { .. })
        ));
        assert!(rising(3.0, 150.0, 60).validate(&any_metric).is_err());
        assert!(rising(3.0, 1.0, 0).validate(&any_metric).is_err());
        assert!(rising(3.0, 1.0, 60).validate(&any_metric).is_ok());
    }

    #[test]
    fn metric_rules_need_a_known_valid_metric_but_allow_negative_values() {
        let rule = |metric: &str, value: f64| AlertRule {
            id: "freezer".into(),
            fleet: "north".into(),
            enabled: true,
            kind: AlertKind::MetricBelow {
                metric: metric.into(),
                value,
                for_minutes: 10,
            },
        };
        let known = |m: &str| m == "temp_c";
        assert!(rule("temp_c", -18.0).validate(&known).is_ok());
        assert_eq!(
            rule("humidity", 10.0).validate(&known),
            Err(RuleError::UnknownMetric("humidity".into()))
        );
        assert_eq!(
            rule("Temp C", 1.0).validate(&known),
            Err(RuleError::InvalidMetricName("Temp C".into()))
        );
        assert!(rule("temp_c", f64::INFINITY).validate(&known).is_err());
        let msg = rule("humidity", 1.0)
            .validate(&known)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("humidity"), "{msg}");
    }

    #[test]
    fn ids_and_fleets_follow_the_device_contract() {
        let mut rule = AlertRule {
            id: "ok_id-1".into(),
            fleet: "north".into(),
            enabled: true,
            kind: AlertKind::CostSpike {},
        };
        assert!(rule.validate(&any_metric).is_ok());
        rule.fleet = "north/east".into();
        assert_eq!(
            rule.validate(&any_metric),
            Err(RuleError::InvalidFleet("north/east".into()))
        );
        rule.fleet = "north".into();
        rule.id = String::new();
        assert!(matches!(
            rule.validate(&any_metric),
            Err(RuleError::InvalidId(_))
        ));
        rule.id = "x".repeat(65);
        assert!(rule.validate(&any_metric).is_err());
    }

    #[test]
    fn breaches_follow_each_kind() {
        let loss = AlertKind::LossRatioAbove { percent: 2.0 };
        assert!(loss
            .is_breached(&Signal::LossPercent { percent: 2.5 })
            .unwrap());
        assert!(!loss
            .is_breached(&Signal::LossPercent { percent: 2.0 })
            .unwrap());

        let rising = AlertKind::RejectRateRising {
            factor: 3.0,
            min_percent: 1.0,
            window_minutes: 60,
        };
        // ×4 the baseline but under the absolute floor: no.
        let quiet = Signal::RejectPercent {
            window: 0.4,
            baseline: 0.1,
        };
        assert!(!rising.is_breached(&quiet).unwrap());
        // Over the floor but not ×3: no. Both: yes.
        let high = Signal::RejectPercent {
            window: 5.0,
            baseline: 2.0,
        };
        assert!(!rising.is_breached(&high).unwrap());
        let both = Signal::RejectPercent {
            window: 5.0,
            baseline: 1.0,
        };
        assert!(rising.is_breached(&both).unwrap());

        let below = AlertKind::MetricBelow {
            metric: "temp_c".into(),
            value: -18.0,
            for_minutes: 5,
        };
        assert!(below.is_breached(&Signal::Metric { value: -20.0 }).unwrap());
        assert!(!below.is_breached(&Signal::Metric { value: -10.0 }).unwrap());
        assert_eq!(below.hold(), Duration::minutes(5));
        assert_eq!(AlertKind::CostSpike {}.hold(), Duration::zero());
    }

    #[test]
    fn a_signal_of_the_wrong_kind_is_refused() {
        let err = AlertKind::CostSpike {}
            .is_breached(&Signal::Metric { value: 1.0 })
            .unwrap_err();
        assert_eq!(
            err,
            RuleError::SignalMismatch {
                kind: "cost_spike",
                expected: "a spike verdict"
            }
        );
        assert!(AlertKind::BoxOfflineLongerThan { minutes: 5 }
            .is_breached(&Signal::LossPercent { percent: 1.0 })
            .is_err());
    }
}
