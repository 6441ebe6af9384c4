//! Server-side downsampling (Grafana's rule: never more points than the chart has pixels). Each
//! time bucket keeps its first, minimum, maximum and last point, so spikes survive.
use app::domain::SeriesPoint;

/// Reduces time-ordered `points` in `[from, to]` to at most `max_points` points.
pub fn downsample(
    points: &[SeriesPoint],
    from: i64,
    to: i64,
    max_points: usize,
) -> Vec<SeriesPoint> {
    if points.len() <= max_points || max_points == 0 {
        return if max_points == 0 {
            Vec::new()
        } else {
            points.to_vec()
        };
    }
    // With fewer than 4 points to spend, each bucket keeps only its largest excursion.
    let per_bucket = if max_points >= 4 { 4 } else { 1 };
    let buckets = (max_points / per_bucket).max(1) as i64;
    let span = (to - from).max(0) + 1;
    let width = (span + buckets - 1) / buckets;
    let mut out = Vec::with_capacity(max_points);
    let mut start = 0;
    while start < points.len() {
        let bucket = (points[start].ts - from).clamp(0, span - 1) / width;
        let mut end = start + 1;
        while end < points.len() && (points[end].ts - from).clamp(0, span - 1) / width == bucket {
            end += 1;
        }
        emit_bucket(&points[start..end], per_bucket, &mut out);
        start = end;
    }
    out
}

fn emit_bucket(bucket: &[SeriesPoint], per_bucket: usize, out: &mut Vec<SeriesPoint>) {
    let (mut min, mut max) = (0, 0);
    for (i, p) in bucket.iter().enumerate() {
        if p.value < bucket[min].value {
            min = i;
        }
        if p.value > bucket[max].value {
            max = i;
        }
    }
    if per_bucket == 1 {
        out.push(bucket[max]);
        return;
    }
    let mut picks = [0, min, max, bucket.len() - 1];
    picks.sort_unstable();
    let mut last = usize::MAX;
    for i in picks {
        if i != last {
            out.push(bucket[i]);
            last = i;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: i64) -> Vec<SeriesPoint> {
        (0..n)
            .map(|i| SeriesPoint {
                ts: i * 1000,
                value: (i % 7) as f64,
            })
            .collect()
    }

    #[test]
    fn small_series_are_returned_whole() {
        assert_eq!(downsample(&series(10), 0, 9_000, 100), series(10));
    }

    #[test]
    fn never_more_than_max_points_and_time_ordered() {
        let s = series(86_400);
        for max in [1, 2, 3, 4, 5, 7, 100, 999, 1000, 1001] {
            let d = downsample(&s, 0, 86_399_000, max);
            assert!(d.len() <= max, "{max}: {}", d.len());
            assert!(!d.is_empty());
            assert!(d.windows(2).all(|w| w[0].ts < w[1].ts), "{max}");
        }
    }

    #[test]
    fn spikes_survive() {
        let mut s = series(86_400);
        s[43_210].value = 1e6;
        s[12_345].value = -1e6;
        let d = downsample(&s, 0, 86_399_000, 1000);
        assert!(d.iter().any(|p| p.value == 1e6 && p.ts == 43_210_000));
        assert!(d.iter().any(|p| p.value == -1e6 && p.ts == 12_345_000));
        assert_eq!(
            downsample(&s, 0, 86_399_000, 2)
                .iter()
                .map(|p| p.value)
                .fold(f64::MIN, f64::max),
            1e6
        );
    }

    #[test]
    fn keeps_first_and_last_points() {
        let s = series(10_000);
        let d = downsample(&s, 0, 9_999_000, 400);
        assert_eq!(d.first(), s.first());
        assert_eq!(d.last(), s.last());
    }
}
