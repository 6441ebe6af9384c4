use crate::domain::{AppError, DeviceId, ShadowView};
use leptos::prelude::*;

/// A box's desired and reported state, with the delta and the version.
#[server(endpoint = "shadow/get")]
pub async fn get_shadow(device: DeviceId) -> Result<ShadowView, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.get_shadow(&caller, &device).await
        }
        .await,
    )
}
