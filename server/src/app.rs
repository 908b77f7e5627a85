//! The router: every route of the contract, plus the middleware that adds
//! `Vitals-Api: 1`, counts requests for `/metrics` and logs them (method,
//! route and status only: never headers, query strings or bodies, which may
//! hold tokens or codes).

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use crate::error::ApiError;
use crate::handlers::{
    claim, demo, export, health, ingest, instances, live, me, otlp, pages, pairing, policy, series,
    stats, web_link,
};
use crate::metrics::RequestLabels;
use crate::state::AppState;

/// Builds the router over `state`.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/instances", post(instances::post))
        .route("/api/v1/policy", get(policy::get))
        .route("/api/v1/ingest", post(ingest::post))
        .route("/api/v1/me", delete(me::delete))
        .route("/api/v1/me/series", get(series::get))
        .route("/api/v1/me/stats", get(stats::get))
        .route("/api/v1/me/live", get(live::get))
        .route("/api/v1/me/export.csv", get(export::get))
        .route("/api/v1/me/web-link", post(web_link::post))
        .route("/api/v1/pairing", post(pairing::post))
        .route("/api/v1/pairing/claim", post(pairing::claim))
        .route("/claim", get(claim::get))
        .route("/api/v1/demo/live", get(demo::live))
        .route("/v1/metrics", post(otlp::post))
        .route("/metrics", get(health::metrics))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/", get(pages::landing))
        .route("/dashboard", get(pages::dashboard))
        .route("/privacy", get(pages::privacy))
        .route("/assets/{file}", get(pages::asset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// The Content-Security-Policy of every answer.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see docs/API.md")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; see docs/API.md",
    )
}

async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let mut res = next.run(req).await.into_response();
    let status = res.status().as_u16();
    let h = res.headers_mut();
    h.insert("vitals-api", HeaderValue::from_static("1"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // Pages load only this server's own scripts, styles and data: no
    // inline script or style, no third party, no framing.
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    if state.exposure.tls {
        h.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            status,
        })
        .inc();
    tracing::debug!(%method, %route, status, ms = started.elapsed().as_millis() as u64, "request");
    res
}
