use crate::domain::{AppError, UserView};
use leptos::prelude::*;

/// The identity provider's users (admins).
#[server(endpoint = "users/list")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.list_users(&caller).await
        }
        .await,
    )
}
