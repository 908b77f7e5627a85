//! Instance A can never read, stream, export or delete instance B's data.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use futures_util::StreamExt;

use crate::common::{Harness, batch};

#[tokio::test]
async fn one_instance_never_sees_another() {
    let h = Harness::new();
    let (a, _) = h.register().await;
    let (b, _) = h.register().await;
    let now = h.now_ms();
    assert_eq!(
        h.ingest(&a, batch(now - 10_000, 5)).await.status,
        StatusCode::OK
    );

    for metric in ["cpu", "ram", "disc"] {
        let s = h
            .get(&format!("/api/v1/me/series?metric={metric}"), &b)
            .await;
        assert_eq!(s.status, StatusCode::OK);
        assert_eq!(
            s.json()["points"],
            serde_json::json!([]),
            "B sees A's {metric}"
        );
        let s = h.get("/api/v1/me/series?metric=disc&mount=/home", &b).await;
        assert_eq!(s.json()["points"], serde_json::json!([]));
        let e = h
            .get(&format!("/api/v1/me/export.csv?metric={metric}"), &b)
            .await;
        assert_eq!(e.status, StatusCode::OK);
        assert_eq!(
            e.text().lines().count(),
            1,
            "B's export has A's rows: {}",
            e.text()
        );
        // A sees its own.
        assert!(
            h.get(&format!("/api/v1/me/export.csv?metric={metric}"), &a)
                .await
                .text()
                .lines()
                .count()
                > 1
        );
    }
    let st = h.get("/api/v1/me/stats", &b).await.json();
    assert_eq!(st["cpu"]["count"], 0);
    assert!(st["sessions"].as_array().unwrap().is_empty());

    // B's live stream gets nothing when A ingests.
    let (status, _, mut stream) = h.live(&b).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.ingest(&a, batch(now, 1)).await.status, StatusCode::OK);
    let got = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
    assert!(got.is_err(), "B's stream received {got:?}");

    // B deleting deletes only B.
    let d = h.send(Method::DELETE, "/api/v1/me", Some(&b), None).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    assert!(h.get("/api/v1/me/stats", &b).await.status == StatusCode::UNAUTHORIZED);
    assert_eq!(
        h.get("/api/v1/me/stats", &a).await.json()["cpu"]["count"],
        6
    );
}

#[tokio::test]
async fn cookie_reads_but_never_ingests() {
    let h = Harness::new();
    let (a, _) = h.register().await;
    let req = Request::builder()
        .uri("/api/v1/me/stats")
        .header(header::COOKIE, format!("theme=dark; vitals_session={a}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.call(req).await.status, StatusCode::OK);
}
