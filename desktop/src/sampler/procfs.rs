//! Linux: the per-sample readings (CPU, memory, load, disk I/O) straight from
//! `/proc`, through files opened once and read again from offset 0 with one
//! `pread` each.
//!
//! sysinfo reads the same files, but opens, sizes and reads each one anew in
//! small pieces: about 30 system calls per sample against 4 here, and on the
//! virtual machines measured system calls are most of what a 1 Hz agent
//! costs (`docs/BENCHMARKS.md`). sysinfo still lists the disks and reads
//! their sizes; `tests` checks these readings against sysinfo's.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// CPU jiffies: (busy, total) since boot.
type Jiffies = (u64, u64);

/// What one reading of `/proc` gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// CPU use since the previous reading, percent: total and per core.
    pub usage_pct: f64,
    /// Per logical core, in order.
    pub cores_pct: Vec<f64>,
    /// Load average over one minute.
    pub load1: Option<f64>,
    /// Memory used and total, bytes (used = total − available).
    pub mem: (u64, u64),
    /// Swap used and total, bytes.
    pub swap: (u64, u64),
}

/// The open `/proc` files and the previous counters.
pub struct Procfs {
    stat: File,
    meminfo: File,
    loadavg: File,
    diskstats: File,
    buf: Vec<u8>,
    cpu: Vec<Jiffies>,
    /// Bytes read and written since boot, by device name (`vda`, `dm-0`).
    io: HashMap<String, (u64, u64)>,
    /// Bytes read and written since the previous reading, by device.
    io_delta: HashMap<String, (u64, u64)>,
}

fn read_into<'a>(f: &File, buf: &'a mut Vec<u8>) -> io::Result<&'a str> {
    loop {
        let n = f.read_at(buf, 0)?;
        if n < buf.len() {
            return std::str::from_utf8(&buf[..n])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e));
        }
        // Filled the buffer: the file may be longer (many cores), read again.
        let grown = buf.len() * 2;
        buf.resize(grown, 0);
    }
}

/// `cpu  4705 356 584 3699 23 23 0 0 0 0`: busy and total jiffies. Guest
/// time is already inside user and nice, so it is not added again.
fn jiffies(fields: &str) -> Jiffies {
    let v: Vec<u64> = fields
        .split_ascii_whitespace()
        .take(8)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    let idle = get(3) + get(4);
    let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
    (busy, busy + idle)
}

fn pct(now: Jiffies, before: Jiffies) -> f64 {
    let total = now.1.saturating_sub(before.1);
    if total == 0 {
        return 0.0;
    }
    (now.0.saturating_sub(before.0) as f64 / total as f64 * 100.0).clamp(0.0, 100.0)
}

impl Procfs {
    /// Opens the files and takes the first CPU and disk counters.
    pub fn open() -> io::Result<Procfs> {
        let open = |p: &str| {
            File::open(p).map_err(|e| io::Error::new(e.kind(), format!("cannot open {p}: {e}")))
        };
        let mut p = Procfs {
            stat: open("/proc/stat")?,
            meminfo: open("/proc/meminfo")?,
            loadavg: open("/proc/loadavg")?,
            diskstats: open("/proc/diskstats")?,
            buf: vec![0; 16 * 1024],
            cpu: Vec::new(),
            io: HashMap::new(),
            io_delta: HashMap::new(),
        };
        p.read()?;
        Ok(p)
    }

    /// Bytes read and written by `device` since the previous reading.
    pub fn io(&self, device: &str) -> Option<(u64, u64)> {
        self.io_delta.get(device).copied()
    }

    /// Reads everything once.
    pub fn read(&mut self) -> io::Result<Reading> {
        // CPU: the first line is the total, then one line per online core.
        let text = read_into(&self.stat, &mut self.buf)?;
        let mut now = Vec::with_capacity(self.cpu.len().max(1));
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("cpu") else {
                break;
            };
            let fields = rest.trim_start_matches(|c: char| c.is_ascii_digit());
            now.push(jiffies(fields));
        }
        if now.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "/proc/stat has no cpu line",
            ));
        }
        let before = if self.cpu.len() == now.len() {
            std::mem::take(&mut self.cpu)
        } else {
            vec![(0, 0); now.len()]
        };
        let usage_pct = pct(now[0], before[0]);
        let cores_pct = now[1..]
            .iter()
            .zip(&before[1..])
            .map(|(n, b)| pct(*n, *b))
            .collect();
        self.cpu = now;

        let text = read_into(&self.meminfo, &mut self.buf)?;
        let mut kib: HashMap<&str, u64> = HashMap::with_capacity(8);
        for line in text.lines() {
            if let Some((k, v)) = line.split_once(':')
                && matches!(
                    k,
                    "MemTotal"
                        | "MemAvailable"
                        | "MemFree"
                        | "Buffers"
                        | "Cached"
                        | "SwapTotal"
                        | "SwapFree"
                )
            {
                let v = v.trim().trim_end_matches("kB").trim();
                kib.insert(k, v.parse().unwrap_or(0));
            }
        }
        let get = |k: &str| kib.get(k).copied().unwrap_or(0) * 1024;
        let total = get("MemTotal");
        // Kernels before 3.14 have no MemAvailable.
        let available = if kib.contains_key("MemAvailable") {
            get("MemAvailable")
        } else {
            get("MemFree") + get("Buffers") + get("Cached")
        };
        let mem = (total.saturating_sub(available), total);
        let swap_total = get("SwapTotal");
        let swap = (swap_total.saturating_sub(get("SwapFree")), swap_total);

        let text = read_into(&self.loadavg, &mut self.buf)?;
        let load1 = text
            .split_ascii_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|l| l.is_finite() && *l >= 0.0);

        // Disks: `major minor name reads merged sectors_read ms writes merged
        // sectors_written …`; sectors are 512 bytes whatever the device.
        let text = read_into(&self.diskstats, &mut self.buf)?;
        let mut io_now = HashMap::with_capacity(self.io.len());
        for line in text.lines() {
            let f: Vec<&str> = line.split_ascii_whitespace().take(10).collect();
            if f.len() < 10 {
                continue;
            }
            let (Ok(r), Ok(w)) = (f[5].parse::<u64>(), f[9].parse::<u64>()) else {
                continue;
            };
            io_now.insert(f[2].to_owned(), (r * 512, w * 512));
        }
        self.io_delta = io_now
            .iter()
            .map(|(k, (r, w))| {
                let (r0, w0) = self.io.get(k).copied().unwrap_or((*r, *w));
                (k.clone(), (r.saturating_sub(r0), w.saturating_sub(w0)))
            })
            .collect();
        self.io = io_now;

        Ok(Reading {
            usage_pct,
            cores_pct,
            load1,
            mem,
            swap,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

    #[test]
    fn cpu_lines_are_parsed_without_counting_guest_time_twice() {
        // user nice system idle iowait irq softirq steal guest guest_nice
        let a = jiffies(" 100 0 50 800 50 0 0 0 40 0");
        assert_eq!(a, (150, 1000));
        let b = jiffies(" 200 0 100 1600 100 0 0 0 80 0");
        assert!((pct(b, a) - 15.0).abs() < 1e-9);
        assert_eq!(pct(a, a), 0.0);
        // A counter that went backwards (CPU hot-plug) is not a negative use.
        assert_eq!(pct(a, b), 0.0);
    }

    #[test]
    fn readings_agree_with_sysinfo() {
        let mut p = Procfs::open().unwrap();
        let mut sys = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing().with_usage())
                .with_memory(MemoryRefreshKind::everything()),
        )
        .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let r = p.read().unwrap();
        sys.refresh_memory();
        assert_eq!(r.cores_pct.len(), sys.cpus().len(), "one value per core");
        assert_eq!(r.mem.1, sys.total_memory());
        assert_eq!(r.swap.1, sys.total_swap());
        // Used memory moves between the two reads; within 5 % of total.
        let d = r.mem.0.abs_diff(sys.used_memory()) as f64;
        assert!(
            d < r.mem.1 as f64 * 0.05,
            "{} vs {}",
            r.mem.0,
            sys.used_memory()
        );
        let l = System::load_average().unwrap().one;
        assert!((r.load1.unwrap() - l).abs() < 0.5, "{:?} vs {l}", r.load1);
        assert!((0.0..=100.0).contains(&r.usage_pct));
        assert!(r.cores_pct.iter().all(|c| (0.0..=100.0).contains(c)));
        // The block devices are listed (the root disk at least), each with
        // a delta since the first reading.
        assert!(!p.io.is_empty(), "no block device in /proc/diskstats");
        assert!(p.io.keys().all(|k| p.io(k).is_some()));
    }

    #[test]
    fn a_long_file_is_read_whole() {
        let mut buf = vec![0u8; 4];
        let f = File::open("/proc/meminfo").unwrap();
        let text = read_into(&f, &mut buf).unwrap();
        assert!(text.contains("MemTotal") && text.contains("SwapFree"));
    }
}
