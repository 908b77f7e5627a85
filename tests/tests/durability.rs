//! Durability: several clients ingest continuously, the server is killed with
//! SIGKILL mid-stream and restarted on the same SQLite file. Every batch that
//! was answered `200` is there, and after the clients retry the unanswered
//! ones (same `batch_id`), every batch is stored exactly once.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use vitals_tests::{TestServer, exported_ts, register, server_args};

fn batch(ts: i64) -> Value {
    json!({
        "batch_id": uuid::Uuid::new_v4(),
        "cpu": [{"ts": ts, "usage_pct": 12.5, "cores_pct": [10.0, 15.0]}],
        "ram": [{"ts": ts, "used_bytes": 100, "total_bytes": 400}],
        "disc": [
            {"ts": ts, "mount": "/", "used_bytes": 5, "total_bytes": 10},
            {"ts": ts, "mount": "/data", "used_bytes": 1, "total_bytes": 10}
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_stream_loses_no_acknowledged_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = server_args(dir.path());
    // This test is about durability, not rate limits.
    args.extend(["--ingest-rate", "100000", "--ingest-burst", "100000"].map(String::from));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = TestServer::start(&argv, &[]).unwrap();
    let url = server.url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();

    const CLIENTS: usize = 4;
    let mut tokens = vec![];
    for _ in 0..CLIENTS {
        tokens.push(register(&http, &url).await);
    }
    // Timestamps 1 ms apart from a minute ago, but never before today's
    // Warsaw midnight (the server refuses other days' rows).
    let now = chrono::Utc::now();
    let base =
        (now.timestamp_millis() - 60_000).max(vitals_shared::day::Day::containing(now).start_ms());
    let running = Arc::new(AtomicBool::new(true));
    let mut tasks = vec![];
    for token in tokens.clone() {
        let (http, url, running) = (http.clone(), url.clone(), running.clone());
        tasks.push(tokio::spawn(async move {
            let (mut acked, mut pending) = (vec![], vec![]);
            let mut seq = 0i64;
            while running.load(Ordering::SeqCst) && seq < 20_000 {
                let b = batch(base + seq);
                seq += 1;
                let res = http
                    .post(format!("{url}/api/v1/ingest"))
                    .bearer_auth(&token)
                    .json(&b)
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status() == 200 => acked.push(b),
                    Ok(r) => panic!(
                        "unexpected {} {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    ),
                    Err(_) => {
                        pending.push(b);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            (acked, pending)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    tokio::time::sleep(Duration::from_millis(400)).await;
    running.store(false, Ordering::SeqCst);
    let mut results = vec![];
    for t in tasks {
        results.push(t.await.unwrap());
    }

    let server = TestServer::start(&argv, &[]).unwrap();
    let url = server.url();
    let mut total_acked = 0;
    for (token, (acked, _)) in tokens.iter().zip(&results) {
        assert!(
            acked.len() > 10,
            "client made too little progress: {}",
            acked.len()
        );
        total_acked += acked.len();
        let have: BTreeSet<i64> = exported_ts(&http, &url, token, "cpu")
            .await
            .into_iter()
            .collect();
        for b in acked {
            let ts = b["cpu"][0]["ts"].as_i64().unwrap();
            assert!(
                have.contains(&ts),
                "acknowledged batch at {ts} lost after SIGKILL"
            );
        }
    }

    // Retry everything unanswered with its original batch id.
    let mut dup_on_retry = 0;
    for (token, (_, pending)) in tokens.iter().zip(&results) {
        for b in pending {
            let r = http
                .post(format!("{url}/api/v1/ingest"))
                .bearer_auth(token)
                .json(b)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            if r.json::<Value>().await.unwrap()["duplicate"] == true {
                dup_on_retry += 1;
            }
        }
    }
    for (token, (acked, pending)) in tokens.iter().zip(&results) {
        let want: Vec<i64> = acked
            .iter()
            .chain(pending)
            .map(|b| b["cpu"][0]["ts"].as_i64().unwrap())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let cpu = exported_ts(&http, &url, token, "cpu").await;
        assert_eq!(
            cpu, want,
            "cpu rows are not exactly the sent batches, once each"
        );
        assert_eq!(exported_ts(&http, &url, token, "ram").await, want);
        assert_eq!(
            exported_ts(&http, &url, token, "disc").await.len(),
            2 * want.len()
        );
    }
    eprintln!(
        "durability: {total_acked} batches acknowledged before SIGKILL, {} retried ({dup_on_retry} had been committed unanswered)",
        results.iter().map(|r| r.1.len()).sum::<usize>()
    );
}
