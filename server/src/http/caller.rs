//! The authenticated caller of a REST route: a bearer access token (scripts) or the session
//! cookie (the browser; cross-site requests are refused by `csrf.rs`).
use super::{ApiError, AppState};
use app::domain::AppError;
use app::service::{session_id_from_cookies, Caller, ConsoleService};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub struct ApiCaller(pub Caller);

pub fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(token) = bearer_token(parts) {
            return Ok(ApiCaller(state.console.bearer_caller(token).await?));
        }
        let session = parts
            .headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(session_id_from_cookies)
            .ok_or(AppError::Unauthenticated)?;
        Ok(ApiCaller(state.console.session_caller(session).await?))
    }
}
