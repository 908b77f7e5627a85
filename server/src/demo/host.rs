//! This server's own host metrics, read once a second with sysinfo:
//! published on `/metrics` (node_exporter-like names under `vitals_host_`)
//! and kept as a snapshot for the OpenTelemetry SDK's observable gauges.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sysinfo::{CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, RefreshKind, System};

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use crate::metrics::{Metrics, ModeLabel, MountLabel};

/// The latest reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostSnapshot {
    /// Busy percent over all cores (0–100); `None` before two readings.
    pub cpu_busy_pct: Option<f64>,
    /// Available memory, bytes.
    pub mem_available: u64,
    /// Total memory, bytes.
    pub mem_total: u64,
    /// `(mount, available, size)` of each real file system.
    pub filesystems: Vec<(String, u64, u64)>,
}

/// Whether a file system of `fstype` at `mount` is a real disk: not a
/// pseudo file system (the list the desktop sampler uses), not a
/// container's overlay root, not under the kernel's own trees.
pub fn is_real_fs(fstype: &str, mount: &str) -> bool {
    !vitals_shared::mounts::is_pseudo_fs(fstype)
        && fstype != "overlay"
        && !["/proc", "/sys", "/dev", "/run"]
            .iter()
            .any(|p| mount == *p || mount.starts_with(&format!("{p}/")))
}

/// Shared latest snapshot.
pub type SharedHost = Arc<Mutex<HostSnapshot>>;

/// The `/metrics` families the sampler writes (clones share the values).
struct Gauges {
    cpu: Family<ModeLabel, Counter<f64, AtomicU64>>,
    mem_available: Gauge,
    mem_total: Gauge,
    fs_avail: Family<MountLabel, Gauge>,
    fs_size: Family<MountLabel, Gauge>,
}

/// Starts the sampler thread (it lives as long as the process).
pub fn spawn(metrics: &Metrics) -> SharedHost {
    let shared: SharedHost = Arc::default();
    let out = shared.clone();
    let g = Gauges {
        cpu: metrics.host_cpu_seconds.clone(),
        mem_available: metrics.host_memory_available_bytes.clone(),
        mem_total: metrics.host_memory_total_bytes.clone(),
        fs_avail: metrics.host_filesystem_avail_bytes.clone(),
        fs_size: metrics.host_filesystem_size_bytes.clone(),
    };
    let started = std::thread::Builder::new()
        .name("host-metrics".into())
        .spawn(move || run(&g, &out));
    if let Err(e) = started {
        tracing::error!(error = %e, "cannot start the host metrics thread");
    }
    shared
}

fn run(metrics: &Gauges, out: &SharedHost) {
    let kind = RefreshKind::nothing()
        .with_cpu(CpuRefreshKind::nothing().with_usage())
        .with_memory(MemoryRefreshKind::nothing().with_ram());
    let Ok(mut sys) = System::new_with_specifics(kind) else {
        tracing::warn!(
            "this system's host metrics cannot be read; the self example streams stay empty"
        );
        return;
    };
    let Ok(mut disks) =
        Disks::new_with_refreshed_list_specifics(DiskRefreshKind::nothing().with_storage())
    else {
        return;
    };
    let cores = sys.cpus().len().max(1) as f64;
    let mut last = Instant::now();
    let mut first = true;
    let mut relist = Instant::now();
    loop {
        std::thread::sleep(Duration::from_secs(1));
        sys.refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
        sys.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        if relist.elapsed() > Duration::from_secs(60) {
            disks.refresh_specifics(true, DiskRefreshKind::nothing().with_storage());
            relist = Instant::now();
        } else {
            disks.refresh_specifics(false, DiskRefreshKind::nothing().with_storage());
        }
        let dt = last.elapsed().as_secs_f64();
        last = Instant::now();
        let busy = f64::from(sys.global_cpu_usage()).clamp(0.0, 100.0);
        if !first {
            let total = dt * cores;
            metrics
                .cpu
                .get_or_create(&ModeLabel { mode: "busy" })
                .inc_by(total * busy / 100.0);
            metrics
                .cpu
                .get_or_create(&ModeLabel { mode: "idle" })
                .inc_by(total * (1.0 - busy / 100.0));
        }
        let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        metrics.mem_available.set(gauge(sys.available_memory()));
        metrics.mem_total.set(gauge(sys.total_memory()));
        let mut fs = Vec::new();
        for d in disks.iter() {
            let mount = d.mount_point().to_string_lossy().into_owned();
            let fstype = d.file_system().to_string_lossy().into_owned();
            if !is_real_fs(&fstype, &mount) || d.total_space() == 0 {
                continue;
            }
            let label = MountLabel {
                mountpoint: mount.clone(),
            };
            metrics
                .fs_avail
                .get_or_create(&label)
                .set(gauge(d.available_space()));
            metrics
                .fs_size
                .get_or_create(&label)
                .set(gauge(d.total_space()));
            fs.push((mount, d.available_space(), d.total_space()));
        }
        fs.sort();
        fs.dedup_by(|a, b| a.0 == b.0);
        if let Ok(mut s) = out.lock() {
            *s = HostSnapshot {
                cpu_busy_pct: (!first).then_some(busy),
                mem_available: sys.available_memory(),
                mem_total: sys.total_memory(),
                filesystems: fs,
            };
        }
        first = false;
    }
}
