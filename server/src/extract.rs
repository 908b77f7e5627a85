//! Request extractors that answer in the contract's error shape:
//! [`ApiJson`] (415/413/400), [`ApiQuery`] (400), [`Caller`] (401) and
//! [`ClientAddr`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::identity::{InstanceId, Token};
use crate::state::AppState;

/// Name of the website session cookie (its value is the token; `HttpOnly`,
/// so page scripts never see it).
pub const SESSION_COOKIE: &str = "vitals_session";

/// A JSON body, checked for content type and size before parsing.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/json") {
            let shown = if ct.is_empty() {
                "none".to_owned()
            } else {
                format!("'{ct}'")
            };
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "the body must be JSON with 'Content-Type: application/json' (got {shown})"
                ),
            ));
        }
        let bytes = read_body(req, state.quotas.max_body_bytes).await?;
        serde_json::from_slice(&bytes).map(ApiJson).map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Data => {
                    ApiError::bad_request("invalid_body", format!("the JSON does not fit: {e}"))
                }
                _ => ApiError::bad_request(
                    "malformed_json",
                    format!("the body is not valid JSON: {e}"),
                ),
            }
        })
    }
}

/// Reads a whole request body of at most `limit` bytes: `413
/// body_too_large` above it (checked first against `Content-Length`),
/// `400 unreadable_body` when the connection fails.
pub async fn read_body(req: Request, limit: usize) -> Result<bytes::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {limit} bytes; send smaller batches"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|e| {
            if is_length_limit(&e) {
                too_large()
            } else {
                ApiError::bad_request("unreadable_body", "the request body could not be read")
            }
        })?;
    Ok(bytes)
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if s.to_string().contains("length limit exceeded") {
            return true;
        }
        src = s.source();
    }
    false
}

/// Query parameters, with a clear `400 invalid_query` when they do not parse.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("the query string is not valid: {}", e.body_text()),
                )
            })
    }
}

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `Authorization: Bearer`.
    Bearer,
    /// The website session cookie.
    Cookie,
}

/// An authenticated caller: a known instance.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Their instance.
    pub instance: InstanceId,
    /// Their token.
    pub token: Token,
    /// How it was presented.
    pub via: Via,
}

impl Caller {
    /// Refuses cookie callers where the contract says bearer only.
    pub fn require_bearer(&self) -> Result<(), ApiError> {
        match self.via {
            Via::Bearer => Ok(()),
            Via::Cookie => Err(ApiError::missing_token()),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (text, via) = if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let auth = auth.to_str().map_err(|_| ApiError::unknown_token())?;
            let Some(t) = auth
                .strip_prefix("Bearer ")
                .or_else(|| auth.strip_prefix("bearer "))
            else {
                return Err(ApiError::missing_token());
            };
            (t.trim().to_owned(), Via::Bearer)
        } else if let Some(t) = session_cookie(parts) {
            (t, Via::Cookie)
        } else {
            return Err(ApiError::missing_token());
        };
        let token = Token::parse(&text).ok_or_else(ApiError::unknown_token)?;
        let instance = token.instance_id(&state.secret);
        if !state
            .timed("instance_exists", state.store.instance_exists(instance))
            .await?
        {
            return Err(ApiError::unknown_token());
        }
        Ok(Caller {
            instance,
            token,
            via,
        })
    }
}

fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// The client's address: the TCP peer, or behind a proxy the last
/// `X-Forwarded-For` entry (the one the proxy itself added).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.exposure.behind_proxy {
            // The rightmost entry is the one our proxy added; earlier ones
            // are whatever the client claimed.
            let entries: Vec<&str> = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .collect();
            if let Some(ip) = entries.last().and_then(|s| s.trim().parse::<IpAddr>().ok()) {
                return Ok(ClientAddr(ip));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        Ok(ClientAddr(peer))
    }
}

/// `Set-Cookie` value for the session.
pub fn session_cookie_header(token: &Token, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{secure}",
        token.expose()
    )
}

/// `Set-Cookie` value that removes the session.
pub fn clear_cookie_header(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
}
