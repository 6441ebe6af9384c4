use crate::domain::{AppError, CommandView, DeviceId};
use leptos::prelude::*;

/// The latest commands of a box, newest first.
#[server(endpoint = "commands/list")]
pub async fn list_commands(device: DeviceId, limit: usize) -> Result<Vec<CommandView>, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.list_commands(&caller, &device, limit).await
        }
        .await,
    )
}
