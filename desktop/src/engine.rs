//! What runs behind the window and the tray: the sampler, the local
//! history, the consent state, the on-disk queue and the uploader.
//!
//! Threads: `sampler` (sysinfo), `hub` (puts each sample into the history,
//! asks the UI to repaint, then — only while consent is on and upload not
//! paused — gives it to the [`Uploader`] for one turn), and `upload` (its own
//! tokio runtime for the commands of the UI: consent, revoke, pairing, links).
//! Nothing carrying samples is sent before consent: the uploader does not
//! exist until then.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use vitals_shared::day::{Clock, SystemClock};
use vitals_shared::wire::{Batch, WebLinkResponse};

use crate::agent;
use crate::history::History;
use crate::queue::{DEFAULT_MAX_BYTES, DEFAULT_MAX_SAMPLES, Queue};
use crate::sampler::{self, Sample};
use crate::settings::Settings;
use crate::token::TokenStore;
use crate::uplink::Uplink;
use crate::upload::{FOLD_SAMPLES, UploadState, Uploader, set_state};

/// The uploader while upload is on; `None` before consent and while paused.
type Slot = Arc<Mutex<Option<Uploader>>>;

/// Where the policy shown on the consent screen came from.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyView {
    /// Its version.
    pub version: String,
    /// The text (Markdown, shown as is).
    pub text: String,
    /// `None` when it came from the server, else why the built-in copy is shown.
    pub offline_reason: Option<String>,
}

/// What the UI asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// The person ticked the box and pressed Proceed for this policy version.
    Consent(String),
    /// Stop uploading, delete everything on the server, forget the token.
    Revoke,
    /// Stop uploading (samples taken meanwhile are not queued).
    Pause,
    /// Upload again.
    Resume,
    /// Ask for a one-time web link and open it in the browser.
    OpenDashboard,
    /// Pair with an instance the website created.
    Pair(String),
    /// Fetch the policy again.
    RefreshPolicy,
}

/// State shared with the UI (each behind its own lock, held briefly).
#[derive(Clone)]
pub struct Shared {
    /// Samples and window statistics.
    pub history: Arc<Mutex<History>>,
    /// What the status bar says.
    pub status: Arc<Mutex<UploadState>>,
    /// The last sentence for the person (result of revoke, pairing, …).
    pub notice: Arc<Mutex<Option<String>>>,
    /// The policy for the consent screen.
    pub policy: Arc<Mutex<Option<PolicyView>>>,
    /// Whether this machine uploads (consent given and not revoked).
    pub consented: Arc<AtomicBool>,
    /// Upload paused by the person.
    pub paused: Arc<AtomicBool>,
    /// Samples waiting for upload, and samples dropped because the queue was full.
    pub queue_info: Arc<Mutex<(u64, u64)>>,
}

/// The running engine.
pub struct Engine {
    /// State for the UI.
    pub shared: Shared,
    /// Settings it runs with.
    pub settings: Settings,
    /// Where the token is kept, in words.
    pub token_home: String,
    /// Set when the keyring could not be used.
    pub token_note: Option<String>,
    cmd: mpsc::UnboundedSender<Command>,
}

impl Engine {
    /// Starts sampling now; uploads only if a token from an earlier consent
    /// is stored. `repaint` is called after each sample and state change.
    pub fn start(
        settings: Settings,
        data_dir: PathBuf,
        repaint: Arc<dyn Fn() + Send + Sync>,
    ) -> Result<Engine, String> {
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        let (store, token_note) =
            TokenStore::open(&settings.server_url, &data_dir, settings.use_keyring);
        let queue = Queue::open(
            &data_dir.join("queue"),
            DEFAULT_MAX_SAMPLES,
            DEFAULT_MAX_BYTES,
        )
        .map_err(|e| format!("cannot open the upload queue: {e}"))?;
        let interval = settings.interval();
        let span = settings.history();
        let window = (Duration::from_secs(60).as_millis() / interval.as_millis().max(1)) as usize;
        let shared = Shared {
            history: Arc::new(Mutex::new(History::new(span, interval, window.max(1)))),
            status: Arc::new(Mutex::new(UploadState::LocalOnly)),
            notice: Arc::new(Mutex::new(None)),
            policy: Arc::new(Mutex::new(None)),
            consented: Arc::new(AtomicBool::new(store.get().is_some())),
            paused: Arc::new(AtomicBool::new(false)),
            queue_info: Arc::new(Mutex::new((queue.samples(), queue.dropped()))),
        };
        let queue = Arc::new(Mutex::new(queue));
        let slot: Slot = Arc::new(Mutex::new(None));

        let (tx, rx) = std::sync::mpsc::channel::<Sample>();
        sampler::spawn(interval, tx, || {}, || SystemClock.now_ms()).map_err(|e| e.to_string())?;
        {
            let (sh, q, u, rp) = (shared.clone(), queue.clone(), slot.clone(), repaint.clone());
            let interval = sampler::clamp_interval(interval);
            std::thread::Builder::new()
                .name("hub".into())
                .spawn(move || hub(rx, interval, sh, q, u, rp))
                .map_err(|e| format!("cannot start the hub thread: {e}"))?;
        }
        let (cmd, cmd_rx) = mpsc::unbounded_channel();
        let token_home = store.describe();
        {
            let ctl = Control {
                server: settings.server_url.clone(),
                http: agent::client(settings.ca_file.as_deref()).map_err(|e| e.message)?,
                ca_file: settings.ca_file.clone(),
                store,
                shared: shared.clone(),
                queue,
                slot,
                repaint,
            };
            std::thread::Builder::new()
                .name("upload".into())
                .spawn(move || {
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt.block_on(ctl.run(cmd_rx)),
                        Err(e) => tracing::error!(error = %e, "cannot start the upload runtime"),
                    }
                })
                .map_err(|e| format!("cannot start the upload thread: {e}"))?;
        }
        Ok(Engine {
            shared,
            settings,
            token_home,
            token_note,
            cmd,
        })
    }

    /// Sends a command to the upload thread.
    pub fn send(&self, c: Command) {
        let _ = self.cmd.send(c);
    }

    /// The batch the next upload would carry, built from the newest sample
    /// (the consent screen's preview).
    pub fn preview(&self) -> Option<Batch> {
        let h = self.shared.history.lock().ok()?;
        h.latest().cloned().map(agent::to_batch)
    }
}

fn hub(
    rx: std::sync::mpsc::Receiver<Sample>,
    interval: Duration,
    shared: Shared,
    queue: Arc<Mutex<Queue>>,
    slot: Slot,
    repaint: Arc<dyn Fn() + Send + Sync>,
) {
    for s in rx {
        // The chart first: upload never delays what the person sees.
        let batch = agent::to_batch(s.clone());
        if let Ok(mut h) = shared.history.lock() {
            h.push(s);
        }
        repaint();
        let upload =
            shared.consented.load(Ordering::Acquire) && !shared.paused.load(Ordering::Acquire);
        if !upload {
            continue;
        }
        let Ok(mut u) = slot.lock() else {
            return;
        };
        let status_before = shared.status.lock().map(|s| s.clone()).ok();
        let refused = match u.as_mut() {
            Some(up) => up
                .turn(&queue, Some(batch), Instant::now() + interval)
                .is_err(),
            None => {
                // Consent is on and the uploader not built yet: keep it.
                if let Ok(mut q) = queue.lock()
                    && let Err(e) = q.add(batch, FOLD_SAMPLES)
                {
                    tracing::error!(error = %e, "cannot write a sample to the queue");
                }
                false
            }
        };
        if refused {
            // 401: the token no longer works; consent must be given again.
            *u = None;
            shared.consented.store(false, Ordering::Release);
            tracing::warn!(
                "the server no longer knows this device's token; consent is needed again"
            );
        }
        drop(u);
        // One repaint per sample: a second one only if the status bar changed.
        let mut changed = refused;
        if let (Ok(q), Ok(mut qi)) = (queue.lock(), shared.queue_info.lock()) {
            let now = (q.samples(), q.dropped());
            changed |= *qi != now;
            *qi = now;
        }
        if let Ok(s) = shared.status.lock() {
            changed |= Some(&*s) != status_before.as_ref();
        }
        if changed {
            repaint();
        }
    }
}

struct Control {
    server: String,
    http: reqwest::Client,
    ca_file: Option<PathBuf>,
    store: TokenStore,
    shared: Shared,
    queue: Arc<Mutex<Queue>>,
    slot: Slot,
    repaint: Arc<dyn Fn() + Send + Sync>,
}

impl Control {
    fn say(&self, text: impl Into<String>) {
        let text = text.into();
        tracing::info!("{text}");
        if let Ok(mut n) = self.shared.notice.lock() {
            *n = Some(text);
        }
        (self.repaint)();
    }

    fn status(&self, s: UploadState) {
        set_state(&self.shared.status, s);
        (self.repaint)();
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        let http = self.http.clone();
        self.load_policy(&http).await;
        if let Some(token) = self.store.get() {
            self.start_uploader(token);
        }
        while let Some(c) = rx.recv().await {
            match c {
                Command::RefreshPolicy => self.load_policy(&http).await,
                Command::Consent(version) => {
                    match agent::register(&http, &self.server, version).await {
                        Ok(token) => self.adopt(token),
                        Err(e) => self.say(format!("Consent not recorded: {}", e.message)),
                    }
                }
                Command::Pair(code) => {
                    match agent::claim_code(&http, &self.server, code.trim()).await {
                        Ok(token) => self.adopt(token),
                        Err(e) => self.say(format!("Pairing failed: {}", e.message)),
                    }
                }
                Command::Pause => {
                    self.shared.paused.store(true, Ordering::Release);
                    self.stop_uploader();
                    self.status(UploadState::Paused);
                }
                Command::Resume => {
                    self.shared.paused.store(false, Ordering::Release);
                    if let Some(t) = self.store.get() {
                        self.start_uploader(t);
                    }
                }
                Command::Revoke => self.revoke(&http).await,
                Command::OpenDashboard => self.open_dashboard(&http).await,
            }
        }
    }

    async fn load_policy(&self, http: &reqwest::Client) {
        let view = match agent::fetch_policy(http, &self.server).await {
            Ok(p) => PolicyView {
                version: p.version,
                text: p.text_markdown,
                offline_reason: None,
            },
            Err(e) => PolicyView {
                version: vitals_shared::policy::version().to_owned(),
                text: vitals_shared::policy::text_markdown().to_owned(),
                offline_reason: Some(e.message),
            },
        };
        if let Ok(mut p) = self.shared.policy.lock() {
            *p = Some(view);
        }
        (self.repaint)();
    }

    fn adopt(&mut self, token: String) {
        if let Err(e) = self.store.set(&token) {
            self.say(e);
            return;
        }
        self.say(format!(
            "Consent recorded; uploading to {} (token kept in {})",
            self.server,
            self.store.describe()
        ));
        self.start_uploader(token);
    }

    fn start_uploader(&mut self, token: String) {
        self.stop_uploader();
        self.shared.consented.store(true, Ordering::Release);
        if self.shared.paused.load(Ordering::Acquire) {
            self.status(UploadState::Paused);
            return;
        }
        let link = match Uplink::new(&self.server, &token, self.ca_file.as_deref()) {
            Ok(l) => l,
            Err(e) => {
                self.status(UploadState::Rejected(e.clone()));
                self.say(format!("Cannot upload: {e}"));
                return;
            }
        };
        self.status(UploadState::Uploading);
        if let Ok(mut u) = self.slot.lock() {
            *u = Some(Uploader::new(link, self.shared.status.clone()));
        }
    }

    /// Upload stops here: the hub finds no uploader from its next sample on
    /// (a turn under way finishes first; it never outlasts one interval).
    fn stop_uploader(&mut self) {
        if let Ok(mut u) = self.slot.lock() {
            *u = None;
        }
    }

    async fn revoke(&mut self, http: &reqwest::Client) {
        self.stop_uploader();
        self.shared.consented.store(false, Ordering::Release);
        let Some(token) = self.store.get() else {
            self.status(UploadState::LocalOnly);
            return;
        };
        let r = http
            .delete(format!("{}/api/v1/me", agent::base(&self.server)))
            .bearer_auth(&token)
            .send()
            .await;
        // Samples waiting for upload were meant for the server: drop them.
        if let Ok(mut q) = self.queue.lock() {
            while !q.is_empty() {
                if q.pop_front().is_err() {
                    break;
                }
            }
            if let Ok(mut qi) = self.shared.queue_info.lock() {
                *qi = (q.samples(), q.dropped());
            }
        }
        let text = match r.map(|r| r.status().as_u16()) {
            Ok(204) | Ok(401) => {
                self.store.forget();
                "Consent revoked. The server deleted this machine's instance and every sample it held; \
                 the token and the local upload queue are gone. Nothing is uploaded any more."
                    .to_owned()
            }
            Ok(s) => {
                self.store.forget();
                format!(
                    "Upload stopped, but the server answered {s} to the deletion; it erases everything at midnight Europe/Warsaw anyway"
                )
            }
            Err(e) => {
                self.store.forget();
                format!(
                    "Upload stopped, but the server could not be reached to delete the data ({e}); it erases everything at midnight Europe/Warsaw anyway"
                )
            }
        };
        self.status(UploadState::LocalOnly);
        self.say(text);
    }

    async fn open_dashboard(&self, http: &reqwest::Client) {
        let Some(token) = self.store.get() else {
            self.say("Give consent first: there is no dashboard before upload.");
            return;
        };
        let r = http
            .post(format!("{}/api/v1/me/web-link", agent::base(&self.server)))
            .bearer_auth(&token)
            .send()
            .await;
        let link = match r {
            Ok(r) if r.status().is_success() => r.json::<WebLinkResponse>().await.ok(),
            _ => None,
        };
        let Some(link) = link else {
            self.say("The server did not give a dashboard link; try again later.");
            return;
        };
        let url = format!("{}{}", agent::base(&self.server), link.url);
        match open_in_browser(&url) {
            Ok(()) => self
                .say("Opened your dashboard in the browser (the link works once, for 5 minutes)."),
            Err(e) => self.say(format!(
                "Cannot open a browser ({e}); open this link yourself: {url}"
            )),
        }
    }
}

/// Opens `url` with the platform's default browser.
fn open_in_browser(url: &str) -> std::io::Result<()> {
    #[cfg(target_os = "macos")]
    let mut c = std::process::Command::new("open");
    #[cfg(target_os = "windows")]
    let mut c = {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    };
    #[cfg(not(any(target_os = "macos", target_os = "windows")))]
    let mut c = std::process::Command::new("xdg-open");
    c.arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
}
