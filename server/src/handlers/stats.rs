//! `GET /api/v1/me/stats`: today's statistics, overall and per session.

use axum::Json;
use axum::extract::State;
use vitals_shared::wire::StatsResponse;

use crate::error::ApiError;
use crate::extract::Caller;
use crate::state::AppState;

/// Today's statistics.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<StatsResponse>, ApiError> {
    let day = state.clock.today();
    Ok(Json(
        state
            .timed("stats", state.store.stats(caller.instance, day))
            .await?,
    ))
}
