//! The data behind the chart, kept sorted by time.
use crate::domain::SeriesPoint;

/// One metric on the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSeries {
    pub metric: String,
    pub points: Vec<SeriesPoint>,
    /// Readings the server had in the window before downsampling.
    pub raw_points: u64,
    pub loading: bool,
    pub error: Option<String>,
    /// The history request this series waits for; an answer to an older one is dropped.
    pub request: u64,
}

impl ChartSeries {
    pub fn pending(metric: String, request: u64) -> Self {
        ChartSeries {
            metric,
            points: Vec::new(),
            raw_points: 0,
            loading: true,
            error: None,
            request,
        }
    }
}

/// Inserts a live point in time order. A timestamp already present (a QoS 1 redelivery) is
/// ignored; returns whether the point was added.
pub fn insert_point(points: &mut Vec<SeriesPoint>, point: SeriesPoint) -> bool {
    match points.last() {
        None => {
            points.push(point);
            true
        }
        Some(last) if point.ts > last.ts => {
            points.push(point);
            true
        }
        Some(_) => match points.binary_search_by_key(&point.ts, |p| p.ts) {
            Ok(_) => false,
            Err(index) => {
                points.insert(index, point);
                true
            }
        },
    }
}

/// The server's history replaces the series, except live points that arrived after the history
/// was cut (`history_to`), which it cannot contain.
pub fn merge_history(
    history: Vec<SeriesPoint>,
    history_to: i64,
    current: &[SeriesPoint],
) -> Vec<SeriesPoint> {
    let mut merged = history;
    merged.sort_by_key(|p| p.ts);
    for point in current.iter().filter(|p| p.ts > history_to) {
        insert_point(&mut merged, *point);
    }
    merged
}

/// Drops points before `from`, keeping the last one before it so that the line still enters
/// from the left edge. Keeps a live page's memory bounded.
pub fn prune_before(points: &mut Vec<SeriesPoint>, from: i64) {
    let first_inside = points.partition_point(|p| p.ts < from);
    if first_inside > 1 {
        points.drain(..first_inside - 1);
    }
}

/// The value range to show: the data's, padded so the line does not touch the frame; a flat or
/// empty series still gets a visible band.
pub fn y_bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (min, max) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !min.is_finite() {
        return (0.0, 1.0);
    }
    let span = max - min;
    if span < f64::EPSILON * max.abs().max(1.0) {
        let pad = (min.abs() * 0.05).max(0.5);
        return (min - pad, max + pad);
    }
    (min - span * 0.08, max + span * 0.08)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ts: i64, value: f64) -> SeriesPoint {
        SeriesPoint { ts, value }
    }

    #[test]
    fn live_points_stay_sorted_and_unique() {
        let mut points = vec![p(10, 1.0), p(30, 3.0)];
        assert!(insert_point(&mut points, p(40, 4.0)));
        assert!(insert_point(&mut points, p(20, 2.0)));
        assert!(!insert_point(&mut points, p(30, 9.0)), "redelivery");
        assert_eq!(
            points.iter().map(|p| p.ts).collect::<Vec<_>>(),
            [10, 20, 30, 40]
        );
    }

    #[test]
    fn history_keeps_only_newer_live_points() {
        let merged = merge_history(vec![p(1, 0.0), p(5, 0.0)], 6, &[p(4, 1.0), p(7, 1.0)]);
        assert_eq!(merged.iter().map(|p| p.ts).collect::<Vec<_>>(), [1, 5, 7]);
    }

    #[test]
    fn pruning_keeps_one_point_before_the_window() {
        let mut points = vec![p(1, 0.0), p(2, 0.0), p(3, 0.0), p(10, 0.0)];
        prune_before(&mut points, 5);
        assert_eq!(points.iter().map(|p| p.ts).collect::<Vec<_>>(), [3, 10]);
    }

    #[test]
    fn bounds_pad_flat_and_empty_series() {
        assert_eq!(y_bounds(std::iter::empty()), (0.0, 1.0));
        let (lo, hi) = y_bounds([20.0, 20.0].into_iter());
        assert!(lo < 20.0 && hi > 20.0);
        let (lo, hi) = y_bounds([0.0, 10.0].into_iter());
        assert!(lo < 0.0 && hi > 10.0);
    }
}
