//! Starting and stopping the server.
//!
//! [`serve`] takes an already-bound listener (tests bind port 0) and a
//! shutdown future; on shutdown it stops accepting, lets in-flight requests
//! finish, stops the erase task and closes the store. [`main`] is what the
//! binary runs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use vitals_shared::day::SystemClock;

use crate::app::app;
use crate::config::{Cli, LogFormat, Settings, StoreSpec};
use crate::secret::ServerSecret;
use crate::state::{AppState, Exposure};
use crate::store::Store;
use crate::store::kdb::KdbStore;
use crate::store::kdb::conn::LinkOptions;
use crate::store::sqlite::SqliteStore;

/// How long in-flight requests get to finish on shutdown.
pub const GRACE: Duration = Duration::from_secs(10);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// A setting is wrong.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The secret cannot be had.
    #[error(transparent)]
    Secret(#[from] crate::secret::SecretError),
    /// The store cannot be opened.
    #[error("cannot open the store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The TLS files cannot be used.
    #[error("cannot use the TLS certificate/key: {0}")]
    Tls(String),
    /// The address cannot be bound.
    #[error("cannot listen on '{addr}': {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The runtime or server failed.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens the configured store.
pub fn open_store(spec: &StoreSpec) -> Result<Arc<dyn Store>, LaunchError> {
    match spec {
        StoreSpec::Sqlite(path) => Ok(Arc::new(SqliteStore::open(path)?)),
        StoreSpec::Kdb(target) => Ok(Arc::new(KdbStore::new(
            target.clone(),
            LinkOptions::default(),
        ))),
        StoreSpec::KdbTick { rdb, tp } => Ok(Arc::new(KdbStore::tick(
            rdb.clone(),
            tp.clone(),
            LinkOptions::default(),
        ))),
    }
}

/// Builds a rustls config for TLS 1.2 and 1.3 from PEM files.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<RustlsConfig, LaunchError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let tls = |what: &str, p: &std::path::Path, e: &dyn std::fmt::Display| {
        LaunchError::Tls(format!("{what} '{}': {e}", p.display()))
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| tls("cannot read certificate", cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls("bad certificate", cert, &e))?;
    if certs.is_empty() {
        return Err(tls(
            "no certificate in",
            cert,
            &"expected a PEM 'CERTIFICATE' block",
        ));
    }
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|e| tls("cannot read private key", key, &e))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| LaunchError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| LaunchError::Tls(format!("certificate and key do not fit together: {e}")))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(RustlsConfig::from_config(Arc::new(cfg)))
}

/// Serves `state` on `listener` until `shutdown` resolves, then drains and
/// closes the store.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    tls: Option<RustlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), LaunchError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let eraser = tokio::spawn(crate::erase::run(state.clone(), stop_rx));
    let make = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let result = match tls {
        None => axum::serve(listener, make)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(LaunchError::from),
        Some(cfg) => {
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                h.graceful_shutdown(Some(GRACE));
            });
            axum_server::from_tcp_rustls(listener.into_std()?, cfg)?
                .handle(handle)
                .serve(make)
                .await
                .map_err(LaunchError::from)
        }
    };
    let _ = stop_tx.send(true);
    let _ = eraser.await;
    state.store.close().await;
    tracing::info!("stopped; store closed");
    result
}

/// Resolves when SIGTERM or ctrl-c arrives.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VITALS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    // Colours only for a person at a terminal, never in files or journals.
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => b.try_init(),
        LogFormat::Json => b.json().try_init(),
    };
}

/// The binary: resolve settings, open everything, serve until a signal.
/// Returns the exit code: 0 clean stop, 2 bad settings, 1 anything else.
pub fn main(cli: Cli) -> i32 {
    let settings = match Settings::resolve(cli, std::env::var("VITALS_SECRET").ok()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vitals-server: {e}");
            return 2;
        }
    };
    init_logs(settings.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vitals-server: cannot start the async runtime: {e}");
            return 1;
        }
    };
    match runtime.block_on(start(settings)) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("vitals-server: {e}");
            if matches!(e, LaunchError::Config(_)) {
                2
            } else {
                1
            }
        }
    }
}

async fn start(settings: Settings) -> Result<(), LaunchError> {
    let secret = ServerSecret::load(
        settings.secret.as_ref().map(|s| s.0.as_str()),
        &settings.secret_file,
    )?;
    let tls = match &settings.tls {
        Some((c, k)) => Some(tls_config(c, k)?),
        None => None,
    };
    let store = open_store(&settings.store)?;
    let listener =
        TcpListener::bind(settings.listen)
            .await
            .map_err(|source| LaunchError::Bind {
                addr: settings.listen,
                source,
            })?;
    let addr = listener.local_addr()?;
    let exposure = Exposure {
        tls: tls.is_some(),
        behind_proxy: settings.behind_proxy,
    };
    let state = AppState::new(
        store,
        secret,
        Arc::new(SystemClock),
        settings.quotas.clone(),
        exposure,
        settings.demo.otlp.then_some(settings.demo.otlp_per_minute),
    );
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(store = %settings.store, "vitals-server {} listening on {scheme}://{addr}", env!("CARGO_PKG_VERSION"));
    let meters = crate::demo::start(
        &state,
        &settings.demo,
        addr,
        settings.tls.as_ref().map(|(c, _)| c.as_path()),
    );
    let out = serve(state, listener, tls, shutdown_signal()).await;
    if let Some(m) = meters {
        // The exporter's last export may fail now that the server is down.
        let _ = m.shutdown();
    }
    out
}
