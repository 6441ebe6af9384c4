use serde::{Deserialize, Serialize};

/// The one error type that crosses the wire: server functions return it, the REST API maps it to a
/// status code, the UI shows its message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("please log in")]
    Unauthenticated,
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid request: {0}")]
    BadRequest(String),
    /// The request was based on a state that has changed since (a stale version).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("wrong username or password")]
    BadCredentials,
    /// A sign-in question (new password, code) was answered too late: start again.
    #[error("this sign-in took too long and has expired: start again")]
    SignInExpired,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// The request did not reach the server function, or its answer could not be read.
    #[error("connection problem: {0}")]
    Transport(String),
}

impl AppError {
    pub fn http_status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::BadCredentials | AppError::SignInExpired => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::BadRequest(_) => 400,
            AppError::Conflict(_) => 409,
            AppError::Unavailable(_) => 503,
            AppError::Internal(_) | AppError::Transport(_) => 500,
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}
