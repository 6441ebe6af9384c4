use crate::domain::{AppError, SessionInfo};
use leptos::prelude::*;

/// Logs in with a username and password; the session cookie is set on the response.
#[server(endpoint = "auth/login")]
pub async fn login(username: String, password: String) -> Result<SessionInfo, AppError> {
    use super::super::context;
    context::with_status(
        async {
            if username.trim().is_empty() || password.is_empty() {
                return Err(AppError::BadRequest(
                    "enter a username and a password".into(),
                ));
            }
            let session = context::service()?
                .login(username.trim(), &password)
                .await?;
            context::set_cookie(crate::service::session_cookie(
                &session.session_id,
                session.max_age_secs,
            ));
            Ok(session.info)
        }
        .await,
    )
}
