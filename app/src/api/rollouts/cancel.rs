use crate::domain::{AppError, RolloutView};
use leptos::prelude::*;

/// Cancels a running rollout: no more commands are sent, undelivered ones are withdrawn.
#[server(endpoint = "rollouts/cancel")]
pub async fn cancel_rollout(id: String) -> Result<RolloutView, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.cancel_rollout(&caller, &id).await
        }
        .await,
    )
}
