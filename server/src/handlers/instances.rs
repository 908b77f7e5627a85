//! `POST /api/v1/instances`: register with consent.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use vitals_shared::wire::{RegisterRequest, RegisterResponse};

use crate::error::ApiError;
use crate::extract::{ApiJson, ClientAddr};
use crate::identity::{InstanceId, Token};
use crate::limiter::retry_secs;
use crate::state::AppState;
use crate::store::ConsentRecord;

/// Registers a new instance.
pub async fn post(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    let (token, id) = register(&state, ip, &req).await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            token: token.expose().to_owned(),
            instance: id.to_string(),
            policy_version: req.consent.policy_version,
        }),
    ))
}

/// Checks consent and the per-address limit, then creates the instance.
/// Shared by registration and the website-first pairing flow.
pub async fn register(
    state: &AppState,
    ip: std::net::IpAddr,
    req: &RegisterRequest,
) -> Result<(Token, InstanceId), ApiError> {
    let current = vitals_shared::policy::version();
    if !req.consent.accepted {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "consent_required",
            "consent.accepted must be true: show the policy (GET /api/v1/policy) and let the person agree",
        ));
    }
    if req.consent.policy_version != current {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_policy_version",
            format!(
                "policy version '{}' is not the current one ('{current}'); show the current policy and ask again",
                req.consent.policy_version
            ),
        ));
    }
    if let Err(wait) = state.registration_limit.hit(ip, Instant::now()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "registration_rate_limited",
            format!(
                "at most {} registrations per address per hour; try again later",
                state.quotas.registrations_per_hour
            ),
        )
        .retry_after(retry_secs(wait)));
    }
    let token = Token::generate().map_err(ApiError::internal)?;
    let id = token.instance_id(&state.secret);
    let consent = ConsentRecord {
        consent_at: state.clock.now_ms(),
        policy_version: current.to_owned(),
    };
    state
        .timed(
            "create_instance",
            state
                .store
                .create_instance(id, consent, state.quotas.max_instances),
        )
        .await?;
    tracing::info!(instance = %id, "instance registered");
    Ok((token, id))
}
