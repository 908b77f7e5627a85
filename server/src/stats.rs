//! Today's statistics, overall and per upload session, from raw points.
//!
//! Backends that cannot compute statistics natively load the points and call
//! [`compute`]; the definitions (nearest-rank p95 and so on) are those of
//! `vitals_shared::stats`, so every backend answers alike.

use std::collections::BTreeMap;

use vitals_shared::day::{Day, TZ};
use vitals_shared::downsample::Point;
use vitals_shared::limits::SESSION_GAP_MS;
use vitals_shared::wire::{SessionStats, Stats, StatsResponse};

/// The per-metric points of one instance's day, each in time order.
#[derive(Debug, Default, Clone)]
pub struct StatInput {
    /// CPU busy percent.
    pub cpu: Vec<Point>,
    /// Memory used percent.
    pub ram: Vec<Point>,
    /// Disk used percent per mount.
    pub disc: BTreeMap<String, Vec<Point>>,
}

/// Statistics of a day. A gap of more than five minutes between consecutive
/// samples (of any table) starts a new session.
pub fn compute(day: Day, input: &StatInput) -> StatsResponse {
    let values = |p: &[Point]| -> Vec<f64> { p.iter().map(|x| x.1).collect() };
    let disc_stats = |lo: i64, hi: i64| -> BTreeMap<String, Stats> {
        input
            .disc
            .iter()
            .filter_map(|(m, p)| {
                let s = slice(p, lo, hi);
                (!s.is_empty()).then(|| (m.clone(), Stats::of(&values(s))))
            })
            .collect()
    };

    let sessions = sessions(input)
        .into_iter()
        .map(|(start, end)| SessionStats {
            start,
            end,
            cpu: Stats::of(&values(slice(&input.cpu, start, end))),
            ram: Stats::of(&values(slice(&input.ram, start, end))),
            disc: disc_stats(start, end),
        })
        .collect();

    StatsResponse {
        day: day.label(),
        tz: TZ.name().to_owned(),
        cpu: Stats::of(&values(&input.cpu)),
        ram: Stats::of(&values(&input.ram)),
        disc: disc_stats(i64::MIN, i64::MAX),
        sessions,
    }
}

/// Points with `lo <= ts <= hi`.
fn slice(p: &[Point], lo: i64, hi: i64) -> &[Point] {
    let a = p.partition_point(|x| x.0 < lo);
    let b = p.partition_point(|x| x.0 <= hi);
    &p[a..b.max(a)]
}

/// `(first, last)` timestamps of each session.
fn sessions(input: &StatInput) -> Vec<(i64, i64)> {
    let mut ts: Vec<i64> = input
        .cpu
        .iter()
        .chain(&input.ram)
        .chain(input.disc.values().flatten())
        .map(|p| p.0)
        .collect();
    ts.sort_unstable();
    ts.dedup();
    let mut out = Vec::new();
    let mut iter = ts.into_iter();
    let Some(first) = iter.next() else {
        return out;
    };
    let (mut start, mut last) = (first, first);
    for t in iter {
        if t - last > SESSION_GAP_MS {
            out.push((start, last));
            start = t;
        }
        last = t;
    }
    out.push((start, last));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_split_on_gaps_over_five_minutes() {
        let day = Day::containing_ms(1_780_000_000_000);
        let t0 = day.start_ms();
        let input = StatInput {
            cpu: vec![
                (t0, 10.0),
                (t0 + 1000, 20.0),
                (t0 + 1000 + SESSION_GAP_MS + 1, 90.0),
            ],
            // Exactly 5 minutes after the last cpu point: same session.
            ram: vec![(t0 + 1000 + SESSION_GAP_MS * 2 + 1, 50.0)],
            disc: BTreeMap::from([("/".to_owned(), vec![(t0, 40.0)])]),
        };
        let s = compute(day, &input);
        assert_eq!(s.tz, "Europe/Warsaw");
        assert_eq!(s.cpu.count, 3);
        assert_eq!(s.sessions.len(), 2);
        assert_eq!((s.sessions[0].start, s.sessions[0].end), (t0, t0 + 1000));
        assert_eq!(s.sessions[0].cpu.avg, Some(15.0));
        assert_eq!(s.sessions[0].disc["/"].count, 1);
        assert_eq!(s.sessions[1].cpu.max, Some(90.0));
        assert_eq!(s.sessions[1].ram.count, 1);
        assert!(s.sessions[1].disc.is_empty());
    }

    #[test]
    fn empty_day() {
        let day = Day::containing_ms(0);
        let s = compute(day, &StatInput::default());
        assert!(s.sessions.is_empty());
        assert_eq!(s.cpu, Stats::default());
    }
}
