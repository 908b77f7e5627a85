//! Prometheus sources of the example stream.
//!
//! - [`query_loop`] (`--demo-prometheus URL`): once a second, instant
//!   queries of Prometheus's HTTP API (`/api/v1/query`) over node_exporter's
//!   series, with the PromQL in [`CPU_QUERY`], [`RAM_QUERY`], [`DISC_QUERY`].
//! - [`scrape_loop`] (`--demo-scrape URL`, and the self-scrape of our own
//!   `/metrics`): the exposition text, parsed by `prometheus-parse`; CPU
//!   busy percent from the delta of the CPU-seconds counters between two
//!   scrapes, memory and disk from their gauges.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use vitals_shared::wire::DemoSample;

use super::MetricsHandle;
use super::{DemoHub, POLL_EVERY, backoff, now_ms, sample};
use crate::metrics::SourceLabel;

/// CPU busy percent per node, from node_exporter's per-mode CPU seconds.
pub const CPU_QUERY: &str =
    r#"100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[30s])))"#;
/// Memory used percent per node.
pub const RAM_QUERY: &str =
    "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)";
/// Disk used percent per real file system.
pub const DISC_QUERY: &str = r#"100 * (1 - node_filesystem_avail_bytes{fstype!~"tmpfs|devtmpfs|overlay|squashfs|ramfs|autofs|nsfs|efivarfs",mountpoint!~"/(proc|sys|dev|run)($|/.*)"} / node_filesystem_size_bytes{fstype!~"tmpfs|devtmpfs|overlay|squashfs|ramfs|autofs|nsfs|efivarfs",mountpoint!~"/(proc|sys|dev|run)($|/.*)"})"#;

#[derive(Deserialize)]
struct QueryResponse {
    status: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    data: Option<QueryData>,
}

#[derive(Deserialize)]
struct QueryData {
    #[serde(default)]
    result: Vec<VectorItem>,
}

#[derive(Deserialize)]
struct VectorItem {
    #[serde(default)]
    metric: HashMap<String, String>,
    value: (f64, String),
}

async fn instant_query(
    http: &reqwest::Client,
    base: &str,
    promql: &str,
) -> Result<Vec<VectorItem>, String> {
    let r = http
        .get(format!("{base}/api/v1/query"))
        .query(&[("query", promql)])
        .send()
        .await
        .map_err(|e| format!("cannot reach Prometheus at {base}: {e}"))?;
    let status = r.status();
    let body: QueryResponse = r.json().await.map_err(|e| {
        format!("Prometheus at {base} answered {status} without a query result: {e}")
    })?;
    if body.status != "success" {
        return Err(format!(
            "Prometheus refused the query: {}",
            body.error.unwrap_or_default()
        ));
    }
    Ok(body.data.map(|d| d.result).unwrap_or_default())
}

/// Polls a Prometheus server until the process ends.
pub async fn query_loop(
    hub: Arc<DemoHub>,
    metrics: Arc<MetricsHandle>,
    http: reqwest::Client,
    base: String,
) {
    let label = SourceLabel {
        source: "prometheus",
        kind: "query",
        origin: base.clone(),
    };
    hub.register("prometheus", "query", &base);
    let mut failures = 0;
    loop {
        let mut out: Vec<DemoSample> = Vec::new();
        let mut result = Ok(());
        for (metric, q) in [("cpu", CPU_QUERY), ("ram", RAM_QUERY), ("disc", DISC_QUERY)] {
            match instant_query(&http, &base, q).await {
                Ok(items) => {
                    for it in items {
                        let Ok(v) = it.value.1.parse::<f64>() else {
                            continue;
                        };
                        if !v.is_finite() {
                            continue;
                        }
                        let ts = (it.value.0 * 1000.0) as i64;
                        let mount = (metric == "disc")
                            .then(|| it.metric.get("mountpoint").map(String::as_str))
                            .flatten();
                        out.push(sample("prometheus", metric, ts, v, &base, mount));
                    }
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        // Reachable but without series yet (Prometheus has not scraped
        // twice): not live, but no reason to back off.
        let reachable = result.is_ok();
        if reachable && out.is_empty() {
            result = Err(format!(
                "Prometheus at {base} has no node_exporter series yet (is it scraping node_exporter?)"
            ));
        }
        let ok = result.is_ok();
        metrics.record_demo(&label, ok, out.len());
        hub.report("prometheus", "query", &base, result);
        hub.publish(&out);
        if reachable {
            failures = 0;
            tokio::time::sleep(POLL_EVERY).await;
        } else {
            failures += 1;
            tokio::time::sleep(backoff(failures)).await;
        }
    }
}

/// Metric names of one exporter family.
struct Names {
    cpu: &'static str,
    mem_available: &'static str,
    mem_total: &'static str,
    fs_avail: &'static str,
    fs_size: &'static str,
}

const NODE: Names = Names {
    cpu: "node_cpu_seconds_total",
    mem_available: "node_memory_MemAvailable_bytes",
    mem_total: "node_memory_MemTotal_bytes",
    fs_avail: "node_filesystem_avail_bytes",
    fs_size: "node_filesystem_size_bytes",
};

const SELF: Names = Names {
    cpu: "vitals_host_cpu_seconds_total",
    mem_available: "vitals_host_memory_available_bytes",
    mem_total: "vitals_host_memory_total_bytes",
    fs_avail: "vitals_host_filesystem_avail_bytes",
    fs_size: "vitals_host_filesystem_size_bytes",
};

/// `(idle, total)` CPU seconds summed over every core.
pub type CpuTotals = (f64, f64);

/// What one scrape yields: CPU counters, memory used %, disk used % per mount.
#[derive(Debug, Default, PartialEq)]
pub struct Reading {
    /// CPU seconds (for a delta against the previous scrape).
    pub cpu: Option<CpuTotals>,
    /// Memory used percent.
    pub ram: Option<f64>,
    /// Disk used percent per mount.
    pub disc: Vec<(String, f64)>,
}

fn value(v: &prometheus_parse::Value) -> Option<f64> {
    use prometheus_parse::Value as V;
    match v {
        V::Counter(x) | V::Gauge(x) | V::Untyped(x) => Some(*x).filter(|x| x.is_finite()),
        _ => None,
    }
}

/// Reads node_exporter's (or our own) exposition text.
pub fn read_exposition(text: &str) -> Result<Reading, String> {
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines)
        .map_err(|e| format!("not Prometheus exposition text: {e}"))?;
    let names = if scrape.samples.iter().any(|s| s.metric == NODE.cpu) {
        NODE
    } else {
        SELF
    };
    let mut out = Reading::default();
    let (mut idle, mut total, mut seen) = (0.0, 0.0, false);
    let (mut avail, mut mem_total) = (None, None);
    let mut fs: HashMap<String, (Option<f64>, Option<f64>)> = HashMap::new();
    for s in &scrape.samples {
        let Some(v) = value(&s.value) else { continue };
        if s.metric == names.cpu {
            seen = true;
            total += v;
            if s.labels.get("mode") == Some("idle") {
                idle += v;
            }
        } else if s.metric == names.mem_available {
            avail = Some(v);
        } else if s.metric == names.mem_total {
            mem_total = Some(v);
        } else if s.metric == names.fs_avail || s.metric == names.fs_size {
            let Some(m) = s.labels.get("mountpoint") else {
                continue;
            };
            let fstype = s.labels.get("fstype").unwrap_or("");
            if !super::host::is_real_fs(fstype, m) {
                continue;
            }
            let e = fs.entry(m.to_owned()).or_default();
            if s.metric == names.fs_avail {
                e.0 = Some(v);
            } else {
                e.1 = Some(v);
            }
        }
    }
    if seen {
        out.cpu = Some((idle, total));
    }
    if let (Some(a), Some(t)) = (avail, mem_total)
        && t > 0.0
    {
        out.ram = Some(100.0 * (1.0 - a / t));
    }
    let mut disc: Vec<(String, f64)> = fs
        .into_iter()
        .filter_map(|(m, (a, s))| match (a, s) {
            (Some(a), Some(s)) if s > 0.0 => Some((m, 100.0 * (1.0 - a / s))),
            _ => None,
        })
        .collect();
    disc.sort_by(|a, b| a.0.cmp(&b.0));
    out.disc = disc;
    if out.cpu.is_none() && out.ram.is_none() && out.disc.is_empty() {
        return Err("no node_exporter (or Vitals host) series in the scrape".into());
    }
    Ok(out)
}

/// CPU busy percent between two readings of the CPU-seconds counters.
pub fn busy_between(prev: CpuTotals, now: CpuTotals) -> Option<f64> {
    let (di, dt) = (now.0 - prev.0, now.1 - prev.1);
    (dt > 0.0 && di >= 0.0).then(|| 100.0 * (1.0 - di / dt))
}

/// Scrapes `url` once a second until the process ends. `origin` is the URL
/// or `self`; `source` is always `prometheus`.
pub async fn scrape_loop(
    hub: Arc<DemoHub>,
    metrics: Arc<MetricsHandle>,
    http: reqwest::Client,
    url: String,
    origin: String,
) {
    let label = SourceLabel {
        source: "prometheus",
        kind: "scrape",
        origin: origin.clone(),
    };
    hub.register("prometheus", "scrape", &origin);
    let mut prev: Option<CpuTotals> = None;
    let mut failures = 0;
    loop {
        let got = async {
            let r = http
                .get(&url)
                .send()
                .await
                .map_err(|e| format!("cannot scrape {url}: {e}"))?;
            if !r.status().is_success() {
                return Err(format!("{url} answered {}", r.status()));
            }
            let text = r
                .text()
                .await
                .map_err(|e| format!("cannot read {url}: {e}"))?;
            read_exposition(&text)
        }
        .await;
        let ts = now_ms();
        let result = got.map(|reading| {
            let mut out = Vec::new();
            if let Some(cpu) = reading.cpu {
                if let Some(busy) = prev.and_then(|p| busy_between(p, cpu)) {
                    out.push(sample("prometheus", "cpu", ts, busy, &origin, None));
                }
                prev = Some(cpu);
            }
            if let Some(r) = reading.ram {
                out.push(sample("prometheus", "ram", ts, r, &origin, None));
            }
            for (m, v) in &reading.disc {
                out.push(sample("prometheus", "disc", ts, *v, &origin, Some(m)));
            }
            out
        });
        match result {
            Ok(out) => {
                metrics.record_demo(&label, true, out.len());
                hub.report("prometheus", "scrape", &origin, Ok(()));
                hub.publish(&out);
                failures = 0;
                tokio::time::sleep(POLL_EVERY).await;
            }
            Err(e) => {
                metrics.record_demo(&label, false, 0);
                hub.report("prometheus", "scrape", &origin, Err(e));
                prev = None;
                failures += 1;
                tokio::time::sleep(backoff(failures)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    #[test]
    fn node_exporter_text_is_read() {
        let text = r#"# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 100
node_cpu_seconds_total{cpu="0",mode="user"} 50
node_cpu_seconds_total{cpu="1",mode="idle"} 100
node_cpu_seconds_total{cpu="1",mode="system"} 50
# TYPE node_memory_MemAvailable_bytes gauge
node_memory_MemAvailable_bytes 2.5e+09
node_memory_MemTotal_bytes 1e+10
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 25
node_filesystem_size_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 100
node_filesystem_avail_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run"} 1
node_filesystem_size_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run"} 2
"#;
        let r = read_exposition(text).unwrap();
        assert_eq!(r.cpu, Some((200.0, 300.0)));
        assert_eq!(r.ram, Some(75.0));
        assert_eq!(r.disc, vec![("/".to_owned(), 75.0)]);
        // One more second, of which the CPUs were busy half.
        assert_eq!(busy_between((200.0, 300.0), (201.0, 302.0)), Some(50.0));
        assert_eq!(busy_between((200.0, 300.0), (200.0, 300.0)), None);
        assert!(read_exposition("# nothing here\n").is_err());
    }

    #[test]
    fn our_own_metrics_are_read() {
        let m = Metrics::default();
        m.host_memory_available_bytes.set(30);
        m.host_memory_total_bytes.set(120);
        let r = read_exposition(&m.encode());
        assert_eq!(r.unwrap().ram, Some(75.0));
    }
}
