//! `GET /api/v1/me/export.csv?metric=`: today's raw rows as CSV.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use vitals_shared::wire::Metric;

use crate::error::ApiError;
use crate::extract::{ApiQuery, Caller};
use crate::state::AppState;
use crate::store::DayRows;

/// Query of the export.
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    /// Which table.
    pub metric: Metric,
}

/// Today's rows of one table as CSV, with a header line.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let day = state.clock.today();
    let rows = state
        .timed(
            "day_rows",
            state.store.day_rows(caller.instance, day, &[q.metric]),
        )
        .await?;
    let body = to_csv(q.metric, &rows).map_err(ApiError::internal)?;
    let name = format!(
        "attachment; filename=\"vitals-{}-{}.csv\"",
        q.metric,
        day.label()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        body,
    ))
}

fn iso(ts: i64) -> String {
    vitals_shared::day::from_ms(ts).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Renders rows as CSV (the `csv` crate quotes mounts with commas or quotes).
pub fn to_csv(metric: Metric, rows: &DayRows) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    match metric {
        Metric::Cpu => {
            w.write_record(["ts_ms", "time_utc", "usage_pct", "load1", "cores_pct"])?;
            for r in &rows.cpu {
                let cores = r
                    .cores_pct
                    .iter()
                    .map(f64::to_string)
                    .collect::<Vec<_>>()
                    .join(" ");
                let load = r.load1.map(|l| l.to_string()).unwrap_or_default();
                w.write_record([
                    r.ts.to_string(),
                    iso(r.ts),
                    r.usage_pct.to_string(),
                    load,
                    cores,
                ])?;
            }
        }
        Metric::Ram => {
            w.write_record([
                "ts_ms",
                "time_utc",
                "used_bytes",
                "total_bytes",
                "swap_used_bytes",
                "swap_total_bytes",
                "used_pct",
            ])?;
            for r in &rows.ram {
                w.write_record([
                    r.ts.to_string(),
                    iso(r.ts),
                    r.used_bytes.to_string(),
                    r.total_bytes.to_string(),
                    r.swap_used_bytes.to_string(),
                    r.swap_total_bytes.to_string(),
                    format!("{:.3}", r.used_pct()),
                ])?;
            }
        }
        Metric::Disc => {
            w.write_record([
                "ts_ms",
                "time_utc",
                "mount",
                "used_bytes",
                "total_bytes",
                "read_bps",
                "write_bps",
                "used_pct",
            ])?;
            for r in &rows.disc {
                w.write_record([
                    r.ts.to_string(),
                    iso(r.ts),
                    r.mount.clone(),
                    r.used_bytes.to_string(),
                    r.total_bytes.to_string(),
                    r.read_bps.to_string(),
                    r.write_bps.to_string(),
                    format!("{:.3}", r.used_pct()),
                ])?;
            }
        }
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}
