//! Min/max downsampling of a time series.
//!
//! The time range of the input is cut into `max_points / 2` equal buckets; each
//! non-empty bucket keeps its smallest and its largest point, in time order (one
//! point if they are the same sample). A one-second spike therefore survives in
//! a 24-hour chart, which averaging or picking every n-th point would lose.
//! Server (`/api/v1/me/series`) and desktop charts both call [`min_max`].

use crate::wire::TimestampMs;

/// One `(timestamp, value)` point.
pub type Point = (TimestampMs, f64);

/// Reduces `points` to at most `max_points`, keeping each bucket's min and max.
///
/// - Input is expected in time order; unordered input is sorted first.
/// - Output is a subsequence of the (sorted) input, so every point is real.
/// - With `max_points >= 2` the global minimum and maximum are always kept.
/// - `max_points == 1` keeps only the point with the largest value (the spike
///   is what a viewer looks for); `0` gives an empty series.
pub fn min_max(points: &[Point], max_points: usize) -> Vec<Point> {
    if points.len() <= max_points {
        return points.to_vec();
    }
    if !points.is_sorted_by_key(|p| p.0) {
        let mut sorted = points.to_vec();
        sorted.sort_by_key(|p| p.0);
        return min_max_sorted(&sorted, max_points);
    }
    min_max_sorted(points, max_points)
}

fn min_max_sorted(points: &[Point], max_points: usize) -> Vec<Point> {
    match max_points {
        0 => return Vec::new(),
        1 => {
            let best = points
                .iter()
                .copied()
                .reduce(|a, b| if b.1 > a.1 { b } else { a });
            return best.into_iter().collect();
        }
        _ => {}
    }
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    let buckets = (max_points / 2) as i128;
    let t0 = first.0 as i128;
    let span = last.0 as i128 - t0 + 1;
    let bucket_of = |ts: TimestampMs| (ts as i128 - t0) * buckets / span;

    let mut out = Vec::with_capacity(max_points);
    let mut current = bucket_of(first.0);
    let (mut lo, mut hi) = (0usize, 0usize);
    for (i, p) in points.iter().enumerate() {
        let b = bucket_of(p.0);
        if b != current {
            push_bucket(&mut out, points, lo, hi);
            current = b;
            lo = i;
            hi = i;
            continue;
        }
        if p.1 < points[lo].1 {
            lo = i;
        }
        if p.1 > points[hi].1 {
            hi = i;
        }
    }
    push_bucket(&mut out, points, lo, hi);
    out
}

fn push_bucket(out: &mut Vec<Point>, points: &[Point], lo: usize, hi: usize) {
    let (a, b) = (lo.min(hi), lo.max(hi));
    out.push(points[a]);
    if b != a {
        out.push(points[b]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_series_is_unchanged() {
        let p = vec![(1, 1.0), (2, 2.0)];
        assert_eq!(min_max(&p, 2), p);
        assert_eq!(min_max(&p, 10), p);
        assert!(min_max(&[], 0).is_empty());
    }

    #[test]
    fn one_second_spike_survives_a_day() {
        // A day at 1 Hz, flat at 10 %, one spike to 99 % and one dip to 0 %.
        let mut p: Vec<Point> = (0..86_400).map(|s| (s * 1000, 10.0)).collect();
        p[43_210].1 = 99.0;
        p[7].1 = 0.0;
        let d = min_max(&p, 1000);
        assert!(d.len() <= 1000);
        assert!(d.contains(&(43_210_000, 99.0)));
        assert!(d.contains(&(7_000, 0.0)));
    }

    #[test]
    fn tiny_budgets() {
        let p = vec![(1, 5.0), (2, 9.0), (3, 1.0)];
        assert_eq!(min_max(&p, 0), vec![]);
        assert_eq!(min_max(&p, 1), vec![(2, 9.0)]);
        assert_eq!(min_max(&p, 2), vec![(2, 9.0), (3, 1.0)]);
    }

    #[test]
    fn unsorted_input_is_sorted_first() {
        let p = vec![(3, 1.0), (1, 5.0), (2, 9.0), (4, 4.0)];
        let d = min_max(&p, 2);
        assert_eq!(d, vec![(2, 9.0), (3, 1.0)]);
    }

    #[test]
    fn same_timestamp_everywhere() {
        let p: Vec<Point> = (0..10).map(|i| (5, f64::from(i))).collect();
        assert_eq!(min_max(&p, 4), vec![(5, 0.0), (5, 9.0)]);
    }

    proptest! {
        #[test]
        fn never_more_than_n_and_keeps_extremes(
            mut ts in prop::collection::vec(-1_000_000i64..1_000_000, 1..500),
            values in prop::collection::vec(-1e3f64..1e3, 500),
            n in 2usize..120,
        ) {
            ts.sort_unstable();
            let p: Vec<Point> = ts.iter().zip(&values).map(|(&t, &v)| (t, v)).collect();
            let d = min_max(&p, n);
            prop_assert!(d.len() <= n);
            let min = p.iter().map(|x| x.1).fold(f64::INFINITY, f64::min);
            let max = p.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(d.iter().any(|x| x.1 == min));
            prop_assert!(d.iter().any(|x| x.1 == max));
            // Output is in time order and made of input points.
            prop_assert!(d.is_sorted_by_key(|x| x.0));
            for x in &d {
                prop_assert!(p.contains(x));
            }
        }

        #[test]
        fn n_of_one_keeps_the_max(values in prop::collection::vec(0f64..100.0, 2..50)) {
            let p: Vec<Point> = values.iter().enumerate().map(|(i, &v)| (i as i64, v)).collect();
            let d = min_max(&p, 1);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert_eq!(d.len(), 1);
            prop_assert_eq!(d[0].1, max);
        }
    }
}
