//! `GET /claim?code=`: trade a web-link code for the session cookie, then go
//! to the dashboard.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::codes::CodeKind;
use crate::extract::{ApiQuery, session_cookie_header};
use crate::state::AppState;

/// Query of `/claim`.
#[derive(Debug, Deserialize)]
pub struct ClaimQuery {
    /// The code from `POST /api/v1/me/web-link`.
    #[serde(default)]
    pub code: String,
}

/// Sets the cookie and redirects, or explains that the link is spent.
pub async fn get(State(state): State<AppState>, ApiQuery(q): ApiQuery<ClaimQuery>) -> Response {
    let now = state.clock.now_ms();
    let Some(token) = state.codes.redeem(CodeKind::WebLink, &q.code, now) else {
        return (
            StatusCode::NOT_FOUND,
            Html(
                "<!doctype html><meta charset=utf-8><title>Link expired</title>\
                 <p>This sign-in link has expired or was already used. \
                 Open \u{201c}Open my dashboard\u{201d} in the Vitals app again for a new one.</p>",
            ),
        )
            .into_response();
    };
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                session_cookie_header(&token, state.exposure.secure_cookies()),
            ),
            (header::LOCATION, "/dashboard".to_owned()),
        ],
    )
        .into_response()
}
