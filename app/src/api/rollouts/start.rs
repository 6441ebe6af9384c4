use crate::domain::{AppError, RolloutRequest, RolloutView};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Starts a bulk command: the same checks and audit as `POST /api/v1/rollouts`. JSON in, so that
/// typed parameters keep their types.
#[server(endpoint = "rollouts/start", input = Json)]
pub async fn start_rollout(request: RolloutRequest) -> Result<RolloutView, AppError> {
    use super::super::context;
    context::with_status(
        async {
            let (service, caller) = context::caller().await?;
            service.start_rollout(&caller, request).await
        }
        .await,
    )
}
