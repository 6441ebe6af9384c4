use app::domain::AppError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// `AppError` as an HTTP answer: its status code and `{"error": code, "message": sentence}`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

pub fn error_code(e: &AppError) -> &'static str {
    match e {
        AppError::Unauthenticated => "unauthenticated",
        AppError::BadCredentials => "bad_credentials",
        AppError::SignInExpired => "sign_in_expired",
        AppError::Forbidden(_) => "forbidden",
        AppError::NotFound(_) => "not_found",
        AppError::BadRequest(_) => "bad_request",
        AppError::Conflict(_) => "conflict",
        AppError::Unavailable(_) => "unavailable",
        AppError::Internal(_) => "internal",
        AppError::Transport(_) => "transport",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            axum::Json(
                serde_json::json!({ "error": error_code(&self.0), "message": self.0.to_string() }),
            ),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
