use crate::domain::{AppError, DeviceId, ShadowUpdate, ShadowView};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Changes a box's desired state, based on the version the caller saw (a stale one is refused
/// with a conflict). JSON in, so that values keep their types.
#[server(endpoint = "shadow/update", input = Json)]
pub async fn update_shadow(device: DeviceId, update: ShadowUpdate) -> Result<ShadowView, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.update_shadow(&caller, &device, update).await
        }
        .await,
    )
}
