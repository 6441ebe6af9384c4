use crate::domain::{AppError, RolloutView};
use leptos::prelude::*;

/// One rollout with its live progress.
#[server(endpoint = "rollouts/get")]
pub async fn get_rollout(id: String) -> Result<RolloutView, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.get_rollout(&caller, &id).await
        }
        .await,
    )
}
