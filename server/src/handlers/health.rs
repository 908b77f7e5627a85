//! `GET /healthz` (the process answers) and `GET /readyz` (the store answers).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::STORE_RETRY_AFTER_SECS;
use crate::state::AppState;

/// Liveness.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness: `200` when the store answers, else `503` with `Retry-After`;
/// either way with the example sources' health in `demo_sources`.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let store = state.store.kind();
    // The example streams' health: shown, but never a reason to be unready.
    let demo = state.demo.sources();
    match state.timed("ping", state.store.ping()).await {
        Ok(()) => {
            Json(json!({"ready": true, "store": store, "demo_sources": demo})).into_response()
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, STORE_RETRY_AFTER_SECS.to_string())],
            Json(json!({"ready": false, "store": store, "error": e.message, "demo_sources": demo})),
        )
            .into_response(),
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}
