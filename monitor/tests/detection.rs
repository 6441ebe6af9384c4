//! Spike detection on synthetic per-minute series with deterministic noise: what must be flagged
//! (a ×5 jump, a cost spike) and what must never be (steady noise, +20%/day growth, a day/night
//! cycle once learnt).

use std::f64::consts::PI;

use chrono::{DateTime, Duration, TimeZone, Utc};
use monitor::detect::{DetectorConfig, SpikeDetector};
use monitor::{cost, MessageRoute, PriceTable, Usage};

const DAY: i64 = 24 * 60;

/// A tiny linear congruential generator (Knuth's MMIX constants): reproducible noise without a
/// random-number crate.
struct Lcg(u64);

impl Lcg {
    fn next_unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal noise with mean 1 and standard deviation `sd` (Irwin–Hall, 12 uniforms).
    fn noise(&mut self, sd: f64) -> f64 {
        let sum: f64 = (0..12).map(|_| self.next_unit()).sum();
        (1.0 + sd * (sum - 6.0)).max(0.0)
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
}

/// Feeds `minutes` samples and returns the minutes flagged.
fn flagged(config: DetectorConfig, minutes: i64, mut value: impl FnMut(i64) -> f64) -> Vec<i64> {
    let mut detector = SpikeDetector::new(config).unwrap();
    (0..minutes)
        .filter(|&m| {
            detector
                .observe(t0() + Duration::minutes(m), value(m))
                .unwrap()
                .spike
        })
        .collect()
}

/// A day/night pattern: 25% of the day level at night, full level by day, with two-hour cosine
/// ramps at 06:00–08:00 and 18:00–20:00.
fn day_night(minute: i64) -> f64 {
    let h = (minute % DAY) as f64 / 60.0;
    let ramp = |x: f64| 0.5 - 0.5 * (PI * x).cos(); // 0 → 1 over x in [0, 1]
    let level = if h < 6.0 {
        0.0
    } else if h < 8.0 {
        ramp((h - 6.0) / 2.0)
    } else if h < 18.0 {
        1.0
    } else if h < 20.0 {
        1.0 - ramp((h - 18.0) / 2.0)
    } else {
        0.0
    };
    0.25 + 0.75 * level
}

#[test]
fn a_fivefold_message_rate_is_flagged_within_five_minutes() {
    let spike_at = 3 * DAY + 14 * 60 + 17;
    let mut noise = Lcg(7);
    let hits = flagged(DetectorConfig::message_rate(), spike_at + 120, |m| {
        let base = 1_000.0 * noise.noise(0.1);
        if m >= spike_at {
            base * 5.0
        } else {
            base
        }
    });
    assert!(!hits.is_empty(), "the spike was never flagged");
    assert!(hits[0] >= spike_at, "false alarm at minute {}", hits[0]);
    assert!(
        hits[0] < spike_at + 5,
        "flagged {} minutes late",
        hits[0] - spike_at
    );
    // Still flagged an hour later: the spike was not absorbed into the baseline.
    assert!(hits.contains(&(spike_at + 60)));
}

#[test]
fn a_fivefold_spike_at_night_is_flagged_on_a_daily_cycle() {
    // 02:00 on day 4: the night level is a quarter of the day's, the spike is ×5 of the night.
    let spike_at = 4 * DAY + 2 * 60;
    let mut noise = Lcg(11);
    let hits = flagged(DetectorConfig::message_rate(), spike_at + 30, |m| {
        let base = 2_000.0 * day_night(m) * noise.noise(0.08);
        if m >= spike_at {
            base * 5.0
        } else {
            base
        }
    });
    assert!(!hits.is_empty());
    assert!(hits[0] >= spike_at && hits[0] < spike_at + 5, "{hits:?}");
}

#[test]
fn a_steady_noisy_week_never_alerts() {
    let mut noise = Lcg(42);
    let hits = flagged(DetectorConfig::message_rate(), 7 * DAY, |_| {
        600.0 * noise.noise(0.15)
    });
    assert!(hits.is_empty(), "flagged minutes {hits:?}");
}

#[test]
fn a_week_of_twenty_percent_daily_growth_never_alerts() {
    let mut noise = Lcg(3);
    let hits = flagged(DetectorConfig::message_rate(), 7 * DAY, |m| {
        let growth = 1.2f64.powf(m as f64 / DAY as f64);
        500.0 * growth * noise.noise(0.1)
    });
    assert!(hits.is_empty(), "flagged minutes {hits:?}");
}

#[test]
fn a_daily_cycle_never_alerts_after_the_first_day() {
    let mut noise = Lcg(5);
    let hits = flagged(DetectorConfig::message_rate(), 7 * DAY, |m| {
        2_000.0 * day_night(m) * noise.noise(0.1)
    });
    let after_first_day: Vec<i64> = hits.into_iter().filter(|&m| m >= DAY).collect();
    assert!(
        after_first_day.is_empty(),
        "flagged minutes {after_first_day:?}"
    );
}

#[test]
fn a_daily_cycle_with_growth_never_alerts_after_the_first_day() {
    let mut noise = Lcg(9);
    let hits = flagged(DetectorConfig::message_rate(), 7 * DAY, |m| {
        let growth = 1.2f64.powf(m as f64 / DAY as f64);
        2_000.0 * growth * day_night(m) * noise.noise(0.1)
    });
    assert!(hits.iter().all(|&m| m < DAY), "flagged minutes {hits:?}");
}

/// The modelled cost of one minute of a fleet: `boxes` connected, `messages` 1 KB readings
/// through the broker, one Lambda and one DynamoDB write each.
fn minute_cost(prices: &PriceTable, boxes: u64, messages: u64) -> f64 {
    let mut usage = Usage::new();
    usage.record_connection(boxes, 1);
    usage.record_messages(messages, 1024, MessageRoute::BROKER_ONE_RULE);
    usage.record_lambda(messages, 128, 10);
    usage.record_dynamodb_writes(messages, 1024);
    cost(&usage, prices).unwrap().total_usd
}

#[test]
fn a_cost_spike_is_flagged_and_normal_cost_is_not() {
    let prices = PriceTable::aws_us_east_1();
    let boxes = 10_000u64;
    let spike_at = 2 * DAY + 9 * 60 + 41;
    let mut noise = Lcg(1234);
    let mut series = |m: i64| {
        let rate = if m >= spike_at { 5.0 } else { 1.0 };
        let messages = (boxes as f64 * rate * noise.noise(0.05)).round() as u64;
        minute_cost(&prices, boxes, messages)
    };
    let hits = flagged(
        DetectorConfig::cost_per_minute(),
        spike_at + 60,
        &mut series,
    );
    // About $0.022 a minute normally; ×5 messages is about ×4.9 the cost.
    assert!(!hits.is_empty(), "the cost spike was never flagged");
    assert!(hits[0] >= spike_at, "false alarm at minute {}", hits[0]);
    assert!(
        hits[0] < spike_at + 5,
        "flagged {} minutes late",
        hits[0] - spike_at
    );
}

#[test]
fn a_small_fleets_cost_is_under_the_absolute_floor() {
    // 50 boxes at one message a minute cost about $0.0001 a minute: ×5 is still far below the
    // $0.01 / minute floor, so the cost detector stays quiet (the message-rate one is for that).
    let prices = PriceTable::aws_us_east_1();
    let spike_at = DAY;
    let hits = flagged(DetectorConfig::cost_per_minute(), 2 * DAY, |m| {
        let messages = if m >= spike_at { 250 } else { 50 };
        minute_cost(&prices, 50, messages)
    });
    assert!(hits.is_empty(), "{hits:?}");
}
