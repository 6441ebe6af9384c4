use crate::domain::{AppError, CommandView, DeviceId};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Sends a command to a box through the same path and audit as `POST /api/v1/devices/{device}/commands`.
/// JSON in, so that typed parameters keep their types.
#[server(endpoint = "commands/issue", input = Json)]
pub async fn issue_command(
    device: DeviceId,
    name: String,
    params: serde_json::Value,
    ttl_secs: Option<i64>,
) -> Result<CommandView, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            let request = crate::service::CommandRequest {
                name,
                params,
                ttl_secs,
            };
            service.issue_command(&caller, &device, request).await
        }
        .await,
    )
}
