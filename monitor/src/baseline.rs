//! What a per-minute series usually looks like: an exponentially weighted mean and variance,
//! overall and for each hour of the day.
//!
//! Fleets have daily cycles (shops close, boxes idle at night): a night-time minute compared with
//! the day's average would hide a night-time spike, and a morning ramp compared with the night
//! would look like one. So the baseline keeps 24 hour-of-day buckets next to a global EWMA, and
//! falls back to the global one while a bucket has too few samples.
//!
//! Each EWMA starts as a plain running mean (weight `1/n`) and becomes exponential once `1/n`
//! falls below its `alpha`. Without that warm start, the first sample would dominate a slow bucket
//! for days, and a bucket learnt over one day would still mostly remember its first minute.

use serde::{Deserialize, Serialize};

/// An exponentially weighted mean and variance (West's incremental form).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Ewma {
    mean: f64,
    variance: f64,
    samples: u64,
}

impl Ewma {
    /// An EWMA with no samples.
    pub fn new() -> Self {
        Self::default()
    }

    /// Learns `value` with weight `alpha` (or `1/n` while that is larger: the warm start).
    pub fn update(&mut self, value: f64, alpha: f64) {
        self.samples += 1;
        let weight = alpha.max(1.0 / self.samples as f64);
        let diff = value - self.mean;
        let increment = weight * diff;
        self.mean += increment;
        self.variance = (1.0 - weight) * (self.variance + diff * increment);
    }

    pub fn mean(&self) -> f64 {
        self.mean
    }

    pub fn stddev(&self) -> f64 {
        self.variance.max(0.0).sqrt()
    }

    pub fn samples(&self) -> u64 {
        self.samples
    }
}

/// How fast the baseline forgets, and when an hour-of-day bucket is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineConfig {
    /// Weight of a new sample in the global EWMA. 1/60 remembers about the last hour: it follows
    /// a fleet that grows or a day that ramps up, but not a spike of a few minutes.
    pub global_alpha: f64,
    /// Weight of a new sample in its hour's bucket. A bucket gets 60 samples a day, so 1/60
    /// remembers about the last day of that hour: a longer memory lags a growing fleet (at
    /// +20%/day, two days of memory put a morning ramp within 6% of the ×2 floor).
    pub hourly_alpha: f64,
    /// Samples a bucket needs before it is used instead of the global EWMA (30: half of the
    /// hour on the first day).
    pub min_hourly_samples: u64,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        Self {
            global_alpha: 1.0 / 60.0,
            hourly_alpha: 1.0 / 60.0,
            min_hourly_samples: 30,
        }
    }
}

impl BaselineConfig {
    /// Refuses weights outside (0, 1].
    pub fn validate(&self) -> Result<(), String> {
        for (name, alpha) in [
            ("global_alpha", self.global_alpha),
            ("hourly_alpha", self.hourly_alpha),
        ] {
            if !(alpha > 0.0 && alpha <= 1.0) {
                return Err(format!("{name} must be in (0, 1], got {alpha}"));
            }
        }
        Ok(())
    }
}

/// Where an expectation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineSource {
    /// The global EWMA (the bucket has too few samples yet, or the recent level is higher).
    Global,
    /// The bucket of that hour of the day (UTC).
    HourOfDay(u8),
}

/// What the baseline expects for a minute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    pub mean: f64,
    pub stddev: f64,
    pub source: BaselineSource,
}

/// A global EWMA plus one per hour of the day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeasonalBaseline {
    config: BaselineConfig,
    global: Ewma,
    hourly: [Ewma; 24],
}

impl SeasonalBaseline {
    /// An empty baseline. The config must be valid (see [`BaselineConfig::validate`]).
    pub fn new(config: BaselineConfig) -> Self {
        Self {
            config,
            global: Ewma::new(),
            hourly: [Ewma::new(); 24],
        }
    }

    /// Samples learnt so far.
    pub fn samples(&self) -> u64 {
        self.global.samples()
    }

    /// The expectation for a minute in `hour` (0–23, UTC), or None before any sample.
    ///
    /// Once the hour's bucket is trusted, the expectation is whichever of the bucket and the
    /// global EWMA has the higher mean: a point must stand out against both what this hour
    /// usually looks like and what the last hour looked like. This keeps a fleet that grew since
    /// yesterday, or a ramp that started early today, from looking like a spike.
    pub fn expectation(&self, hour: u8) -> Option<Expectation> {
        if self.global.samples() == 0 {
            return None;
        }
        let global = Expectation {
            mean: self.global.mean(),
            stddev: self.global.stddev(),
            source: BaselineSource::Global,
        };
        let bucket = &self.hourly[usize::from(hour % 24)];
        if bucket.samples() < self.config.min_hourly_samples || bucket.mean() < global.mean {
            return Some(global);
        }
        Some(Expectation {
            mean: bucket.mean(),
            stddev: bucket.stddev(),
            source: BaselineSource::HourOfDay(hour % 24),
        })
    }

    /// Learns a minute's value.
    pub fn learn(&mut self, hour: u8, value: f64) {
        self.global.update(value, self.config.global_alpha);
        self.hourly[usize::from(hour % 24)].update(value, self.config.hourly_alpha);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ewma_warm_start_is_the_running_mean() {
        let mut ewma = Ewma::new();
        for value in [10.0, 20.0, 30.0] {
            ewma.update(value, 0.01);
        }
        assert!((ewma.mean() - 20.0).abs() < 1e-12);
        // Population variance of 10, 20, 30.
        assert!((ewma.stddev() - (200.0f64 / 3.0).sqrt()).abs() < 1e-9);
    }

    #[test]
    fn ewma_follows_a_level_change_at_its_rate() {
        let mut ewma = Ewma::new();
        for _ in 0..1000 {
            ewma.update(100.0, 0.1);
        }
        assert_eq!(ewma.mean(), 100.0);
        assert_eq!(ewma.stddev(), 0.0);
        ewma.update(200.0, 0.1);
        assert!((ewma.mean() - 110.0).abs() < 1e-9);
        assert!(ewma.stddev() > 0.0);
    }

    #[test]
    fn buckets_are_used_once_they_have_enough_samples() {
        let config = BaselineConfig::default();
        let mut baseline = SeasonalBaseline::new(config);
        assert_eq!(baseline.expectation(3), None);
        for _ in 0..29 {
            baseline.learn(3, 50.0);
        }
        assert_eq!(
            baseline.expectation(3).unwrap().source,
            BaselineSource::Global
        );
        baseline.learn(3, 50.0);
        assert_eq!(
            baseline.expectation(3).unwrap().source,
            BaselineSource::HourOfDay(3)
        );
        // Another hour has no bucket yet: global.
        assert_eq!(
            baseline.expectation(4).unwrap().source,
            BaselineSource::Global
        );
    }

    #[test]
    fn the_higher_of_bucket_and_recent_level_is_expected() {
        let mut baseline = SeasonalBaseline::new(BaselineConfig::default());
        // Hour 2 learnt at 100, then hour 3 at 400 for long enough to move the global EWMA.
        for _ in 0..60 {
            baseline.learn(2, 100.0);
        }
        for _ in 0..300 {
            baseline.learn(3, 400.0);
        }
        let at_two = baseline.expectation(2).unwrap();
        assert_eq!(at_two.source, BaselineSource::Global);
        assert!(at_two.mean > 390.0);
        // A quiet global level defers to a busy hour's bucket.
        for _ in 0..600 {
            baseline.learn(4, 10.0);
        }
        let at_three = baseline.expectation(3).unwrap();
        assert_eq!(at_three.source, BaselineSource::HourOfDay(3));
        assert!((at_three.mean - 400.0).abs() < 1e-9);
    }

    #[test]
    fn config_refuses_bad_weights() {
        let bad = BaselineConfig {
            global_alpha: 0.0,
            ..BaselineConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("global_alpha"));
        let bad = BaselineConfig {
            hourly_alpha: f64::NAN,
            ..BaselineConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("hourly_alpha"));
        assert!(BaselineConfig::default().validate().is_ok());
    }
}
