use crate::domain::{AppError, UserView};
use leptos::prelude::*;

/// Disables or enables a user (admins).
#[server(endpoint = "users/set_enabled")]
pub async fn set_user_enabled(username: String, enabled: bool) -> Result<UserView, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.set_user_enabled(&caller, &username, enabled).await
        }
        .await,
    )
}
