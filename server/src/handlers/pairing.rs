//! The website-first flow: `POST /api/v1/pairing` creates an instance for the
//! browser and shows a short code; `POST /api/v1/pairing/claim` hands the
//! same instance's token to the app or agent that types the code.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use vitals_shared::wire::{
    PairingClaimRequest, PairingClaimResponse, PairingResponse, RegisterRequest,
};

use crate::codes::CodeKind;
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientAddr, session_cookie_header};
use crate::handlers::instances::register;
use crate::limiter::retry_secs;
use crate::state::AppState;

/// Registers for the browser, sets its session cookie, returns a pairing code.
pub async fn post(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let (token, _) = register(&state, ip, &req).await?;
    let cookie = session_cookie_header(&token, state.exposure.secure_cookies());
    let (code, expires) = state
        .codes
        .issue(CodeKind::Pairing, token, state.clock.now_ms())
        .map_err(ApiError::internal)?;
    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, cookie)],
        Json(PairingResponse {
            code,
            expires_at: vitals_shared::day::from_ms(expires).to_rfc3339(),
        }),
    ))
}

/// Trades a pairing code for the token.
pub async fn claim(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    ApiJson(req): ApiJson<PairingClaimRequest>,
) -> Result<Json<PairingClaimResponse>, ApiError> {
    if let Err(wait) = state.claim_limit.hit(ip, Instant::now()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "claim_rate_limited",
            format!(
                "at most {} pairing attempts per address per hour",
                state.quotas.claims_per_hour
            ),
        )
        .retry_after(retry_secs(wait)));
    }
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "code_not_found",
            "this pairing code is unknown, used or expired; press Proceed on the website again for a new one",
        )
    };
    let token = state
        .codes
        .redeem(CodeKind::Pairing, &req.code, state.clock.now_ms())
        .ok_or_else(not_found)?;
    let instance = token.instance_id(&state.secret);
    if !state
        .timed("instance_exists", state.store.instance_exists(instance))
        .await?
    {
        return Err(not_found());
    }
    Ok(Json(PairingClaimResponse {
        token: token.expose().to_owned(),
        instance: instance.to_string(),
    }))
}
