//! Exact summary statistics: count, mean, median, min, max and p95.
//!
//! Definitions, used everywhere in Vitals (server, desktop, q side):
//! - **median**: the middle value of the sorted samples; for an even count, the
//!   mean of the two middle values (as kdb+'s `med` does).
//! - **p95**: the *nearest-rank* 95th percentile: the value at 1-based rank
//!   `ceil(0.95 * n)` of the sorted samples. It is always one of the samples,
//!   is simple to compute identically in SQL and q, and needs no interpolation.
//!
//! Values are expected to be finite (validation rejects NaN and infinities);
//! any NaN that still arrives is skipped rather than poisoning the result.
//!
//! [`RollingStats`] keeps a fixed-size window for the desktop: each new sample
//! costs a binary search and one insert/remove in a sorted vector, never a
//! re-sort of the window.

use std::collections::VecDeque;

use crate::wire::Stats;

/// Summary of a non-empty set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub count: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median (see the module docs).
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Nearest-rank 95th percentile.
    pub p95: f64,
}

impl Summary {
    /// Summary of `values` in any order; `None` when there is no finite value.
    pub fn of(values: &[f64]) -> Option<Summary> {
        let mut v: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        Summary::of_unordered(&mut v)
    }

    /// Summary of values in any order (no NaN), reordering them in place.
    ///
    /// Uses selection (`select_nth_unstable`, linear on average) for the
    /// median and p95 instead of a full sort: the same exact values as sorting,
    /// at a fraction of the cost for a day of samples.
    pub fn of_unordered(v: &mut [f64]) -> Option<Summary> {
        let n = v.len();
        if n == 0 {
            return None;
        }
        let total = sum(v);
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for &x in v.iter() {
            min = min.min(x);
            max = max.max(x);
        }
        let p95_at = nearest_rank(n, 95.0) - 1;
        let p95 = *v.select_nth_unstable_by(p95_at, f64::total_cmp).1;
        let mid = n / 2;
        let (lower, upper, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
        let upper = *upper;
        let median = if n % 2 == 1 {
            upper
        } else {
            // The largest of the lower half is the other middle value.
            let lower_max = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            lower_max / 2.0 + upper / 2.0
        };
        Some(Summary {
            count: n,
            mean: total / n as f64,
            median,
            min,
            max,
            p95,
        })
    }

    /// Summary of already sorted values (ascending, no NaN).
    pub fn of_sorted(sorted: &[f64]) -> Option<Summary> {
        let sum = sum(sorted);
        Summary::of_sorted_with_sum(sorted, sum)
    }

    fn of_sorted_with_sum(sorted: &[f64], sum: f64) -> Option<Summary> {
        let (&min, &max) = (sorted.first()?, sorted.last()?);
        Some(Summary {
            count: sorted.len(),
            mean: sum / sorted.len() as f64,
            median: median_sorted(sorted)?,
            min,
            max,
            p95: percentile_sorted(sorted, 95.0)?,
        })
    }
}

impl From<Option<Summary>> for Stats {
    fn from(s: Option<Summary>) -> Stats {
        match s {
            None => Stats::default(),
            Some(s) => Stats {
                count: s.count as u64,
                avg: Some(s.mean),
                median: Some(s.median),
                min: Some(s.min),
                max: Some(s.max),
                p95: Some(s.p95),
            },
        }
    }
}

impl Stats {
    /// Wire statistics of `values` in any order.
    pub fn of(values: &[f64]) -> Stats {
        Summary::of(values).into()
    }

    /// Wire statistics of `values` (no NaN), reordering them in place.
    pub fn of_unordered(values: &mut [f64]) -> Stats {
        Summary::of_unordered(values).into()
    }
}

/// Median of sorted values; `None` when empty.
pub fn median_sorted(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    Some(if n % 2 == 1 {
        sorted[mid]
    } else {
        // Halve first so two huge values cannot overflow to infinity.
        sorted[mid - 1] / 2.0 + sorted[mid] / 2.0
    })
}

/// Nearest-rank percentile `p` (0 < p ≤ 100) of sorted values: the value at
/// 1-based rank `ceil(p/100 · n)`; `None` when empty.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = nearest_rank(n, p);
    Some(sorted[rank - 1])
}

/// The 1-based nearest rank for percentile `p` of `n` samples, in `1..=n`.
///
/// Computed in integers for whole-number `p` so that `0.95 * 20` does not
/// become `19.000000000000004` and round up to the wrong rank.
pub fn nearest_rank(n: usize, p: f64) -> usize {
    let rank = if p.fract() == 0.0 && (0.0..=100.0).contains(&p) {
        let p = p as usize;
        (n * p).div_ceil(100)
    } else {
        (p / 100.0 * n as f64).ceil() as usize
    };
    rank.clamp(1, n)
}

/// Compensated (Neumaier) sum, so means of long windows stay exact to the last
/// few bits whatever the order of the values.
pub fn sum(values: &[f64]) -> f64 {
    let mut s = 0.0f64;
    let mut c = 0.0f64;
    for &v in values {
        let t = s + v;
        if s.abs() >= v.abs() {
            c += (s - t) + v;
        } else {
            c += (v - t) + s;
        }
        s = t;
    }
    s + c
}

/// Statistics over the last `capacity` samples, updated per sample without
/// re-sorting the window.
#[derive(Debug, Clone)]
pub struct RollingStats {
    capacity: usize,
    /// Samples in arrival order (oldest first).
    order: VecDeque<f64>,
    /// The same samples, ascending.
    sorted: Vec<f64>,
    /// Running sum of `order`; re-computed exactly every `capacity` pushes so
    /// float error from adding and subtracting cannot build up.
    running_sum: f64,
    pushes_since_resum: usize,
}

impl RollingStats {
    /// An empty window holding at most `capacity` samples (at least 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            capacity,
            order: VecDeque::with_capacity(capacity.min(1 << 16)),
            sorted: Vec::with_capacity(capacity.min(1 << 16)),
            running_sum: 0.0,
            pushes_since_resum: 0,
        }
    }

    /// The window size.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Samples currently in the window.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Adds a sample, evicting the oldest when full. NaN is ignored.
    pub fn push(&mut self, value: f64) {
        if value.is_nan() {
            return;
        }
        if self.order.len() == self.capacity {
            self.evict_oldest();
        }
        self.order.push_back(value);
        let at = self.sorted.partition_point(|x| x.total_cmp(&value).is_lt());
        self.sorted.insert(at, value);
        self.running_sum += value;
        self.pushes_since_resum += 1;
        if self.pushes_since_resum >= self.capacity {
            self.resum();
        }
    }

    /// Changes the window size, dropping the oldest samples if it shrinks.
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        while self.order.len() > self.capacity {
            self.evict_oldest();
        }
        self.resum();
    }

    /// Empties the window.
    pub fn clear(&mut self) {
        self.order.clear();
        self.sorted.clear();
        self.resum();
    }

    /// Summary of the window; `None` when empty.
    pub fn summary(&self) -> Option<Summary> {
        Summary::of_sorted_with_sum(&self.sorted, self.running_sum)
    }

    fn evict_oldest(&mut self) {
        let Some(old) = self.order.pop_front() else {
            return;
        };
        // `old` is in `sorted` (same values), so the search finds an equal slot.
        let at = self.sorted.partition_point(|x| x.total_cmp(&old).is_lt());
        if at < self.sorted.len() {
            self.sorted.remove(at);
        }
        self.running_sum -= old;
    }

    fn resum(&mut self) {
        let (a, b) = self.order.as_slices();
        self.running_sum = sum(a) + sum(b);
        self.pushes_since_resum = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The naive reference: sort a copy, index by the definitions above.
    fn reference(values: &[f64]) -> Option<(usize, f64, f64, f64, f64, f64)> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        // Smallest value such that at least 95% of samples are <= it.
        let p95 = *v
            .iter()
            .find(|&&x| {
                let at_or_below = v.iter().filter(|&&y| y <= x).count();
                at_or_below * 100 >= 95 * n
            })
            .unwrap();
        Some((n, mean, median, v[0], v[n - 1], p95))
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
    }

    fn check(s: Option<Summary>, values: &[f64]) {
        match (s, reference(values)) {
            (None, None) => {}
            (Some(s), Some((n, mean, median, min, max, p95))) => {
                assert_eq!(s.count, n);
                assert!(close(s.mean, mean), "mean {} vs {}", s.mean, mean);
                assert!(close(s.median, median), "median {} vs {}", s.median, median);
                assert_eq!(s.min, min);
                assert_eq!(s.max, max);
                assert_eq!(s.p95, p95, "p95 of {values:?}");
            }
            (a, b) => panic!("summary {a:?} vs reference {b:?}"),
        }
    }

    #[test]
    fn table() {
        // (values, count, mean, median, min, max, p95)
        type Case<'a> = (&'a [f64], usize, f64, f64, f64, f64, f64);
        let cases: &[Case<'_>] = &[
            (&[5.0], 1, 5.0, 5.0, 5.0, 5.0, 5.0),
            (&[3.0, 1.0, 2.0], 3, 2.0, 2.0, 1.0, 3.0, 3.0),
            (&[4.0, 1.0, 3.0, 2.0], 4, 2.5, 2.5, 1.0, 4.0, 4.0),
            (&[0.0, 100.0], 2, 50.0, 50.0, 0.0, 100.0, 100.0),
        ];
        for &(v, n, mean, median, min, max, p95) in cases {
            let s = Summary::of(v).unwrap();
            assert_eq!(
                (s.count, s.mean, s.median, s.min, s.max, s.p95),
                (n, mean, median, min, max, p95),
                "values {v:?}"
            );
        }
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn p95_nearest_rank_on_round_counts() {
        // 1..=20: rank ceil(0.95*20) = 19 → 19.0 (not 20 from float error).
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(Summary::of(&v).unwrap().p95, 19.0);
        // 1..=100: rank 95.
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(Summary::of(&v).unwrap().p95, 95.0);
        // 1..=101: rank ceil(95.95) = 96.
        let v: Vec<f64> = (1..=101).map(f64::from).collect();
        assert_eq!(Summary::of(&v).unwrap().p95, 96.0);
        assert_eq!(nearest_rank(1, 95.0), 1);
        assert_eq!(nearest_rank(10, 0.0), 1);
        assert_eq!(nearest_rank(10, 100.0), 10);
        assert_eq!(nearest_rank(10, 12.5), 2);
    }

    #[test]
    fn nan_is_skipped() {
        let s = Summary::of(&[1.0, f64::NAN, 3.0]).unwrap();
        assert_eq!(s.count, 2);
        assert_eq!(s.mean, 2.0);
        assert_eq!(Summary::of(&[f64::NAN]), None);
    }

    #[test]
    fn median_of_huge_values_does_not_overflow() {
        let s = Summary::of(&[f64::MAX, f64::MAX]).unwrap();
        assert_eq!(s.median, f64::MAX);
    }

    #[test]
    fn wire_stats_from_empty_is_all_null() {
        let s = Stats::of(&[]);
        assert_eq!(s.count, 0);
        assert_eq!(
            (s.avg, s.median, s.min, s.max, s.p95),
            (None, None, None, None, None)
        );
        let s = Stats::of(&[2.0, 4.0]);
        assert_eq!((s.count, s.avg, s.median), (2, Some(3.0), Some(3.0)));
    }

    #[test]
    fn rolling_window_evicts_oldest() {
        let mut r = RollingStats::new(3);
        assert!(r.summary().is_none());
        for v in [10.0, 1.0, 5.0, 7.0] {
            r.push(v);
        }
        // Window is now [1, 5, 7].
        let s = r.summary().unwrap();
        assert_eq!((s.count, s.min, s.max, s.median), (3, 1.0, 7.0, 5.0));
        assert!(close(s.mean, 13.0 / 3.0));
        r.set_capacity(2);
        let s = r.summary().unwrap();
        assert_eq!((s.count, s.min, s.max), (2, 5.0, 7.0));
        r.push(f64::NAN);
        assert_eq!(r.len(), 2);
        r.clear();
        assert!(r.is_empty());
    }

    #[test]
    fn compensated_sum_is_exact_where_naive_is_not() {
        let v = [1e16, 1.0, -1e16];
        assert_eq!(sum(&v), 1.0);
    }

    proptest! {
        #[test]
        fn summary_matches_naive_reference(values in prop::collection::vec(-1e6f64..1e6, 0..300)) {
            check(Summary::of(&values), &values);
        }

        #[test]
        fn sorted_and_unordered_paths_agree(values in prop::collection::vec(-1e6f64..1e6, 1..300)) {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let a = Summary::of_sorted(&sorted).unwrap();
            let mut v = values.clone();
            let b = Summary::of_unordered(&mut v).unwrap();
            prop_assert_eq!((a.count, a.median, a.min, a.max, a.p95), (b.count, b.median, b.min, b.max, b.p95));
            prop_assert!(close(a.mean, b.mean));
        }

        #[test]
        fn summary_on_percent_values_with_ties(values in prop::collection::vec(0u8..=100, 1..200)) {
            let v: Vec<f64> = values.into_iter().map(f64::from).collect();
            check(Summary::of(&v), &v);
        }

        #[test]
        fn rolling_matches_reference_on_last_window(
            values in prop::collection::vec(0.0f64..100.0, 1..400),
            cap in 1usize..64,
        ) {
            let mut r = RollingStats::new(cap);
            for (i, &v) in values.iter().enumerate() {
                r.push(v);
                let start = (i + 1).saturating_sub(cap);
                check(r.summary(), &values[start..=i]);
            }
        }
    }
}
