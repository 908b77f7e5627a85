//! Settings: defaults, then a TOML file (`--config`), then `VITALS_*`
//! environment variables, then flags — later ones win.
//!
//! Every flag has an environment variable and a file key of the same name
//! (`--daily-rows`, `VITALS_DAILY_ROWS`, `daily_rows`). The server secret can
//! come from `VITALS_SECRET` or the file key `secret`, never from a flag, so it
//! never shows in `ps`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;

/// The Vitals server: stores consented uploads for the current
/// Europe/Warsaw day and serves the website.
#[derive(Debug, Default, Parser)]
#[command(name = "vitals-server", version, about)]
pub struct Cli {
    /// TOML file with any of the settings below (keys like `daily_rows`).
    #[arg(long, env = "VITALS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "VITALS_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// Storage: `sqlite:PATH`, `kdb://USER:PASSWORD@HOST:PORT` or
    /// `kdb+unix://USER:PASSWORD@localhost:PORT` [default: sqlite: + vitals.sqlite in the data directory].
    #[arg(long, env = "VITALS_STORE", value_name = "URL")]
    pub store: Option<String>,
    /// With a kdb+ store: `direct` (one q process holds the tables) or
    /// `tick` (writes through the tickerplant --kdb-tick, reads from the RDB --store) [default: direct].
    #[arg(long, env = "VITALS_KDB_MODE", value_name = "MODE")]
    pub kdb_mode: Option<String>,
    /// With --kdb-mode tick: the tickerplant, `kdb://USER:PASSWORD@HOST:PORT` (or kdb+unix://).
    #[arg(long, env = "VITALS_KDB_TICK", value_name = "URL")]
    pub kdb_tick: Option<String>,
    /// TLS certificate chain, PEM (with --tls-key).
    #[arg(long, env = "VITALS_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key, PEM (with --tls-cert).
    #[arg(long, env = "VITALS_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// A reverse proxy terminates TLS: allow plain HTTP on any address and
    /// take the client address from the last X-Forwarded-For entry.
    #[arg(long, env = "VITALS_BEHIND_PROXY", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub behind_proxy: Option<bool>,
    /// File holding the server secret (created 0600 if missing) [default: server.secret in the data directory].
    #[arg(long, env = "VITALS_SECRET_FILE", value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// Ingest requests per second per instance [default: 5].
    #[arg(long, env = "VITALS_INGEST_RATE", value_name = "N")]
    pub ingest_rate: Option<f64>,
    /// Ingest burst per instance [default: 20].
    #[arg(long, env = "VITALS_INGEST_BURST", value_name = "N")]
    pub ingest_burst: Option<u32>,
    /// Rows per table per instance per Warsaw day [default: 200000].
    #[arg(long, env = "VITALS_DAILY_ROWS", value_name = "N")]
    pub daily_rows: Option<u64>,
    /// Largest request body in bytes [default: 1048576].
    #[arg(long, env = "VITALS_MAX_BODY_BYTES", value_name = "N")]
    pub max_body_bytes: Option<usize>,
    /// Registrations per client address per hour [default: 20].
    #[arg(long, env = "VITALS_REGISTRATIONS_PER_HOUR", value_name = "N")]
    pub registrations_per_hour: Option<u32>,
    /// Pairing-code claims per client address per hour [default: 60].
    #[arg(long, env = "VITALS_CLAIMS_PER_HOUR", value_name = "N")]
    pub claims_per_hour: Option<u32>,
    /// Most instances the server holds [default: 100000].
    #[arg(long, env = "VITALS_MAX_INSTANCES", value_name = "N")]
    pub max_instances: Option<u64>,
    /// Log format: `text` or `json` [default: text]. Levels: `VITALS_LOG`.
    #[arg(long, env = "VITALS_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Example stream: a Prometheus server to query (node_exporter series), e.g. http://prometheus:9090.
    #[arg(long, env = "VITALS_DEMO_PROMETHEUS", value_name = "URL")]
    pub demo_prometheus: Option<String>,
    /// Example stream: a /metrics endpoint to scrape directly (node_exporter's), e.g. http://host:9100/metrics.
    #[arg(long, env = "VITALS_DEMO_SCRAPE", value_name = "URL")]
    pub demo_scrape: Option<String>,
    /// Example stream: scrape this server's own host metrics from its /metrics [default: true].
    #[arg(long, env = "VITALS_DEMO_SELF_SCRAPE", value_name = "BOOL")]
    pub demo_self_scrape: Option<bool>,
    /// Example stream: export this server's own host metrics with the OpenTelemetry SDK to its own /v1/metrics [default: true].
    #[arg(long, env = "VITALS_DEMO_SELF_OTEL", value_name = "BOOL")]
    pub demo_self_otel: Option<bool>,
    /// Accept OTLP/HTTP metrics on POST /v1/metrics for the example stream [default: true].
    #[arg(long, env = "VITALS_DEMO_OTLP", value_name = "BOOL")]
    pub demo_otlp: Option<bool>,
    /// OTLP pushes per client address per minute [default: 120].
    #[arg(long, env = "VITALS_DEMO_OTLP_PER_MINUTE", value_name = "N")]
    pub demo_otlp_per_minute: Option<u32>,
}

/// How logs are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The `--config` file: the same keys as the flags, snake_case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    store: Option<String>,
    kdb_mode: Option<String>,
    kdb_tick: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    behind_proxy: Option<bool>,
    secret_file: Option<PathBuf>,
    secret: Option<String>,
    ingest_rate: Option<f64>,
    ingest_burst: Option<u32>,
    daily_rows: Option<u64>,
    max_body_bytes: Option<usize>,
    registrations_per_hour: Option<u32>,
    claims_per_hour: Option<u32>,
    max_instances: Option<u64>,
    log_format: Option<LogFormat>,
    demo_prometheus: Option<String>,
    demo_scrape: Option<String>,
    demo_self_scrape: Option<bool>,
    demo_self_otel: Option<bool>,
    demo_otlp: Option<bool>,
    demo_otlp_per_minute: Option<u32>,
}

/// Where rows are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// The embedded SQLite file.
    Sqlite(PathBuf),
    /// A q process running `q/vitals.q` (direct mode).
    Kdb(crate::store::kdb::conn::Target),
    /// Tick mode: an RDB (`q/tick/rdb.q`) and its tickerplant (`q/tick/tick.q`).
    KdbTick {
        /// The RDB, for reads and write answers.
        rdb: crate::store::kdb::conn::Target,
        /// The tickerplant, for writes.
        tp: crate::store::kdb::conn::Target,
    },
}

impl fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSpec::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            StoreSpec::Kdb(t) => write!(f, "{t}"),
            StoreSpec::KdbTick { rdb, tp } => write!(f, "{rdb} (tick mode, tickerplant {tp})"),
        }
    }
}

/// Limits and quotas.
#[derive(Debug, Clone, PartialEq)]
pub struct Quotas {
    /// Ingest requests per second per instance.
    pub ingest_rate: f64,
    /// Ingest burst per instance.
    pub ingest_burst: u32,
    /// Rows per table per instance per day.
    pub daily_rows: u64,
    /// Largest body in bytes.
    pub max_body_bytes: usize,
    /// Registrations per client address per hour.
    pub registrations_per_hour: u32,
    /// Pairing claims per client address per hour.
    pub claims_per_hour: u32,
    /// Most instances.
    pub max_instances: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            ingest_rate: 5.0,
            ingest_burst: 20,
            daily_rows: 200_000,
            max_body_bytes: vitals_shared::limits::DEFAULT_MAX_BODY_BYTES,
            registrations_per_hour: 20,
            claims_per_hour: 60,
            max_instances: 100_000,
        }
    }
}

/// A secret string whose `Debug` is redacted.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Redacted(pub String);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address.
    pub listen: SocketAddr,
    /// Storage backend.
    pub store: StoreSpec,
    /// TLS certificate and key files.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Behind a TLS-terminating proxy.
    pub behind_proxy: bool,
    /// Secret file path.
    pub secret_file: PathBuf,
    /// Secret given directly (env or config file), 64 hex digits.
    pub secret: Option<Redacted>,
    /// Quotas.
    pub quotas: Quotas,
    /// Log format.
    pub log_format: LogFormat,
    /// The example streams.
    pub demo: DemoSettings,
}

/// Where the example streams come from; each can be switched off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSettings {
    /// A Prometheus server to query.
    pub prometheus: Option<String>,
    /// A /metrics endpoint to scrape.
    pub scrape: Option<String>,
    /// Scrape our own /metrics.
    pub self_scrape: bool,
    /// Export our own host metrics with the OpenTelemetry SDK.
    pub self_otel: bool,
    /// Accept OTLP pushes.
    pub otlp: bool,
    /// OTLP pushes per client address per minute.
    pub otlp_per_minute: u32,
}

/// A setting that cannot be used, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file cannot be read.
    #[error("cannot read the config file '{path}': {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid.
    #[error("the config file '{path}' is not valid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML parser's words.
        message: String,
    },
    /// Any other invalid value.
    #[error("{0}")]
    Invalid(String),
}

fn pick<T>(flag: Option<T>, file: Option<T>, default: T) -> T {
    flag.or(file).unwrap_or(default)
}

impl Settings {
    /// Resolves settings from flags/env (`cli`), the config file it names, and
    /// defaults; `secret_env` is `VITALS_SECRET`.
    pub fn resolve(cli: Cli, secret_env: Option<String>) -> Result<Settings, ConfigError> {
        let file = match &cli.config {
            None => FileConfig::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.clone(),
                    message: e.message().to_owned(),
                })?
            }
        };
        let data_dir = default_data_dir();
        let d = Quotas::default();
        let quotas = Quotas {
            ingest_rate: pick(cli.ingest_rate, file.ingest_rate, d.ingest_rate),
            ingest_burst: pick(cli.ingest_burst, file.ingest_burst, d.ingest_burst),
            daily_rows: pick(cli.daily_rows, file.daily_rows, d.daily_rows),
            max_body_bytes: pick(cli.max_body_bytes, file.max_body_bytes, d.max_body_bytes),
            registrations_per_hour: pick(
                cli.registrations_per_hour,
                file.registrations_per_hour,
                d.registrations_per_hour,
            ),
            claims_per_hour: pick(cli.claims_per_hour, file.claims_per_hour, d.claims_per_hour),
            max_instances: pick(cli.max_instances, file.max_instances, d.max_instances),
        };
        check_quotas(&quotas)?;

        let store_text = cli.store.or(file.store);
        let mut store = parse_store(store_text.as_deref(), &data_dir)?;
        let tick = cli.kdb_tick.or(file.kdb_tick);
        match cli.kdb_mode.or(file.kdb_mode).as_deref() {
            None | Some("direct") => {
                if tick.is_some() {
                    return Err(ConfigError::Invalid(
                        "--kdb-tick is for --kdb-mode tick".into(),
                    ));
                }
            }
            Some("tick") => {
                let StoreSpec::Kdb(rdb) = store else {
                    return Err(ConfigError::Invalid(
                        "--kdb-mode tick needs --store kdb://... (the RDB)".into(),
                    ));
                };
                let Some(tp) = tick else {
                    return Err(ConfigError::Invalid(
                        "--kdb-mode tick needs --kdb-tick kdb://USER:PASSWORD@HOST:PORT (the tickerplant)".into(),
                    ));
                };
                let tp = crate::store::kdb::conn::Target::parse(&tp)
                    .map_err(|e| ConfigError::Invalid(format!("--kdb-tick: {e}")))?;
                store = StoreSpec::KdbTick { rdb, tp };
            }
            Some(other) => {
                return Err(ConfigError::Invalid(format!(
                    "--kdb-mode '{other}' is not a mode: use direct or tick"
                )));
            }
        }
        let tls = match (cli.tls_cert.or(file.tls_cert), cli.tls_key.or(file.tls_key)) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Invalid(
                    "--tls-cert needs --tls-key (the PEM private key) as well".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::Invalid(
                    "--tls-key needs --tls-cert (the PEM certificate chain) as well".into(),
                ));
            }
        };
        let behind_proxy = pick(cli.behind_proxy, file.behind_proxy, false);
        let listen = pick(
            cli.listen,
            file.listen,
            SocketAddr::from(([127, 0, 0, 1], 8080)),
        );
        if !listen.ip().is_loopback() && tls.is_none() && !behind_proxy {
            return Err(ConfigError::Invalid(format!(
                "refusing to listen on '{listen}' without TLS: add --tls-cert FILE --tls-key FILE, \
                 or --behind-proxy if a reverse proxy terminates TLS in front of this server"
            )));
        }
        let secret = secret_env.or(file.secret).map(Redacted);
        let demo = DemoSettings {
            prometheus: check_url(
                "--demo-prometheus",
                cli.demo_prometheus.or(file.demo_prometheus),
            )?,
            scrape: check_url("--demo-scrape", cli.demo_scrape.or(file.demo_scrape))?,
            self_scrape: pick(cli.demo_self_scrape, file.demo_self_scrape, true),
            self_otel: pick(cli.demo_self_otel, file.demo_self_otel, true),
            otlp: pick(cli.demo_otlp, file.demo_otlp, true),
            otlp_per_minute: pick(cli.demo_otlp_per_minute, file.demo_otlp_per_minute, 120),
        };
        if demo.otlp_per_minute == 0 {
            return Err(ConfigError::Invalid(
                "--demo-otlp-per-minute '0' is not allowed: give at least 1 (or --demo-otlp false)"
                    .into(),
            ));
        }
        if demo.self_otel && !demo.otlp {
            return Err(ConfigError::Invalid(
                "--demo-self-otel needs the OTLP receiver: set --demo-otlp true or --demo-self-otel false".into(),
            ));
        }
        Ok(Settings {
            listen,
            store,
            tls,
            behind_proxy,
            secret_file: pick(
                cli.secret_file,
                file.secret_file,
                data_dir.join("server.secret"),
            ),
            secret,
            quotas,
            log_format: pick(cli.log_format, file.log_format, LogFormat::Text),
            demo,
        })
    }
}

fn check_url(flag: &str, url: Option<String>) -> Result<Option<String>, ConfigError> {
    match url {
        Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => Err(
            ConfigError::Invalid(format!("{flag} '{u}' must be an http:// or https:// URL")),
        ),
        other => Ok(other.map(|u| u.trim_end_matches('/').to_owned())),
    }
}

fn check_quotas(q: &Quotas) -> Result<(), ConfigError> {
    let bad = |what: &str, v: String, want: &str| {
        Err(ConfigError::Invalid(format!(
            "{what} '{v}' is not allowed: {want}"
        )))
    };
    if !(q.ingest_rate.is_finite() && q.ingest_rate > 0.0) {
        return bad(
            "--ingest-rate",
            q.ingest_rate.to_string(),
            "give a positive number of requests per second",
        );
    }
    if q.ingest_burst == 0 {
        return bad("--ingest-burst", "0".into(), "give at least 1");
    }
    if q.daily_rows == 0 {
        return bad("--daily-rows", "0".into(), "give at least 1");
    }
    if q.max_body_bytes < 1024 {
        return bad(
            "--max-body-bytes",
            q.max_body_bytes.to_string(),
            "give at least 1024",
        );
    }
    if q.registrations_per_hour == 0 || q.claims_per_hour == 0 {
        return bad(
            "--registrations-per-hour/--claims-per-hour",
            "0".into(),
            "give at least 1",
        );
    }
    if q.max_instances == 0 {
        return bad("--max-instances", "0".into(), "give at least 1");
    }
    Ok(())
}

fn parse_store(text: Option<&str>, data_dir: &Path) -> Result<StoreSpec, ConfigError> {
    let default = || StoreSpec::Sqlite(data_dir.join("vitals.sqlite"));
    let Some(text) = text else {
        return Ok(default());
    };
    if let Some(path) = text.strip_prefix("sqlite:") {
        return Ok(if path.is_empty() {
            default()
        } else {
            StoreSpec::Sqlite(PathBuf::from(path))
        });
    }
    if text.starts_with("kdb://") || text.starts_with("kdb+unix://") {
        return crate::store::kdb::conn::Target::parse(text)
            .map(StoreSpec::Kdb)
            .map_err(|e| ConfigError::Invalid(format!("--store: {e}")));
    }
    // Never echo a URL that may hold a password.
    let scheme = text.split_once(':').map_or(text, |(s, _)| s);
    Err(ConfigError::Invalid(format!(
        "unknown store '{scheme}': use --store sqlite:PATH, kdb://USER:PASSWORD@HOST:PORT \
         or kdb+unix://USER:PASSWORD@localhost:PORT"
    )))
}

/// The platform data directory (`~/.local/share/vitals` on Linux).
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "vitals")
        .map(|d| d.data_dir().to_owned())
        .unwrap_or_else(|| PathBuf::from("vitals-data"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Settings, ConfigError> {
        let mut v = vec!["vitals-server"];
        v.extend_from_slice(args);
        Settings::resolve(Cli::try_parse_from(v).unwrap(), None)
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let s = parse(&[]).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert!(matches!(&s.store, StoreSpec::Sqlite(p) if p.ends_with("vitals.sqlite")));
        assert_eq!(s.quotas, Quotas::default());
        assert!(!s.behind_proxy);
    }

    #[test]
    fn public_address_needs_tls_or_proxy() {
        let e = parse(&["--listen", "0.0.0.0:8080"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--tls-cert") && e.contains("--behind-proxy"),
            "{e}"
        );
        assert!(
            parse(&["--listen", "0.0.0.0:8080", "--behind-proxy"])
                .unwrap()
                .behind_proxy
        );
        assert!(parse(&["--listen", "[::1]:8080"]).is_ok());
        let s = parse(&[
            "--listen",
            "0.0.0.0:8443",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ])
        .unwrap();
        assert!(s.tls.is_some());
        assert!(
            parse(&["--tls-cert", "c.pem"])
                .unwrap_err()
                .to_string()
                .contains("--tls-key")
        );
    }

    #[test]
    fn file_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("v.toml");
        std::fs::write(
            &f,
            "daily_rows = 7\ningest_burst = 3\nstore = \"sqlite:/tmp/x.sqlite\"\nsecret = \"00\"\n",
        )
        .unwrap();
        let s = parse(&["--config", f.to_str().unwrap(), "--daily-rows", "9"]).unwrap();
        assert_eq!(s.quotas.daily_rows, 9);
        assert_eq!(s.quotas.ingest_burst, 3);
        assert_eq!(s.store, StoreSpec::Sqlite("/tmp/x.sqlite".into()));
        assert!(!format!("{s:?}").contains("secret: Some(Redacted(\"00\"))"));
    }

    #[test]
    fn bad_values_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("v.toml");
        std::fs::write(&f, "dayly_rows = 7\n").unwrap();
        let e = parse(&["--config", f.to_str().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("dayly_rows"), "{e}");
        std::fs::write(&f, "daily_rows = \"many\"\n").unwrap();
        assert!(parse(&["--config", f.to_str().unwrap()]).is_err());
        assert!(
            parse(&["--config", "/nonexistent/v.toml"])
                .unwrap_err()
                .to_string()
                .contains("cannot read")
        );
        assert!(
            parse(&["--ingest-rate", "0"])
                .unwrap_err()
                .to_string()
                .contains("--ingest-rate")
        );
        assert!(parse(&["--ingest-rate", "NaN"]).is_err());
        assert!(parse(&["--max-body-bytes", "10"]).is_err());
        let e = parse(&["--store", "postgres://u:hunter2@h/db"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("'postgres'") && !e.contains("hunter2"), "{e}");
        assert!(Cli::try_parse_from(["vitals-server", "--daily-rows", "-1"]).is_err());
    }

    #[test]
    fn kdb_store_urls() {
        let s = parse(&["--store", "kdb://vitals:hunter2@db.local:5010"]).unwrap();
        assert_eq!(s.store.to_string(), "kdb://vitals:***@db.local:5010");
        assert!(!format!("{s:?}").contains("hunter2"));
        let s = parse(&["--store", "kdb+unix://vitals:hunter2@localhost:5010"]).unwrap();
        assert_eq!(s.store.to_string(), "kdb+unix://vitals:***@localhost:5010");
        for (url, want) in [
            ("kdb://db:5010", "USER:PASSWORD"),
            ("kdb://vitals@db:5010", "USER:PASSWORD"),
            ("kdb://vitals:hunter2@db", "needs a port"),
            ("kdb://vitals:hunter2@db:0", "1 to 65535"),
            ("kdb://vitals:hunter2@db:x", "1 to 65535"),
            ("kdb+unix://vitals:hunter2@other:5010", "this host only"),
        ] {
            let e = parse(&["--store", url]).unwrap_err().to_string();
            assert!(e.contains(want) && !e.contains("hunter2"), "{url}: {e}");
        }
        let kdb = ["--store", "kdb://vitals:pw@127.0.0.1:5010"];
        assert!(parse(&[&kdb[..], &["--kdb-mode", "direct"]].concat()).is_ok());
        let e = parse(&[&kdb[..], &["--kdb-mode", "tick"]].concat())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--kdb-tick"), "{e}");
        let tick = [
            "--kdb-mode",
            "tick",
            "--kdb-tick",
            "kdb://vitals:hunter2@tp:5010",
        ];
        let s = parse(&[&kdb[..], &tick[..]].concat()).unwrap();
        assert_eq!(
            s.store.to_string(),
            "kdb://vitals:***@127.0.0.1:5010 (tick mode, tickerplant kdb://vitals:***@tp:5010)"
        );
        assert!(parse(&["--kdb-tick", "kdb://a:b@c:1"]).is_err());
        let e = parse(&[&kdb[..], &["--kdb-mode", "fast"]].concat())
            .unwrap_err()
            .to_string();
        assert!(e.contains("direct or tick"), "{e}");
    }
}
