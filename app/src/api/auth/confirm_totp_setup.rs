use crate::domain::{AccountSecurity, AppError};
use leptos::prelude::*;

/// Finishes adding an authenticator app with its first code; later sign-ins ask for a code.
#[server(endpoint = "auth/confirm_totp_setup")]
pub async fn confirm_totp_setup(code: String) -> Result<AccountSecurity, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let id = context::session_id()
                .await?
                .ok_or(AppError::Unauthenticated)?;
            context::service()?.confirm_totp_setup(&id, &code).await
        }
        .await,
    )
}
