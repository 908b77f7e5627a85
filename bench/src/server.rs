//! Starts the release `vitals-server` next to this binary on a free loopback
//! port, with benchmark-friendly limits, and stops it on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

fn bin() -> PathBuf {
    let mut p = std::env::current_exe().unwrap();
    p.pop();
    p.join("vitals-server")
}

impl Server {
    /// Starts on `dir` (its `vitals.sqlite` and `server.secret`).
    pub fn start(dir: &Path) -> Server {
        let mut child = Command::new(bin())
            .args(["--listen", "127.0.0.1:0"])
            .arg("--store")
            .arg(format!("sqlite:{}", dir.join("vitals.sqlite").display()))
            .arg("--secret-file")
            .arg(dir.join("server.secret"))
            .args([
                "--registrations-per-hour",
                "1000000",
                "--ingest-rate",
                "1000000",
                "--ingest-burst",
                "1000000",
            ])
            .args(["--daily-rows", "100000000", "--max-instances", "1000000"])
            .env("VITALS_LOG", "warn,vitals_server::launch=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vitals-server (build it with --release first)");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                } else {
                    eprintln!("server: {line}");
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("vitals-server did not start");
        Server { child, url }
    }

    /// CPU seconds (user + system) the server has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or("");
        let f: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // Fields 14 and 15 of /proc/PID/stat, counted after the ')' from 3.
        (ticks(11) + ticks(12)) / 100.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
    }
}

/// Registers an instance with consent; returns its token.
pub async fn register(http: &reqwest::Client, url: &str) -> String {
    let body = serde_json::json!({"consent": {"accepted": true, "policy_version": vitals_shared::policy::version()}});
    let r = http
        .post(format!("{url}/api/v1/instances"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "registration failed");
    let v: serde_json::Value = r.json().await.unwrap();
    v["token"].as_str().unwrap().to_owned()
}
