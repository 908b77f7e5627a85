//! `vitals agent` and `vitals pair`: the sampler, the on-disk queue and the
//! uploader with no window, for servers and VMs.
//!
//! Consent happens on the command line: the policy is fetched from the server
//! and printed, and the person types `yes`; or `--accept-policy VERSION` for
//! scripted installs, refused unless it is the server's current version.
//! Nothing carrying samples is sent before that. The token is kept in a file
//! readable only by the user in the data directory (the OS keyring comes with
//! the desktop app).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vitals_shared::day::{Clock, SystemClock};
use vitals_shared::wire::{Batch, Policy, RegisterRequest, RegisterResponse};

use crate::queue::{DEFAULT_MAX_BYTES, DEFAULT_MAX_SAMPLES, Queue};
use crate::sampler::{self, Sample, Sampler};
use crate::uplink::Uplink;
use crate::upload::{ConsentNeeded, UploadState, Uploader};

/// Exit codes of `vitals agent` / `vitals pair`.
pub mod exit {
    /// Stopped by a signal after running normally.
    pub const OK: i32 = 0;
    /// Bad flags or settings.
    pub const USAGE: i32 = 2;
    /// No consent (refused, or a policy version that is not current).
    pub const NO_CONSENT: i32 = 3;
    /// The server could not be reached or refused registration/pairing.
    pub const SERVER: i32 = 4;
    /// The stored token is no longer valid; run again to consent anew.
    pub const UNAUTHORIZED: i32 = 5;
    /// Local trouble: data directory, sampler.
    pub const LOCAL: i32 = 6;
}

/// An error with its exit code and a sentence for the person.
#[derive(Debug)]
pub struct AgentError {
    /// The process exit code.
    pub code: i32,
    /// What happened and what to do.
    pub message: String,
}

fn fail(code: i32, message: impl Into<String>) -> AgentError {
    AgentError {
        code,
        message: message.into(),
    }
}

/// Settings of the agent.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// The server, e.g. `https://vitals.example.org`.
    pub server: String,
    /// Agree to this policy version without asking.
    pub accept_policy: Option<String>,
    /// Sampling interval.
    pub interval: Duration,
    /// Where the token and the queue live.
    pub data_dir: PathBuf,
    /// Extra CA certificates (PEM) for a self-hosted server.
    pub ca_file: Option<PathBuf>,
}

/// The platform data directory (`~/.local/share/vitals` on Linux).
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "vitals")
        .map(|d| d.data_dir().to_owned())
        .unwrap_or_else(|| PathBuf::from("vitals-data"))
}

pub(crate) fn token_path(dir: &Path) -> PathBuf {
    dir.join("agent.token")
}

pub(crate) fn read_token(dir: &Path) -> Option<String> {
    let t = std::fs::read_to_string(token_path(dir)).ok()?;
    let t = t.trim().to_owned();
    (!t.is_empty()).then_some(t)
}

pub(crate) fn write_token(dir: &Path, token: &str) -> Result<(), AgentError> {
    let local = |e: std::io::Error| {
        fail(
            exit::LOCAL,
            format!("cannot store the token in '{}': {e}", dir.display()),
        )
    };
    std::fs::create_dir_all(dir).map_err(local)?;
    let path = token_path(dir);
    let tmp = dir.join("agent.token.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(local)?;
    f.write_all(token.as_bytes()).map_err(local)?;
    f.sync_all().map_err(local)?;
    std::fs::rename(&tmp, &path).map_err(local)?;
    Ok(())
}

pub(crate) fn forget_token(dir: &Path) {
    let _ = std::fs::remove_file(token_path(dir));
}

/// The HTTP client: certificate verification always on, with the system's
/// roots plus, for a self-hosted server, the CA certificates in `ca_file`.
pub(crate) fn client(ca_file: Option<&Path>) -> Result<reqwest::Client, AgentError> {
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .connect_timeout(Duration::from_secs(5));
    if let Some(path) = ca_file {
        let certs = crate::uplink::ca_certificates(path)
            .map_err(|e| fail(exit::USAGE, e))?
            .iter()
            .map(|c| reqwest::Certificate::from_der(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(exit::USAGE, format!("'{}': {e}", path.display())))?;
        b = b.tls_certs_merge(certs);
    }
    b.build()
        .map_err(|e| fail(exit::LOCAL, format!("cannot set up HTTPS: {e}")))
}

pub(crate) fn base(server: &str) -> String {
    server.trim_end_matches('/').to_owned()
}

pub(crate) async fn fetch_policy(
    http: &reqwest::Client,
    server: &str,
) -> Result<Policy, AgentError> {
    let url = format!("{}/api/v1/policy", base(server));
    let r = http
        .get(&url)
        .send()
        .await
        .map_err(|e| fail(exit::SERVER, format!("cannot reach '{server}': {e}")))?;
    if !r.status().is_success() {
        return Err(fail(
            exit::SERVER,
            format!("'{url}' answered {}", r.status()),
        ));
    }
    r.json()
        .await
        .map_err(|e| fail(exit::SERVER, format!("'{url}' did not send a policy: {e}")))
}

/// Asks for consent (or checks `--accept-policy`) and registers; returns the token.
async fn consent_and_register(
    opts: &AgentOptions,
    http: &reqwest::Client,
) -> Result<String, AgentError> {
    let policy = fetch_policy(http, &opts.server).await?;
    match &opts.accept_policy {
        Some(v) if *v == policy.version => {}
        Some(v) => {
            return Err(fail(
                exit::NO_CONSENT,
                format!(
                    "--accept-policy '{v}' is not the server's current policy ('{}'); read it with `curl {}/api/v1/policy` and accept that version",
                    policy.version,
                    base(&opts.server)
                ),
            ));
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "{}\n\n(policy version {})",
                policy.text_markdown, policy.version
            );
            let _ = write!(
                out,
                "Upload this machine's samples to {} under this policy? Type 'yes' to agree: ",
                opts.server
            );
            let _ = out.flush();
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
            if line.trim() != "yes" {
                return Err(fail(exit::NO_CONSENT, "no consent given: nothing was sent"));
            }
        }
    }
    register(http, &opts.server, policy.version).await
}

/// Registers with consent to `policy_version`; returns the token.
pub(crate) async fn register(
    http: &reqwest::Client,
    server: &str,
    policy_version: String,
) -> Result<String, AgentError> {
    let body = RegisterRequest {
        consent: vitals_shared::wire::Consent {
            accepted: true,
            policy_version,
        },
    };
    let r = http
        .post(format!("{}/api/v1/instances", base(server)))
        .json(&body)
        .send()
        .await
        .map_err(|e| fail(exit::SERVER, format!("cannot reach '{server}': {e}")))?;
    let status = r.status();
    if status.as_u16() != 201 {
        let text = r.text().await.unwrap_or_default();
        return Err(fail(
            exit::SERVER,
            format!("registration refused ({status}): {text}"),
        ));
    }
    let reg: RegisterResponse = r
        .json()
        .await
        .map_err(|e| fail(exit::SERVER, format!("bad registration answer: {e}")))?;
    Ok(reg.token)
}

/// `vitals pair CODE`: takes the token of the instance the website created.
pub async fn pair(
    server: &str,
    code: &str,
    data_dir: &Path,
    ca_file: Option<&Path>,
) -> Result<(), AgentError> {
    let token = claim_code(&client(ca_file)?, server, code).await?;
    write_token(data_dir, &token)
}

/// Exchanges a pairing code for the instance's token.
pub(crate) async fn claim_code(
    http: &reqwest::Client,
    server: &str,
    code: &str,
) -> Result<String, AgentError> {
    let r = http
        .post(format!("{}/api/v1/pairing/claim", base(server)))
        .json(&serde_json::json!({ "code": code }))
        .send()
        .await
        .map_err(|e| fail(exit::SERVER, format!("cannot reach '{server}': {e}")))?;
    match r.status().as_u16() {
        200 => {}
        404 => {
            return Err(fail(
                exit::NO_CONSENT,
                format!(
                    "pairing code '{code}' is unknown, used or expired; get a new one on the website"
                ),
            ));
        }
        s => {
            return Err(fail(
                exit::SERVER,
                format!(
                    "pairing refused ({s}): {}",
                    r.text().await.unwrap_or_default()
                ),
            ));
        }
    }
    let v: serde_json::Value = r
        .json()
        .await
        .map_err(|e| fail(exit::SERVER, format!("bad pairing answer: {e}")))?;
    v["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| fail(exit::SERVER, "the pairing answer has no token"))
}

/// A fresh batch id: random per process, then counted up, so making one
/// costs no system call (`Uuid::new_v4` asks the kernel every time). Still
/// a version-4 UUID, unique across processes and restarts.
fn next_batch_id() -> uuid::Uuid {
    static BASE: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let base = *BASE.get_or_init(|| uuid::Uuid::new_v4().as_u128());
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    uuid::Builder::from_random_bytes(base.wrapping_add(u128::from(n)).to_le_bytes()).into_uuid()
}

pub(crate) fn to_batch(s: Sample) -> Batch {
    Batch {
        batch_id: next_batch_id(),
        cpu: vec![s.cpu],
        ram: vec![s.ram],
        disc: s.disc,
    }
}

/// Runs the agent until SIGTERM/ctrl-c (exit code 0) or a fatal error.
pub async fn run(opts: AgentOptions) -> Result<(), AgentError> {
    std::fs::create_dir_all(&opts.data_dir).map_err(|e| {
        fail(
            exit::LOCAL,
            format!("cannot create '{}': {e}", opts.data_dir.display()),
        )
    })?;
    let token = match read_token(&opts.data_dir) {
        Some(t) => t,
        None => {
            let http = client(opts.ca_file.as_deref())?;
            let t = consent_and_register(&opts, &http).await?;
            write_token(&opts.data_dir, &t)?;
            tracing::info!("consent given; this machine is registered");
            t
        }
    };
    let link = Uplink::new(&opts.server, &token, opts.ca_file.as_deref())
        .map_err(|e| fail(exit::USAGE, e))?;
    let queue = Queue::open(
        &opts.data_dir.join("queue"),
        DEFAULT_MAX_SAMPLES,
        DEFAULT_MAX_BYTES,
    )
    .map_err(|e| fail(exit::LOCAL, format!("cannot open the upload queue: {e}")))?;
    if !queue.is_empty() {
        tracing::info!(queued = queue.samples(), "resuming with queued samples");
    }
    let sampler = Sampler::new().map_err(|e| fail(exit::LOCAL, e.to_string()))?;
    let uploader = Uploader::new(link, Arc::new(Mutex::new(UploadState::Uploading)));

    // Sampling and uploading run on one plain thread that sleeps between
    // samples; this runtime only waits for a signal.
    let stop = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let (interval, stop2) = (sampler::clamp_interval(opts.interval), stop.clone());
    relax_timers(interval);
    let worker = std::thread::Builder::new()
        .name("agent".into())
        .spawn(move || {
            let r = steady(sampler, uploader, &Mutex::new(queue), interval, &stop2);
            let _ = done_tx.send(());
            r
        })
        .map_err(|e| fail(exit::LOCAL, format!("cannot start the agent thread: {e}")))?;
    tokio::select! {
        _ = done_rx => {}
        _ = shutdown_signal() => {
            tracing::info!("stopping; queued samples stay on disk for the next start");
            stop.store(true, Ordering::Release);
            worker.thread().unpark();
        }
    }
    match worker.join() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(ConsentNeeded)) => {
            forget_token(&opts.data_dir);
            Err(fail(
                exit::UNAUTHORIZED,
                "the server no longer knows this machine's token (deleted, or the server was reset); run `vitals agent` again to give consent",
            ))
        }
        Err(_) => Err(fail(
            exit::LOCAL,
            "the agent thread failed; see the log above",
        )),
    }
}

/// Lets the kernel fire this process's timers up to a tenth of the interval
/// (at most 50 ms) late, so the once-a-second wake-up can share a moment
/// when the CPU is awake anyway: 350 → 260 µs of CPU per second measured
/// (`docs/BENCHMARKS.md`). Threads started afterwards inherit it; sample
/// timestamps are taken when the sample is read, so they stay exact.
fn relax_timers(interval: Duration) {
    #[cfg(target_os = "linux")]
    {
        let slack = (interval / 10).min(Duration::from_millis(50));
        if let Err(e) = std::fs::write("/proc/self/timerslack_ns", slack.as_nanos().to_string()) {
            tracing::debug!(error = %e, "timer slack not set");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = interval;
}

/// A sample every `interval` (the first one interval after start, when CPU
/// usage means something), each followed by one upload turn, until `stop`.
/// The thread sleeps in between and is woken by nothing else.
fn steady(
    mut sampler: Sampler,
    mut uploader: Uploader,
    queue: &Mutex<Queue>,
    interval: Duration,
    stop: &AtomicBool,
) -> Result<(), ConsentNeeded> {
    let mut next = Instant::now() + interval;
    let result = loop {
        while !stop.load(Ordering::Acquire) && Instant::now() < next {
            std::thread::park_timeout(next.saturating_duration_since(Instant::now()));
        }
        if stop.load(Ordering::Acquire) {
            break Ok(());
        }
        let batch = to_batch(sampler.sample(SystemClock.now_ms()));
        next += interval;
        if next < Instant::now() {
            // Late (the machine was suspended): keep the cadence from now.
            next = Instant::now() + interval;
        }
        if let Err(e) = uploader.turn(queue, Some(batch), next) {
            break Err(e);
        }
    };
    if let Ok(mut q) = queue.lock()
        && let Err(e) = q.spill()
    {
        tracing::error!(error = %e, "cannot write the newest sample to the queue");
    }
    result
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_ids_are_distinct_version_4_uuids() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| next_batch_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(
            ids.iter()
                .all(|u| u.get_version() == Some(uuid::Version::Random))
        );
    }

    #[test]
    fn token_file_is_private_and_replaced_atomically() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_token(dir.path()), None);
        write_token(dir.path(), "abc").unwrap();
        write_token(dir.path(), "def").unwrap();
        assert_eq!(read_token(dir.path()).as_deref(), Some("def"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(token_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        forget_token(dir.path());
        assert_eq!(read_token(dir.path()), None);
    }
}
