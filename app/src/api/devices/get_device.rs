use crate::domain::{AppError, DeviceId, DeviceSummary};
use leptos::prelude::*;

/// One box, if it is in one of the caller's fleets.
#[server(endpoint = "devices/get")]
pub async fn get_device(device: DeviceId) -> Result<DeviceSummary, AppError> {
    let (service, caller) = super::super::context::caller().await?;
    service.device(&caller, &device).await
}
