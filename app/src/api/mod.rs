//! Server functions, one per file, grouped by domain. Each body authenticates the caller from the
//! session cookie and calls the service layer, which holds every rule.
pub mod auth;
pub mod broker;
pub mod commands;
pub mod devices;
pub mod monitoring;
pub mod rollouts;
pub mod shadow;
pub mod users;

#[cfg(feature = "ssr")]
pub(crate) mod context {
    use crate::domain::AppError;
    use crate::service::{session_id_from_cookies, Caller, SharedService};

    pub fn service() -> Result<SharedService, AppError> {
        leptos::prelude::use_context::<SharedService>()
            .ok_or_else(|| AppError::Internal("console service missing from context".into()))
    }

    pub async fn session_id() -> Result<Option<String>, AppError> {
        let parts: http::request::Parts = leptos_axum::extract()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(parts
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(session_id_from_cookies)
            .map(str::to_owned))
    }

    /// The authenticated caller, or `Unauthenticated`.
    pub async fn caller() -> Result<(SharedService, Caller), AppError> {
        let service = service()?;
        let id = session_id().await?.ok_or(AppError::Unauthenticated)?;
        let caller = service.session_caller(&id).await?;
        Ok((service, caller))
    }

    /// Sets the HTTP status of a failed server function from its error (401, 403, 404, ...), so
    /// that proxies, logs and monitoring see what the body says; the body stays the `AppError`.
    pub fn with_status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
        if let (Err(e), Some(response)) = (
            &result,
            leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
        ) {
            if let Ok(status) = http::StatusCode::from_u16(e.http_status()) {
                response.set_status(status);
            }
        }
        result
    }

    pub fn set_cookie(value: String) {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            if let Ok(v) = http::HeaderValue::from_str(&value) {
                response.append_header(http::header::SET_COOKIE, v);
            }
        }
    }
}
