use crate::domain::{AppError, DeviceSummary};
use leptos::prelude::*;

/// The boxes of the caller's fleets, with presence and latest values.
#[server(endpoint = "devices/list")]
pub async fn list_devices() -> Result<Vec<DeviceSummary>, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.list_devices(&caller).await
        }
        .await,
    )
}
