use crate::domain::AppError;
use leptos::prelude::*;

/// Ends every session of the signed-in user, on every device, and clears this one's cookie.
#[server(endpoint = "auth/sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    use super::super::context;
    context::with_status(
        async {
            let id = context::session_id()
                .await?
                .ok_or(AppError::Unauthenticated)?;
            context::service()?.sign_out_everywhere(&id).await?;
            context::set_cookie(crate::service::session_cookie("", 0));
            Ok(())
        }
        .await,
    )
}
