//! Latency percentiles (nearest rank, as everywhere in Vitals).

use std::time::Duration;

use vitals_shared::stats::percentile_sorted;

/// p50, p99, max of durations, in milliseconds.
pub fn summary(mut d: Vec<Duration>) -> (f64, f64, f64) {
    d.sort_unstable();
    let ms: Vec<f64> = d.iter().map(|x| x.as_secs_f64() * 1000.0).collect();
    (
        percentile_sorted(&ms, 50.0).unwrap_or(f64::NAN),
        percentile_sorted(&ms, 99.0).unwrap_or(f64::NAN),
        ms.last().copied().unwrap_or(f64::NAN),
    )
}
