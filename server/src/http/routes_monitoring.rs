//! `/api/v1/monitoring/*`: pipeline health, dead letters, costs, alerts and alert rules (support
//! and admin; rules are edited by admins), and `/metrics` for Prometheus. The same service as
//! the console's server functions.
use super::caller::ApiCaller;
use super::extract::json_body;
use super::routes_devices::QueryParams;
use super::{ApiError, AppState};
use app::domain::{
    AlertsOverview, AppError, CostPeriod, CostReport, DeadLetter, FleetId, HealthWindow,
    PipelineHealth,
};
use app::service::ConsoleService;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Json, Router};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/monitoring/pipeline", get(pipeline))
        .route("/monitoring/dead-letters", get(dead_letters))
        .route("/monitoring/costs", get(costs))
        .route("/monitoring/alerts", get(alerts))
        .route("/monitoring/alert-rules", get(rules).post(save_rule))
        .route(
            "/monitoring/alert-rules/{id}",
            put(replace_rule).delete(delete_rule),
        )
}

fn fleet(raw: &str) -> Result<FleetId, ApiError> {
    FleetId::parse(raw).map_err(|e| ApiError(AppError::BadRequest(e.to_string())))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineParams {
    fleet: String,
    window: Option<String>,
}

async fn pipeline(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    QueryParams(p): QueryParams<PipelineParams>,
) -> Result<Json<PipelineHealth>, ApiError> {
    let raw = p.window.as_deref().unwrap_or("1h");
    let window = HealthWindow::parse(raw).ok_or_else(|| {
        ApiError(AppError::BadRequest(format!(
            "window {raw:?}: use 5m, 1h or 24h"
        )))
    })?;
    Ok(Json(
        s.console
            .pipeline_health(&caller, &fleet(&p.fleet)?, window)
            .await?,
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
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
            .dead_letters(&caller, fleet, p.limit.unwrap_or(100))
            .await?,
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CostParams {
    fleet: String,
    period: Option<String>,
}

async fn costs(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    QueryParams(p): QueryParams<CostParams>,
) -> Result<Json<CostReport>, ApiError> {
    let raw = p.period.as_deref().unwrap_or("month");
    let period = CostPeriod::parse(raw).ok_or_else(|| {
        ApiError(AppError::BadRequest(format!(
            "period {raw:?}: use hour, day or month"
        )))
    })?;
    Ok(Json(
        s.console.costs(&caller, &fleet(&p.fleet)?, period).await?,
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertParams {
    fleet: Option<String>,
}

async fn alerts(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    QueryParams(p): QueryParams<AlertParams>,
) -> Result<Json<AlertsOverview>, ApiError> {
    let fleet = p.fleet.as_deref().map(fleet).transpose()?;
    Ok(Json(s.console.alerts(&caller, fleet).await?))
}

async fn rules(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    Ok(Json(s.console.alerts(&caller, None).await?.rules))
}

async fn save_rule(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let rule = json_body(&body, "alert rule")?;
    Ok((
        StatusCode::CREATED,
        Json(s.console.save_alert_rule(&caller, rule).await?),
    ))
}

async fn replace_rule(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut rule: serde_json::Value = json_body(&body, "alert rule")?;
    match rule.get("id").cloned() {
        None => rule["id"] = serde_json::Value::String(id),
        Some(named) if named == serde_json::Value::String(id.clone()) => {}
        Some(named) => {
            return Err(ApiError(AppError::BadRequest(format!(
                "the rule's id {named} differs from the path's {id:?}"
            ))))
        }
    }
    Ok(Json(s.console.save_alert_rule(&caller, rule).await?))
}

async fn delete_rule(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.console.delete_alert_rule(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /metrics`: Prometheus text (bearer token of support or admin seeing every fleet).
pub async fn metrics(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<impl IntoResponse, ApiError> {
    let text = s.console.metrics(&caller).await?;
    Ok((
        [(header::CONTENT_TYPE, monitor::prometheus_text::CONTENT_TYPE)],
        text,
    ))
}
