//! The happy paths: register → ingest → read, idempotency, live, pairing,
//! web link, CSV, delete.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use futures_util::StreamExt;
use serde_json::json;

use crate::common::{Harness, batch, consent};

#[tokio::test]
async fn ingest_then_read_everything() {
    let h = Harness::new();
    let (t, instance) = h.register().await;
    assert_eq!(instance.len(), 36);
    let now = h.now_ms();
    let a = h.ingest(&t, batch(now - 59_000, 60)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let v = a.json();
    assert_eq!(v["accepted"], json!({"cpu": 60, "ram": 60, "disc": 120}));
    assert_eq!(v["duplicate"], false);
    assert_eq!(v["quota"]["rows_left"], 200_000 - 120);
    assert_eq!(v["quota"]["resets_at"], "2026-12-04T23:00:00+00:00");

    let s = h
        .get("/api/v1/me/series?metric=cpu&max_points=10", &t)
        .await
        .json();
    assert_eq!(s["metric"], "cpu");
    let pts = s["points"].as_array().unwrap();
    assert!(pts.len() <= 10 && pts.len() >= 2);
    assert!(pts.iter().any(|p| p[1] == 69.0), "max kept: {pts:?}");
    assert!(pts.iter().any(|p| p[1] == 10.0), "min kept");
    let ram = h.get("/api/v1/me/series?metric=ram", &t).await.json();
    assert_eq!(ram["points"][0][1], 25.0);
    let disc = h.get("/api/v1/me/series?metric=disc", &t).await.json();
    assert_eq!(disc["points"][0][1], 40.0, "default mount is /");
    let home = h
        .get("/api/v1/me/series?metric=disc&mount=%2Fhome", &t)
        .await
        .json();
    assert_eq!(home["points"][0][1], 10.0);
    let narrow = h
        .get(
            &format!(
                "/api/v1/me/series?metric=cpu&from={}&to={}",
                now - 1000,
                now + 1
            ),
            &t,
        )
        .await
        .json();
    assert_eq!(narrow["points"].as_array().unwrap().len(), 2);

    let st = h.get("/api/v1/me/stats", &t).await.json();
    assert_eq!(st["day"], "2026-12-04");
    assert_eq!(st["tz"], "Europe/Warsaw");
    assert_eq!(st["cpu"]["count"], 60);
    assert_eq!(st["cpu"]["min"], 10.0);
    assert_eq!(st["cpu"]["max"], 69.0);
    assert_eq!(st["cpu"]["median"], 39.5);
    assert_eq!(st["cpu"]["p95"], 66.0);
    assert_eq!(st["disc"]["/home"]["avg"], 10.0);
    assert_eq!(st["sessions"].as_array().unwrap().len(), 1);

    let csv = h.get("/api/v1/me/export.csv?metric=ram", &t).await;
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(
        csv.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("vitals-ram-2026-12-04.csv")
    );
    let text = csv.text();
    assert_eq!(text.lines().count(), 61);
    assert!(text.starts_with(
        "ts_ms,time_utc,used_bytes,total_bytes,swap_used_bytes,swap_total_bytes,used_pct\n"
    ));
    assert!(text.lines().nth(1).unwrap().ends_with(",25.000"));
}

#[tokio::test]
async fn same_batch_twice_and_concurrently_is_stored_once() {
    let h = Harness::new();
    let (t, _) = h.register().await;
    let b = batch(h.now_ms() - 3000, 3);
    let first = h.ingest(&t, b.clone()).await.json();
    let again = h.ingest(&t, b.clone()).await.json();
    assert_eq!(first["duplicate"], false);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["accepted"], json!({"cpu": 0, "ram": 0, "disc": 0}));

    let c = batch(h.now_ms(), 1);
    let calls = (0..8).map(|_| h.ingest(&t, c.clone()));
    let answers = futures_util::future::join_all(calls).await;
    let fresh = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK && a.json()["duplicate"] == false)
        .count();
    let dups = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK && a.json()["duplicate"] == true)
        .count();
    assert_eq!((fresh, dups), (1, 7));
    assert_eq!(
        h.rows().await,
        vitals_shared::wire::RowCounts {
            cpu: 4,
            ram: 4,
            disc: 8
        }
    );
}

#[tokio::test]
async fn live_pushes_rows_after_commit() {
    let h = Harness::new();
    let (t, _) = h.register().await;
    let (status, content_type, mut stream) = h.live(&t).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "text/event-stream");
    assert_eq!(
        h.ingest(&t, batch(h.now_ms(), 1)).await.status,
        StatusCode::OK
    );
    let mut text = String::new();
    while text.matches("event: sample").count() < 4 {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("\"metric\":\"cpu\""), "{text}");
    assert!(text.contains("\"metric\":\"ram\""));
    assert_eq!(text.matches("\"metric\":\"disc\"").count(), 2);
    // Deleting the instance ends the stream.
    assert_eq!(
        h.send(Method::DELETE, "/api/v1/me", Some(&t), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert!(end.is_none(), "stream still open: {end:?}");
}

#[tokio::test]
async fn website_first_pairing_and_web_link() {
    let h = Harness::new();
    let a = h
        .send(Method::POST, "/api/v1/pairing", None, Some(consent()))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let cookie = a.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // Plain-HTTP development: no Secure.
    assert!(!cookie.contains("Secure"));
    let session = cookie.split(';').next().unwrap().to_owned();
    let code = a.json()["code"].as_str().unwrap().to_owned();
    assert_eq!(a.json()["expires_at"], "2026-12-04T11:10:00+00:00");
    assert!(
        !a.text()
            .contains(session.trim_start_matches("vitals_session=")),
        "token in body"
    );

    let claim = h
        .send(
            Method::POST,
            "/api/v1/pairing/claim",
            None,
            Some(json!({"code": code.to_lowercase()})),
        )
        .await;
    assert_eq!(claim.status, StatusCode::OK, "{}", claim.text());
    let token = claim.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        format!("vitals_session={token}"),
        session,
        "agent and browser share the instance"
    );
    let again = h
        .send(
            Method::POST,
            "/api/v1/pairing/claim",
            None,
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    // The agent uploads; the browser (cookie) reads it.
    assert_eq!(
        h.ingest(&token, batch(h.now_ms(), 1)).await.status,
        StatusCode::OK
    );
    let req = Request::builder()
        .uri("/api/v1/me/stats")
        .header(header::COOKIE, &session)
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.call(req).await.json()["cpu"]["count"], 1);

    // App → browser: a one-time link.
    let link = h
        .send(Method::POST, "/api/v1/me/web-link", Some(&token), None)
        .await
        .json();
    let url = link["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/claim?code="));
    assert!(!url.contains(&token));
    let go = h.send(Method::GET, &url, None, None).await;
    assert_eq!(go.status, StatusCode::SEE_OTHER);
    assert_eq!(go.headers[header::LOCATION], "/dashboard");
    assert!(
        go.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with(&session)
    );
    let twice = h.send(Method::GET, &url, None, None).await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);

    // An expired pairing code is refused.
    let p = h
        .send(Method::POST, "/api/v1/pairing", None, Some(consent()))
        .await
        .json();
    h.clock.advance_ms(10 * 60 * 1000);
    let late = h
        .send(
            Method::POST,
            "/api/v1/pairing/claim",
            None,
            Some(json!({"code": p["code"]})),
        )
        .await;
    assert_eq!(late.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn delete_erases_everything_of_the_instance() {
    let h = Harness::new();
    let (t, _) = h.register().await;
    assert_eq!(
        h.ingest(&t, batch(h.now_ms(), 1)).await.status,
        StatusCode::OK
    );
    let d = h.send(Method::DELETE, "/api/v1/me", Some(&t), None).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    assert!(
        d.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(h.rows().await, Default::default());
    assert_eq!(h.store.instance_count().await.unwrap(), 0);
    assert_eq!(
        h.ingest(&t, batch(h.now_ms(), 1)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn policy_health_and_metrics() {
    let h = Harness::new();
    let p = h
        .send(Method::GET, "/api/v1/policy", None, None)
        .await
        .json();
    assert_eq!(p["version"], vitals_shared::policy::version());
    assert!(
        p["text_markdown"]
            .as_str()
            .unwrap()
            .contains("Europe/Warsaw")
    );
    assert_eq!(
        h.send(Method::GET, "/readyz", None, None).await.json()["ready"],
        true
    );
    let (t, _) = h.register().await;
    h.ingest(&t, batch(h.now_ms(), 1)).await;
    h.ingest(
        &t,
        json!({"batch_id": uuid::Uuid::new_v4(), "cpu": [{"ts": 0, "usage_pct": 1}]}),
    )
    .await;
    let m = h.send(Method::GET, "/metrics", None, None).await.text();
    for want in [
        "vitals_http_requests_total{route=\"/api/v1/ingest\",status=\"200\"} 1",
        "vitals_http_requests_total{route=\"/api/v1/ingest\",status=\"422\"} 1",
        "vitals_ingest_rows_total{table=\"disc\"} 2",
        "vitals_rejected_rows_total{reason=\"timestamp_outside_day\"} 1",
        "vitals_store_latency_seconds_count{op=\"ingest\"} 1",
        "vitals_live_viewers 0",
    ] {
        assert!(m.contains(want), "missing {want}:\n{m}");
    }
}
