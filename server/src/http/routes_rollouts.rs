//! Bulk commands: start, list, follow and cancel rollouts. The same service as the console's
//! server functions, so the same checks.
use super::caller::ApiCaller;
use super::extract::json_body;
use super::routes_devices::QueryParams;
use super::{ApiError, AppState};
use app::domain::{AppError, FleetId, RolloutRequest, RolloutView};
use app::service::ConsoleService;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rollouts", get(list).post(start))
        .route("/rollouts/{id}", get(one))
        .route("/rollouts/{id}/cancel", post(cancel))
}

async fn start(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<RolloutView>), ApiError> {
    let req: RolloutRequest = json_body(&body, "rollout request")?;
    let view = s.console.start_rollout(&caller, req).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    fleet: String,
    limit: Option<usize>,
}

async fn list(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    QueryParams(p): QueryParams<ListParams>,
) -> Result<Json<Vec<RolloutView>>, ApiError> {
    let fleet =
        FleetId::parse(&p.fleet).map_err(|e| ApiError(AppError::BadRequest(e.to_string())))?;
    Ok(Json(
        s.console.list_rollouts(&caller, &fleet, p.limit).await?,
    ))
}

async fn one(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<RolloutView>, ApiError> {
    Ok(Json(s.console.get_rollout(&caller, &id).await?))
}

async fn cancel(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<RolloutView>, ApiError> {
    Ok(Json(s.console.cancel_rollout(&caller, &id).await?))
}
