//! Bulk commands ("rollouts"), on the model of AWS IoT Jobs: one command sent to a fleet or a
//! filtered set of its boxes at a given rate, stopped when too many of them fail.
use super::{CommandState, DeviceId, FleetId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The fastest rollout rate, in commands per minute.
pub const MAX_ROLLOUT_RATE_PER_MINUTE: u32 = 60_000;
/// The most boxes one rollout targets.
pub const MAX_ROLLOUT_TARGETS: usize = 10_000;

/// Which boxes of the fleet a rollout targets. With no filter, every box of the fleet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutTarget {
    /// These boxes only (each must belong to the fleet).
    #[serde(default)]
    pub devices: Option<Vec<DeviceId>>,
    /// Only boxes online when the rollout starts.
    #[serde(default)]
    pub online_only: bool,
    /// Only boxes that reported this firmware version.
    #[serde(default)]
    pub firmware: Option<String>,
}

/// When to stop: more than `threshold_percent` of the finished commands did not succeed, once at
/// least `min_finished` commands have finished (AWS IoT Jobs' `abortConfig`). Failed, rejected,
/// timed-out and expired commands all count as failures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbortRule {
    pub threshold_percent: f64,
    #[serde(default = "default_min_finished")]
    pub min_finished: u32,
}

fn default_min_finished() -> u32 {
    10
}

/// `POST /api/v1/rollouts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutRequest {
    pub fleet: FleetId,
    /// The command's name in the catalogue.
    pub name: String,
    #[serde(default)]
    pub params: Value,
    #[serde(default)]
    pub target: RolloutTarget,
    /// Commands sent per minute: 1 to 60,000.
    pub rate_per_minute: u32,
    #[serde(default)]
    pub abort: Option<AbortRule>,
    /// How long each box's command stays valid, in seconds (default 60, at most 3600).
    #[serde(default)]
    pub ttl_secs: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutStatus {
    /// Sending commands, or waiting for the boxes' answers.
    Running,
    /// Every box's command reached a final state.
    Completed,
    /// Stopped by its abort rule.
    Aborted,
    /// Stopped by a person.
    Cancelled,
}

impl RolloutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutStatus::Running => "running",
            RolloutStatus::Completed => "completed",
            RolloutStatus::Aborted => "aborted",
            RolloutStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_final(self) -> bool {
        self != RolloutStatus::Running
    }
}

impl std::fmt::Display for RolloutStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many of a rollout's commands are in each state, and how many boxes are still to be sent one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutProgress {
    pub targets: usize,
    /// Commands created so far (one per box).
    pub issued: usize,
    pub states: BTreeMap<CommandState, usize>,
}

impl RolloutProgress {
    pub fn count(&self, state: CommandState) -> usize {
        self.states.get(&state).copied().unwrap_or(0)
    }

    /// Commands in a final state.
    pub fn finished(&self) -> usize {
        self.states
            .iter()
            .filter(|(s, _)| s.is_final())
            .map(|(_, n)| n)
            .sum()
    }

    /// Final states other than success (cancelled commands are not counted: they never ran).
    pub fn failures(&self) -> usize {
        use CommandState::*;
        [Failed, Rejected, TimedOut, Expired]
            .into_iter()
            .map(|s| self.count(s))
            .sum()
    }

    /// Whether `rule` says stop now; the reason in words when it does.
    pub fn abort_reason(&self, rule: &AbortRule) -> Option<String> {
        let finished = self.finished() - self.count(CommandState::Cancelled);
        let failures = self.failures();
        if finished == 0 || finished < rule.min_finished as usize {
            return None;
        }
        let percent = failures as f64 * 100.0 / finished as f64;
        (percent > rule.threshold_percent).then(|| {
            format!(
                "{failures} of {finished} finished commands failed ({percent:.0}% > {}%)",
                rule.threshold_percent
            )
        })
    }

    /// Share of the targets whose command is final, 0 to 100.
    pub fn percent_done(&self) -> f64 {
        if self.targets == 0 {
            100.0
        } else {
            self.finished() as f64 * 100.0 / self.targets as f64
        }
    }
}

/// A rollout as the API and the console show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutView {
    pub id: String,
    pub fleet: FleetId,
    pub name: String,
    pub params: Value,
    pub target: RolloutTarget,
    pub rate_per_minute: u32,
    pub abort: Option<AbortRule>,
    pub ttl_secs: i64,
    /// `user:<name>`.
    pub issuer: String,
    pub created_at: i64,
    pub status: RolloutStatus,
    /// Why it stopped (abort reason, who cancelled).
    pub status_detail: Option<String>,
    pub finished_at: Option<i64>,
    pub progress: RolloutProgress,
}

impl RolloutRequest {
    /// Checks what can be checked without the catalogue and the fleet's boxes.
    pub fn check_shape(&self) -> Result<(), String> {
        if !(1..=MAX_ROLLOUT_RATE_PER_MINUTE).contains(&self.rate_per_minute) {
            return Err(format!(
                "rate_per_minute must be between 1 and {MAX_ROLLOUT_RATE_PER_MINUTE}"
            ));
        }
        if let Some(rule) = &self.abort {
            if !rule.threshold_percent.is_finite()
                || !(0.0..100.0).contains(&rule.threshold_percent)
            {
                return Err("abort.threshold_percent must be at least 0 and below 100".into());
            }
            if rule.min_finished == 0 {
                return Err("abort.min_finished must be at least 1".into());
            }
        }
        if let Some(devices) = &self.target.devices {
            if devices.is_empty() {
                return Err("target.devices is empty: name at least one box, or leave it out to target the whole fleet".into());
            }
            if devices.len() > MAX_ROLLOUT_TARGETS {
                return Err(format!(
                    "target.devices names more than {MAX_ROLLOUT_TARGETS} boxes"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(pairs: &[(CommandState, usize)]) -> RolloutProgress {
        RolloutProgress {
            targets: 100,
            issued: 100,
            states: pairs.iter().copied().collect(),
        }
    }

    #[test]
    fn abort_waits_for_the_minimum_then_compares_the_failure_share() {
        let rule = AbortRule {
            threshold_percent: 20.0,
            min_finished: 5,
        };
        // 3 failures out of 4 finished: above 20% but under the minimum.
        let p = progress(&[(CommandState::Failed, 3), (CommandState::Succeeded, 1)]);
        assert_eq!(p.abort_reason(&rule), None);
        let p = progress(&[
            (CommandState::TimedOut, 1),
            (CommandState::Succeeded, 4),
            (CommandState::Sent, 50),
        ]);
        assert_eq!(p.abort_reason(&rule), None, "20% is not more than 20%");
        let p = progress(&[
            (CommandState::Expired, 1),
            (CommandState::Rejected, 1),
            (CommandState::Succeeded, 4),
        ]);
        let reason = p.abort_reason(&rule).unwrap();
        assert!(
            reason.starts_with("2 of 6 finished commands failed"),
            "{reason}"
        );
    }

    #[test]
    fn cancelled_commands_are_neither_failures_nor_finished_work() {
        let p = progress(&[(CommandState::Cancelled, 40), (CommandState::Failed, 1)]);
        assert_eq!(p.failures(), 1);
        let rule = AbortRule {
            threshold_percent: 50.0,
            min_finished: 2,
        };
        assert_eq!(p.abort_reason(&rule), None);
        assert_eq!(p.finished(), 41);
    }

    #[test]
    fn shape_checks_name_the_field() {
        let mut r = RolloutRequest {
            fleet: FleetId::parse("f").unwrap(),
            name: "reboot".into(),
            params: Value::Null,
            target: RolloutTarget::default(),
            rate_per_minute: 0,
            abort: None,
            ttl_secs: None,
        };
        assert!(r.check_shape().unwrap_err().contains("rate_per_minute"));
        r.rate_per_minute = 600;
        assert!(r.check_shape().is_ok());
        r.abort = Some(AbortRule {
            threshold_percent: 100.0,
            min_finished: 1,
        });
        assert!(r.check_shape().unwrap_err().contains("threshold_percent"));
        r.abort = Some(AbortRule {
            threshold_percent: f64::NAN,
            min_finished: 1,
        });
        assert!(r.check_shape().is_err());
        r.abort = None;
        r.target.devices = Some(vec![]);
        assert!(r.check_shape().unwrap_err().contains("target.devices"));
    }
}
