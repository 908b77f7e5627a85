//! The example streams with the real programs: Debian's node_exporter and
//! Prometheus (temporary config and data folders, 1 s scrape interval, free
//! loopback ports), the OpenTelemetry SDK's own OTLP/HTTP exporter (the
//! server's self-export), OTLP JSON and garbage bodies, and a minute of
//! demo traffic that must leave every table as it was.

use std::time::Duration;

use serde_json::Value;
use vitals_tests::{Daemon, TestServer, free_port, read_sse, server_args, wait_ready};

fn node_exporter() -> (Daemon, u16) {
    let port = free_port();
    let d = Daemon::start(
        "prometheus-node-exporter",
        &[format!("--web.listen-address=127.0.0.1:{port}")],
    );
    (d, port)
}

fn prometheus(dir: &std::path::Path, targets: &[(&str, String, &str)]) -> (Daemon, u16) {
    let port = free_port();
    let mut cfg = String::from(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n",
    );
    for (job, target, path) in targets {
        cfg.push_str(&format!(
            "  - job_name: {job}\n    metrics_path: {path}\n    static_configs:\n      - targets: ['{target}']\n"
        ));
    }
    let file = dir.join("prometheus.yml");
    std::fs::write(&file, cfg).unwrap();
    let d = Daemon::start(
        "prometheus",
        &[
            format!("--config.file={}", file.display()),
            format!("--storage.tsdb.path={}", dir.join("tsdb").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ],
    );
    (d, port)
}

fn server(dir: &std::path::Path, extra: &[&str]) -> TestServer {
    let mut args = server_args(dir);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    TestServer::start(&args, &[]).unwrap()
}

/// Waits for samples of `source` covering cpu, ram and disc with values in
/// range, from `origin`.
async fn expect_all_metrics(url: &str, source: &str, origin: &str, secs: u64) {
    let mut got = std::collections::BTreeSet::new();
    read_sse(&format!("{url}/api/v1/demo/live"), secs, |event, data| {
        if event != "sample" {
            return false;
        }
        let v: Value = serde_json::from_str(data).unwrap();
        if v["source"] == source && v["labels"]["origin"] == origin {
            let x = v["value"].as_f64().unwrap();
            assert!((0.0..=100.0).contains(&x), "{data}");
            if v["metric"] == "disc" {
                assert!(v["labels"]["mount"].is_string(), "{data}");
            }
            got.insert(v["metric"].as_str().unwrap().to_owned());
        }
        got.len() == 3
    })
    .await
    .unwrap_or_else(|e| panic!("{source} from {origin}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_exporter_to_prometheus_to_the_stream_and_prometheus_scrapes_us() {
    let dir = tempfile::tempdir().unwrap();
    let (_ne, ne_port) = node_exporter();
    let server_port = free_port();
    let (_prom, prom_port) = prometheus(
        dir.path(),
        &[
            ("node", format!("127.0.0.1:{ne_port}"), "/metrics"),
            ("vitals", format!("127.0.0.1:{server_port}"), "/metrics"),
        ],
    );
    let prom_url = format!("http://127.0.0.1:{prom_port}");
    let srv = server(
        dir.path(),
        &[
            "--listen",
            &format!("127.0.0.1:{server_port}"),
            "--demo-prometheus",
            &prom_url,
            "--demo-self-scrape",
            "false",
            "--demo-self-otel",
            "false",
        ],
    );
    expect_all_metrics(&srv.url(), "prometheus", &prom_url, 15).await;

    // Real Prometheus scrapes the server's own /metrics: target up.
    let t = std::time::Instant::now();
    loop {
        let r: Value = reqwest::Client::new()
            .get(format!("{prom_url}/api/v1/query"))
            .query(&[("query", "up{job=\"vitals\"}")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if r["data"]["result"][0]["value"][1] == "1" {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "vitals target not up: {r}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The source's health is in /readyz.
    let ready: Value = reqwest::get(format!("{}/readyz", srv.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sources = ready["demo_sources"].as_array().unwrap();
    assert!(
        sources
            .iter()
            .any(|s| s["origin"] == prom_url.as_str() && s["live"] == true),
        "{ready}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_source_reads_node_exporter_directly() {
    let dir = tempfile::tempdir().unwrap();
    let (_ne, ne_port) = node_exporter();
    let target = format!("http://127.0.0.1:{ne_port}/metrics");
    assert!(wait_ready(&target, 10).await, "node_exporter did not start");
    let srv = server(
        dir.path(),
        &[
            "--demo-scrape",
            &target,
            "--demo-self-scrape",
            "false",
            "--demo-self-otel",
            "false",
        ],
    );
    expect_all_metrics(&srv.url(), "prometheus", &target, 15).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otel_sdk_export_json_otlp_and_bad_bodies() {
    let dir = tempfile::tempdir().unwrap();
    // Out of the box: the SDK's own exporter sends our host metrics.
    let srv = server(dir.path(), &["--demo-self-scrape", "false"]);
    let url = srv.url();
    expect_all_metrics(&url, "otel", "self", 15).await;

    // OTLP JSON, as a collector sends it; one unusable point (7 is not a
    // fraction) makes a partial success.
    let body = serde_json::json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "probe"}}]},
        "scopeMetrics": [{"metrics": [
            {"name": "system.memory.utilization", "unit": "1", "gauge": {"dataPoints": [
                {"asDouble": 0.42, "timeUnixNano": "1796382000000000000",
                 "attributes": [{"key": "system.memory.state", "value": {"stringValue": "used"}}]},
                {"asDouble": 7.0, "timeUnixNano": "1796382000000000000"}
            ]}}
        ]}]
    }]});
    let http = reqwest::Client::new();
    let sse = tokio::spawn({
        let url = url.clone();
        async move {
            read_sse(&format!("{url}/api/v1/demo/live"), 10, |e, d| {
                e == "sample" && d.contains("otlp://127.0.0.1") && d.contains("\"value\":42")
            })
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = http
        .post(format!("{url}/v1/metrics"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(
        answer["partialSuccess"]["rejectedDataPoints"], 1,
        "{answer}"
    );
    sse.await.unwrap().unwrap();

    // Garbage protobuf: 400 with a sentence; another type: 415.
    let r = http
        .post(format!("{url}/v1/metrics"))
        .header("content-type", "application/x-protobuf")
        .body(vec![0xff_u8; 64])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not OTLP protobuf"),
        "{e}"
    );
    let r = http
        .post(format!("{url}/v1/metrics"))
        .header("content-type", "text/plain")
        .body("cpu 5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // And the server keeps serving, the self stream included.
    assert!(wait_ready(&format!("{url}/healthz"), 2).await);
    expect_all_metrics(&url, "otel", "self", 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minute_of_demo_traffic_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path(), &[]);
    let url = srv.url();
    // Some real rows first, so "unchanged" is not "empty".
    let http = reqwest::Client::new();
    let token = &vitals_tests::register(&http, &url).await;
    let now = chrono::Utc::now().timestamp_millis();
    let batch = serde_json::json!({"batch_id": uuid::Uuid::new_v4(),
        "cpu": [{"ts": now, "usage_pct": 5.0, "cores_pct": [5.0]}],
        "ram": [{"ts": now, "used_bytes": 1, "total_bytes": 2, "swap_used_bytes": 0, "swap_total_bytes": 0}],
        "disc": [{"ts": now, "mount": "/", "used_bytes": 1, "total_bytes": 2, "read_bps": 0.0, "write_bps": 0.0}]});
    let r = http
        .post(format!("{url}/api/v1/ingest"))
        .bearer_auth(token)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let db = dir.path().join("vitals.sqlite");
    let counts = || {
        let c =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        ["cpu", "ram", "disc", "instances", "batches"].map(|t| {
            c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap()
        })
    };
    let before = counts();
    assert_eq!(before, [1, 1, 1, 1, 1]);
    // A viewer watches both self streams for a minute.
    let mut samples = 0;
    let _ = read_sse(&format!("{url}/api/v1/demo/live"), 60, |e, _| {
        if e == "sample" {
            samples += 1;
        }
        false
    })
    .await;
    assert!(samples > 100, "only {samples} demo samples in a minute");
    assert_eq!(counts(), before, "demo data reached the store");
}
