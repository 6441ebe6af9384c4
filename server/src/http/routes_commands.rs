//! Commands: the catalogue, issuing a command to a box, a box's command history.
use super::caller::ApiCaller;
use super::{ApiError, AppState};
use crate::commands::{Catalogue, CommandRecord, IssueRequest};
use app::domain::{AppError, DeviceId};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/commands/catalogue", get(catalogue))
        .route("/devices/{device}/commands", get(history).post(issue))
}

fn parse_device(raw: &str) -> Result<DeviceId, ApiError> {
    DeviceId::parse(raw).map_err(|e| ApiError(AppError::BadRequest(e.to_string())))
}

/// Any logged-in role may read the catalogue.
async fn catalogue(State(s): State<AppState>, ApiCaller(_caller): ApiCaller) -> Json<Catalogue> {
    Json(s.commands.catalogue().clone())
}

async fn issue(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(device): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CommandRecord>), ApiError> {
    let device = parse_device(&device)?;
    let req: IssueRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError(AppError::BadRequest(format!("command request: {e}"))))?;
    let record = s.commands.issue(&caller, &device, req).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[derive(Deserialize)]
struct HistoryParams {
    limit: Option<usize>,
}

async fn history(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(device): Path<String>,
    super::routes_devices::QueryParams(p): super::routes_devices::QueryParams<HistoryParams>,
) -> Result<Json<Vec<CommandRecord>>, ApiError> {
    let device = parse_device(&device)?;
    Ok(Json(
        s.commands
            .history(&caller, &device, p.limit.unwrap_or(100))
            .await?,
    ))
}
