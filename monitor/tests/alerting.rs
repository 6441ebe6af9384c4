//! From admin-edited rules (JSON) to notifications: rules are parsed and validated, a spike
//! detector and per-box states produce signals, and the evaluator fires and resolves once per
//! incident.

use chrono::{DateTime, Duration, TimeZone, Utc};
use monitor::{
    AlertEvaluator, AlertRule, DetectorConfig, Notification, Observation, RuleError, Signal,
    SpikeDetector,
};

const RULES: &str = r#"[
  {"id": "rate", "fleet": "north", "kind": "message_rate_spike"},
  {"id": "offline", "fleet": "north", "kind": "box_offline_longer_than", "minutes": 15},
  {"id": "warm", "fleet": "north", "enabled": false,
   "kind": "metric_above", "metric": "temp_c", "value": 8.0, "for_minutes": 10}
]"#;

fn t(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 6, 0, 0, 0).unwrap() + Duration::minutes(minute)
}

fn rules() -> Vec<AlertRule> {
    let rules: Vec<AlertRule> = serde_json::from_str(RULES).unwrap();
    let known = |metric: &str| metric == "temp_c";
    for rule in &rules {
        rule.validate(&known).unwrap();
    }
    rules
}

#[test]
fn a_message_rate_spike_fires_once_and_resolves_when_the_rate_falls_back() {
    let rules = rules();
    let mut detector = SpikeDetector::new(DetectorConfig::message_rate()).unwrap();
    let mut evaluator = AlertEvaluator::new();
    let spike = 2 * 1440..2 * 1440 + 45;
    let mut fired = Vec::new();
    let mut resolved = Vec::new();
    for m in 0..3 * 1440 {
        // A steady 800 messages a minute with a small deterministic wobble, ×5 during the spike.
        let wobble = 1.0 + 0.05 * ((m * 7919 % 13) as f64 - 6.0) / 6.0;
        let rate = 800.0 * wobble * if spike.contains(&m) { 5.0 } else { 1.0 };
        let assessment = detector.observe(t(m), rate).unwrap();
        let observation = Observation {
            rule_id: "rate".into(),
            subject: "north".into(),
            signal: Signal::Spike {
                spike: assessment.spike,
                value: rate,
            },
        };
        for notification in evaluator.tick(t(m), &rules, &[observation]).unwrap() {
            match notification {
                Notification::Fired { alert } => fired.push((m, alert)),
                Notification::Resolved { alert, .. } => resolved.push((m, alert)),
            }
        }
    }
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].0, spike.start);
    assert_eq!(fired[0].1.kind, "message_rate_spike");
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].0, spike.end);
    assert!(evaluator.active().is_empty());
}

#[test]
fn offline_boxes_alert_per_box_after_the_hold_time() {
    let rules = rules();
    let mut evaluator = AlertEvaluator::new();
    let observe = |subject: &str, offline: bool| Observation {
        rule_id: "offline".into(),
        subject: subject.into(),
        signal: Signal::Offline {
            offline,
            since_ms: None,
        },
    };
    let mut fired_at = Vec::new();
    for m in 0..40 {
        // box-1 drops at minute 5 for good; box-2 drops for 10 minutes only (a reboot).
        let observations = [
            observe("box-1", m >= 5),
            observe("box-2", (10..20).contains(&m)),
        ];
        for n in evaluator.tick(t(m), &rules, &observations).unwrap() {
            if let Notification::Fired { alert } = n {
                fired_at.push((alert.subject.clone(), m));
            }
        }
    }
    assert_eq!(fired_at, vec![("box-1".to_owned(), 20)]);
    let active = evaluator.active();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].since, t(5));
}

#[test]
fn disabled_rules_never_fire() {
    let rules = rules();
    let mut evaluator = AlertEvaluator::new();
    for m in 0..30 {
        let hot = Observation {
            rule_id: "warm".into(),
            subject: "box-1".into(),
            signal: Signal::Metric { value: 12.0 },
        };
        assert!(evaluator.tick(t(m), &rules, &[hot]).unwrap().is_empty());
    }
}

#[test]
fn a_rule_on_an_unknown_metric_is_refused_with_its_name() {
    let rule: AlertRule = serde_json::from_str(
        r#"{"id": "h", "fleet": "north", "kind": "metric_below",
            "metric": "humidity", "value": 20, "for_minutes": 5}"#,
    )
    .unwrap();
    let err = rule.validate(&|m: &str| m == "temp_c").unwrap_err();
    assert_eq!(err, RuleError::UnknownMetric("humidity".into()));
    assert!(err.to_string().contains("humidity"));
}
