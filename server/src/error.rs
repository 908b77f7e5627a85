//! `ApiError`: every error answer of the API, rendered as the contract's
//! `{"error": {"code", "message"}}` with its status and, where the contract
//! says so, `Retry-After`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vitals_shared::validate::ValidationError;
use vitals_shared::wire::ErrorBody;

use crate::store::StoreError;

/// Seconds a client should wait while the store is unavailable.
pub const STORE_RETRY_AFTER_SECS: u64 = 5;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable `snake_case` code.
    pub code: &'static str,
    /// Sentence for a person.
    pub message: String,
    /// `Retry-After` seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with no `Retry-After`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Adds `Retry-After` (at least 1 s).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// `400` with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `401 missing_token`.
    pub fn missing_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "missing_token",
            "send 'Authorization: Bearer <token>' (or sign in on the website)",
        )
    }

    /// `401 unknown_token`.
    pub fn unknown_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unknown_token",
            "this token is not known here: it was deleted, erased by a secret rotation, or never issued; register again",
        )
    }

    /// `404 not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// `500 internal`, logged once here with its detail; the client sees none.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the store is unavailable; nothing was stored, retry later",
                )
                .retry_after(STORE_RETRY_AFTER_SECS)
            }
            StoreError::UnknownInstance => Self::unknown_token(),
            StoreError::QuotaExceeded { .. } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "daily_quota_exceeded",
                e.to_string(),
            ),
            StoreError::TooManyInstances(_) => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "instance_limit_reached",
                format!("{e}; try again later"),
            )
            .retry_after(3600),
            StoreError::AlreadyStored { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "already_stored",
                e.to_string(),
            ),
            StoreError::Internal(detail) => Self::internal(detail),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(ErrorBody::new(self.code, self.message))).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}
