use crate::domain::{AppError, SignInStep};
use leptos::prelude::*;

/// Checks a username and password: signed in (the session cookie is set on the response), or the
/// identity provider's next question.
#[server(endpoint = "auth/login")]
pub async fn login(username: String, password: String) -> Result<SignInStep, AppError> {
    use super::super::context;
    context::with_status(
        async {
            if username.trim().is_empty() || password.is_empty() {
                return Err(AppError::BadRequest(
                    "enter a username and a password".into(),
                ));
            }
            let progress = context::service()?
                .login(username.trim(), &password)
                .await?;
            Ok(super::sign_in_step(progress))
        }
        .await,
    )
}
