use crate::domain::{AppError, DeviceId, DeviceSummary};
use leptos::prelude::*;

/// One box, if it is in one of the caller's fleets.
#[server(endpoint = "devices/get")]
pub async fn get_device(device: DeviceId) -> Result<DeviceSummary, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.device(&caller, &device).await
        }
        .await,
    )
}
