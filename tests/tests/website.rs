//! The website in Debian's Chromium (playwright-core, assets/web/tests/
//! browser.mjs) against the real server and the real `vitals agent`:
//! moving examples from both sources, consent, pairing, the agent's data on
//! the dashboard live, isolation from another browser, 360 px, deletion,
//! no console errors or CSP violations, and the load time of a full day.
//! Screenshots go to tests/artifacts/web/.

use std::process::Command;

use vitals_shared::day::Day;
use vitals_tests::{TestServer, server_args, workspace_bin};

#[test]
fn website_in_chromium() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let web = root.join("assets/web");
    assert!(
        web.join("dist/index.html").exists() && web.join("node_modules/playwright-core").exists(),
        "build the website first: make web (npm ci && npm run build in assets/web)"
    );
    let dir = tempfile::tempdir().unwrap();
    let args = server_args(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let srv = TestServer::start(&args, &[]).unwrap();
    let day_start = Day::containing(chrono::Utc::now()).start_ms();
    let out = Command::new("node")
        .arg("tests/browser.mjs")
        .current_dir(&web)
        .env("VITALS_URL", srv.url())
        .env("VITALS_BIN", workspace_bin("vitals"))
        .env("VITALS_WORK", dir.path())
        .env("VITALS_ARTIFACTS", root.join("tests/artifacts/web"))
        .env("VITALS_DAY_START_MS", day_start.to_string())
        .output()
        .expect("node (Node.js 20) must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "browser test failed:\n{stdout}\n{stderr}\nserver log:\n{}",
        srv.log_text()
    );
    let m: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap();
    // Recorded in docs/BENCHMARKS.md; not a pass/fail timing.
    println!(
        "full day ({} samples per series): drawn {} ms after navigation (script {} ms)",
        m["full_day_samples"], m["full_day_total_ms"], m["full_day_script_ms"]
    );
}
