use crate::domain::{AppError, CreatedUser};
use leptos::prelude::*;

/// Adds a user with a random password, returned once (admins). `groups` is comma-separated.
#[server(endpoint = "users/add")]
pub async fn add_user(username: String, groups: String) -> Result<CreatedUser, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            let groups = crate::domain::parse_groups(&groups);
            service.add_user(&caller, &username, &groups).await
        }
        .await,
    )
}
