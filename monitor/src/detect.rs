//! Spike detection on a per-fleet series sampled once a minute (cost per minute, messages per
//! minute), against a [`SeasonalBaseline`].
//!
//! A minute is a spike when its value exceeds all three of:
//! - `mean + k * stddev`: it is unusual for this series' own noise;
//! - `relative_floor * mean`: it is a large change, not a statistically significant wobble on a
//!   very steady series (a steady series has a tiny stddev, which alone would flag +10%);
//! - `mean + absolute_floor`: the rise is worth someone's attention (3 messages a minute instead
//!   of 1 is "300%", and nobody cares).
//!
//! Slow growth never flags: the baseline follows it, and a day's +20% is far from ×2.
//!
//! Spikes are not learnt, so that a spike lasting an hour is not absorbed into the baseline and
//! "resolved" while it goes on. But a series can genuinely move to a new level (a fleet doubled
//! overnight): after `relearn_after` consecutive spike minutes, values are learnt again and the
//! alert resolves once the baseline has caught up, rather than firing forever.

use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::baseline::{BaselineConfig, Expectation, SeasonalBaseline};

/// Why a detector could not be built or a sample not assessed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DetectError {
    #[error("detector setting `{field}` is invalid: {reason}")]
    InvalidConfig { field: &'static str, reason: String },
    #[error("sample value must be a finite number >= 0, got {0}")]
    InvalidValue(f64),
    #[error("samples must come in time order: {at} is not after {last}")]
    OutOfOrder {
        at: DateTime<Utc>,
        last: DateTime<Utc>,
    },
}

/// The detector's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    /// Standard deviations above the mean.
    pub k: f64,
    /// Multiple of the mean a spike must exceed (> 1).
    pub relative_floor: f64,
    /// Rise over the mean a spike must exceed, in the series' unit.
    pub absolute_floor: f64,
    /// Samples to learn before anything is flagged.
    pub warmup_samples: u64,
    /// Consecutive spike minutes after which values are learnt again (a lasting new level).
    pub relearn_after: u32,
    pub baseline: BaselineConfig,
}

impl DetectorConfig {
    /// For a fleet's messages per minute: ×2 and at least 20 more messages a minute.
    pub fn message_rate() -> Self {
        Self {
            k: 4.0,
            relative_floor: 2.0,
            absolute_floor: 20.0,
            warmup_samples: 60,
            relearn_after: 360,
            baseline: BaselineConfig::default(),
        }
    }

    /// For a fleet's modelled cost per minute in USD: ×2 and at least $0.01 a minute more
    /// ($14.40 a day), below which a cost alert is noise.
    pub fn cost_per_minute() -> Self {
        Self {
            absolute_floor: 0.01,
            ..Self::message_rate()
        }
    }

    /// Refuses settings that would flag everything or nothing.
    pub fn validate(&self) -> Result<(), DetectError> {
        let invalid =
            |field: &'static str, reason: String| DetectError::InvalidConfig { field, reason };
        if !(self.k.is_finite() && self.k > 0.0) {
            return Err(invalid(
                "k",
                format!("must be a finite number > 0, got {}", self.k),
            ));
        }
        if !(self.relative_floor.is_finite() && self.relative_floor > 1.0) {
            return Err(invalid(
                "relative_floor",
                format!("must be a finite number > 1, got {}", self.relative_floor),
            ));
        }
        if !(self.absolute_floor.is_finite() && self.absolute_floor >= 0.0) {
            return Err(invalid(
                "absolute_floor",
                format!("must be a finite number >= 0, got {}", self.absolute_floor),
            ));
        }
        if self.relearn_after == 0 {
            return Err(invalid("relearn_after", "must be at least 1".into()));
        }
        self.baseline
            .validate()
            .map_err(|reason| invalid("baseline", reason))
    }
}

/// The verdict on one sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub at: DateTime<Utc>,
    pub value: f64,
    /// What the baseline expected (None while it has no sample).
    pub expected: Option<Expectation>,
    /// The value above which this minute would be a spike (None during warm-up).
    pub threshold: Option<f64>,
    pub spike: bool,
}

/// A spike detector for one series (one fleet, one measure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpikeDetector {
    config: DetectorConfig,
    baseline: SeasonalBaseline,
    consecutive_spikes: u32,
    last_at: Option<DateTime<Utc>>,
}

impl SpikeDetector {
    /// A detector that has learnt nothing yet.
    pub fn new(config: DetectorConfig) -> Result<Self, DetectError> {
        config.validate()?;
        Ok(Self {
            config,
            baseline: SeasonalBaseline::new(config.baseline),
            consecutive_spikes: 0,
            last_at: None,
        })
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// Whether the last sample was a spike.
    pub fn in_spike(&self) -> bool {
        self.consecutive_spikes > 0
    }

    /// Assesses the sample of the minute starting at `at`, then learns it unless it is a spike.
    /// Missing minutes are fine; samples must be in strictly increasing time order.
    pub fn observe(&mut self, at: DateTime<Utc>, value: f64) -> Result<Assessment, DetectError> {
        if !(value.is_finite() && value >= 0.0) {
            return Err(DetectError::InvalidValue(value));
        }
        if let Some(last) = self.last_at {
            if at <= last {
                return Err(DetectError::OutOfOrder { at, last });
            }
        }
        self.last_at = Some(at);

        // Hour of day in UTC: the buckets are 24 phases of the day, which captures a fleet's
        // local day/night cycle just as well whatever its time zone.
        let hour = at.hour() as u8;
        let expected = self.baseline.expectation(hour);
        let threshold = expected
            .filter(|_| self.baseline.samples() >= self.config.warmup_samples)
            .map(|e| self.threshold(&e));
        let spike = threshold.is_some_and(|t| value > t);

        if spike {
            self.consecutive_spikes = self.consecutive_spikes.saturating_add(1);
        } else {
            self.consecutive_spikes = 0;
        }
        if !spike || self.consecutive_spikes > self.config.relearn_after {
            self.baseline.learn(hour, value);
        }
        Ok(Assessment {
            at,
            value,
            expected,
            threshold,
            spike,
        })
    }

    fn threshold(&self, expected: &Expectation) -> f64 {
        let c = &self.config;
        (expected.mean + c.k * expected.stddev)
            .max(expected.mean * c.relative_floor)
            .max(expected.mean + c.absolute_floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap()
    }

    fn feed(detector: &mut SpikeDetector, minutes: i64, value: impl Fn(i64) -> f64) -> Vec<i64> {
        (0..minutes)
            .filter(|&m| {
                detector
                    .observe(start() + Duration::minutes(m), value(m))
                    .unwrap()
                    .spike
            })
            .collect()
    }

    #[test]
    fn nothing_is_flagged_during_warm_up() {
        let mut detector = SpikeDetector::new(DetectorConfig::message_rate()).unwrap();
        let flagged = feed(
            &mut detector,
            59,
            |m| if m == 30 { 10_000.0 } else { 100.0 },
        );
        assert!(flagged.is_empty());
    }

    #[test]
    fn all_three_floors_must_be_exceeded() {
        let mut detector = SpikeDetector::new(DetectorConfig::message_rate()).unwrap();
        feed(&mut detector, 120, |_| 100.0);
        let at = start() + Duration::minutes(120);
        // A steady series has zero stddev: +50% beats mean + k·σ but not ×2.
        let a = detector.observe(at, 150.0).unwrap();
        assert!(!a.spike);
        assert_eq!(a.threshold, Some(200.0));
        // The +50% minute was learnt (it was no spike), so the mean is now a little above 100.
        let b = detector.observe(at + Duration::minutes(1), 210.0).unwrap();
        assert!(b.spike);
        assert!(b.threshold.unwrap() > 200.0 && b.threshold.unwrap() < 210.0);

        // Tiny numbers: ×5 but only +4 a minute, under the absolute floor of 20.
        let mut small = SpikeDetector::new(DetectorConfig::message_rate()).unwrap();
        feed(&mut small, 120, |_| 1.0);
        let c = small.observe(at, 5.0).unwrap();
        assert!(!c.spike);
        assert_eq!(c.threshold, Some(21.0));
    }

    #[test]
    fn spikes_are_not_learnt_until_they_last() {
        let config = DetectorConfig {
            relearn_after: 30,
            ..DetectorConfig::message_rate()
        };
        let mut detector = SpikeDetector::new(config).unwrap();
        feed(&mut detector, 120, |_| 100.0);
        let mut flagged = 0;
        for m in 120..150 {
            let a = detector
                .observe(start() + Duration::minutes(m), 500.0)
                .unwrap();
            assert!(a.spike, "minute {m} should still be a spike");
            assert_eq!(
                a.expected.unwrap().mean,
                100.0,
                "a spike must not move the mean"
            );
            flagged += 1;
        }
        assert_eq!(flagged, 30);
        // Past relearn_after the new level is learnt and the spike eventually ends.
        let ends = (150..600)
            .find(|&m| {
                !detector
                    .observe(start() + Duration::minutes(m), 500.0)
                    .unwrap()
                    .spike
            })
            .expect("a lasting new level stops being a spike");
        assert!(ends < 300, "took until minute {ends}");
    }

    #[test]
    fn samples_must_be_in_order_and_valid() {
        let mut detector = SpikeDetector::new(DetectorConfig::message_rate()).unwrap();
        detector.observe(start(), 1.0).unwrap();
        assert!(matches!(
            detector.observe(start(), 1.0),
            Err(DetectError::OutOfOrder { .. })
        ));
        assert_eq!(
            detector
                .observe(start() + Duration::minutes(1), f64::NAN)
                .unwrap_err()
                .to_string(),
            "sample value must be a finite number >= 0, got NaN"
        );
        assert!(detector
            .observe(start() + Duration::minutes(1), -1.0)
            .is_err());
    }

    #[test]
    fn config_is_validated() {
        let bad = DetectorConfig {
            relative_floor: 1.0,
            ..DetectorConfig::message_rate()
        };
        assert!(matches!(
            SpikeDetector::new(bad),
            Err(DetectError::InvalidConfig {
                field: "relative_floor",
                ..
            })
        ));
        let bad = DetectorConfig {
            k: -1.0,
            ..DetectorConfig::message_rate()
        };
        assert!(SpikeDetector::new(bad).is_err());
        let bad = DetectorConfig {
            relearn_after: 0,
            ..DetectorConfig::cost_per_minute()
        };
        assert!(SpikeDetector::new(bad).is_err());
    }
}
