//! `vitals agent` against the real server on a temporary SQLite file: the
//! server is killed and stays down for a minute (network cut), the agent is
//! killed and restarted while samples wait in its queue, the server comes
//! back on the same file. Afterwards the server holds every sample taken,
//! exactly once, in order.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vitals_tests::{Daemon, TestServer, exported_ts, free_port, server_args, workspace_bin};

/// The agent, killed on drop.
fn start_agent(url: &str, data: &std::path::Path) -> Daemon {
    let child = Command::new(workspace_bin("vitals"))
        .args([
            "agent",
            "--server",
            url,
            "--interval-ms",
            "250",
            "--accept-policy",
            vitals_shared::policy::version(),
        ])
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Daemon(child)
}

fn queued(data: &std::path::Path) -> usize {
    std::fs::read_dir(data.join("queue"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .count()
        })
        .unwrap_or(0)
}

/// Seconds the server stays down; 60 as the issue asks, shorter for a
/// quick local run with `VITALS_TEST_OUTAGE_SECS`.
fn outage() -> Duration {
    let s = std::env::var("VITALS_TEST_OUTAGE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_loses_nothing_across_outages_and_restarts() {
    let sdir = tempfile::tempdir().unwrap();
    let adir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut args = server_args(sdir.path());
    args.extend(["--listen".into(), format!("127.0.0.1:{port}")]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();

    let mut server = TestServer::start(&argv, &[]).unwrap();
    let agent = start_agent(&url, adir.path());
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.kill();
    // Network cut: samples pile up in the agent's queue.
    let cut = outage();
    tokio::time::sleep(cut / 2).await;
    assert!(
        queued(adir.path()) > 0,
        "nothing queued while the server is down"
    );
    // The agent dies mid-queue and comes back.
    drop(agent);
    let before_restart = queued(adir.path());
    let agent = start_agent(&url, adir.path());
    tokio::time::sleep(cut / 2).await;
    assert!(
        queued(adir.path()) >= before_restart,
        "queued samples were lost by the restart"
    );
    let server = TestServer::start(&argv, &[]).unwrap();

    // Wait for the queue to drain (backoff is at most a minute).
    let deadline = Instant::now() + Duration::from_secs(120);
    while queued(adir.path()) > 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut agent = agent;
    let _ = Command::new("kill")
        .args(["-TERM", &agent.0.id().to_string()])
        .status();
    let status = agent.0.wait().unwrap();
    assert!(status.success(), "agent exit: {status:?}");
    assert!(
        queued(adir.path()) <= 1,
        "queue not drained: {}",
        queued(adir.path())
    );

    let token = std::fs::read_to_string(adir.path().join("agent.token")).unwrap();
    let http = reqwest::Client::new();
    let cpu = exported_ts(&http, &server.url(), token.trim(), "cpu").await;
    let ram = exported_ts(&http, &server.url(), token.trim(), "ram").await;
    let disc = exported_ts(&http, &server.url(), token.trim(), "disc").await;
    assert!(
        cpu.len() as f64 > cut.as_secs_f64() * 4.0 * 0.5,
        "only {} samples stored",
        cpu.len()
    );
    assert!(
        cpu.windows(2).all(|w| w[0] < w[1]),
        "duplicate or unordered cpu samples"
    );
    assert_eq!(ram, cpu, "ram and cpu rows differ");
    assert_eq!(
        disc.len() % cpu.len(),
        0,
        "disc rows are not one per mount per sample"
    );
    // Samples are 250 ms apart throughout, outage included; only the agent's
    // own restart may leave one longer gap.
    let long_gaps: Vec<i64> = cpu
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 2000)
        .collect();
    assert!(long_gaps.len() <= 1, "samples missing: gaps {long_gaps:?}");
}
