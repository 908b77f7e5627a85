//! `GET /api/v1/policy`: the text people agree to.

use axum::Json;
use vitals_shared::wire::Policy;

/// The current policy.
pub async fn get() -> Json<Policy> {
    Json(Policy {
        version: vitals_shared::policy::version().to_owned(),
        text_markdown: vitals_shared::policy::text_markdown().to_owned(),
    })
}
