use crate::domain::{AppError, CommandCatalogue};
use leptos::prelude::*;

/// The command catalogue of the box model (any signed-in role may read it; sending needs the
/// command's `min_role`).
#[server(endpoint = "commands/catalogue")]
pub async fn get_command_catalogue() -> Result<CommandCatalogue, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.command_catalogue(&caller).await
        }
        .await,
    )
}
