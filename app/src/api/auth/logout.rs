use crate::domain::AppError;
use leptos::prelude::*;

/// Ends the session on the server (its tokens are revoked) and clears the cookie.
#[server(endpoint = "auth/logout")]
pub async fn logout() -> Result<(), AppError> {
    use super::super::context;
    context::with_status(
        async {
            if let Some(id) = context::session_id().await? {
                context::service()?.logout(&id).await?;
            }
            context::set_cookie(crate::service::session_cookie("", 0));
            Ok(())
        }
        .await,
    )
}
