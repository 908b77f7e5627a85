//! `DELETE /api/v1/me`: erase the instance and all its rows now.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::error::ApiError;
use crate::extract::{Caller, clear_cookie_header};
use crate::state::AppState;

/// Deletes the caller's instance; `204`, and the session cookie is cleared.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let deleted = state
        .timed(
            "delete_instance",
            state.store.delete_instance(caller.instance),
        )
        .await?;
    state.live.close(caller.instance);
    tracing::info!(instance = %caller.instance, cpu = deleted.cpu, ram = deleted.ram, disc = deleted.disc, "instance deleted");
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            clear_cookie_header(state.exposure.secure_cookies()),
        )],
    ))
}
