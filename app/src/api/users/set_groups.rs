use crate::domain::{AppError, UserView};
use leptos::prelude::*;

/// Replaces a user's groups (admins). `groups` is comma-separated.
#[server(endpoint = "users/set_groups")]
pub async fn set_user_groups(username: String, groups: String) -> Result<UserView, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            let groups = crate::domain::parse_groups(&groups);
            service.set_user_groups(&caller, &username, &groups).await
        }
        .await,
    )
}
