//! `POST /api/v1/ingest`: validate, store atomically and idempotently, then
//! publish to live viewers.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use vitals_shared::day::{Day, next_midnight, seconds_until_next_midnight};
use vitals_shared::validate::validate_batch;
use vitals_shared::wire::{Batch, IngestResponse, QuotaInfo};

use crate::error::ApiError;
use crate::extract::{ApiJson, Caller};
use crate::limiter::retry_secs;
use crate::metrics::{ReasonLabel, TableLabel};
use crate::state::AppState;
use crate::store::IngestRequest;

/// Stores one batch.
pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(batch): ApiJson<Batch>,
) -> Result<Json<IngestResponse>, ApiError> {
    caller.require_bearer()?;
    let rows = batch.row_count() as u64;
    let reject = |reason: &'static str| {
        state
            .metrics
            .rejected_rows
            .get_or_create(&ReasonLabel { reason })
            .inc_by(rows);
    };
    if let Err(wait) = state.ingest_limit.take(caller.instance, Instant::now()) {
        reject("rate_limited");
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "at most {} ingest requests per second per instance (burst {}); slow down",
                state.quotas.ingest_rate, state.quotas.ingest_burst
            ),
        )
        .retry_after(retry_secs(wait)));
    }

    let now = state.clock.now();
    let day = Day::containing(now);
    if let Err(e) = validate_batch(&batch, &day, now.timestamp_millis()) {
        reject(e.code());
        return Err(e.into());
    }

    let req = IngestRequest {
        instance: caller.instance,
        batch,
        day,
        daily_row_limit: state.quotas.daily_rows,
    };
    // The store takes the batch; the live fan-out needs it after the commit,
    // so keep a copy only when someone is watching.
    let for_live = state
        .live
        .has_viewers(caller.instance)
        .then(|| req.batch.clone());
    let outcome = match state.timed("ingest", state.store.ingest(req)).await {
        Ok(o) => o,
        Err(e) => {
            let code = e.code;
            reject(code);
            return Err(if code == "daily_quota_exceeded" {
                e.retry_after(seconds_until_next_midnight(now))
            } else {
                e
            });
        }
    };
    if !outcome.duplicate {
        for (table, n) in [
            ("cpu", outcome.accepted.cpu),
            ("ram", outcome.accepted.ram),
            ("disc", outcome.accepted.disc),
        ] {
            state
                .metrics
                .ingest_rows
                .get_or_create(&TableLabel { table })
                .inc_by(n);
        }
        if let Some(rows) = &for_live {
            state.live.publish(caller.instance, rows);
        }
    }
    let used = outcome
        .today
        .cpu
        .max(outcome.today.ram)
        .max(outcome.today.disc);
    Ok(Json(IngestResponse {
        accepted: outcome.accepted,
        duplicate: outcome.duplicate,
        quota: QuotaInfo {
            rows_left: state.quotas.daily_rows.saturating_sub(used),
            resets_at: next_midnight(now).to_rfc3339(),
        },
    }))
}
