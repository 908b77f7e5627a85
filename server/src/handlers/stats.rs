//! `GET /api/v1/me/stats`: today's statistics, overall and per session.

use axum::Json;
use axum::extract::State;
use vitals_shared::wire::{QuotaStatus, RowCounts, StatsResponse};

use crate::error::ApiError;
use crate::extract::Caller;
use crate::state::AppState;

/// Today's statistics.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<StatsResponse>, ApiError> {
    let day = state.clock.today();
    let mut stats = state
        .timed("stats", state.store.stats(caller.instance, day))
        .await?;
    // Every stored value is finite, so the day's counts are its rows.
    let rows_today = RowCounts {
        cpu: stats.cpu.count,
        ram: stats.ram.count,
        disc: stats.disc.values().map(|s| s.count).sum(),
    };
    let limit = state.quotas.daily_rows;
    stats.quota = Some(QuotaStatus {
        daily_limit: limit,
        rows_today,
        reached: [rows_today.cpu, rows_today.ram, rows_today.disc]
            .iter()
            .any(|n| *n >= limit),
    });
    Ok(Json(stats))
}
