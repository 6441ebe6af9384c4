//! `/api/v1/auth/*`: the identity provider's flow for scripts (tokens returned to the caller).
use super::{ApiError, AppState};
use crate::identity::{Challenge, ChallengeKind, LoginOutcome};
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

/// Tokens, or `{"challenge": {kind, username, session, totp_secret?}}` to answer at
/// `/auth/challenge`.
fn outcome_json(outcome: LoginOutcome) -> Json<serde_json::Value> {
    Json(match outcome {
        LoginOutcome::Tokens(tokens) => serde_json::to_value(tokens).unwrap_or_default(),
        LoginOutcome::Challenge(challenge) => serde_json::json!({ "challenge": challenge }),
    })
}

async fn login(
    State(s): State<AppState>,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(outcome_json(
        s.console.token_login(&req.username, &req.password).await?,
    ))
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

#[derive(Deserialize)]
struct ChallengeAnswer {
    kind: ChallengeKind,
    username: String,
    session: String,
    /// The new password, or the authenticator app's code.
    answer: String,
}

async fn challenge(
    State(s): State<AppState>,
    JsonBody(req): JsonBody<ChallengeAnswer>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let pending = Challenge {
        kind: req.kind,
        username: req.username,
        session: req.session,
        totp_secret: None,
    };
    Ok(outcome_json(
        s.console.token_answer(&pending, &req.answer).await?,
    ))
}
