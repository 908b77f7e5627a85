//! The server's own metrics, served on `GET /metrics` in the Prometheus text
//! (OpenMetrics) format with the `prometheus-client` crate.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of `vitals_http_requests`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The matched route, such as `/api/v1/ingest`.
    pub route: String,
    /// The status code.
    pub status: u16,
}

/// A `table` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabel {
    /// `cpu`, `ram` or `disc`.
    pub table: &'static str,
}

/// A `reason` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// The error code the rows were refused with.
    pub reason: &'static str,
}

/// A `mode` label (`busy`, `idle`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModeLabel {
    /// The CPU mode.
    pub mode: &'static str,
}

/// A `mountpoint` label (node_exporter's name for it).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MountLabel {
    /// The mount point.
    pub mountpoint: String,
}

/// Labels of an example-stream source.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    /// `prometheus` or `otel`.
    pub source: &'static str,
    /// `query`, `scrape` or `otlp`.
    pub kind: &'static str,
    /// The URL or `self`.
    pub origin: String,
}

/// An `op` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabel {
    /// The store operation.
    pub op: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// Every metric of the server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests by route and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Rows stored, by table.
    pub ingest_rows: Family<TableLabel, Counter>,
    /// Rows refused, by reason.
    pub rejected_rows: Family<ReasonLabel, Counter>,
    /// Store call latency in seconds, by operation.
    pub store_latency: Family<OpLabel, Histogram, fn() -> Histogram>,
    /// Open live streams.
    pub live_viewers: Gauge,
    /// This host's CPU time in seconds over all cores, by mode.
    pub host_cpu_seconds: Family<ModeLabel, Counter<f64, AtomicU64>>,
    /// This host's available memory in bytes.
    pub host_memory_available_bytes: Gauge,
    /// This host's total memory in bytes.
    pub host_memory_total_bytes: Gauge,
    /// Free bytes per mounted file system of this host.
    pub host_filesystem_avail_bytes: Family<MountLabel, Gauge>,
    /// Size in bytes per mounted file system of this host.
    pub host_filesystem_size_bytes: Family<MountLabel, Gauge>,
    /// 1 while an example source delivers, else 0.
    pub demo_source_up: Family<SourceLabel, Gauge>,
    /// Failed attempts of example sources.
    pub demo_source_failures: Family<SourceLabel, Counter>,
    /// Example samples relayed, by source.
    pub demo_samples: Family<SourceLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("vitals");
        let requests = Family::<RequestLabels, Counter>::default();
        let ingest_rows = Family::<TableLabel, Counter>::default();
        let rejected_rows = Family::<ReasonLabel, Counter>::default();
        let store_latency = Family::<OpLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let live_viewers = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register("ingest_rows", "Rows stored, by table", ingest_rows.clone());
        registry.register(
            "rejected_rows",
            "Rows refused, by reason",
            rejected_rows.clone(),
        );
        registry.register(
            "store_latency_seconds",
            "Store call latency, by operation",
            store_latency.clone(),
        );
        registry.register("live_viewers", "Open live streams", live_viewers.clone());
        let host_cpu_seconds = Family::<ModeLabel, Counter<f64, AtomicU64>>::default();
        let host_memory_available_bytes = Gauge::default();
        let host_memory_total_bytes = Gauge::default();
        let host_filesystem_avail_bytes = Family::<MountLabel, Gauge>::default();
        let host_filesystem_size_bytes = Family::<MountLabel, Gauge>::default();
        let demo_source_up = Family::<SourceLabel, Gauge>::default();
        let demo_source_failures = Family::<SourceLabel, Counter>::default();
        let demo_samples = Family::<SourceLabel, Counter>::default();
        registry.register(
            "host_cpu_seconds",
            "This host's CPU time over all cores, by mode",
            host_cpu_seconds.clone(),
        );
        registry.register(
            "host_memory_available_bytes",
            "This host's available memory",
            host_memory_available_bytes.clone(),
        );
        registry.register(
            "host_memory_total_bytes",
            "This host's total memory",
            host_memory_total_bytes.clone(),
        );
        registry.register(
            "host_filesystem_avail_bytes",
            "Free bytes per mounted file system of this host",
            host_filesystem_avail_bytes.clone(),
        );
        registry.register(
            "host_filesystem_size_bytes",
            "Size per mounted file system of this host",
            host_filesystem_size_bytes.clone(),
        );
        registry.register(
            "demo_source_up",
            "1 while an example source delivers",
            demo_source_up.clone(),
        );
        registry.register(
            "demo_source_failures",
            "Failed attempts of example sources",
            demo_source_failures.clone(),
        );
        registry.register(
            "demo_samples",
            "Example samples relayed (never stored)",
            demo_samples.clone(),
        );
        Self {
            host_cpu_seconds,
            host_memory_available_bytes,
            host_memory_total_bytes,
            host_filesystem_avail_bytes,
            host_filesystem_size_bytes,
            demo_source_up,
            demo_source_failures,
            demo_samples,
            registry,
            requests,
            ingest_rows,
            rejected_rows,
            store_latency,
            live_viewers,
        }
    }
}

impl Metrics {
    /// Records one store call's duration.
    pub fn observe_store(&self, op: &'static str, d: Duration) {
        self.store_latency
            .get_or_create(&OpLabel { op })
            .observe(d.as_secs_f64());
    }

    /// Records one attempt of an example source: up or not, and the
    /// samples it delivered or a failure.
    pub fn record_demo(&self, label: &SourceLabel, ok: bool, samples: usize) {
        self.demo_source_up.get_or_create(label).set(i64::from(ok));
        if ok {
            self.demo_samples
                .get_or_create(label)
                .inc_by(samples as u64);
        } else {
            self.demo_source_failures.get_or_create(label).inc();
        }
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_names_every_metric() {
        let m = Metrics::default();
        m.requests
            .get_or_create(&RequestLabels {
                route: "/x".into(),
                status: 200,
            })
            .inc();
        m.ingest_rows
            .get_or_create(&TableLabel { table: "cpu" })
            .inc_by(3);
        m.rejected_rows
            .get_or_create(&ReasonLabel {
                reason: "not_finite",
            })
            .inc();
        m.observe_store("ingest", Duration::from_millis(2));
        m.live_viewers.inc();
        let text = m.encode();
        for want in [
            "vitals_http_requests_total{route=\"/x\",status=\"200\"} 1",
            "vitals_ingest_rows_total{table=\"cpu\"} 3",
            "vitals_rejected_rows_total{reason=\"not_finite\"} 1",
            "vitals_store_latency_seconds_count{op=\"ingest\"} 1",
            "vitals_live_viewers 1",
        ] {
            assert!(text.contains(want), "missing {want} in\n{text}");
        }
    }
}
