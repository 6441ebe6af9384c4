//! Desired state of a box: read it, change it (naming the version it is based on).
use super::caller::ApiCaller;
use super::extract::{json_body, parse_device};
use super::{ApiError, AppState};
use app::domain::{ShadowUpdate, ShadowView};
use app::service::ConsoleService;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};

pub fn routes() -> Router<AppState> {
    Router::new().route("/devices/{device}/shadow", get(read).put(update))
}

async fn read(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(device): Path<String>,
) -> Result<Json<ShadowView>, ApiError> {
    let device = parse_device(&device)?;
    Ok(Json(s.console.get_shadow(&caller, &device).await?))
}

async fn update(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(device): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<ShadowView>, ApiError> {
    let device = parse_device(&device)?;
    let update: ShadowUpdate = json_body(&body, "desired-state update")?;
    Ok(Json(
        s.console.update_shadow(&caller, &device, update).await?,
    ))
}
