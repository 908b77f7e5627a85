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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use vitals_shared::day::{Clock, SystemClock};
use vitals_shared::wire::{Batch, Policy, RegisterRequest, RegisterResponse};

use crate::queue::{DEFAULT_MAX_BATCHES, DEFAULT_MAX_BYTES, Queue};
use crate::sampler::{self, Sample};
use crate::upload::{Backoff, Outcome, UploadState, classify};

/// Most samples one queued batch grows to while the server is unreachable
/// (a minute at 1 Hz; with a few mounts far below the 10,000-row limit).
pub const FOLD_SAMPLES: usize = 60;

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
        let pem = std::fs::read(path).map_err(|e| {
            fail(
                exit::USAGE,
                format!("cannot read the CA file '{}': {e}", path.display()),
            )
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            fail(
                exit::USAGE,
                format!("'{}' holds no PEM certificate: {e}", path.display()),
            )
        })?;
        if certs.is_empty() {
            return Err(fail(
                exit::USAGE,
                format!("'{}' holds no PEM certificate", path.display()),
            ));
        }
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

pub(crate) fn to_batch(s: Sample) -> Batch {
    Batch {
        batch_id: uuid::Uuid::new_v4(),
        cpu: vec![s.cpu],
        ram: vec![s.ram],
        disc: s.disc,
    }
}

pub(crate) fn set_state(shared: &Mutex<UploadState>, new: UploadState) {
    if let Ok(mut s) = shared.lock()
        && *s != new
    {
        tracing::info!(status = %new, "upload status");
        *s = new;
    }
}

/// Drains the queue to the server until the token stops working.
pub(crate) async fn upload_loop(
    http: reqwest::Client,
    server: String,
    token: String,
    queue: Arc<Mutex<Queue>>,
    more: Arc<Notify>,
    state: Arc<Mutex<UploadState>>,
) -> Result<(), AgentError> {
    // Parsed once: building a request from a string parses it every time.
    let url = reqwest::Url::parse(&format!("{}/api/v1/ingest", base(&server)))
        .map_err(|e| fail(exit::USAGE, format!("'{server}' is not a server URL: {e}")))?;
    let mut backoff = Backoff::default();
    loop {
        let front = queue.lock().ok().and_then(|q| q.front());
        let batch = match front {
            None => {
                set_state(&state, UploadState::Uploading);
                // Woken by the next sample, or look again in a second.
                let _ = tokio::time::timeout(Duration::from_secs(1), more.notified()).await;
                continue;
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "a queued batch is damaged; moving it aside");
                if let Ok(mut q) = queue.lock() {
                    let _ = q.quarantine_front();
                }
                continue;
            }
            Some(Ok(b)) => b,
        };
        let res = http
            .post(url.clone())
            .bearer_auth(&token)
            .json(&batch)
            .send()
            .await;
        let outcome = match res {
            Err(e) => Outcome::Failed(e.to_string()),
            Ok(r) => {
                let status = r.status().as_u16();
                let retry = r
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body = r.bytes().await.unwrap_or_default();
                classify(status, retry.as_deref(), &body)
            }
        };
        let queued = queue.lock().map(|q| q.len()).unwrap_or(0);
        match outcome {
            Outcome::Stored(_) => {
                backoff.reset();
                if let Ok(mut q) = queue.lock() {
                    let _ = q.pop_front();
                }
            }
            Outcome::Rejected { code, message } => {
                tracing::warn!(%code, %message, "the server rejected a batch; dropping it");
                set_state(&state, UploadState::Rejected(message));
                if let Ok(mut q) = queue.lock() {
                    let _ = q.pop_front();
                }
            }
            Outcome::Unauthorized => {
                set_state(&state, UploadState::ConsentNeeded);
                return Err(fail(
                    exit::UNAUTHORIZED,
                    "the server no longer knows this machine's token (deleted, or the server was reset); run `vitals agent` again to give consent",
                ));
            }
            Outcome::Wait { after, code } => {
                if code == "daily_quota_exceeded" {
                    let at = chrono::Local::now()
                        + chrono::Duration::from_std(after).unwrap_or_default();
                    set_state(
                        &state,
                        UploadState::QuotaReached {
                            resumes_at: at.format("%H:%M").to_string(),
                        },
                    );
                } else {
                    set_state(&state, UploadState::Offline { queued });
                }
                tokio::time::sleep(after).await;
            }
            Outcome::Failed(why) => {
                set_state(&state, UploadState::Offline { queued });
                let wait = backoff.next_delay();
                tracing::debug!(%why, ?wait, "upload failed; backing off");
                tokio::time::sleep(wait).await;
            }
        }
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
    let queue = Queue::open(
        &opts.data_dir.join("queue"),
        DEFAULT_MAX_BATCHES,
        DEFAULT_MAX_BYTES,
    )
    .map_err(|e| fail(exit::LOCAL, format!("cannot open the upload queue: {e}")))?;
    if !queue.is_empty() {
        tracing::info!(queued = queue.len(), "resuming with queued samples");
    }
    let queue = Arc::new(Mutex::new(queue));
    let more = Arc::new(Notify::new());
    let state = Arc::new(Mutex::new(UploadState::Uploading));

    let (tx, rx) = std::sync::mpsc::channel::<Sample>();
    let _sampler = sampler::spawn(opts.interval, tx, || {}, || SystemClock.now_ms())
        .map_err(|e| fail(exit::LOCAL, e.to_string()))?;
    // The sampler thread's samples go to disk first, then the uploader is told.
    let (q2, m2) = (queue.clone(), more.clone());
    std::thread::Builder::new()
        .name("enqueue".into())
        .spawn(move || {
            for s in rx {
                match q2.lock() {
                    Ok(mut q) => {
                        if let Err(e) = q.push_or_fold(&to_batch(s), FOLD_SAMPLES) {
                            tracing::error!(error = %e, "cannot write a sample to the queue");
                        }
                    }
                    Err(_) => return,
                }
                m2.notify_one();
            }
        })
        .map_err(|e| fail(exit::LOCAL, format!("cannot start the queue thread: {e}")))?;

    let uploader = upload_loop(
        client(opts.ca_file.as_deref())?,
        opts.server.clone(),
        token,
        queue,
        more,
        state,
    );
    tokio::select! {
        r = uploader => {
            if r.is_err() {
                forget_token(&opts.data_dir);
            }
            r
        }
        _ = shutdown_signal() => {
            tracing::info!("stopping; queued samples stay on disk for the next start");
            Ok(())
        }
    }
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
