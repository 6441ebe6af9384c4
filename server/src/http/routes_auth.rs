//! `/api/v1/auth/*`: the identity provider's flow for scripts (tokens returned to the caller).
use super::{ApiError, AppState};
use crate::identity::LoginOutcome;
use app::domain::AppError;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/challenge", post(challenge))
}

/// A JSON body, with serde's message as a 400 answer when it does not fit.
pub struct JsonBody<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(e) => Err(ApiError(AppError::BadRequest(e.body_text()))),
        }
    }
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

async fn login(
    State(s): State<AppState>,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    match s.console.token_login(&req.username, &req.password).await? {
        LoginOutcome::Tokens(tokens) => Ok(Json(serde_json::to_value(tokens).unwrap_or_default())),
        LoginOutcome::Challenge { name, session } => Ok(Json(
            serde_json::json!({ "challenge": name, "session": session }),
        )),
    }
}

#[derive(Deserialize)]
struct RefreshRequest {
    username: String,
    refresh_token: String,
}

async fn refresh(
    State(s): State<AppState>,
    JsonBody(req): JsonBody<RefreshRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tokens = s
        .console
        .token_refresh(&req.username, &req.refresh_token)
        .await?;
    Ok(Json(serde_json::to_value(tokens).unwrap_or_default()))
}

#[derive(Deserialize)]
struct LogoutRequest {
    refresh_token: String,
}

async fn logout(
    State(s): State<AppState>,
    JsonBody(req): JsonBody<LogoutRequest>,
) -> Result<axum::http::StatusCode, ApiError> {
    s.console.token_revoke(&req.refresh_token).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

async fn challenge() -> ApiError {
    ApiError(AppError::BadRequest(
        "the built-in identity provider asks no challenges".into(),
    ))
}
