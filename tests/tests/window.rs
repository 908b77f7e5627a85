//! The desktop window driven through its widgets by label (egui_kittest),
//! with the real engine (sampler, queue, uploader) and the real server
//! binary on a temporary SQLite file. Before Proceed the server sees no
//! request carrying samples; after it the status bar says uploading and
//! rows arrive; revoke deletes them on the server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use vitals_desktop::app::VitalsApp;
use vitals_desktop::engine::Engine;
use vitals_desktop::settings::{Settings, SettingsFile};
use vitals_desktop::upload::UploadState;
use vitals_tests::{TestServer, metric_sum, server_args};

fn requests_to(metrics: &str, route: &str) -> u64 {
    metric_sum(
        metrics,
        "vitals_http_requests_total",
        &format!("route=\"{route}\""),
    )
}

async fn metrics(url: &str) -> String {
    reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Runs the UI until `done` holds (the engine works on its own threads).
fn run_until(h: &mut Harness<'_, VitalsApp>, what: &str, done: impl Fn(&VitalsApp) -> bool) {
    let t = Instant::now();
    while !done(h.state()) {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "timed out waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
        h.run();
    }
    h.run();
}

fn status(app: &VitalsApp) -> UploadState {
    app.engine().shared.status.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_consent_upload_window_selector_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let args = server_args(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = TestServer::start(&args, &[]).unwrap();
    let url = server.url();

    let settings = Settings {
        server_url: url.clone(),
        interval_ms: 250,
        use_keyring: false,
        ..Settings::default()
    };
    let data = dir.path().join("data");
    let engine = Engine::start(settings, data.clone(), Arc::new(|| {})).unwrap();
    let app = VitalsApp::new(engine, SettingsFile::in_dir(&dir.path().join("cfg")), None);
    let mut h = Harness::builder()
        .with_size([1180.0, 900.0])
        .build_ui_state(|ui, app: &mut VitalsApp| app.ui(ui), app);

    run_until(&mut h, "the policy and two samples", |a| {
        a.engine().shared.policy.lock().unwrap().is_some()
            && a.engine().shared.history.lock().unwrap().len() >= 2
    });
    assert_eq!(status(h.state()), UploadState::LocalOnly);
    h.get_by_label("Status: local only");

    // Proceed is disabled until the box is ticked; clicking it does nothing.
    assert!(h.get_by_label("Proceed").accesskit_node().is_disabled());
    h.get_by_label("Proceed").click();
    h.run();
    std::thread::sleep(Duration::from_millis(600));
    h.run();
    let m = metrics(&url).await;
    assert_eq!(
        requests_to(&m, "/api/v1/instances"),
        0,
        "registered before consent"
    );
    assert_eq!(
        requests_to(&m, "/api/v1/ingest"),
        0,
        "samples sent before consent"
    );
    assert!(!data.join("agent.token").exists());

    h.get_by_label("I have read and agree").click();
    h.run();
    assert!(!h.get_by_label("Proceed").accesskit_node().is_disabled());
    h.get_by_label("Proceed").click();
    run_until(&mut h, "uploading", |a| status(a) == UploadState::Uploading);
    h.get_by_label("Status: uploading");
    let token = std::fs::read_to_string(data.join("agent.token")).unwrap();

    // Rows arrive at the server.
    let http = reqwest::Client::new();
    let t = Instant::now();
    loop {
        let m = metrics(&url).await;
        if requests_to(&m, "/api/v1/ingest") >= 2 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "no uploads:\n{m}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        h.run();
    }
    let me = http
        .get(format!("{url}/api/v1/me/stats"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let stats: serde_json::Value = me.json().await.unwrap();
    assert!(stats["cpu"]["count"].as_u64().unwrap() >= 1, "{stats}");

    // The window selector: 5 minutes at 250 ms is 1200 samples.
    h.get_by_label("5 min").click();
    h.run();
    assert_eq!(
        h.state().engine().shared.history.lock().unwrap().window(),
        1200
    );
    h.get_by_label("1 min").click();
    h.run();
    assert_eq!(
        h.state().engine().shared.history.lock().unwrap().window(),
        240
    );

    // Revoke: upload stops, the server forgets the instance, the token goes.
    h.get_by_label("Revoke consent").click();
    run_until(&mut h, "revoked", |a| {
        a.engine()
            .shared
            .notice
            .lock()
            .unwrap()
            .as_deref()
            .is_some_and(|n| n.starts_with("Consent revoked"))
    });
    assert_eq!(status(h.state()), UploadState::LocalOnly);
    h.get_by_label("Status: local only");
    let gone = http
        .get(format!("{url}/api/v1/me/stats"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 401);
    assert!(!data.join("agent.token").exists());
    // The consent screen is back, unticked.
    assert!(h.get_by_label("Proceed").accesskit_node().is_disabled());
}
