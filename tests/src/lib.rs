//! Helpers shared by the end-to-end tests in `tests/tests/`: finding the
//! workspace's built binaries and running `vitals-server` as a child process
//! that is killed when its guard drops.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// Path of a binary built by this workspace (`vitals-server`, `vitals`), in the
/// same target profile directory as the running test.
pub fn workspace_bin(name: &str) -> PathBuf {
    // The test executable lives in target/<profile>/deps/; binaries one up.
    let mut dir = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("."));
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// A running `vitals-server`; killed (SIGKILL) on drop unless stopped first.
pub struct TestServer {
    child: Option<Child>,
    /// `127.0.0.1:PORT` it listens on.
    pub addr: String,
    /// Everything it wrote to stderr so far.
    pub log: Arc<Mutex<String>>,
}

/// Why a server did not come up.
#[derive(Debug)]
pub struct StartError(pub String);

impl TestServer {
    /// Starts the server with `args` (plus `--listen 127.0.0.1:0` unless given)
    /// and waits until it says where it listens.
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Result<TestServer, StartError> {
        let mut cmd = Command::new(workspace_bin("vitals-server"));
        if !args.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        cmd.args(args)
            .env_remove("VITALS_SECRET")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| StartError(format!("spawn: {e}")))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| StartError("no stderr".into()))?;
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Log first, then announce: whoever waits for the address
                // must find the line that carried it in the log.
                if let Ok(mut l) = sink.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = tx.send(addr);
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(url) => {
                let addr = url
                    .trim_start_matches("http://")
                    .trim_start_matches("https://")
                    .to_owned();
                Ok(TestServer {
                    child: Some(child),
                    addr,
                    log,
                })
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                std::thread::sleep(Duration::from_millis(100));
                let text = log.lock().map(|l| l.clone()).unwrap_or_default();
                Err(StartError(format!(
                    "server did not start ({status:?}):\n{text}"
                )))
            }
        }
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        for _ in 0..200 {
            if let Ok(Some(s)) = c.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        c.wait().ok()
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The standard arguments for a server on a fresh data folder.
pub fn server_args(dir: &Path) -> Vec<String> {
    vec![
        "--store".into(),
        format!("sqlite:{}", dir.join("vitals.sqlite").display()),
        "--secret-file".into(),
        dir.join("server.secret").display().to_string(),
    ]
}

/// The consent body for the current policy.
pub fn consent() -> serde_json::Value {
    serde_json::json!({"consent": {"accepted": true, "policy_version": vitals_shared::policy::version()}})
}

/// Registers a new instance with consent to the current policy (asserting
/// `201`); returns its token.
pub async fn register(http: &reqwest::Client, url: &str) -> String {
    let r = http
        .post(format!("{url}/api/v1/instances"))
        .json(&consent())
        .send()
        .await
        .unwrap_or_else(|e| panic!("cannot reach {url}: {e}"));
    assert_eq!(r.status(), 201);
    r.json::<serde_json::Value>()
        .await
        .ok()
        .and_then(|v| v["token"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("registration answer without a token"))
}

/// Timestamps of the rows of `metric` the server holds for `token`, from
/// `GET /api/v1/me/export.csv` (first column), in the export's order.
pub async fn exported_ts(http: &reqwest::Client, url: &str, token: &str, metric: &str) -> Vec<i64> {
    let r = match http
        .get(format!("{url}/api/v1/me/export.csv?metric={metric}"))
        .bearer_auth(token)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => panic!("export request failed: {e}"),
    };
    assert_eq!(r.status(), 200, "export answered {}", r.status());
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .skip(1)
        .map(|l| match l.split(',').next().and_then(|v| v.parse().ok()) {
            Some(ts) => ts,
            None => panic!("export line without a timestamp: {l:?}"),
        })
        .collect()
}

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// A child process (Prometheus, node_exporter) killed when dropped.
pub struct Daemon(pub Child);

impl Daemon {
    /// Starts `program` with `args`, output discarded.
    pub fn start(program: &str, args: &[String]) -> Daemon {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program} (installed by .ci/run): {e}"));
        Daemon(child)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `url` answers 2xx (at most `secs` seconds).
pub async fn wait_ready(url: &str, secs: u64) -> bool {
    let http = reqwest::Client::new();
    let t = std::time::Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Reads Server-Sent Events from `url`, passing `(event, data)` to `seen`
/// until it returns true (then `Ok`) or `secs` pass (then `Err` with what
/// was seen).
pub async fn read_sse(
    url: &str,
    secs: u64,
    mut seen: impl FnMut(&str, &str) -> bool,
) -> Result<(), String> {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let r = reqwest::get(url).await.map_err(|e| e.to_string())?;
    let mut body = r.bytes_stream();
    let (mut buf, mut log) = (String::new(), String::new());
    loop {
        let chunk = match tokio::time::timeout_at(deadline, body.next()).await {
            Ok(Some(Ok(c))) => c,
            Ok(_) => return Err(format!("the stream ended; seen:\n{log}")),
            Err(_) => return Err(format!("timed out after {secs} s; seen:\n{log}")),
        };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut event = "message";
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = if e == "sample" {
                        "sample"
                    } else if e == "sources" {
                        "sources"
                    } else {
                        "other"
                    };
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            if log.len() < 4000 {
                log.push_str(&format!("{event}: {data}\n"));
            }
            if seen(event, &data) {
                return Ok(());
            }
        }
    }
}

/// The sum of the samples of `name` whose labels contain `label` (e.g.
/// `route="/api/v1/ingest"`) in a `/metrics` text.
pub fn metric_sum(text: &str, name: &str, label: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}
