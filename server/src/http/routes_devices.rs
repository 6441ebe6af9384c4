//! `/api/v1/devices/*`: boxes and their telemetry.
use super::caller::ApiCaller;
use super::extract::parse_device;
use super::{ApiError, AppState};
use app::domain::{AppError, DeviceSummary, FleetId, Series};
use app::service::{ConsoleService, TelemetryQuery};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/devices", get(list))
        .route("/devices/{device}", get(one))
        .route("/devices/{device}/telemetry", get(telemetry))
}

/// Query parameters, with serde's message as a 400 answer when they do not fit.
pub struct QueryParams<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
    for QueryParams<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(QueryParams(v)),
            Err(e) => Err(ApiError(AppError::BadRequest(e.body_text()))),
        }
    }
}

#[derive(Deserialize)]
struct ListParams {
    fleet: Option<String>,
    /// Case-insensitive substring of the box id.
    q: Option<String>,
    online: Option<bool>,
    limit: Option<usize>,
    /// The last box id of the previous page.
    after: Option<String>,
}

#[derive(Serialize)]
struct DevicePage {
    items: Vec<DeviceSummary>,
    /// Pass as `after` to get the next page; absent on the last page.
    next: Option<String>,
}

async fn list(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    QueryParams(p): QueryParams<ListParams>,
) -> Result<Json<DevicePage>, ApiError> {
    let fleet = p
        .fleet
        .as_deref()
        .map(FleetId::parse)
        .transpose()
        .map_err(|e| ApiError(AppError::BadRequest(e.to_string())))?;
    if let Some(f) = &fleet {
        crate::console::Console::require_fleet(&caller, f)?;
    }
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError(AppError::BadRequest(
            "limit must be between 1 and 1000".into(),
        )));
    }
    let needle = p.q.as_deref().map(str::to_lowercase);
    let mut items: Vec<DeviceSummary> = s
        .console
        .list_devices(&caller)
        .await?
        .into_iter()
        .filter(|d| fleet.as_ref().is_none_or(|f| &d.fleet == f))
        .filter(|d| {
            needle
                .as_deref()
                .is_none_or(|n| d.id.as_str().to_lowercase().contains(n))
        })
        .filter(|d| p.online.is_none_or(|o| d.presence.online == o))
        .filter(|d| p.after.as_deref().is_none_or(|a| d.id.as_str() > a))
        .collect();
    items.sort_by(|a, b| a.id.cmp(&b.id));
    let next = (items.len() > limit).then(|| items[limit - 1].id.to_string());
    items.truncate(limit);
    Ok(Json(DevicePage { items, next }))
}

async fn one(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(device): Path<String>,
) -> Result<Json<DeviceSummary>, ApiError> {
    Ok(Json(
        s.console.device(&caller, &parse_device(&device)?).await?,
    ))
}

#[derive(Deserialize)]
struct TelemetryParams {
    metric: String,
    /// ms since the epoch; defaults to one hour before `to`.
    from: Option<i64>,
    /// ms since the epoch; defaults to now.
    to: Option<i64>,
    max_points: Option<usize>,
}

async fn telemetry(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(device): Path<String>,
    QueryParams(p): QueryParams<TelemetryParams>,
) -> Result<Json<Series>, ApiError> {
    let to =
        p.to.unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    let from = p.from.unwrap_or(to - 3_600_000);
    let query = TelemetryQuery {
        device: parse_device(&device)?,
        metric: p.metric,
        from,
        to,
        max_points: p.max_points.unwrap_or(1000),
    };
    Ok(Json(s.console.telemetry(&caller, query).await?))
}
