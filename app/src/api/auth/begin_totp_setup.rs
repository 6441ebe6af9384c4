use crate::domain::{AppError, TotpSetup};
use leptos::prelude::*;

/// Starts adding an authenticator app to the signed-in account: its secret and QR code.
#[server(endpoint = "auth/begin_totp_setup")]
pub async fn begin_totp_setup() -> Result<TotpSetup, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let id = context::session_id()
                .await?
                .ok_or(AppError::Unauthenticated)?;
            context::service()?.begin_totp_setup(&id).await
        }
        .await,
    )
}
