//! `POST /api/v1/me/web-link`: a one-time link that signs the browser in.

use axum::Json;
use axum::extract::State;
use vitals_shared::wire::WebLinkResponse;

use crate::codes::CodeKind;
use crate::error::ApiError;
use crate::extract::Caller;
use crate::state::AppState;

/// Issues a 5-minute, single-use `/claim?code=` link (bearer only).
pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<WebLinkResponse>, ApiError> {
    caller.require_bearer()?;
    let (code, _) = state
        .codes
        .issue(CodeKind::WebLink, caller.token, state.clock.now_ms())
        .map_err(ApiError::internal)?;
    Ok(Json(WebLinkResponse {
        url: format!("/claim?code={code}"),
    }))
}
