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

/// One series of the day in time order, with its whole-day statistics.
#[derive(Debug, Default, Clone)]
pub struct StatSeries {
    /// `(ts, value)` in time order.
    pub points: Vec<Point>,
    /// Statistics of all of `points`.
    pub day: Stats,
}

impl StatSeries {
    /// Computes the day's statistics of `points` (backends call this on
    /// their read threads, so series are summarised in parallel).
    pub fn new(points: Vec<Point>) -> Self {
        let day = stats_of(&points);
        Self { points, day }
    }
}

fn stats_of(p: &[Point]) -> Stats {
    let mut v: Vec<f64> = p.iter().map(|x| x.1).filter(|x| !x.is_nan()).collect();
    Stats::of_unordered(&mut v)
}

/// The per-metric series of one instance's day.
#[derive(Debug, Default, Clone)]
pub struct StatInput {
    /// CPU busy percent.
    pub cpu: StatSeries,
    /// Memory used percent.
    pub ram: StatSeries,
    /// Disk used percent per mount.
    pub disc: BTreeMap<String, StatSeries>,
}

/// Statistics of a day. A gap of more than five minutes between consecutive
/// samples (of any table) starts a new session.
pub fn compute(day: Day, input: &StatInput) -> StatsResponse {
    let disc_stats = |lo: i64, hi: i64| -> BTreeMap<String, Stats> {
        input
            .disc
            .iter()
            .filter_map(|(m, p)| {
                let s = slice(&p.points, lo, hi);
                (!s.is_empty()).then(|| (m.clone(), stats_of(s)))
            })
            .collect()
    };
    let day_disc: BTreeMap<String, Stats> = input
        .disc
        .iter()
        .filter(|(_, s)| s.day.count > 0)
        .map(|(m, s)| (m.clone(), s.day))
        .collect();

    let spans = sessions(input);
    let sessions = if let [(start, end)] = spans[..] {
        // One session holds every sample: its statistics are the day's.
        vec![SessionStats {
            start,
            end,
            cpu: input.cpu.day,
            ram: input.ram.day,
            disc: day_disc.clone(),
        }]
    } else {
        spans
            .into_iter()
            .map(|(start, end)| SessionStats {
                start,
                end,
                cpu: stats_of(slice(&input.cpu.points, start, end)),
                ram: stats_of(slice(&input.ram.points, start, end)),
                disc: disc_stats(start, end),
            })
            .collect()
    };

    StatsResponse {
        day: day.label(),
        tz: TZ.name().to_owned(),
        cpu: input.cpu.day,
        ram: input.ram.day,
        disc: day_disc,
        sessions,
        quota: None,
    }
}

/// Points with `lo <= ts <= hi`.
fn slice(p: &[Point], lo: i64, hi: i64) -> &[Point] {
    let a = p.partition_point(|x| x.0 < lo);
    let b = p.partition_point(|x| x.0 <= hi);
    &p[a..b.max(a)]
}

/// `(first, last)` timestamps of each session.
///
/// Each series is already in time order, so their union is built by merging
/// (linear in the rows) rather than by sorting every timestamp of the day.
fn sessions(input: &StatInput) -> Vec<(i64, i64)> {
    let mut ts: Vec<i64> = Vec::new();
    for series in [&input.cpu, &input.ram]
        .into_iter()
        .chain(input.disc.values())
    {
        ts = merge_unique(&ts, &series.points);
    }
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

/// The sorted union, without repeats, of sorted timestamps `a` and the
/// timestamps of sorted points `b`.
fn merge_unique(a: &[i64], b: &[Point]) -> Vec<i64> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    let push = |t: i64, out: &mut Vec<i64>| {
        if out.last() != Some(&t) {
            out.push(t);
        }
    };
    while i < a.len() || j < b.len() {
        let take_a = j >= b.len() || (i < a.len() && a[i] <= b[j].0);
        if take_a {
            push(a[i], &mut out);
            i += 1;
        } else {
            push(b[j].0, &mut out);
            j += 1;
        }
    }
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
            cpu: StatSeries::new(vec![
                (t0, 10.0),
                (t0 + 1000, 20.0),
                (t0 + 1000 + SESSION_GAP_MS + 1, 90.0),
            ]),
            // Exactly 5 minutes after the last cpu point: same session.
            ram: StatSeries::new(vec![(t0 + 1000 + SESSION_GAP_MS * 2 + 1, 50.0)]),
            disc: BTreeMap::from([("/".to_owned(), StatSeries::new(vec![(t0, 40.0)]))]),
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
    fn merge_is_a_sorted_union() {
        let b: Vec<Point> = [1, 3, 3, 8].iter().map(|&t| (t, 0.0)).collect();
        assert_eq!(merge_unique(&[2, 3, 9], &b), vec![1, 2, 3, 8, 9]);
        assert_eq!(merge_unique(&[], &b), vec![1, 3, 8]);
    }

    #[test]
    fn one_session_reuses_the_day() {
        let day = Day::containing_ms(1_780_000_000_000);
        let t0 = day.start_ms();
        let pts: Vec<Point> = (0..10).map(|i| (t0 + i * 1000, i as f64)).collect();
        let input = StatInput {
            cpu: StatSeries::new(pts.clone()),
            ram: StatSeries::new(pts),
            disc: BTreeMap::new(),
        };
        let s = compute(day, &input);
        assert_eq!(s.sessions.len(), 1);
        assert_eq!(s.sessions[0].cpu, s.cpu);
        assert_eq!(s.cpu.median, Some(4.5));
    }

    #[test]
    fn empty_day() {
        let day = Day::containing_ms(0);
        let s = compute(day, &StatInput::default());
        assert!(s.sessions.is_empty());
        assert_eq!(s.cpu, Stats::default());
    }
}
