//! Reads: `instances` instances, each holding a full Warsaw day at 1 Hz
//! (86,400 rows per table; two disc mounts), written straight into the SQLite
//! file through the store; then the real server answers `GET /api/v1/me/stats`
//! and `GET /api/v1/me/series?metric=cpu&max_points=1000` for random instances.

use std::time::{Duration, Instant};

use vitals_server::identity::Token;
use vitals_server::secret::ServerSecret;
use vitals_server::store::sqlite::SqliteStore;
use vitals_server::store::{ConsentRecord, IngestRequest, Store};
use vitals_shared::day::{Clock, SystemClock};
use vitals_shared::wire::{Batch, CpuSample, DiscSample, RamSample};

use crate::server::Server;
use crate::stats::summary;

/// Fills the store, then measures.
pub async fn run(instances: usize, requests: usize) {
    let dir = std::env::temp_dir().join(format!("vitals-bench-reads-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let secret = ServerSecret::load(None, &dir.join("server.secret")).unwrap();
    let day = SystemClock.today();
    let seconds = ((day.end_ms() - day.start_ms()) / 1000).min(86_400);

    let fill = Instant::now();
    let store = SqliteStore::open(&dir.join("vitals.sqlite")).unwrap();
    let mut tokens = vec![];
    for _ in 0..instances {
        let token = Token::generate().unwrap();
        let id = token.instance_id(&secret);
        let consent = ConsentRecord {
            consent_at: day.start_ms(),
            policy_version: vitals_shared::policy::version().to_owned(),
        };
        store.create_instance(id, consent, u64::MAX).await.unwrap();
        // 2,500 seconds per write (10,000 rows).
        let mut s = 0;
        while s < seconds {
            let hi = (s + 2500).min(seconds);
            let mut b = Batch {
                batch_id: uuid::Uuid::new_v4(),
                cpu: vec![],
                ram: vec![],
                disc: vec![],
            };
            for i in s..hi {
                let ts = day.start_ms() + i * 1000;
                let wave = ((i as f64) / 600.0).sin() * 40.0 + 50.0;
                b.cpu.push(CpuSample {
                    ts,
                    usage_pct: wave,
                    cores_pct: vec![wave, 100.0 - wave],
                    load1: Some(0.5),
                });
                b.ram.push(RamSample {
                    ts,
                    used_bytes: (wave * 1e8) as i64,
                    total_bytes: 10_000_000_000,
                    swap_used_bytes: 0,
                    swap_total_bytes: 0,
                });
                for (m, used) in [("/", 50), ("/home", 20)] {
                    b.disc.push(DiscSample {
                        ts,
                        mount: m.into(),
                        used_bytes: used,
                        total_bytes: 100,
                        read_bps: 0.0,
                        write_bps: 0.0,
                    });
                }
            }
            store
                .ingest(IngestRequest {
                    instance: id,
                    batch: b,
                    day,
                    daily_row_limit: u64::MAX,
                })
                .await
                .unwrap();
            s = hi;
        }
        tokens.push(token);
    }
    store.close().await;
    let fill_secs = fill.elapsed().as_secs_f64();
    let db_mb = std::fs::metadata(dir.join("vitals.sqlite"))
        .map(|m| m.len())
        .unwrap_or(0) as f64
        / 1e6;

    let server = Server::start(&dir);
    let http = reqwest::Client::new();
    let mut rng = 0x9e3779b97f4a7c15u64;
    let mut pick = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % instances as u64) as usize
    };
    println!(
        "Store: {instances} instances × {seconds} s at 1 Hz = {} rows per table ({} disc), {db_mb:.0} MB, filled in {fill_secs:.0} s.\n",
        instances as i64 * seconds,
        2 * instances as i64 * seconds
    );
    println!("| request | requests | p50 ms | p99 ms | max ms | p99 < 30 ms |");
    println!("|---|---:|---:|---:|---:|---|");
    for (name, path) in [
        ("stats", "/api/v1/me/stats"),
        (
            "series cpu, 1,000 points",
            "/api/v1/me/series?metric=cpu&max_points=1000",
        ),
        (
            "series disc /, 1,000 points",
            "/api/v1/me/series?metric=disc&max_points=1000",
        ),
    ] {
        let mut lat: Vec<Duration> = vec![];
        // Warm-up: one pass over a few instances.
        for _ in 0..10 {
            let t = &tokens[pick()];
            http.get(format!("{}{path}", server.url))
                .bearer_auth(t.expose())
                .send()
                .await
                .unwrap();
        }
        for _ in 0..requests {
            let t = &tokens[pick()];
            let start = Instant::now();
            let r = http
                .get(format!("{}{path}", server.url))
                .bearer_auth(t.expose())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let body = r.bytes().await.unwrap();
            lat.push(start.elapsed());
            assert!(body.len() > 100);
        }
        let (p50, p99, max) = summary(lat);
        let ok = if p99 < 30.0 { "yes" } else { "no" };
        println!("| {name} | {requests} | {p50:.2} | {p99:.2} | {max:.1} | {ok} |");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
