//! Bulk ingest: 1,000-row batches (250 seconds × 1 cpu + 1 ram + 2 disc) sent
//! back to back by a few uploaders, against a bare rusqlite loop inserting the
//! same rows into the same schema with the same pragmas and one transaction
//! per 1,000 rows, in the same run.

use std::time::Instant;

use serde_json::{Value, json};
use vitals_shared::day::{Clock, SystemClock};

use crate::server::{Server, register};

const SECONDS_PER_BATCH: i64 = 250;

/// One 1,000-row batch for seconds `[s0, s0 + 250)` at 1 ms steps from `t0`.
fn batch(t0: i64, s0: i64) -> Value {
    let mut cpu = vec![];
    let mut ram = vec![];
    let mut disc = vec![];
    for s in s0..s0 + SECONDS_PER_BATCH {
        let ts = t0 + s;
        cpu.push(json!({"ts": ts, "usage_pct": (s % 100) as f64, "cores_pct": [1.0, 2.0, 3.0, 4.0], "load1": 0.5}));
        ram.push(json!({"ts": ts, "used_bytes": 1_i64 << 32, "total_bytes": 1_i64 << 34, "swap_used_bytes": 0, "swap_total_bytes": 1_i64 << 30}));
        for m in ["/", "/home"] {
            disc.push(json!({"ts": ts, "mount": m, "used_bytes": 1_i64 << 35, "total_bytes": 1_i64 << 36, "read_bps": 10.0, "write_bps": 20.0}));
        }
    }
    json!({"batch_id": uuid::Uuid::new_v4(), "cpu": cpu, "ram": ram, "disc": disc})
}

/// Runs the server side, then the reference, and prints both and the ratio.
pub async fn run(rows: usize, clients: usize) {
    let batches_total = rows / 1000;
    let per_client = batches_total / clients;
    let day = SystemClock.today();
    let now = SystemClock.now_ms();
    // Each client is its own instance with its own 1 ms timestamp range.
    let span = (per_client as i64) * SECONDS_PER_BATCH;
    let t0 = (now - span - 10_000).max(day.start_ms());
    assert!(
        t0 + span < now,
        "not enough of today has passed for {rows} rows at 1 ms steps; use fewer"
    );

    let dir = std::env::temp_dir().join(format!("vitals-bench-bulk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let server = Server::start(&dir);
    let http = reqwest::Client::new();
    let mut bodies = vec![];
    for _ in 0..clients {
        let token = register(&http, &server.url).await;
        let list: Vec<String> = (0..per_client)
            .map(|b| batch(t0, b as i64 * SECONDS_PER_BATCH).to_string())
            .collect();
        bodies.push((token, list));
    }
    let started = Instant::now();
    let cpu0 = server.cpu_seconds();
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|(token, list)| {
            let (http, url) = (http.clone(), server.url.clone());
            tokio::spawn(async move {
                for body in list {
                    let r = http
                        .post(format!("{url}/api/v1/ingest"))
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let server_secs = started.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds() - cpu0;
    let sent = (per_client * clients * 1000) as f64;
    let server_rate = sent / server_secs;
    drop(server);

    // The reference: the same rows, bare rusqlite, same schema and pragmas.
    let path = dir.join("reference.sqlite");
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch(vitals_server::store::sqlite::SCHEMA)
        .unwrap();
    let ids: Vec<[u8; 16]> = (0..clients).map(|c| [c as u8 + 1; 16]).collect();
    let started = Instant::now();
    for id in &ids {
        for b in 0..per_client {
            let tx = conn.transaction().unwrap();
            {
                let mut cpu = tx.prepare_cached("INSERT INTO cpu (instance_id, ts, usage_pct, cores_pct, load1) VALUES (?1, ?2, ?3, ?4, ?5)").unwrap();
                let mut ram = tx.prepare_cached("INSERT INTO ram (instance_id, ts, used_bytes, total_bytes, swap_used_bytes, swap_total_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)").unwrap();
                let mut disc = tx.prepare_cached("INSERT INTO disc (instance_id, mount, ts, used_bytes, total_bytes, read_bps, write_bps) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)").unwrap();
                for s in (b as i64 * SECONDS_PER_BATCH)..((b as i64 + 1) * SECONDS_PER_BATCH) {
                    let ts = t0 + s;
                    cpu.execute(rusqlite::params![
                        id,
                        ts,
                        (s % 100) as f64,
                        "[1.0,2.0,3.0,4.0]",
                        0.5
                    ])
                    .unwrap();
                    ram.execute(rusqlite::params![
                        id,
                        ts,
                        1_i64 << 32,
                        1_i64 << 34,
                        0,
                        1_i64 << 30
                    ])
                    .unwrap();
                    for m in ["/", "/home"] {
                        disc.execute(rusqlite::params![
                            id,
                            m,
                            ts,
                            1_i64 << 35,
                            1_i64 << 36,
                            10.0,
                            20.0
                        ])
                        .unwrap();
                    }
                }
            }
            tx.commit().unwrap();
        }
    }
    let ref_secs = started.elapsed().as_secs_f64();
    let ref_rate = sent / ref_secs;
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);

    println!("| what | rows | seconds | rows/s | ratio to bare rusqlite |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| vitals-server over HTTP ({clients} uploaders, 1,000-row batches; server CPU {cpu:.1} s) | {sent:.0} | {server_secs:.2} | {server_rate:.0} | {:.2} |",
        server_rate / ref_rate
    );
    println!(
        "| bare rusqlite loop, same rows, 1 transaction per 1,000 rows | {sent:.0} | {ref_secs:.2} | {ref_rate:.0} | 1.00 |"
    );
}
