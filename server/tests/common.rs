//! The test harness: a real SQLite store, a manual clock, and helpers to call
//! the router and read answers.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tower::ServiceExt;
use vitals_server::app::app;
use vitals_server::config::Quotas;
use vitals_server::secret::ServerSecret;
use vitals_server::state::{AppState, Exposure};
use vitals_server::store::Store;
use vitals_server::store::sqlite::SqliteStore;
use vitals_shared::day::ManualClock;
use vitals_shared::wire::RowCounts;

pub struct Harness {
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    pub _dir: tempfile::TempDir,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn error_code(&self) -> String {
        let v = self.json();
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "no message: {v}"
        );
        v["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code: {v}"))
            .to_owned()
    }
}

pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

impl Harness {
    pub fn new() -> Self {
        Self::with(Quotas::default(), utc("2026-12-04T11:00:00Z"))
    }

    pub fn with(quotas: Quotas, now: DateTime<Utc>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("vitals.sqlite")).unwrap());
        let clock = Arc::new(ManualClock::new(now));
        let state = AppState::new(
            store.clone(),
            ServerSecret::from_bytes([42; 32]),
            clock.clone(),
            quotas,
            Exposure::default(),
            Some(120),
        );
        Self {
            state,
            clock,
            store,
            _dir: dir,
        }
    }

    pub fn now_ms(&self) -> i64 {
        use vitals_shared::day::Clock;
        self.clock.now_ms()
    }

    pub async fn call(&self, req: Request<Body>) -> Answer {
        let res = app(self.state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        assert_eq!(
            headers.get("vitals-api").map(|v| v.to_str().unwrap()),
            Some("1"),
            "Vitals-Api header"
        );
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.call(req.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.send(Method::GET, path, Some(token), None).await
    }

    /// Registers with consent; returns (token, instance).
    pub async fn register(&self) -> (String, String) {
        let a = self
            .send(Method::POST, "/api/v1/instances", None, Some(consent()))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        let v = a.json();
        (
            v["token"].as_str().unwrap().to_owned(),
            v["instance"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn ingest(&self, token: &str, batch: Value) -> Answer {
        self.send(Method::POST, "/api/v1/ingest", Some(token), Some(batch))
            .await
    }

    /// Opens `GET /api/v1/me/live` as `token`; returns the status, the
    /// content type and the body as a stream of chunks.
    pub async fn live(&self, token: &str) -> (StatusCode, String, axum::body::BodyDataStream) {
        let req = Request::builder()
            .uri("/api/v1/me/live")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let res = app(self.state.clone()).oneshot(req).await.unwrap();
        let ct = res
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (res.status(), ct, res.into_body().into_data_stream())
    }

    pub async fn rows(&self) -> RowCounts {
        self.store.row_counts().await.unwrap()
    }
}

pub fn consent() -> Value {
    json!({"consent": {"accepted": true, "policy_version": vitals_shared::policy::version()}})
}

/// A batch of `n` seconds from `t0`: per second one cpu, one ram, two disc rows.
pub fn batch(t0: i64, n: i64) -> Value {
    let mut cpu = vec![];
    let mut ram = vec![];
    let mut disc = vec![];
    for i in 0..n {
        let ts = t0 + i * 1000;
        cpu.push(
            json!({"ts": ts, "usage_pct": 10.0 + i as f64, "cores_pct": [5.0, 15.0], "load1": 0.5}),
        );
        ram.push(json!({"ts": ts, "used_bytes": 1 << 30, "total_bytes": 4_i64 << 30, "swap_used_bytes": 0, "swap_total_bytes": 0}));
        disc.push(json!({"ts": ts, "mount": "/", "used_bytes": 40, "total_bytes": 100, "read_bps": 1.0, "write_bps": 2.0}));
        disc.push(json!({"ts": ts, "mount": "/home", "used_bytes": 10, "total_bytes": 100}));
    }
    json!({"batch_id": uuid::Uuid::new_v4(), "cpu": cpu, "ram": ram, "disc": disc})
}
