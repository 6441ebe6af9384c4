//! Realistic box signals: a temperature that follows its setpoint with lag and noise, humidity
//! wandering within bounds, a battery that drains then charges, a door that opens now and then.
use app::domain::MetricValue;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

pub struct BoxSignals {
    rng: StdRng,
    pub setpoint_c: f64,
    temp_c: f64,
    humidity_pct: f64,
    battery_pct: f64,
    charging: bool,
    door_open_for: u32,
}

impl BoxSignals {
    pub fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let setpoint_c = 4.0 + rng.gen_range(0.0..3.0);
        Self {
            temp_c: setpoint_c + rng.gen_range(-1.0..1.0),
            humidity_pct: rng.gen_range(40.0..60.0),
            battery_pct: rng.gen_range(50.0..100.0),
            charging: false,
            door_open_for: 0,
            setpoint_c,
            rng,
        }
    }

    /// The next reading, `dt_s` seconds after the previous one.
    pub fn next(&mut self, dt_s: f64) -> BTreeMap<String, MetricValue> {
        let rng = &mut self.rng;
        if self.door_open_for > 0 {
            self.door_open_for -= 1;
        } else if rng.gen_bool(0.02) {
            self.door_open_for = rng.gen_range(1..6);
        }
        let door_open = self.door_open_for > 0;
        // First-order lag towards the setpoint (time constant 2 min); an open door warms the box.
        let target = if door_open {
            self.setpoint_c + 8.0
        } else {
            self.setpoint_c
        };
        let alpha = 1.0 - (-dt_s / 120.0).exp();
        self.temp_c += (target - self.temp_c) * alpha + rng.gen_range(-0.05..0.05);
        self.humidity_pct = (self.humidity_pct + rng.gen_range(-0.5..0.5)).clamp(20.0, 90.0);
        if self.charging {
            self.battery_pct += 0.5 * dt_s / 10.0;
            self.charging = self.battery_pct < 95.0;
        } else {
            self.battery_pct -= 0.02 * dt_s / 10.0 + if door_open { 0.01 } else { 0.0 };
            self.charging = self.battery_pct < 20.0;
        }
        self.battery_pct = self.battery_pct.clamp(0.0, 100.0);
        BTreeMap::from([
            ("temp_c".into(), MetricValue::Number(round2(self.temp_c))),
            (
                "humidity_pct".into(),
                MetricValue::Number(round2(self.humidity_pct)),
            ),
            (
                "battery_pct".into(),
                MetricValue::Number(round2(self.battery_pct)),
            ),
            ("door_open".into(), MetricValue::Bool(door_open)),
        ])
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_settles_near_the_setpoint_and_values_stay_in_range() {
        let mut s = BoxSignals::new(7);
        let mut temps = Vec::new();
        for _ in 0..2000 {
            let m = s.next(1.0);
            let MetricValue::Number(t) = m["temp_c"] else {
                panic!()
            };
            let MetricValue::Number(b) = m["battery_pct"] else {
                panic!()
            };
            assert!((0.0..=100.0).contains(&b));
            temps.push(t);
        }
        let mean = temps[1000..].iter().sum::<f64>() / 1000.0;
        assert!(
            (mean - s.setpoint_c).abs() < 3.0,
            "mean {mean} setpoint {}",
            s.setpoint_c
        );
    }
}
