//! `GET /api/v1/me/series`: one metric of today, downsampled server-side.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use vitals_shared::downsample::min_max;
use vitals_shared::wire::{Metric, SeriesResponse, TimestampMs};

use crate::error::ApiError;
use crate::extract::{ApiQuery, Caller};
use crate::state::AppState;

/// Default and largest `max_points`.
pub const DEFAULT_POINTS: usize = 1000;
/// Largest `max_points` accepted.
pub const MAX_POINTS: usize = 10_000;

/// Query of `GET /api/v1/me/series`.
#[derive(Debug, Deserialize)]
pub struct SeriesQuery {
    /// `cpu`, `ram` or `disc`.
    pub metric: Metric,
    /// From (inclusive), epoch ms; default start of today.
    pub from: Option<TimestampMs>,
    /// To (exclusive), epoch ms; default end of today.
    pub to: Option<TimestampMs>,
    /// At most this many points (2–10,000; default 1,000).
    pub max_points: Option<usize>,
    /// For `disc`: the mount; default `/`, else the first mount.
    pub mount: Option<String>,
}

/// One downsampled series.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SeriesQuery>,
) -> Result<Json<SeriesResponse>, ApiError> {
    let max_points = q.max_points.unwrap_or(DEFAULT_POINTS);
    if !(2..=MAX_POINTS).contains(&max_points) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("max_points '{max_points}' must be between 2 and {MAX_POINTS}"),
        ));
    }
    let day = state.clock.today();
    let from = q.from.unwrap_or(day.start_ms());
    let to = q.to.unwrap_or(day.end_ms());
    if from > to {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("from '{from}' is after to '{to}'"),
        ));
    }
    let mount = match (q.metric, q.mount) {
        (Metric::Disc, None) => {
            let mounts = state
                .timed("mounts", state.store.mounts(caller.instance, day))
                .await?;
            if mounts.iter().any(|m| m == "/") {
                Some("/".to_owned())
            } else {
                mounts.into_iter().next()
            }
        }
        (_, m) => m,
    };
    let points = state
        .timed(
            "series",
            state
                .store
                .series(caller.instance, q.metric, mount.as_deref(), day, from, to),
        )
        .await?;
    Ok(Json(SeriesResponse {
        metric: q.metric,
        points: min_max(&points, max_points),
    }))
}
