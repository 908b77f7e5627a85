//! Upload: what to do with each server answer, the backoff between tries,
//! and the status the status bar shows.
//!
//! [`classify`] is the whole policy, as a pure function so it is tested
//! without a network: `200` → the batch is done; `422` → drop it with its
//! reason (retrying would fail forever); `401` → stop and ask for consent
//! again; `429`/`503` → wait what `Retry-After` says; network errors and
//! other `5xx` → exponential backoff with jitter.
//!
//! [`Uploader`] applies it, one turn per sample: read the answer to the
//! batch sent at the previous turn, add the new sample to the queue, send the
//! oldest batch and return without waiting for its answer. A backlog (after
//! an outage or a restart) is sent and answered back to back until the next
//! sample is due. The agent's loop and the window's engine both turn it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use vitals_shared::wire::{Batch, ErrorBody, IngestResponse};

use crate::queue::Queue;
use crate::uplink::Uplink;

/// Most samples one queued batch grows to while the server is unreachable
/// (a minute at 1 Hz; with a few mounts far below the 10,000-row limit).
pub const FOLD_SAMPLES: usize = 60;

/// How long an answer may take before the connection is given up.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);

/// First backoff step.
pub const BACKOFF_START: Duration = Duration::from_secs(1);
/// Longest backoff step.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// What one upload attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Stored (or already stored): remove the batch from the queue.
    Stored(IngestResponse),
    /// Refused for its content (`422`): remove it and show why.
    Rejected {
        /// The server's error code.
        code: String,
        /// The server's sentence.
        message: String,
    },
    /// The token is not (or no longer) valid: stop and ask for consent.
    Unauthorized,
    /// The server asked to wait (`429`, `503`): keep the batch.
    Wait {
        /// How long.
        after: Duration,
        /// The server's error code, e.g. `daily_quota_exceeded`.
        code: String,
    },
    /// A network error or a server fault: keep the batch, back off.
    Failed(String),
}

/// Decides from a status, its `Retry-After` (seconds) and body.
pub fn classify(status: u16, retry_after: Option<&str>, body: &[u8]) -> Outcome {
    let err = serde_json::from_slice::<ErrorBody>(body).ok();
    let code = err
        .as_ref()
        .map(|e| e.error.code.clone())
        .unwrap_or_default();
    let message = err
        .map(|e| e.error.message)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    match status {
        200 => match serde_json::from_slice::<IngestResponse>(body) {
            Ok(r) => Outcome::Stored(r),
            Err(e) => Outcome::Failed(format!("the server's answer could not be read: {e}")),
        },
        401 => Outcome::Unauthorized,
        // A bad batch stays bad; 400/413/415 are the same kind of fault.
        400 | 413 | 415 | 422 => Outcome::Rejected { code, message },
        429 | 503 => {
            let secs = retry_after
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(5);
            Outcome::Wait {
                after: Duration::from_secs(secs.max(1)),
                code,
            }
        }
        s => Outcome::Failed(format!("server answered {s}: {message}")),
    }
}

/// Exponential backoff with jitter: 1 s, 2 s, 4 s … up to 60 s, each step
/// between 75 % and 125 % of nominal so many agents do not retry in step.
#[derive(Debug, Default)]
pub struct Backoff {
    attempt: u32,
}

impl Backoff {
    /// The delay before the next try.
    pub fn next_delay(&mut self) -> Duration {
        let nominal = BACKOFF_START
            .saturating_mul(1u32 << self.attempt.min(6))
            .min(BACKOFF_MAX);
        self.attempt = self.attempt.saturating_add(1);
        let mut b = [0u8; 2];
        let jitter = if getrandom::fill(&mut b).is_ok() {
            f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)
        } else {
            0.5
        };
        nominal.mul_f64(0.75 + 0.5 * jitter)
    }

    /// After a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// What the status bar says about the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadState {
    /// No consent: nothing leaves the machine.
    LocalOnly,
    /// Consent given, the queue is draining.
    Uploading,
    /// The person paused upload.
    Paused,
    /// The server cannot be reached; samples wait on disk.
    Offline {
        /// Samples waiting.
        queued: u64,
    },
    /// The daily quota is used up.
    QuotaReached {
        /// Local time it resumes, `HH:MM`.
        resumes_at: String,
    },
    /// The server refused a batch.
    Rejected(String),
    /// The token no longer works: consent must be given again.
    ConsentNeeded,
}

impl std::fmt::Display for UploadState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UploadState::LocalOnly => f.write_str("local only"),
            UploadState::Uploading => f.write_str("uploading"),
            UploadState::Paused => f.write_str("paused"),
            UploadState::Offline { queued } => write!(f, "offline — {queued} samples queued"),
            UploadState::QuotaReached { resumes_at } => {
                write!(f, "daily quota reached, resumes at {resumes_at}")
            }
            UploadState::Rejected(m) => write!(f, "server rejected: {m}"),
            UploadState::ConsentNeeded => {
                f.write_str("consent needed: the server no longer knows this device")
            }
        }
    }
}

/// Sets the shared status, logging a change of kind (not each new count of
/// queued samples).
pub fn set_state(shared: &Mutex<UploadState>, new: UploadState) {
    if let Ok(mut s) = shared.lock()
        && *s != new
    {
        if std::mem::discriminant(&*s) != std::mem::discriminant(&new) {
            tracing::info!(status = %new, "upload status");
        }
        *s = new;
    }
}

/// The token stopped working (`401`): upload must stop until consent is
/// given again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentNeeded;

/// Drains the queue to the server over one [`Uplink`].
#[derive(Debug)]
pub struct Uploader {
    link: Uplink,
    backoff: Backoff,
    /// No sending before this (back-off, `Retry-After`).
    retry_at: Option<Instant>,
    /// When the batch whose answer is awaited was sent.
    sent_at: Option<Instant>,
    state: std::sync::Arc<Mutex<UploadState>>,
}

impl Uploader {
    /// Uploads over `link`, reporting into `state`.
    pub fn new(link: Uplink, state: std::sync::Arc<Mutex<UploadState>>) -> Uploader {
        Uploader {
            link,
            backoff: Backoff::default(),
            retry_at: None,
            sent_at: None,
            state,
        }
    }

    /// One turn, at a new sample (`batch`, or `None` to only drain): reads
    /// the answer to the previous send, queues `batch`, sends the oldest
    /// batch. Nothing here blocks past `deadline` (when the next sample is
    /// due). `Err` on `401`: stop and ask for consent again.
    pub fn turn(
        &mut self,
        queue: &Mutex<Queue>,
        batch: Option<Batch>,
        deadline: Instant,
    ) -> Result<(), ConsentNeeded> {
        // First the answer: if it says "stored" the held batch leaves the
        // queue before the new sample arrives, and never touches the disk.
        self.settle(queue, deadline)?;
        if let Some(b) = batch
            && let Ok(mut q) = queue.lock()
            && let Err(e) = q.add(b, FOLD_SAMPLES)
        {
            tracing::error!(error = %e, "cannot write a sample to the queue");
        }
        while self.sent_at.is_none()
            && Instant::now() < deadline
            && self.retry_at.is_none_or(|t| Instant::now() >= t)
        {
            self.retry_at = None;
            let (front, waiting) = match queue.lock() {
                Ok(q) => (q.front(), q.len()),
                Err(_) => return Ok(()),
            };
            let batch = match front {
                None => break,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "a queued batch is damaged; moving it aside");
                    if let Ok(mut q) = queue.lock() {
                        let _ = q.quarantine_front();
                    }
                    continue;
                }
                Some(Ok(b)) => b,
            };
            let body = match serde_json::to_vec(&batch) {
                Ok(b) => b,
                Err(e) => {
                    self.apply(queue, Outcome::Failed(e.to_string()));
                    break;
                }
            };
            if let Err(e) = self.link.send(&body, deadline) {
                self.apply(queue, Outcome::Failed(e.to_string()));
                break;
            }
            self.sent_at = Some(Instant::now());
            if waiting <= 1 {
                // Steady state: the answer is read at the next turn.
                break;
            }
            // A backlog: wait for this answer and go on.
            self.settle(queue, deadline)?;
        }
        // While offline the count in the status bar grows with each sample.
        let offline = matches!(
            self.state.lock().as_deref(),
            Ok(UploadState::Offline { .. })
        );
        if offline && let Ok(q) = queue.lock() {
            let queued = q.samples();
            drop(q);
            set_state(&self.state, UploadState::Offline { queued });
        }
        Ok(())
    }

    /// Reads the answer awaited, if any, and acts on it.
    fn settle(&mut self, queue: &Mutex<Queue>, deadline: Instant) -> Result<(), ConsentNeeded> {
        let Some(sent) = self.sent_at else {
            return Ok(());
        };
        let outcome = match self.link.receive(deadline) {
            Ok(None) if sent.elapsed() < ANSWER_TIMEOUT => return Ok(()),
            Ok(None) => {
                self.link.reset();
                Outcome::Failed(format!("no answer within {} s", ANSWER_TIMEOUT.as_secs()))
            }
            Ok(Some(a)) => classify(a.status, a.retry_after.as_deref(), &a.body),
            Err(e) => Outcome::Failed(e.to_string()),
        };
        self.sent_at = None;
        if outcome == Outcome::Unauthorized {
            set_state(&self.state, UploadState::ConsentNeeded);
            return Err(ConsentNeeded);
        }
        self.apply(queue, outcome);
        Ok(())
    }

    fn apply(&mut self, queue: &Mutex<Queue>, outcome: Outcome) {
        let Ok(mut q) = queue.lock() else {
            return;
        };
        let new = match outcome {
            Outcome::Stored(_) => {
                self.backoff.reset();
                let _ = q.pop_front();
                UploadState::Uploading
            }
            Outcome::Rejected { code, message } => {
                tracing::warn!(%code, %message, "the server rejected a batch; dropping it");
                let _ = q.pop_front();
                UploadState::Rejected(message)
            }
            Outcome::Unauthorized => UploadState::ConsentNeeded,
            Outcome::Wait { after, code } => {
                // Not answered at once: the batch must survive a restart now.
                if let Err(e) = q.spill() {
                    tracing::error!(error = %e, "cannot write a sample to the queue");
                }
                self.retry_at = Some(Instant::now() + after);
                if code == "daily_quota_exceeded" {
                    let at = chrono::Local::now()
                        + chrono::Duration::from_std(after).unwrap_or_default();
                    UploadState::QuotaReached {
                        resumes_at: at.format("%H:%M").to_string(),
                    }
                } else {
                    UploadState::Offline {
                        queued: q.samples(),
                    }
                }
            }
            Outcome::Failed(why) => {
                if let Err(e) = q.spill() {
                    tracing::error!(error = %e, "cannot write a sample to the queue");
                }
                let wait = self.backoff.next_delay();
                tracing::debug!(%why, ?wait, "upload failed; backing off");
                self.retry_at = Some(Instant::now() + wait);
                UploadState::Offline {
                    queued: q.samples(),
                }
            }
        };
        drop(q);
        set_state(&self.state, new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_one_action() {
        let ok = br#"{"accepted":{"cpu":1,"ram":1,"disc":1},"duplicate":true,"quota":{"rows_left":5,"resets_at":"x"}}"#;
        assert!(matches!(classify(200, None, ok), Outcome::Stored(r) if r.duplicate));
        assert!(matches!(
            classify(200, None, b"garbage"),
            Outcome::Failed(_)
        ));
        assert_eq!(classify(401, None, b""), Outcome::Unauthorized);
        let bad = br#"{"error":{"code":"out_of_range","message":"cpu[0].usage_pct: '101' is outside 0-100"}}"#;
        assert_eq!(
            classify(422, None, bad),
            Outcome::Rejected {
                code: "out_of_range".into(),
                message: "cpu[0].usage_pct: '101' is outside 0-100".into()
            }
        );
        let quota = br#"{"error":{"code":"daily_quota_exceeded","message":"m"}}"#;
        assert_eq!(
            classify(429, Some("3600"), quota),
            Outcome::Wait {
                after: Duration::from_secs(3600),
                code: "daily_quota_exceeded".into()
            }
        );
        assert!(
            matches!(classify(503, None, b""), Outcome::Wait { after, .. } if after == Duration::from_secs(5))
        );
        assert!(matches!(classify(500, None, b"oops"), Outcome::Failed(m) if m.contains("500")));
        assert!(matches!(classify(413, None, b""), Outcome::Rejected { .. }));
    }

    #[test]
    fn protocol_uploader_reads_each_answer_a_turn_later_and_keeps_what_was_not_stored() {
        use crate::queue::Queue;
        use vitals_shared::wire::CpuSample;
        const STORED: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 97\r\n\r\n{\"accepted\":{\"cpu\":1,\"ram\":0,\"disc\":0},\"duplicate\":false,\"quota\":{\"rows_left\":5,\"resets_at\":\"x\"}}";
        let (url, peer) = crate::uplink::tests::peer(
            vec![
                STORED,
                b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-length: 0\r\n\r\n",
                STORED,
                STORED,
                b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n",
            ],
            4096,
        );
        let batch = |ts| Batch {
            batch_id: uuid::Uuid::new_v4(),
            cpu: vec![CpuSample {
                ts,
                usage_pct: 1.0,
                cores_pct: vec![],
                load1: None,
            }],
            ram: vec![],
            disc: vec![],
        };
        let dir = tempfile::tempdir().unwrap();
        let files = || std::fs::read_dir(dir.path()).unwrap().count();
        let queue = Mutex::new(Queue::open(dir.path(), 100, 1 << 20).unwrap());
        let state = std::sync::Arc::new(Mutex::new(UploadState::Uploading));
        let mut up = Uploader::new(Uplink::new(&url, "t", None).unwrap(), state.clone());
        let later = || Instant::now() + Duration::from_secs(5);
        let waiting = || queue.lock().unwrap().samples();

        // Sent, its answer not read: held in memory only.
        up.turn(&queue, Some(batch(1)), later()).unwrap();
        assert_eq!((waiting(), files()), (1, 0));
        // Next turn: "stored" read first, so batch 1 never touched the disk.
        up.turn(&queue, Some(batch(2)), later()).unwrap();
        assert_eq!((waiting(), files()), (1, 0));
        // 503: batch 2 goes to disk, batch 3 joins it, nothing sent meanwhile.
        up.turn(&queue, Some(batch(3)), later()).unwrap();
        assert_eq!((waiting(), files()), (2, 2));
        assert_eq!(*state.lock().unwrap(), UploadState::Offline { queued: 2 });
        up.turn(&queue, None, later()).unwrap();
        assert_eq!(waiting(), 2, "Retry-After was not honoured");
        // After Retry-After: the backlog goes back to back in one turn (2 is
        // answered at once, 3's answer is read at the next turn).
        std::thread::sleep(Duration::from_millis(1100));
        up.turn(&queue, None, later()).unwrap();
        assert_eq!(waiting(), 1);
        up.turn(&queue, Some(batch(4)), later()).unwrap();
        assert_eq!(waiting(), 1);
        assert_eq!(*state.lock().unwrap(), UploadState::Uploading);
        // 401: stop; batch 4 stays queued.
        assert_eq!(up.turn(&queue, None, later()), Err(ConsentNeeded));
        assert_eq!(*state.lock().unwrap(), UploadState::ConsentNeeded);
        assert_eq!(waiting(), 1);
        let sent: Vec<i64> = peer
            .join()
            .unwrap()
            .iter()
            .map(|r| {
                let text = String::from_utf8_lossy(r);
                let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
                serde_json::from_str::<Batch>(body).unwrap().cpu[0].ts
            })
            .collect();
        assert_eq!(sent, vec![1, 2, 2, 3, 4], "in order, the refused one again");
    }

    #[test]
    fn backoff_grows_with_jitter_and_resets() {
        let mut b = Backoff::default();
        let d: Vec<Duration> = (0..10).map(|_| b.next_delay()).collect();
        assert!(d[0] >= Duration::from_millis(750) && d[0] <= Duration::from_millis(1250));
        assert!(d[3] >= Duration::from_secs(6) && d[3] <= Duration::from_secs(10));
        assert!(d.iter().all(|x| *x <= BACKOFF_MAX.mul_f64(1.25)));
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(1250));
    }

    #[test]
    fn status_bar_words() {
        assert_eq!(
            UploadState::Offline { queued: 12 }.to_string(),
            "offline — 12 samples queued"
        );
        assert_eq!(
            UploadState::QuotaReached {
                resumes_at: "00:00".into()
            }
            .to_string(),
            "daily quota reached, resumes at 00:00"
        );
        assert_eq!(
            UploadState::Rejected("bad".into()).to_string(),
            "server rejected: bad"
        );
        assert_eq!(UploadState::LocalOnly.to_string(), "local only");
    }
}
