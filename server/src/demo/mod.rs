//! The example streams shown before consent: samples relayed live from
//! Prometheus and OpenTelemetry, **never stored** (nothing here has access
//! to the store).
//!
//! - [`host`]: this server's own host metrics (sysinfo), published on
//!   `/metrics` and read by the OpenTelemetry SDK, so both streams show real
//!   data with nothing configured (labelled `origin: self`).
//! - [`prom`]: `--demo-prometheus` (PromQL over node_exporter series via the
//!   HTTP API), `--demo-scrape` and the self-scrape (exposition text parsed
//!   by `prometheus-parse`, CPU from counter deltas).
//! - [`otel`]: the OTLP/HTTP receiver's mapping of semantic-convention
//!   metrics, and the SDK exporter that feeds it our own host metrics.
//!
//! One task per source; [`DemoHub`] broadcasts to every viewer (a viewer
//! that falls behind is dropped, never waited for) and keeps each source's
//! health for `/readyz`, `/metrics` and the stream's `sources` events.

pub mod host;
pub mod otel;
pub mod prom;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast;
use vitals_shared::wire::DemoSample;

/// Viewers' buffer: a viewer this many events behind is dropped.
pub const VIEWER_BUFFER: usize = 512;

/// How often each polling source reads.
pub const POLL_EVERY: Duration = Duration::from_secs(1);

/// Health of one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceStatus {
    /// `prometheus` or `otel`.
    pub source: &'static str,
    /// `query`, `scrape` or `otlp`.
    pub kind: &'static str,
    /// The URL, or `self`.
    pub origin: String,
    /// Delivered samples on its last attempt.
    pub live: bool,
    /// Consecutive failures.
    pub failures: u32,
    /// The last error, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SourceStatus {
    /// A source that has not delivered yet.
    fn new(source: &'static str, kind: &'static str, origin: &str) -> Self {
        Self {
            source,
            kind,
            origin: origin.to_owned(),
            live: false,
            failures: 0,
            error: None,
        }
    }
}

/// One message of the stream: a sample, or the sources' health.
#[derive(Debug, Clone)]
pub enum DemoEvent {
    /// `event: sample`.
    Sample(Arc<str>),
    /// `event: sources`.
    Sources(Arc<str>),
}

/// Fan-out and health.
pub struct DemoHub {
    tx: broadcast::Sender<DemoEvent>,
    sources: Mutex<BTreeMap<String, SourceStatus>>,
}

impl Default for DemoHub {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(VIEWER_BUFFER).0,
            sources: Mutex::new(BTreeMap::new()),
        }
    }
}

fn key(source: &str, kind: &str, origin: &str) -> String {
    format!("{source} {kind} {origin}")
}

impl DemoHub {
    /// A new viewer.
    pub fn subscribe(&self) -> broadcast::Receiver<DemoEvent> {
        self.tx.subscribe()
    }

    /// Sends samples to every viewer (dropped when nobody watches).
    pub fn publish(&self, samples: &[DemoSample]) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        for s in samples {
            if let Ok(json) = serde_json::to_string(s) {
                let _ = self.tx.send(DemoEvent::Sample(json.into()));
            }
        }
    }

    /// Registers a source (not live until it delivers).
    pub fn register(&self, source: &'static str, kind: &'static str, origin: &str) {
        if let Ok(mut m) = self.sources.lock() {
            m.entry(key(source, kind, origin))
                .or_insert_with(|| SourceStatus::new(source, kind, origin));
        }
    }

    /// Records an attempt; tells viewers when a source's liveness changes.
    pub fn report(
        &self,
        source: &'static str,
        kind: &'static str,
        origin: &str,
        result: Result<(), String>,
    ) {
        let changed = {
            let Ok(mut m) = self.sources.lock() else {
                return;
            };
            let st = m
                .entry(key(source, kind, origin))
                .or_insert_with(|| SourceStatus::new(source, kind, origin));
            let was = st.live;
            match result {
                Ok(()) => {
                    st.live = true;
                    st.failures = 0;
                    st.error = None;
                }
                Err(e) => {
                    if st.failures == 0 {
                        tracing::warn!(%source, %kind, %origin, error = %e, "example source failing");
                    }
                    st.live = false;
                    st.failures = st.failures.saturating_add(1);
                    st.error = Some(e);
                }
            }
            was != st.live
        };
        if changed {
            self.announce();
        }
    }

    /// Every source's health.
    pub fn sources(&self) -> Vec<SourceStatus> {
        self.sources
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The `sources` event, as JSON.
    pub fn sources_json(&self) -> String {
        serde_json::json!({ "sources": self.sources() }).to_string()
    }

    fn announce(&self) {
        if self.tx.receiver_count() > 0 {
            let _ = self.tx.send(DemoEvent::Sources(self.sources_json().into()));
        }
    }
}

/// Starts every configured source. `listen` is where this server listens
/// (for the self sources); `tls_cert` its certificate when it serves TLS.
/// Returns the OpenTelemetry meter provider to keep alive (and shut down).
pub fn start(
    state: &crate::state::AppState,
    demo: &crate::config::DemoSettings,
    listen: std::net::SocketAddr,
    tls_cert: Option<&std::path::Path>,
) -> Option<opentelemetry_sdk::metrics::SdkMeterProvider> {
    let metrics = std::sync::Arc::new(MetricsHandle(state.clone()));
    let client = |certs: Option<&std::path::Path>| -> Result<reqwest::Client, String> {
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3));
        if let Some(path) = certs {
            let pem = std::fs::read(path).map_err(|e| e.to_string())?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| e.to_string())?;
            b = b.tls_certs_only(certs);
        }
        b.build().map_err(|e| e.to_string())
    };
    let http = match client(None) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "example streams off: cannot build an HTTP client");
            return None;
        }
    };
    let hub = state.demo.clone();
    if let Some(url) = &demo.prometheus {
        tokio::spawn(prom::query_loop(
            hub.clone(),
            metrics.clone(),
            http.clone(),
            url.clone(),
        ));
    }
    if let Some(url) = &demo.scrape {
        tokio::spawn(prom::scrape_loop(
            hub.clone(),
            metrics.clone(),
            http.clone(),
            url.clone(),
            url.clone(),
        ));
    }
    if !(demo.self_scrape || demo.self_otel) {
        return None;
    }
    let host_snapshot = host::spawn(&state.metrics);
    // Our own address, as a client reaches it.
    let port = listen.port();
    let base = match tls_cert {
        Some(_) => format!("https://localhost:{port}"),
        None if listen.ip().is_unspecified() => format!("http://127.0.0.1:{port}"),
        None => format!("http://{listen}"),
    };
    let self_http = match client(tls_cert) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "the self example streams cannot trust this server's certificate");
            http
        }
    };
    if demo.self_scrape {
        let (hub, metrics, http) = (hub.clone(), metrics.clone(), self_http.clone());
        let url = format!("{base}/metrics");
        tokio::spawn(async move {
            // Our host metrics appear after the sampler's first reading.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            prom::scrape_loop(hub, metrics, http, url, "self".into()).await;
        });
    }
    if demo.self_otel {
        hub.register("otel", "otlp", "self");
        match otel::start_self_export(
            format!("{base}/v1/metrics"),
            self_http,
            host_snapshot,
            &state.self_instance,
        ) {
            Ok(p) => return Some(p),
            Err(e) => {
                hub.report("otel", "otlp", "self", Err(e.clone()));
                tracing::warn!(error = %e, "the self OpenTelemetry stream is off");
            }
        }
    }
    None
}

/// Gives the source loops the server's metrics without owning the state.
pub struct MetricsHandle(crate::state::AppState);

impl std::ops::Deref for MetricsHandle {
    type Target = crate::metrics::Metrics;
    fn deref(&self) -> &crate::metrics::Metrics {
        &self.0.metrics
    }
}

/// Retry pause after `failures` consecutive failures: 1 s doubling to 30 s.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(5)).min(Duration::from_secs(30))
}

/// Now, in epoch milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A demo sample.
pub fn sample(
    source: &str,
    metric: &str,
    ts: i64,
    value: f64,
    origin: &str,
    mount: Option<&str>,
) -> DemoSample {
    let mut labels = BTreeMap::new();
    labels.insert("origin".to_owned(), origin.to_owned());
    if let Some(m) = mount {
        labels.insert("mount".to_owned(), m.to_owned());
    }
    DemoSample {
        source: source.to_owned(),
        metric: metric.to_owned(),
        ts,
        value: value.clamp(0.0, 100.0),
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_viewer_is_dropped_not_waited_for() {
        let hub = DemoHub::default();
        let mut slow = hub.subscribe();
        let many: Vec<_> = (0..VIEWER_BUFFER + 10)
            .map(|i| sample("otel", "cpu", i as i64, 1.0, "self", None))
            .collect();
        // Publishing never blocks, however far behind the viewer is.
        hub.publish(&many);
        assert!(matches!(
            slow.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
    }

    #[test]
    fn liveness_changes_are_announced() {
        let hub = DemoHub::default();
        let mut rx = hub.subscribe();
        hub.register("prometheus", "query", "http://p");
        hub.report("prometheus", "query", "http://p", Ok(()));
        assert!(matches!(rx.try_recv(), Ok(DemoEvent::Sources(j)) if j.contains("\"live\":true")));
        hub.report("prometheus", "query", "http://p", Ok(()));
        assert!(rx.try_recv().is_err(), "no news, no event");
        hub.report("prometheus", "query", "http://p", Err("down".into()));
        assert!(matches!(rx.try_recv(), Ok(DemoEvent::Sources(j)) if j.contains("down")));
        assert_eq!(hub.sources()[0].failures, 1);
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(10), Duration::from_secs(30));
    }
}
