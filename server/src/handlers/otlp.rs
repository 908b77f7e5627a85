//! `POST /v1/metrics`: an OTLP/HTTP metrics receiver (protobuf or JSON)
//! feeding the example stream only. `415` for other content types, `400`
//! for bodies that do not decode, `413` above the body limit, `429` above
//! the per-address rate; otherwise `200` with an OTLP
//! `ExportMetricsServiceResponse` (its partial success counts unusable
//! points), in the request's encoding.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message;

use crate::demo::now_ms;
use crate::demo::otel::map_request;
use crate::error::ApiError;
use crate::extract::{ClientAddr, read_body};
use crate::limiter::retry_secs;
use crate::metrics::SourceLabel;
use crate::state::AppState;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// Receives one export.
pub async fn post(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    req: Request,
) -> Result<Response, ApiError> {
    let Some(limit) = &state.otlp_limit else {
        return Err(ApiError::not_found(
            "this server does not accept OTLP (started with --demo-otlp false)",
        ));
    };
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = match ct.as_str() {
        PROTOBUF => false,
        JSON => true,
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "OTLP/HTTP bodies are '{PROTOBUF}' or '{JSON}' (got '{}')",
                    if other.is_empty() { "none" } else { other }
                ),
            ));
        }
    };
    limit.hit(client, Instant::now()).map_err(|wait| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many OTLP exports from this address; slow the exporter's interval",
        )
        .retry_after(retry_secs(wait))
    })?;
    let body = read_body(req, state.quotas.max_body_bytes).await?;
    let export: ExportMetricsServiceRequest = if json {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request("invalid_otlp", format!("the body is not OTLP JSON: {e}"))
        })?
    } else {
        ExportMetricsServiceRequest::decode(body).map_err(|e| {
            ApiError::bad_request(
                "invalid_otlp",
                format!("the body is not OTLP protobuf: {e}"),
            )
        })?
    };
    let mapped = map_request(&export, &state.self_instance, &client.to_string(), now_ms());
    let origin = mapped
        .samples
        .first()
        .and_then(|s| s.labels.get("origin").cloned())
        .unwrap_or_else(|| format!("otlp://{client}"));
    if !mapped.samples.is_empty() {
        let label = SourceLabel {
            source: "otel",
            kind: "otlp",
            origin: origin.clone(),
        };
        state
            .metrics
            .record_demo(&label, true, mapped.samples.len());
        state.demo.report("otel", "otlp", &origin, Ok(()));
        state.demo.publish(&mapped.samples);
    }
    let answer = ExportMetricsServiceResponse {
        partial_success: (mapped.rejected > 0).then(|| ExportMetricsPartialSuccess {
            rejected_data_points: mapped.rejected,
            error_message: mapped.reason.unwrap_or_default(),
        }),
    };
    Ok(if json {
        (
            [(header::CONTENT_TYPE, JSON)],
            serde_json::to_string(&answer).unwrap_or_else(|_| "{}".into()),
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, PROTOBUF)], answer.encode_to_vec()).into_response()
    })
}
