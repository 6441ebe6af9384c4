use crate::domain::{AccountSecurity, AppError};
use leptos::prelude::*;

/// The signed-in user's two-step sign-in settings.
#[server(endpoint = "auth/account_security")]
pub async fn get_account_security() -> Result<AccountSecurity, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let id = context::session_id()
                .await?
                .ok_or(AppError::Unauthenticated)?;
            context::service()?.account_security(&id).await
        }
        .await,
    )
}
