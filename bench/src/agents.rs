//! Simulated agents: each registers, then sends one batch per second (1 cpu,
//! 1 ram, 2 disc rows) over its own keep-alive connection, with start times
//! spread over the first second. Reports latency percentiles, errors and the
//! server's CPU use, per agent count.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::server::{Server, register};
use crate::stats::summary;

fn batch(ts: i64) -> serde_json::Value {
    json!({
        "batch_id": uuid::Uuid::new_v4(),
        "cpu": [{"ts": ts, "usage_pct": 12.5, "cores_pct": [10.0, 15.0], "load1": 0.4}],
        "ram": [{"ts": ts, "used_bytes": 4_000_000_000_i64, "total_bytes": 16_000_000_000_i64, "swap_used_bytes": 0, "swap_total_bytes": 0}],
        "disc": [
            {"ts": ts, "mount": "/", "used_bytes": 50_000_000_000_i64, "total_bytes": 100_000_000_000_i64, "read_bps": 1000.0, "write_bps": 2000.0},
            {"ts": ts, "mount": "/home", "used_bytes": 10_000_000_000_i64, "total_bytes": 100_000_000_000_i64, "read_bps": 0.0, "write_bps": 0.0}
        ]
    })
}

/// Runs each agent count for `seconds`.
pub async fn run(counts: &[usize], seconds: u64) {
    println!(
        "| agents | seconds | requests | errors | p50 ms | p99 ms | max ms | server CPU % of one core | p99 < 50 ms, 0 errors |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for &n in counts {
        let dir =
            std::env::temp_dir().join(format!("vitals-bench-agents-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let server = Server::start(&dir);
        let setup = reqwest::Client::new();
        // One client per agent, each with its own keep-alive connection, all
        // built before the clock starts (building one loads TLS roots).
        let mut agents = Vec::with_capacity(n);
        for _ in 0..n {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            agents.push((register(&setup, &server.url).await, http));
        }
        let errors = Arc::new(AtomicU64::new(0));
        let start = Instant::now() + Duration::from_millis(200);
        let end = start + Duration::from_secs(seconds);
        let cpu0 = server.cpu_seconds();
        let tasks: Vec<_> = agents
            .into_iter()
            .enumerate()
            .map(|(i, (token, http))| {
                let url = server.url.clone();
                let errors = errors.clone();
                tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(seconds as usize + 1);
                    let mut next = start + Duration::from_micros((i as u64 * 1_000_000) / n as u64);
                    while next < end {
                        tokio::time::sleep_until(next.into()).await;
                        let ts = chrono::Utc::now().timestamp_millis();
                        let t = Instant::now();
                        let r = http
                            .post(format!("{url}/api/v1/ingest"))
                            .bearer_auth(&token)
                            .json(&batch(ts))
                            .send()
                            .await;
                        match r {
                            Ok(r) if r.status() == 200 => {
                                let _ = r.bytes().await;
                                lat.push(t.elapsed());
                            }
                            Ok(r) => {
                                if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                                    eprintln!(
                                        "agent error: {} {}",
                                        r.status(),
                                        r.text().await.unwrap_or_default()
                                    );
                                }
                            }
                            Err(e) => {
                                if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                                    eprintln!("agent error: {e}");
                                }
                            }
                        }
                        next += Duration::from_secs(1);
                    }
                    lat
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let wall = start.elapsed().as_secs_f64();
        let cpu = (server.cpu_seconds() - cpu0) / wall * 100.0;
        let errs = errors.load(Ordering::Relaxed);
        let reqs = all.len() as u64 + errs;
        let (p50, p99, max) = summary(all);
        let ok = if p99 < 50.0 && errs == 0 { "yes" } else { "no" };
        println!(
            "| {n} | {seconds} | {reqs} | {errs} | {p50:.2} | {p99:.2} | {max:.1} | {cpu:.0} | {ok} |"
        );
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
