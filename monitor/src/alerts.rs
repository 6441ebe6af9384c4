//! The alert state machine: turns each tick's signals into notifications, once per incident.
//!
//! For each (rule, subject) — subject being the fleet, or a box id for per-box rules — an alert
//! goes: *quiet* → (condition breached) *pending* → (breached for the rule's hold time) *firing*,
//! which emits [`Notification::Fired`] once; while it stays breached nothing more is emitted; when
//! the condition clears, or the rule is disabled or removed, [`Notification::Resolved`] is emitted
//! and the alert leaves the active list. A condition that clears while pending emits nothing.
//!
//! Pure: the caller passes `now`, the current rules and the signals it measured, and delivers the
//! notifications (in-app list, webhook, SNS). Subjects not observed in a tick keep their state, so
//! rules may be evaluated at different cadences.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::rules::{AlertRule, RuleError, Signal};

/// Why a tick was refused (the evaluator's state is unchanged).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AlertError {
    #[error("evaluation time went backwards: {now} is before the previous tick at {last}")]
    ClockWentBackwards {
        now: DateTime<Utc>,
        last: DateTime<Utc>,
    },
    #[error("two rules have the id `{0}`")]
    DuplicateRule(String),
    #[error("rule `{rule_id}`: {source}")]
    Signal {
        rule_id: String,
        #[source]
        source: RuleError,
    },
}

/// What a rule is measured on, for one subject at one tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub rule_id: String,
    /// The fleet id for fleet-wide rules, the box id for per-box rules.
    pub subject: String,
    pub signal: Signal,
}

/// An alert that is firing, as listed in the console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveAlert {
    pub rule_id: String,
    pub fleet: String,
    /// The rule's kind, e.g. `box_offline_longer_than`.
    pub kind: String,
    pub subject: String,
    /// When the condition was first seen breached (before the hold time).
    pub since: DateTime<Utc>,
    pub fired_at: DateTime<Utc>,
    /// The latest value measured, when the signal has one.
    pub last_value: Option<f64>,
}

/// Why an alert was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolvedBecause {
    ConditionCleared,
    RuleDisabledOrRemoved,
}

/// A change to deliver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Notification {
    Fired {
        alert: ActiveAlert,
    },
    Resolved {
        alert: ActiveAlert,
        resolved_at: DateTime<Utc>,
        because: ResolvedBecause,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Track {
    Pending { since: DateTime<Utc> },
    Firing(ActiveAlert),
}

type Key = (String, String);

/// Holds the pending and firing alerts between ticks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertEvaluator {
    tracks: BTreeMap<Key, Track>,
    last_tick: Option<DateTime<Utc>>,
}

impl AlertEvaluator {
    /// An evaluator with no alert.
    pub fn new() -> Self {
        Self::default()
    }

    /// An evaluator resuming with alerts that were firing (e.g. loaded after a restart), so that
    /// they are not announced a second time.
    pub fn with_active(alerts: impl IntoIterator<Item = ActiveAlert>) -> Self {
        let tracks = alerts
            .into_iter()
            .map(|a| ((a.rule_id.clone(), a.subject.clone()), Track::Firing(a)))
            .collect();
        Self {
            tracks,
            last_tick: None,
        }
    }

    /// The firing alerts, oldest first.
    pub fn active(&self) -> Vec<&ActiveAlert> {
        let mut alerts: Vec<&ActiveAlert> = self
            .tracks
            .values()
            .filter_map(|track| match track {
                Track::Firing(alert) => Some(alert),
                Track::Pending { .. } => None,
            })
            .collect();
        alerts.sort_by(|a, b| {
            a.since
                .cmp(&b.since)
                .then_with(|| a.rule_id.cmp(&b.rule_id))
        });
        alerts
    }

    /// Evaluates one tick. `rules` is the full current rule set: alerts of rules that are absent
    /// or disabled are resolved. Observations of such rules are ignored (a rule edited between
    /// measuring and evaluating). Notifications come in observation order, then resolutions of
    /// removed rules in (rule, subject) order.
    pub fn tick(
        &mut self,
        now: DateTime<Utc>,
        rules: &[AlertRule],
        observations: &[Observation],
    ) -> Result<Vec<Notification>, AlertError> {
        if let Some(last) = self.last_tick {
            if now < last {
                return Err(AlertError::ClockWentBackwards { now, last });
            }
        }
        let mut enabled: HashMap<&str, &AlertRule> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for rule in rules {
            if !seen.insert(rule.id.as_str()) {
                return Err(AlertError::DuplicateRule(rule.id.clone()));
            }
            if rule.enabled {
                enabled.insert(rule.id.as_str(), rule);
            }
        }
        // Judge every signal before changing anything, so that a bad one leaves no half-applied
        // tick behind.
        let mut verdicts = Vec::with_capacity(observations.len());
        for observation in observations {
            let Some(rule) = enabled.get(observation.rule_id.as_str()) else {
                continue;
            };
            let breached = rule
                .kind
                .is_breached(&observation.signal)
                .map_err(|source| AlertError::Signal {
                    rule_id: rule.id.clone(),
                    source,
                })?;
            verdicts.push((*rule, observation, breached));
        }

        let mut notifications = Vec::new();
        for (rule, observation, breached) in verdicts {
            let key = (rule.id.clone(), observation.subject.clone());
            let value = observation.signal.value();
            let began = observation.signal.breached_since();
            if let Some(n) = self.step(rule, key, breached, value, began, now) {
                notifications.push(n);
            }
        }

        let gone: Vec<Key> = self
            .tracks
            .keys()
            .filter(|(rule_id, _)| !enabled.contains_key(rule_id.as_str()))
            .cloned()
            .collect();
        for key in gone {
            if let Some(Track::Firing(alert)) = self.tracks.remove(&key) {
                notifications.push(Notification::Resolved {
                    alert,
                    resolved_at: now,
                    because: ResolvedBecause::RuleDisabledOrRemoved,
                });
            }
        }
        self.last_tick = Some(now);
        Ok(notifications)
    }

    fn step(
        &mut self,
        rule: &AlertRule,
        key: Key,
        breached: bool,
        value: Option<f64>,
        began: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<Notification> {
        if !breached {
            return match self.tracks.remove(&key) {
                Some(Track::Firing(mut alert)) => {
                    alert.last_value = value.or(alert.last_value);
                    Some(Notification::Resolved {
                        alert,
                        resolved_at: now,
                        because: ResolvedBecause::ConditionCleared,
                    })
                }
                _ => None,
            };
        }
        let since = match self.tracks.get_mut(&key) {
            Some(Track::Firing(alert)) => {
                alert.last_value = value.or(alert.last_value);
                return None;
            }
            Some(Track::Pending { since }) => *since,
            None => began.map_or(now, |b| b.min(now)),
        };
        if now - since < rule.kind.hold() {
            self.tracks.insert(key, Track::Pending { since });
            return None;
        }
        let alert = ActiveAlert {
            rule_id: key.0.clone(),
            fleet: rule.fleet.clone(),
            kind: rule.kind.name().to_owned(),
            subject: key.1.clone(),
            since,
            fired_at: now,
            last_value: value,
        };
        self.tracks.insert(key, Track::Firing(alert.clone()));
        Some(Notification::Fired { alert })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::AlertKind;
    use chrono::{Duration, TimeZone};

    fn t(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn offline_rule() -> AlertRule {
        AlertRule {
            id: "offline".into(),
            fleet: "north".into(),
            enabled: true,
            kind: AlertKind::BoxOfflineLongerThan { minutes: 10 },
        }
    }

    fn loss_rule() -> AlertRule {
        AlertRule {
            id: "loss".into(),
            fleet: "north".into(),
            enabled: true,
            kind: AlertKind::LossRatioAbove { percent: 1.0 },
        }
    }

    fn offline(subject: &str, offline: bool) -> Observation {
        Observation {
            rule_id: "offline".into(),
            subject: subject.into(),
            signal: Signal::Offline {
                offline,
                since_ms: None,
            },
        }
    }

    fn loss(percent: f64) -> Observation {
        Observation {
            rule_id: "loss".into(),
            subject: "north".into(),
            signal: Signal::LossPercent { percent },
        }
    }

    #[test]
    fn fires_once_while_breached_and_resolves_when_it_ends() {
        let rules = [loss_rule()];
        let mut evaluator = AlertEvaluator::new();
        assert!(evaluator
            .tick(t(0), &rules, &[loss(0.5)])
            .unwrap()
            .is_empty());
        let fired = evaluator.tick(t(1), &rules, &[loss(3.0)]).unwrap();
        assert!(matches!(
            &fired[..],
            [Notification::Fired { alert }] if alert.since == t(1) && alert.last_value == Some(3.0)
        ));
        for m in 2..10 {
            assert!(evaluator
                .tick(t(m), &rules, &[loss(4.0)])
                .unwrap()
                .is_empty());
        }
        assert_eq!(evaluator.active().len(), 1);
        assert_eq!(evaluator.active()[0].last_value, Some(4.0));
        let resolved = evaluator.tick(t(10), &rules, &[loss(0.2)]).unwrap();
        assert!(matches!(
            &resolved[..],
            [Notification::Resolved { alert, resolved_at, because: ResolvedBecause::ConditionCleared }]
                if alert.fired_at == t(1) && *resolved_at == t(10)
        ));
        assert!(evaluator.active().is_empty());
        // A new breach is a new incident: it fires again.
        assert_eq!(
            evaluator.tick(t(11), &rules, &[loss(5.0)]).unwrap().len(),
            1
        );
    }

    #[test]
    fn a_box_offline_since_long_ago_fires_at_the_first_look() {
        let rules = [offline_rule()];
        let seen = |subject: &str, minute: i64| Observation {
            rule_id: "offline".into(),
            subject: subject.into(),
            signal: Signal::Offline {
                offline: true,
                since_ms: Some(t(minute).timestamp_millis()),
            },
        };
        // A fresh evaluator (a restart) looking at minute 30: box-1 went silent at minute 5,
        // box-2 at minute 25 (its hold of 10 minutes is not over).
        let mut evaluator = AlertEvaluator::new();
        let fired = evaluator
            .tick(t(30), &rules, &[seen("box-1", 5), seen("box-2", 25)])
            .unwrap();
        assert!(matches!(
            &fired[..],
            [Notification::Fired { alert }] if alert.subject == "box-1" && alert.since == t(5)
        ));
        let fired = evaluator
            .tick(t(35), &rules, &[seen("box-1", 5), seen("box-2", 25)])
            .unwrap();
        assert!(matches!(
            &fired[..],
            [Notification::Fired { alert }] if alert.subject == "box-2" && alert.since == t(25)
        ));
        // A last sign of life in the future (clock skew) counts from now.
        let mut evaluator = AlertEvaluator::new();
        assert!(evaluator
            .tick(t(30), &rules, &[seen("box-3", 90)])
            .unwrap()
            .is_empty());
    }

    #[test]
    fn the_hold_time_delays_firing_and_a_short_blip_fires_nothing() {
        let rules = [offline_rule()];
        let mut evaluator = AlertEvaluator::new();
        // Offline for 5 minutes, then back: nothing at all.
        for m in 0..=5 {
            assert!(evaluator
                .tick(t(m), &rules, &[offline("box-1", true)])
                .unwrap()
                .is_empty());
        }
        assert!(evaluator
            .tick(t(6), &rules, &[offline("box-1", false)])
            .unwrap()
            .is_empty());
        // Offline from minute 20: fires at minute 30, not before.
        for m in 20..30 {
            assert!(evaluator
                .tick(t(m), &rules, &[offline("box-1", true)])
                .unwrap()
                .is_empty());
        }
        let fired = evaluator
            .tick(t(30), &rules, &[offline("box-1", true)])
            .unwrap();
        assert!(matches!(
            &fired[..],
            [Notification::Fired { alert }] if alert.since == t(20) && alert.fired_at == t(30)
        ));
    }

    #[test]
    fn subjects_are_independent() {
        let rules = [offline_rule()];
        let mut evaluator = AlertEvaluator::new();
        evaluator
            .tick(t(0), &rules, &[offline("a", true), offline("b", true)])
            .unwrap();
        let fired = evaluator
            .tick(t(10), &rules, &[offline("a", true), offline("b", true)])
            .unwrap();
        assert_eq!(fired.len(), 2);
        let resolved = evaluator
            .tick(t(11), &rules, &[offline("a", false), offline("b", true)])
            .unwrap();
        assert!(matches!(
            &resolved[..],
            [Notification::Resolved { alert, .. }] if alert.subject == "a"
        ));
        let active = evaluator.active();
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].subject, "b");
    }

    #[test]
    fn unobserved_subjects_keep_their_state() {
        let rules = [loss_rule()];
        let mut evaluator = AlertEvaluator::new();
        evaluator.tick(t(0), &rules, &[loss(9.0)]).unwrap();
        assert!(evaluator.tick(t(1), &rules, &[]).unwrap().is_empty());
        assert_eq!(evaluator.active().len(), 1);
    }

    #[test]
    fn disabling_or_removing_a_rule_resolves_its_alerts() {
        let mut rules = vec![loss_rule(), offline_rule()];
        let mut evaluator = AlertEvaluator::new();
        evaluator.tick(t(0), &rules, &[loss(9.0)]).unwrap();
        rules[0].enabled = false;
        let out = evaluator.tick(t(1), &rules, &[loss(9.0)]).unwrap();
        assert!(matches!(
            &out[..],
            [Notification::Resolved {
                because: ResolvedBecause::RuleDisabledOrRemoved,
                ..
            }]
        ));
        rules[0].enabled = true;
        evaluator.tick(t(2), &rules, &[loss(9.0)]).unwrap();
        let out = evaluator.tick(t(3), &rules[1..], &[]).unwrap();
        assert_eq!(out.len(), 1);
        assert!(evaluator.active().is_empty());
    }

    #[test]
    fn resumed_alerts_are_not_announced_again() {
        let rules = [loss_rule()];
        let mut first = AlertEvaluator::new();
        first.tick(t(0), &rules, &[loss(9.0)]).unwrap();
        let saved: Vec<ActiveAlert> = first.active().into_iter().cloned().collect();
        let mut resumed = AlertEvaluator::with_active(saved);
        assert!(resumed.tick(t(5), &rules, &[loss(9.0)]).unwrap().is_empty());
        assert_eq!(resumed.tick(t(6), &rules, &[loss(0.0)]).unwrap().len(), 1);
    }

    #[test]
    fn bad_input_is_refused_without_changing_state() {
        let rules = [loss_rule()];
        let mut evaluator = AlertEvaluator::new();
        evaluator.tick(t(5), &rules, &[]).unwrap();
        assert!(matches!(
            evaluator.tick(t(4), &rules, &[loss(9.0)]),
            Err(AlertError::ClockWentBackwards { .. })
        ));
        let wrong = Observation {
            rule_id: "loss".into(),
            subject: "north".into(),
            signal: Signal::Offline {
                offline: true,
                since_ms: None,
            },
        };
        let err = evaluator
            .tick(t(6), &rules, &[loss(9.0), wrong])
            .unwrap_err();
        assert!(err.to_string().contains("loss"), "{err}");
        assert!(
            evaluator.active().is_empty(),
            "the good observation was not applied"
        );
        let twice = [loss_rule(), loss_rule()];
        assert_eq!(
            evaluator.tick(t(7), &twice, &[]),
            Err(AlertError::DuplicateRule("loss".into()))
        );
    }

    #[test]
    fn notifications_serialise_with_an_event_tag() {
        let rules = [loss_rule()];
        let mut evaluator = AlertEvaluator::new();
        let fired = evaluator.tick(t(0), &rules, &[loss(9.0)]).unwrap();
        let json = serde_json::to_value(&fired[0]).unwrap();
        assert_eq!(json["event"], "fired");
        assert_eq!(json["alert"]["kind"], "loss_ratio_above");
        assert_eq!(json["alert"]["subject"], "north");
    }
}
