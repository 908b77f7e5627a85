//! The sampler: reads CPU, memory and disks with `sysinfo` and produces plain
//! [`Sample`]s. No egui, no network; the UI and the uploader consume samples
//! from a channel (`spawn`).
//!
//! sysinfo's first CPU reading is meaningless (usage needs two readings), so
//! [`Sampler::new`] takes a priming reading and callers wait one interval
//! before the first [`Sampler::sample`].
//!
//! sysinfo lists the disks and reads their sizes everywhere. On Linux the
//! per-sample counters (CPU, memory, load, disk I/O) come from [`procfs`],
//! which reads the same `/proc` files with a seventh of the system calls;
//! elsewhere from sysinfo.

#[cfg(target_os = "linux")]
pub mod procfs;

use std::collections::BTreeSet;
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[cfg(not(target_os = "linux"))]
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};
use sysinfo::{DiskRefreshKind, Disks};
use vitals_shared::wire::{CpuSample, DiscSample, RamSample, TimestampMs};

/// Shortest and longest sampling interval offered.
pub const MIN_INTERVAL: Duration = Duration::from_millis(250);
/// Longest sampling interval offered.
pub const MAX_INTERVAL: Duration = Duration::from_secs(10);

/// One reading of the whole machine, in the wire types it is uploaded as.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// CPU total and per core.
    pub cpu: CpuSample,
    /// Memory and swap.
    pub ram: RamSample,
    /// One row per real mounted disk.
    pub disc: Vec<DiscSample>,
}

/// Why the sampler cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SamplerError {
    /// sysinfo does not support this system.
    #[error("this system cannot be sampled: {0}")]
    Unsupported(String),
}

/// Owns the sysinfo handles.
pub struct Sampler {
    #[cfg(target_os = "linux")]
    proc: procfs::Procfs,
    /// The block device of each disk (`vda`, `dm-0`), as `/proc/diskstats`
    /// names it.
    #[cfg(target_os = "linux")]
    devices: Vec<String>,
    #[cfg(not(target_os = "linux"))]
    sys: System,
    disks: Disks,
    last: Instant,
    last_list: Instant,
}

/// What sysinfo reads of each disk at every sample.
fn disk_kind() -> DiskRefreshKind {
    let kind = DiskRefreshKind::nothing().with_storage();
    if cfg!(target_os = "linux") {
        kind
    } else {
        kind.with_io_usage()
    }
}

/// `/dev/mapper/root` → `dm-0`: the name `/proc/diskstats` uses.
#[cfg(target_os = "linux")]
fn device_of(d: &sysinfo::Disk) -> String {
    let name = std::path::Path::new(d.name());
    let real = std::fs::canonicalize(name).unwrap_or_else(|_| name.to_owned());
    real.strip_prefix("/dev")
        .unwrap_or(&real)
        .to_string_lossy()
        .into_owned()
}

/// How often the list of mounted disks is read again.
const RELIST_EVERY: Duration = Duration::from_secs(60);

#[cfg(not(target_os = "linux"))]
fn clamp_pct(v: f32) -> f64 {
    let v = f64::from(v);
    if v.is_finite() {
        v.clamp(0.0, 100.0)
    } else {
        0.0
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Sampler {
    /// Opens the sysinfo handles and takes the priming CPU reading.
    pub fn new() -> Result<Sampler, SamplerError> {
        let disks = Disks::new_with_refreshed_list_specifics(disk_kind())
            .map_err(|e| SamplerError::Unsupported(e.to_string()))?;
        #[cfg(not(target_os = "linux"))]
        let sys = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing().with_usage())
                .with_memory(MemoryRefreshKind::nothing().with_ram().with_swap()),
        )
        .map_err(|e| SamplerError::Unsupported(e.to_string()))?;
        Ok(Sampler {
            #[cfg(target_os = "linux")]
            proc: procfs::Procfs::open().map_err(|e| SamplerError::Unsupported(e.to_string()))?,
            #[cfg(target_os = "linux")]
            devices: disks.iter().map(device_of).collect(),
            #[cfg(not(target_os = "linux"))]
            sys,
            disks,
            last: Instant::now(),
            last_list: Instant::now(),
        })
    }

    /// Reads everything now. Disk rates are bytes per second since the
    /// previous call.
    pub fn sample(&mut self, ts: TimestampMs) -> Sample {
        if self.last_list.elapsed() >= RELIST_EVERY {
            // Re-read the mount table now and then to see new and gone disks.
            self.disks.refresh_specifics(true, disk_kind());
            #[cfg(target_os = "linux")]
            {
                self.devices = self.disks.iter().map(device_of).collect();
            }
            self.last_list = Instant::now();
        } else {
            for d in self.disks.iter_mut() {
                d.refresh_specifics(disk_kind());
            }
        }
        let elapsed = self.last.elapsed().as_secs_f64().max(1e-3);
        self.last = Instant::now();
        let (cpu, ram) = self.cpu_and_ram(ts);

        let mut seen = BTreeSet::new();
        let mut disc = Vec::new();
        for (i, d) in self.disks.iter().enumerate() {
            let fs = d.file_system().to_string_lossy();
            let mount = d.mount_point().to_string_lossy().into_owned();
            if d.total_space() == 0
                || vitals_shared::mounts::is_pseudo_fs(&fs)
                || mount.is_empty()
                || !seen.insert(mount.clone())
            {
                continue;
            }
            let total = to_i64(d.total_space());
            let used = to_i64(d.total_space().saturating_sub(d.available_space())).min(total);
            #[cfg(target_os = "linux")]
            let (read, written) = self
                .devices
                .get(i)
                .and_then(|dev| self.proc.io(dev))
                .unwrap_or((0, 0));
            #[cfg(not(target_os = "linux"))]
            let (read, written) = {
                let _ = i;
                (d.usage().read_bytes, d.usage().written_bytes)
            };
            disc.push(DiscSample {
                ts,
                mount,
                used_bytes: used,
                total_bytes: total,
                read_bps: read as f64 / elapsed,
                write_bps: written as f64 / elapsed,
            });
        }
        Sample { cpu, ram, disc }
    }

    #[cfg(target_os = "linux")]
    fn cpu_and_ram(&mut self, ts: TimestampMs) -> (CpuSample, RamSample) {
        // /proc cannot go away under a running system; if a read fails the
        // sample says 0 rather than stopping the sampler.
        let r = self.proc.read().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read /proc");
            procfs::Reading {
                usage_pct: 0.0,
                cores_pct: Vec::new(),
                load1: None,
                mem: (0, 0),
                swap: (0, 0),
            }
        });
        let cpu = CpuSample {
            ts,
            usage_pct: r.usage_pct,
            cores_pct: r.cores_pct,
            load1: r.load1,
        };
        let ram = RamSample {
            ts,
            used_bytes: to_i64(r.mem.0.min(r.mem.1)),
            total_bytes: to_i64(r.mem.1),
            swap_used_bytes: to_i64(r.swap.0.min(r.swap.1)),
            swap_total_bytes: to_i64(r.swap.1),
        };
        (cpu, ram)
    }

    #[cfg(not(target_os = "linux"))]
    fn cpu_and_ram(&mut self, ts: TimestampMs) -> (CpuSample, RamSample) {
        self.sys
            .refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
        self.sys
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
        let load1 = System::load_average()
            .ok()
            .map(|l| l.one)
            .filter(|l| l.is_finite() && *l >= 0.0);
        let cpu = CpuSample {
            ts,
            usage_pct: clamp_pct(self.sys.global_cpu_usage()),
            cores_pct: self
                .sys
                .cpus()
                .iter()
                .map(|c| clamp_pct(c.usage()))
                .collect(),
            load1,
        };
        let total = to_i64(self.sys.total_memory());
        let swap_total = to_i64(self.sys.total_swap());
        let ram = RamSample {
            ts,
            used_bytes: to_i64(self.sys.used_memory()).min(total),
            total_bytes: total,
            swap_used_bytes: to_i64(self.sys.used_swap()).min(swap_total),
            swap_total_bytes: swap_total,
        };
        (cpu, ram)
    }
}

/// Clamps an interval to what the sampler offers (250 ms – 10 s).
pub fn clamp_interval(d: Duration) -> Duration {
    d.clamp(MIN_INTERVAL, MAX_INTERVAL)
}

/// Runs a sampler thread: a sample every `interval` (the first one interval
/// after start, when CPU usage means something), sent on `tx`, then `wake()`
/// (the UI's repaint request). Stops when the receiver is gone.
pub fn spawn(
    interval: Duration,
    tx: Sender<Sample>,
    wake: impl Fn() + Send + 'static,
    now_ms: impl Fn() -> TimestampMs + Send + 'static,
) -> Result<JoinHandle<()>, SamplerError> {
    let mut sampler = Sampler::new()?;
    let interval = clamp_interval(interval);
    std::thread::Builder::new()
        .name("sampler".into())
        .spawn(move || {
            let mut next = Instant::now() + interval;
            loop {
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
                next += interval;
                if tx.send(sampler.sample(now_ms())).is_err() {
                    return;
                }
                wake();
            }
        })
        .map_err(|e| SamplerError::Unsupported(format!("cannot start the sampler thread: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_shared::day::Day;
    use vitals_shared::validate::validate_batch;
    use vitals_shared::wire::Batch;

    #[test]
    fn a_real_sample_is_in_range_and_passes_validation() {
        let mut s = Sampler::new().unwrap();
        std::thread::sleep(MIN_INTERVAL);
        let now = 1_796_391_381_984;
        let x = s.sample(now);
        assert!((0.0..=100.0).contains(&x.cpu.usage_pct));
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        assert_eq!(x.cpu.cores_pct.len(), cores, "one value per logical core");
        assert!(x.ram.total_bytes > 0 && x.ram.used_bytes <= x.ram.total_bytes);
        #[cfg(target_os = "linux")]
        assert!(x.cpu.load1.is_some());
        assert!(!x.disc.is_empty(), "no real disk found");
        let mounts: BTreeSet<_> = x.disc.iter().map(|d| d.mount.clone()).collect();
        assert_eq!(mounts.len(), x.disc.len(), "a mount listed twice");
        for d in &x.disc {
            assert!(
                d.used_bytes <= d.total_bytes && d.read_bps >= 0.0 && d.write_bps >= 0.0,
                "{d:?}"
            );
        }
        // What the sampler produces is what the server accepts.
        let b = Batch {
            batch_id: uuid::Uuid::new_v4(),
            cpu: vec![x.cpu],
            ram: vec![x.ram],
            disc: x.disc,
        };
        validate_batch(&b, &Day::containing_ms(now), now).unwrap();
    }

    #[test]
    fn thread_sends_until_the_receiver_goes() {
        let (tx, rx) = std::sync::mpsc::channel();
        let woken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let w = woken.clone();
        let h = spawn(
            Duration::from_millis(1),
            tx,
            move || {
                w.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            },
            || 0,
        )
        .unwrap();
        let a = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let b = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(a.cpu.ts, b.cpu.ts);
        assert!(woken.load(std::sync::atomic::Ordering::SeqCst) >= 1);
        drop(rx);
        h.join().unwrap();
    }

    #[test]
    fn interval_is_clamped() {
        assert_eq!(clamp_interval(Duration::from_millis(1)), MIN_INTERVAL);
        assert_eq!(clamp_interval(Duration::from_secs(60)), MAX_INTERVAL);
        assert_eq!(
            clamp_interval(Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }
}
