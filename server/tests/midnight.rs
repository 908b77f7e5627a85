//! The Warsaw midnight erase and quota reset, with an injected clock, on an
//! ordinary day and on both DST change days.

use axum::http::{StatusCode, header};
use vitals_server::config::Quotas;
use vitals_shared::wire::RowCounts;

use crate::common::{Harness, batch, utc};

/// Ingests near the end of the day starting `last_second_utc`, crosses
/// midnight, and checks: nothing of yesterday is served, the erase removes it
/// from the file, the quota is fresh.
async fn across_midnight(late_evening: &str, midnight: &str, quota_wait: u64) {
    let quotas = Quotas {
        daily_rows: 6,
        ..Default::default()
    };
    let h = Harness::with(quotas, utc(late_evening));
    let (t, _) = h.register().await;
    let now = h.now_ms();
    // 3 s: disc 6 rows = the whole quota.
    assert_eq!(
        h.ingest(&t, batch(now - 2000, 3)).await.status,
        StatusCode::OK
    );
    let full = h.ingest(&t, batch(now + 1000, 1)).await;
    assert_eq!(full.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        full.headers[header::RETRY_AFTER].to_str().unwrap(),
        quota_wait.to_string(),
        "{late_evening}"
    );

    // One second past Warsaw midnight, before any erase.
    h.clock.set(utc(midnight) + chrono::Duration::seconds(1));
    assert_eq!(
        h.get("/api/v1/me/series?metric=cpu", &t).await.json()["points"],
        serde_json::json!([])
    );
    assert_eq!(
        h.get("/api/v1/me/stats", &t).await.json()["cpu"]["count"],
        0
    );
    assert_eq!(
        h.get("/api/v1/me/export.csv?metric=disc", &t)
            .await
            .text()
            .lines()
            .count(),
        1
    );
    assert_eq!(
        h.rows().await,
        RowCounts {
            cpu: 3,
            ram: 3,
            disc: 6
        },
        "still in the file"
    );

    let erased = vitals_server::erase::roll_day(&h.state).await.unwrap();
    assert_eq!(
        erased,
        RowCounts {
            cpu: 3,
            ram: 3,
            disc: 6
        }
    );
    assert_eq!(h.rows().await, RowCounts::default());
    // New day, fresh quota; the instance lives on.
    let a = h.ingest(&t, batch(h.now_ms(), 3)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["quota"]["rows_left"], 0);
}

#[tokio::test]
async fn ordinary_day() {
    // 23:59:50 CET → midnight 23:00Z.
    across_midnight("2026-12-04T22:59:50Z", "2026-12-04T23:00:00Z", 10).await;
}

#[tokio::test]
async fn spring_forward_day_of_23_hours() {
    // 2026-03-29 has 23 hours; its midnight at the end is 22:00Z (CEST).
    across_midnight("2026-03-29T21:59:50Z", "2026-03-29T22:00:00Z", 10).await;
}

#[tokio::test]
async fn fall_back_day_of_25_hours() {
    // 2026-10-25 has 25 hours; its midnight at the end is 23:00Z (CET).
    across_midnight("2026-10-25T22:59:50Z", "2026-10-25T23:00:00Z", 10).await;
}

#[tokio::test]
async fn quota_wait_spans_the_whole_short_and_long_day() {
    // At the first second of the 23-hour day the quota resets in 23 h.
    let h = Harness::with(
        Quotas {
            daily_rows: 1,
            ..Default::default()
        },
        utc("2026-03-28T23:00:05Z"),
    );
    let (t, _) = h.register().await;
    let a = h.ingest(&t, batch(h.now_ms() - 1000, 1)).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.headers[header::RETRY_AFTER], (23 * 3600 - 5).to_string());
    let h = Harness::with(
        Quotas {
            daily_rows: 1,
            ..Default::default()
        },
        utc("2026-10-24T22:00:05Z"),
    );
    let (t, _) = h.register().await;
    let a = h.ingest(&t, batch(h.now_ms() - 1000, 1)).await;
    assert_eq!(a.headers[header::RETRY_AFTER], (25 * 3600 - 5).to_string());
}

#[tokio::test]
async fn the_background_task_erases_after_midnight() {
    let h = Harness::with(Quotas::default(), utc("2026-12-04T22:59:59Z"));
    let (t, _) = h.register().await;
    assert_eq!(
        h.ingest(&t, batch(h.now_ms(), 1)).await.status,
        StatusCode::OK
    );
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(vitals_server::erase::run(h.state.clone(), rx));
    // The task's first pass (same day) keeps today's rows.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(h.rows().await.cpu, 1);
    // Real time: the task sleeps until the (injected) midnight, 1 s away.
    h.clock.advance_ms(2000);
    let mut erased = false;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if h.rows().await == RowCounts::default() {
            erased = true;
            break;
        }
    }
    stop.send(true).unwrap();
    task.await.unwrap();
    assert!(erased, "rows still there after midnight");
}
