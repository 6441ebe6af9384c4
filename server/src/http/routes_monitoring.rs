//! `/api/v1/monitoring/*`: pipeline counts and dead letters (support and admin).
use super::caller::ApiCaller;
use super::routes_devices::QueryParams;
use super::{ApiError, AppState};
use crate::console::PipelineReport;
use crate::store::DeadLetter;
use app::domain::{AppError, FleetId};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/monitoring/pipeline", get(pipeline))
        .route("/monitoring/dead-letters", get(dead_letters))
}

fn window_ms(window: &str) -> Result<i64, ApiError> {
    Ok(match window {
        "5m" => 5 * 60_000,
        "1h" => 3_600_000,
        "24h" => 86_400_000,
        other => {
            return Err(ApiError(AppError::BadRequest(format!(
                "window {other:?}: use 5m, 1h or 24h"
            ))))
        }
    })
}

fn fleet(raw: &str) -> Result<FleetId, ApiError> {
    FleetId::parse(raw).map_err(|e| ApiError(AppError::BadRequest(e.to_string())))
}

#[derive(serde::Deserialize)]
struct PipelineParams {
    fleet: String,
    window: Option<String>,
}

async fn pipeline(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    QueryParams(p): QueryParams<PipelineParams>,
) -> Result<Json<PipelineReport>, ApiError> {
    let span = window_ms(p.window.as_deref().unwrap_or("1h"))?;
    // Counts of the current minute are buffered for up to a second: the window ends a minute ahead.
    let now = chrono::Utc::now().timestamp_millis();
    let to = now - now.rem_euclid(60_000) + 60_000;
    Ok(Json(
        s.console
            .pipeline(&caller, &fleet(&p.fleet)?, to - span, to)
            .await?,
    ))
}

#[derive(serde::Deserialize)]
struct DeadLetterParams {
    fleet: Option<String>,
    limit: Option<usize>,
}

async fn dead_letters(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    QueryParams(p): QueryParams<DeadLetterParams>,
) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    let fleet = p.fleet.as_deref().map(fleet).transpose()?;
    Ok(Json(
        s.console
            .dead_letters(&caller, fleet.as_ref(), p.limit.unwrap_or(100))
            .await?,
    ))
}
