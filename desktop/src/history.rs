//! Local history: a ring buffer of samples (default one hour at 1 s, up to
//! 24 h) and rolling statistics over the visible window, per metric.
//!
//! The statistics use `vitals_shared::stats::RollingStats`, updated per
//! sample without re-sorting; changing the window rebuilds them once.
//! Chart points come from the shared min/max downsampling, so the desktop and
//! the website show the same spikes.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use vitals_shared::downsample::{Point, min_max};
use vitals_shared::stats::{RollingStats, Summary};

use crate::sampler::Sample;

/// Longest history kept (24 hours).
pub const MAX_SPAN: Duration = Duration::from_secs(24 * 3600);

/// A series the charts and statistics know.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Series {
    /// CPU busy percent, all cores.
    Cpu,
    /// Memory used percent.
    Ram,
    /// Swap used percent.
    Swap,
    /// Disk used percent of a mount.
    DiscUsed(String),
    /// Busy percent of one logical core.
    Core(usize),
    /// Bytes read per second from a mount.
    DiscRead(String),
    /// Bytes written per second to a mount.
    DiscWrite(String),
}

impl Series {
    fn value(&self, s: &Sample) -> Option<f64> {
        match self {
            Series::Cpu => Some(s.cpu.usage_pct),
            Series::Ram => Some(s.ram.used_pct()),
            Series::Swap => Some(vitals_shared::wire::percent(
                s.ram.swap_used_bytes,
                s.ram.swap_total_bytes,
            )),
            Series::DiscUsed(m) => s.disc.iter().find(|d| &d.mount == m).map(|d| d.used_pct()),
            Series::Core(i) => s.cpu.cores_pct.get(*i).copied(),
            Series::DiscRead(m) => s.disc.iter().find(|d| &d.mount == m).map(|d| d.read_bps),
            Series::DiscWrite(m) => s.disc.iter().find(|d| &d.mount == m).map(|d| d.write_bps),
        }
    }
}

/// Samples and window statistics.
#[derive(Debug)]
pub struct History {
    capacity: usize,
    window: usize,
    samples: VecDeque<Sample>,
    stats: BTreeMap<Series, RollingStats>,
}

impl History {
    /// Keeps `span` of samples taken every `interval` (span capped at 24 h),
    /// with statistics over the last `window` samples.
    pub fn new(span: Duration, interval: Duration, window: usize) -> Self {
        let per = interval.as_secs_f64().max(0.001);
        let capacity = ((span.min(MAX_SPAN).as_secs_f64() / per).ceil() as usize).max(1);
        Self {
            capacity,
            window: window.clamp(1, capacity),
            samples: VecDeque::with_capacity(capacity.min(1 << 16)),
            stats: BTreeMap::new(),
        }
    }

    /// Samples held.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether there are none yet.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Most samples held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The newest sample.
    pub fn latest(&self) -> Option<&Sample> {
        self.samples.back()
    }

    /// Adds a sample, dropping the oldest when full, and updates every
    /// window statistic in O(window) without sorting.
    pub fn push(&mut self, s: Sample) {
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        for d in &s.disc {
            let key = Series::DiscUsed(d.mount.clone());
            if !self.stats.contains_key(&key) {
                for k in [
                    key,
                    Series::DiscRead(d.mount.clone()),
                    Series::DiscWrite(d.mount.clone()),
                ] {
                    self.stats.insert(k, RollingStats::new(self.window));
                }
            }
        }
        for i in 0..s.cpu.cores_pct.len() {
            self.stats
                .entry(Series::Core(i))
                .or_insert_with(|| RollingStats::new(self.window));
        }
        for k in [Series::Cpu, Series::Ram, Series::Swap] {
            self.stats
                .entry(k)
                .or_insert_with(|| RollingStats::new(self.window));
        }
        for (series, st) in self.stats.iter_mut() {
            if let Some(v) = series.value(&s) {
                st.push(v);
            }
        }
        self.samples.push_back(s);
    }

    /// Sets the window to the last `n` samples and rebuilds its statistics.
    pub fn set_window(&mut self, n: usize) {
        self.window = n.clamp(1, self.capacity);
        let start = self.samples.len().saturating_sub(self.window);
        for (series, st) in self.stats.iter_mut() {
            *st = RollingStats::new(self.window);
            for s in self.samples.iter().skip(start) {
                if let Some(v) = series.value(s) {
                    st.push(v);
                }
            }
        }
    }

    /// The newest sample's value of `series`.
    pub fn current(&self, series: &Series) -> Option<f64> {
        series.value(self.samples.back()?)
    }

    /// Seconds from the oldest to the newest sample in the window.
    pub fn window_span_secs(&self) -> f64 {
        let start = self.samples.len().saturating_sub(self.window);
        match (self.samples.get(start), self.samples.back()) {
            (Some(a), Some(b)) => (b.cpu.ts - a.cpu.ts) as f64 / 1000.0,
            _ => 0.0,
        }
    }

    /// The window size in samples.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Statistics of `series` over the window.
    pub fn stats(&self, series: &Series) -> Option<Summary> {
        self.stats.get(series)?.summary()
    }

    /// Mounts seen, sorted.
    pub fn mounts(&self) -> Vec<String> {
        self.stats
            .keys()
            .filter_map(|k| match k {
                Series::DiscUsed(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    /// Chart points of `series` over the window, at most `max_points`
    /// (about the plot's pixel width), min and max per bucket kept.
    pub fn points(&self, series: &Series, max_points: usize) -> Vec<Point> {
        let start = self.samples.len().saturating_sub(self.window);
        let raw: Vec<Point> = self
            .samples
            .iter()
            .skip(start)
            .filter_map(|s| Some((s.cpu.ts, series.value(s)?)))
            .collect();
        min_max(&raw, max_points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_shared::wire::{CpuSample, DiscSample, RamSample};

    fn sample(ts: i64, cpu: f64) -> Sample {
        Sample {
            cpu: CpuSample {
                ts,
                usage_pct: cpu,
                cores_pct: vec![cpu],
                load1: None,
            },
            ram: RamSample {
                ts,
                used_bytes: 25,
                total_bytes: 100,
                swap_used_bytes: 1,
                swap_total_bytes: 4,
            },
            disc: vec![DiscSample {
                ts,
                mount: "/".into(),
                used_bytes: 50,
                total_bytes: 100,
                read_bps: 0.0,
                write_bps: 0.0,
            }],
        }
    }

    #[test]
    fn ring_and_window() {
        let mut h = History::new(Duration::from_secs(5), Duration::from_secs(1), 3);
        assert_eq!(h.capacity(), 5);
        for i in 0..7 {
            h.push(sample(i * 1000, i as f64 * 10.0));
        }
        assert_eq!(h.len(), 5);
        assert_eq!(h.latest().unwrap().cpu.ts, 6000);
        // Window of 3: 40, 50, 60.
        let s = h.stats(&Series::Cpu).unwrap();
        assert_eq!((s.count, s.min, s.max, s.median), (3, 40.0, 60.0, 50.0));
        assert_eq!(h.stats(&Series::Ram).unwrap().mean, 25.0);
        assert_eq!(h.stats(&Series::Swap).unwrap().max, 25.0);
        assert_eq!(h.stats(&Series::DiscUsed("/".into())).unwrap().count, 3);
        // Widen to everything held: 20..60.
        h.set_window(100);
        assert_eq!(h.window(), 5);
        let s = h.stats(&Series::Cpu).unwrap();
        assert_eq!((s.count, s.min, s.mean), (5, 20.0, 40.0));
        assert_eq!(h.mounts(), vec!["/".to_owned()]);
        assert_eq!(h.stats(&Series::Core(0)).unwrap().max, 60.0);
        assert_eq!(h.stats(&Series::DiscRead("/".into())).unwrap().count, 5);
        assert!(h.stats(&Series::Core(1)).is_none());
    }

    #[test]
    fn points_keep_the_spike() {
        let mut h = History::new(Duration::from_secs(3600), Duration::from_secs(1), 3600);
        for i in 0..3600 {
            h.push(sample(i * 1000, if i == 1234 { 99.0 } else { 5.0 }));
        }
        let p = h.points(&Series::Cpu, 200);
        assert!(p.len() <= 200);
        assert!(p.contains(&(1_234_000, 99.0)));
    }

    #[test]
    fn span_is_capped_at_a_day() {
        let h = History::new(Duration::from_secs(7 * 86_400), Duration::from_secs(1), 10);
        assert_eq!(h.capacity(), 86_400);
        let h = History::new(Duration::from_secs(60), Duration::from_millis(250), 10);
        assert_eq!(h.capacity(), 240);
    }
}
