//! Hourly aggregates of one metric of one box: first, last, minimum and maximum, each with the
//! time of the reading that holds it. A long chart reads these instead of the raw readings; the
//! points they give are real readings, so the downsampler's guarantee (each bucket keeps its
//! minimum and maximum) still holds at hour resolution. Merging is idempotent (no count is kept):
//! the roll-up and a late reading may merge the same reading twice and nothing changes.
use app::domain::SeriesPoint;

pub const HOUR_MS: i64 = 3_600_000;

pub fn hour_of(ts: i64) -> i64 {
    ts - ts.rem_euclid(HOUR_MS)
}

/// A point of a series: (box time ms, value).
pub type Point = (i64, f64);

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourAgg {
    pub first: Point,
    pub last: Point,
    pub min: Point,
    pub max: Point,
}

impl HourAgg {
    pub fn of(ts: i64, value: f64) -> Self {
        let p = (ts, value);
        Self {
            first: p,
            last: p,
            min: p,
            max: p,
        }
    }

    /// Merges `other` in; merging the same readings again changes nothing.
    pub fn merge(&mut self, other: &HourAgg) {
        if other.first.0 < self.first.0 {
            self.first = other.first;
        }
        if other.last.0 > self.last.0 {
            self.last = other.last;
        }
        if other.min.1 < self.min.1 || (other.min.1 == self.min.1 && other.min.0 < self.min.0) {
            self.min = other.min;
        }
        if other.max.1 > self.max.1 || (other.max.1 == self.max.1 && other.max.0 < self.max.0) {
            self.max = other.max;
        }
    }

    /// The hour's distinct points in time order, those in `[from, to]` only.
    pub fn points(&self, from: i64, to: i64, out: &mut Vec<SeriesPoint>) {
        let mut picks = [self.first, self.min, self.max, self.last];
        picks.sort_by_key(|p| p.0);
        let mut last_ts = None;
        for (ts, value) in picks {
            if Some(ts) != last_ts && (from..=to).contains(&ts) {
                out.push(SeriesPoint { ts, value });
            }
            last_ts = Some(ts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_extremes_and_is_idempotent() {
        let mut a = HourAgg::of(10, 5.0);
        a.merge(&HourAgg::of(20, 9.0));
        a.merge(&HourAgg::of(5, 1.0));
        let once = a;
        a.merge(&HourAgg::of(20, 9.0));
        a.merge(&once);
        assert_eq!(a, once);
        assert_eq!(
            (a.first, a.last, a.min, a.max),
            ((5, 1.0), (20, 9.0), (5, 1.0), (20, 9.0))
        );
        let mut pts = Vec::new();
        a.points(0, 100, &mut pts);
        assert_eq!(pts.len(), 2);
    }

    #[test]
    fn hours_start_on_the_hour_before_the_epoch_too() {
        assert_eq!(hour_of(HOUR_MS + 1), HOUR_MS);
        assert_eq!(hour_of(-1), -HOUR_MS);
    }
}
