//! Every documented error status and code, table-driven, and after all of
//! them nothing was stored.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::common::{Harness, batch, consent};

enum Auth {
    None,
    Valid,
    Raw(&'static str),
    Cookie,
}

enum Payload {
    None,
    Json(Value),
    Raw(String),
}

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    auth: Auth,
    content_type: Option<&'static str>,
    body: Payload,
    status: StatusCode,
    code: &'static str,
}

fn case(
    name: &'static str,
    method: Method,
    path: &str,
    auth: Auth,
    body: Payload,
    status: u16,
    code: &'static str,
) -> Case {
    let content_type = match body {
        Payload::None => None,
        _ => Some("application/json"),
    };
    Case {
        name,
        method,
        path: path.to_owned(),
        auth,
        content_type,
        body,
        status: StatusCode::from_u16(status).unwrap(),
        code,
    }
}

/// Edits the `table` array's first row of a fresh valid batch.
fn edited(now: i64, table: &str, field: &str, value: Value) -> Payload {
    let mut b = batch(now, 1);
    b[table][0][field] = value;
    Payload::Json(b)
}

#[tokio::test]
async fn every_bad_request_is_refused_and_nothing_is_stored() {
    let h = Harness::new();
    let (token, _) = h.register().await;
    let now = h.now_ms();
    let day_start = h.state.clock.today().start_ms();
    let post = Method::POST;
    let get = Method::GET;
    let ingest = "/api/v1/ingest";
    let unknown = "A".repeat(43);
    let unknown: &'static str = Box::leak(unknown.into_boxed_str());

    let many_rows = {
        let cpu: Vec<Value> = (0..10_001)
            .map(|i| json!({"ts": now - i, "usage_pct": 1.0}))
            .collect();
        Payload::Json(json!({"batch_id": uuid::Uuid::new_v4(), "cpu": cpu}))
    };
    let dup_ts = {
        let mut b = batch(now, 1);
        let row = b["cpu"][0].clone();
        b["cpu"].as_array_mut().unwrap().push(row);
        Payload::Json(b)
    };
    let huge = Payload::Raw(format!(
        "{{\"batch_id\":\"{}\",\"pad\":\"{}\"}}",
        uuid::Uuid::new_v4(),
        "x".repeat(1024 * 1024)
    ));

    let mut cases = vec![
        // 401
        case(
            "ingest without token",
            post.clone(),
            ingest,
            Auth::None,
            Payload::Json(batch(now, 1)),
            401,
            "missing_token",
        ),
        case(
            "ingest with Basic auth",
            post.clone(),
            ingest,
            Auth::Raw("Basic dXNlcjpwYXNz"),
            Payload::Json(batch(now, 1)),
            401,
            "missing_token",
        ),
        case(
            "ingest with malformed token",
            post.clone(),
            ingest,
            Auth::Raw("Bearer not-a-token"),
            Payload::Json(batch(now, 1)),
            401,
            "unknown_token",
        ),
        case(
            "ingest with unknown token",
            post.clone(),
            ingest,
            Auth::Raw(Box::leak(format!("Bearer {unknown}").into_boxed_str())),
            Payload::Json(batch(now, 1)),
            401,
            "unknown_token",
        ),
        case(
            "ingest by cookie",
            post.clone(),
            ingest,
            Auth::Cookie,
            Payload::Json(batch(now, 1)),
            401,
            "missing_token",
        ),
        case(
            "series without token",
            get.clone(),
            "/api/v1/me/series?metric=cpu",
            Auth::None,
            Payload::None,
            401,
            "missing_token",
        ),
        case(
            "stats with unknown token",
            get.clone(),
            "/api/v1/me/stats",
            Auth::Raw(Box::leak(format!("Bearer {unknown}").into_boxed_str())),
            Payload::None,
            401,
            "unknown_token",
        ),
        case(
            "live without token",
            get.clone(),
            "/api/v1/me/live",
            Auth::None,
            Payload::None,
            401,
            "missing_token",
        ),
        case(
            "export without token",
            get.clone(),
            "/api/v1/me/export.csv?metric=cpu",
            Auth::None,
            Payload::None,
            401,
            "missing_token",
        ),
        case(
            "delete without token",
            Method::DELETE,
            "/api/v1/me",
            Auth::None,
            Payload::None,
            401,
            "missing_token",
        ),
        case(
            "web-link by cookie",
            post.clone(),
            "/api/v1/me/web-link",
            Auth::Cookie,
            Payload::None,
            401,
            "missing_token",
        ),
        // 415
        case(
            "ingest as text/plain",
            post.clone(),
            ingest,
            Auth::Valid,
            Payload::Raw(batch(now, 1).to_string()),
            415,
            "unsupported_media_type",
        ),
        case(
            "register as form",
            post.clone(),
            "/api/v1/instances",
            Auth::None,
            Payload::Raw("consent=yes".into()),
            415,
            "unsupported_media_type",
        ),
        // 413
        case(
            "ingest over 1 MiB",
            post.clone(),
            ingest,
            Auth::Valid,
            huge,
            413,
            "body_too_large",
        ),
        // 400
        case(
            "ingest malformed JSON",
            post.clone(),
            ingest,
            Auth::Valid,
            Payload::Raw("{\"batch_id\":".into()),
            400,
            "malformed_json",
        ),
        case(
            "ingest NaN literal",
            post.clone(),
            ingest,
            Auth::Valid,
            Payload::Raw(format!(
                "{{\"batch_id\":\"{}\",\"cpu\":[{{\"ts\":{now},\"usage_pct\":NaN}}]}}",
                uuid::Uuid::new_v4()
            )),
            400,
            "malformed_json",
        ),
        case(
            "ingest empty body",
            post.clone(),
            ingest,
            Auth::Valid,
            Payload::Raw(String::new()),
            400,
            "malformed_json",
        ),
        case(
            "ingest missing batch_id",
            post.clone(),
            ingest,
            Auth::Valid,
            Payload::Json(json!({"cpu": []})),
            400,
            "invalid_body",
        ),
        case(
            "ingest bad batch_id",
            post.clone(),
            ingest,
            Auth::Valid,
            Payload::Json(json!({"batch_id": "42"})),
            400,
            "invalid_body",
        ),
        case(
            "ingest string percent",
            post.clone(),
            ingest,
            Auth::Valid,
            edited(now, "cpu", "usage_pct", json!("high")),
            400,
            "invalid_body",
        ),
        case(
            "ingest fractional bytes",
            post.clone(),
            ingest,
            Auth::Valid,
            edited(now, "ram", "used_bytes", json!(1.5)),
            400,
            "invalid_body",
        ),
        case(
            "ingest missing ts",
            post.clone(),
            ingest,
            Auth::Valid,
            Payload::Json(
                json!({"batch_id": uuid::Uuid::new_v4(), "ram": [{"used_bytes": 1, "total_bytes": 2}]}),
            ),
            400,
            "invalid_body",
        ),
        case(
            "ingest array body",
            post.clone(),
            ingest,
            Auth::Valid,
            Payload::Json(json!([1, 2])),
            400,
            "invalid_body",
        ),
        case(
            "register malformed",
            post.clone(),
            "/api/v1/instances",
            Auth::None,
            Payload::Raw("{".into()),
            400,
            "malformed_json",
        ),
        case(
            "series without metric",
            get.clone(),
            "/api/v1/me/series",
            Auth::Valid,
            Payload::None,
            400,
            "invalid_query",
        ),
        case(
            "series unknown metric",
            get.clone(),
            "/api/v1/me/series?metric=gpu",
            Auth::Valid,
            Payload::None,
            400,
            "invalid_query",
        ),
        case(
            "series max_points=1",
            get.clone(),
            "/api/v1/me/series?metric=cpu&max_points=1",
            Auth::Valid,
            Payload::None,
            400,
            "invalid_query",
        ),
        case(
            "series max_points huge",
            get.clone(),
            "/api/v1/me/series?metric=cpu&max_points=99999",
            Auth::Valid,
            Payload::None,
            400,
            "invalid_query",
        ),
        case(
            "series from after to",
            get.clone(),
            "/api/v1/me/series?metric=cpu&from=10&to=5",
            Auth::Valid,
            Payload::None,
            400,
            "invalid_query",
        ),
        case(
            "series non-numeric from",
            get.clone(),
            "/api/v1/me/series?metric=cpu&from=yesterday",
            Auth::Valid,
            Payload::None,
            400,
            "invalid_query",
        ),
        case(
            "export without metric",
            get.clone(),
            "/api/v1/me/export.csv",
            Auth::Valid,
            Payload::None,
            400,
            "invalid_query",
        ),
        case(
            "pairing claim without code",
            post.clone(),
            "/api/v1/pairing/claim",
            Auth::None,
            Payload::Json(json!({})),
            400,
            "invalid_body",
        ),
        // 404 / 405
        case(
            "pairing claim unknown code",
            post.clone(),
            "/api/v1/pairing/claim",
            Auth::None,
            Payload::Json(json!({"code": "ABCD-EFGH"})),
            404,
            "code_not_found",
        ),
        case(
            "unknown route",
            get.clone(),
            "/api/v1/nothing",
            Auth::None,
            Payload::None,
            404,
            "not_found",
        ),
        case(
            "GET on ingest",
            get.clone(),
            ingest,
            Auth::Valid,
            Payload::None,
            405,
            "method_not_allowed",
        ),
        // 422: consent
        case(
            "register without consent",
            post.clone(),
            "/api/v1/instances",
            Auth::None,
            Payload::Json(json!({})),
            422,
            "consent_required",
        ),
        case(
            "register accepted=false",
            post.clone(),
            "/api/v1/instances",
            Auth::None,
            Payload::Json(
                json!({"consent": {"accepted": false, "policy_version": vitals_shared::policy::version()}}),
            ),
            422,
            "consent_required",
        ),
        case(
            "register old policy",
            post.clone(),
            "/api/v1/instances",
            Auth::None,
            Payload::Json(json!({"consent": {"accepted": true, "policy_version": "1999-01-01"}})),
            422,
            "unknown_policy_version",
        ),
        case(
            "pairing without consent",
            post.clone(),
            "/api/v1/pairing",
            Auth::None,
            Payload::Json(json!({"consent": {"accepted": false}})),
            422,
            "consent_required",
        ),
        // 422: values
        case(
            "percent over 100",
            post.clone(),
            ingest,
            Auth::Valid,
            edited(now, "cpu", "usage_pct", json!(100.01)),
            422,
            "out_of_range",
        ),
        case(
            "percent below 0",
            post.clone(),
            ingest,
            Auth::Valid,
            edited(now, "cpu", "usage_pct", json!(-1)),
            422,
            "out_of_range",
        ),
        case(
            "core percent over 100",
            post.clone(),
            ingest,
            Auth::Valid,
            edited(now, "cpu", "cores_pct", json!([50, 101])),
            422,
            "out_of_range",
        ),
        case(
            "negative load",
            post.clone(),
            ingest,
            Auth::Valid,
            edited(now, "cpu", "load1", json!(-0.5)),
            422,
            "out_of_range",
        ),
        case(
            "negative bytes",
            post.clone(),
            ingest,
            Auth::Valid,
            edited(now, "ram", "used_bytes", json!(-1)),
            422,
            "out_of_range",
        ),
        case(
            "used over total",
            post.clone(),
            ingest,
            Auth::Valid,
            edited(now, "ram", "used_bytes", json!(5_i64 << 30)),
            422,
            "used_over_total",
        ),
        case(
            "disc used over total",
            post.clone(),
            ingest,
            Auth::Valid,
            edited(now, "disc", "used_bytes", json!(101)),
            422,
            "used_over_total",
        ),
        case(
            "negative read rate",
            post.clone(),
            ingest,
            Auth::Valid,
            edited(now, "disc", "read_bps", json!(-5.0)),
            422,
            "out_of_range",
        ),
        case(
            "empty mount",
            post.clone(),
            ingest,
            Auth::Valid,
            edited(now, "disc", "mount", json!("")),
            422,
            "empty_mount",
        ),
        case(
            "timestamp yesterday",
            post.clone(),
            ingest,
            Auth::Valid,
            edited(now, "cpu", "ts", json!(day_start - 1)),
            422,
            "timestamp_outside_day",
        ),
        case(
            "timestamp 10 s ahead",
            post.clone(),
            ingest,
            Auth::Valid,
            edited(now, "ram", "ts", json!(now + 10_000)),
            422,
            "timestamp_in_future",
        ),
        case(
            "duplicate timestamp",
            post.clone(),
            ingest,
            Auth::Valid,
            dup_ts,
            422,
            "duplicate_timestamp",
        ),
        case(
            "10,001 rows",
            post.clone(),
            ingest,
            Auth::Valid,
            many_rows,
            422,
            "too_many_rows",
        ),
    ];
    // The last row of a valid batch broken, to prove nothing before it is kept.
    let mut late = batch(now - 5000, 3);
    late["disc"][5]["total_bytes"] = json!(-1);
    cases.push(case(
        "last row bad",
        post.clone(),
        ingest,
        Auth::Valid,
        Payload::Json(late),
        422,
        "out_of_range",
    ));

    assert!(cases.len() >= 30, "{} cases", cases.len());
    for c in cases {
        let mut b = Request::builder().method(c.method).uri(&c.path);
        b = match c.auth {
            Auth::None => b,
            Auth::Valid => b.header(header::AUTHORIZATION, format!("Bearer {token}")),
            Auth::Raw(v) => b.header(header::AUTHORIZATION, v),
            Auth::Cookie => b.header(header::COOKIE, format!("vitals_session={token}")),
        };
        let body = match c.body {
            Payload::None => Body::empty(),
            Payload::Json(v) => {
                b = b.header(
                    header::CONTENT_TYPE,
                    c.content_type.unwrap_or("application/json"),
                );
                Body::from(v.to_string())
            }
            Payload::Raw(s) => {
                let ct = if c.status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                    "text/plain"
                } else {
                    "application/json"
                };
                b = b.header(header::CONTENT_TYPE, ct);
                Body::from(s)
            }
        };
        let a = h.call(b.body(body).unwrap()).await;
        assert_eq!(a.status, c.status, "{}: {}", c.name, a.text());
        assert_eq!(a.error_code(), c.code, "{}: {}", c.name, a.text());
    }
    assert_eq!(
        h.rows().await,
        Default::default(),
        "a refused request stored rows"
    );
    assert_eq!(
        h.store.instance_count().await.unwrap(),
        1,
        "a refused registration created an instance"
    );
}

#[tokio::test]
async fn missing_content_type_is_415() {
    let h = Harness::new();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/instances")
        .body(Body::from(consent().to_string()))
        .unwrap();
    let a = h.call(req).await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        a.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("none")
    );
}

#[tokio::test]
async fn rate_limit_and_daily_quota_give_429_with_retry_after() {
    let quotas = vitals_server::config::Quotas {
        ingest_burst: 2,
        // Slow refill, so a stalled machine cannot refill the bucket mid-test.
        ingest_rate: 0.01,
        daily_rows: 3,
        ..Default::default()
    };
    let h = Harness::with(quotas, crate::common::utc("2026-12-04T22:00:00Z"));
    let (token, _) = h.register().await;
    let now = h.now_ms();
    // 2 s of samples: disc holds 4 rows > 3 → daily quota.
    let a = h.ingest(&token, batch(now - 5000, 2)).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.text());
    assert_eq!(a.error_code(), "daily_quota_exceeded");
    // 23:00 local → one hour to Warsaw midnight.
    assert_eq!(a.headers[header::RETRY_AFTER], "3600");
    // A batch that fits uses the second token of the burst.
    let a = h.ingest(&token, batch(now, 1)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["quota"]["rows_left"], 1);
    // The burst of 2 is spent: the next is rate limited, whatever its content.
    let a = h.ingest(&token, batch(now - 1000, 1)).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.error_code(), "rate_limited");
    assert!(a.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(
        h.rows().await,
        vitals_shared::wire::RowCounts {
            cpu: 1,
            ram: 1,
            disc: 2
        }
    );
    // The dashboard reads the quota beside the statistics.
    let st = h.get("/api/v1/me/stats", &token).await.json();
    assert_eq!(st["quota"]["daily_limit"], 3);
    assert_eq!(st["quota"]["rows_today"]["disc"], 2);
    assert_eq!(st["quota"]["reached"], false);
}

#[tokio::test]
async fn registration_and_instance_limits() {
    let quotas = vitals_server::config::Quotas {
        registrations_per_hour: 2,
        ..Default::default()
    };
    let h = Harness::with(quotas, crate::common::utc("2026-12-04T12:00:00Z"));
    h.register().await;
    h.register().await;
    let a = h
        .send(Method::POST, "/api/v1/instances", None, Some(consent()))
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.error_code(), "registration_rate_limited");
    let secs: u64 = a.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(secs > 3500 && secs <= 3600, "{secs}");

    let quotas = vitals_server::config::Quotas {
        max_instances: 1,
        ..Default::default()
    };
    let h = Harness::with(quotas, crate::common::utc("2026-12-04T12:00:00Z"));
    h.register().await;
    let a = h
        .send(Method::POST, "/api/v1/pairing", None, Some(consent()))
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.error_code(), "instance_limit_reached");
    assert_eq!(h.store.instance_count().await.unwrap(), 1);
}

#[tokio::test]
async fn a_store_that_is_down_gives_503_and_loses_nothing() {
    let h = Harness::new();
    let (token, _) = h.register().await;
    let now = h.now_ms();
    assert_eq!(
        h.ingest(&token, batch(now - 2000, 1)).await.status,
        StatusCode::OK
    );
    h.store.close().await;
    let a = h.ingest(&token, batch(now, 1)).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text());
    assert_eq!(a.error_code(), "store_unavailable");
    assert_eq!(a.headers[header::RETRY_AFTER], "5");
    let r = h.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["ready"], false);
    assert_eq!(
        h.send(Method::GET, "/healthz", None, None).await.status,
        StatusCode::OK
    );
    // The stored row is still in the file.
    let path = h._dir.path().join("vitals.sqlite");
    let again = vitals_server::store::sqlite::SqliteStore::open(&path).unwrap();
    use vitals_server::store::Store;
    assert_eq!(again.row_counts().await.unwrap().cpu, 1);
}
