//! `POST /api/v1/ingest?topic=...`: HTTP ingestion, the same core and rules as MQTT. The body is
//! the raw payload, as with AWS IoT Core's HTTPS publish. A box authenticates with HTTP Basic
//! `<box id>:<secret>` and may publish only on its own topics; an admin's bearer token may ingest
//! for any box of its fleets (gateways, imports).
use super::caller::bearer_token;
use super::{ApiError, AppState};
use crate::access::{device_secret_matches, Principal};
use crate::console::store_error;
use crate::ingest::{Inbound, IngestOutcome, Source};
use app::domain::topics::ContractTopic;
use app::domain::{AppError, DeviceId, Role};
use axum::extract::{Query, State};
use axum::http::{header, request::Parts, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

pub fn routes() -> Router<AppState> {
    Router::new().route("/ingest", post(ingest))
}

#[derive(serde::Deserialize)]
struct IngestParams {
    topic: Option<String>,
}

/// Who is ingesting: a box (its own topics only) or an admin user.
async fn authenticate(
    state: &AppState,
    parts: &Parts,
    topic: &str,
) -> Result<(Source, Option<Principal>), ApiError> {
    if let Some(token) = bearer_token(parts) {
        let caller = state.console.bearer_caller(token).await?;
        caller.require(Role::Admin)?;
        if let Some(t) = ContractTopic::parse(topic) {
            crate::console::Console::require_fleet(&caller, &t.fleet)?;
        }
        return Ok((
            Source::Http {
                username: caller.username,
            },
            None,
        ));
    }
    let basic = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b| {
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b.trim()).ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(AppError::Unauthenticated)?;
    let (id, secret) = basic.split_once(':').ok_or(AppError::Unauthenticated)?;
    let id = DeviceId::parse(id).map_err(|_| AppError::BadCredentials)?;
    let device = state
        .ingest
        .store()
        .get_device(&id)
        .await
        .map_err(store_error)?
        .ok_or(AppError::BadCredentials)?;
    if !device_secret_matches(secret.as_bytes(), &device.secret_hash) {
        return Err(ApiError(AppError::BadCredentials));
    }
    let principal = Principal::Device {
        fleet: device.fleet,
        device: device.id,
    };
    if !principal.may_publish(topic) {
        return Err(ApiError(AppError::Forbidden(format!(
            "box {id} may not publish on {topic}"
        ))));
    }
    Ok((
        Source::Http {
            username: format!("device:{id}"),
        },
        Some(principal),
    ))
}

async fn ingest(
    State(state): State<AppState>,
    Query(params): Query<IngestParams>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Some(topic) = params.topic else {
        return ApiError(AppError::BadRequest(
            "add ?topic=dt/boxpilot/{fleet}/{box}/telemetry".into(),
        ))
        .into_response();
    };
    let (source, principal) = match authenticate(&state, &parts, &topic).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let payload = match axum::body::to_bytes(body, super::MAX_BODY_BYTES).await {
        Ok(b) => b.to_vec(),
        Err(_) => {
            return (StatusCode::PAYLOAD_TOO_LARGE, Json(serde_json::json!({ "error": "payload_too_large", "message": "the request body is over 256 KiB" })))
                .into_response()
        }
    };
    let publisher = principal.and_then(|p| match p {
        Principal::Device { fleet, device } => Some((fleet, device)),
        Principal::Console { .. } => None,
    });
    let outcome = state
        .ingest
        .ingest(Inbound {
            topic,
            payload,
            source,
            received_at: chrono::Utc::now().timestamp_millis(),
            publisher,
        })
        .await;
    match outcome {
        IngestOutcome::Stored => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "outcome": "stored" })),
        )
            .into_response(),
        IngestOutcome::Duplicate => (
            StatusCode::OK,
            Json(serde_json::json!({ "outcome": "duplicate" })),
        )
            .into_response(),
        IngestOutcome::StatusUpdated => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "outcome": "status_updated" })),
        )
            .into_response(),
        IngestOutcome::Rejected(r) => {
            let status = if r.reason == crate::ingest::RejectReason::PayloadTooLarge {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            (status, Json(serde_json::json!({ "error": "rejected", "reason": r.reason.as_str(), "message": r.detail }))).into_response()
        }
        IngestOutcome::Failed(e) => ApiError(AppError::Unavailable(format!(
            "not stored, send again: {e}"
        )))
        .into_response(),
    }
}
