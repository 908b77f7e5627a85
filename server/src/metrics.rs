//! The server's own metrics, served on `GET /metrics` in the Prometheus text
//! (OpenMetrics) format with the `prometheus-client` crate.

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
        Self {
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
