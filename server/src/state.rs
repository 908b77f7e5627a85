//! `AppState`: everything a handler needs, shared behind one `Arc`.

use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vitals_shared::day::Clock;

use crate::codes::OneTimeCodes;
use crate::config::Quotas;
use crate::demo::DemoHub;
use crate::error::ApiError;
use crate::identity::InstanceId;
use crate::limiter::{SlidingWindow, TokenBuckets};
use crate::live::LiveHub;
use crate::metrics::Metrics;
use crate::secret::ServerSecret;
use crate::store::Store;

/// How the server is reached, for cookies and client addresses.
#[derive(Debug, Clone, Copy, Default)]
pub struct Exposure {
    /// Served over TLS by this process.
    pub tls: bool,
    /// A proxy in front terminates TLS and sets X-Forwarded-For.
    pub behind_proxy: bool,
}

impl Exposure {
    /// Cookies get `Secure` unless this is plain-HTTP development.
    pub fn secure_cookies(&self) -> bool {
        self.tls || self.behind_proxy
    }
}

/// The shared state.
pub struct Inner {
    /// Storage backend.
    pub store: Arc<dyn Store>,
    /// Key of the instance-id HMAC.
    pub secret: ServerSecret,
    /// Source of "now" (injected in tests).
    pub clock: Arc<dyn Clock>,
    /// Limits and quotas.
    pub quotas: Quotas,
    /// TLS / proxy situation.
    pub exposure: Exposure,
    /// Ingest rate per instance.
    pub ingest_limit: TokenBuckets<InstanceId>,
    /// Registrations per client address.
    pub registration_limit: SlidingWindow<IpAddr>,
    /// Pairing claims per client address.
    pub claim_limit: SlidingWindow<IpAddr>,
    /// Pairing and web-link codes.
    pub codes: OneTimeCodes,
    /// Live fan-out.
    pub live: LiveHub,
    /// Own metrics.
    pub metrics: Metrics,
    /// The example streams' fan-out and health.
    pub demo: Arc<DemoHub>,
    /// OTLP pushes per client address; `None` when the receiver is off.
    pub otlp_limit: Option<SlidingWindow<IpAddr>>,
    /// This process's OpenTelemetry `service.instance.id` (random per
    /// start): OTLP resources carrying it are this server's own metrics.
    pub self_instance: String,
}

/// Cheap to clone; derefs to [`Inner`].
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state.
    pub fn new(
        store: Arc<dyn Store>,
        secret: ServerSecret,
        clock: Arc<dyn Clock>,
        quotas: Quotas,
        exposure: Exposure,
        otlp_per_minute: Option<u32>,
    ) -> Self {
        let hour = Duration::from_secs(3600);
        Self(Arc::new(Inner {
            ingest_limit: TokenBuckets::new(quotas.ingest_rate, quotas.ingest_burst),
            registration_limit: SlidingWindow::new(quotas.registrations_per_hour, hour),
            claim_limit: SlidingWindow::new(quotas.claims_per_hour, hour),
            store,
            secret,
            clock,
            quotas,
            exposure,
            codes: OneTimeCodes::default(),
            live: LiveHub::default(),
            metrics: Metrics::default(),
            demo: Arc::new(DemoHub::default()),
            otlp_limit: otlp_per_minute.map(|n| SlidingWindow::new(n, Duration::from_secs(60))),
            self_instance: uuid::Uuid::new_v4().to_string(),
        }))
    }

    /// Runs a store call, recording its latency under `op`.
    pub async fn timed<T, E>(
        &self,
        op: &'static str,
        f: impl Future<Output = Result<T, E>>,
    ) -> Result<T, ApiError>
    where
        ApiError: From<E>,
    {
        let t = Instant::now();
        let out = f.await;
        self.metrics.observe_store(op, t.elapsed());
        out.map_err(ApiError::from)
    }
}
